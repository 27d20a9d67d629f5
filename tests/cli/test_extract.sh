# test_extract.sh: smol extract with a random-weight model: every object written follows the
# schema (checked by smol validate and parsed by Python's json), for text and JSONL inputs,
# both prompt styles, sampled and greedy; plus usage errors.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
SCHEMA="$(cd "$(dirname "$0")/../.." && pwd)/docs/examples/github-issue.schema.json"

model() {  # a tiny random model (byte vocabulary, ChatML tokens) with room for the prompts
  [ -f "$TMP/tiny.gguf" ] || "$SMOL" make-model --arch tiny --ctx 4096 --seed 7 -o "$TMP/tiny.gguf" 2> /dev/null
}

# check_outputs OUT SCHEMA N: N lines, each a JSON object valid against SCHEMA
check_outputs() {
  [ "$(wc -l < "$1")" -eq "$3" ] || fail "$(wc -l < "$1") lines, expected $3"
  $PY -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$1" || fail "not JSON: $(head -c 300 "$1")"
  "$SMOL" validate --schema "$2" "$1" > "$TMP/v.txt" 2>&1 || fail "invalid output: $(grep -m1 invalid "$TMP/v.txt")"
}

t_text_files_follow_the_example_schema() {
  model
  printf 'Login crashes on Safari when the password has emoji. Urgent; about 3 hours.\n' > "$TMP/a.txt"
  printf 'Please document the --ctx flag of smol chat.\n' > "$TMP/b.txt"
  "$SMOL" extract -m "$TMP/tiny.gguf" --schema "$SCHEMA" "$TMP/a.txt" "$TMP/b.txt" > "$TMP/out.jsonl" 2> "$TMP/err"
  check_outputs "$TMP/out.jsonl" "$SCHEMA" 2
  grep -q '2 objects, 0 failed' "$TMP/err" || fail "$(cat "$TMP/err")"
}

t_sampled_jsonl_documents_all_validate() {
  model
  $PY -c "
import json
for i in range(6): print(json.dumps({'id': i, 'text': f'Report {i}: the parser fails on input {i * 7}.'}))" > "$TMP/docs.jsonl"
  cat > "$TMP/s.json" <<'J'
{"type":"object","properties":{
  "name":{"type":"string","pattern":"^[A-Z][a-z]{1,8}$"},
  "age":{"type":"integer","minimum":18,"maximum":99},
  "score":{"type":"number","exclusiveMinimum":0,"maximum":1},
  "tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3},
  "address":{"type":"object","properties":{"zip":{"type":"string","format":"date"},"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false},
  "note":{"anyOf":[{"type":"null"},{"type":"string","maxLength":5}]}},
 "required":["name","age","score","tags","address","note"],"additionalProperties":false}
J
  for seed in 1 2; do
    "$SMOL" extract -m "$TMP/tiny.gguf" --schema "$TMP/s.json" --temp 1.0 --seed $seed -n 400 "$TMP/docs.jsonl" -o "$TMP/o$seed.jsonl" 2> "$TMP/err" ||
      fail "seed $seed: $(cat "$TMP/err")"
    check_outputs "$TMP/o$seed.jsonl" "$TMP/s.json" 6
  done
  cmp -s "$TMP/o1.jsonl" "$TMP/o2.jsonl" && fail "two seeds gave the same outputs"
  true
}

t_nuextract_prompt_style_and_field() {
  model
  printf '%s\n' '{"body":"Crash on start.","text":"ignored"}' > "$TMP/d.jsonl"
  "$SMOL" extract -m "$TMP/tiny.gguf" --schema "$SCHEMA" --prompt-style nuextract --field body --compact \
      --instructions 'Turn the report into an issue.' "$TMP/d.jsonl" > "$TMP/out.jsonl" 2> "$TMP/err"
  check_outputs "$TMP/out.jsonl" "$SCHEMA" 1
  grep -q 'prompt style nuextract' "$TMP/err" || fail "$(cat "$TMP/err")"
  grep -q ' ' <(tr -d '\n' < "$TMP/out.jsonl" | $PY -c "import sys,json; s=sys.stdin.read(); print(s.replace(json.dumps(json.loads(s), separators=(',', ':'), ensure_ascii=False), ''))") && fail "--compact output has whitespace"
  true
}

t_usage_and_schema_errors() {
  model
  rc=0; "$SMOL" extract --schema "$SCHEMA" x.txt 2> "$TMP/e" || rc=$?; [ "$rc" -eq 2 ] || fail "no -m: exit $rc"
  rc=0; "$SMOL" extract -m "$TMP/tiny.gguf" x.txt 2> "$TMP/e" || rc=$?; [ "$rc" -eq 2 ] || fail "no --schema: exit $rc"
  rc=0; "$SMOL" extract -m "$TMP/tiny.gguf" --schema "$SCHEMA" --bogus x 2> "$TMP/e" || rc=$?; [ "$rc" -eq 2 ] || fail "bad flag: exit $rc"
  echo '{"type":"array","uniqueItems":true}' > "$TMP/u.json"; echo hi > "$TMP/h.txt"
  rc=0; "$SMOL" extract -m "$TMP/tiny.gguf" --schema "$TMP/u.json" "$TMP/h.txt" 2> "$TMP/e" || rc=$?
  [ "$rc" -eq 1 ] && grep -q "unsupported keyword 'uniqueItems' at /" "$TMP/e" || fail "unsupported: exit $rc $(cat "$TMP/e")"
  "$SMOL" extract --help | grep -q '^example:' || fail "usage example"
}

run_tests
