#!/usr/bin/env bash
# bench_grammar.sh: constraint-engine speed with the Llama-3 tokenizer (128,256 tokens), one
# thread: compile time and per-token mask time (p50/p90/p99/max over every step of every
# instance) from `smol grammar-check --stats`, for llama.cpp's json.gbnf over generated JSON
# documents, and for JSON Schemas when the build has the schema compiler.
#   bash bench/bench_grammar.sh [N_DOCS] [RUNS]      (defaults 200 documents, 3 runs)
# Times are the thread's CPU time per call (CLOCK_THREAD_CPUTIME_ID around smol_matcher_mask),
# so other work on the machine changes them little; compare runs for the spread.
set -eu -o pipefail
cd "$(dirname "$0")/.."
SMOL=${SMOL:-build/smol}
DATA=${SMOL_TEST_DATA:-$(cd .. && pwd)/shared/data}
TOK="$DATA/tokenizers/llama3-8b-instruct-hf/tokenizer.json"
N=${1:-200}
RUNS=${2:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

/usr/bin/python3 - "$N" "$TMP" <<'PYEOF'
import json, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
random.seed(12345)
words = "alpha beta gamma delta the quick brown fox jumps over lazy dog caf\u00e9 na\u00efve \u4e2d\u6587 data value".split()
def text(): return " ".join(random.choice(words) for _ in range(random.randint(1, 8)))
def val(d):
    r = random.random()
    if d > 3 or r < 0.4:
        return random.choice([random.randint(-1000, 100000), round(random.uniform(-100, 100), 3), True, False, None, text()])
    if r < 0.75: return {text().split()[0] + str(i): val(d + 1) for i in range(random.randint(1, 4))}
    return [val(d + 1) for _ in range(random.randint(1, 4))]
with open(out + "/json.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"text": json.dumps({"id": i, "title": text(), "body": val(0)}, ensure_ascii=False)}) + "\n")
with open(out + "/person.schema.json", "w") as f:
    json.dump({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
               "email": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
               "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "[0-9]{5}"}},
                           "required": ["city"]}},
               "required": ["name", "age"]}, f)
with open(out + "/person.jsonl", "w") as f:
    for i in range(n):
        d = {"name": text(), "age": random.randint(0, 99), "tags": [text() for _ in range(random.randint(0, 3))],
             "address": {"city": text(), "zip": "%05d" % random.randint(0, 99999)}}
        f.write(json.dumps({"text": json.dumps(d, ensure_ascii=False)}) + "\n")
PYEOF

run() {  # run LABEL ARGS...: RUNS runs, one stats line each
  local label=$1; shift
  for r in $(seq "$RUNS"); do
    stats=$("$SMOL" grammar-check -m "$TOK" "$@" --stats 2> "$TMP/err" | tail -1) || { echo "$label: $(tail -1 "$TMP/err")"; return 0; }
    echo "$label run $r: $stats"
  done
}
run "json.gbnf, $N docs" --grammar "$DATA/llama.cpp-grammars/json.gbnf" --jsonl "$TMP/json.jsonl"
run "person schema, $N docs" --json-schema "$TMP/person.schema.json" --jsonl "$TMP/person.jsonl"
for i in $(seq 50); do printf '{"text": "2024-01-%02d, 1999-12-01, 2000-02-29"}\n' $((i % 28 + 1)); done > "$TMP/dates.jsonl"
run "regex (date list), 50 texts" --regex '(\d{4}-\d{2}-\d{2}, )*\d{4}-\d{2}-\d{2}' --jsonl "$TMP/dates.jsonl"
