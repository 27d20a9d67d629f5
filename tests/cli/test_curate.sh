# test_curate.sh: smol curate: outputs against a Python oracle (min_length, exact dedup,
# sample), crash safety (SIGKILL mid-run, rerun, byte-for-byte equal to a clean run, stats
# included), two ranks at once, the FineWeb recipe, and usage/config errors.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
LID=$SMOL_TEST_DATA/fasttext/lid.176.ftz

# make_corpus DIR: 8 gzip JSONL shards of War and Peace (4 paragraphs per document, 60 documents
# repeated, a few short ones), about 3 MB of text.
make_corpus() {
  mkdir -p "$1"
  $PY - "$SMOL_TEST_DATA/corpora/war-and-peace.txt" "$1" <<'EOF'
import gzip, json, sys
t = open(sys.argv[1], encoding='utf-8').read()
paras = [p.strip() for p in t.split('\n\n') if p.strip()]
docs = ['\n'.join(paras[i:i + 4]) for i in range(0, len(paras), 4)]
docs += docs[100:160] + ['short one', 'tiny']
for f in range(8):
    with gzip.open(f'{sys.argv[2]}/part{f}.jsonl.gz', 'wt', encoding='utf-8') as o:
        for j, d in enumerate(docs[f::8]):
            o.write(json.dumps({'id': f'{f}-{j}', 'text': d, 'url': f'https://example.org/wp/{f}/{j}'}) + '\n')
EOF
}

make_corpus "$TMP/c"

# same_output A B: every file outside .smol is identical (names and bytes)
same_output() {
  diff -r -x .smol "$1" "$2" || { echo "outputs differ: $1 $2"; return 1; }
}

t_min_length_dedup_sample_match_python() {
  cat > "$TMP/p.toml" <<EOF
[input]
paths = ["$TMP/c/*.jsonl.gz"]
[output]
dir = "$TMP/out"
compression = "gz"
[[stage]]
type = "filter"
name = "min_length"
[stage.options]
min_chars = 300
[[stage]]
type = "dedup_exact"
[[stage]]
type = "filter"
name = "sample"
[stage.options]
rate = 0.7
seed = 3
EOF
  "$SMOL" curate "$TMP/p.toml" --quiet > "$TMP/stdout.txt"
  grep -q "stats: $TMP/out/stats.json" "$TMP/stdout.txt"
  $PY - "$TMP/c" "$TMP/out" <<'EOF'
import glob, gzip, json, sys
M = (1 << 64) - 1
def keep_sample(text, seed, rate):   # FNV-1a 64 over the UTF-8 bytes, seeded, then splitmix64's finaliser
    h = 1469598103934665603 ^ ((seed * 0x9E3779B97F4A7C15) & M)
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) & M
    h ^= h >> 30; h = (h * 0xBF58476D1CE4E5B9) & M
    h ^= h >> 27; h = (h * 0x94D049BB133111EB) & M
    h ^= h >> 31
    return (h >> 11) / 2.0 ** 53 < rate
files = sorted(glob.glob(sys.argv[1] + '/*.jsonl.gz'))
seen, want, total, short, dups = set(), [], 0, 0, 0
for i, f in enumerate(files):
    for line in gzip.open(f, 'rt', encoding='utf-8'):
        d = json.loads(line); total += 1
        if len(d['text']) < 300: short += 1; continue
        if d['text'] in seen: dups += 1; continue
        seen.add(d['text'])
        if keep_sample(d['text'], 3, 0.7): want.append((i, d['id']))
got = []
for i in range(len(files)):
    for line in gzip.open(f'{sys.argv[2]}/{i:05d}.jsonl.gz', 'rt', encoding='utf-8'):
        got.append((i, json.loads(line)['id']))
for k, (a, b) in enumerate(zip(got, want)):
    if a != b: sys.exit(f'document {k}: got {a}, expected {b}')
if len(got) != len(want): sys.exit(f'{len(got)} documents, expected {len(want)}')
st = {e['name']: e['stats'] for e in json.load(open(sys.argv[2] + '/stats.json'))}
checks = [(st['reader']['documents'], total), (st['min_length']['dropped'], short),
          (st['dedup_exact']['dropped'], dups), (st['writer']['documents'], len(want)),
          (st['sample']['forwarded'], len(want))]
for k, (a, b) in enumerate(checks):
    if a != b: sys.exit(f'stats check {k}: {a} != {b}')
ex = sum(1 for f in glob.glob(sys.argv[2] + '/excluded/01_min_length/*.gz') for _ in gzip.open(f))
if ex != short: sys.exit(f'{ex} excluded by min_length, expected {short}')
print(f'{len(got)} of {total} documents kept, as computed in Python')
EOF
}

# The pipeline of the crash test: FineWeb's filters, exact and MinHash dedup, PII.
crash_pipeline() {  # crash_pipeline OUT
  cat <<EOF
[input]
paths = ["$TMP/c/*.jsonl.gz"]
[output]
dir = "$1"
[[stage]]
type = "filter"
name = "min_length"
[stage.options]
min_chars = 200
[[stage]]
type = "filter"
name = "language"
[stage.options]
model = "$LID"
[[stage]]
type = "filter"
name = "gopher_repetition"
[[stage]]
type = "filter"
name = "gopher_quality"
[[stage]]
type = "filter"
name = "c4_quality"
[stage.options]
filter_no_terminal_punct = false
[[stage]]
type = "filter"
name = "fineweb_quality"
[[stage]]
type = "dedup_exact"
[[stage]]
type = "dedup_minhash"
[[stage]]
type = "formatter"
name = "pii"
EOF
}

# Kill -9 the run when the first shard's marker appears, then at random moments; rerun to the
# end; the output (and stats.json) must equal a clean run's byte for byte.
t_crash_safety_sigkill_and_rerun() {
  crash_pipeline "$TMP/ref" > "$TMP/ref.toml"
  crash_pipeline "$TMP/crash" > "$TMP/crash.toml"
  "$SMOL" curate "$TMP/ref.toml" --quiet > /dev/null
  test -s "$TMP/ref/stats.json"
  "$SMOL" curate "$TMP/crash.toml" --quiet > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 2000); do
    [ -n "$(ls "$TMP/crash/.smol/completions/p0" 2>/dev/null)" ] && break
    sleep 0.005
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "killed after $(ls "$TMP/crash/.smol/completions/p0" | wc -l) first-pass markers"
  kills=1
  for delay in 0.3 0.7 0.15 1.1 0.5; do
    "$SMOL" curate "$TMP/crash.toml" --quiet > /dev/null 2>&1 &
    pid=$!
    sleep $delay
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null || true
  done
  echo "killed $kills runs"
  "$SMOL" curate "$TMP/crash.toml" --quiet > "$TMP/last.txt"
  cat "$TMP/last.txt"
  same_output "$TMP/ref" "$TMP/crash"
  cmp "$TMP/ref/stats.json" "$TMP/crash/stats.json"
  ! find "$TMP/crash" -path '*/.smol' -prune -o -name '*.tmp.*' -print | grep .
}

t_two_ranks_at_once_equal_one_run() {
  crash_pipeline "$TMP/one" > "$TMP/one.toml"
  crash_pipeline "$TMP/two" > "$TMP/two.toml"
  "$SMOL" curate "$TMP/one.toml" --quiet > /dev/null
  "$SMOL" curate "$TMP/two.toml" --quiet --rank 1 --world-size 2 > "$TMP/r1.txt" &
  pid=$!
  "$SMOL" curate "$TMP/two.toml" --quiet --rank 0 --world-size 2 -t 2 > "$TMP/r0.txt"
  wait $pid
  same_output "$TMP/one" "$TMP/two"
  cmp "$TMP/one/stats.json" "$TMP/two/stats.json"
}

t_fineweb_recipe_runs() {
  "$SMOL" curate --recipe fineweb --lid-model "$LID" "$TMP"/c/*.jsonl.gz -o "$TMP/fw" --print > "$TMP/fw.toml"
  grep -q 'name = "gopher_quality"' "$TMP/fw.toml"
  "$SMOL" curate --recipe fineweb --lid-model "$LID" "$TMP"/c/*.jsonl.gz -o "$TMP/fw" -t 2 --quiet > "$TMP/out.txt"
  $PY - "$TMP/fw/stats.json" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
names = [e['name'] for e in st]
want = ['reader', 'url', 'language', 'gopher_repetition', 'gopher_quality', 'c4_quality', 'fineweb_quality',
        'dedup_minhash', 'pii', 'writer']
if names != want: sys.exit(f'stages {names}')
prev = st[0]['stats']['documents']
for e in st[1:-1]:
    s = e['stats']
    if s['total'] != prev or s['forwarded'] + s['dropped'] != s['total']: sys.exit(f'counts do not chain at {e["name"]}: {s}')
    prev = s['forwarded']
if st[-1]['stats']['documents'] != prev: sys.exit('writer count')
print(f"{st[0]['stats']['documents']} read, {prev} kept")
EOF
}

# Parquet shards (four of the Arrow-written files, the same 500 rows, 100 with a null text): nulls skipped and
# counted, min_length, exact dedup keeping the first file's copies; checked against rows.jsonl.
t_parquet_inputs_skip_and_dedup() {
  pq="$(cd "$(dirname "$0")/../data/parquet" && pwd)"
  cat > "$TMP/pq.toml" <<EOF
[input]
paths = ["$pq/arrow_gzip_v1_plain.parquet", "$pq/arrow_none_v1_dict.parquet", "$pq/arrow_snappy_v1_dict.parquet",
         "$pq/arrow_zstd_v2_dict.parquet"]
on_error = "skip"
[output]
dir = "$TMP/pq"
compression = "none"
[[stage]]
type = "filter"
name = "min_length"
[stage.options]
min_chars = 10
[[stage]]
type = "dedup_exact"
EOF
  "$SMOL" curate "$TMP/pq.toml" -t 2 --quiet > /dev/null 2> "$TMP/pq.err"
  $PY - "$pq/rows.jsonl" "$TMP/pq" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
seen, want = set(), []
for r in rows:
    t = r['text']
    if isinstance(t, str) and len(t) >= 10 and t not in seen:
        seen.add(t); want.append(r['id'])
got = [json.loads(l)['id'] for l in open(sys.argv[2] + '/00000.jsonl')]
if got != want:
    k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    sys.exit(f'file 0: {len(got)} ids, expected {len(want)}; first difference at document {k}')
for i in range(1, 4):
    if open(f'{sys.argv[2]}/{i:05d}.jsonl').read(): sys.exit(f'file {i} should be empty (all duplicates)')
st = {e['name']: e['stats'] for e in json.load(open(sys.argv[2] + '/stats.json'))}
nulls = sum(1 for r in rows if not isinstance(r['text'], str))
if st['reader']['skipped_errors'] != 4 * nulls or st['reader']['documents'] != 4 * (len(rows) - nulls):
    sys.exit(f"reader stats {st['reader']}")
print(f'{len(want)} documents kept of {4 * len(rows)} rows')
EOF
}

t_usage_and_config_errors() {
  rc=0; "$SMOL" curate 2> "$TMP/e.txt" || rc=$?
  [ $rc -eq 2 ] && grep -q 'a pipeline file is needed' "$TMP/e.txt"
  rc=0; "$SMOL" curate --bogus x.toml 2> "$TMP/e.txt" || rc=$?
  [ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$TMP/e.txt"
  rc=0; "$SMOL" curate --recipe fineweb in.jsonl 2> "$TMP/e.txt" || rc=$?
  [ $rc -eq 2 ] && grep -q 'needs -o' "$TMP/e.txt"
  rc=0; "$SMOL" curate x.toml --rank 2 --world-size 2 2> "$TMP/e.txt" || rc=$?
  [ $rc -eq 2 ]
  printf '[input]\npaths = ["%s"]\n[output]\ndir = "%s/o"\n[[stage]]\ntype = "filter"\nname = "gopher_qualty"\n' \
    "$SMOL_TEST_DATA/corpora/war-and-peace.txt" "$TMP" > "$TMP/bad.toml"
  rc=0; "$SMOL" curate "$TMP/bad.toml" 2> "$TMP/e.txt" || rc=$?
  cat "$TMP/e.txt"
  [ $rc -eq 1 ] && grep -q "^smol curate: $TMP/bad.toml:5: stage 'gopher_qualty'" "$TMP/e.txt"
  "$SMOL" curate --help | grep -q 'example'
}

run_tests
