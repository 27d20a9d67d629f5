# test_generate.sh: `smol generate` against llama2.c's output for stories260K, stop strings,
# seeds, prompts, and its errors.
source "$(dirname "$0")/lib.sh"
M="$SMOL_TEST_DATA/stories260K/stories260K.gguf"
G="$SMOL_TEST_DATA/stories260K/golden"

# llama2.c: ./run stories260K.bin -z tok512.bin -t 0.0 -n 200 (its final newline stripped)
t_llama2c_greedy_n200_exact() {
  "$SMOL" generate -m "$M" -n 200 --temp 0 > "$TMP/out" 2> "$TMP/err"
  cmp "$TMP/out" "$G/llama2c_run_t0_n200.expected.txt" || { diff <(fold -w 60 "$TMP/out") <(fold -w 60 "$G/llama2c_run_t0_n200.expected.txt") | head; return 1; }
  grep -q 'generated: 200 tokens' "$TMP/err"
}
# the same with llama2.c's default -n 256 (llama2.c prints a final newline; we do not)
t_llama2c_greedy_n256_exact() {
  "$SMOL" generate -m "$M" -n 256 --temp 0 -t 1 > "$TMP/out" 2>/dev/null
  printf '\n' >> "$TMP/out"
  cmp "$TMP/out" "$G/llama2c_run_t0_n256.expected.txt"
}
# llama2.c: ./run stories260K.bin -z tok512.bin -t 1.0 -p 0.9 -s 133742 (its sampler, its
# xorshift stream, its f32 KV cache)
t_llama2c_topp_seed_exact() {
  "$SMOL" generate -m "$M" -n 256 --temp 1 --top-p 0.9 --seed 133742 --sampler llama2c --kv f32 > "$TMP/out" 2>/dev/null
  printf '\n' >> "$TMP/out"
  cmp "$TMP/out" "$G/llama2c_run_t1.0_p0.9_s133742.expected.txt"
}
t_empty_prompt_is_bos() {
  "$SMOL" generate -m "$M" -n 30 --temp 0 -p "" > "$TMP/a" 2>/dev/null
  "$SMOL" generate -m "$M" -n 30 --temp 0 > "$TMP/b" 2>/dev/null
  cmp "$TMP/a" "$TMP/b"; [ -s "$TMP/a" ]
}
# the text ends before the stop string; held-back text is not lost when no stop completes
t_stop_string() {
  "$SMOL" generate -m "$M" --temp 0 --stop Lily > "$TMP/out" 2> "$TMP/err"
  printf 'Once upon a time, there was a little girl named ' | cmp - "$TMP/out"
  grep -q 'stop: stop string' "$TMP/err"
  "$SMOL" generate -m "$M" -n 200 --temp 0 --stop 'no such text anywhere' > "$TMP/out2" 2>/dev/null
  cmp "$TMP/out2" "$G/llama2c_run_t0_n200.expected.txt"
}
t_prompt_continues_with_space() {
  "$SMOL" generate -m "$M" -p "Once upon a time," -n 12 --temp 0 > "$TMP/out" 2>/dev/null
  printf ' there was a little girl named Lily.' | cmp - <(head -c 36 "$TMP/out")
}
t_seed_reproducible() {
  "$SMOL" generate -m "$M" -n 40 --temp 1 --seed 7 > "$TMP/a" 2>/dev/null
  "$SMOL" generate -m "$M" -n 40 --temp 1 --seed 7 > "$TMP/b" 2>/dev/null
  "$SMOL" generate -m "$M" -n 40 --temp 1 --seed 8 > "$TMP/c" 2>/dev/null
  cmp "$TMP/a" "$TMP/b"; ! cmp -s "$TMP/a" "$TMP/c"
}
t_thread_counts_agree() {
  "$SMOL" generate -m "$M" -n 60 --temp 0 -t 1 > "$TMP/a" 2>/dev/null
  "$SMOL" generate -m "$M" -n 60 --temp 0 -t 2 --kv f32 > "$TMP/b" 2>/dev/null
  cmp "$TMP/a" "$TMP/b"
}
t_context_limit_error() {
  set +e
  "$SMOL" generate -m "$M" --ctx 4 -p "Once upon a time there was a big dog" > "$TMP/out" 2> "$TMP/err"; rc=$?
  set -e
  [ $rc -eq 1 ] && grep -q '^smol generate: .*context' "$TMP/err"
}
t_context_full_stops() {
  "$SMOL" generate -m "$M" --ctx 10 -n 100 --temp 0 > "$TMP/out" 2> "$TMP/err"
  # BOS and 9 fed tokens fill 10 positions; the 10th new token is sampled from the last one
  grep -q 'generated: 10 tokens' "$TMP/err" && grep -q 'context full' "$TMP/err"
}
t_bad_flag_exit_2() {
  set +e
  "$SMOL" generate -m "$M" --temp abc 2> "$TMP/e1"; r1=$?
  "$SMOL" generate --bogus 2> "$TMP/e2"; r2=$?
  "$SMOL" generate -p hi 2> "$TMP/e3"; r3=$?
  set -e
  [ $r1 -eq 2 ] && [ $r2 -eq 2 ] && [ $r3 -eq 2 ] && grep -q -- '--temp' "$TMP/e1" && grep -q -- '-m MODEL' "$TMP/e3"
}
t_missing_model_exit_1() {
  set +e
  "$SMOL" generate -m "$TMP/none.gguf" 2> "$TMP/err"; rc=$?
  set -e
  [ $rc -eq 1 ] && grep -q '^smol generate: ' "$TMP/err" && grep -q 'none.gguf' "$TMP/err"
}
# examples/simple.c (public header only) builds and gives the same greedy text as the command
t_example_simple_matches_generate() {
  root="$(cd "$(dirname "$SMOL")/.." && pwd)"
  (cd "$root" && make --no-print-directory -s examples BUILD="$(basename "$(dirname "$SMOL")")") > "$TMP/make.log" 2>&1
  ex="$(dirname "$SMOL")/examples/simple"
  "$ex" "$M" "Once upon a time" 40 > "$TMP/a"
  "$SMOL" generate -m "$M" -p "Once upon a time" -n 40 --temp 0 > "$TMP/b" 2>/dev/null
  printf '\n' >> "$TMP/b"
  cmp "$TMP/a" "$TMP/b"
}
# smol chat: each line a turn; the first greedy reply equals generate on the formatted prompt,
# and the second turn reuses the first turn's tokens
t_chat_two_turns() {
  printf 'Hi!\nWhat is 2+2?\n' | "$SMOL" chat -m "$M" --template chatml --temp 0 -n 8 -t 1 > "$TMP/out" 2> "$TMP/err"
  [ "$(wc -l < "$TMP/out")" -eq 2 ]
  grep -q '^\[[0-9]* prompt tokens, 0 reused; 8 generated' "$TMP/err"
  grep '^\[' "$TMP/err" | tail -1 | grep -qv ', 0 reused'
  echo '[{"role":"user","content":"Hi!"}]' | "$SMOL" chat-format -m "$M" --chat-template chatml --add-generation-prompt > "$TMP/prompt"
  "$SMOL" generate -m "$M" -f "$TMP/prompt" --temp 0 -n 8 -t 1 > "$TMP/gen" 2>/dev/null
  cmp <(head -n 1 "$TMP/out") <(cat "$TMP/gen"; echo)
}
t_chat_without_template_fails() {
  set +e
  echo hi | "$SMOL" chat -m "$M" > /dev/null 2> "$TMP/err"; rc=$?
  echo hi | "$SMOL" chat -m "$M" --template nosuch > /dev/null 2> "$TMP/err2"; rc2=$?
  set -e
  [ $rc -eq 1 ] && grep -q '^smol chat: .*chat_template' "$TMP/err" && [ $rc2 -eq 2 ]
}
run_tests
