#!/usr/bin/env bash
# bench_masks.sh: mask and compile time of the constraint engine over many JSON Schemas, one
# thread, Llama-3 tokenizer (128,256 tokens) by default, in the manner of MaskBench:
#   - "suite": every schema of the JSON Schema Test Suite (draft 2020-12) that compiles, walking
#     its valid instances serialised as json.dumps does (separators ", " and ": ");
#   - "realistic": the hand-written schemas of bench/schemas/ with their instances;
#   - "llama.cpp": llama.cpp's example grammars, compile time and the first mask only.
# Each schema is compiled on its own (fresh caches: its first masks are full trie walks) and
# every instance is tokenized and walked token by token, the full mask computed at every step
# (`smol grammar-check --batch`). Prints per set: schemas, steps, compile p50/p90/max, mask
# p50/p90/p99/max over all steps, instances rejected; then the worst 5 schemas by mask p99 and by
# compile time. Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
#   bash bench/bench_masks.sh [RUNS] [TOKENIZER]      (defaults 1 run, Llama-3)
# RESULTS=FILE keeps the raw per-schema lines of the last run; SLOW=US writes every mask slower
# than US microseconds, with the text before it, to SLOW_LOG (default slow.log). MODE=any-order
# compiles the schemas with --any-order --format-annotation (objects' members in any order,
# `format` an annotation: the suite's own reading) instead of the default (schema order, formats
# enforced).
set -eu -o pipefail
cd "$(dirname "$0")/.."
SMOL=${SMOL:-build/smol}
DATA=${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}
RUNS=${1:-1}
TOK=${2:-$DATA/tokenizers/llama3-8b-instruct-hf/tokenizer.json}
case "${MODE:-default}" in
  default) FLAGS=() ;;
  any-order) FLAGS=(--any-order --format-annotation) ;;
  *) echo "bench_masks.sh: MODE is default or any-order, not '$MODE'" >&2; exit 2 ;;
esac
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

/usr/bin/python3 - "$DATA/json-schema-test-suite/draft2020-12" bench/schemas "$TMP/cases.jsonl" "$DATA/llama.cpp-grammars" <<'PYEOF'
import json, os, sys
suite, mine, out, gbnf = sys.argv[1:5]
with open(out, "w") as f:
    for name in sorted(x for x in os.listdir(suite) if x.endswith(".json")):
        for i, g in enumerate(json.load(open(os.path.join(suite, name), encoding="utf-8"))):
            texts = [json.dumps(t["data"], ensure_ascii=False) for t in g["tests"] if t["valid"]]
            f.write(json.dumps({"name": "suite/%s#%d" % (name[:-5], i), "schema": g["schema"], "texts": texts}) + "\n")
    for name in sorted(x for x in os.listdir(mine) if x.endswith(".schema.json")):
        base = name[:-len(".schema.json")]
        texts = [json.loads(l)["text"] for l in open(os.path.join(mine, base + ".instances.jsonl"), encoding="utf-8")]
        schema = json.load(open(os.path.join(mine, name), encoding="utf-8"))
        f.write(json.dumps({"name": "realistic/" + base, "schema": schema, "texts": texts}) + "\n")
    for name in sorted(x for x in os.listdir(gbnf) if x.endswith(".gbnf")):
        f.write(json.dumps({"name": "llama.cpp/" + name, "grammar": open(os.path.join(gbnf, name)).read(), "texts": [""]}) + "\n")
PYEOF

for r in $(seq "$RUNS"); do
  "$SMOL" grammar-check -m "$TOK" --batch "$TMP/cases.jsonl" ${FLAGS[@]+"${FLAGS[@]}"} ${SLOW:+--slow "$SLOW"} > "$TMP/results.jsonl" 2> "$TMP/err" ||
    { cat "$TMP/err" >&2; exit 1; }
  [ -n "${SLOW:-}" ] && grep '^slow mask' "$TMP/err" > "${SLOW_LOG:-slow.log}"
  [ -n "${RESULTS:-}" ] && cp "$TMP/results.jsonl" "$RESULTS"
  echo "run $r, mode ${MODE:-default}, $(basename "$(dirname "$TOK")") ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)):"
  /usr/bin/python3 - "$TMP/results.jsonl" <<'PYEOF'
import json, sys
def q(v, p):
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))] if v else 0.0
def us(x):
    return "%.0f us" % x if x >= 100 else "%.1f us" % x
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| set | schemas (compiled/all) | steps | compile p50 | p90 | max | mask p50 | p90 | p99 | max | instances rejected |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s in ("suite", "realistic", "llama.cpp"):
    rs = [r for r in rows if r["name"].startswith(s + "/")]
    ok = [r for r in rs if r["ok"]]
    comp = sorted(r["compile_us"] for r in ok)
    mask = sorted(x for r in ok for x in r["mask_us"])
    rej = sum(len(r["accept"]) - sum(r["accept"]) for r in ok) if s != "llama.cpp" else 0
    n_inst = sum(len(r["accept"]) for r in ok) if s != "llama.cpp" else 0
    print("| %s | %d/%d | %d | %s | %s | %s | %s | %s | %s | %s | %d of %d |" % (
        s, len(ok), len(rs), len(mask), us(q(comp, .5)), us(q(comp, .9)), us(q(comp, 1)),
        us(q(mask, .5)), us(q(mask, .9)), us(q(mask, .99)), us(q(mask, 1)), rej, n_inst))
ok = [r for r in rows if r["ok"]]
for r in ok: r["p99"] = q(sorted(r["mask_us"]), .99)
print("worst 5 by mask p99: " + ", ".join("%s (%s, max %s)" % (r["name"], us(r["p99"]), us(max(r["mask_us"] or [0])))
                                          for r in sorted(ok, key=lambda r: -r["p99"])[:5]))
print("worst 5 by compile: " + ", ".join("%s (%s)" % (r["name"], us(r["compile_us"]))
                                         for r in sorted(ok, key=lambda r: -r["compile_us"])[:5]))
rej = [r["name"] for r in ok if sum(r["accept"]) < len(r["accept"]) and not r["name"].startswith("llama.cpp/")]
if rej: print("rejecting some instance: " + ", ".join(rej))
PYEOF
done
