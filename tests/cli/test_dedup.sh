# test_dedup.sh: smol dedup against Python oracles: MinHash signatures against datatrove's
# recipe rebuilt with numpy + hashlib (simplify_text, sha1_hash64 shingles, RandomState
# permutations), the removed set against LSH banding + union-find over those signatures,
# 1 shard vs 3 shards vs threads, reruns, exact dedup, and errors.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
WP=$SMOL_TEST_DATA/corpora/war-and-peace.txt

# The oracle: one JSON line per document with words and signature, as datatrove computes them.
oracle() {
  cat > "$TMP/oracle.py" <<'EOF'
import hashlib, json, re, struct, sys, unicodedata
import numpy as np
PUNCT = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b))))
def simplify(t):  # datatrove utils/text.py simplify_text with its default TextNormConfig
    t = t.lower()
    t = re.sub(r"\s+", " ", t.strip())
    t = t.translate(str.maketrans("", "", PUNCT))
    t = "".join(c for c in unicodedata.normalize("NFD", t) if unicodedata.category(c) != "Mn")
    return re.sub(r"\d+", "0", t).strip()
SPLITS = {"cannot": 3, "gimme": 3, "gonna": 3, "gotta": 3, "lemme": 3, "wanna": 3}
def words(t):  # what NLTK's word_tokenize does to such text: whitespace, ‘ and CONTRACTIONS2
    out = []
    for w in t.replace("\u2018", " \u2018 ").split():
        k = SPLITS.get(w)
        out += [w[:k], w[k:]] if k else [w]
    return out
P = np.uint64((1 << 61) - 1)
n, nb, hb, seed = (int(x) for x in sys.argv[2:6])
gen = np.random.RandomState(seed)
a = gen.randint(1, P, dtype=np.uint64, size=(1, nb * hb))
b = gen.randint(0, P, dtype=np.uint64, size=(1, nb * hb))
with np.errstate(over="ignore"):
    for path in sys.argv[1].split(","):
        for i, line in enumerate(l for l in open(path, encoding="utf-8") if l.strip()):
            w = words(simplify(json.loads(line)["text"]))
            sh = [struct.unpack("<Q", hashlib.sha1(" ".join(w[j:j + n]).encode()).digest()[:8])[0]
                  for j in range(len(w) - n + 1)]
            sig = []
            if sh:
                phv = (np.array(sh, dtype=np.uint64).reshape(-1, 1) * a + b) % P
                sig = [str(x) for x in np.min(phv, axis=0).tolist()]
            print(json.dumps({"doc": i, "words": " ".join(w), "shingles": len(sh), "signature": sig}))
EOF
  $PY "$TMP/oracle.py" "$@"
}

# same_lines A B: the JSON lines of A and B are equal as JSON; prints the first difference
same_json_lines() {
  $PY - "$1" "$2" <<'EOF'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b), f"{len(a)} lines vs {len(b)}"
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        k = next(k for k in x if x[k] != y.get(k))
        sys.exit(f"line {i + 1}: {k}: got {str(x[k])[:200]} expected {str(y.get(k))[:200]}")
EOF
}

# corpus DIR: war-and-peace paragraphs in 5 files, with exact copies and one-word edits planted
corpus() {
  mkdir -p "$1"
  $PY - "$WP" "$1" <<'EOF'
import json, random, sys
paras = [p for p in open(sys.argv[1], encoding="utf-8").read().split("\n\n") if len(p.split()) >= 8][:700]
rng = random.Random(5)
docs = []
for i, p in enumerate(paras):
    docs.append(p)
    if i % 9 == 4: docs.append(rng.choice(docs[:-1]))                     # an exact copy of an earlier one
    if i % 7 == 3:                                                       # a one-word edit of a long one
        w = rng.choice([d for d in docs if len(d.split()) > 60]).split()
        w[len(w) // 2] = "EDITED"; docs.append(" ".join(w))
for f in range(5):
    with open(f"{sys.argv[2]}/part{f}.jsonl", "w") as out:
        for j, d in enumerate(docs[f::5]):
            out.write(json.dumps({"id": f"{f}-{j}", "text": d, "meta": {"f": f}}) + "\n")
EOF
}

t_signatures_match_datatrove_recipe() {
  D=$(mktemp -d -p "$TMP")
  cat > "$D/u.jsonl" <<'EOF' || return 1
{"text": "  Héllo   Wörld: naïve café — 1,000 apples\tand 42 pears; it's 2024.\n\nNew line here too."}
{"text": "I cannot go, I'm gonna stay; wanna come? Gimme   the KEY lemme see. gotta go"}
{"text": "Ünïcödé ‘quoted’ text ΣΊΣΥΦΟΣ Ελληνικά 中文文本，测试。 ١٢٣ digits ½ ² done"}
{"text": "short text"}
{"text": "Tabs\tand\u000bvertical\u001cseparators\u0085next\u00a0nbsp\u2003em space\u3000ideographic end"}
{"text": "ﬁ ligature Ｆｕｌｌｗｉｄｔｈ １２３ ＡＢＣ x-ray e-mail foo_bar a/b c\\d (paren) [brack] {brace}"}
{"text": "Straße İstanbul ǅemal ΑΒΓ Ωμέγα final σ ς DŽ ǈ naïveté coöperate résumé"}
EOF
  head -c 400000 "$WP" | $PY -c "
import json, sys
for p in sys.stdin.read().split('\n\n'):
    if p.strip(): print(json.dumps({'text': p}))" >> "$D/u.jsonl" || return 1
  "$SMOL" dedup minhash show "$D/u.jsonl" > "$D/ours.jsonl" || return 1
  oracle "$D/u.jsonl" 5 14 8 1 > "$D/theirs.jsonl" || return 1
  same_json_lines "$D/ours.jsonl" "$D/theirs.jsonl" || return 1
  echo "$(wc -l < "$D/ours.jsonl") documents identical"
  # the scalar path (SMOL_CPU=scalar) gives the same bytes as the SIMD one
  SMOL_CPU=scalar "$SMOL" dedup minhash show "$D/u.jsonl" | cmp - "$D/ours.jsonl" || return 1
  "$SMOL" dedup minhash show --ngram 3 --buckets 4 --hashes 5 --seed 7 "$D/u.jsonl" > "$D/ours2.jsonl" || return 1
  oracle "$D/u.jsonl" 3 4 5 7 > "$D/theirs2.jsonl" || return 1
  same_json_lines "$D/ours2.jsonl" "$D/theirs2.jsonl" || return 1
}

# The removed documents equal what LSH banding + union-find (keep the first by file, index)
# over the oracle's signatures removes; 1 shard, 3 shards and 2 threads write the same bytes.
t_stages_match_oracle_and_shards_agree() {
  D=$(mktemp -d -p "$TMP")
  corpus "$D/in" || return 1
  gzip -k "$D/in/part4.jsonl" && rm "$D/in/part4.jsonl" || return 1
  "$SMOL" dedup minhash all "$D/in" -o "$D/o1" --exclusions "$D/x1" > "$D/st1.txt" || return 1
  "$SMOL" dedup minhash all "$D/in" -o "$D/ot" --work "$D/wt" -t 2 -q > /dev/null || return 1
  for stage in signatures buckets clusters filter; do
    for r in 0 1 2; do
      "$SMOL" dedup minhash $stage "$D/in" --work "$D/w3" -o "$D/o3" --exclusions "$D/x3" \
        --rank $r --world-size 3 -q > /dev/null || return 1
    done
  done
  for f in part0.jsonl part1.jsonl part2.jsonl part3.jsonl part4.jsonl.gz; do
    cmp "$D/o1/$f" "$D/o3/$f" && cmp "$D/o1/$f" "$D/ot/$f" && cmp "$D/x1/$f" "$D/x3/$f" || return 1
  done
  for f in part0 part1 part2 part3; do oracle_in="${oracle_in:+$oracle_in,}$D/in/$f.jsonl"; done
  gunzip -c "$D/in/part4.jsonl.gz" > "$D/part4.jsonl" || return 1
  oracle "$oracle_in,$D/part4.jsonl" 5 14 8 1 > "$D/sigs.jsonl" || return 1
  $PY - "$D/sigs.jsonl" "$D/in" "$D/x1" "$D/o1" <<'EOF' || return 1
import gzip, json, os, sys
sigs = [json.loads(l) for l in open(sys.argv[1])]
names = ["part0.jsonl", "part1.jsonl", "part2.jsonl", "part3.jsonl", "part4.jsonl.gz"]
ids = []
for n in names:
    op = gzip.open if n.endswith(".gz") else open
    ids += [json.loads(l)["id"] for l in op(os.path.join(sys.argv[2], n), "rt")]
assert len(ids) == len(sigs)
parent = list(range(len(ids)))
def find(x):
    while parent[x] != x: parent[x] = parent[parent[x]]; x = parent[x]
    return x
for b in range(14):
    seen = {}
    for i, s in enumerate(sigs):
        if not s["signature"]: continue
        key = tuple(s["signature"][8 * b:8 * b + 8])
        if key in seen:
            x, y = find(seen[key]), find(i)
            parent[max(x, y)] = min(x, y)
        else: seen[key] = i
want = {ids[i] for i in range(len(ids)) if find(i) != i}
got = set()
for n in names:
    p = os.path.join(sys.argv[3], n)
    op = gzip.open if n.endswith(".gz") else open
    for l in op(p, "rt"):
        r = json.loads(l); got.add(r["id"])
        assert "minhash_cluster" in r and "minhash_duplicate_of" in r, r
kept = sum(1 for n in names for _ in (gzip.open if n.endswith(".gz") else open)(os.path.join(sys.argv[4], n), "rt"))
print(f"{len(ids)} docs, oracle removes {len(want)}, we removed {len(got)}, kept {kept}")
assert got == want, f"only ours: {sorted(got - want)[:5]} only oracle: {sorted(want - got)[:5]}"
assert kept + len(got) == len(ids)
EOF
  grep -q "^removed	[1-9]" "$D/st1.txt" || return 1
}

t_rerun_skips_finished_work() {
  D=$(mktemp -d -p "$TMP")
  corpus "$D/in" || return 1
  "$SMOL" dedup minhash all "$D/in" -o "$D/o" -q > /dev/null || return 1
  "$SMOL" dedup minhash all "$D/in" -o "$D/o" > "$D/again.txt" 2> "$D/err.txt" || return 1
  # 5 signature files + 14 buckets + clusters + 5 filtered files
  grep -q "^skipped	25$" "$D/again.txt" || { cat "$D/again.txt"; return 1; }
  grep -q "^docs	0$" "$D/again.txt" || return 1
  # a stage given other inputs than its work directory was made for is refused
  if "$SMOL" dedup minhash buckets "$D/in/part0.jsonl" --work "$D/o.work" 2> "$D/e.txt"; then return 1; fi
  grep -q "other inputs" "$D/e.txt" || return 1
}

t_exact_keeps_first_copy() {
  D=$(mktemp -d -p "$TMP")
  corpus "$D/in" || return 1
  "$SMOL" dedup exact "$D/in" -o "$D/o" --exclusions "$D/x" > "$D/st.txt" || return 1
  $PY - "$D/in" "$D/o" "$D/x" <<'EOF' || return 1
import json, os, sys
seen, want_kept, want_rm = set(), [], []
for n in sorted(os.listdir(sys.argv[1])):
    for l in open(os.path.join(sys.argv[1], n)):
        r = json.loads(l)
        (want_rm if r["text"] in seen else want_kept).append(r["id"]); seen.add(r["text"])
kept = [json.loads(l)["id"] for n in sorted(os.listdir(sys.argv[2])) for l in open(os.path.join(sys.argv[2], n))]
rm = [json.loads(l)["id"] for n in sorted(os.listdir(sys.argv[3])) for l in open(os.path.join(sys.argv[3], n))]
assert kept == want_kept and rm == want_rm, (len(kept), len(want_kept), len(rm), len(want_rm))
print(f"kept {len(kept)} removed {len(rm)}")
EOF
  grep -q "^removed	[1-9]" "$D/st.txt" || return 1
}

t_errors() {
  set +e   # the commands below are meant to fail; each line checks its status
  D=$(mktemp -d -p "$TMP")
  "$SMOL" dedup 2> "$D/e"; [ $? -eq 2 ] || return 1
  "$SMOL" dedup minhash frobnicate x 2> "$D/e"; [ $? -eq 2 ] && grep -q "unknown minhash stage" "$D/e" || return 1
  "$SMOL" dedup minhash all x.jsonl 2> "$D/e"; [ $? -eq 2 ] && grep -q "needs -o" "$D/e" || return 1
  "$SMOL" dedup minhash signatures x.jsonl --work w --rank 2 --world-size 2 2> "$D/e"; [ $? -eq 2 ] || return 1
  "$SMOL" dedup exact --bogus 2> "$D/e"; [ $? -eq 2 ] && grep -q "unknown option" "$D/e" || return 1
  "$SMOL" dedup exact "$D/missing.jsonl" -o "$D/o" 2> "$D/e"; [ $? -eq 1 ] && grep -q "^smol dedup: .*missing.jsonl: no such file" "$D/e" || return 1
  mkdir -p "$D/in" && echo '{"text": "a"}' > "$D/in/a.jsonl" || return 1
  "$SMOL" dedup minhash buckets "$D/in" --work "$D/w" 2> "$D/e"; [ $? -eq 1 ] && grep -q "run the signatures stage" "$D/e" || return 1
  echo 'not json' > "$D/in/b.jsonl" || return 1
  "$SMOL" dedup minhash all "$D/in" -o "$D/o2" 2> "$D/e"; [ $? -eq 1 ] && grep -q "b.jsonl:1: not a JSON object" "$D/e" || return 1
}

run_tests
