# lib.sh: helpers for CLI tests. Each test is `t_NAME() { ...; }`; `run_tests` runs every t_*
# function in the file and prints "PASS NAME" or "FAIL NAME" (with its stderr on failure).
set -u
: "${SMOL:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/smol}"
: "${SMOL_TEST_DATA:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/data}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# fail MESSAGE: the test fails (also when used as `check || fail ...` in the middle of a test,
# where set -e does not stop it) and returns 1.
fail() { echo "  $*" >&2; echo "$*" >> "$TMP/failed"; return 1; }
run_tests() {
  local t rc=0
  for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
    rm -f "$TMP/failed"
    local st
    set +e
    ( set -e; "$t" ) > "$TMP/$t.log" 2>&1   # a plain command, so set -e holds inside
    st=$?
    if [ "$st" = 0 ] && [ ! -e "$TMP/failed" ]; then echo "PASS ${t#t_}"
    else echo "FAIL ${t#t_}"; sed 's/^/    /' "$TMP/$t.log" >&2; rc=1; fi
  done
  return $rc
}
