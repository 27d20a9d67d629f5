/* test_pipeline.c: the pipeline-file parser (TOML subset: values, tables, errors with line
 * numbers), pipeline checks, and the runner: outputs, exclusions, merged stats against counts
 * made here, resume after lost markers and partial files, ranks and threads giving the same
 * bytes, malformed input with on_error stop/skip. */
#include "check.h"
#include "data/config.h"
#include "data/doc.h"
#include "data/pipeline.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ helpers */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    if (b) b[n] = 0;
    if (size) *size = (size_t)n;
    fclose(f);
    return b;
}

static void rm_rf(const char *path) {
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

/* A listing "relative/path size" of every file under dir except .smol, sorted, into buf. */
static void list_tree(const char *root, const char *rel, char *buf, size_t cap) {
    char path[4200];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, ".smol")) {
            char sub[4200], full[4400];
            snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", nm);
            snprintf(full, sizeof full, "%s/%s", root, sub);
            struct stat st;
            if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) list_tree(root, sub, buf, cap);
            else snprintf(buf + strlen(buf), cap - strlen(buf), "%s %lld\n", sub, (long long)st.st_size);
        }
        free(ents[i]);
    }
    if (n >= 0) free(ents);
}

/* 1 if every file under a (except .smol) exists under b with the same bytes, and vice versa. */
static int same_tree(const char *a, const char *b) {
    static char la[1 << 16], lb[1 << 16];
    la[0] = lb[0] = 0;
    list_tree(a, "", la, sizeof la);
    list_tree(b, "", lb, sizeof lb);
    if (strcmp(la, lb) != 0) {
        fprintf(stderr, "file lists differ:\n--- %s\n%s--- %s\n%s", a, la, b, lb);
        return 0;
    }
    for (char *line = la; *line;) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        *strrchr(line, ' ') = 0;
        char pa[4400], pb[4400];
        snprintf(pa, sizeof pa, "%s/%s", a, line);
        snprintf(pb, sizeof pb, "%s/%s", b, line);
        size_t na, nb;
        char *x = read_all(pa, &na), *y = read_all(pb, &nb);
        int same = x && y && na == nb && memcmp(x, y, na) == 0;
        free(x);
        free(y);
        if (!same) {
            fprintf(stderr, "%s differs from %s\n", pa, pb);
            return 0;
        }
        line = nl + 1;
    }
    return 1;
}

/* Counts documents of a JSONL file through the document reader (-1 on error). */
static long count_docs(const char *path) {
    smol_doc_reader *r;
    smol_doc d;
    if (smol_doc_reader_open(path, NULL, &r, NULL)) return -1;
    long n = 0;
    while (smol_doc_read(r, &d, NULL) == 1) {
        n++;
        smol_doc_free(&d);
    }
    smol_doc_reader_close(r);
    return n;
}

/* ------------------------------------------------------------------ TOML */

static const char *k_good =
    "# a comment\n"
    "title = \"curate \\\"x\\\"\\t\\u00e9\"  # trailing comment\n"
    "lit = 'C:\\path'\n"
    "n = 1_000\nneg = -17\nhex = 0xff\nf = 6.5e-1\nb = true\ninf = -inf\n"
    "arr = [\n  \"a\", # inside\n  'b',\n]\n"
    "nested = [[1, 2], [\"x\"]]\n"
    "point = { x = 1, y.z = \"deep\" }\n"
    "dotted.key = 3\n"
    "\"quoted key\" = false\n"
    "[input]\npaths = [\"a.jsonl\"]\n"
    "[a.b]\nc = 1\n"
    "[[stage]]\ntype = \"filter\"\n[stage.options]\nmin = 5\n"
    "[[stage]]\ntype = \"dedup\"\n";

static void test_toml_values(void) {
    smol_toml *t;
    smol_error e = {0};
    int rc = smol_toml_parse(k_good, strlen(k_good), "good.toml", &t, &e);
    REQUIRE(rc == 0, "parse failed: %s", e.msg);
    const smol_toml *v = smol_toml_get(t, "title");
    CHECK(v && v->type == SMOL_TOML_STRING && strcmp(v->str, "curate \"x\"\t\xc3\xa9") == 0, "title '%s'", v ? v->str : "");
    CHECK(v && v->line == 2, "title line %d", v ? v->line : -1);
    v = smol_toml_get(t, "lit");
    CHECK(v && strcmp(v->str, "C:\\path") == 0, "literal string");
    CHECK(smol_toml_get(t, "n")->i == 1000 && smol_toml_get(t, "neg")->i == -17 && smol_toml_get(t, "hex")->i == 255, "ints");
    CHECK(smol_toml_get(t, "f")->type == SMOL_TOML_FLOAT && fabs(smol_toml_get(t, "f")->f - 0.65) < 1e-12, "float");
    CHECK(smol_toml_get(t, "b")->b == true && isinf(smol_toml_get(t, "inf")->f) && smol_toml_get(t, "inf")->f < 0, "bool/inf");
    v = smol_toml_get(t, "arr");
    CHECK(v && v->type == SMOL_TOML_ARRAY && v->n == 2 && strcmp(v->items[1]->str, "b") == 0, "array");
    v = smol_toml_get(t, "nested");
    CHECK(v && v->n == 2 && v->items[0]->n == 2 && v->items[0]->items[1]->i == 2, "nested arrays");
    v = smol_toml_get(smol_toml_get(smol_toml_get(t, "point"), "y"), "z");
    CHECK(v && strcmp(v->str, "deep") == 0, "inline table with dotted key");
    CHECK(smol_toml_get(smol_toml_get(t, "dotted"), "key")->i == 3, "dotted key");
    CHECK(smol_toml_get(t, "quoted key") && smol_toml_get(t, "quoted key")->b == false, "quoted key");
    CHECK(smol_toml_get(smol_toml_get(smol_toml_get(t, "a"), "b"), "c")->i == 1, "[a.b]");
    v = smol_toml_get(t, "stage");
    REQUIRE(v && v->type == SMOL_TOML_ARRAY && v->n == 2, "two stages");
    CHECK(smol_toml_get(smol_toml_get(v->items[0], "options"), "min")->i == 5, "[stage.options] goes to the first stage");
    CHECK(!smol_toml_get(v->items[1], "options") && strcmp(smol_toml_get(v->items[1], "type")->str, "dedup") == 0,
          "second stage");
    CHECK(v->items[1]->line == 26, "second stage line %d", v->items[1]->line);
    smol_toml_free(t);
}

static void test_toml_errors(void) {
    static const struct { const char *text; int line; const char *want; } cases[] = {
        {"a = 1\nb = 2\na = 3\n", 3, "key 'a' is already a value (defined at line 1)"},
        {"a = \"open\n", 1, "unterminated string"},
        {"x = 1\ny = hello\n", 2, "'hello' is not a value"},
        {"k 1\n", 1, "'=' expected after key 'k'"},
        {"[t]\na=1\n[t]\n", 3, "key 't' is already a table"},
        {"[a]\n[[a]]\n", 2, "key 'a' is already a table"},
        {"[[s]]\n[s]\n", 2, "key 's' is already an array of tables"},
        {"s = \"\"\"multi\"\"\"\n", 1, "multi-line strings"},
        {"d = 1979-05-27\n", 1, "dates and times"},
        {"z = 012\n", 1, "leading zeros"},
        {"\n\narr = [1, 2\n", 4, "array is not closed"},
        {"e = \"bad \\q\"\n", 1, "unknown escape"},
        {"a = 1 b = 2\n", 1, "unexpected 'b' after the value"},
        {"t = {a = 1,}\n", 1, "a key is expected"},
        {"x = 1_\n", 1, "'1_' is not a value"},
        {"p = {a = 1}\n[p]\n", 2, "key 'p' is already an inline table"},
        {"v = \n", 1, "a value is missing"},
        {"[tbl\n", 1, "table header is not closed"},
        {"big = 99999999999999999999\n", 1, "out of range"},
        {"t = [1, {b \"x\"}]\n", 1, "'=' expected after key 'b'"},   /* found by fuzzing: message used a freed key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smol_toml *t = NULL;
        smol_error e = {0};
        int rc = smol_toml_parse(cases[i].text, strlen(cases[i].text), "bad.toml", &t, &e);
        char want[64];
        snprintf(want, sizeof want, "bad.toml:%d: ", cases[i].line);
        CHECK(rc < 0 && t == NULL, "case %zu parsed", i);
        CHECK(strncmp(e.msg, want, strlen(want)) == 0 && strstr(e.msg, cases[i].want), "case %zu: got '%s', want '%s...%s'",
              i, e.msg, want, cases[i].want);
        smol_toml_free(t);
    }
}

/* ------------------------------------------------------------------ pipelines */

static char g_dir[4096];   /* scratch folder with the corpus */

/* Writes a small corpus: 3 JSONL files (one gzip via the writer) of paragraphs, with
 * duplicates, short documents and a non-ASCII one. */
static void make_corpus(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp("pipe"));
    rm_rf(g_dir);
    mkdir(g_dir, 0777);
    char path[4200];
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/in%d.jsonl%s", g_dir, f, f == 1 ? ".gz" : "");
        smol_doc_writer *w;
        if (smol_doc_writer_open(path, &w, NULL)) return;
        for (int i = 0; i < 40; i++) {
            char text[600];
            int len = 20 + ((i * 37 + f * 11) % 300);
            int k = 0;
            for (; k < len; k++) text[k] = (char)('a' + (i * 7 + k * 3 + f) % 26);
            for (int s = 10; s < len; s += 11) text[s] = ' ';
            if (i % 10 == 9) memcpy(text, "\xc3\xa9\xc3\xa9", 4);   /* two 2-byte characters */
            text[k] = 0;
            if (i % 8 == 3)
                snprintf(text, sizeof text, "the same duplicated text %d, long enough to pass the length filter "
                         "of this pipeline, which keeps documents of a hundred characters or more", i % 16);
            smol_doc d;
            char id[32];
            snprintf(id, sizeof id, "f%d-%d", f, i);
            if (smol_doc_from_text(&d, id, text, strlen(text), NULL) == 0) {
                smol_doc_write(w, &d, NULL);
                smol_doc_free(&d);
            }
        }
        smol_doc_writer_close(w, NULL);
    }
}

static smol_pipeline *pipeline_from(const char *text, smol_error *e) {
    smol_pipeline *pl = NULL;
    memset(e, 0, sizeof *e);
    smol_pipeline_parse(text, strlen(text), "p.toml", &pl, e);
    return pl;
}

static char *pipeline_text(const char *out, const char *compression, const char *stages) {
    static char buf[8192];
    snprintf(buf, sizeof buf, "[input]\npaths = [\"%s/in*.jsonl*\"]\n[output]\ndir = \"%s\"\ncompression = \"%s\"\n%s",
             g_dir, out, compression, stages);
    return buf;
}

static void test_pipeline_errors(void) {
    make_corpus();
    static const struct { const char *text; const char *want; } cases[] = {
        {"[input]\npaths = [\"/nonexistent/x*.jsonl\"]\n[output]\ndir = \"o\"\n", "p.toml:2: input pattern '/nonexistent/x*.jsonl' matches no file"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\ncolour = 1\n[output]\ndir = \"o\"\n", "p.toml:3: unknown key 'colour' in [input]"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n", "p.toml:1: an [output] table with dir"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\ncompression = \"lz4\"\n", "p.toml:5: compression must be"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n\n[[stage]]\ntype = \"magic\"\n", "p.toml:7: unknown stage type 'magic'"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"filter\"\n", "p.toml:5: a filter stage needs name"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"filter\"\nname = \"min_length\"\n",
         "p.toml:5: stage 'min_length': min_length needs"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"filter\"\nname = \"sample\"\n[stage.options]\nrate = 2\n",
         "p.toml:5: stage 'sample': sample needs [stage.options] rate"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"filter\"\nname = \"nosuch\"\n",
         "p.toml:5: stage 'nosuch'"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"filter\"\nname = \"gopher_quality\"\n"
         "[stage.options]\nnot_an_option = 1\n", "p.toml:5: stage 'gopher_quality'"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"dedup_minhash\"\n[stage.options]\nbuckets = 0\n",
         "p.toml:5: stage 'dedup_minhash': option buckets (line 8)"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"filter\"\nname = \"min_length\"\nmin_chars = 3\n",
         "p.toml:8: unknown key 'min_chars' in [[stage]]"},
        {"[input]\npaths = [\"%s/in0.jsonl\"]\n[output]\ndir = \"o\"\n[[stage]]\ntype = \"dedup_exact\"\nname = \"../up\"\n",
         "p.toml:7: stage name '../up' must be letters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, cases[i].text, g_dir);
        smol_error e;
        smol_pipeline *pl = pipeline_from(text, &e);
        CHECK(pl == NULL, "case %zu parsed", i);
        CHECK(strstr(e.msg, cases[i].want) != NULL, "case %zu: got '%s', want '%s'", i, e.msg, cases[i].want);
        smol_pipeline_free(pl);
    }
}

static const char *k_stages =
    "[[stage]]\ntype = \"filter\"\nname = \"min_length\"\n[stage.options]\nmin_chars = 100\n"
    "[[stage]]\ntype = \"dedup_exact\"\n"
    "[[stage]]\ntype = \"filter\"\nname = \"sample\"\n[stage.options]\nrate = 0.5\nseed = 7\n";

static int run_pipeline(const char *out, const char *stages, int rank, int world, int threads, smol_run_result *res,
                        smol_error *e) {
    smol_pipeline *pl = pipeline_from(pipeline_text(out, "zst", stages), e);
    if (!pl) return e->code ? e->code : -1;
    smol_run_opts o = smol_run_default_opts();
    o.rank = rank;
    o.world_size = world;
    o.n_threads = threads;
    o.wait_seconds = 1;
    int rc = smol_pipeline_run(pl, &o, res, e);
    smol_pipeline_free(pl);
    return rc;
}

static double stat_of(const cJSON *stats, const char *name, const char *key) {
    for (const cJSON *e = stats ? stats->child : NULL; e; e = e->next) {
        const cJSON *n = cJSON_GetObjectItem(e, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) {
            const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "stats"), key);
            return cJSON_IsNumber(v) ? v->valuedouble : -1;
        }
    }
    return -1;
}

/* Counts made here from the input: documents, and those under 100 characters. */
static void expected_counts(long *docs, long *short_docs) {
    *docs = *short_docs = 0;
    for (int f = 0; f < 3; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/in%d.jsonl%s", g_dir, f, f == 1 ? ".gz" : "");
        smol_doc_reader *r;
        smol_doc d;
        if (smol_doc_reader_open(path, NULL, &r, NULL)) return;
        while (smol_doc_read(r, &d, NULL) == 1) {
            long chars = 0;
            for (size_t i = 0; i < d.text_len; i++) chars += ((unsigned char)d.text[i] >> 6) != 2;
            (*docs)++;
            *short_docs += chars < 100;
            smol_doc_free(&d);
        }
        smol_doc_reader_close(r);
    }
}

static void test_run_outputs_and_stats(void) {
    char out[4200];
    snprintf(out, sizeof out, "%s/out1", g_dir);
    smol_run_result res;
    smol_error e = {0};
    int rc = run_pipeline(out, k_stages, 0, 1, 1, &res, &e);
    REQUIRE(rc == 0, "run: %s", e.msg);
    long docs, short_docs;
    expected_counts(&docs, &short_docs);
    CHECK(res.shards_done >= 3 && res.shards_skipped == 0 && res.stats_written == 1, "done %d skipped %d", res.shards_done,
          res.shards_skipped);
    CHECK(res.docs_in == docs, "docs in %lld, want %ld", (long long)res.docs_in, docs);
    char path[4400];
    snprintf(path, sizeof path, "%s/stats.json", out);
    char *text = read_all(path, NULL);
    cJSON *st = text ? cJSON_Parse(text) : NULL;
    free(text);
    REQUIRE(cJSON_IsArray(st) && cJSON_GetArraySize(st) == 5, "stats.json: reader, 3 stages, writer");
    CHECK(stat_of(st, "reader", "documents") == docs, "reader documents %g want %ld", stat_of(st, "reader", "documents"), docs);
    CHECK(stat_of(st, "min_length", "total") == docs, "min_length total");
    CHECK(stat_of(st, "min_length", "dropped") == short_docs, "min_length dropped %g want %ld",
          stat_of(st, "min_length", "dropped"), short_docs);
    CHECK(stat_of(st, "min_length", "dropped_min_length:too_short") == short_docs, "reason count");
    double after_len = stat_of(st, "min_length", "forwarded");
    CHECK(after_len == docs - short_docs, "forwarded %g", after_len);
    CHECK(stat_of(st, "dedup_exact", "total") == after_len, "dedup total %g want %g", stat_of(st, "dedup_exact", "total"), after_len);
    double after_dedup = stat_of(st, "dedup_exact", "forwarded");
    CHECK(after_dedup < after_len && after_dedup > 0, "dedup removed nothing (%g of %g)", after_dedup, after_len);
    CHECK(stat_of(st, "sample", "total") == after_dedup, "sample total");
    double kept = stat_of(st, "sample", "forwarded");
    CHECK(kept > after_dedup * 0.25 && kept < after_dedup * 0.75, "sample kept %g of %g", kept, after_dedup);
    CHECK(stat_of(st, "writer", "documents") == kept && res.docs_out == (int64_t)kept, "writer %g", stat_of(st, "writer", "documents"));
    long in_files = 0, excl = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%05d.jsonl.zst", out, i);
        in_files += count_docs(path);
        snprintf(path, sizeof path, "%s/excluded/01_min_length/%05d.jsonl.zst", out, i);
        long n = count_docs(path);
        excl += n > 0 ? n : 0;
    }
    CHECK(in_files == (long)kept, "output files hold %ld documents, stats say %g", in_files, kept);
    CHECK(excl == short_docs, "exclusion files hold %ld, want %ld", excl, short_docs);
    cJSON_Delete(st);
    /* excluded documents carry the reason */
    snprintf(path, sizeof path, "%s/excluded/01_min_length/00000.jsonl.zst", out);
    smol_doc_reader *r;
    smol_doc d;
    REQUIRE(smol_doc_reader_open(path, NULL, &r, NULL) == 0, "open %s", path);
    REQUIRE(smol_doc_read(r, &d, NULL) == 1, "an excluded document");
    cJSON *reason = cJSON_GetObjectItem(cJSON_GetObjectItem(smol_doc_json(&d), "metadata"), "filter_reason");
    CHECK(cJSON_IsString(reason) && strcmp(reason->valuestring, "min_length:too_short") == 0, "filter_reason");
    smol_doc_free(&d);
    smol_doc_reader_close(r);
}

static void test_rerun_skips_and_resumes(void) {
    char ref[4200], out[4200], path[4400];
    snprintf(ref, sizeof ref, "%s/out1", g_dir);
    snprintf(out, sizeof out, "%s/out2", g_dir);
    smol_run_result res;
    smol_error e = {0};
    REQUIRE(run_pipeline(out, k_stages, 0, 1, 1, &res, &e) == 0, "run: %s", e.msg);
    CHECK(same_tree(ref, out), "second clean run differs");
    /* a rerun of a finished pipeline does nothing */
    REQUIRE(run_pipeline(out, k_stages, 0, 1, 1, &res, &e) == 0, "rerun: %s", e.msg);
    CHECK(res.shards_done == 0 && res.shards_skipped > 0 && res.stats_written, "rerun did work: %d", res.shards_done);
    /* a crash after shard 1's output but before its marker, with a leftover temp file; and
     * a lost final pass marker with a truncated output */
    snprintf(path, sizeof path, "%s/.smol/completions/p0/00001", out);
    CHECK(unlink(path) == 0, "marker %s", path);
    snprintf(path, sizeof path, "%s/.smol/work/p0/00001.jsonl.tmp.12345", out);
    write_text(path, "partial");
    snprintf(path, sizeof path, "%s/.smol/completions/p2/00002", out);
    CHECK(unlink(path) == 0, "marker %s", path);
    snprintf(path, sizeof path, "%s/00002.jsonl.zst", out);
    write_text(path, "garbage");
    snprintf(path, sizeof path, "%s/stats.json", out);
    unlink(path);
    REQUIRE(run_pipeline(out, k_stages, 0, 1, 1, &res, &e) == 0, "resume: %s", e.msg);
    CHECK(res.shards_done == 2, "resume redid %d shards, want 2", res.shards_done);
    CHECK(same_tree(ref, out), "resumed run differs from a clean run");
    snprintf(path, sizeof path, "%s/.smol/work/p0/00001.jsonl.tmp.12345", out);
    CHECK(access(path, F_OK) != 0, "stale temp file left");
    /* a changed pipeline is refused */
    const char *other = "[[stage]]\ntype = \"filter\"\nname = \"min_length\"\n[stage.options]\nmin_chars = 50\n";
    int rc = run_pipeline(out, other, 0, 1, 1, &res, &e);
    CHECK(rc == SMOL_EINVAL && strstr(e.msg, "different pipeline"), "changed pipeline: %d %s", rc, e.msg);
}

static void test_ranks_and_threads_same_bytes(void) {
    char ref[4200], out[4200];
    snprintf(ref, sizeof ref, "%s/out1", g_dir);
    snprintf(out, sizeof out, "%s/out3", g_dir);
    smol_run_result res;
    smol_error e = {0};
    /* rank 1 of 2 first: it stops at the corpus-wide stage waiting for rank 0 (wait_seconds 1) */
    int rc = run_pipeline(out, k_stages, 1, 2, 1, &res, &e);
    CHECK(rc == SMOL_EIO && strstr(e.msg, "other ranks"), "rank 1 alone: %d %s", rc, e.msg);
    REQUIRE(run_pipeline(out, k_stages, 0, 2, 1, &res, &e) == 0, "rank 0: %s", e.msg);
    CHECK(!res.stats_written, "stats written before rank 1 finished");
    REQUIRE(run_pipeline(out, k_stages, 1, 2, 1, &res, &e) == 0, "rank 1: %s", e.msg);
    CHECK(res.stats_written, "stats not written after the last rank");
    CHECK(same_tree(ref, out), "two ranks differ from one");
    snprintf(out, sizeof out, "%s/out4", g_dir);
    REQUIRE(run_pipeline(out, k_stages, 0, 1, 3, &res, &e) == 0, "threads: %s", e.msg);
    CHECK(same_tree(ref, out), "three threads differ from one");
}

static void test_on_error(void) {
    char path[8400], out[4200];
    snprintf(path, sizeof path, "%s/bad", g_dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/bad/b.jsonl", g_dir);
    write_text(path, "{\"text\": \"one document here\"}\n{\"text\": broken\n{\"text\": \"another document\"}\n");
    char text[16384];
    snprintf(out, sizeof out, "%s/bad/out", g_dir);
    snprintf(text, sizeof text, "[input]\npaths = \"%s\"\n[output]\ndir = \"%s\"\ncompression = \"none\"\n", path, out);
    smol_error e;
    smol_pipeline *pl = pipeline_from(text, &e);
    REQUIRE(pl, "parse: %s", e.msg);
    smol_run_opts o = smol_run_default_opts();
    smol_run_result res;
    int rc = smol_pipeline_run(pl, &o, &res, &e);
    CHECK(rc == SMOL_EFORMAT && strstr(e.msg, "b.jsonl:2"), "stop: %d %s", rc, e.msg);
    o.on_error = SMOL_ON_ERROR_SKIP;
    rc = smol_pipeline_run(pl, &o, &res, &e);   /* the failed run recorded on_error stop */
    CHECK(rc == SMOL_EINVAL && strstr(e.msg, "different pipeline"), "changed on_error: %d %s", rc, e.msg);
    rm_rf(out);
    rc = smol_pipeline_run(pl, &o, &res, &e);
    CHECK(rc == 0 && res.docs_in == 2 && res.docs_out == 2, "skip: %d %s (%lld docs)", rc, e.msg, (long long)res.docs_in);
    snprintf(path, sizeof path, "%s/stats.json", out);
    char *st = read_all(path, NULL);
    cJSON *j = st ? cJSON_Parse(st) : NULL;
    CHECK(stat_of(j, "reader", "skipped_errors") == 1, "skipped_errors %g", stat_of(j, "reader", "skipped_errors"));
    cJSON_Delete(j);
    free(st);
    smol_pipeline_free(pl);
}

static void test_decontam_stage(void) {
    char dir[1024], path[2048], bench[2048], text[8192];
    snprintf(dir, sizeof dir, "%.900s/dc", g_dir);
    mkdir(dir, 0777);
    snprintf(bench, sizeof bench, "%s/bench.jsonl", dir);
    write_text(bench, "{\"text\": \"Which gas do plants take in from the air to make their food during photosynthesis in sunlight?\"}\n");
    snprintf(path, sizeof path, "%s/docs.jsonl", dir);
    write_text(path, "{\"id\": \"clean\", \"text\": \"Rivers carry sand and silt from the mountains down to the sea over many years.\"}\n"
                     "{\"id\": \"leak\", \"text\": \"Quiz: which gas do plants take in from the air to make their food during photosynthesis in sunlight? Carbon dioxide.\"}\n"
                     "{\"id\": \"clean2\", \"text\": \"Plants need light and water, and they take in a gas from the air.\"}\n");
    snprintf(text, sizeof text, "[input]\npaths = \"%s\"\n[output]\ndir = \"%s/out\"\ncompression = \"none\"\n"
             "[[stage]]\ntype = \"decontam\"\n[stage.options]\nbench = [\"%s\"]\n", path, dir, bench);
    smol_error e;
    smol_pipeline *pl = pipeline_from(text, &e);
    REQUIRE(pl, "parse: %s", e.msg);
    smol_run_result res;
    int rc = smol_pipeline_run(pl, NULL, &res, &e);
    smol_pipeline_free(pl);
    REQUIRE(rc == 0, "run: %s", e.msg);
    CHECK(res.docs_in == 3 && res.docs_out == 2, "%lld in, %lld out", (long long)res.docs_in, (long long)res.docs_out);
    snprintf(path, sizeof path, "%s/out/excluded/01_decontam/00000.jsonl", dir);
    smol_doc_reader *r;
    smol_doc d;
    REQUIRE(smol_doc_reader_open(path, NULL, &r, NULL) == 0, "open %s", path);
    REQUIRE(smol_doc_read(r, &d, NULL) == 1, "an excluded document");
    cJSON *m = cJSON_GetObjectItem(smol_doc_json(&d), "metadata");
    CHECK(strcmp(d.id, "leak") == 0, "excluded %s", d.id);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "decontam"), "bench")), "metadata.decontam.bench");
    CHECK(strcmp(cJSON_GetObjectItem(m, "filter_reason")->valuestring, "decontam:contaminated") == 0, "reason");
    smol_doc_free(&d);
    CHECK(smol_doc_read(r, &d, NULL) == 0, "one excluded document");
    smol_doc_reader_close(r);
    /* a missing benchmark file is reported while the pipeline is read */
    snprintf(text, sizeof text, "[input]\npaths = \"%s\"\n[output]\ndir = \"%s/out2\"\n"
             "[[stage]]\ntype = \"decontam\"\n[stage.options]\nbench = \"%s/nosuch.jsonl\"\n", bench, dir, dir);
    pl = pipeline_from(text, &e);
    CHECK(!pl && strstr(e.msg, "p.toml:5: stage 'decontam'") && strstr(e.msg, "nosuch.jsonl"), "missing bench: %s", e.msg);
    smol_pipeline_free(pl);
}

static void test_recipe(void) {
    const char *in[] = {"a \"quoted\".jsonl", "b.jsonl"};
    char *text;
    smol_error e = {0};
    REQUIRE(smol_pipeline_recipe("fineweb", in, 2, "out", "lid.ftz", &text, &e) == 0, "recipe: %s", e.msg);
    smol_toml *t;
    REQUIRE(smol_toml_parse(text, strlen(text), "recipe", &t, &e) == 0, "recipe text: %s\n%s", e.msg, text);
    const smol_toml *paths = smol_toml_get(smol_toml_get(t, "input"), "paths");
    CHECK(paths && paths->n == 2 && strcmp(paths->items[0]->str, in[0]) == 0, "paths");
    const smol_toml *st = smol_toml_get(t, "stage");
    static const char *const order[] = {"url", "language", "gopher_repetition", "gopher_quality", "c4_quality",
                                        "fineweb_quality", "dedup_minhash", "pii"};
    REQUIRE(st && st->n == 8, "8 stages, got %zu", st ? st->n : 0);
    for (size_t i = 0; i < 8; i++) {
        const smol_toml *n = smol_toml_get(st->items[i], "name");
        const char *name = n ? n->str : smol_toml_get(st->items[i], "type")->str;
        CHECK(strcmp(name, order[i]) == 0, "stage %zu is %s, want %s", i, name, order[i]);
    }
    const smol_toml *lang = smol_toml_get(st->items[1], "options");
    CHECK(lang && strcmp(smol_toml_get(lang, "model")->str, "lid.ftz") == 0, "language model option");
    const smol_toml *c4 = smol_toml_get(st->items[4], "options");
    CHECK(c4 && smol_toml_get(c4, "filter_no_terminal_punct") && smol_toml_get(c4, "filter_no_terminal_punct")->i == 0,
          "c4 without the terminal-punctuation rule");
    smol_toml_free(t);
    free(text);
    CHECK(smol_pipeline_recipe("nosuch", in, 2, "out", NULL, &text, &e) == SMOL_EINVAL && strstr(e.msg, "fineweb"), "unknown recipe");
}

int main(void) {
    RUN(test_toml_values);
    RUN(test_toml_errors);
    RUN(test_pipeline_errors);
    RUN(test_run_outputs_and_stats);
    RUN(test_rerun_skips_and_resumes);
    RUN(test_ranks_and_threads_same_bytes);
    RUN(test_on_error);
    RUN(test_decontam_stage);
    RUN(test_recipe);
    if (check_done() == 0) rm_rf(g_dir);
    return check_done();
}
