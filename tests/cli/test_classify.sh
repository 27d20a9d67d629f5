# test_classify.sh: smol classify and smol langid against Debian's fastText 0.9.2 (/usr/bin/fasttext)
# and its golden outputs: predictions, test metrics, models that fastText loads, training
# quality, quantization, JSONL scoring, ensembles (numpy oracle) and errors.
source "$(dirname "$0")/lib.sh"
FT=$SMOL_TEST_DATA/fasttext
C=$FT/cooking
PY=/usr/bin/python3

# compare_pred A B: fastText predict-prob outputs, labels identical and probabilities within 1e-4
compare_pred() {
  $PY - "$1" "$2" <<'EOF'
import sys
a = open(sys.argv[1]).read().split('\n'); b = open(sys.argv[2]).read().split('\n')
assert len(a) == len(b), f"{len(a)} lines vs {len(b)}"
for i, (x, y) in enumerate(zip(a, b)):
    x, y = x.split(), y.split()
    if x[0::2] != y[0::2] or any(abs(float(p) - float(q)) > 1e-4 for p, q in zip(x[1::2], y[1::2])):
        sys.exit(f"line {i+1}: got {x} expected {y}")
EOF
}

# p_at_1 TEST_OUTPUT: the P@1 value
p_at_1() { awk -F'\t' '$1 == "P@1" {print $2}' "$1"; }

t_predict_prob_matches_golden() {
  "$SMOL" classify predict-prob "$C/cooking_small.ftz" "$C/golden/cooking.valid.nolabels.txt" 3 > "$TMP/p.txt"
  compare_pred "$TMP/p.txt" "$C/golden/cooking_small.ftz.predict_prob_k3.expected.txt"
  "$SMOL" classify predict-prob "$FT/lid.176.ftz" - 3 < "$FT/golden/lid176_inputs.txt" > "$TMP/l.txt"
  compare_pred "$TMP/l.txt" "$FT/golden/lid176_predict_prob_k3.expected.txt"
}

t_predict_matches_fasttext_with_threshold() {
  head -500 "$C/golden/cooking.valid.nolabels.txt" > "$TMP/in.txt"
  "$SMOL" classify predict "$C/cooking_small.bin" "$TMP/in.txt" 4 0.05 > "$TMP/ours.txt"
  fasttext predict "$C/cooking_small.bin" "$TMP/in.txt" 4 0.05 > "$TMP/theirs.txt"
  cmp "$TMP/ours.txt" "$TMP/theirs.txt" || { diff "$TMP/ours.txt" "$TMP/theirs.txt" | head -5; return 1; }
}

t_test_metrics_match_golden() {
  "$SMOL" classify test "$C/cooking_small.bin" "$C/cooking.valid.txt" > "$TMP/t1.txt"
  "$SMOL" classify test "$C/cooking_small.bin" "$C/cooking.valid.txt" 5 > "$TMP/t5.txt"
  "$SMOL" classify test "$C/cooking_small.ftz" "$C/cooking.valid.txt" 1 > "$TMP/tq.txt"
  cat "$TMP/t1.txt" "$TMP/t5.txt" "$TMP/tq.txt" > "$TMP/all.txt"
  grep -v '^#' "$C/golden/test_metrics.expected.txt" > "$TMP/want.txt"
  diff "$TMP/all.txt" "$TMP/want.txt"
  "$SMOL" classify test "$C/cooking_small.bin" "$C/cooking.valid.txt" --per-label | grep -q 'F1-Score : .*__label__baking'
}

# Both tools train with the same flags; fastText loads our model and predicts what we predict;
# our P@1 is within 1 point of fastText's (or better).
t_train_matches_fasttext() {
  flags="-dim 16 -epoch 5 -lr 0.5 -wordNgrams 2 -bucket 20000 -loss hs -thread 1"
  "$SMOL" classify supervised -input "$C/cooking.train.txt" -output "$TMP/ours" $flags -verbose 0
  fasttext supervised -input "$C/cooking.train.txt" -output "$TMP/theirs" $flags -verbose 0 > /dev/null
  fasttext test "$TMP/ours.bin" "$C/cooking.valid.txt" > "$TMP/ours_by_ft.txt"
  "$SMOL" classify test "$TMP/ours.bin" "$C/cooking.valid.txt" > "$TMP/ours_by_us.txt"
  diff "$TMP/ours_by_ft.txt" "$TMP/ours_by_us.txt"
  fasttext test "$TMP/theirs.bin" "$C/cooking.valid.txt" > "$TMP/theirs.txt"
  ours=$(p_at_1 "$TMP/ours_by_us.txt"); theirs=$(p_at_1 "$TMP/theirs.txt")
  echo "P@1 ours $ours fastText $theirs"
  awk -v a="$ours" -v b="$theirs" 'BEGIN { exit !(a >= b - 0.01) }' || fail "P@1 $ours is more than 1 point below fastText's $theirs"
  fasttext predict "$TMP/ours.bin" "$C/golden/cooking.valid.nolabels.txt" 2 > "$TMP/ft_pred.txt"
  "$SMOL" classify predict "$TMP/ours.bin" "$C/golden/cooking.valid.nolabels.txt" 2 > "$TMP/our_pred.txt"
  cmp "$TMP/ft_pred.txt" "$TMP/our_pred.txt"
}

# Hogwild training with 2 threads still learns (fastText gets P@1 0.431 with these flags and 1 thread).
t_train_two_threads() {
  "$SMOL" classify supervised -input "$C/cooking.train.txt" -output "$TMP/t2" -dim 16 -epoch 5 -lr 0.5 \
    -wordNgrams 2 -bucket 20000 -loss hs -thread 2 -verbose 0
  fasttext test "$TMP/t2.bin" "$C/cooking.valid.txt" > "$TMP/t2.txt"
  p=$(p_at_1 "$TMP/t2.txt")
  awk -v a="$p" 'BEGIN { exit !(a >= 0.41) }' || fail "P@1 $p with 2 threads"
}

# Our quantizer on our model, fastText's quantizer on a copy: fastText loads ours, P@1 within 2 points.
t_quantize_loads_in_fasttext() {
  "$SMOL" classify supervised -input "$C/cooking.train.txt" -output "$TMP/m" -dim 16 -epoch 5 -lr 0.5 \
    -wordNgrams 2 -bucket 20000 -loss hs -thread 1 -verbose 0
  cp "$TMP/m.bin" "$TMP/f.bin"
  "$SMOL" classify quantize -output "$TMP/m" -qnorm -cutoff 4000
  fasttext quantize -input "$C/cooking.train.txt" -output "$TMP/f" -qnorm -cutoff 4000 > /dev/null 2>&1
  fasttext test "$TMP/m.ftz" "$C/cooking.valid.txt" > "$TMP/qm.txt"
  fasttext test "$TMP/f.ftz" "$C/cooking.valid.txt" > "$TMP/qf.txt"
  a=$(p_at_1 "$TMP/qm.txt"); b=$(p_at_1 "$TMP/qf.txt")
  echo "quantized P@1 ours $a fastText $b"
  awk -v a="$a" -v b="$b" 'BEGIN { exit !(a >= b - 0.02) }' || fail "quantized P@1 $a vs fastText $b"
  fasttext predict-prob "$TMP/m.ftz" "$C/golden/cooking.valid.nolabels.txt" 2 > "$TMP/qa.txt"
  "$SMOL" classify predict-prob "$TMP/m.ftz" "$C/golden/cooking.valid.nolabels.txt" 2 > "$TMP/qb.txt"
  compare_pred "$TMP/qb.txt" "$TMP/qa.txt"
}

t_langid_text_and_jsonl() {
  "$SMOL" langid -m "$FT/lid.176.ftz" --quiet "$FT/golden/lid176_inputs.txt" > "$TMP/lang.txt"
  cut -f1 "$TMP/lang.txt" | awk '{print "__label__" $1}' > "$TMP/ours.txt"
  fasttext predict "$FT/lid.176.ftz" "$FT/golden/lid176_inputs.txt" > "$TMP/theirs.txt"
  diff "$TMP/ours.txt" "$TMP/theirs.txt"
  # JSONL: newlines in the text count as spaces; the score is fastText's on the joined line
  $PY - "$FT/golden/lid176_inputs.txt" "$TMP/docs.jsonl" "$TMP/joined.txt" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')[:-1]
with open(sys.argv[2], 'w') as d, open(sys.argv[3], 'w') as j:
    for i in range(0, len(lines) - 1, 2):
        text = lines[i] + '\n' + lines[i + 1]
        d.write(json.dumps({'id': i, 'text': text, 'metadata': {'src': 'x'}}, ensure_ascii=False) + '\n')
        j.write(text.replace('\n', ' ') + '\n')
EOF
  "$SMOL" langid -m "$FT/lid.176.ftz" --quiet "$TMP/docs.jsonl" -o "$TMP/out.jsonl"
  fasttext predict-prob "$FT/lid.176.ftz" "$TMP/joined.txt" > "$TMP/want.txt"
  $PY - "$TMP/out.jsonl" "$TMP/want.txt" "$TMP/docs.jsonl" <<'EOF'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
want = [l.split() for l in open(sys.argv[2])]
src = [json.loads(l) for l in open(sys.argv[3])]
assert len(out) == len(want) == len(src), (len(out), len(want))
for o, w, s in zip(out, want, src):
    assert o['id'] == s['id'] and o['text'] == s['text'] and o['metadata'] == s['metadata'], o
    assert '__label__' + o['language'] == w[0], (o, w)
    assert abs(o['language_score'] - float(w[1])) < 1e-4, (o, w)
EOF
  "$SMOL" langid -m "$FT/lid.176.ftz" --quiet --min-score 0.99 "$TMP/docs.jsonl" > "$TMP/hi.jsonl"
  n=$(awk '$2 >= 0.99' "$TMP/want.txt" | wc -l)
  [ "$(wc -l < "$TMP/hi.jsonl")" -eq "$n" ] || fail "--min-score 0.99 kept $(wc -l < "$TMP/hi.jsonl"), expected $n"
}

t_score_jsonl_keep_order_and_compression() {
  $PY - "$C/cooking.valid.txt" "$TMP/d.jsonl" <<'EOF'
import json, sys
with open(sys.argv[2], 'w') as d:
    for i, l in enumerate(open(sys.argv[1])):
        if i >= 400: break
        words = [w for w in l.split() if not w.startswith('__label__')]
        d.write(json.dumps({'id': i, 'text': ' '.join(words), 'metadata': {'n': i}}) + '\n')
EOF
  gzip -c "$TMP/d.jsonl" > "$TMP/d.jsonl.gz"
  # the zstd command is not a build dependency (tests/test_jsonl.c covers zstd input with libzstd)
  if command -v zstd > /dev/null; then zstd -q -c "$TMP/d.jsonl" > "$TMP/d.jsonl.zst"; else cp "$TMP/d.jsonl" "$TMP/d.jsonl.zst"; fi
  M="$C/cooking_small.bin"
  "$SMOL" classify score -m "$M" --label __label__baking --quiet --threads 2 "$TMP/d.jsonl" -o "$TMP/s.jsonl"
  "$SMOL" classify score -m "$M" --label __label__baking --quiet "$TMP/d.jsonl.gz" -o "$TMP/sg.jsonl"
  "$SMOL" classify score -m "$M" --label __label__baking --quiet "$TMP/d.jsonl.zst" -o "$TMP/sz.jsonl"
  cmp "$TMP/s.jsonl" "$TMP/sg.jsonl"
  cmp "$TMP/s.jsonl" "$TMP/sz.jsonl"
  "$SMOL" classify score -m "$M" --label __label__baking --keep 'score>=0.05' --quiet "$TMP/d.jsonl" -o "$TMP/k.jsonl"
  $PY -c 'import json,sys; [print(json.loads(l)["text"]) for l in open(sys.argv[1])]' "$TMP/d.jsonl" > "$TMP/texts.txt"
  fasttext predict-prob "$M" "$TMP/texts.txt" -1 > "$TMP/all.txt"
  $PY - "$TMP/s.jsonl" "$TMP/k.jsonl" "$TMP/all.txt" <<'EOF'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
k = [json.loads(l) for l in open(sys.argv[2])]
ft = []
for l in open(sys.argv[3]):
    t = l.split(); d = dict(zip(t[0::2], map(float, t[1::2])))
    ft.append(d.get('__label__baking', 0.0))
assert [d['id'] for d in s] == list(range(400)), "order"
assert all(d['metadata']['n'] == d['id'] for d in s), "metadata kept"
for d, p in zip(s, ft):
    assert abs(d['metadata']['cooking_small_score'] - p) < 1e-4, (d['id'], d['metadata'], p)
want = [d['id'] for d, p in zip(s, ft) if d['metadata']['cooking_small_score'] >= 0.05]
assert [d['id'] for d in k] == want, "keep"
assert 0 < len(want) < 400, len(want)
EOF
}

# A 0..5 model: --regression writes sum(p_i * i) and round(clamp) as int_score.
t_score_regression() {
  $PY - "$TMP/r.txt" <<'EOF'
import random, sys
random.seed(1)
vocab = [f"w{i}" for i in range(60)]
with open(sys.argv[1], 'w') as f:
    for n in range(3000):
        y = random.randint(0, 5)
        words = [vocab[min(59, max(0, int(random.gauss(y * 10 + 5, 6))))] for _ in range(8)]
        f.write(f"__label__{y} " + " ".join(words) + "\n")
EOF
  "$SMOL" classify supervised -input "$TMP/r.txt" -output "$TMP/edu" -dim 8 -epoch 5 -lr 0.5 -thread 1 -verbose 0
  head -50 "$TMP/r.txt" | sed 's/^__label__[0-9] //' > "$TMP/rt.txt"
  $PY -c 'import json,sys; [print(json.dumps({"text": l.strip()})) for l in open(sys.argv[1])]' "$TMP/rt.txt" > "$TMP/r.jsonl"
  "$SMOL" classify score -m "$TMP/edu.bin" --regression --quiet "$TMP/r.jsonl" -o "$TMP/rs.jsonl"
  fasttext predict-prob "$TMP/edu.bin" "$TMP/rt.txt" -1 > "$TMP/rp.txt"
  $PY - "$TMP/rs.jsonl" "$TMP/rp.txt" <<'EOF'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
for d, l in zip(docs, open(sys.argv[2])):
    t = l.split(); p = [(int(a[9:]), float(b)) for a, b in zip(t[0::2], t[1::2])]
    e = sum(i * q for i, q in p) / sum(q for _, q in p)
    m = d['metadata']
    assert abs(m['edu_score'] - e) < 1e-3, (m, e)
    assert m['edu_int_score'] == int(round(min(5, max(0, e)))) or abs(e - round(e)) > 0.499, (m, e)
EOF
}

# The ensemble against numpy: byte-weighted percentile edges, np.digitize, max bin, level = bin // 4.
t_ensemble_matches_numpy() {
  $PY - "$TMP/e.jsonl" <<'EOF'
import json, random, sys
random.seed(7)
with open(sys.argv[1], 'w') as f:
    for i in range(500):
        f.write(json.dumps({"id": i, "text": "x" * random.randint(1, 300),
                            "metadata": {"a_score": random.random(), "b_score": random.random() ** 3}}) + "\n")
EOF
  "$SMOL" classify ensemble --fields metadata.a_score,metadata.b_score "$TMP/e.jsonl" -o "$TMP/eo.jsonl" 2> "$TMP/log"
  $PY - "$TMP/e.jsonl" "$TMP/eo.jsonl" <<'EOF'
import json, sys
import numpy as np
docs = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
w = np.array([len(d['text']) for d in docs], dtype=float)
bins = []
for key in ('a_score', 'b_score'):
    s = np.array([d['metadata'][key] for d in docs])
    o = np.argsort(s, kind='stable'); cw = np.cumsum(w[o])
    edges = [s[o][np.searchsorted(cw, w.sum() * p / 100.0 - 1e-9 * w.sum())] for p in range(5, 100, 5)]
    bins.append(np.digitize(s, edges))
best = np.maximum(*bins)
for d, b in zip(out, best):
    assert d['metadata']['ensemble_bin'] == b, (d['id'], d['metadata'], b)
    assert d['metadata']['quality_level'] == b // 4
assert len(set(int(b) for b in best)) > 10
EOF
}

t_errors() {
  set +e
  "$SMOL" classify predict 2> "$TMP/e1"; [ $? -eq 2 ] || fail "missing args: not exit 2"
  "$SMOL" classify nosuch 2> "$TMP/e1"; [ $? -eq 2 ] || fail "unknown subcommand: not exit 2"
  "$SMOL" classify supervised -input x -output y -loss bogus 2> "$TMP/e1"; [ $? -eq 2 ] || fail "bad -loss"
  "$SMOL" classify score -m "$C/cooking_small.bin" --keep 'size>3' x -o y 2> "$TMP/e1"; [ $? -eq 2 ] || fail "bad --keep"
  head -c 100000 "$C/cooking_small.bin" > "$TMP/trunc.bin"
  "$SMOL" classify predict "$TMP/trunc.bin" "$C/cooking.valid.txt" 2> "$TMP/e2"; rc=$?
  [ $rc -eq 1 ] && grep -q "smol classify: .*trunc.bin: truncated" "$TMP/e2" || fail "truncated model: rc $rc $(cat "$TMP/e2")"
  : > "$TMP/empty.txt"
  "$SMOL" classify supervised -input "$TMP/empty.txt" -output "$TMP/x" -verbose 0 2> "$TMP/e3"; rc=$?
  [ $rc -eq 1 ] && grep -q "empty training file" "$TMP/e3" || fail "empty training file: rc $rc $(cat "$TMP/e3")"
  printf '{"text": "ok"}\n{"text": broken\n' > "$TMP/bad.jsonl"
  "$SMOL" classify score -m "$C/cooking_small.bin" --quiet "$TMP/bad.jsonl" -o "$TMP/never.jsonl" 2> "$TMP/e4"; rc=$?
  [ $rc -eq 1 ] && grep -q "bad.jsonl:2: invalid JSON" "$TMP/e4" || fail "bad JSONL: rc $rc $(cat "$TMP/e4")"
  [ ! -e "$TMP/never.jsonl" ] || fail "output written after a failure"
  return 0
}
run_tests
