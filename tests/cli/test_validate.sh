# test_validate.sh: smol validate: per-line verdicts and messages, --field / --json-text, exit
# codes, and agreement with the JSON Schema Test Suite cases run through the command (the suite's
# expected verdicts are the oracle).
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
SUITE=$SMOL_TEST_DATA/json-schema-test-suite/draft2020-12

t_valid_and_invalid_lines() {
  cat > "$TMP/s.json" <<'J'
{"type":"object","properties":{"title":{"type":"string","minLength":3},"estimate":{"type":"integer","minimum":1}},"required":["title"],"additionalProperties":false}
J
  printf '%s\n' '{"title":"Fix build","estimate":2}' '{"title":"ab"}' '{"estimate":3}' '{"title":"Okay","x":1}' 'not json' '{"title":"Okay"} {"x":1}' > "$TMP/in.jsonl"
  rc=0; "$SMOL" validate --schema "$TMP/s.json" "$TMP/in.jsonl" > "$TMP/out.txt" 2> "$TMP/err.txt" || rc=$?
  [ "$rc" -eq 1 ] || fail "exit $rc, expected 1"
  cat > "$TMP/want.txt" <<'J'
valid
invalid: /title: string of 2 characters is shorter than minLength 3 (schema /properties/title)
invalid: /: required property 'title' is missing (schema /)
invalid: /: additional property 'x' is not allowed (schema /)
J
  head -4 "$TMP/out.txt" | diff "$TMP/want.txt" - || fail "verdicts differ"
  sed -n 5p "$TMP/out.txt" | grep -q '^invalid: /: not valid JSON' || fail "bad JSON line: $(sed -n 5p "$TMP/out.txt")"
  sed -n 6p "$TMP/out.txt" | grep -q '^invalid: /: not valid JSON (near byte 17)' || fail "text after the value: $(sed -n 6p "$TMP/out.txt")"
  grep -q '1 valid, 5 invalid' "$TMP/err.txt" || fail "summary: $(cat "$TMP/err.txt")"
}

t_all_valid_exits_zero_and_reads_stdin() {
  echo '{"type":"array","items":{"type":"number"}}' > "$TMP/s.json"
  printf '[1,2]\n[]\n' | "$SMOL" validate --schema "$TMP/s.json" > "$TMP/out.txt"
  [ "$(cat "$TMP/out.txt")" = "$(printf 'valid\nvalid')" ] || fail "got $(cat "$TMP/out.txt")"
}

t_field_and_json_text() {
  echo '{"type":"object","required":["a"]}' > "$TMP/s.json"
  printf '%s\n' '{"id":1,"out":{"a":1}}' '{"id":2,"out":{"b":1}}' > "$TMP/f.jsonl"
  "$SMOL" validate --schema "$TMP/s.json" --field out "$TMP/f.jsonl" > "$TMP/o1.txt" || true
  [ "$(head -1 "$TMP/o1.txt")" = valid ] && grep -q "^invalid: /: required property 'a'" "$TMP/o1.txt" || fail "$(cat "$TMP/o1.txt")"
  printf '%s\n' '{"meta":{"out":"{\"a\":2}"}}' > "$TMP/t.jsonl"
  "$SMOL" validate --schema "$TMP/s.json" --field meta.out --json-text "$TMP/t.jsonl" | grep -qx valid || fail "json text field"
}

t_usage_and_runtime_errors() {
  rc=0; "$SMOL" validate x.jsonl 2> "$TMP/e" || rc=$?; [ "$rc" -eq 2 ] || fail "missing --schema: exit $rc"
  rc=0; "$SMOL" validate --schema a --bogus 2> "$TMP/e" || rc=$?; [ "$rc" -eq 2 ] || fail "bad flag: exit $rc"
  echo '{"pattern":"("}' > "$TMP/bad.json"
  rc=0; echo '"x"' | "$SMOL" validate --schema "$TMP/bad.json" 2> "$TMP/e" || rc=$?
  [ "$rc" -eq 1 ] && grep -q '^smol validate: .*bad.json: schema /pattern: invalid regex' "$TMP/e" || fail "bad regex: $(cat "$TMP/e")"
  echo '{"$ref":"https://example.com/other.json"}' > "$TMP/remote.json"
  rc=0; echo '1' | "$SMOL" validate --schema "$TMP/remote.json" 2> "$TMP/e" || rc=$?
  [ "$rc" -eq 1 ] && grep -q "cannot resolve \$ref 'https://example.com/other.json'" "$TMP/e" || fail "remote: $(cat "$TMP/e")"
  echo '{"properties":{"a":{"type":"string"},"a":{"type":"integer"}}}' > "$TMP/dup.json"
  rc=0; echo '{}' | "$SMOL" validate --schema "$TMP/dup.json" 2> "$TMP/e" || rc=$?
  [ "$rc" -eq 1 ] && grep -q "dup.json: the schema has the key 'a' twice in the object at /properties" "$TMP/e" || fail "duplicate key: $(cat "$TMP/e")"
  "$SMOL" validate --help | grep -q '^example:' || fail "usage has an example"
}

t_suite_cases_through_the_command() {
  # every case of a few suite files, one `smol validate` per schema; the suite's verdicts are the oracle
  for f in properties.json oneOf.json uniqueItems.json unevaluatedProperties.json ref.json; do
    $PY - "$SUITE/$f" "$TMP" "$SMOL" <<'EOF'
import json, subprocess, sys
groups = json.load(open(sys.argv[1])); tmp = sys.argv[2]; smol = sys.argv[3]
for gi, g in enumerate(groups):
    if 'json-schema.org/draft/2020-12/schema"' in json.dumps(g['schema']).replace("$schema", ""): continue  # metaschema refs
    open(f"{tmp}/g.json", "w").write(json.dumps(g['schema']))
    data = "".join(json.dumps(t['data'], separators=(", ", ": ")) + "\n" for t in g['tests'])
    p = subprocess.run([smol, "validate", "--schema", f"{tmp}/g.json"], input=data, capture_output=True, text=True)
    got = p.stdout.splitlines()
    for t, line in zip(g['tests'], got):
        if (line == "valid") != t['valid']:
            sys.exit(f"{sys.argv[1]}: '{g['description']}' / '{t['description']}': got '{line}'")
    if len(got) != len(g['tests']): sys.exit(f"{g['description']}: {len(got)} lines for {len(g['tests'])} cases: {p.stderr}")
import json, subprocess, sys
groups = json.load(open(sys.argv[1])); tmp = sys.argv[2]; smol = sys.argv[3]
for gi, g in enumerate(groups):
    if '"https://json-schema.org/draft/2020-12/schema"' in json.dumps({k: v for k, v in g['schema'].items() if k != "$schema"} if isinstance(g['schema'], dict) else g['schema']):
        continue  # needs the metaschema (a remote document)
    open(f"{tmp}/g.json", "w").write(json.dumps(g['schema']))
    data = "".join(json.dumps(t['data'], separators=(", ", ": ")) + "\n" for t in g['tests'])
    p = subprocess.run([smol, "validate", "--schema", f"{tmp}/g.json"], input=data, capture_output=True, text=True)
    got = p.stdout.splitlines()
    for t, line in zip(g['tests'], got):
        if (line == "valid") != t['valid']:
            sys.exit(f"{sys.argv[1]}: '{g['description']}' / '{t['description']}': got '{line}'")
    if len(got) != len(g['tests']): sys.exit(f"{g['description']}: {len(got)} lines for {len(g['tests'])} cases: {p.stderr}")
EOF
  done
}

t_compiled_suite_schemas_through_grammar_check() {
  # smol grammar-check --json-schema (the compiler + the engine's token masks) with the SmolLM2
  # tokenizer must accept exactly the suite's valid instances of the schemas that compile (the
  # Llama-3 vocabulary is covered in tests/test_schema.c, where its index is built once)
  for tok in SmolLM2-135M-Instruct; do
    $PY - "$SUITE" "$TMP" "$SMOL" "$SMOL_TEST_DATA/tokenizers/$tok/tokenizer.json" <<'EOF'
import json, subprocess, sys
suite, tmp, smol, tok = sys.argv[1:5]
compiled = checked = 0
for f in ["properties.json", "enum.json", "items.json", "required.json", "type.json", "not.json", "if-then-else.json", "oneOf.json",
          "unevaluatedProperties.json", "unevaluatedItems.json", "dependentSchemas.json"]:
    for g in json.load(open(f"{suite}/{f}")):
        open(f"{tmp}/g.json", "w").write(json.dumps(g["schema"]))
        with open(f"{tmp}/i.jsonl", "w") as out:
            for t in g["tests"]:
                out.write(json.dumps({"text": json.dumps(t["data"], separators=(", ", ": "), ensure_ascii=False)}) + "\n")
        p = subprocess.run([smol, "grammar-check", "-m", tok, "--json-schema", f"{tmp}/g.json", "--jsonl", f"{tmp}/i.jsonl"],
                           capture_output=True, text=True)
        if p.returncode == 2:
            continue  # the schema does not compile (a documented limit)
        compiled += 1
        got = p.stdout.split()
        for t, v in zip(g["tests"], got):
            checked += 1
            if (v == "accept") != t["valid"]:
                sys.exit(f"{tok}: {f} / {g['description']} / {t['description']}: {v}")
        if len(got) != len(g["tests"]):
            sys.exit(f"{f} / {g['description']}: {len(got)} verdicts for {len(g['tests'])} cases: {p.stderr}")
if compiled < 90 or checked < 300:
    sys.exit(f"only {compiled} schemas / {checked} instances checked")
print(f"{tok}: {compiled} schemas, {checked} instances", file=sys.stderr)
EOF
  done
}

run_tests
