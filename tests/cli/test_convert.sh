# test_convert.sh: `smol convert` and `smol quantize` from the command line: the GGUF keys of a
# converted folder (read back with `smol inspect --json`), a folder with the SmolLM2 tokenizer
# (ids equal to tokenizer.json's), generation on the converted model equal to the folder's,
# re-quantization equal to make-model's bytes, progress on stderr, and bad input.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
GOLD="$SMOL_TEST_DATA/hf-golden"
TOKDIR="$SMOL_TEST_DATA/tokenizers/SmolLM2-135M-Instruct"

t_llama3_folder_keys_and_tensors() {
  "$SMOL" convert "$GOLD/llama32-tiny/model" -o "$TMP/l.gguf" --type f32 2> "$TMP/err"
  grep -q 'warning: .*no tokenizer.json' "$TMP/err" || fail "no warning about the missing tokenizer: $(cat "$TMP/err")"
  grep -Eq '^convert: \[ +3/ +22\] blk.0.attn_norm.weight' "$TMP/err" || fail "no progress: $(head -5 "$TMP/err")"
  "$SMOL" inspect "$TMP/l.gguf" --json --full | "$PY" -c '
import json, sys
d = json.load(sys.stdin); m = {k: v["value"] for k, v in d["metadata"].items()}
cfg = json.load(open(sys.argv[1]))
want = {"general.architecture": "llama", "general.file_type": 0, "llama.block_count": cfg["num_hidden_layers"],
        "llama.context_length": cfg["max_position_embeddings"], "llama.embedding_length": cfg["hidden_size"],
        "llama.feed_forward_length": cfg["intermediate_size"], "llama.attention.head_count": cfg["num_attention_heads"],
        "llama.attention.head_count_kv": cfg["num_key_value_heads"], "llama.vocab_size": cfg["vocab_size"],
        "llama.rope.dimension_count": cfg["head_dim"], "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.bos_token_id": cfg["bos_token_id"], "tokenizer.ggml.eos_token_id": cfg["eos_token_id"]}
for k, v in want.items():
    assert m.get(k) == v, f"{k}: {m.get(k)!r}, want {v!r}"
assert m["llama.rope.freq_base"] == cfg["rope_parameters"]["rope_theta"]
assert abs(m["llama.attention.layer_norm_rms_epsilon"] - cfg["rms_norm_eps"]) < 1e-10
t = {x["name"]: (x["type"], x["shape"]) for x in d["tensors"]}
assert t["rope_freqs.weight"] == ("f32", [cfg["head_dim"] // 2]), t["rope_freqs.weight"]
assert t["output.weight"] == ("f32", [cfg["hidden_size"], cfg["vocab_size"]]), t["output.weight"]
assert t["blk.1.attn_k.weight"] == ("f32", [256, 128]), t["blk.1.attn_k.weight"]
assert len(t) == 1 + 1 + 9 * cfg["num_hidden_layers"] + 2, len(t)
' "$GOLD/llama32-tiny/model/config.json"
}

t_qwen2_tied_with_biases() {
  "$SMOL" convert "$GOLD/qwen2-tiny/model" -o "$TMP/q.gguf" --type q8_0 2> /dev/null
  "$SMOL" inspect "$TMP/q.gguf" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin); m = {k: v["value"] for k, v in d["metadata"].items()}
assert m["general.architecture"] == "qwen2" and m["general.file_type"] == 7, m
t = {x["name"]: x["type"] for x in d["tensors"]}
assert "output.weight" not in t and t["token_embd.weight"] == "q8_0", t
assert t["blk.0.attn_q.bias"] == "f32" and t["blk.0.attn_q.weight"] == "q8_0" and t["output_norm.weight"] == "f32", t
'
}

# A llama folder with the real SmolLM2 tokenizer: a 1-layer model with SmolLM2's vocabulary,
# written with numpy as safetensors.
t_folder_with_tokenizer() {
  mkdir -p "$TMP/hf"
  cp "$TOKDIR/tokenizer.json" "$TOKDIR/tokenizer_config.json" "$TMP/hf/"
  "$PY" - "$TMP/hf" <<'PYEOF'
import json, struct, sys, numpy as np
out = sys.argv[1]; V, E, F, H = 49152, 64, 128, 4
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": V, "hidden_size": E,
       "intermediate_size": F, "num_hidden_layers": 1, "num_attention_heads": H, "num_key_value_heads": 2,
       "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": True,
       "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
json.dump(cfg, open(f"{out}/config.json", "w"))
rng = np.random.default_rng(1)
shapes = {"model.embed_tokens.weight": (V, E), "model.norm.weight": (E,),
          "model.layers.0.input_layernorm.weight": (E,), "model.layers.0.post_attention_layernorm.weight": (E,),
          "model.layers.0.self_attn.q_proj.weight": (E, E), "model.layers.0.self_attn.k_proj.weight": (32, E),
          "model.layers.0.self_attn.v_proj.weight": (32, E), "model.layers.0.self_attn.o_proj.weight": (E, E),
          "model.layers.0.mlp.gate_proj.weight": (F, E), "model.layers.0.mlp.up_proj.weight": (F, E),
          "model.layers.0.mlp.down_proj.weight": (E, F)}
header, blobs, off = {}, [], 0
for name, shape in shapes.items():
    a = (1 + 0.02 * rng.standard_normal(shape) if len(shape) == 1 else 0.5 * rng.standard_normal(shape)).astype("<f4")
    b = a.tobytes(); header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
with open(f"{out}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for b in blobs: f.write(b)
PYEOF
  "$SMOL" convert "$TMP/hf" -o "$TMP/s.gguf" --type f16 2> "$TMP/err" || fail "$(cat "$TMP/err")"
  ! grep -q warning "$TMP/err" || fail "unexpected warning: $(grep warning "$TMP/err")"
  local text='Hello world, it'"'"'s <|im_start|>user 12345 café'
  local a b
  a=$("$SMOL" tokenize -m "$TMP/hf/tokenizer.json" "$text")
  b=$("$SMOL" tokenize -m "$TMP/s.gguf" "$text")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "ids from tokenizer.json '$a', from the GGUF '$b'"
  "$SMOL" inspect "$TMP/s.gguf" --json --full | "$PY" -c '
import json, sys
d = json.load(sys.stdin); m = {k: v["value"] for k, v in d["metadata"].items()}
assert m["tokenizer.ggml.pre"] == "smollm" and len(m["tokenizer.ggml.tokens"]) == 49152, m["tokenizer.ggml.pre"]
assert m["tokenizer.ggml.tokens"][1] == "<|im_start|>" and m["tokenizer.ggml.token_type"][1] == 3
assert m["tokenizer.ggml.bos_token_id"] == 1 and m["tokenizer.ggml.eos_token_id"] == 2
assert "<|im_start|>" in m["tokenizer.chat_template"] and len(m["tokenizer.ggml.merges"]) > 40000
t = {x["name"]: x["type"] for x in d["tensors"]}
assert t["blk.0.attn_q.weight"] == "f16" and t["token_embd.weight"] == "f16" and t["blk.0.attn_norm.weight"] == "f32", t
'
  # the converted model continues a prompt as the folder does (f32 to keep the weights exact)
  "$SMOL" convert "$TMP/hf" -o "$TMP/s32.gguf" --type f32 2> /dev/null
  a=$("$SMOL" generate -m "$TMP/hf" -p "The cat" -n 12 --temp 0 --kv f32 -t 1 2> /dev/null)
  b=$("$SMOL" generate -m "$TMP/s32.gguf" -p "The cat" -n 12 --temp 0 --kv f32 -t 1 2> /dev/null)
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "folder generated '$a', GGUF '$b'"
}

t_quantize_matches_make_model() {
  "$SMOL" make-model --arch tiny --seed 9 -o "$TMP/f32.gguf" 2> /dev/null
  "$SMOL" make-model --arch tiny --seed 9 --type q8_0 -o "$TMP/want.gguf" 2> /dev/null
  "$SMOL" quantize "$TMP/f32.gguf" "$TMP/got.gguf" q8_0 -t 2 2> "$TMP/err"
  cmp "$TMP/got.gguf" "$TMP/want.gguf" || fail "quantize q8_0 differs from make-model --type q8_0"
  grep -Eq '^quantize: \[ +[0-9]+/ +21\] blk.0.attn_q.weight +f32 +-> q8_0 +\[64, 64\]$' "$TMP/err" || fail "progress: $(cat "$TMP/err")"
  "$SMOL" quantize "$TMP/want.gguf" "$TMP/again.gguf" q4_0 2> "$TMP/err2"
  grep -q 'warning: .*dequantized and quantized again' "$TMP/err2" || fail "no requantization warning: $(cat "$TMP/err2")"
  "$SMOL" generate -m "$TMP/again.gguf" -n 4 --temp 0 > /dev/null 2>&1 || fail "the q4_0 model does not run"
}

t_bad_input() {
  local rc=0
  "$SMOL" convert "$GOLD/qwen2-tiny/model" 2> "$TMP/e" || rc=$?
  [ $rc -eq 2 ] && grep -q 'missing -o' "$TMP/e" || fail "no -o: rc $rc"
  rc=0; "$SMOL" convert "$GOLD/qwen2-tiny/model" -o "$TMP/x.gguf" --type q9_9 2> "$TMP/e" || rc=$?
  [ $rc -eq 2 ] && grep -q "unknown type 'q9_9'" "$TMP/e" || fail "bad type: rc $rc $(cat "$TMP/e")"
  rc=0; "$SMOL" convert "$GOLD/qwen2-tiny/model" -o "$TMP/x.gguf" --bogus 2> "$TMP/e" || rc=$?
  [ $rc -eq 2 ] || fail "bad flag: rc $rc"
  rc=0; "$SMOL" convert "$TMP/nothing" -o "$TMP/x.gguf" 2> "$TMP/e" || rc=$?
  [ $rc -eq 1 ] && grep -q "^smol convert: .*nothing: not a folder" "$TMP/e" || fail "missing folder: rc $rc $(cat "$TMP/e")"
  mkdir -p "$TMP/tk" && cp "$GOLD/smollm2-tiny/model/"* "$TMP/tk/" && cp "$TOKDIR/tokenizer.json" "$TMP/tk/"
  rc=0; "$SMOL" convert "$TMP/tk" -o "$TMP/x.gguf" 2> "$TMP/e" || rc=$?
  [ $rc -eq 1 ] && grep -q "outside the architecture's vocab of 2048" "$TMP/e" || fail "vocab too small: rc $rc $(cat "$TMP/e")"
  [ ! -e "$TMP/x.gguf" ] || fail "a failed conversion left its output"
  rc=0; "$SMOL" quantize "$TMP/a.gguf" "$TMP/b.gguf" 2> "$TMP/e" || rc=$?
  [ $rc -eq 2 ] && grep -q "expected IN.gguf OUT.gguf TYPE" "$TMP/e" || fail "two args: rc $rc"
  rc=0; "$SMOL" quantize "$TMP/a.gguf" "$TMP/b.gguf" auto 2> "$TMP/e" || rc=$?
  [ $rc -eq 2 ] || fail "auto: rc $rc"
  rc=0; "$SMOL" quantize "$TMP/a.gguf" "$TMP/a.gguf" q8_0 2> "$TMP/e" || rc=$?
  [ $rc -eq 2 ] || fail "same file: rc $rc"
  rc=0; "$SMOL" quantize "$TMP/none.gguf" "$TMP/b.gguf" q8_0 2> "$TMP/e" || rc=$?
  [ $rc -eq 1 ] && grep -q "^smol quantize: .*none.gguf" "$TMP/e" || fail "missing input: rc $rc $(cat "$TMP/e")"
}

run_tests
