# test_inspect.sh: `smol inspect` on files written by llama.cpp and by make-model, checked
# against an independent GGUF reader written with Python's struct module; bad input errors.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
STORIES="$SMOL_TEST_DATA/stories260K/stories260K.gguf"
TINYRAND="$SMOL_TEST_DATA/tiny-models/llama-2-tiny-random.gguf"

# py_gguf FILE: a JSON summary of FILE read with struct (version, alignment, keys, types, tensors).
py_gguf() {
  "$PY" - "$1" <<'PYEOF'
import json, struct, sys
data = open(sys.argv[1], 'rb').read()
pos = 0
def take(fmt):
    global pos
    v = struct.unpack_from('<' + fmt, data, pos); pos += struct.calcsize('<' + fmt); return v[0]
def string():
    global pos
    n = take('Q'); s = data[pos:pos + n]; pos += n; return s.decode('utf-8', 'replace')
SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
NAMES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64']
def value(t):
    if t == 8: return string()
    if t == 9:
        at = take('I'); n = take('Q')
        return {'elem_type': NAMES[at], 'len': n, 'items': [value(at) for _ in range(n)]}
    return take(SCALAR[t])
assert data[:4] == b'GGUF'; pos = 4
version = take('I'); n_tensors = take('Q'); n_kv = take('Q')
kv = {}
for _ in range(n_kv):
    k = string(); t = take('I'); kv[k] = {'type': NAMES[t], 'value': value(t)}
align = kv.get('general.alignment', {}).get('value', 32)
BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 6: (32, 22), 7: (32, 24), 3: (32, 20),
         12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}
TYPES = {0: 'f32', 1: 'f16', 2: 'q4_0', 3: 'q4_1', 6: 'q5_0', 7: 'q5_1', 8: 'q8_0', 12: 'q4_K', 13: 'q5_K', 14: 'q6_K', 30: 'bf16'}
tensors = []
for i in range(n_tensors):
    name = string(); nd = take('I'); ne = [take('Q') for _ in range(nd)]; t = take('I'); off = take('Q')
    nel = 1
    for x in ne: nel *= x
    blk, size = BLOCK[t]
    tensors.append({'index': i, 'name': name, 'type': TYPES[t], 'shape': ne, 'offset': off, 'bytes': nel // blk * size})
data_off = (pos + align - 1) // align * align
for t in tensors:
    assert t['offset'] % align == 0 and data_off + t['offset'] + t['bytes'] <= len(data), t['name']
print(json.dumps({'version': version, 'alignment': align, 'data_offset': data_off, 'kv': kv, 'tensors': tensors,
                  'n_params': sum(__import__('math').prod(t['shape']) for t in tensors)}))
PYEOF
}

# compare_with_oracle FILE: smol inspect --json --full agrees with py_gguf on everything.
compare_with_oracle() {
  py_gguf "$1" > "$TMP/oracle.json"
  "$SMOL" inspect "$1" --json --full > "$TMP/smol.json"
  "$PY" - "$TMP/oracle.json" "$TMP/smol.json" <<'PYEOF'
import json, math, sys
o = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
def fail(msg): print('first difference:', msg, file=sys.stderr); sys.exit(1)
for k in ('version', 'alignment', 'data_offset', 'n_params'):
    if o[k] != s[k]: fail(f'{k}: python {o[k]} smol {s[k]}')
if list(o['kv']) != list(s['metadata']): fail(f'keys: {list(o["kv"])[:5]} vs {list(s["metadata"])[:5]}')
def same(a, b):
    if isinstance(a, float) or isinstance(b, float): return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-30)
    return a == b
for k, ov in o['kv'].items():
    sv = s['metadata'][k]
    if ov['type'] != sv['type']: fail(f'{k}: type {ov["type"]} vs {sv["type"]}')
    if ov['type'] == 'array':
        items = [x['items'] if isinstance(x, dict) else x for x in ov['value']['items']]
        if ov['value']['len'] != sv['len'] or ov['value']['elem_type'] != sv['elem_type']: fail(f'{k}: array header')
        for i, (a, b) in enumerate(zip(items, sv['value'])):
            if not same(a, b) if not isinstance(a, list) else a != b: fail(f'{k}[{i}]: {a!r} vs {b!r}')
        if len(sv['value']) != ov['value']['len']: fail(f'{k}: {len(sv["value"])} items shown with --full')
    elif not same(ov['value'], sv['value']): fail(f'{k}: {ov["value"]!r} vs {sv["value"]!r}')
if o['tensors'] != s['tensors']:
    for a, b in zip(o['tensors'], s['tensors']):
        if a != b: fail(f'tensor {a} vs {b}')
    fail('tensor count')
PYEOF
}

t_stories_matches_python_reader() { compare_with_oracle "$STORIES"; }
t_tiny_random_matches_python_reader() { compare_with_oracle "$TINYRAND"; }
t_vocab_file_matches_python_reader() { compare_with_oracle "$SMOL_TEST_DATA/llama.cpp-vocab/ggml-vocab-gpt-2.gguf"; }

t_made_model_matches_python_reader() {
  "$SMOL" make-model --arch tiny --type q8_0 -o "$TMP/tiny.gguf" 2>/dev/null
  compare_with_oracle "$TMP/tiny.gguf"
}

t_text_output() {
  "$SMOL" inspect "$STORIES" > "$TMP/out"
  grep -q '^format: GGUF version 3, alignment 32' "$TMP/out" || fail "header line"
  grep -Eq 'u32 +llama.block_count = 5$' "$TMP/out" || fail "block_count line"
  grep -Eq '\[string\] +tokenizer.ggml.tokens = \[512 items: "<unk>", "<s>", "</s>",' "$TMP/out" || fail "tokens line"
  grep -Eq '^ +0 +token_embd.weight +f32 +\[64, 512\] +0 +131072$' "$TMP/out" || fail "tensor line"
  n=$(py_gguf "$STORIES" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["n_params"])')
  grep -q "^total: $n parameters" "$TMP/out" || fail "total line (want $n parameters)"
}

t_json_truncates_arrays_unless_full() {
  "$SMOL" inspect "$STORIES" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin); t = d["metadata"]["tokenizer.ggml.tokens"]
assert t["len"] == 512 and t["truncated"] is True and len(t["value"]) == 16, t
assert d["tensors"][0]["shape"] == [64, 512] and d["tensor_count"] == len(d["tensors"])'
  "$SMOL" inspect "$STORIES" --json --full | "$PY" -c '
import json, sys
t = json.load(sys.stdin)["metadata"]["tokenizer.ggml.tokens"]
assert t["truncated"] is False and len(t["value"]) == 512'
}

t_missing_file_exit_1() {
  set +e; "$SMOL" inspect "$TMP/none.gguf" 2> "$TMP/err"; rc=$?; set -e
  [ $rc -eq 1 ] || fail "exit $rc"
  grep -q "^smol inspect: $TMP/none.gguf: cannot open" "$TMP/err" || fail "$(cat "$TMP/err")"
}

t_truncated_file_exit_1() {
  head -c 5000 "$STORIES" > "$TMP/cut.gguf"
  set +e; "$SMOL" inspect "$TMP/cut.gguf" > /dev/null 2> "$TMP/err"; rc=$?; set -e
  [ $rc -eq 1 ] || fail "exit $rc"
  grep -q "cut.gguf: truncated in metadata key 0 ('tokenizer.ggml.tokens')" "$TMP/err" || fail "$(cat "$TMP/err")"
}

t_not_gguf_exit_1() {
  echo "hello" > "$TMP/x.txt"
  set +e; "$SMOL" inspect "$TMP/x.txt" 2> "$TMP/err"; rc=$?; set -e
  [ $rc -eq 1 ] && grep -q "not a GGUF file" "$TMP/err" || fail "exit $rc: $(cat "$TMP/err")"
}

t_bad_usage_exit_2() {
  set +e
  "$SMOL" inspect 2> /dev/null; a=$?
  "$SMOL" inspect "$STORIES" --bogus 2> "$TMP/err"; b=$?
  set -e
  [ $a -eq 2 ] && [ $b -eq 2 ] && grep -q "unknown option '--bogus'" "$TMP/err" || fail "exits $a $b"
}

run_tests
