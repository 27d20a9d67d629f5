# test_grammar_check.sh: `smol grammar-check`: JSON texts against json.gbnf with Python's json
# module as the oracle, regexes against re.fullmatch, choices, --stats, --slow, and error exits;
# JSON Schemas against `smol validate`, in the schema's order and with --any-order --format-annotation.
source "$(dirname "$0")/lib.sh"
TOK="$SMOL_TEST_DATA/tokenizers/SmolLM2-135M-Instruct/tokenizer.json"
GR="$SMOL_TEST_DATA/llama.cpp-grammars"
PY=/usr/bin/python3

t_json_vs_python() {
  "$PY" - "$TMP/docs.jsonl" "$TMP/expect.txt" <<'PYEOF'
import json, random, sys
random.seed(3)
def val(d):
    r = random.random()
    if d > 3 or r < 0.35:
        return random.choice([0, -7, 123456789, round(random.uniform(0.01, 999), 3), True, False, None,
                              "plain", "caf\u00e9 \u4e2d\u6587", "quote \" and \\ and \n", ""])
    if r < 0.7:
        return {"k%d" % i: val(d + 1) for i in range(random.randint(0, 3))}
    return [val(d + 1) for _ in range(random.randint(0, 3))]
texts = []
for i in range(40):
    t = json.dumps({"id": i, "v": val(0)}, ensure_ascii=(i % 2 == 0))
    texts.append(t)
    if i % 3 == 0: texts.append(t[:-1])                     # truncated
    if i % 5 == 0: texts.append(t.replace(":", "", 1))      # broken
texts += ["[1, 2]", "{\"a\": 01}", "{\"a\": tru}", "{}", "{\"a\": \"\\u00e9\"}"]
with open(sys.argv[1], "w") as f, open(sys.argv[2], "w") as e:
    for t in texts:
        f.write(json.dumps({"text": t}) + "\n")
        try: ok = isinstance(json.loads(t), dict)
        except ValueError: ok = False
        e.write(("accept" if ok else "reject") + "\n")
PYEOF
  "$SMOL" grammar-check -m "$TOK" --grammar "$GR/json.gbnf" --jsonl "$TMP/docs.jsonl" > "$TMP/got.txt"
  diff "$TMP/expect.txt" "$TMP/got.txt" > "$TMP/diff" || fail "differs from Python's json: $(head -5 "$TMP/diff")"
  grep -q accept "$TMP/got.txt" && grep -q reject "$TMP/got.txt" || fail "one-sided results"
}
t_regex_vs_python() {
  re='[A-Z][a-z]+ \d{1,3}(\.\d+)?'
  printf '%s\n' '{"text": "Hello 12"}' '{"text": "Hello 12.5"}' '{"text": "hello 12"}' '{"text": "Hello 1234"}' \
    '{"text": "Hi 7."}' '{"text": "Über 1"}' > "$TMP/r.jsonl"
  "$SMOL" grammar-check -m "$TOK" --regex "$re" --jsonl "$TMP/r.jsonl" > "$TMP/got.txt"
  "$PY" -c 'import json,re,sys
for l in open(sys.argv[2]): print("accept" if re.fullmatch(sys.argv[1], json.loads(l)["text"], re.ASCII) else "reject")' \
    "$re" "$TMP/r.jsonl" > "$TMP/expect.txt"
  diff "$TMP/expect.txt" "$TMP/got.txt" || fail "differs from re.fullmatch"
}
t_choice_and_stats() {
  printf '%s\n' '{"text": "red"}' '{"text": "green"}' '{"text": "gree"}' '{"text": "blue!"}' > "$TMP/c.jsonl"
  "$SMOL" grammar-check -m "$TOK" --choice 'red|green|blue' --jsonl "$TMP/c.jsonl" --stats > "$TMP/out.txt"
  [ "$(head -4 "$TMP/out.txt" | tr '\n' ' ')" = "accept accept reject reject " ] || fail "got $(cat "$TMP/out.txt")"
  tail -1 "$TMP/out.txt" | "$PY" -c 'import json,sys
s = json.load(sys.stdin); m = s["mask_us"]
assert s["compile_us"] > 0 and m["n"] >= 4 and 0 <= m["p50"] <= m["p90"] <= m["p99"] <= m["max"], s' || fail "stats line"
}
t_slow_masks_listed() {
  # --slow 0 lists every mask (one per step: tokens + 1 per text) with the text before it
  printf '%s\n' '{"text": "red"}' '{"text": "blue"}' > "$TMP/c.jsonl"
  "$SMOL" grammar-check -m "$TOK" --choice 'red|green|blue' --jsonl "$TMP/c.jsonl" --slow 0 > /dev/null 2> "$TMP/err"
  n=$(grep -c '^slow mask: ' "$TMP/err") || true
  [ "$n" -ge 4 ] || fail "$n slow-mask lines: $(cat "$TMP/err")"
  grep -q '^slow mask: .* allowed, constraint, step 0 after: ""$' "$TMP/err" || fail "no first step: $(cat "$TMP/err")"
  "$SMOL" grammar-check -m "$TOK" --choice 'red|green|blue' --jsonl "$TMP/c.jsonl" --slow 1e9 > /dev/null 2> "$TMP/err"
  ! grep -q '^slow mask' "$TMP/err" || fail "masks listed above a huge threshold"
  set +e
  "$SMOL" grammar-check -m "$TOK" --choice red --slow fast 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q -- "--slow" "$TMP/err" || fail "--slow fast: exit $rc, $(cat "$TMP/err")"
}
t_compile_errors_exit_2() {
  printf 'root ::= "a" (\n' > "$TMP/bad.gbnf"
  set +e
  "$SMOL" grammar-check -m "$TOK" --grammar "$TMP/bad.gbnf" 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "exit $rc"
  grep -q "bad.gbnf: malformed GBNF at 2:1: expected ')'" "$TMP/err" || fail "message: $(cat "$TMP/err")"
  set +e
  "$SMOL" grammar-check -m "$TOK" --regex '(a' 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] && grep -q "regex at offset" "$TMP/err" || fail "regex: exit $rc $(cat "$TMP/err")"
}
t_usage_errors() {
  set +e
  "$SMOL" grammar-check -m "$TOK" 2> "$TMP/err"; rc1=$?
  "$SMOL" grammar-check -m "$TOK" --regex a --choice b 2>> "$TMP/err"; rc2=$?
  "$SMOL" grammar-check --regex a 2>> "$TMP/err"; rc3=$?
  "$SMOL" grammar-check -m "$TOK" --regex a --bogus 2>> "$TMP/err"; rc4=$?
  "$SMOL" grammar-check -m "$TOK" --regex a --jsonl "$TMP/missing.jsonl" 2>> "$TMP/err"; rc5=$?
  set -e
  [ "$rc1$rc2$rc3$rc4$rc5" = "22221" ] || fail "exits $rc1 $rc2 $rc3 $rc4 $rc5: $(cat "$TMP/err")"
  "$SMOL" grammar-check --help | grep -q "example" || fail "usage has no example"
}
t_json_schema_vs_validator() {
  cat > "$TMP/s.json" <<'SEOF'
{"type": "object", "additionalProperties": false, "required": ["name", "age"],
 "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
                "tags": {"type": "array", "items": {"type": "string"}}, "ok": {"type": "boolean"}}}
SEOF
  printf '%s\n' '{"name": "Ann", "age": 31}' '{"name": "Ann"}' '{"name": "Ann", "age": -1}' \
    '{"name": "B", "age": 3, "tags": ["a", "b"]}' '{"name": 5, "age": 3}' '{"name": "A", "age": 3, "x": 1}' \
    '{"name": "A", "age": 3, "ok": true}' '{"name": "A", "age": 3, "ok": "yes"}' > "$TMP/inst.txt"
  "$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps({"text": l.strip()}))' "$TMP/inst.txt" > "$TMP/inst.jsonl"
  "$SMOL" grammar-check -m "$TOK" --json-schema "$TMP/s.json" --jsonl "$TMP/inst.jsonl" > "$TMP/got.txt"
  "$SMOL" validate --schema "$TMP/s.json" "$TMP/inst.txt" 2> /dev/null | sed 's/^valid$/accept/; s/^invalid.*/reject/' > "$TMP/expect.txt" || true
  diff "$TMP/expect.txt" "$TMP/got.txt" || fail "grammar-check and smol validate disagree"
}
t_any_order_and_format_annotation() {
  # every order of up to 4 members (listed, required, additional; an email that is no email):
  # with --any-order --format-annotation the grammar agrees with `smol validate` (format as an
  # annotation by default); without them only the schema's order is accepted and formats hold
  cat > "$TMP/s.json" <<'SEOF'
{"type": "object", "required": ["id", "mail"], "additionalProperties": {"type": "integer"},
 "properties": {"id": {"type": "integer"}, "mail": {"type": "string", "format": "email"}, "tag": {"type": "string"}}}
SEOF
  "$PY" - "$TMP/inst.txt" <<'PYEOF'
import itertools, json, sys
pool = [("id", 1), ("id", "x"), ("mail", "a@b.org"), ("mail", "2962"), ("tag", "t"), ("n", 3), ("m", "s")]
with open(sys.argv[1], "w") as f:
    for k in range(5):
        for ms in itertools.permutations(pool, k):
            if len({m[0] for m in ms}) == k:
                f.write(json.dumps(dict(ms)) + "\n")
PYEOF
  "$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps({"text": l.strip()}))' "$TMP/inst.txt" > "$TMP/inst.jsonl"
  "$SMOL" validate --schema "$TMP/s.json" "$TMP/inst.txt" 2> /dev/null | sed 's/^valid$/accept/; s/^invalid.*/reject/' > "$TMP/expect.txt" || true
  "$SMOL" grammar-check -m "$TOK" --json-schema "$TMP/s.json" --any-order --format-annotation --jsonl "$TMP/inst.jsonl" > "$TMP/got.txt"
  [ "$(wc -l < "$TMP/got.txt")" -ge 580 ] || fail "only $(wc -l < "$TMP/got.txt") instances"
  diff "$TMP/expect.txt" "$TMP/got.txt" > "$TMP/diff" || fail "any order disagrees with smol validate: $(head -5 "$TMP/diff")"
  "$SMOL" grammar-check -m "$TOK" --json-schema "$TMP/s.json" --jsonl "$TMP/inst.jsonl" > "$TMP/ordered.txt"
  "$PY" - "$TMP/inst.txt" "$TMP/got.txt" "$TMP/ordered.txt" <<'PYEOF' || fail "schema order"
import json, sys
order = ["id", "mail", "tag"]
for line, a, o in zip(open(sys.argv[1]), open(sys.argv[2]), open(sys.argv[3])):
    d = json.loads(line); keys = list(d)
    listed = [k for k in keys if k in order]
    in_order = listed == sorted(listed, key=order.index) and keys[:len(listed)] == listed
    want = a.strip() == "accept" and in_order and d.get("mail") != "2962"
    assert (o.strip() == "accept") == want, (line, a, o)
PYEOF
  "$PY" -c 'import json,sys
print(json.dumps({"name": "s", "schema": json.load(open(sys.argv[1])), "texts": [l.strip() for l in open(sys.argv[2])]}))' \
    "$TMP/s.json" "$TMP/inst.txt" > "$TMP/cases.jsonl"
  "$SMOL" grammar-check -m "$TOK" --batch "$TMP/cases.jsonl" --any-order --format-annotation 2> /dev/null |
    "$PY" -c 'import json,sys; print("\n".join("accept" if a else "reject" for a in json.load(sys.stdin)["accept"]))' > "$TMP/batch.txt"
  diff "$TMP/expect.txt" "$TMP/batch.txt" > /dev/null || fail "--batch with the flags differs"
  set +e
  "$SMOL" grammar-check -m "$TOK" --regex a --any-order 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q "any-order" "$TMP/err" || fail "--any-order with --regex: exit $rc"
}
# smol generate under constraints, with a random-weight model: every output must match.
tiny_model() { [ -f "$TMP/tiny.gguf" ] || "$SMOL" make-model --arch tiny --seed 5 -o "$TMP/tiny.gguf" 2> /dev/null; }
t_generate_regex() {
  tiny_model
  re='\{"id": [1-9]\d{0,3}, "name": "[a-z]{1,8}"\}'
  for seed in 1 2 3 4; do
    "$SMOL" generate -m "$TMP/tiny.gguf" -p "x" --regex "$re" -n 100 --temp 1 --seed $seed > "$TMP/out" 2> "$TMP/err"
    grep -q "stop: end of generation" "$TMP/err" || fail "seed $seed: $(tail -1 "$TMP/err")"
    "$PY" -c 'import json,re,sys
t = open(sys.argv[2]).read()
assert re.fullmatch(sys.argv[1], t), t
json.loads(t)' "$re" "$TMP/out" || fail "seed $seed: output '$(cat "$TMP/out")'"
  done
}
t_generate_gbnf_json() {
  tiny_model
  cat > "$TMP/small.gbnf" <<'GEOF'
root   ::= "{" ws pair ("," ws pair){0,3} "}"
pair   ::= str ":" ws value
value  ::= str | num | "true" | "false" | "null" | "[" (num ("," ws num){0,3})? "]"
str    ::= "\"" [a-zA-Z0-9 _\u00e9]{0,12} "\""
num    ::= "-"? [0-9]{1,6} ("." [0-9]{1,3})?
ws     ::= " "?
GEOF
  for seed in 1 2 3; do
    "$SMOL" generate -m "$TMP/tiny.gguf" -p "data" --grammar "$TMP/small.gbnf" -n 400 --temp 1.5 --seed $seed > "$TMP/out" 2> "$TMP/err"
    grep -q "stop: end of generation" "$TMP/err" || fail "seed $seed: $(tail -1 "$TMP/err")"
    "$PY" -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$TMP/out" || fail "seed $seed: '$(cat "$TMP/out")'"
  done
}
t_generate_json_schema() {
  tiny_model
  cat > "$TMP/s.json" <<'SEOF'
{"type": "object", "additionalProperties": false, "required": ["name", "n"],
 "properties": {"name": {"type": "string", "maxLength": 6}, "n": {"type": "integer"}, "flag": {"type": "boolean"}}}
SEOF
  ended=0
  for seed in 1 2 3; do
    "$SMOL" generate -m "$TMP/tiny.gguf" -p "json" --json-schema "$TMP/s.json" -n 300 --temp 1 --seed $seed > "$TMP/out" 2> "$TMP/err"
    grep -q "stop: end of generation" "$TMP/err" || { echo "seed $seed: $(tail -1 "$TMP/err")"; continue; }
    "$PY" -c 'import json,sys; print(json.dumps(json.loads(open(sys.argv[1]).read())))' "$TMP/out" > "$TMP/one.jsonl" ||
      fail "seed $seed: not JSON: '$(cat "$TMP/out")'"
    "$SMOL" validate --schema "$TMP/s.json" "$TMP/one.jsonl" > /dev/null 2>&1 || fail "seed $seed: invalid: '$(cat "$TMP/out")'"
    ended=$((ended + 1))
  done
  [ "$ended" -gt 0 ] || fail "no output was complete"
}
t_generate_choice() {
  tiny_model
  seen=""
  for seed in 1 2 3 4 5 6; do
    out=$("$SMOL" generate -m "$TMP/tiny.gguf" -p "colour:" --choice 'red|green|blue|light blue' -n 20 --temp 2 --seed $seed 2> /dev/null)
    case "$out" in red|green|blue|"light blue") seen="$seen $out";; *) fail "seed $seed: '$out'";; esac
  done
  echo "choices:$seen"
}
t_generate_bad_constraint() {
  tiny_model
  set +e
  "$SMOL" generate -m "$TMP/tiny.gguf" --grammar "$TMP/none.gbnf" 2> "$TMP/err"; rc1=$?
  printf 'root ::= undefined-rule\n' > "$TMP/u.gbnf"
  "$SMOL" generate -m "$TMP/tiny.gguf" --grammar "$TMP/u.gbnf" 2>> "$TMP/err"; rc2=$?
  "$SMOL" generate -m "$TMP/tiny.gguf" --regex a --choice b 2>> "$TMP/err"; rc3=$?
  set -e
  [ "$rc1$rc2$rc3" = "122" ] || fail "exits $rc1 $rc2 $rc3: $(cat "$TMP/err")"
  grep -q "undefined rule 'undefined-rule'" "$TMP/err" || fail "message: $(cat "$TMP/err")"
}
t_batch() {
  "$PY" - > "$TMP/cases.jsonl" <<'PYEOF'
import json
print(json.dumps({"name": "schema", "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                  "texts": ["{\"n\": 12}", "{\"n\": \"x\"}", "{}"]}))
print(json.dumps({"name": "bad", "grammar": "root ::= \"a\" ("}))
print(json.dumps({"name": "regex", "regex": "[a-z]+ [0-9]{2}", "texts": ["abc 12", "abc 123"]}))
print(json.dumps({"name": "gbnf", "grammar": "root ::= (\"a\"? \"b\"?){50}", "texts": ["abba", "abc"]}))
print("   ")
# a schema is compiled from its own text in the line: a U+0000 that a parsed tree would cut
# (leaving the const "hello") must reach the compiler and be refused
print(json.dumps({"name": "nul", "schema": {"const": "hello\u0000there"}, "texts": [json.dumps("hello\u0000there")]}))
print(json.dumps({"name": "big", "schema": {"const": 9007199254740992}, "texts": ["9007199254740992", "9007199254740992.0", "9007199254740991"]}))
PYEOF
  "$SMOL" grammar-check -m "$TOK" --batch "$TMP/cases.jsonl" > "$TMP/out.jsonl" 2> "$TMP/err" || fail "exit: $(cat "$TMP/err")"
  "$PY" - "$TMP/out.jsonl" <<'PYEOF' || fail "results: $(cat "$TMP/out.jsonl")"
import json, sys
r = {x["name"]: x for x in map(json.loads, open(sys.argv[1]))}
assert list(r) == ["schema", "bad", "regex", "gbnf", "nul", "big"], list(r)
assert not r["nul"]["ok"] and "\\u0000" in r["nul"]["error"], r["nul"]
assert r["big"]["accept"] == [1, 1, 0], r["big"]
assert r["schema"]["ok"] and r["schema"]["accept"] == [1, 0, 0], r["schema"]
assert not r["bad"]["ok"] and "malformed GBNF at 1:15" in r["bad"]["error"] and "opened at 1:14" in r["bad"]["error"], r["bad"]
assert r["regex"]["accept"] == [1, 0] and r["gbnf"]["accept"] == [1, 0]
for x in (r["schema"], r["regex"], r["gbnf"]):
    assert x["compile_us"] > 0 and len(x["mask_us"]) >= len(x["accept"]) and min(x["mask_us"]) >= 0, x
PYEOF
  set +e
  "$SMOL" grammar-check -m "$TOK" --batch "$TMP/cases.jsonl" --regex x 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q 'batch' "$TMP/err" || fail "--batch with a constraint: exit $rc"
  printf '{"name": "ok", "regex": "a", "texts": ["a"]}\n{"name": "cut"\n' > "$TMP/cut.jsonl"
  set +e
  "$SMOL" grammar-check -m "$TOK" --batch "$TMP/cut.jsonl" > /dev/null 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" = 1 ] && grep -q 'cut.jsonl:2: invalid JSON near byte' "$TMP/err" || fail "a cut line: exit $rc: $(cat "$TMP/err")"
}

run_tests
