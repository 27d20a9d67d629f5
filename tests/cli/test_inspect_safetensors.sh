# test_inspect_safetensors.sh: `smol inspect` on safetensors input (a file, a sharded index, a
# folder): the tensors listed must equal what a plain Python read of the headers finds.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HF="$SMOL_TEST_DATA/hf-golden"

# oracle_check JSON_OUTPUT FILES...: the tensors of the headers of FILES vs smol's --json output
oracle_check() {
  "$PY" - "$@" <<'PYEOF'
import json, struct, sys
got = json.load(open(sys.argv[1]))
want = []
for path in sys.argv[2:]:
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    for name, t in json.loads(b[8:8 + n]).items():
        if name != "__metadata__":
            want.append((name, t["dtype"], t["shape"], t["data_offsets"][1] - t["data_offsets"][0]))
have = [(t["name"], t["dtype"], t["shape"], t["bytes"]) for t in got["tensors"]]
if sorted(have) != sorted(want):
    for a, b in zip(sorted(have), sorted(want)):
        if a != b:
            sys.exit("first difference: smol %s, header %s" % (a, b))
    sys.exit("smol lists %d tensors, the headers %d" % (len(have), len(want)))
if got["tensor_count"] != len(want) or got["tensor_bytes"] != sum(w[3] for w in want):
    sys.exit("totals differ")
PYEOF
}

t_single_file_json() {
  "$SMOL" inspect "$HF/qwen2-tiny/model/model.safetensors" --json > "$TMP/out.json"
  oracle_check "$TMP/out.json" "$HF/qwen2-tiny/model/model.safetensors"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="safetensors" and d["metadata"]=={"format":"pt"}, d["metadata"]; c=d["config"]; assert c["architecture"]=="Qwen2ForCausalLM" and c["attention_bias"]==1 and c["rope_theta"]==1e6, c' "$TMP/out.json"
}

t_sharded_index_json() {
  local d="$HF/smollm2-tiny/model-bf16-sharded"
  "$SMOL" inspect "$d/model.safetensors.index.json" --json > "$TMP/out.json"
  oracle_check "$TMP/out.json" "$d"/model-0000*-of-00004.safetensors
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["files"])==4 and d["metadata"]["total_size"]==str(d["tensor_bytes"]), d["metadata"]' "$TMP/out.json"
}

t_folder_text() {
  "$SMOL" inspect "$HF/llama32-tiny/model" > "$TMP/out.txt"
  grep -Eq '^ +[0-9]+  model\.layers\.0\.self_attn\.q_proj\.weight +F32 +\[256, 256\] +262144 +0$' "$TMP/out.txt" || fail "q_proj line"
  grep -q '^format: safetensors, 1 file$' "$TMP/out.txt" || fail "format line"
  grep -q 'rope_type llama3 (factor 32, low 1, high 4, original 8192)' "$TMP/out.txt" || fail "config rope line"
  grep -q '^tensors: 21$' "$TMP/out.txt" || fail "tensor count"
}

t_corrupt_file_exit_1() {
  set +e
  head -c 5000 "$HF/qwen2-tiny/model/model.safetensors" > "$TMP/cut.safetensors"
  "$SMOL" inspect "$TMP/cut.safetensors" > /dev/null 2> "$TMP/err"
  [ $? -eq 1 ] || fail "exit code"
  grep -q "^smol inspect: .*cut.safetensors: tensor '[^']*': data_offsets .* pass the end of the data section" "$TMP/err" || fail "$(cat "$TMP/err")"
}

run_tests
