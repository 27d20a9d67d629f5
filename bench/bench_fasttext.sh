#!/usr/bin/env bash
# bench_fasttext.sh: smol classify vs Debian fastText 0.9.2 (/usr/bin/fasttext) on the same data,
# flags and machine, in one run:
#   - prediction throughput (MB/s) over >= 100 MB of text built in /tmp by repeating the cooking
#     questions and War and Peace, with lid.176.ftz and the cooking model (.bin), and
#   - supervised training time on cooking.train.txt with the flags of cooking_small.bin.
# fastText's predict is single-threaded; smol is measured with 1 thread and with all cores.
# Usage: bash bench/bench_fasttext.sh [MB]   (default 100; SMOL_TEST_DATA as in tests/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
SMOL="${SMOL:-$PWD/build/smol}"
MB="${1:-100}"
FT="$DATA/fasttext"
WORK=$(mktemp -d /tmp/bench_fasttext.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# the text: cooking questions (labels stripped) and War and Peace lines, repeated to MB megabytes
sed 's/__label__[^ ]* //g' "$FT/cooking/cooking.train.txt" > "$WORK/unit.txt"
grep -v '^[[:space:]]*$' "$DATA/corpora/war-and-peace.txt" >> "$WORK/unit.txt"
unit=$(stat -c %s "$WORK/unit.txt")
reps=$(( (MB * 1000000 + unit - 1) / unit ))
for _ in $(seq "$reps"); do cat "$WORK/unit.txt"; done > "$WORK/text.txt"
bytes=$(stat -c %s "$WORK/text.txt")
lines=$(wc -l < "$WORK/text.txt")

secs() {  # secs CMD...: wall seconds of one run, output discarded
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}'
}
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN {printf "%.1f", b / 1e6 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

cores=$(nproc)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores; $(date -u +%Y-%m-%d)"
echo "text: $((bytes / 1000000)) MB, $lines lines"
printf '%-22s %10s %10s %12s %10s\n' model fastText smol-1t "smol-${cores}t" ratio
for model in "$FT/lid.176.ftz" "$FT/cooking/cooking_small.bin"; do
  sf=$(secs fasttext predict-prob "$model" "$WORK/text.txt" 1)
  s1=$(SMOL_THREADS=1 secs "$SMOL" classify predict-prob "$model" "$WORK/text.txt" 1)
  sn=$(SMOL_THREADS=$cores secs "$SMOL" classify predict-prob "$model" "$WORK/text.txt" 1)
  printf '%-22s %7s MB/s %7s MB/s %9s MB/s %9sx\n' "$(basename "$model")" "$(mbps "$sf")" "$(mbps "$s1")" "$(mbps "$sn")" \
    "$(ratio "$sf" "$sn")"
  echo "  (1 thread: $(ratio "$sf" "$s1")x fastText)"
done

flags="-lr 1.0 -epoch 25 -wordNgrams 2 -bucket 20000 -dim 16 -loss hs -thread 1 -seed 42"
tf=$(secs fasttext supervised -input "$FT/cooking/cooking.train.txt" -output "$WORK/ft" $flags -verbose 0)
ts=$(secs "$SMOL" classify supervised -input "$FT/cooking/cooking.train.txt" -output "$WORK/smol" $flags -verbose 0)
pf=$(fasttext test "$WORK/ft.bin" "$FT/cooking/cooking.valid.txt" | awk '$1 == "P@1" {print $2}')
ps=$("$SMOL" classify test "$WORK/smol.bin" "$FT/cooking/cooking.valid.txt" | awk '$1 == "P@1" {print $2}')
echo "training cooking.train ($flags): fastText ${tf}s (P@1 $pf), smol ${ts}s (P@1 $ps), smol/fastText time $(ratio "$ts" "$tf")"
