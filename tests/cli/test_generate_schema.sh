# test_generate_schema.sh: `smol generate --json-schema` with random-weight models over real
# vocabularies (SmolLM2's 49,152 and Llama-3's 128,256 tokens): outputs cut by a small -n still
# validate (the budget-aware finish), checked with `smol validate`; a schema whose shortest output
# cannot fit is refused before generating; --seqs decodes seeds together as single runs do.
# The full run over every compiled suite schema at 8 seeds is bench/validity.sh.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
SUITE=$SMOL_TEST_DATA/json-schema-test-suite/draft2020-12

# A 2-layer, hidden-64 random Llama (Hugging Face folder) with the vocabulary of tokenizer NAME.
tiny_vocab_model() {
  local dir="$TMP/tiny-$1"
  [ -f "$dir/model.safetensors" ] && return 0
  $PY - "$SMOL_TEST_DATA/tokenizers/$1/tokenizer.json" "$dir" <<'PYEOF'
import json, os, sys, numpy as np
tok, out = sys.argv[1], sys.argv[2]
t = json.load(open(tok))
spec = {a["content"]: a["id"] for a in t.get("added_tokens", [])}
V = max(list(t["model"]["vocab"].values()) + list(spec.values())) + 1
H, F, L = 64, 128, 2
os.makedirs(out, exist_ok=True)
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": F,
           "num_hidden_layers": L, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": V,
           "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": True,
           "bos_token_id": spec.get("<|begin_of_text|>", spec.get("<|im_start|>", 1)),
           "eos_token_id": [spec[k] for k in ("<|end_of_text|>", "<|eot_id|>", "<|endoftext|>", "<|im_end|>") if k in spec]},
          open(f"{out}/config.json", "w"))
rng = np.random.default_rng(7)
ts = {"model.embed_tokens.weight": rng.standard_normal((V, H), dtype=np.float32), "model.norm.weight": np.ones(H)}
for l in range(L):
    for n, shape in [("self_attn.q_proj", (H, H)), ("self_attn.k_proj", (H // 2, H)), ("self_attn.v_proj", (H // 2, H)),
                     ("self_attn.o_proj", (H, H)), ("mlp.gate_proj", (F, H)), ("mlp.up_proj", (F, H)), ("mlp.down_proj", (H, F))]:
        ts[f"model.layers.{l}.{n}.weight"] = rng.normal(0, 0.05, shape)
    ts[f"model.layers.{l}.input_layernorm.weight"] = ts[f"model.layers.{l}.post_attention_layernorm.weight"] = np.ones(H)
header, blobs, off = {}, [], 0
for k, v in ts.items():
    b = np.asarray(v, dtype="<f4").tobytes()
    header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
with open(f"{out}/model.safetensors", "wb") as f:
    f.write(len(h).to_bytes(8, "little")); f.write(h); [f.write(b) for b in blobs]
PYEOF
  cp "$SMOL_TEST_DATA/tokenizers/$1/tokenizer.json" "$dir/"
}

# Suite schemas (file:group) run at 2 seeds with -n N; every output must validate.
suite_validates() {
  local tok=$1 n=$2 k=0
  tiny_vocab_model "$tok"
  for fg in properties.json:0 required.json:0 items.json:0 type.json:6 enum.json:1 minLength.json:0 anyOf.json:0; do
    $PY -c 'import json,sys; f,g=sys.argv[1].split(":"); print(json.dumps(json.load(open(sys.argv[2]+"/"+f))[int(g)]["schema"]))' \
      "$fg" "$SUITE" > "$TMP/s$k.json"
    set +e
    "$SMOL" generate -m "$TMP/tiny-$tok" --json-schema "$TMP/s$k.json" --seed 3 --temp 1 -n "$n" --seqs 2 -t 1 \
      > "$TMP/o$k.jsonl" 2> "$TMP/e$k"; rc=$?
    set -e
    [ "$rc" -eq 2 ] && { echo "$fg does not compile: $(cat "$TMP/e$k")"; continue; }
    [ "$rc" -eq 0 ] || fail "$tok $fg: exit $rc: $(cat "$TMP/e$k")"
    [ "$(wc -l < "$TMP/o$k.jsonl")" -eq 2 ] || fail "$tok $fg: $(cat "$TMP/o$k.jsonl")"
    "$SMOL" validate --schema "$TMP/s$k.json" --field text --json-text "$TMP/o$k.jsonl" > "$TMP/v$k" 2>&1 ||
      fail "$tok $fg -n $n: $(paste -d' ' "$TMP/v$k" "$TMP/o$k.jsonl" | grep -v '^valid' | head -2)"
    k=$((k + 1))
  done
  [ "$k" -ge 6 ] || fail "only $k schemas compiled"
}
t_suite_schemas_validate_smollm2_vocab() { suite_validates SmolLM2-135M-Instruct 12; suite_validates SmolLM2-135M-Instruct 40; }
t_suite_schemas_validate_llama3_vocab() { suite_validates llama3-8b-instruct-hf 16; }

# The shortest output of this schema is {"a_rather_long_property_name":0}: python counts its bytes.
long_name_schema() {
  echo '{"type": "object", "properties": {"a_rather_long_property_name": {"type": "integer"}},
         "required": ["a_rather_long_property_name"], "additionalProperties": false}' > "$TMP/long.json"
  $PY -c 'import json; print(len(json.dumps({"a_rather_long_property_name": 0}, separators=(",", ":"))))'
}
t_too_small_budget_is_refused() {
  tiny_vocab_model SmolLM2-135M-Instruct
  need=$(long_name_schema)
  set +e
  "$SMOL" generate -m "$TMP/tiny-SmolLM2-135M-Instruct" --json-schema "$TMP/long.json" -n $((need - 1)) > "$TMP/out" 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "exit $rc"
  grep -q "smol generate: the constraint needs up to $need tokens .*-n is $((need - 1))" "$TMP/err" || fail "message: $(cat "$TMP/err")"
  [ ! -s "$TMP/out" ] || fail "output before the error: $(cat "$TMP/out")"
  # exactly enough: every output validates
  "$SMOL" generate -m "$TMP/tiny-SmolLM2-135M-Instruct" --json-schema "$TMP/long.json" -n "$need" --seqs 3 --seed 1 \
    > "$TMP/o.jsonl" 2> /dev/null
  "$SMOL" validate --schema "$TMP/long.json" --field text --json-text "$TMP/o.jsonl" > /dev/null || fail "$(cat "$TMP/o.jsonl")"
}
# the control: without the budget-aware finish, the same small -n cuts outputs off
t_no_budget_finish_cuts_off() {
  tiny_vocab_model SmolLM2-135M-Instruct
  echo '{"type": "array", "items": {"type": "string"}, "minItems": 2}' > "$TMP/arr.json"
  for flag in "" --no-budget-finish; do
    "$SMOL" generate -m "$TMP/tiny-SmolLM2-135M-Instruct" --json-schema "$TMP/arr.json" -n 10 --seqs 4 --seed 1 --temp 1 $flag \
      > "$TMP/o.jsonl" 2> /dev/null
    set +e
    "$SMOL" validate --schema "$TMP/arr.json" --field text --json-text "$TMP/o.jsonl" > "$TMP/v" 2>&1; rc=$?
    set -e
    if [ -z "$flag" ]; then [ "$rc" -eq 0 ] || fail "budget finish: $(cat "$TMP/v" "$TMP/o.jsonl")"
    else [ "$rc" -eq 1 ] || fail "--no-budget-finish: all valid at -n 10: $(cat "$TMP/o.jsonl")"; fi
  done
}
# --seqs N gives what N single runs with seeds S..S+N-1 give
t_seqs_match_single_runs() {
  tiny_vocab_model SmolLM2-135M-Instruct
  echo '{"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "boolean"}}}' > "$TMP/xy.json"
  "$SMOL" generate -m "$TMP/tiny-SmolLM2-135M-Instruct" --json-schema "$TMP/xy.json" -n 20 --seqs 2 --seed 7 --temp 1 -t 1 \
    > "$TMP/b.jsonl" 2> /dev/null
  for i in 0 1; do
    "$SMOL" generate -m "$TMP/tiny-SmolLM2-135M-Instruct" --json-schema "$TMP/xy.json" -n 20 --seed $((7 + i)) --temp 1 -t 1 \
      > "$TMP/single$i" 2> /dev/null
    $PY -c 'import json,sys; l=open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]; sys.exit(json.loads(l)["text"] != open(sys.argv[3]).read())' \
      "$TMP/b.jsonl" $i "$TMP/single$i" || fail "seq $i: $(sed -n "$((i + 1))p" "$TMP/b.jsonl") vs single '$(cat "$TMP/single$i")'"
  done
}
t_bad_seqs_exit_2() {
  tiny_vocab_model SmolLM2-135M-Instruct
  set +e
  "$SMOL" generate -m "$TMP/tiny-SmolLM2-135M-Instruct" --seqs 0 2> "$TMP/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "exit $rc"
  grep -q -- "--seqs" "$TMP/err" || fail "$(cat "$TMP/err")"
}

run_tests
