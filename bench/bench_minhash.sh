#!/usr/bin/env bash
# bench_minhash.sh: MinHash dedup throughput. A JSONL corpus of MB megabytes of text (War and
# Peace paragraphs and TinyStories stories, repeated, with one word of each repeat changed so
# the copies are near-duplicates) is built in /tmp as 4 files; then, by CPU time (user + sys,
# so other load on the machine matters less than for wall time), the best of RUNS runs of:
#   - stage 1 (signatures) with the AVX-512 path and with SMOL_CPU=scalar, one thread: MB/s/core
#   - stages 2-4 (buckets, clusters, filter), and `minhash all -t N` wall time
#   - the same signatures in Python with numpy + hashlib as datatrove computes them
#     (simplify_text, SHA-1 64-bit shingles, numpy permutations; NLTK left out) on a part.
# Usage: bash bench/bench_minhash.sh [MB] [RUNS]   (default 50 MB, 2 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
SMOL="${SMOL:-$PWD/build/smol}"
PY=/usr/bin/python3
MB="${1:-50}"
RUNS="${2:-2}"
WORK=$(mktemp -d /tmp/bench_minhash.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/in"
$PY - "$DATA/corpora" "$WORK/in" "$MB" <<'PYEOF'
import json, random, sys
d, out, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
wp = [p.replace("\n", " ") for p in open(d + "/war-and-peace.txt", encoding="utf-8").read().split("\n\n") if p.strip()]
ts = [s.strip() for s in open(d + "/cs336-fixtures/tinystories_sample.txt", encoding="utf-8").read().split("<|endoftext|>") if s.strip()]
rng = random.Random(1)
files = [open(f"{out}/part{i}.jsonl", "w") for i in range(4)]
n = k = rep = 0
while n < mb * 1_000_000:
    for t in wp + ts:
        w = t.split()
        if rep and w: w[rng.randrange(len(w))] = f"r{rep}"
        t = " ".join(w)
        files[k % 4].write(json.dumps({"id": k, "text": t}) + "\n")
        n += len(t.encode()); k += 1
        if n >= mb * 1_000_000: break
    rep += 1
print(f"corpus: {n / 1e6:.1f} MB of text, {k} documents, 4 files")
PYEOF

cpu() {  # cpu CMD...: user+sys seconds of one run (the best of RUNS), output to $WORK/last.txt
  local best="" t
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/w" "$WORK/o"
    /usr/bin/time -f "%U %S" -o "$WORK/t" "$@" > "$WORK/last.txt" 2> /dev/null
    t=$(awk '{printf "%.3f", $1 + $2}' "$WORK/t")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / 1e6 / s}'; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); $(date -u +%Y-%m-%d)"
s=$(cpu "$SMOL" dedup minhash signatures "$WORK/in" --work "$WORK/w" -q)
bytes=$(awk -F'\t' '$1 == "bytes" {print $2}' "$WORK/last.txt")
echo "signatures (AVX-512):  $s s CPU, $(mbps "$bytes" "$s") MB/s per core"
s2=$(SMOL_CPU=scalar cpu "$SMOL" dedup minhash signatures "$WORK/in" --work "$WORK/w" -q)
echo "signatures (scalar):   $s2 s CPU, $(mbps "$bytes" "$s2") MB/s per core"
"$SMOL" dedup minhash signatures "$WORK/in" --work "$WORK/ws" -q > /dev/null
for stage in buckets clusters filter; do
  best=""
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/w" "$WORK/o"; cp -r "$WORK/ws" "$WORK/w"
    /usr/bin/time -f "%U %S" -o "$WORK/t" "$SMOL" dedup minhash $stage "$WORK/in" --work "$WORK/w" -o "$WORK/o" -q > "$WORK/last.txt"
    t=$(awk '{printf "%.3f", $1 + $2}' "$WORK/t")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$stage: $best s CPU"
  "$SMOL" dedup minhash $stage "$WORK/in" --work "$WORK/ws" -o "$WORK/os" -q >> "$WORK/stage.txt"
done
awk -F'\t' '$1 ~ /^(pairs|clusters|to_remove|kept)$/ && $2 > 0 && !seen[$1]++ {printf "%s %s  ", $1, $2} END {print ""}' "$WORK/stage.txt"
t0=$(date +%s.%N)
"$SMOL" dedup minhash all "$WORK/in" -o "$WORK/oa" -t "$(nproc)" -q > /dev/null
t1=$(date +%s.%N)
echo "all stages, -t $(nproc): $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s wall"

# the datatrove recipe in Python on the first 5 MB of part0
head -c 5000000 "$WORK/in/part0.jsonl" | head -n -1 > "$WORK/py.jsonl"
$PY - "$WORK/py.jsonl" <<'PYEOF'
import hashlib, json, re, struct, sys, time, unicodedata
import numpy as np
PUNCT = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b))))
TABLE = str.maketrans("", "", PUNCT)
def simplify(t):
    t = re.sub(r"\s+", " ", t.lower().strip()).translate(TABLE)
    t = "".join(c for c in unicodedata.normalize("NFD", t) if unicodedata.category(c) != "Mn")
    return re.sub(r"\d+", "0", t).strip()
P = np.uint64((1 << 61) - 1)
gen = np.random.RandomState(1)
a = gen.randint(1, P, dtype=np.uint64, size=(1, 112)); b = gen.randint(0, P, dtype=np.uint64, size=(1, 112))
docs = [json.loads(l)["text"] for l in open(sys.argv[1])]
n = sum(len(d.encode()) for d in docs)
t0 = time.process_time()
with np.errstate(over="ignore"):
    for d in docs:
        w = simplify(d).split()
        sh = np.fromiter((struct.unpack("<Q", hashlib.sha1(" ".join(w[j:j + 5]).encode()).digest()[:8])[0]
                          for j in range(len(w) - 4)), dtype=np.uint64).reshape(-1, 1)
        if sh.size: np.min((sh * a + b) % P, axis=0)
t = time.process_time() - t0
print(f"python numpy+hashlib (datatrove's recipe without NLTK): {t:.2f} s CPU for {n / 1e6:.1f} MB, {n / 1e6 / t:.2f} MB/s per core")
PYEOF
