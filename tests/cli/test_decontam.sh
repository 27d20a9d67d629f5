# test_decontam.sh: smol decontam against Cosmopedia's decontamination rule rebuilt in Python
# (unicodedata NFD, \w+ words, 10-gram candidates, difflib.SequenceMatcher blocks > 5 chars,
# ratio > 0.5): the ratio recorded for every candidate pair, the kept/dropped split of a mixed
# corpus, file and directory outputs, and errors.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
WP=$SMOL_TEST_DATA/corpora/war-and-peace.txt

# make_data DIR: bench.jsonl (war-and-peace sentences of 12 to 60 words as items) and
# docs.jsonl: documents that copy, mutate, splice or merely touch benchmark items, and clean ones.
make_data() {
  $PY - "$WP" "$1" <<'PYEOF'
import json, random, sys
text = open(sys.argv[1], encoding="utf-8").read()
sents = [s.strip().replace("\n", " ") for s in text[200000:600000].split(".") if 12 <= len(s.split()) <= 60]
rng = random.Random(7)
bench = sents[:150]
others = sents[150:]
with open(sys.argv[2] + "/bench.jsonl", "w") as f:
    for b in bench: f.write(json.dumps({"text": b + "?"}) + "\n")
docs = []
for i in range(400):
    b = rng.choice(bench).split()
    kind = i % 5
    if kind == 0:    # the item inside other text, case changed
        d = rng.choice(others) + ". " + " ".join(b).upper() + ". " + rng.choice(others)
    elif kind == 1:  # words of the item replaced at random
        w = list(b)
        for _ in range(rng.randint(1, max(1, len(w) // 3))): w[rng.randrange(len(w))] = rng.choice(["alpha", "beta", "gamma"])
        d = " ".join(w)
    elif kind == 2:  # a 10-to-14-word span of the item in a long document
        k = rng.randint(10, min(14, len(b))); s = rng.randint(0, len(b) - k)
        d = " ".join(rng.choice(others) for _ in range(4)) + " " + " ".join(b[s:s + k]) + " " + rng.choice(others)
    elif kind == 3:  # a prefix of the item
        d = " ".join(b[:max(10, len(b) * rng.randint(3, 9) // 10)])
    else:            # clean text
        d = rng.choice(others)
    docs.append({"id": i, "text": d})
with open(sys.argv[2] + "/docs.jsonl", "w") as f:
    for d in docs: f.write(json.dumps(d) + "\n")
PYEOF
}

# The Cosmopedia rule in Python: tokenize, n-grams, and add_match_stats's diff_ratio.
cosmo() {
  cat > "$D/cosmo.py" <<'PYEOF'
import difflib, json, re, sys, unicodedata
def tokenize(text):
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return re.findall(r"\w+", text.lower())
def ngrams(t, n): return set(zip(*[t[i:] for i in range(n)]))
def ratio(doc, bench):
    g, b = " ".join(tokenize(doc)), " ".join(tokenize(bench))
    m = difflib.SequenceMatcher(None, g.lower(), b.lower(), autojunk=False)
    parts = [g[i:i + k] for i, j, k in m.get_matching_blocks() if k > 5]
    match = " ".join("".join(parts).split())
    return len(match) / len(b) if b else 0
PYEOF
}

t_ratios_match_difflib() {
  D=$(mktemp -d -p "$TMP")
  make_data "$D" && cosmo || return 1
  # threshold 0: every candidate is dropped with the ratio of the first item it meets
  "$SMOL" decontam --bench "$D/bench.jsonl" --threshold 0 "$D/docs.jsonl" -o "$D/k.jsonl" --exclusions "$D/x.jsonl" -q > /dev/null || return 1
  $PY - "$D" <<'PYEOF' || return 1
import json, sys
sys.path.insert(0, sys.argv[1]); from cosmo import ratio
bench = [json.loads(l)["text"] for l in open(sys.argv[1] + "/bench.jsonl")]
docs = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1] + "/docs.jsonl")}
n = 0
for l in open(sys.argv[1] + "/x.jsonl"):
    r = json.loads(l); m = r["metadata"]["decontam"]
    want = ratio(docs[r["id"]], bench[m["item"]])
    assert abs(m["ratio"] - want) < 1e-12, f"doc {r['id']} item {m['item']}: ratio {m['ratio']} difflib {want}"
    n += 1
print(f"{n} ratios equal to difflib's")
assert n > 250
PYEOF
}

t_kept_and_dropped_match_rule() {
  D=$(mktemp -d -p "$TMP")
  make_data "$D" && cosmo || return 1
  "$SMOL" decontam --bench "$D/bench.jsonl" "$D/docs.jsonl" -o "$D/out" --exclusions "$D/x.jsonl" > "$D/st.txt" 2> "$D/log.txt" || return 1
  grep -q "benchmark items" "$D/log.txt" || return 1
  $PY - "$D" <<'PYEOF' || return 1
import json, sys
sys.path.insert(0, sys.argv[1]); from cosmo import tokenize, ngrams, ratio
bench = [json.loads(l)["text"] for l in open(sys.argv[1] + "/bench.jsonl")]
index = {}
for i, b in enumerate(bench):
    for g in ngrams(tokenize(b), 10): index.setdefault(g, set()).add(i)
want_drop, want_keep = [], []
for l in open(sys.argv[1] + "/docs.jsonl"):
    d = json.loads(l)
    items = set().union(*[index.get(g, set()) for g in ngrams(tokenize(d["text"]), 10)])
    (want_drop if any(ratio(d["text"], bench[i]) > 0.5 for i in items) else want_keep).append(d["id"])
kept = [json.loads(l)["id"] for l in open(sys.argv[1] + "/out/docs.jsonl")]
dropped = [json.loads(l)["id"] for l in open(sys.argv[1] + "/x.jsonl")]
assert kept == want_keep, f"kept only by us: {sorted(set(kept) - set(want_keep))[:5]}, only by the rule: {sorted(set(want_keep) - set(kept))[:5]}"
assert dropped == want_drop
for l in open(sys.argv[1] + "/x.jsonl"):
    m = json.loads(l)["metadata"]["decontam"]
    assert m["bench"].endswith("bench.jsonl") and m["ratio"] > 0.5
print(f"kept {len(kept)}, dropped {len(dropped)}")
assert 50 < len(dropped) < 350
PYEOF
  grep -q "^dropped	[1-9]" "$D/st.txt" || return 1
  # kept records are the input lines unchanged
  grep -Fxf "$D/out/docs.jsonl" "$D/docs.jsonl" | cmp - "$D/out/docs.jsonl" || return 1
}

t_errors() {
  set +e   # the commands below are meant to fail; each line checks its status
  D=$(mktemp -d -p "$TMP")
  echo '{"text": "x"}' > "$D/a.jsonl"
  "$SMOL" decontam "$D/a.jsonl" -o "$D/o.jsonl" 2> "$D/e"; [ $? -eq 2 ] && grep -q "bench" "$D/e" || return 1
  "$SMOL" decontam --bench "$D/a.jsonl" "$D/a.jsonl" 2> "$D/e"; [ $? -eq 2 ] && grep -q "\-o" "$D/e" || return 1
  "$SMOL" decontam --bench "$D/a.jsonl" --ngram 0 "$D/a.jsonl" -o "$D/o.jsonl" 2> "$D/e"; [ $? -eq 2 ] || return 1
  "$SMOL" decontam --bench "$D/nope.jsonl" "$D/a.jsonl" -o "$D/o.jsonl" 2> "$D/e"; [ $? -eq 1 ] && grep -q "^smol decontam: .*nope.jsonl" "$D/e" || return 1
  "$SMOL" decontam --bench "$D/a.jsonl" --bench-field q "$D/a.jsonl" -o "$D/o.jsonl" 2> "$D/e"; [ $? -eq 1 ] && grep -q "a.jsonl:1: no \"q\" field" "$D/e" || return 1
  "$SMOL" decontam --bench "$D/a.jsonl" --world-size 2 "$D/a.jsonl" -o "$D/o.jsonl" 2> "$D/e"; [ $? -eq 1 ] && grep -q "world size 1" "$D/e" || return 1
}

run_tests
