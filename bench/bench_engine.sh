#!/usr/bin/env bash
# bench_engine.sh: runs the engine benchmark, `smol bench` and llama.cpp's `llama-bench`, on the same
# GGUF models, thread counts and tests (prompt processing pp512, generation tg128) in one run, and
# prints a markdown table: model, type, threads, test, smol t/s, llama.cpp t/s, ratio (smol/llama.cpp)
# and, for generation, the share of the memory-bandwidth limit each reaches.
#
# The bandwidth limit of decode is (read GB/s with T threads, from bench/membw.c) / (bytes of
# weights read per token); the weight bytes come from the GGUF tensor table: every tensor, except
# that an untied token_embd.weight counts one row (a token reads only its own embedding row).
#
#   bash bench/build_peers.sh && make -j2        # the peer and smol
#   bash bench/bench_engine.sh                   # every /work/peers/models/*.gguf, -t 1 and 2
#   bash bench/bench_engine.sh -t "1 2" -r 5 /work/peers/models/smollm2-135m-q8_0.gguf
#
# Raw JSON of both tools and the table are kept in the output folder (-o, default
# $PEERS_DIR/results/DATE). When `smol bench` does not exist yet the script says so and fills
# only the llama.cpp column.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEERS_DIR=${PEERS_DIR:-/work/peers}
SMOL=${SMOL:-$REPO/build/smol}
LLAMA_BENCH=${LLAMA_BENCH:-$PEERS_DIR/llama.cpp/build/bin/llama-bench}
PY=${PY:-/usr/bin/python3}
MEMBW_FILE=${MEMBW_FILE:-$PEERS_DIR/membw.txt}

threads="1 2"; n_prompt=512; n_gen=128; reps=3; outdir=""; run_smol=1; run_llama=1; remeasure_bw=0; make_models=0
idle_wait=${IDLE_WAIT:-120}  # seconds to wait, before each run, for other processes to leave the CPUs
niceness=0                   # scheduling niceness of the measured programs (negative: ahead of others)

usage() {
    cat <<EOF
usage: bench/bench_engine.sh [options] [MODEL.gguf ...]
  Runs 'smol bench' and 'llama-bench' on each model (default: $PEERS_DIR/models/*.gguf) and prints
  a markdown table of tokens/s for prompt processing (ppP) and generation (tgN).
options:
  -t "T1 T2 ..."  thread counts (default: "$threads")
  -p P            prompt tokens for the pp test (default: $n_prompt)
  -n N            generated tokens for the tg test (default: $n_gen)
  -r R            repetitions per test, averaged (default: $reps)
  -o DIR          where raw JSON and table.md go (default: $PEERS_DIR/results/DATE)
  --smol-only     skip llama-bench
  --llama-only    skip smol bench
  --remeasure-bw  measure memory bandwidth again instead of reusing $MEMBW_FILE
  --make-models   first write the missing benchmark models into $PEERS_DIR/models: SmolLM2-135M and
                  -360M shapes in f32 by 'smol make-model' (SmolLM2 tokenizer, seed 42), then
                  q8_0, q4_0, q4_k_m and f16 by llama-quantize (by 'smol quantize' without it)
  -N NICE         run the measured programs under 'nice -n NICE' (default: 0; a negative value,
                  for root only, puts them ahead of other work on a shared machine)
  -w SECONDS      before each run, wait up to this long for the CPUs to be idle (default: $idle_wait;
                  0 = do not wait); the CPU use of other processes is logged in runs.log
environment: SMOL (smol binary), LLAMA_BENCH (llama-bench binary), PEERS_DIR, PY (python3)
example:
  bash bench/bench_engine.sh -t "1 2" /work/peers/models/smollm2-135m-q8_0.gguf
EOF
}

die_usage() { echo "bench_engine: $*" >&2; usage >&2; exit 2; }
die() { echo "bench_engine: $*" >&2; exit 1; }
log() { echo "bench_engine: $*" >&2; }
need_int() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die_usage "$1 wants a positive integer, got '$2'"; }

orig_args=("$@")
models=()
while [ $# -gt 0 ]; do
    case $1 in
        -t) [ $# -ge 2 ] || die_usage "-t needs a value"; threads=$2; shift 2
            for t in $threads; do need_int -t "$t"; done ;;
        -p) [ $# -ge 2 ] || die_usage "-p needs a value"; need_int -p "$2"; n_prompt=$2; shift 2 ;;
        -n) [ $# -ge 2 ] || die_usage "-n needs a value"; need_int -n "$2"; n_gen=$2; shift 2 ;;
        -r) [ $# -ge 2 ] || die_usage "-r needs a value"; need_int -r "$2"; reps=$2; shift 2 ;;
        -o) [ $# -ge 2 ] || die_usage "-o needs a value"; outdir=$2; shift 2 ;;
        -N) [ $# -ge 2 ] || die_usage "-N needs a value"; [[ $2 =~ ^-?[0-9]+$ ]] || die_usage "-N wants an integer, got '$2'"
            niceness=$2; shift 2 ;;
        -w) [ $# -ge 2 ] || die_usage "-w needs a value"; [[ $2 =~ ^[0-9]+$ ]] || die_usage "-w wants seconds, got '$2'"
            idle_wait=$2; shift 2 ;;
        --smol-only) run_llama=0; shift ;;
        --llama-only) run_smol=0; shift ;;
        --remeasure-bw) remeasure_bw=1; shift ;;
        --make-models) make_models=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die_usage "unknown option '$1'" ;;
        *) models+=("$1"); shift ;;
    esac
done
[ -n "$threads" ] || die_usage "-t needs at least one thread count"

# make_bench_models: the f32 models from smol make-model and their quantizations (llama.cpp's own
# when llama-quantize is built; smol quantize gives the same tensors for q8_0, q4_0 and f16).
make_bench_models() {
    local dir=$PEERS_DIR/models tok=${SMOL_TEST_DATA:-$REPO/../shared/data}/tokenizers/SmolLM2-135M-Instruct/tokenizer.json
    local quantize=$PEERS_DIR/llama.cpp/build/bin/llama-quantize a t lower
    mkdir -p "$dir" || die "cannot create $dir"
    [ -r "$tok" ] || die "no SmolLM2 tokenizer at $tok (set SMOL_TEST_DATA)"
    for a in smollm2-135m smollm2-360m; do
        if [ ! -s "$dir/$a-f32.gguf" ]; then
            log "making $dir/$a-f32.gguf"
            "$SMOL" make-model --arch "$a" --type f32 --seed 42 --tokenizer "$tok" -o "$dir/$a-f32.gguf" || die "make-model failed"
        fi
        for t in Q8_0 Q4_0 Q4_K_M F16; do
            lower=$(echo "$t" | tr A-Z a-z)
            [ -s "$dir/$a-$lower.gguf" ] && continue
            log "quantizing $dir/$a-$lower.gguf"
            if [ -x "$quantize" ]; then
                "$quantize" "$dir/$a-f32.gguf" "$dir/$a-$lower.gguf" "$t" >/dev/null 2>&1 || die "llama-quantize $t failed"
            else
                "$SMOL" quantize "$dir/$a-f32.gguf" "$dir/$a-$lower.gguf" "$lower" 2>/dev/null || die "smol quantize $t failed"
            fi
        done
    done
}
[ $make_models = 1 ] && make_bench_models
if [ ${#models[@]} -eq 0 ]; then
    shopt -s nullglob
    models=("$PEERS_DIR"/models/*.gguf)
    shopt -u nullglob
    [ ${#models[@]} -gt 0 ] || die "no models given and none in $PEERS_DIR/models (see bench/README.md, '## Peers')"
fi
for m in "${models[@]}"; do [ -r "$m" ] || die "cannot read model '$m'"; done
[ -x "$PY" ] || PY=python3

# A negative -N must also beat other sessions: with the kernel's autogroup scheduling, nice only
# ranks processes within one session, so the script moves into a session of its own and gives
# that session's autogroup the niceness (only this script and its children are in it).
if [ "$niceness" != 0 ] && [ -z "${BENCH_ENGINE_OWN_SESSION:-}" ] && [ -w /proc/self/autogroup ]; then
    BENCH_ENGINE_OWN_SESSION=1 exec setsid -w bash "$0" "${orig_args[@]}"
fi
if [ -n "${BENCH_ENGINE_OWN_SESSION:-}" ]; then
    echo "$niceness" >/proc/self/autogroup 2>/dev/null || log "could not set the autogroup niceness to $niceness"
fi

outdir=${outdir:-$PEERS_DIR/results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$outdir" || die "cannot create $outdir"

# Which engines can run.
if [ $run_llama = 1 ] && [ ! -x "$LLAMA_BENCH" ]; then
    log "llama-bench not found at $LLAMA_BENCH (run bench/build_peers.sh); llama.cpp column left empty"
    run_llama=0
fi
if [ $run_smol = 1 ]; then
    if [ ! -x "$SMOL" ]; then
        log "smol not found at $SMOL (run make -j2); smol column left empty"
        run_smol=0
    elif ! "$SMOL" help bench >/dev/null 2>&1; then
        log "'smol bench' does not exist yet in $SMOL; smol column left empty"
        run_smol=0
    fi
fi
smol_reps=()  # -r is passed on only if smol bench documents it
if [ $run_smol = 1 ] && "$SMOL" help bench 2>/dev/null | grep -Eq '^ *-r[ ,]'; then smol_reps=(-r "$reps"); fi

# Memory bandwidth for each thread count, measured once and cached (lines "threads=T read_GBps=X ...").
max_t=$(printf '%s\n' $threads | sort -n | tail -1)
have_bw() { [ -s "$MEMBW_FILE" ] && grep -q "^threads=$max_t " "$MEMBW_FILE"; }
if [ $remeasure_bw = 1 ] || ! have_bw; then
    membw=$PEERS_DIR/membw
    if [ ! -x "$membw" ] || [ "$HERE/membw.c" -nt "$membw" ]; then
        cc -std=c11 -O3 -march=native -pthread "$HERE/membw.c" -o "$membw" || die "cannot compile bench/membw.c"
    fi
    log "measuring memory bandwidth with 1..$max_t threads ($membw)"
    nice -n "$niceness" "$membw" -t "$max_t" >"$MEMBW_FILE.tmp" || die "membw failed"
    mv "$MEMBW_FILE.tmp" "$MEMBW_FILE"
fi
cp "$MEMBW_FILE" "$outdir/membw.txt"

{
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "cores=$(nproc) loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    [ $run_llama = 1 ] && echo "llama_cpp=$("$(dirname "$LLAMA_BENCH")/llama-tokenize" --version 2>&1 | grep -i '^version' | head -1)"
    [ $run_smol = 1 ] && echo "smol=$("$SMOL" version 2>/dev/null | head -1)"
    echo "args=-p $n_prompt -n $n_gen -r $reps -t '$threads' nice=$niceness"
} >"$outdir/machine.txt"

# busy_cores: how many cores other processes kept busy over the last second (from /proc/stat).
busy_cores() {
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    local busy=$(( (b[1]+b[2]+b[3]+b[6]+b[7]) - (a[1]+a[2]+a[3]+a[6]+a[7]) ))
    local total=$(( busy + (b[4]+b[5]) - (a[4]+a[5]) ))
    awk -v b="$busy" -v t="$total" -v n="$(nproc)" 'BEGIN { printf "%.2f", (t > 0 ? n * b / t : 0) }'
}
# wait_idle LABEL: waits up to $idle_wait seconds for fewer than 0.25 busy cores; logs what it saw.
wait_idle() {
    local waited=0 busy
    busy=$(busy_cores)
    while [ "$idle_wait" -gt 0 ] && awk -v b="$busy" 'BEGIN { exit !(b >= 0.25) }' && [ $waited -lt "$idle_wait" ]; do
        sleep 4; waited=$((waited + 5)); busy=$(busy_cores)
    done
    echo "$(date -u +%H:%M:%S) $1 busy_cores_before=$busy waited_s=$waited" >>"$outdir/runs.log"
}

for m in "${models[@]}"; do
    base=$(basename "$m" .gguf)
    for t in $threads; do
        if [ $run_llama = 1 ]; then
            wait_idle "llama-bench $base -t $t"
            log "llama-bench $base -t $t"
            if ! nice -n "$niceness" "$LLAMA_BENCH" -m "$m" -t "$t" -p "$n_prompt" -n "$n_gen" -r "$reps" -o json \
                    >"$outdir/llama-$base-t$t.json" 2>"$outdir/llama-$base-t$t.err"; then
                log "llama-bench failed on $m with -t $t: $(tail -3 "$outdir/llama-$base-t$t.err" | tr '\n' ' ')"
                rm -f "$outdir/llama-$base-t$t.json"
            fi
        fi
        if [ $run_smol = 1 ]; then
            wait_idle "smol bench $base -t $t"
            log "smol bench $base -t $t"
            if ! nice -n "$niceness" "$SMOL" bench -m "$m" -t "$t" -p "$n_prompt" -n "$n_gen" "${smol_reps[@]}" --json \
                    >"$outdir/smol-$base-t$t.json" 2>"$outdir/smol-$base-t$t.err"; then
                log "smol bench failed on $m with -t $t: $(tail -3 "$outdir/smol-$base-t$t.err" | tr '\n' ' ')"
                rm -f "$outdir/smol-$base-t$t.json"
            fi
        fi
    done
done
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$outdir/machine.txt"

"$PY" - "$outdir" "$n_prompt" "$n_gen" "$threads" "${models[@]}" <<'PYEOF' | tee "$outdir/table.md"
# Reads the JSON of both tools, the GGUF tensor tables and membw.txt; prints the markdown table.
import json, os, struct, sys

outdir, n_prompt, n_gen, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
models = sys.argv[5:]

# llama_ftype numbers as stored in general.file_type.
FTYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
          11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
          17: "Q5_K_M", 18: "Q6_K", 32: "BF16"}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

def gguf_info(path):
    """file_type, bytes of weights read per generated token, and parameter count, from the header."""
    with open(path, "rb") as f:
        data = f.read(64 << 20)  # header + tensor table; the tokenizer arrays fit easily
        size = os.fstat(f.fileno()).st_size
    pos = 0
    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v[0]
    def string():
        nonlocal pos
        n = take("<Q"); s = data[pos:pos + n]; pos += n
        return s.decode("utf-8", "replace")
    def value(t):
        if t in SCALAR: return take(SCALAR[t])
        if t == 8: return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        raise ValueError(f"{path}: unknown GGUF value type {t} at byte {pos}")
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    if version < 2:
        raise ValueError(f"{path}: GGUF v{version} is not supported")
    kv = {}
    for _ in range(n_kv):
        k = string(); kv[k] = value(take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = string(); nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        ttype, off = take("<I"), take("<Q")
        tensors.append((off, name, ne))
    align = kv.get("general.alignment", 32)
    data_start = (pos + align - 1) // align * align
    tensors.sort()
    nbytes, params = {}, 0
    for i, (off, name, ne) in enumerate(tensors):
        end = tensors[i + 1][0] if i + 1 < len(tensors) else size - data_start
        nbytes[name] = end - off
        n = 1
        for d in ne: n *= d
        params += n
    per_token = sum(nbytes.values())
    if "output.weight" in nbytes and "token_embd.weight" in nbytes:
        ne = next(t[2] for t in tensors if t[1] == "token_embd.weight")
        rows = ne[1] if len(ne) > 1 else 1
        per_token -= nbytes["token_embd.weight"] - nbytes["token_embd.weight"] // rows
    ft = kv.get("general.file_type")
    return FTYPES.get(ft, str(ft) if ft is not None else "?"), per_token, params

def load_records(path):
    """Records of llama-bench's JSON, or of smol bench's (a list, or {"results": [...]})."""
    if not os.path.exists(path): return []
    try:
        with open(path) as f: doc = json.load(f)
    except ValueError as e:
        print(f"bench_engine: {path}: not valid JSON ({e})", file=sys.stderr)
        return []
    if isinstance(doc, dict): doc = doc.get("results", [doc])
    return [r for r in doc if isinstance(r, dict)]

def tps(records, test):
    """Tokens/s of test ("ppN" or "tgN"): key avg_ts (llama-bench) or tokens_per_s."""
    for r in records:
        name = r.get("test")
        if name is None:
            npr, ng = r.get("n_prompt", 0), r.get("n_gen", 0)
            name = f"pp{npr}" if ng == 0 else f"tg{ng}" if npr == 0 else f"pp{npr}+tg{ng}"
        if name == test:
            for key in ("avg_ts", "tokens_per_s", "tps"):
                if key in r: return float(r[key])
    return None

bw = {}
with open(os.path.join(outdir, "membw.txt")) as f:
    for line in f:
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if "threads" in fields: bw[int(fields["threads"])] = float(fields["read_GBps"])

fmt = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
print("| model | type | threads | test | smol t/s | llama.cpp t/s | ratio | decode % of BW limit (smol / llama.cpp) |")
print("|---|---|---:|---|---:|---:|---:|---|")
for m in models:
    base = os.path.basename(m)[:-5] if m.endswith(".gguf") else os.path.basename(m)
    ftype, per_token, params = gguf_info(m)
    for t in threads:
        sm = load_records(os.path.join(outdir, f"smol-{base}-t{t}.json"))
        ll = load_records(os.path.join(outdir, f"llama-{base}-t{t}.json"))
        for test in (f"pp{n_prompt}", f"tg{n_gen}"):
            s, l = tps(sm, test), tps(ll, test)
            ratio = fmt(s / l, 2) if s and l else "-"
            pct = ""
            if test.startswith("tg") and int(t) in bw:
                limit = bw[int(t)] * 1e9 / per_token
                share = lambda v: "-" if not v else f"{100 * v / limit:.0f}%"
                pct = f"{share(s)} / {share(l)} of {limit:.1f} t/s"
            print(f"| {base} | {ftype} | {t} | {test} | {fmt(s)} | {fmt(l)} | {ratio} | {pct} |")
print()
print(f"weights read per token: " + ", ".join(
    f"{os.path.basename(m)} {gguf_info(m)[1] / 1e6:.1f} MB" for m in models))
print("memory read bandwidth: " + ", ".join(f"{t} thread(s) {g:.2f} GB/s" for t, g in sorted(bw.items())))
PYEOF
log "raw results in $outdir"
