#!/usr/bin/env bash
# Runs every test: the unit-test binaries of the release build and of the ASan/UBSan build,
# the CLI tests in tests/cli/*.sh, and the fuzz targets for $FUZZ_SECONDS each (0 skips them;
# FUZZ_SECONDS_<name>, e.g. FUZZ_SECONDS_gguf=60, sets one target's time).
# Each test prints "PASS name" or "FAIL name"; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export SMOL_TEST_DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
export SMOL="$PWD/build/smol"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
TEST_TIMEOUT="${TEST_TIMEOUT:-600}"   # a test binary or CLI script that runs longer has hung
log=$(mktemp -d)
pass=0; fail=0; failed=()

# The ASan/UBSan unit tests run in the background while the release unit tests and then the CLI
# tests run in the foreground (two cores at work); every test leaves its output, exit status and
# seconds in $log, and the results are counted afterwards in a fixed order.
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

run_one() {  # run_one BASE CMD...: runs CMD, leaving BASE.out, BASE.out.err, BASE.rc and BASE.secs
  local base=$1 t0; shift
  t0=$(date +%s.%N)
  timeout "$TEST_TIMEOUT" "$@" < /dev/null > "$base.out" 2> "$base.out.err"; echo $? > "$base.rc"
  elapsed "$t0" > "$base.secs"
}

unit_tests() {  # unit_tests VARIANT: each test binary of VARIANT, one after another
  local t
  for t in "$1"/tests/test_*; do
    [ -x "$t" ] && run_one "$log/$1-$(basename "$t")" "$t"
  done
}

tally() {  # tally NAME BASE: count PASS/FAIL lines; a crash with no FAIL line counts as one failure
  local name=$1 out=$2.out rc p f
  rc=$(cat "$2.rc")
  [ "$rc" -eq 124 ] && echo "FAIL $name (timed out after ${TEST_TIMEOUT}s)" >> "$out"
  p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $name (exit $rc)" >> "$out"; fi
  pass=$((pass + p)); fail=$((fail + f))
  grep '^FAIL ' "$out" | sed "s|^|[$name] |"
  [ "$f" -gt 0 ] && failed+=("$name")
  printf '%-40s %4d passed %3d failed %7ss\n' "$name" "$p" "$f" "$(cat "$2.secs")"
  [ "$rc" -ne 0 ] && tail -n 30 "$out.err"
  return 0
}

unit_tests build-asan &
asan_pid=$!
unit_tests build
for t in tests/cli/test_*.sh; do
  [ -f "$t" ] && run_one "$log/cli-$(basename "$t")" bash "$t"
done
wait "$asan_pid"

for variant in build build-asan; do
  for t in "$variant"/tests/test_*; do
    [ -x "$t" ] && tally "$variant/$(basename "$t")" "$log/$variant-$(basename "$t")"
  done
done
for t in tests/cli/test_*.sh; do
  [ -f "$t" ] && tally "cli/$(basename "$t")" "$log/cli-$(basename "$t")"
done

secs="${FUZZ_SECONDS:-10}"
if [ "$secs" != "0" ] && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  if make --no-print-directory fuzz > "$log/fuzz-build.log" 2>&1; then
    for f in build-fuzz/fuzz/fuzz_*; do
      n=$(basename "$f"); out="$log/$n.out"; corpus="tests/fuzz/corpus/${n#fuzz_}"
      mkdir -p "$log/corpus-$n"
      args=("$log/corpus-$n"); [ -d "$corpus" ] && args+=("$corpus")
      t_secs="$secs"; v="FUZZ_SECONDS_${n#fuzz_}"; [ -n "${!v:-}" ] && t_secs="${!v}"
      t0=$(date +%s.%N)
      "$f" -max_total_time="$t_secs" -rss_limit_mb=2048 -max_len=65536 "${args[@]}" > "$out.err" 2>&1; rc=$?
      echo "$rc" > "$log/$n.rc"; elapsed "$t0" > "$log/$n.secs"
      if [ "$rc" -eq 0 ]; then echo "PASS $n (${t_secs}s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$out.err" | awk '{print $2}') runs)" > "$out"
      else echo "FAIL $n" > "$out"; fi
      tally "fuzz/$n" "$log/$n"
    done
  else
    echo "FAIL fuzz-build" > "$log/fuzz.out"; echo 1 > "$log/fuzz.rc"; echo 0 > "$log/fuzz.secs"
    cp "$log/fuzz-build.log" "$log/fuzz.out.err"; tally "fuzz/build" "$log/fuzz"
  fi
fi

rm -rf "$log"
[ ${#failed[@]} -gt 0 ] && echo "failing: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
