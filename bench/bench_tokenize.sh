#!/usr/bin/env bash
# bench_tokenize.sh: tokenizer throughput on one core, smol beside llama.cpp's llama-tokenize, in
# one run, on the same text and the same vocabulary (SmolLM2's tokenizer.json, put in a GGUF by
# `smol make-model` so that llama.cpp can read it).
#
#   bash bench/bench_tokenize.sh                       # war-and-peace.txt, best of 3
#   bash bench/bench_tokenize.sh -r 5 -f other.txt
#
# Each tool tokenizes the whole file once per run and prints the ids to /dev/null (no BOS, no
# special-token parsing); `smol tokenize --count` is also timed, to show the cost of printing. The time of a run on an empty file (loading the vocabulary) is taken
# off, so the figure is tokenization alone: MB/s = file bytes / (time(file) - time(empty)).
# Times are CPU seconds (user + sys) of the process, pinned to one core with taskset: on a busy
# machine wall-clock time mostly measures the wait for a CPU. Wall-clock figures are printed too.
# Both tools must give the same ids; the script checks it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DATA=${SMOL_TEST_DATA:-$(cd "$REPO/.." && pwd)/shared/data}
PEERS_DIR=${PEERS_DIR:-/work/peers}
SMOL=${SMOL:-$REPO/build/smol}
LLAMA_TOKENIZE=${LLAMA_TOKENIZE:-$PEERS_DIR/llama.cpp/build/bin/llama-tokenize}
PY=${PY:-/usr/bin/python3}
TOKJSON=${TOKJSON:-$DATA/tokenizers/SmolLM2-135M-Instruct/tokenizer.json}
file=$DATA/corpora/war-and-peace.txt
reps=3

while getopts "r:f:h" o; do
  case $o in
    r) reps=$OPTARG ;;
    f) file=$OPTARG ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done

[ -x "$SMOL" ] || { echo "bench_tokenize: build smol first (make -j2)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/empty.txt"
pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)

gguf=$work/smollm2-vocab.gguf
echo "bench_tokenize: writing a SmolLM2-vocabulary GGUF for llama.cpp ..." >&2
"$SMOL" make-model --arch smollm2-135m --type q4_0 --tokenizer "$TOKJSON" -o "$gguf" > /dev/null 2>&1

# best OUT CMD...: runs CMD $reps times with stdout to OUT; prints the lowest "cpu wall" seconds
# (CPU = user + sys of the child, from getrusage).
best() {
  "$PY" - "$reps" "$@" <<'PYEOF'
import os, resource, subprocess, sys, time
reps, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
bc = bw = 1e9
for _ in range(reps):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, check=True)
    w1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    bc = min(bc, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    bw = min(bw, w1 - w0)
print(bc, bw)
PYEOF
}

run_cmd() {  # run_cmd TOOL FILE: the command line of a tool
  case $1 in
    smol)  echo "${pin[@]}" "$SMOL" tokenize -m "$gguf" -f "$2" ;;
    smolcount) echo "${pin[@]}" "$SMOL" tokenize -m "$gguf" --count -f "$2" ;;
    llama) echo "${pin[@]}" "$LLAMA_TOKENIZE" -m "$gguf" -f "$2" --ids --no-bos --log-disable ;;
  esac
}

tools=(smol smolcount)
if [ -x "$LLAMA_TOKENIZE" ]; then tools+=(llama); else echo "bench_tokenize: no $LLAMA_TOKENIZE: smol only" >&2; fi
bytes=$(stat -c %s "$file")
declare -A mbs mbs_wall
for tool in "${tools[@]}"; do
  read -r ce we < <(best "$work/out.$tool" $(run_cmd "$tool" "$work/empty.txt"))
  read -r cf wf < <(best "$work/out.$tool" $(run_cmd "$tool" "$file"))
  mbs[$tool]=$("$PY" -c "print('%.1f' % ($bytes / max($cf - $ce, 1e-6) / 1e6))")
  mbs_wall[$tool]=$("$PY" -c "print('%.1f' % ($bytes / max($wf - $we, 1e-6) / 1e6))")
  cp "$work/out.$tool" "$work/ids.$tool"
done

if [ -n "${mbs[llama]:-}" ]; then
  "$PY" - "$work/ids.smol" "$work/ids.llama" <<'PYEOF'
import sys
a = open(sys.argv[1]).read().split()
b = open(sys.argv[2]).read().replace("[", " ").replace("]", " ").replace(",", " ").split()
if a != b:
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    sys.exit(f"bench_tokenize: the ids differ at token {i} ({len(a)} vs {len(b)} tokens)")
print(f"bench_tokenize: both tools give the same {len(a)} ids", file=sys.stderr)
PYEOF
fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); text: $(basename "$file") ($bytes bytes); best of $reps"
echo
echo "| tokenizer | tool | MB/s (CPU time) | MB/s (wall clock) |"
echo "|---|---|---|---|"
echo "| SmolLM2 | smol tokenize | ${mbs[smol]} | ${mbs_wall[smol]} |"
echo "| SmolLM2 | smol tokenize --count (no id printing) | ${mbs[smolcount]} | ${mbs_wall[smolcount]} |"
if [ -n "${mbs[llama]:-}" ]; then
  echo "| SmolLM2 | llama.cpp llama-tokenize | ${mbs[llama]} | ${mbs_wall[llama]} |"
  echo
  echo "ratio smol / llama.cpp (CPU time): $("$PY" -c "print('%.2f' % (${mbs[smol]} / ${mbs[llama]}))")"
fi
