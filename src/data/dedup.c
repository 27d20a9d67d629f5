/* dedup.c: exact dedup by text hash and the helpers shared by the dedup stages (SHA-1, input
 * lists and shards, output names, completion markers, record reader and writer). */
#include "data/dedup.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "data/doc.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- SHA-1 */

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
        else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1u;
        else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
        else f = b ^ c ^ d, k = 0xCA62C1D6u;
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol32(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void smol_sha1(const void *data, size_t len, uint8_t out[20]) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    const uint8_t *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64) sha1_block(h, p);
    uint8_t tail[128] = {0};
    if (left) memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tl == 128) sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24), out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8), out[4 * i + 3] = (uint8_t)h[i];
    }
}

uint64_t smol_sha1_64(const void *data, size_t len) {
    uint8_t d[20];
    smol_sha1(data, len, d);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | d[i];
    return v;
}

/* ---------------------------------------------------------------- input lists */

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* The length of name without a trailing .gz/.zst. */
static size_t strip_compression(const char *name) {
    size_t n = strlen(name);
    if (has_suffix(name, ".gz")) return n - 3;
    if (has_suffix(name, ".zst")) return n - 4;
    return n;
}

static int is_doc_file(const char *name) {
    static const char *const k_ext[] = {".jsonl", ".json", ".txt", ".parquet"};
    size_t n = strip_compression(name);
    for (size_t i = 0; i < sizeof k_ext / sizeof k_ext[0]; i++) {
        size_t e = strlen(k_ext[i]);
        if (n > e && strncmp(name + n - e, k_ext[i], e) == 0) return 1;
    }
    return 0;
}

void smol_dd_output_name(const char *path, char *out, size_t out_size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strip_compression(base);
    const char *comp = base + n;
    static const char *const k_change[] = {".parquet", ".txt", ".json"};
    for (size_t i = 0; i < sizeof k_change / sizeof k_change[0]; i++) {
        size_t e = strlen(k_change[i]);
        if (n > e && strncmp(base + n - e, k_change[i], e) == 0) {
            snprintf(out, out_size, "%.*s.jsonl%s", (int)(n - e), base, comp);
            return;
        }
    }
    snprintf(out, out_size, "%s", base);
}

typedef struct str_list {
    char **v;
    size_t n, cap;
} str_list;

static int list_push(str_list *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return SMOL_ENOMEM;
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return SMOL_ENOMEM;
    l->n++;
    return SMOL_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_dir(str_list *l, const char *dir, smol_error *err) {
    DIR *d = opendir(dir);
    if (!d) return smol_fail(err, SMOL_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = SMOL_OK;
    char path[4096];
    while (rc == SMOL_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !is_doc_file(e->d_name)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!smol_is_dir(path)) rc = list_push(l, path);
    }
    closedir(d);
    return rc == SMOL_ENOMEM ? smol_fail(err, rc, "out of memory listing %s", dir) : rc;
}

/* Sorts l, removes repeats, and fails if two files share an output name. */
static int sort_unique(str_list *l, smol_error *err) {
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (w && strcmp(l->v[w - 1], l->v[i]) == 0) free(l->v[i]);
        else l->v[w++] = l->v[i];
    }
    l->n = w;
    char **names = calloc(l->n ? l->n : 1, sizeof *names);
    if (!names) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    int rc = SMOL_OK;
    for (size_t i = 0; i < l->n && rc == SMOL_OK; i++) {
        char name[1024];
        smol_dd_output_name(l->v[i], name, sizeof name);
        if (!(names[i] = malloc(strlen(name) + 1 + 12))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
        else snprintf(names[i], strlen(name) + 13, "%s", name);
    }
    for (size_t i = 0; i < l->n && rc == SMOL_OK; i++)
        for (size_t j = i + 1; j < l->n && rc == SMOL_OK; j++)
            if (strcmp(names[i], names[j]) == 0)
                rc = smol_fail(err, SMOL_EINVAL, "%s and %s would both be written as %s: rename one of them",
                               l->v[i], l->v[j], names[i]);
    for (size_t i = 0; i < l->n; i++) free(names[i]);
    free(names);
    return rc;
}

int smol_dd_list_inputs(const char *const *paths, size_t n, char ***files, size_t *n_files, smol_error *err) {
    str_list l = {0};
    int rc = SMOL_OK;
    for (size_t i = 0; i < n && rc == SMOL_OK; i++) {
        if (smol_is_dir(paths[i])) rc = add_dir(&l, paths[i], err);
        else if (!smol_exists(paths[i])) rc = smol_fail(err, SMOL_ENOTFOUND, "%s: no such file", paths[i]);
        else if (list_push(&l, paths[i])) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    if (rc == SMOL_OK && l.n == 0) rc = smol_fail(err, SMOL_EINVAL, "no input documents (.jsonl, .json, .txt, .parquet)");
    if (rc == SMOL_OK) rc = sort_unique(&l, err);
    if (rc) {
        smol_dd_free_list(l.v, l.n);
        return rc;
    }
    *files = l.v;
    *n_files = l.n;
    return SMOL_OK;
}

void smol_dd_free_list(char **files, size_t n) {
    if (!files) return;
    for (size_t i = 0; i < n; i++) free(files[i]);
    free(files);
}

int smol_dd_check_shard(int rank, int world_size, smol_error *err) {
    if (world_size < 1) return smol_fail(err, SMOL_EINVAL, "world size %d: must be at least 1", world_size);
    if (rank < 0 || rank >= world_size)
        return smol_fail(err, SMOL_EINVAL, "rank %d: must be from 0 to world size - 1 (%d)", rank, world_size - 1);
    return SMOL_OK;
}

int smol_dd_mkdirs(const char *path, smol_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return smol_fail(err, SMOL_EINVAL, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return smol_fail(err, SMOL_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        if (!c) break;
        *p = c;
    }
    if (!smol_is_dir(path)) return smol_fail(err, SMOL_EIO, "%s: exists and is not a directory", path);
    return SMOL_OK;
}

int smol_dd_mark_done(const char *dir, const char *name, const char *text, smol_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = smol_dd_mkdirs(dir, err);
    if (rc) return rc;
    smol_atomic_file f;
    if ((rc = smol_atomic_open(&f, path, err))) return rc;
    fputs(text ? text : "", f.fp);
    return smol_atomic_commit(&f, err);
}

int smol_dd_is_done(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return smol_exists(path);
}

int smol_dd_check_inputs(const char *work_dir, char *const *files, size_t n, smol_error *err) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(files[i]) + 1;
    char *want = malloc(len);
    if (!want) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    size_t w = 0;
    for (size_t i = 0; i < n; i++) w += (size_t)sprintf(want + w, "%s\n", files[i]);
    char path[4096];
    snprintf(path, sizeof path, "%s/inputs.list", work_dir);
    int rc = SMOL_OK;
    if (!smol_exists(path)) {
        rc = smol_dd_mark_done(work_dir, "inputs.list", want, err);
    } else {
        char *have;
        size_t hl;
        if ((rc = smol_read_file(path, &have, &hl, err)) == SMOL_OK) {
            if (hl != w || memcmp(have, want, w) != 0) {
                size_t i = 0, line = 1;
                while (i < hl && i < w && have[i] == want[i]) line += have[i++] == '\n';
                rc = smol_fail(err, SMOL_EINVAL, "%s: the work directory was made for other inputs (line %zu differs): "
                               "give the same input files to every stage, or use a new --work directory",
                               path, line);
            }
            free(have);
        }
    }
    free(want);
    return rc;
}

/* ---------------------------------------------------------------- records */

/* JSONL files are read line by line, so kept records can be copied byte for byte; other
 * formats (.json, .txt, .parquet) come through the document reader of data/doc.h and are
 * written as their JSON serialisation. */
struct smol_dd_reader {
    smol_lines *lines;      /* JSONL */
    smol_doc_reader *docs;  /* everything else */
    smol_doc doc;
    char *doc_line;         /* serialised doc (docs mode) */
    cJSON *json;            /* lines mode: parsed record; docs mode: owned copy for .txt */
    const char *raw;
    size_t raw_len;
    char field[128];
};

static int is_jsonl(const char *path) {
    size_t n = strip_compression(path);
    return strcmp(path, "-") == 0 || (n >= 6 && strncmp(path + n - 6, ".jsonl", 6) == 0);
}

int smol_dd_reader_open(const char *path, const char *text_field, smol_dd_reader **out, smol_error *err) {
    *out = NULL;
    smol_dd_reader *r = calloc(1, sizeof *r);
    if (!r) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    snprintf(r->field, sizeof r->field, "%s", text_field && *text_field ? text_field : "text");
    int rc;
    if (is_jsonl(path)) {
        rc = smol_lines_open(path, &r->lines, err);
    } else {
        smol_doc_opts o = {.text_field = r->field};
        rc = smol_doc_reader_open(path, &o, &r->docs, err);
    }
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return SMOL_OK;
}

static int read_doc(smol_dd_reader *r, const char **text, size_t *len, smol_error *err) {
    smol_doc_free(&r->doc);
    free(r->doc_line);
    r->doc_line = NULL;
    int rc = smol_doc_read(r->docs, &r->doc, err);
    if (rc != 1) return rc;
    if (!(r->doc_line = smol_doc_to_json(&r->doc, &r->raw_len)))
        return smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory", r->doc.path, r->doc.line);
    r->raw = r->doc_line;
    *text = r->doc.text;
    *len = r->doc.text_len;
    return 1;
}

int smol_dd_read(smol_dd_reader *r, const char **text, size_t *len, smol_error *err) {
    cJSON_Delete(r->json);
    r->json = NULL;
    if (r->docs) return read_doc(r, text, len, err);
    for (;;) {
        int rc = smol_lines_next(r->lines, &r->raw, &r->raw_len, err);
        if (rc <= 0) return rc;
        size_t i = 0;
        while (i < r->raw_len && (r->raw[i] == ' ' || r->raw[i] == '\t' || r->raw[i] == '\r')) i++;
        if (i == r->raw_len) continue;
        break;
    }
    const char *path = smol_lines_path(r->lines);
    long line = (long)smol_lines_lineno(r->lines);
    r->json = cJSON_ParseWithLength(r->raw, r->raw_len);
    if (!cJSON_IsObject(r->json))
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: not a JSON object", path, line);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(r->json, r->field);
    if (!t) return smol_fail(err, SMOL_EFORMAT, "%s:%ld: no \"%s\" field (choose it with --field)", path, line, r->field);
    if (!cJSON_IsString(t)) return smol_fail(err, SMOL_EFORMAT, "%s:%ld: field \"%s\" is not a string", path, line, r->field);
    *text = t->valuestring;
    *len = strlen(t->valuestring);
    return 1;
}

cJSON *smol_dd_json(smol_dd_reader *r) {
    if (r->docs && r->doc.json) return r->doc.json;
    if (r->docs && !r->json) r->json = cJSON_ParseWithLength(r->raw, r->raw_len);
    return r->json;
}

const char *smol_dd_raw(const smol_dd_reader *r, size_t *len) {
    *len = r->raw_len;
    return r->raw;
}

long smol_dd_line(const smol_dd_reader *r) { return r->docs ? r->doc.line : (long)smol_lines_lineno(r->lines); }

uint64_t smol_dd_bytes_read(const smol_dd_reader *r) {
    return r->docs ? smol_doc_reader_bytes_read(r->docs) : smol_lines_bytes_read(r->lines);
}

void smol_dd_reader_close(smol_dd_reader *r) {
    if (!r) return;
    cJSON_Delete(r->json);
    smol_doc_free(&r->doc);
    free(r->doc_line);
    smol_doc_reader_close(r->docs);
    smol_lines_close(r->lines);
    free(r);
}

int smol_dd_writer_open(const char *path, smol_dd_writer **out, smol_error *err) {
    return smol_doc_writer_open(path, out, err);
}

int smol_dd_write_line(smol_dd_writer *w, const char *line, size_t len, smol_error *err) {
    return smol_doc_write_line(w, line, len, err);
}

int smol_dd_write_json(smol_dd_writer *w, const cJSON *json, smol_error *err) {
    char *s = json ? cJSON_PrintUnformatted(json) : NULL;
    if (!s) return smol_fail(err, SMOL_ENOMEM, "out of memory serialising a record");
    int rc = smol_dd_write_line(w, s, strlen(s), err);
    cJSON_free(s);
    return rc;
}

int smol_dd_writer_close(smol_dd_writer *w, smol_error *err) { return smol_doc_writer_close(w, err); }

void smol_dd_writer_abort(smol_dd_writer *w) { smol_doc_writer_abort(w); }

/* ---------------------------------------------------------------- exact dedup */

/* An open-addressing set of 128-bit digests (two words; all-zero marks an empty slot). */
typedef struct digest_set {
    uint64_t *slots;  /* 2 words per slot */
    uint32_t *where;  /* (file, doc) of the first document with the digest */
    size_t cap, n;
} digest_set;

static int set_grow(digest_set *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slots = calloc(cap * 2, sizeof *slots);
    uint32_t *where = calloc(cap * 2, sizeof *where);
    if (!slots || !where) {
        free(slots), free(where);
        return SMOL_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t a = s->slots[2 * i], b = s->slots[2 * i + 1];
        if (!a && !b) continue;
        size_t j = a & (cap - 1);
        while (slots[2 * j] || slots[2 * j + 1]) j = (j + 1) & (cap - 1);
        slots[2 * j] = a, slots[2 * j + 1] = b;
        where[2 * j] = s->where[2 * i], where[2 * j + 1] = s->where[2 * i + 1];
    }
    free(s->slots), free(s->where);
    s->slots = slots, s->where = where, s->cap = cap;
    return SMOL_OK;
}

/* Inserts (a, b) for (file, doc); returns 1 if it was new, 0 with *first set if present, < 0 on OOM. */
static int set_insert(digest_set *s, uint64_t a, uint64_t b, uint32_t file, uint32_t doc, uint32_t first[2]) {
    if (!a && !b) a = 1;  /* the empty-slot mark; SHA-1 prefixes of zero are not expected */
    if ((s->n + 1) * 2 > s->cap && set_grow(s)) return SMOL_ENOMEM;
    size_t j = a & (s->cap - 1);
    while (s->slots[2 * j] || s->slots[2 * j + 1]) {
        if (s->slots[2 * j] == a && s->slots[2 * j + 1] == b) {
            first[0] = s->where[2 * j], first[1] = s->where[2 * j + 1];
            return 0;
        }
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[2 * j] = a, s->slots[2 * j + 1] = b;
    s->where[2 * j] = file, s->where[2 * j + 1] = doc;
    s->n++;
    return 1;
}

typedef struct exact_run {
    char *const *files;
    const char *out_dir;
    const smol_exact_opts *o;
    digest_set set;
    smol_dedup_stats st;
} exact_run;

static int exact_open_out(const char *dir, const char *name, smol_dd_writer **w, smol_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return smol_dd_writer_open(path, w, err);
}

/* Writes the removed record with exact_duplicate_of naming the first copy. */
static int exact_exclude(exact_run *x, smol_dd_reader *r, smol_dd_writer *ex, const uint32_t first[2], smol_error *err) {
    char name[1024], ref[1100];
    smol_dd_output_name(x->files[first[0]], name, sizeof name);
    snprintf(ref, sizeof ref, "%s:%u", name, first[1]);
    cJSON *j = smol_dd_json(r);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "exact_duplicate_of");
    if (!cJSON_AddStringToObject(j, "exact_duplicate_of", ref)) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    return smol_dd_write_json(ex, j, err);
}

static int exact_file(exact_run *x, uint32_t fi, smol_error *err) {
    char name[1024];
    smol_dd_output_name(x->files[fi], name, sizeof name);
    smol_dd_reader *r = NULL;
    smol_dd_writer *w = NULL, *ex = NULL;
    int rc = smol_dd_reader_open(x->files[fi], x->o->text_field, &r, err);
    if (!rc) rc = exact_open_out(x->out_dir, name, &w, err);
    if (!rc && x->o->exclusions_dir) rc = exact_open_out(x->o->exclusions_dir, name, &ex, err);
    const char *text;
    size_t len;
    uint32_t doc = 0;
    while (!rc) {
        if ((rc = smol_dd_read(r, &text, &len, err)) != 1) break;
        rc = SMOL_OK;
        uint8_t d[20];
        smol_sha1(text, len, d);
        uint64_t a, b;
        memcpy(&a, d, 8), memcpy(&b, d + 8, 8);
        uint32_t first[2];
        int isnew = set_insert(&x->set, a, b, fi, doc, first);
        x->st.docs++, x->st.bytes += len;
        size_t rl;
        const char *raw = smol_dd_raw(r, &rl);
        if (isnew < 0) rc = smol_fail(err, SMOL_ENOMEM, "out of memory (%zu distinct texts)", x->set.n);
        else if (isnew) rc = smol_dd_write_line(w, raw, rl, err), x->st.kept++;
        else {
            x->st.removed++;
            rc = ex ? exact_exclude(x, r, ex, first, err) : SMOL_OK;
        }
        doc++;
    }
    smol_dd_reader_close(r);
    if (rc == 0 && w) rc = smol_dd_writer_close(w, err), w = NULL;
    if (rc == 0 && ex) rc = smol_dd_writer_close(ex, err), ex = NULL;
    smol_dd_writer_abort(w);
    smol_dd_writer_abort(ex);
    return rc;
}

int smol_dedup_exact(char *const *files, size_t n_files, const char *out_dir, const smol_exact_opts *opts,
                     smol_dedup_stats *stats, smol_error *err) {
    smol_exact_opts dflt = {0};
    exact_run x = {.files = files, .out_dir = out_dir, .o = opts ? opts : &dflt};
    int rc = smol_dd_mkdirs(out_dir, err);
    if (!rc && x.o->exclusions_dir) rc = smol_dd_mkdirs(x.o->exclusions_dir, err);
    for (size_t i = 0; i < n_files && !rc; i++) {
        rc = exact_file(&x, (uint32_t)i, err);
        if (!rc && x.o->log) {
            char msg[512];
            snprintf(msg, sizeof msg, "exact: %zu/%zu %s: %llu docs so far, %llu removed", i + 1, n_files, files[i],
                     (unsigned long long)x.st.docs, (unsigned long long)x.st.removed);
            x.o->log(x.o->log_ctx, msg);
        }
    }
    free(x.set.slots);
    free(x.set.where);
    if (stats) *stats = x.st;
    return rc;
}
