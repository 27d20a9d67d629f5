# test_bench_schemas.sh: the hand-written schemas of bench/schemas (used by bench/bench_masks.sh)
# stay sound: at least 20 schemas, 5 or more instances each; every instance is valid under its
# schema (`smol validate`, formats asserted) and is accepted token by token by the grammar the
# schema compiles to (`smol grammar-check --batch`, SmolLM2 tokenizer); the first instance cut
# short is rejected by the grammar, and with a property no schema allows, by `smol validate`.
source "$(dirname "$0")/lib.sh"
DIR="$(cd "$(dirname "$0")/../.." && pwd)/bench/schemas"
TOK="$SMOL_TEST_DATA/tokenizers/SmolLM2-135M-Instruct/tokenizer.json"
PY=/usr/bin/python3

t_instances_valid() {
  local n=0 f b
  for f in "$DIR"/*.schema.json; do
    b=${f%.schema.json}
    [ "$(wc -l < "$b.instances.jsonl")" -ge 5 ] || fail "$(basename "$b"): fewer than 5 instances"
    "$SMOL" validate --schema "$f" --field text --json-text --assert-format "$b.instances.jsonl" > "$TMP/v.txt" 2> /dev/null ||
      fail "$(basename "$b"): $(grep -v '^valid$' "$TMP/v.txt" | head -2)"
    n=$((n + 1))
  done
  [ "$n" -ge 20 ] || fail "only $n schemas"
}

t_grammar_accepts_instances() {
  "$PY" - "$DIR" "$TMP/cases.jsonl" <<'PYEOF'
import json, os, sys
d, out = sys.argv[1:3]
with open(out, "w") as f:
    for name in sorted(x for x in os.listdir(d) if x.endswith(".schema.json")):
        base = name[:-len(".schema.json")]
        texts = [json.loads(l)["text"] for l in open(os.path.join(d, base + ".instances.jsonl"), encoding="utf-8")]
        broken = texts[0][:-1]                       # the closing brace removed: incomplete
        f.write(json.dumps({"name": base, "schema": json.load(open(os.path.join(d, name), encoding="utf-8")),
                            "texts": texts + [broken]}) + "\n")
PYEOF
  "$SMOL" grammar-check -m "$TOK" --batch "$TMP/cases.jsonl" > "$TMP/results.jsonl" 2> "$TMP/err" || fail "$(tail -2 "$TMP/err")"
  "$PY" - "$TMP/results.jsonl" <<'PYEOF' || fail "see above"
import json, sys
bad = 0
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    if not r["ok"]:
        print("%s: does not compile: %s" % (r["name"], r["error"])); bad += 1; continue
    want = [1] * (len(r["accept"]) - 1) + [0]
    if r["accept"] != want:
        print("%s: accept %s, want %s" % (r["name"], r["accept"], want)); bad += 1
sys.exit(1 if bad or len(rows) < 20 else 0)
PYEOF
}

t_broken_instances_invalid() {
  "$PY" - "$DIR" "$TMP" <<'PYEOF'
import json, os, sys
d, tmp = sys.argv[1:3]
for name in sorted(x for x in os.listdir(d) if x.endswith(".schema.json")):
    base = name[:-len(".schema.json")]
    first = json.loads(open(os.path.join(d, base + ".instances.jsonl"), encoding="utf-8").readline())["text"]
    doc = json.loads(first)
    doc["no_such_property_here"] = 1 if isinstance(doc, dict) else doc   # every schema here forbids unknown keys
    with open(os.path.join(tmp, base + ".bad.jsonl"), "w") as f:
        f.write(json.dumps({"text": json.dumps(doc)}) + "\n")
PYEOF
  local f b
  for f in "$DIR"/*.schema.json; do
    b=$(basename "${f%.schema.json}")
    if "$SMOL" validate --schema "$f" --field text --json-text "$TMP/$b.bad.jsonl" > /dev/null 2>&1; then
      fail "$b: an instance with an unknown property validates"
    fi
  done
}

run_tests
