# test_chat_format.sh: `smol chat-format` reproduces the hf-golden prompts (transformers'
# apply_chat_template) byte for byte, and reports bad input with the right exit codes.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
TOK="$SMOL_TEST_DATA/tokenizers"
GOLD="$SMOL_TEST_DATA/hf-golden/tokenizers"

# golden_check MODEL GOLDEN: every conversation in GOLDEN through the CLI, compared byte for byte
golden_check() {
  local model=$1 golden=$2 n i gen flag
  n=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$golden")
  [ "$n" -gt 0 ] || fail "no conversations in $golden"
  for ((i = 0; i < n; i++)); do
    "$PY" - "$golden" "$i" "$TMP" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))[int(sys.argv[2])]
json.dump(c["messages"], open(sys.argv[3] + "/msgs.json", "w"))
open(sys.argv[3] + "/want.txt", "w", newline="").write(c["prompt"])
open(sys.argv[3] + "/gen", "w").write("1" if c["add_generation_prompt"] else "0")
PYEOF
    flag=(); [ "$(cat "$TMP/gen")" = 1 ] && flag=(--add-generation-prompt)
    "$SMOL" chat-format -m "$model" "${flag[@]}" "$TMP/msgs.json" > "$TMP/got.txt"
    cmp "$TMP/got.txt" "$TMP/want.txt" || fail "conversation $i of $golden differs"
  done
}

t_smollm2_golden_folder() { golden_check "$TOK/SmolLM2-135M-Instruct" "$GOLD/smollm2.chat.json"; }
t_smollm2_golden_tokenizer_json() { golden_check "$TOK/SmolLM2-135M-Instruct/tokenizer.json" "$GOLD/smollm2.chat.json"; }
t_llama3_golden() { golden_check "$TOK/llama3-8b-instruct-hf/tokenizer.json" "$GOLD/llama3.chat.json"; }

t_stdin_and_object_form() {
  echo '{"messages":[{"role":"user","content":"Hi"}]}' | "$SMOL" chat-format -m "$TOK/SmolLM2-135M-Instruct" - > "$TMP/out"
  printf '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' > "$TMP/want"
  cmp "$TMP/out" "$TMP/want"
}

t_override_template() {
  echo '[{"role":"user","content":" Hi "}]' | "$SMOL" chat-format -m "$TOK/SmolLM2-135M-Instruct" --chat-template llama3 > "$TMP/out"
  printf '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' > "$TMP/want"
  cmp "$TMP/out" "$TMP/want"
  echo '[{"role":"user","content":"x"}]' | "$SMOL" chat-format --chat-template chatml --add-generation-prompt > "$TMP/out"
  printf '<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n' > "$TMP/want"
  cmp "$TMP/out" "$TMP/want"
}

t_gguf_model() {  # a made model carries a ChatML tokenizer.chat_template
  "$SMOL" make-model --arch tiny -o "$TMP/tiny.gguf" 2> /dev/null
  echo '[{"role":"user","content":"Hi"}]' | "$SMOL" chat-format -m "$TMP/tiny.gguf" --add-generation-prompt > "$TMP/out"
  printf '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n' > "$TMP/want"
  cmp "$TMP/out" "$TMP/want"
}

t_bad_json_names_position() {
  set +e
  printf '[{"role":"user",\n "content": oops}]' > "$TMP/bad.json"
  "$SMOL" chat-format -m "$TOK/SmolLM2-135M-Instruct" "$TMP/bad.json" > "$TMP/out" 2> "$TMP/err"
  [ $? -eq 1 ] || fail "exit code"
  grep -q "^smol chat-format: .*bad.json: invalid JSON at byte [0-9]* (line 2)" "$TMP/err" || fail "$(cat "$TMP/err")"
  [ ! -s "$TMP/out" ] || fail "output on error"
}

t_bad_usage_exit_2() {
  set +e
  "$SMOL" chat-format --bogus 2> "$TMP/err"; [ $? -eq 2 ] || fail "unknown flag"
  "$SMOL" chat-format < /dev/null 2> "$TMP/err"; [ $? -eq 2 ] || fail "no model"
  echo '[]' | "$SMOL" chat-format --chat-template vicuna 2> "$TMP/err"; [ $? -eq 2 ] || fail "bad template name"
  grep -q "smollm2" "$TMP/err" || fail "names not listed: $(cat "$TMP/err")"
}

t_model_without_template() {
  set +e
  echo '[]' | "$SMOL" chat-format -m "$SMOL_TEST_DATA/hf-golden/smollm2-tiny/model" 2> "$TMP/err"
  [ $? -eq 1 ] && grep -q "no chat template" "$TMP/err" || fail "$(cat "$TMP/err")"
}

t_alternation_error() {
  set +e
  echo '[{"role":"assistant","content":"x"}]' | "$SMOL" chat-format --chat-template llama2 2> "$TMP/err"
  [ $? -eq 1 ] && grep -q "alternate" "$TMP/err" || fail "$(cat "$TMP/err")"
}

run_tests
