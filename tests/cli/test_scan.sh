# test_scan.sh: `smol scan` against grep -o -i -w -F (one run per phrase) and wc -w, groups by
# file and by field, JSONL/parquet/text inputs, threads, CSV and SVG output, errors; `smol parquet`.
source "$(dirname "$0")/lib.sh"
WP="$SMOL_TEST_DATA/corpora/war-and-peace.txt"
PY=/usr/bin/python3
WRITER="$(cd "$(dirname "$0")/../ref" && pwd)/parquet_write.py"

phrases() {
  printf '%s\n' prince "prince andrew" andrew the "of the" "in the" natasha pierre moscow war peace \
    "war and peace" said count countess "mon cher" "e.g." I a at > "$TMP/phrases.txt"
}

# check_csv CSV GROUP FILE: every phrase's count in GROUP equals grep on FILE, words equal wc -w
check_csv() {
  local csv=$1 group=$2 file=$3 p
  while IFS= read -r p; do
    printf "%s\t%s\n" "$p" "$(LC_ALL=C grep -o -i -w -F -- "$p" "$file" | wc -l)"
  done < "$TMP/phrases.txt" > "$TMP/want.tsv"
  "$PY" - "$csv" "$group" "$TMP/want.tsv" "$(LC_ALL=C wc -w < "$file")" <<'PYEOF' || fail "group '$group' differs from grep/wc"
import csv, sys
got = {r["phrase"]: (int(r["count"]), int(r["words"])) for r in csv.DictReader(open(sys.argv[1])) if r["group"] == sys.argv[2]}
words = int(sys.argv[4])
for line in open(sys.argv[3]):
    p, n = line.rstrip("\n").split("\t")
    if got.get(p) != (int(n), words):
        sys.exit(f"phrase '{p}': smol scan {got.get(p)}, grep -o -i -w -F and wc -w {(int(n), words)}")
PYEOF
}

t_war_and_peace_vs_grep() {
  phrases
  "$SMOL" scan --quiet --phrases "$TMP/phrases.txt" "$WP" > "$TMP/out.csv"
  [ "$(head -1 "$TMP/out.csv")" = "group,phrase,count,words,per_million_words" ] || fail "header: $(head -1 "$TMP/out.csv")"
  [ "$(wc -l < "$TMP/out.csv")" -eq 21 ] || fail "$(wc -l < "$TMP/out.csv") lines"
  check_csv "$TMP/out.csv" "$WP" "$WP"
}

# makes docs.jsonl: paragraphs of War and Peace with a "dump" field cycling over 3 values (one
# under "metadata"), and per-dump text files holding the same texts, one per line
make_docs() {
  "$PY" - "$WP" "$TMP" <<'PYEOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()[:600000]
paras = [p for p in text.split("\n\n") if p.strip()]
dumps = ["CC-MAIN-2013-20", "CC-MAIN-2019-04", "CC-MAIN-2024-10"]
out = open(sys.argv[2] + "/docs.jsonl", "w")
per = {d: open(sys.argv[2] + "/" + d + ".txt", "w") for d in dumps + ["(none)"]}
for i, p in enumerate(paras):
    d = dumps[(i * 7) % 3] if i % 11 else "(none)"
    rec = {"id": str(i), "text": p}
    if d != "(none)":
        if i % 5 == 0: rec["metadata"] = {"dump": d}
        else: rec["dump"] = d
    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    per[d].write(p + "\n")
PYEOF
}

t_group_by_field_vs_grep() {
  phrases; make_docs
  "$SMOL" scan --quiet --phrases "$TMP/phrases.txt" --group-by dump "$TMP/docs.jsonl" -o "$TMP/g.csv"
  for d in CC-MAIN-2013-20 CC-MAIN-2019-04 CC-MAIN-2024-10 "(none)"; do check_csv "$TMP/g.csv" "$d" "$TMP/$d.txt"; done
  groups=$(tail -n +2 "$TMP/g.csv" | cut -d, -f1 | uniq | tr '\n' ' ')
  [ "$groups" = "(none) CC-MAIN-2013-20 CC-MAIN-2019-04 CC-MAIN-2024-10 " ] || fail "group order: $groups"
}

t_parquet_input_same_as_jsonl() {
  phrases; make_docs
  "$PY" "$WRITER" --schema id:string,text:string,dump:string:opt --codec snappy --group-rows 500 --page-rows 128 \
    "$TMP/docs.jsonl" "$TMP/docs.parquet"
  "$SMOL" scan --quiet --phrases "$TMP/phrases.txt" --group-by dump "$TMP/docs.jsonl" > "$TMP/j.csv"
  "$SMOL" scan --quiet --phrases "$TMP/phrases.txt" --group-by dump "$TMP/docs.parquet" > "$TMP/p.csv"
  # metadata.dump is not a parquet column: those rows are "(none)" there; compare the other groups
  "$PY" - "$TMP/j.csv" "$TMP/p.csv" <<'PYEOF' || fail "parquet and JSONL scans differ"
import csv, sys
a = {(r["group"], r["phrase"]): int(r["count"]) for r in csv.DictReader(open(sys.argv[1]))}
b = {(r["group"], r["phrase"]): int(r["count"]) for r in csv.DictReader(open(sys.argv[2]))}
phr = {p for _, p in a}
for p in phr:
    ta = sum(v for (g, q), v in a.items() if q == p)
    tb = sum(v for (g, q), v in b.items() if q == p)
    assert ta == tb, (p, ta, tb)
assert len(a) == len(b), (len(a), len(b))
PYEOF
}

t_threads_and_files() {
  phrases; make_docs
  "$SMOL" scan --quiet --phrases "$TMP/phrases.txt" "$WP" "$TMP/docs.jsonl" "$TMP/CC-MAIN-2013-20.txt" > "$TMP/t1.csv"
  "$SMOL" scan --quiet -t 2 --phrases "$TMP/phrases.txt" "$WP" "$TMP/docs.jsonl" "$TMP/CC-MAIN-2013-20.txt" > "$TMP/t2.csv"
  cmp "$TMP/t1.csv" "$TMP/t2.csv" || fail "-t 2 differs from -t 1"
  [ "$(tail -n +2 "$TMP/t1.csv" | cut -d, -f1 | uniq | wc -l)" -eq 3 ] || fail "expected 3 file groups"
  check_csv "$TMP/t1.csv" "$TMP/CC-MAIN-2013-20.txt" "$TMP/CC-MAIN-2013-20.txt"
}

t_svg_and_csv_quoting() {
  printf 'war, and peace\nthe "count"\nwar\n' > "$TMP/q.txt"
  printf '{"text":"War, and peace; the \\"count\\" of war","dump":"a<b"}\n{"text":"war","dump":"c"}\n' > "$TMP/q.jsonl"
  "$SMOL" scan --quiet --phrases "$TMP/q.txt" --group-by dump "$TMP/q.jsonl" -o "$TMP/q.csv" --svg "$TMP/q.svg"
  "$PY" - "$TMP/q.csv" "$TMP/q.svg" <<'PYEOF' || fail "csv/svg check failed: $(cat "$TMP/q.csv")"
import csv, sys, xml.etree.ElementTree as ET
rows = list(csv.DictReader(open(sys.argv[1])))
got = {(r["group"], r["phrase"]): (int(r["count"]), int(r["words"]), float(r["per_million_words"])) for r in rows}
assert got[("a<b", "war, and peace")] == (1, 7, 1e6 / 7 // 0.0001 * 0.0001) or abs(got[("a<b", "war, and peace")][2] - 1e6 / 7) < 1e-3, got
assert got[("a<b", 'the "count"')][0] == 1 and got[("a<b", "war")][0] == 2 and got[("c", "war")] == (1, 1, 1e6), got
svg = ET.parse(sys.argv[2]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert len(svg.findall(ns + "polyline")) == 3, "one series per phrase"
assert len(svg.findall(ns + "circle")) == 6
texts = [t.text for t in svg.iter(ns + "text")]
assert "a<b" in texts and 'the "count"' in texts, texts
PYEOF
}

t_errors() {
  phrases
  set +e
  "$SMOL" scan "$WP" 2> "$TMP/e1"; rc1=$?
  "$SMOL" scan --phrases "$TMP/phrases.txt" --bogus "$WP" 2> "$TMP/e2"; rc2=$?
  "$SMOL" scan --phrases "$TMP/phrases.txt" -t 0 "$WP" 2> "$TMP/e3"; rc3=$?
  "$SMOL" scan --phrases "$TMP/nope.txt" "$WP" 2> "$TMP/e4"; rc4=$?
  "$SMOL" scan --phrases "$TMP/phrases.txt" "$TMP/missing.jsonl" 2> "$TMP/e5"; rc5=$?
  printf '{"text": 5}\n' > "$TMP/bad.jsonl"
  "$SMOL" scan --phrases "$TMP/phrases.txt" "$TMP/bad.jsonl" > /dev/null 2> "$TMP/e6"; rc6=$?
  set -e
  [ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] || fail "usage exits $rc1 $rc2 $rc3"
  [ $rc4 -eq 1 ] && grep -q "^smol scan: .*nope.txt" "$TMP/e4" || fail "missing phrases: $rc4 $(cat "$TMP/e4")"
  [ $rc5 -eq 1 ] && grep -q "^smol scan: .*missing.jsonl" "$TMP/e5" || fail "missing corpus: $rc5 $(cat "$TMP/e5")"
  [ $rc6 -eq 1 ] && grep -q "bad.jsonl" "$TMP/e6" || fail "bad record: $rc6 $(cat "$TMP/e6")"
  "$SMOL" scan --help | grep -q "examples:" || fail "no usage"
}

t_parquet_command() {
  make_docs
  "$PY" "$WRITER" --schema id:string,text:string,dump:string:opt --codec gzip --page-version 2 --dict dump \
    "$TMP/docs.jsonl" "$TMP/d.parquet"
  "$SMOL" parquet "$TMP/d.parquet" > "$TMP/rows.jsonl"
  "$PY" - "$TMP/docs.jsonl" "$TMP/rows.jsonl" <<'PYEOF' || fail "rows differ"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b), (len(a), len(b))
for i, (x, y) in enumerate(zip(a, b)):
    assert y == {"id": x["id"], "text": x["text"], "dump": x.get("dump")}, (i, x, y)
PYEOF
  [ "$("$SMOL" parquet -n 3 "$TMP/d.parquet" | wc -l)" -eq 3 ] || fail "-n 3"
  "$SMOL" parquet --schema "$TMP/d.parquet" | grep -q "3 columns" || fail "schema: $("$SMOL" parquet --schema "$TMP/d.parquet")"
  head -c 3000 "$TMP/d.parquet" > "$TMP/cut.parquet"
  set +e; "$SMOL" parquet "$TMP/cut.parquet" > /dev/null 2> "$TMP/e"; rc=$?; set -e
  [ $rc -eq 1 ] && grep -q "^smol parquet: .*cut.parquet" "$TMP/e" || fail "truncated: $rc $(cat "$TMP/e")"
}

run_tests
