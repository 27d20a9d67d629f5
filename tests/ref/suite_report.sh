#!/usr/bin/env bash
# suite_report.sh: the JSON Schema Test Suite (draft 2020-12) report: for each keyword file, how
# many cases the validator agrees on (and skips: remote references), then how many schemas the
# grammar compiler compiles and how many instances their grammars judge as the suite does.
#   bash tests/ref/suite_report.sh [-v]     (-v: the compiler's reason for each schema it refuses)
# ANY_ORDER=1 compiles with SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_FORMAT_ANNOTATION (the suite's reading).
# Needs `make` first; SMOL_TEST_DATA as for the tests (default ../shared/data).
set -eu
cd "$(dirname "$0")/../.."
export SMOL_TEST_DATA="${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
echo "== validator (src/gen/jsonschema.c)"
build/tests/test_jsonschema --report
echo
echo "== grammar compiler (src/gen/schema.c); instances checked with the C engine"
build/tests/test_schema --report ${1:+verbose} ${ANY_ORDER:+--any-order} | grep -v '^gbnf_match: '
