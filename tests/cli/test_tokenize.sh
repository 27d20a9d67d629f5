# test_tokenize.sh: `smol tokenize`: ids, pieces, files, stdin, JSONL against hf-golden, counts, errors.
source "$(dirname "$0")/lib.sh"
SMOLLM2="$SMOL_TEST_DATA/tokenizers/SmolLM2-135M-Instruct"
STORIES="$SMOL_TEST_DATA/stories260K/stories260K.gguf"
GOLD="$SMOL_TEST_DATA/hf-golden/tokenizers"
PY=/usr/bin/python3

t_ids_text() {
  out=$("$SMOL" tokenize -m "$SMOLLM2/tokenizer.json" "The capital of France is")
  [ "$out" = "504 3575 282 4649 314" ] || fail "got '$out'"
  out=$("$SMOL" tokenize -m "$SMOLLM2" "def fibonacci(n):")
  [ "$out" = "1604 3987 46477 24 94 727" ] || fail "folder: got '$out'"
}
t_gguf_add_special() {
  out=$("$SMOL" tokenize -m "$STORIES" --add-special "Once upon a time")
  [ "$out" = "1 403 407 261 378" ] || fail "got '$out'"
  out=$("$SMOL" tokenize -m "$STORIES" "Once upon a time")
  [ "$out" = "403 407 261 378" ] || fail "without BOS: got '$out'"
}
t_parse_special() {
  plain=$("$SMOL" tokenize -m "$SMOLLM2" "<|im_start|>user")
  parsed=$("$SMOL" tokenize -m "$SMOLLM2" --parse-special "<|im_start|>user")
  [ "${parsed%% *}" = "1" ] || fail "parsed: '$parsed'"
  case " $plain " in *" 1 "*) fail "special token parsed by default: '$plain'";; esac
}
t_pieces() {
  "$SMOL" tokenize -m "$STORIES" --pieces "Once upon a time" > "$TMP/p"
  [ "$(wc -l < "$TMP/p")" -eq 4 ] || fail "$(cat "$TMP/p")"
  [ "$(head -1 "$TMP/p")" = "$(printf '403\t▁Once')" ] || fail "first line '$(head -1 "$TMP/p")'"
}
t_file_and_stdin() {
  printf 'Hello world!\nSecond line.' > "$TMP/in.txt"
  a=$("$SMOL" tokenize -m "$SMOLLM2" -f "$TMP/in.txt")
  b=$("$SMOL" tokenize -m "$SMOLLM2" -f - < "$TMP/in.txt")
  c=$("$SMOL" tokenize -m "$SMOLLM2" "$(printf 'Hello world!\nSecond line.')")
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] || fail "file '$a' stdin '$b' text '$c'"
}
t_jsonl_hf_golden() {
  "$SMOL" tokenize -m "$SMOLLM2" --parse-special --jsonl "$GOLD/inputs.jsonl" > "$TMP/ids.txt"
  "$PY" - "$TMP/ids.txt" "$GOLD/smollm2.ids.jsonl" <<'PYEOF'
import json, sys
got = open(sys.argv[1], encoding="utf-8").read().split("\n")
want = [json.loads(l)["ids"] for l in open(sys.argv[2], encoding="utf-8")]
assert got[-1] == "", "no final newline"
got = got[:-1]
assert len(got) == len(want), f"{len(got)} lines for {len(want)} documents"
for i, (g, w) in enumerate(zip(got, want)):
    ids = [int(x) for x in g.split()] if g else []
    if ids != w:
        sys.exit(f"document {i + 1}: expected {w[:40]} got {ids[:40]}")
print(f"{len(want)}/{len(want)} documents match", file=sys.stderr)
PYEOF
}
t_count() {
  "$SMOL" tokenize -m "$SMOLLM2" --parse-special --count --jsonl "$GOLD/inputs.jsonl" > "$TMP/n.txt" 2> "$TMP/err"
  "$PY" - "$TMP/n.txt" "$GOLD/smollm2.ids.jsonl" "$TMP/err" <<'PYEOF'
import json, sys
got = [int(x) for x in open(sys.argv[1]).read().split()]
want = [len(json.loads(l)["ids"]) for l in open(sys.argv[2], encoding="utf-8")]
assert got == want, "counts differ"
assert f"total {sum(want)} tokens" in open(sys.argv[3]).read(), "no total on stderr"
PYEOF
  n=$("$SMOL" tokenize -m "$SMOLLM2" --count "Hello world" 2>/dev/null)
  [ "$n" = "2" ] || fail "count '$n'"
}
t_jsonl_field() {
  printf '{"body":"Hello"}\n{"body":"The capital of France is"}\n' > "$TMP/d.jsonl"
  out=$("$SMOL" tokenize -m "$SMOLLM2" --jsonl "$TMP/d.jsonl" --field body)
  [ "$out" = "$(printf '19556\n504 3575 282 4649 314')" ] || fail "got '$out'"
  set +e
  "$SMOL" tokenize -m "$SMOLLM2" --jsonl "$TMP/d.jsonl" 2> "$TMP/err"; rc=$?
  set -e
  [ $rc -eq 1 ] && grep -q "d.jsonl:1: no string field 'text'" "$TMP/err" || fail "rc $rc: $(cat "$TMP/err")"
}
t_usage_errors() {
  set +e
  "$SMOL" tokenize "text" 2> "$TMP/e1"; r1=$?
  "$SMOL" tokenize -m "$SMOLLM2" --bogus "x" 2> "$TMP/e2"; r2=$?
  "$SMOL" tokenize -m "$SMOLLM2" 2> "$TMP/e3"; r3=$?
  set -e
  [ $r1 -eq 2 ] && grep -q "MODEL is required" "$TMP/e1" || fail "no -m: $r1"
  [ $r2 -eq 2 ] && grep -q "unknown option '--bogus'" "$TMP/e2" || fail "bad flag: $r2"
  [ $r3 -eq 2 ] || fail "no text: $r3"
  "$SMOL" tokenize --help | grep -q example
}
t_runtime_errors() {
  printf '{"model":{"type":"WordPiece","vocab":{"a":0}}}' > "$TMP/tokenizer.json"
  set +e
  "$SMOL" tokenize -m "$TMP/tokenizer.json" "a" 2> "$TMP/e1"; r1=$?
  "$SMOL" tokenize -m "$TMP/missing.gguf" "a" 2> "$TMP/e2"; r2=$?
  set -e
  [ $r1 -eq 1 ] && grep -q "^smol tokenize: .*model type 'WordPiece' is not supported" "$TMP/e1" || fail "unsupported: $r1 $(cat "$TMP/e1")"
  [ $r2 -eq 1 ] && grep -q "^smol tokenize: .*missing.gguf" "$TMP/e2" || fail "missing: $r2 $(cat "$TMP/e2")"
}
run_tests
