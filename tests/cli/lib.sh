# lib.sh: helpers for CLI tests. Each test is `t_NAME() { ...; }`; `run_tests` runs every t_*
# function in the file and prints "PASS NAME" or "FAIL NAME" (with its stderr on failure).
set -u
: "${SMOL:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/smol}"
: "${SMOL_TEST_DATA:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/data}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "  $*" >&2; return 1; }
run_tests() {
  local t rc=0
  for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
    if ( set -e; "$t" ) > "$TMP/$t.log" 2>&1; then echo "PASS ${t#t_}"
    else echo "FAIL ${t#t_}"; sed 's/^/    /' "$TMP/$t.log" >&2; rc=1; fi
  done
  return $rc
}
