# test_bench.sh: `smol bench`: the JSON rows (llama-bench's field names, one per test and thread
# count, sane figures), the markdown table, peak memory of a 135M Q8_0 model at a 2k context, and
# bad input.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

t_json_rows_and_fields() {
  "$SMOL" make-model --arch tiny --seed 5 -o "$TMP/tiny.gguf" 2> /dev/null
  "$SMOL" bench -m "$TMP/tiny.gguf" -t 1,2 -p 32 -n 8 -r 3 --json > "$TMP/b.json" 2> "$TMP/err"
  grep -q 'pp32' "$TMP/err" || fail "no progress on stderr: $(cat "$TMP/err")"
  "$PY" - "$TMP/b.json" "$TMP/tiny.gguf" <<'PYEOF'
import json, os, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 4, f"{len(rows)} rows, want 4 (pp and tg at 1 and 2 threads)"
want = [(1, 32, 0), (1, 0, 8), (2, 32, 0), (2, 0, 8)]
keys = ["build_commit", "build_number", "cpu_info", "backends", "model_filename", "model_type", "model_size",
        "model_n_params", "n_batch", "n_ubatch", "n_threads", "type_k", "type_v", "n_prompt", "n_gen", "n_depth",
        "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts"]
# the tiny architecture: 2 layers, embd 64, ff 192, 4 heads / 2 kv heads of 16, vocab 512, untied output
n_params = 2 * 512 * 64 + 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 64 * 192 + 2 * 64) + 64
for r, (t, p, n) in zip(rows, want):
    missing = [k for k in keys if k not in r]
    assert not missing, f"missing fields {missing}"
    assert (r["n_threads"], r["n_prompt"], r["n_gen"]) == (t, p, n), r
    assert r["model_filename"] == sys.argv[2] and r["backends"] == "CPU" and r["n_depth"] == 0
    assert r["model_type"] == "llama 164K all F32", r["model_type"]
    assert r["model_n_params"] == n_params, (r["model_n_params"], n_params)
    assert r["model_size"] == 4 * n_params and r["model_size"] < os.path.getsize(sys.argv[2]), r["model_size"]
    assert len(r["samples_ns"]) == 3 and len(r["samples_ts"]) == 3, r
    ntok = p + n
    for ns, ts in zip(r["samples_ns"], r["samples_ts"]):
        assert ns > 0 and abs(ts - ntok * 1e9 / ns) <= 1e-4 * ts, (ns, ts)
    avg = sum(r["samples_ns"]) / 3
    assert abs(r["avg_ns"] - avg) <= 1, (r["avg_ns"], avg)
    avg_ts = sum(r["samples_ts"]) / 3
    assert abs(r["avg_ts"] - avg_ts) <= 1e-3 * avg_ts and r["stddev_ts"] >= 0, r
    assert 10 < r["avg_ts"] < 1e7, r["avg_ts"]
    assert r["test_time"].endswith("Z") and r["test_time"][4] == "-", r["test_time"]
PYEOF
}

t_markdown_table() {
  "$SMOL" make-model --arch tiny -o "$TMP/tiny.gguf" 2> /dev/null
  "$SMOL" bench -m "$TMP/tiny.gguf" -t 1 -p 16 -n 4 -r 2 > "$TMP/out" 2> /dev/null
  head -1 "$TMP/out" | grep -Eq '^\| model +\| +size \| +params \| backend +\| threads \| +test \| +t/s \|$' || fail "header: $(head -1 "$TMP/out")"
  grep -Eq '^\| llama 164K all F32 +\| +0\.63 MiB \| +0\.16 M \| CPU +\| +1 \| +pp16 \| +[0-9.]+ ± [0-9.]+ \|$' "$TMP/out" || fail "$(cat "$TMP/out")"
  grep -Eq '\| +tg4 \| +[0-9.]+ ± [0-9.]+ \|$' "$TMP/out" || fail "$(cat "$TMP/out")"
  [ "$(grep -c '^| llama' "$TMP/out")" = 2 ] || fail "$(cat "$TMP/out")"
}

t_bad_input() {
  local rc=0
  "$SMOL" bench -m x.gguf --frobnicate 2> "$TMP/err" || rc=$?
  [ $rc -eq 2 ] && grep -q "unexpected argument '--frobnicate'" "$TMP/err" || fail "rc $rc: $(cat "$TMP/err")"
  rc=0; "$SMOL" bench -m x.gguf -t 0 2> "$TMP/err" || rc=$?
  [ $rc -eq 2 ] || fail "-t 0: rc $rc"
  rc=0; "$SMOL" bench -m x.gguf -p 1,a 2> "$TMP/err" || rc=$?
  [ $rc -eq 2 ] && grep -q -- "-p expects an integer" "$TMP/err" || fail "-p 1,a: rc $rc: $(cat "$TMP/err")"
  rc=0; "$SMOL" bench 2> "$TMP/err" || rc=$?
  [ $rc -eq 2 ] && grep -q "missing -m" "$TMP/err" || fail "no -m: rc $rc"
  rc=0; "$SMOL" bench -m "$TMP/none.gguf" -p 4 -n 1 2> "$TMP/err" || rc=$?
  [ $rc -eq 1 ] && grep -q "^smol bench: .*none.gguf" "$TMP/err" || fail "missing file: rc $rc: $(cat "$TMP/err")"
}

# peak_rss_kb CMD...: the peak resident memory (KB) of CMD, from the kernel's rusage of the child.
peak_rss_kb() {
  "$PY" -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

# A SmolLM2-135M-shaped Q8_0 model (143 MB), kept in $TMPDIR between runs as test_transformer keeps its f32 twin.
t_peak_memory_135m_q8_0_2k_context() {
  local m="${TMPDIR:-/tmp}/smol-test-cache-smollm2-135m-q8_0-seed42.gguf"
  if [ ! -s "$m" ]; then
    "$SMOL" make-model --arch smollm2-135m --type q8_0 --seed 42 -o "$m" 2> /dev/null
  fi
  local gen bench
  gen=$(peak_rss_kb "$SMOL" generate -m "$m" --ctx 2048 -n 16 -p "Hello there" -t 2)
  bench=$(peak_rss_kb "$SMOL" bench -m "$m" -t 2 -p 64 -n 16 -r 1)
  echo "peak RSS: generate --ctx 2048 -n 16: $gen KB; bench -p 64 -n 16: $bench KB"
  [ "$gen" -lt 250000 ] || fail "smol generate --ctx 2048 peaked at $gen KB (limit 250000)"
  [ "$bench" -lt 250000 ] || fail "smol bench peaked at $bench KB (limit 250000)"
  [ "$gen" -gt 140000 ] || fail "peak $gen KB is below the 143 MB of weights: not measured"
}

run_tests
