#!/usr/bin/env bash
# bench_scan.sh: `smol scan` beside ripgrep on the same >= 200 MB of text and 50 phrases.
#   smol scan -t 1 / -t 2        every phrase counted separately, words counted too
#   rg -c -i -w -F -f P          matching lines only (one number per file), -j1 / -j2
#   rg -o -i -w -F -f P | tr | sort | uniq -c
#                                per-phrase counts, but competing phrases share matches
#                                (leftmost-longest), so "prince" loses to "prince andrew"
#   rg -o -i -w -F PHRASE | wc -l, once per phrase (PER_PHRASE=1)
#                                the exact equivalent of smol's counts; checked against them
# The text is War and Peace repeated into 8 files of MB/8 megabytes in /tmp. Each variant runs
# RUNS times; the table gives the best wall time and the CPU time (user + sys, from
# /usr/bin/time, children included) of that run, and MB/s for both.
# Usage: bash bench/bench_scan.sh [MB] (default 200)  RUNS=3 PER_PHRASE=1 (default on)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
SMOL="${SMOL:-$PWD/build/smol}"
MB="${1:-200}"
RUNS="${RUNS:-3}"
PER_PHRASE="${PER_PHRASE:-1}"
WORK=$(mktemp -d /tmp/bench_scan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

unit="$DATA/corpora/war-and-peace.txt"
usize=$(stat -c %s "$unit")
reps=$(( (MB * 1000000 / 8 + usize - 1) / usize ))
for _ in $(seq "$reps"); do cat "$unit"; done > "$WORK/part.txt"
files=()
for i in 1 2 3 4 5 6 7 8; do cp "$WORK/part.txt" "$WORK/c$i.txt"; files+=("$WORK/c$i.txt"); done
rm "$WORK/part.txt"
bytes=$(( $(stat -c %s "$WORK/c1.txt") * 8 ))

cat > "$WORK/phrases.txt" <<'PHRASES'
delve
tapestry
testament to
in conclusion
it is important to note
multifaceted
underscore
intricate
navigate
realm
embark
pivotal
nuanced
foster
showcase
vibrant
meticulous
seamless
robust
landscape
prince andrew
natasha
pierre
moscow
napoleon
emperor
the battle
my dear
mon cher
countess
old prince
princess mary
said pierre
at that moment
for a long time
in the morning
the french
the army
rostov
dolokhov
kutuzov
bald hills
his wife
her mother
with tears
a smile
was silent
he said
she said
the enemy
PHRASES

printf 'machine: %s, %s cores; load average before: %s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'text: %d files, %.1f MB; phrases: %d; runs: %d; %s; %s\n\n' 8 "$(echo "$bytes / 1000000" | bc -l)" \
  "$(wc -l < "$WORK/phrases.txt")" "$RUNS" "$(rg --version | head -1)" "$("$SMOL" version 2>/dev/null | head -1 || echo smol)"
echo "| command | best wall s | its CPU s | MB/s (wall) | MB/s (CPU) |"
echo "|---|---|---|---|---|"

# measure NAME CMD: best of RUNS by wall time
measure() {
  local name=$1 cmd=$2 best="" r line
  for r in $(seq "$RUNS"); do
    line=$( { /usr/bin/time -f '%e %U %S' bash -c "$cmd" > /dev/null; } 2>&1 | tail -1 )
    if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN{split(a,x," ");split(b,y," ");exit !(x[1]<y[1])}'; then best=$line; fi
  done
  echo "$best" | awk -v n="$name" -v b="$bytes" '{c=$2+$3; printf "| %s | %.2f | %.2f | %.0f | %.0f |\n", n, $1, c, b/1e6/$1, (c>0?b/1e6/c:0)}'
}

P="$WORK/phrases.txt"
F="${files[*]}"
measure "smol scan -t 1" "'$SMOL' scan -q -t 1 --phrases $P $F"
measure "smol scan -t 2" "'$SMOL' scan -q -t 2 --phrases $P $F"
measure "rg -c -i -w -F -f P -j1 (lines)" "rg -c -i -w -F -f $P -j1 $F"
measure "rg -c -i -w -F -f P -j2 (lines)" "rg -c -i -w -F -f $P -j2 $F"
measure "rg -o -i -w -F -f P -j2 \| tr \| sort \| uniq -c" "rg -o --no-filename -i -w -F -f $P -j2 $F | tr A-Z a-z | LC_ALL=C sort | uniq -c"

if [ "$PER_PHRASE" = 1 ]; then
  # once per phrase: the same counts as smol scan (checked), 50 passes over the text
  "$SMOL" scan -q -t 2 --phrases "$P" $F | awk -F, 'NR > 1 {n[$2] += $3} END {for (p in n) print p "\t" n[p]}' | sort > "$WORK/smol.tsv"
  t0=$(date +%s.%N)
  cpu0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  while IFS= read -r p; do
    printf '%s\t%s\n' "$p" "$(rg -o --no-filename -i -w -F -j2 -- "$p" $F | wc -l)"
  done < "$P" | sort > "$WORK/rg.tsv"
  t1=$(date +%s.%N)
  cpu1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  awk -v t="$(echo "$t1 - $t0" | bc -l)" -v c="$(( cpu1 - cpu0 ))" -v hz="$(getconf CLK_TCK)" -v b="$bytes" \
    'BEGIN{c/=hz; printf "| rg -o -i -w -F PHRASE -j2 \\| wc -l, x50 (1 run) | %.2f | %.2f | %.0f | %.0f |\n", t, c, b/1e6/t, b/1e6/c}'
  if cmp -s "$WORK/smol.tsv" "$WORK/rg.tsv"; then echo; echo "per-phrase counts: smol scan = rg once per phrase (50 of 50)"
  else echo; echo "per-phrase counts DIFFER:"; diff "$WORK/smol.tsv" "$WORK/rg.tsv" | head; exit 1; fi
fi
