#!/usr/bin/env bash
# demo.sh: the main job on bundled defaults. Makes a SmolLM2-135M-shaped model with random
# weights, inspects it, tokenizes and chat-formats a sample, and generates a few tokens from it.
# Everything is written under build/demo/. Run by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
smol=build/smol
out=build/demo
mkdir -p "$out"
step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}" >&2; "${@:2}"; }

# SmolLM2's own tokenizer when the shared test data is beside the repo, else the built-in
# byte-level vocabulary.
data="${SMOL_TEST_DATA:-../shared/data}"
tok="$data/tokenizers/SmolLM2-135M-Instruct/tokenizer.json"
tok_args=(); [ -f "$tok" ] && tok_args=(--tokenizer "$tok")
model="$out/smollm2-135m-q8_0.gguf"
if [ ! -f "$model" ]; then
  step "make a SmolLM2-135M-shaped model (random weights, Q8_0)" \
    $smol make-model --arch smollm2-135m --type q8_0 --seed 1 "${tok_args[@]}" -o "$model"
fi
step "inspect it (first lines)" bash -c "$smol inspect '$model' | head -n 24"
step "tokenize a sample" $smol tokenize -m "$model" --pieces "Small models, big data."
cat > "$out/messages.json" <<'JSON'
[{"role": "user", "content": "What is a small language model?"}]
JSON
step "chat-format a conversation" $smol chat-format -m "$model" --add-generation-prompt "$out/messages.json"
if $smol help generate >/dev/null 2>&1; then
  step "generate 24 tokens (random weights: expect gibberish, and the speed on stderr)" \
    $smol generate -m "$model" -p "Once upon a time" -n 24 --seed 1
  echo
fi
# curate a tiny corpus: a few documents in two shards, filtered, deduplicated, with stats
mkdir -p "$out/crawl"
printf '%s\n' '{"id": "a1", "text": "Small language models learn a great deal from carefully filtered web text, and the filters that clean it are simple rules about words, lines and repetition."}' \
  '{"id": "a2", "text": "too short"}' \
  '{"id": "a3", "text": "Deduplication removes repeated documents so that a model does not memorise them, and it makes every training token count for more."}' > "$out/crawl/part0.jsonl"
printf '%s\n' '{"id": "b1", "text": "Deduplication removes repeated documents so that a model does not memorise them, and it makes every training token count for more."}' \
  '{"id": "b2", "text": "A resumable pipeline writes each shard atomically and marks it done, so a crash costs only the shard that was running when it happened."}' > "$out/crawl/part1.jsonl"
cat > "$out/curate.toml" <<TOML
[input]
paths = ["$out/crawl/*.jsonl"]
[output]
dir = "$out/curated"
compression = "none"
[[stage]]
type = "filter"
name = "min_length"
[stage.options]
min_chars = 40
[[stage]]
type = "dedup_exact"
TOML
if $smol help curate >/dev/null 2>&1; then
  rm -rf "$out/curated"
  step "curate two shards (length filter, exact dedup); stats in $out/curated/stats.json" \
    $smol curate "$out/curate.toml" --quiet
  step "the kept documents" bash -c "cat '$out'/curated/0000*.jsonl"
fi
printf '\ndemo done: files in %s/\n' "$out" >&2
