# test_make_model.sh: `smol make-model`: shapes and keys of the tiny and SmolLM2-135M models
# (checked in `smol inspect --json`), the weight statistics (numpy), the embedded tokenizer
# against tokenizer.json, determinism, quantized type choices, and bad input.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
TOKDIR="$SMOL_TEST_DATA/tokenizers/SmolLM2-135M-Instruct"

# tensors_np FILE SCRIPT: runs SCRIPT with `T` = {name: numpy array (f32/f16 tensors, GGUF shape reversed)}.
tensors_np() {
  "$PY" - "$1" "$2" <<'PYEOF'
import struct, sys, numpy as np
data = open(sys.argv[1], 'rb').read(); pos = 4
def take(f):
    global pos
    v = struct.unpack_from('<' + f, data, pos)[0]; pos += struct.calcsize('<' + f); return v
def skip_value(t):
    global pos
    if t == 8: n = take('Q'); pos += n
    elif t == 9:
        at = take('I'); n = take('Q')
        for _ in range(n): skip_value(at)
    else: pos += {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}[t]
version, nt, nkv = take('I'), take('Q'), take('Q')
for _ in range(nkv):
    n = take('Q'); pos += n; skip_value(take('I'))
infos = []
for _ in range(nt):
    n = take('Q'); name = data[pos:pos + n].decode(); pos += n
    nd = take('I'); ne = [take('Q') for _ in range(nd)]; t = take('I'); off = take('Q'); infos.append((name, ne, t, off))
base = (pos + 31) // 32 * 32
T = {}
for name, ne, t, off in infos:
    if t not in (0, 1): continue
    dt = np.float32 if t == 0 else np.float16
    cnt = int(np.prod(ne))
    T[name] = np.frombuffer(data, dtype=dt, count=cnt, offset=base + off).astype(np.float32).reshape(ne[::-1])
exec(sys.argv[2])
PYEOF
}

t_tiny_shapes_and_keys() {
  "$SMOL" make-model --arch tiny -o "$TMP/tiny.gguf" 2> /dev/null
  "$SMOL" inspect "$TMP/tiny.gguf" --json --full | "$PY" -c '
import json, sys
d = json.load(sys.stdin); m = {k: v["value"] for k, v in d["metadata"].items()}
want = {"general.architecture": "llama", "llama.block_count": 2, "llama.embedding_length": 64,
        "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2, "llama.feed_forward_length": 192,
        "llama.rope.dimension_count": 16, "llama.vocab_size": 512, "llama.context_length": 512,
        "general.file_type": 0, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
        "tokenizer.ggml.bos_token_id": 256, "tokenizer.ggml.eos_token_id": 258}
for k, v in want.items():
    assert m.get(k) == v, f"{k}: {m.get(k)!r}, want {v!r}"
assert d["metadata"]["llama.rope.freq_base"]["type"] == "f32" and m["llama.rope.freq_base"] == 10000
toks = m["tokenizer.ggml.tokens"]
assert len(toks) == 512 and toks[ord("a")] == "a" and toks[32] == "\u0120" and toks[10] == "\u010a", toks[:40]
assert toks[256:259] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] and toks[259] == "<|reserved_0|>"
assert m["tokenizer.ggml.token_type"] == [1] * 256 + [3] * 256 and m["tokenizer.ggml.merges"] == []
assert "<|im_start|>" in m["tokenizer.chat_template"]
t = {x["name"]: (x["type"], x["shape"]) for x in d["tensors"]}
assert len(t) == 2 + 2 * 9 + 1, len(t)
assert t["token_embd.weight"] == ("f32", [64, 512]) and t["output.weight"] == ("f32", [64, 512])
assert t["blk.1.attn_q.weight"] == ("f32", [64, 64]) and t["blk.1.attn_k.weight"] == ("f32", [64, 32])
assert t["blk.0.attn_v.weight"] == ("f32", [64, 32]) and t["blk.0.attn_output.weight"] == ("f32", [64, 64])
assert t["blk.0.ffn_gate.weight"] == ("f32", [64, 192]) and t["blk.0.ffn_down.weight"] == ("f32", [192, 64])
assert t["blk.0.attn_norm.weight"] == ("f32", [64]) and t["output_norm.weight"] == ("f32", [64])
'
}

t_tiny_weight_statistics() {
  "$SMOL" make-model --arch tiny --seed 3 -o "$TMP/tiny.gguf" 2> /dev/null
  tensors_np "$TMP/tiny.gguf" '
mats = np.concatenate([v.ravel() for k, v in T.items() if v.ndim == 2])
norms = np.concatenate([v.ravel() for k, v in T.items() if "norm" in k])
assert abs(mats.std() - 0.02) < 0.001 and abs(mats.mean()) < 0.001, (mats.std(), mats.mean())
assert abs(norms.mean() - 1) < 0.01 and 0.01 < norms.std() < 0.03, (norms.mean(), norms.std())
assert not np.array_equal(T["blk.0.attn_q.weight"], T["blk.1.attn_q.weight"]), "layers share weights"
'
}

t_f16_model_holds_the_f32_weights_rounded() {
  "$SMOL" make-model --arch tiny --seed 5 -o "$TMP/a.gguf" 2> /dev/null
  "$SMOL" make-model --arch tiny --seed 5 --type f16 -o "$TMP/b.gguf" 2> /dev/null
  tensors_np "$TMP/a.gguf" 'np.savez(sys.argv[1] + ".npz", **T)'
  tensors_np "$TMP/b.gguf" '
A = np.load(sys.argv[1].replace("b.gguf", "a.gguf") + ".npz")
for k, v in T.items():
    want = A[k].astype(np.float16).astype(np.float32) if v.ndim == 2 else A[k]
    bad = np.flatnonzero(want.ravel() != v.ravel())
    assert bad.size == 0, f"{k}: first difference at {bad[0]}: {want.ravel()[bad[0]]} vs {v.ravel()[bad[0]]}"
'
}

t_same_seed_same_bytes() {
  "$SMOL" make-model --arch tiny --seed 11 --type q8_0 -t 3 -o "$TMP/a.gguf" 2> /dev/null
  "$SMOL" make-model --arch tiny --seed 11 --type q8_0 -t 1 -o "$TMP/b.gguf" 2> /dev/null
  "$SMOL" make-model --arch tiny --seed 12 --type q8_0 -o "$TMP/c.gguf" 2> /dev/null
  a=$(sha256sum < "$TMP/a.gguf"); b=$(sha256sum < "$TMP/b.gguf"); c=$(sha256sum < "$TMP/c.gguf")
  [ "$a" = "$b" ] || fail "same seed, different files (3 threads vs 1)"
  [ "$a" != "$c" ] || fail "different seeds, same file"
}

t_smollm2_135m_f16_with_tokenizer() {
  "$SMOL" make-model --arch smollm2-135m --type f16 --tokenizer "$TOKDIR/tokenizer.json" -o "$TMP/s.gguf" 2> "$TMP/log"
  grep -q 'smollm2-135m (f16), 272 tensors' "$TMP/log" || fail "log: $(head -c 300 "$TMP/log")"
  "$SMOL" inspect "$TMP/s.gguf" --json --full > "$TMP/s.json"
  "$PY" - "$TMP/s.json" "$TOKDIR" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); m = {k: v["value"] for k, v in d["metadata"].items()}
tj = json.load(open(sys.argv[2] + "/tokenizer.json")); cfg = json.load(open(sys.argv[2] + "/tokenizer_config.json"))
want = {"llama.block_count": 30, "llama.embedding_length": 576, "llama.attention.head_count": 9,
        "llama.attention.head_count_kv": 3, "llama.feed_forward_length": 1536, "llama.vocab_size": 49152,
        "llama.context_length": 8192, "llama.rope.freq_base": 100000, "llama.rope.dimension_count": 64,
        "general.file_type": 1, "tokenizer.ggml.pre": "smollm", "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.add_bos_token": False}
for k, v in want.items():
    assert m.get(k) == v, f"{k}: {m.get(k)!r}, want {v!r}"
assert abs(m["llama.attention.layer_norm_rms_epsilon"] - 1e-5) < 1e-10
assert m["tokenizer.chat_template"] == cfg["chat_template"], "chat template"
vocab = dict(tj["model"]["vocab"]); special = {a["content"]: a["special"] for a in tj["added_tokens"]}
for a in tj["added_tokens"]: vocab[a["content"]] = a["id"]
toks, types = m["tokenizer.ggml.tokens"], m["tokenizer.ggml.token_type"]
assert len(toks) == 49152
for tok, i in vocab.items():
    if toks[i] != tok: sys.exit(f"token {i}: {toks[i]!r}, want {tok!r}")
    want_type = (3 if special[tok] else 4) if tok in special else 1
    if types[i] != want_type: sys.exit(f"token {i} {tok!r}: type {types[i]}, want {want_type}")
merges = [x if isinstance(x, str) else " ".join(x) for x in tj["model"]["merges"]]
assert m["tokenizer.ggml.merges"] == merges, "merges differ"
t = {x["name"]: (x["type"], x["shape"]) for x in d["tensors"]}
assert "output.weight" not in t and len(t) == 2 + 30 * 9
assert t["token_embd.weight"] == ("f16", [576, 49152]) and t["blk.29.attn_k.weight"] == ("f16", [576, 192])
assert t["blk.0.attn_q.weight"] == ("f16", [576, 576]) and t["blk.29.ffn_down.weight"] == ("f16", [1536, 576])
assert t["blk.3.ffn_norm.weight"] == ("f32", [576]) and t["output_norm.weight"] == ("f32", [576])
assert d["n_params"] == 134515008, d["n_params"]  # SmolLM2-135M's published parameter count
PYEOF
}

t_quantized_type_choices() {
  "$SMOL" make-model --arch tiny --type q4_k_m -o "$TMP/q.gguf" 2> /dev/null
  "$SMOL" inspect "$TMP/q.gguf" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin); t = {x["name"]: x["type"] for x in d["tensors"]}
assert d["metadata"]["general.file_type"]["value"] == 15
# rows of 64 or 192 are not whole 256-blocks: q4_K falls back to q5_0 and q6_K to q8_0, as llama.cpp does
assert t["output.weight"] == "q8_0" and t["token_embd.weight"] == "q5_0", t
# use_more_bits(i, 2): i < 2/8 or i >= 7*2/8 or (i - 2/8) % 3 == 2, so layer 1 only
assert t["blk.1.attn_v.weight"] == "q8_0" and t["blk.1.ffn_down.weight"] == "q8_0", t
assert t["blk.0.attn_v.weight"] == "q5_0" and t["blk.0.ffn_down.weight"] == "q5_0", t
assert t["blk.0.attn_q.weight"] == "q5_0" and t["blk.0.attn_norm.weight"] == "f32", t
'
  "$SMOL" make-model --arch tiny --type q4_0 -o "$TMP/q.gguf" 2> /dev/null
  "$SMOL" inspect "$TMP/q.gguf" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert all(x["type"] == ("q4_0" if len(x["shape"]) == 2 else "f32") for x in d["tensors"])
assert d["metadata"]["general.file_type"]["value"] == 2'
}

t_unknown_arch_lists_known() {
  set +e; "$SMOL" make-model --arch gpt5 -o "$TMP/x.gguf" 2> "$TMP/err"; rc=$?; set -e
  [ $rc -eq 2 ] || fail "exit $rc"
  grep -q "unknown --arch 'gpt5'; known architectures: smollm2-135m, smollm2-360m, smollm2-1.7b, llama3.2-1b, llama3.2-3b, qwen2.5-0.5b, qwen2.5-1.5b, tiny" "$TMP/err" || fail "$(cat "$TMP/err")"
  [ ! -e "$TMP/x.gguf" ] || fail "wrote a file"
}

t_bad_flags_exit_2() {
  set +e
  "$SMOL" make-model --arch tiny 2> /dev/null; a=$?
  "$SMOL" make-model --arch tiny --type q9 -o "$TMP/x.gguf" 2> /dev/null; b=$?
  "$SMOL" make-model --arch tiny --seed -1 -o "$TMP/x.gguf" 2> /dev/null; c=$?
  "$SMOL" make-model --arch tiny --bogus -o "$TMP/x.gguf" 2> /dev/null; d=$?
  set -e
  [ "$a$b$c$d" = 2222 ] || fail "exits $a $b $c $d"
}

t_tokenizer_errors_exit_1() {
  set +e
  "$SMOL" make-model --arch tiny --tokenizer "$TOKDIR/tokenizer.json" -o "$TMP/x.gguf" 2> "$TMP/err"; a=$?
  "$SMOL" make-model --arch tiny --tokenizer "$TMP/none.json" -o "$TMP/x.gguf" 2> "$TMP/err2"; b=$?
  set -e
  [ $a -eq 1 ] && grep -q "^smol make-model: .*tokenizer.json: .*outside the architecture's vocab of 512" "$TMP/err" || fail "$a: $(cat "$TMP/err")"
  [ $b -eq 1 ] && grep -q "none.json: cannot open" "$TMP/err2" || fail "$b: $(cat "$TMP/err2")"
  [ ! -e "$TMP/x.gguf" ] || fail "wrote a file"
}

t_ctx_flag() {
  "$SMOL" make-model --arch tiny --ctx 2048 -o "$TMP/c.gguf" 2> /dev/null
  "$SMOL" inspect "$TMP/c.gguf" | grep -Eq 'llama.context_length = 2048$' || fail "context_length"
}

# Small tokenizer.json files (ids < 512, so the tiny model can hold them) built from the Llama 3
# and SmolLM2 files: pre_tokenizer detection, token types, [PADn], merges as pairs, add_bos,
# chat templates given as a list.
t_tokenizer_variants() {
  "$PY" - "$SMOL_TEST_DATA/tokenizers" "$TMP" <<'PYEOF'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
l3 = json.load(open(src + "/llama3-8b-instruct-hf/tokenizer.json"))
def small(base, pre, post, merges_as_pairs):
    vocab = {t: i for t, i in base["model"]["vocab"].items() if i < 400}
    merges = [m if isinstance(m, str) else " ".join(m) for m in base["model"]["merges"]][:50]
    if merges_as_pairs: merges = [m.split(" ", 1) for m in merges]
    added = [{"id": 500, "content": "<|begin_of_text|>", "special": True},
             {"id": 501, "content": "<|eot_id|>", "special": True},
             {"id": 502, "content": "<custom>", "special": False}]
    return {"model": {"type": "BPE", "vocab": vocab, "merges": merges}, "added_tokens": added,
            "pre_tokenizer": pre, "post_processor": post}
qwen_re = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
cases = {
    "llama3": (l3["pre_tokenizer"], l3["post_processor"], True, {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>"}, "chat_template": [{"name": "default", "template": "T-default"}, {"name": "tool_use", "template": "T-tools"}]}),
    "qwen2": ({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": qwen_re}, "behavior": "Isolated", "invert": False}, {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}, None, False, {"eos_token": "<|eot_id|>", "add_bos_token": False}),
    "gpt2": ({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}, None, False, None),
    "other": ({"type": "Whitespace"}, None, False, None),
}
for name, (pre, post, pairs, cfg) in cases.items():
    os.makedirs(f"{out}/{name}", exist_ok=True)
    json.dump(small(l3, pre, post, pairs), open(f"{out}/{name}/tokenizer.json", "w"))
    if cfg: json.dump(cfg, open(f"{out}/{name}/tokenizer_config.json", "w"))
PYEOF
  for c in llama3 qwen2 gpt2 other; do
    "$SMOL" make-model --arch tiny --tokenizer "$TMP/$c/tokenizer.json" -o "$TMP/$c.gguf" 2> "$TMP/$c.log"
    "$SMOL" inspect "$TMP/$c.gguf" --json --full > "$TMP/$c.json"
  done
  grep -q 'unrecognised pre_tokenizer' "$TMP/other.log" || fail "no warning for an unknown pre_tokenizer"
  "$PY" - "$TMP" <<'PYEOF'
import json, sys
d = {c: {k: v["value"] for k, v in json.load(open(f"{sys.argv[1]}/{c}.json"))["metadata"].items()} for c in ("llama3", "qwen2", "gpt2", "other")}
pre = {c: m["tokenizer.ggml.pre"] for c, m in d.items()}
assert pre == {"llama3": "llama-bpe", "qwen2": "qwen2", "gpt2": "gpt-2", "other": "default"}, pre
m = d["llama3"]
assert m["tokenizer.ggml.add_bos_token"] is True, "Llama 3 post-processor adds BOS"
assert m["tokenizer.ggml.bos_token_id"] == 500 and m["tokenizer.ggml.eos_token_id"] == 501
assert m["tokenizer.chat_template"] == "T-default"
t, ty = m["tokenizer.ggml.tokens"], m["tokenizer.ggml.token_type"]
assert t[500:503] == ["<|begin_of_text|>", "<|eot_id|>", "<custom>"] and ty[500:503] == [3, 3, 4], (t[500:503], ty[500:503])
assert t[450] == "[PAD450]" and ty[450] == 5 and ty[0] == 1
assert all(" " in x for x in m["tokenizer.ggml.merges"]) and len(m["tokenizer.ggml.merges"]) == 50
assert d["qwen2"]["tokenizer.ggml.add_bos_token"] is False and "tokenizer.ggml.bos_token_id" not in d["qwen2"]
assert d["qwen2"]["tokenizer.ggml.merges"] == m["tokenizer.ggml.merges"], "pair and string merges differ"
assert "tokenizer.chat_template" not in d["gpt2"]
PYEOF
}

run_tests
