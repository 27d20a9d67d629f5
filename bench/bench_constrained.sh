#!/usr/bin/env bash
# bench_constrained.sh: generation speed with and without a JSON Schema constraint, in generated
# tokens per CPU second of the generation (smol generate -v's "cpu:" line: prompt evaluation,
# sampling and the constraint's masks and budget checks included; model loading and the token
# index are not). One thread, temperature 1, the same seeds in both modes.
#   bash bench/bench_constrained.sh [MODEL [RUNS [N]]]     (defaults: see below, 5 runs, -n 128)
# MODEL defaults to a SmolLM2-135M-shaped Q8_0 random model with the SmolLM2 tokenizer, made
# once into ${TMPDIR:-/tmp}. MODEL "llama3" is the same depth and width (30 layers, hidden 576)
# with Llama-3's 128,256-token vocabulary: random bf16 weights written by numpy as a Hugging Face
# folder, then `smol convert --type q8_0` (make-model ties the vocabulary to the architecture).
# A random model under a schema rarely closes a string by itself, so outputs mostly run to -n (the
# budget-aware finish closes them at the end) as unconstrained ones do. A seed whose output in any
# mode ends before -n (an early end token: the run's fixed costs, prompt and first masks, would
# then be spread over a few tokens) is skipped and the next seed taken, until RUNS seeds ran to -n
# in all three modes (at most 4 * RUNS seeds are tried).
set -eu
cd "$(dirname "$0")/.."
export SMOL_TEST_DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
SMOL=${SMOL:-$PWD/build/smol}
MODEL=${1:-${TMPDIR:-/tmp}/smol-bench-smollm2-135m-q8_0-smoltok.gguf}
RUNS=${2:-5}
N=${3:-128}
if [ "$MODEL" = llama3 ]; then
  MODEL=${TMPDIR:-/tmp}/smol-bench-135m-shape-llama3-vocab-q8_0.gguf
  if [ ! -s "$MODEL" ]; then
    HF=$(mktemp -d)
    /usr/bin/python3 - "$SMOL_TEST_DATA/tokenizers/llama3-8b-instruct-hf/tokenizer.json" "$HF" <<'PY'
import json, sys, numpy as np
tok, out = sys.argv[1], sys.argv[2]
t = json.load(open(tok))
spec = {a["content"]: a["id"] for a in t.get("added_tokens", [])}
V = max(list(t["model"]["vocab"].values()) + list(spec.values())) + 1
H, F, L, NH, NKV = 576, 1536, 30, 9, 3
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": F,
           "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV, "vocab_size": V,
           "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": True,
           "bos_token_id": spec["<|begin_of_text|>"], "eos_token_id": [spec["<|end_of_text|>"], spec["<|eot_id|>"]]},
          open(f"{out}/config.json", "w"))
rng = np.random.default_rng(42)
def bf16(shape, std):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).view(np.uint32) >> 16
ts = {"model.embed_tokens.weight": bf16((V, H), 0.02), "model.norm.weight": np.full(H, 0x3F80, np.uint32)}
kv = H // NH * NKV
for l in range(L):
    for n, shape in [("self_attn.q_proj", (H, H)), ("self_attn.k_proj", (kv, H)), ("self_attn.v_proj", (kv, H)),
                     ("self_attn.o_proj", (H, H)), ("mlp.gate_proj", (F, H)), ("mlp.up_proj", (F, H)), ("mlp.down_proj", (H, F))]:
        ts[f"model.layers.{l}.{n}.weight"] = bf16(shape, 0.02)
    for n in ("input_layernorm", "post_attention_layernorm"):
        ts[f"model.layers.{l}.{n}.weight"] = np.full(H, 0x3F80, np.uint32)
header, off = {}, 0
for k, v in ts.items():
    header[k] = {"dtype": "BF16", "shape": list(v.shape), "data_offsets": [off, off + v.size * 2]}
    off += v.size * 2
h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
with open(f"{out}/model.safetensors", "wb") as f:
    f.write(len(h).to_bytes(8, "little")); f.write(h)
    for v in ts.values(): f.write(v.astype("<u2").tobytes())
PY
    cp "$SMOL_TEST_DATA/tokenizers/llama3-8b-instruct-hf/tokenizer.json" "$SMOL_TEST_DATA/tokenizers/llama3-8b-instruct-hf/tokenizer_config.json" "$HF/"
    "$SMOL" convert "$HF" --type q8_0 -o "$MODEL" 2> /dev/null
    rm -rf "$HF"
  fi
elif [ ! -s "$MODEL" ]; then
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
kept=0
: > "$TMP/runs"
for seed in $(seq 1 $((4 * RUNS))); do
  [ "$kept" -lt "$RUNS" ] || break
  { run unconstrained "$seed"; run strings "$seed" --json-schema "$TMP/strings.json"
    run record "$seed" --json-schema "$TMP/record.json"; } > "$TMP/seed"
  if awk -v n="$N" '$2 != n { bad = 1 } END { exit bad }' "$TMP/seed"; then
    cat "$TMP/seed" >> "$TMP/runs"
    kept=$((kept + 1))
  else
    echo "seed $seed skipped (an output ended before -n $N: $(awk '{ printf "%s %s; ", $1, $2 }' "$TMP/seed"))" >&2
  fi
done
/usr/bin/python3 - "$TMP/runs" "$MODEL" "$N" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, tokens, cpu = line.split()
    rows.setdefault(label, []).append(int(tokens) * 1e3 / float(cpu))
if not rows:
    sys.exit("no seed ran to -n in all three modes")
base = rows["unconstrained"]
print(f"model {sys.argv[2]}, -n {sys.argv[3]}, 1 thread; generated tokens per CPU second over {len(base)} seeds (each mode ran to -n)")
print("| mode | tok/s per CPU-s (median) | min .. max | median of paired ratios (same seed, adjacent runs) |")
print("|---|---:|---:|---:|")
for label, rates in rows.items():
    ratio = statistics.median(r / b for r, b in zip(rates, base))
    print(f"| {label} | {statistics.median(rates):.1f} | {min(rates):.1f} .. {max(rates):.1f} | {100 * (ratio - 1):+.1f}% |")
PY
