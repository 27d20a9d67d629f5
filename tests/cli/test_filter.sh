# test_filter.sh: smol filter end to end: datatrove's line-level rules against a Python
# re-statement of them (fineweb_quality, gopher_repetition's line/paragraph rules), thread-count
# independence, exclusions and stats, bad records, compressed files, usage errors.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
LID=$SMOL_TEST_DATA/fasttext/lid.176.ftz

# make_docs OUT N: N JSONL documents cut from War and Peace (random line groups, some lines
# repeated, some blank lines, a few short lists), with ids and urls.
make_docs() {
  $PY - "$SMOL_TEST_DATA/corpora/war-and-peace.txt" "$1" "$2" <<'PYEOF'
import json, random, sys
random.seed(5)
lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")]
lines = [l for l in lines if l.strip()]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i in range(int(sys.argv[3])):
        k = random.randrange(len(lines) - 40)
        doc = lines[k:k + random.randint(1, 30)]
        if random.random() < 0.3: doc += random.sample(doc, min(len(doc), random.randint(1, 4)))
        if random.random() < 0.3: doc = [l if random.random() < 0.7 else l + "\n" for l in doc]
        if random.random() < 0.1: doc = ["- " + l.split(" ")[0] for l in doc]
        f.write(json.dumps({"id": f"d{i}", "text": "\n".join(doc), "url": f"http://example.com/{i}"}) + "\n")
PYEOF
}

t_fineweb_line_rules_match_python() {
  make_docs "$TMP/in.jsonl" 1500
  "$SMOL" filter --filters fineweb_quality --option fineweb_quality.new_line_ratio=1e9 -q \
    "$TMP/in.jsonl" -o "$TMP/kept.jsonl" --exclusions "$TMP/ex.jsonl"
  $PY - "$TMP/in.jsonl" "$TMP/kept.jsonl" "$TMP/ex.jsonl" <<'PYEOF'
import json, sys
def dup_chars(xs):
    seen, n = set(), 0
    for x in xs:
        if x in seen: n += len(x)
        else: seen.add(x)
    return n
def verdict(t):
    lines = t.split("\n")
    if sum(l.endswith((".", "'", '"', "!", "?")) for l in lines) / len(lines) <= 0.12: return "line_punct_ratio"
    if sum(len(l) <= 30 for l in lines) / len(lines) >= 0.67: return "short_line_ratio"
    body = len(t.replace("\n", ""))
    if body and dup_chars([l for l in lines if l.strip() != ""]) / body >= 0.01: return "char_dup_ratio"
    return None
docs = [json.loads(l) for l in open(sys.argv[1])]
kept = {json.loads(l)["id"] for l in open(sys.argv[2])}
ex = {d["id"]: d["metadata"]["filter_reason"] for d in map(json.loads, open(sys.argv[3]))}
bad = 0
for d in docs:
    want = verdict(d["text"])
    got = None if d["id"] in kept else ex.get(d["id"], "missing")
    if want != got:
        bad += 1
        if bad <= 3: print(f"{d['id']}: python says {want}, smol says {got}: {d['text'][:200]!r}")
assert not bad, f"{bad} of {len(docs)} documents differ"
assert 0 < len(kept) < len(docs), f"degenerate: kept {len(kept)} of {len(docs)}"
PYEOF
}

t_gopher_repetition_line_rules_match_python() {
  make_docs "$TMP/in.jsonl" 1500
  opts=""
  for n in 2 3 4; do opts="$opts --option gopher_repetition.top_${n}_gram=2"; done
  for n in 5 6 7 8 9 10; do opts="$opts --option gopher_repetition.dup_${n}_gram=2"; done
  "$SMOL" filter --filters gopher_repetition $opts -q "$TMP/in.jsonl" -o "$TMP/kept.jsonl" --exclusions "$TMP/ex.jsonl"
  $PY - "$TMP/in.jsonl" "$TMP/kept.jsonl" "$TMP/ex.jsonl" <<'PYEOF'
import json, re, sys
def dups(xs):
    seen, n, c = set(), 0, 0
    for x in xs:
        if x in seen: n += 1; c += len(x)
        else: seen.add(x)
    return n, c
def verdict(t):
    paras = re.split(r"\n{2,}", t.strip())
    n, c = dups(paras)
    if n / len(paras) > 0.3: return "dup_para_frac"
    if c / len(t) > 0.2: return "dup_para_char_frac"
    lines = re.split("\n+", t)
    n, c = dups(lines)
    if n / len(lines) > 0.3: return "dup_line_frac"
    if c / len(t) > 0.2: return "dup_line_char_frac"
    return None
docs = [json.loads(l) for l in open(sys.argv[1])]
kept = {json.loads(l)["id"] for l in open(sys.argv[2])}
ex = {d["id"]: d["metadata"]["filter_reason"] for d in map(json.loads, open(sys.argv[3]))}
bad = 0
for d in docs:
    want = verdict(d["text"])
    got = None if d["id"] in kept else ex.get(d["id"], "missing")
    if want != got:
        bad += 1
        if bad <= 3: print(f"{d['id']}: python says {want}, smol says {got}: {d['text'][:200]!r}")
assert not bad, f"{bad} of {len(docs)} documents differ"
assert len(ex) > 20, f"only {len(ex)} dropped"
PYEOF
}

t_recipe_threads_order_stats() {
  make_docs "$TMP/in.jsonl" 1200
  zstd -q "$TMP/in.jsonl" -o "$TMP/in.jsonl.zst"
  "$SMOL" filter --recipe fineweb --option language.model="$LID" -t 1 -q "$TMP/in.jsonl" -o "$TMP/k1.jsonl" \
    --exclusions "$TMP/e1.jsonl" --stats "$TMP/s1.json"
  "$SMOL" filter --recipe fineweb --option language.model="$LID" -t 2 -q "$TMP/in.jsonl.zst" -o "$TMP/k2.jsonl.gz" \
    --exclusions "$TMP/e2.jsonl.zst" --stats "$TMP/s2.json"
  gzip -dc "$TMP/k2.jsonl.gz" | cmp - "$TMP/k1.jsonl"
  zstd -dcq "$TMP/e2.jsonl.zst" | cmp - "$TMP/e1.jsonl"
  $PY - "$TMP/in.jsonl" "$TMP/k1.jsonl" "$TMP/e1.jsonl" "$TMP/s1.json" <<'PYEOF'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
kept = [json.loads(l) for l in open(sys.argv[2])]
ex = [json.loads(l) for l in open(sys.argv[3])]
st = json.load(open(sys.argv[4]))
order = [i for i in ids if i in {d["id"] for d in kept}]
assert [d["id"] for d in kept] == order, "kept documents out of input order"
assert sorted(ids) == sorted([d["id"] for d in kept] + [d["id"] for d in ex]), "kept + dropped != input"
assert st["docs_in"] == len(ids) and st["kept"] == len(kept) and st["dropped"] == len(ex), st
names = [f["name"] for f in st["filters"]]
assert names == ["language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"], names
for f in st["filters"]:
    reasons = {}
    for d in ex:
        if d["metadata"]["filter"] == f["name"]: reasons[d["metadata"]["filter_reason"]] = reasons.get(d["metadata"]["filter_reason"], 0) + 1
    assert reasons == f["dropped_reasons"], (f["name"], reasons, f["dropped_reasons"])
    assert f["total"] - f["forwarded"] == f["dropped"] == sum(reasons.values())
for a, b in zip(st["filters"], st["filters"][1:]): assert a["forwarded"] == b["total"]
assert all(d["metadata"]["language"] == "en" for d in kept), "non-English document kept"
assert all(d["metadata"]["language_score"] > 0.65 for d in kept)
assert 0 < len(kept) < len(ids)
c4 = st["filters"][3]["counters"]
assert c4["line-total"] >= c4["line-kept"] > 0, c4
PYEOF
}

t_pii_and_url() {
  printf '%s\n' '{"id":"1","text":"write to jane.doe@mail.com or call 8.8.8.8 from 10.1.1.1","url":"http://spam.example/x"}' \
    '{"id":"2","text":"nothing here","url":"http://fine.example/casino-night"}' > "$TMP/in.jsonl"
  echo "casino" > "$TMP/banned.txt"
  "$SMOL" filter --filters url,pii --option url.banned_words="$TMP/banned.txt" -q "$TMP/in.jsonl" -o "$TMP/out.jsonl" \
    --exclusions "$TMP/ex.jsonl"
  grep -q '"text":"write to email@example.com or call 22.214.171.124 from 10.1.1.1"' "$TMP/out.jsonl"
  grep -q '"filter":"url","filter_reason":"hard_blacklisted"' "$TMP/ex.jsonl"
}

t_bad_records_stop_or_skip() {
  printf '%s\n' '{"id":"1","text":"a"}' '{"id":"2","text": oops}' '{"id":"3","text":"b"}' > "$TMP/bad.jsonl"
  if "$SMOL" filter --filters pii "$TMP/bad.jsonl" -o "$TMP/o.jsonl" 2> "$TMP/err.txt"; then fail "bad record accepted"; fi
  grep -q "^smol filter: $TMP/bad.jsonl:2: invalid JSON" "$TMP/err.txt" || { cat "$TMP/err.txt"; fail "message"; }
  [ ! -e "$TMP/o.jsonl" ] || fail "output left behind after a failure"
  "$SMOL" filter --filters pii --on-error skip "$TMP/bad.jsonl" -o "$TMP/o.jsonl" --stats "$TMP/s.json" 2> "$TMP/err.txt"
  grep -q "bad.jsonl:2" "$TMP/err.txt"
  [ "$(wc -l < "$TMP/o.jsonl")" = 2 ]
  $PY -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['skipped_bad_records']==1 and s['kept']==2, s" "$TMP/s.json"
}

t_parquet_input_same_as_jsonl() {
  make_docs "$TMP/in.jsonl" 400
  $PY "$(dirname "$0")/../ref/parquet_write.py" --schema id:string,text:string,url:string --codec snappy \
    --group-rows 150 --page-rows 64 "$TMP/in.jsonl" "$TMP/in.parquet"
  "$SMOL" filter --filters gopher_repetition,fineweb_quality -q "$TMP/in.jsonl" -o "$TMP/j.jsonl"
  "$SMOL" filter --filters gopher_repetition,fineweb_quality -q "$TMP/in.parquet" -o "$TMP/p.jsonl"
  # the same records (JSONL input is written as read, Parquet rows as compact JSON)
  "$PY" -c 'import json, sys; a, b = ([json.loads(l) for l in open(f)] for f in sys.argv[1:]); assert a == b and len(a) > 10, (len(a), len(b))' \
    "$TMP/j.jsonl" "$TMP/p.jsonl"
}

t_usage_errors() {
  echo '{"text":"x"}' > "$TMP/in.jsonl"
  for args in "--filters nope $TMP/in.jsonl -o $TMP/o" "--filters pii $TMP/in.jsonl" \
              "--filters pii --option pii.nokey=1 $TMP/in.jsonl -o $TMP/o" "--recipe fineweb --filters pii $TMP/in.jsonl -o $TMP/o" \
              "--filters pii --option gopher_quality.min_doc_words=3 $TMP/in.jsonl -o $TMP/o" \
              "--filters pii -t 0 $TMP/in.jsonl -o $TMP/o" "--filters pii --bogus $TMP/in.jsonl -o $TMP/o"; do
    set +e; "$SMOL" filter $args 2> "$TMP/err.txt"; rc=$?; set -e
    [ $rc = 2 ] || fail "smol filter $args: exit $rc, want 2"
    grep -q "^smol filter: " "$TMP/err.txt" || fail "smol filter $args: no message"
  done
  set +e; "$SMOL" filter --filters pii /nonexistent.jsonl -o "$TMP/o" 2> "$TMP/err.txt"; rc=$?; set -e
  [ $rc = 1 ] && grep -q "/nonexistent.jsonl" "$TMP/err.txt"
  "$SMOL" filter --help | grep -q "examples:"
}

run_tests
