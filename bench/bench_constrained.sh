#!/usr/bin/env bash
# bench_constrained.sh: generation speed with and without a JSON Schema constraint, in generated
# tokens per CPU second of the generation (smol generate -v's "cpu:" line: prompt evaluation,
# sampling and the constraint's masks and budget checks included; model loading and the token
# index are not). One thread, temperature 1, the same seeds in both modes.
#   bash bench/bench_constrained.sh [MODEL [RUNS [N]]]     (defaults: see below, 5 runs, -n 128)
# MODEL defaults to a SmolLM2-135M-shaped Q8_0 random model with the SmolLM2 tokenizer, made
# once into ${TMPDIR:-/tmp}. A random model under a schema rarely closes a string by itself, so
# outputs run to -n (the budget-aware finish closes them at the end) as unconstrained ones do.
set -eu
cd "$(dirname "$0")/.."
export SMOL_TEST_DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
SMOL=${SMOL:-$PWD/build/smol}
MODEL=${1:-${TMPDIR:-/tmp}/smol-bench-smollm2-135m-q8_0-smoltok.gguf}
RUNS=${2:-5}
N=${3:-128}
if [ ! -s "$MODEL" ]; then
  "$SMOL" make-model --arch smollm2-135m --type q8_0 --seed 42 \
    --tokenizer "$SMOL_TEST_DATA/tokenizers/SmolLM2-135M-Instruct/tokenizer.json" -o "$MODEL" 2> /dev/null
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo '{"type": "array", "items": {"type": "string"}}' > "$TMP/strings.json"
cat > "$TMP/record.json" <<'JEOF'
{"type": "object", "required": ["name", "age", "tags", "address"],
 "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
  "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}},
  "address": {"type": "object", "properties": {"street": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}}}
JEOF
# run LABEL SEED ARGS...: prints "LABEL tokens cpu_ms"
run() {
  local label=$1 seed=$2; shift 2
  "$SMOL" generate -m "$MODEL" -p "Data:" -n "$N" --temp 1 --seed "$seed" -t 1 -v "$@" > /dev/null 2> "$TMP/err"
  echo "$label $(sed -n 's/.*generated: \([0-9]*\) tokens.*/\1/p' "$TMP/err") $(sed -n 's/^cpu: \([0-9.]*\) ms.*/\1/p' "$TMP/err")"
}
# the modes alternate within each seed, so a change in the machine's load hits them alike
for seed in $(seq 1 "$RUNS"); do
  run unconstrained "$seed"
  run strings "$seed" --json-schema "$TMP/strings.json"
  run record "$seed" --json-schema "$TMP/record.json"
done > "$TMP/runs"
/usr/bin/python3 - "$TMP/runs" "$MODEL" "$N" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, tokens, cpu = line.split()
    rows.setdefault(label, []).append((int(tokens), float(cpu)))
print(f"model {sys.argv[2]}, -n {sys.argv[3]}, 1 thread; generated tokens per CPU second (median of {len(rows['unconstrained'])} runs)")
print("| mode | tokens/run (mean) | tok/s per CPU-s (median) | min .. max | vs unconstrained |")
print("|---|---:|---:|---:|---:|")
base = statistics.median(t * 1e3 / c for t, c in rows["unconstrained"])
for label, rs in rows.items():
    rates = [t * 1e3 / c for t, c in rs]
    med = statistics.median(rates)
    print(f"| {label} | {statistics.mean(t for t, _ in rs):.0f} | {med:.1f} | {min(rates):.1f} .. {max(rates):.1f} | {100 * (med / base - 1):+.1f}% |")
PY
