/* safetensors.c: reading safetensors files (Hugging Face's tensor format), single or sharded.
 *
 * Layout of one file: u64 little-endian N, then N bytes of JSON header (optionally padded with
 * spaces), then the data section. The header maps each tensor name to
 *   {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}
 * (offsets relative to the data section) and may hold "__metadata__": {string: string}.
 * Everything is checked before a tensor is handed out: the header length, the JSON, each
 * dtype, shape and offset pair (inside the data section, end - begin = elements x element
 * size), and that no two tensors share bytes. A sharded model is a model.safetensors.index.json
 * whose "weight_map" maps each tensor name to its shard file; each shard is mapped once.
 * Tensor names point into the parsed JSON trees, data into the mappings. */
#include "smol.h"
#include "base/error.h"
#include "base/file.h"
#include "model/dtype.h"
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100u << 20)          /* the reference reader's limit on the JSON header */
#define ST_MAX_INT 9007199254740992.0        /* 2^53: larger JSON numbers are not exact doubles */

typedef struct st_dtype {
    const char *name;
    uint32_t size;      /* bytes per element */
    int32_t type;       /* tensor type id, or -1 */
} st_dtype;

static const st_dtype k_dtypes[] = {
    {"F32", 4, SMOL_F32}, {"F16", 2, SMOL_F16}, {"BF16", 2, SMOL_BF16}, {"F64", 8, SMOL_F64},
    {"I8", 1, SMOL_I8}, {"I16", 2, SMOL_I16}, {"I32", 4, SMOL_I32}, {"I64", 8, SMOL_I64},
    {"U8", 1, -1}, {"U16", 2, -1}, {"U32", 4, -1}, {"U64", 8, -1}, {"BOOL", 1, -1},
    {"F8_E4M3", 1, -1}, {"F8_E5M2", 1, -1},
};

typedef struct st_file {
    char *path;         /* for messages and smol_st_shard_path */
    smol_map map;       /* zeroed for an in-memory image */
    cJSON *header;      /* the parsed header: tensor names point into it */
} st_file;

struct smol_st {
    st_file *files;
    int n_files;
    smol_st_tensor *tensors;
    int64_t n_tensors, cap_tensors;
    const smol_st_tensor **by_name;     /* sorted by name, for smol_st_find */
    char **meta_keys, **meta_vals;
    int64_t n_meta;
    cJSON *index;                       /* the parsed index of a sharded model, or NULL */
};

static const st_dtype *find_dtype(const char *name) {
    for (size_t i = 0; i < sizeof k_dtypes / sizeof k_dtypes[0]; i++)
        if (strcmp(k_dtypes[i].name, name) == 0) return &k_dtypes[i];
    return NULL;
}

/* Reads a JSON number that must be a whole number in [0, 2^53]. */
static int json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_INT) || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static int add_meta(smol_st *st, const char *key, const char *val, smol_error *err) {
    char **k = realloc(st->meta_keys, (size_t)(st->n_meta + 1) * sizeof *k);
    if (k) st->meta_keys = k;
    char **v = realloc(st->meta_vals, (size_t)(st->n_meta + 1) * sizeof *v);
    if (v) st->meta_vals = v;
    if (!k || !v) return smol_fail(err, SMOL_ENOMEM, "out of memory for safetensors metadata");
    k[st->n_meta] = dup_str(key);
    v[st->n_meta] = dup_str(val);
    st->n_meta++;
    if (!k[st->n_meta - 1] || !v[st->n_meta - 1])
        return smol_fail(err, SMOL_ENOMEM, "out of memory for safetensors metadata");
    return SMOL_OK;
}

/* "__metadata__" of a single file: an object of strings. */
static int parse_file_metadata(smol_st *st, const cJSON *meta, const char *path, smol_error *err) {
    if (!cJSON_IsObject(meta))
        return smol_fail(err, SMOL_EFORMAT, "%s: __metadata__ is not a JSON object", path);
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return smol_fail(err, SMOL_EFORMAT, "%s: __metadata__ value of '%s' is not a string", path, m->string);
        int rc = add_meta(st, m->string, m->valuestring, err);
        if (rc) return rc;
    }
    return SMOL_OK;
}

static smol_st_tensor *new_tensor(smol_st *st) {
    if (st->n_tensors == st->cap_tensors) {
        int64_t cap = st->cap_tensors ? st->cap_tensors * 2 : 64;
        smol_st_tensor *t = realloc(st->tensors, (size_t)cap * sizeof *t);
        if (!t) return NULL;
        st->tensors = t;
        st->cap_tensors = cap;
    }
    smol_st_tensor *t = &st->tensors[st->n_tensors++];
    memset(t, 0, sizeof *t);
    return t;
}

/* Reads the shape array of tensor j into t, with the element count (checked for overflow). */
static int parse_shape(smol_st_tensor *t, const cJSON *shape, const char *path, smol_error *err) {
    if (!cJSON_IsArray(shape))
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': \"shape\" is missing or not an array", path, t->name);
    int n = cJSON_GetArraySize(shape);
    if (n > SMOL_ST_MAX_DIMS)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' has %d dimensions (at most %d are supported)", path,
                         t->name, n, SMOL_ST_MAX_DIMS);
    uint64_t count = 1;
    int overflow = 0;
    const cJSON *d = shape->child;
    for (int i = 0; i < n; i++, d = d->next) {
        uint64_t v;
        if (!json_uint(d, &v))
            return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer", path,
                             t->name, i);
        t->shape[i] = (int64_t)v;
        if (v && count > UINT64_MAX / v) overflow = 1;
        count *= v;
    }
    if (overflow)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': the shape's element count overflows", path, t->name);
    t->n_dims = (uint32_t)n;
    t->n_elements = count;
    return SMOL_OK;
}

static void shape_text(const smol_st_tensor *t, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < t->n_dims && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? ", " : "", t->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* One tensor entry of a header: dtype, shape and offsets, checked against the data section. */
static int parse_tensor(smol_st *st, const cJSON *j, int shard, const uint8_t *data, uint64_t dsize,
                        const char *path, smol_error *err) {
    smol_st_tensor *t = new_tensor(st);
    if (!t) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory for the tensor list", path);
    t->name = j->string;
    t->shard = shard;
    if (!cJSON_IsObject(j)) return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' is not a JSON object", path, t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    if (!cJSON_IsString(dt))
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': \"dtype\" is missing or not a string", path, t->name);
    const st_dtype *info = find_dtype(dt->valuestring);
    if (!info)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' has unknown dtype '%s'", path, t->name, dt->valuestring);
    t->dtype = info->name;
    t->type = info->type;
    int rc = parse_shape(t, cJSON_GetObjectItemCaseSensitive(j, "shape"), path, err);
    if (rc) return rc;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &begin) ||
        !json_uint(off->child->next, &end))
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': \"data_offsets\" is not a pair of non-negative integers",
                         path, t->name);
    if (end < begin)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 ") end before they begin",
                         path, t->name, begin, end);
    if (end > dsize)
        return smol_fail(err, SMOL_EFORMAT,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 ") pass the end of the data section "
                         "(%" PRIu64 " bytes; the file is truncated?)", path, t->name, begin, end, dsize);
    if (t->n_elements > UINT64_MAX / info->size || t->n_elements * info->size != end - begin) {
        char shp[256];
        shape_text(t, shp, sizeof shp);
        return smol_fail(err, SMOL_EFORMAT,
                         "%s: tensor '%s': data_offsets hold %" PRIu64 " bytes but shape %s of %s needs %" PRIu64 " x %u",
                         path, t->name, end - begin, shp, t->dtype, t->n_elements, info->size);
    }
    t->offset = begin;
    t->nbytes = end - begin;
    t->data = data ? data + begin : NULL;
    return SMOL_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const smol_st_tensor *x = *(const smol_st_tensor *const *)a, *y = *(const smol_st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Checks that the tensors [first, n_tensors) of one file do not share bytes. */
static int check_overlap(smol_st *st, int64_t first, const char *path, smol_error *err) {
    int64_t n = st->n_tensors - first;
    if (n < 2) return SMOL_OK;
    const smol_st_tensor **v = malloc((size_t)n * sizeof *v);
    if (!v) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    int64_t m = 0;
    for (int64_t i = first; i < st->n_tensors; i++)
        if (st->tensors[i].nbytes) v[m++] = &st->tensors[i];
    qsort(v, (size_t)m, sizeof *v, cmp_offset);
    int rc = SMOL_OK;
    for (int64_t i = 1; i < m && !rc; i++)
        if (v[i]->offset < v[i - 1]->offset + v[i - 1]->nbytes)
            rc = smol_fail(err, SMOL_EFORMAT, "%s: tensors '%s' and '%s' overlap in the data section (at byte %" PRIu64 ")",
                           path, v[i - 1]->name, v[i]->name, v[i]->offset);
    free(v);
    return rc;
}

/* Parses the JSON header of one file image and appends its tensors. */
static int parse_image(smol_st *st, int shard, const uint8_t *data, size_t size, smol_error *err) {
    st_file *f = &st->files[shard];
    const char *path = f->path;
    if (size < 8)
        return smol_fail(err, SMOL_EFORMAT, "%s: %zu bytes is too short for a safetensors file (8-byte header length)",
                         path, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | data[i];
    if (hlen > size - 8)
        return smol_fail(err, SMOL_EFORMAT, "%s: header length %" PRIu64 " passes the end of the file (%zu bytes)", path,
                         hlen, size);
    if (hlen > ST_MAX_HEADER)
        return smol_fail(err, SMOL_EFORMAT, "%s: header length %" PRIu64 " is over the %u-byte limit", path, hlen,
                         ST_MAX_HEADER);
    const char *hdr = (const char *)data + 8;
    if (hlen < 2 || hdr[0] != '{')
        return smol_fail(err, SMOL_EFORMAT, "%s: the header does not start with '{' (not a safetensors file?)", path);
    const char *end = NULL;
    f->header = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!f->header) {
        size_t at = end && end >= hdr && end <= hdr + hlen ? (size_t)(end - hdr) : 0;
        return smol_fail(err, SMOL_EFORMAT, "%s: the header is not valid JSON (near byte %zu of %" PRIu64 ")", path,
                         at + 8, hlen);
    }
    for (const char *p = end; p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return smol_fail(err, SMOL_EFORMAT, "%s: unexpected bytes after the JSON header (byte %zu)", path,
                             (size_t)(p - hdr) + 8);
    if (!cJSON_IsObject(f->header))
        return smol_fail(err, SMOL_EFORMAT, "%s: the header is not a JSON object", path);
    const uint8_t *dstart = data + 8 + hlen;
    uint64_t dsize = size - 8 - hlen;
    int64_t first = st->n_tensors;
    for (const cJSON *j = f->header->child; j; j = j->next) {
        int rc = strcmp(j->string, "__metadata__") == 0
                     ? (st->index ? SMOL_OK : parse_file_metadata(st, j, path, err))
                     : parse_tensor(st, j, shard, dstart, dsize, path, err);
        if (rc) return rc;
    }
    return check_overlap(st, first, path, err);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const smol_st_tensor *const *)a)->name, (*(const smol_st_tensor *const *)b)->name);
}

/* Builds the sorted name index; a name seen twice is an error. */
static int build_index(smol_st *st, smol_error *err) {
    st->by_name = malloc((size_t)(st->n_tensors ? st->n_tensors : 1) * sizeof *st->by_name);
    if (!st->by_name) return smol_fail(err, SMOL_ENOMEM, "out of memory for the tensor index");
    for (int64_t i = 0; i < st->n_tensors; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, (size_t)st->n_tensors, sizeof *st->by_name, cmp_name);
    for (int64_t i = 1; i < st->n_tensors; i++)
        if (strcmp(st->by_name[i]->name, st->by_name[i - 1]->name) == 0) {
            const smol_st_tensor *a = st->by_name[i - 1], *b = st->by_name[i];
            return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' appears twice%s%s", st->files[b->shard].path, a->name,
                             a->shard != b->shard ? " (also in " : "", a->shard != b->shard ? st->files[a->shard].path : "");
        }
    return SMOL_OK;
}

static smol_st *st_new(int n_files) {
    smol_st *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->files = calloc((size_t)n_files, sizeof *st->files);
    if (!st->files) {
        free(st);
        return NULL;
    }
    return st;
}

int smol_st_open_memory(const void *data, size_t size, const char *name, smol_st **out, smol_error *err) {
    *out = NULL;
    smol_st *st = st_new(1);
    if (!st) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    st->n_files = 1;
    st->files[0].path = dup_str(name ? name : "<memory>");
    int rc = st->files[0].path ? parse_image(st, 0, data, size, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = build_index(st, err);
    if (rc) {
        smol_st_free(st);
        return rc;
    }
    *out = st;
    return SMOL_OK;
}

/* Maps and parses file i of st (its path already set). */
static int open_file(smol_st *st, int i, smol_error *err) {
    st_file *f = &st->files[i];
    int rc = smol_map_open(&f->map, f->path, err);
    if (rc) return rc;
    return parse_image(st, i, f->map.data, f->map.size, err);
}

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* The folder part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return dup_str(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

/* The index's "metadata": strings and numbers, kept as text. */
static int parse_index_metadata(smol_st *st, const cJSON *meta, smol_error *err) {
    if (!cJSON_IsObject(meta)) return SMOL_OK;
    for (const cJSON *m = meta->child; m; m = m->next) {
        char buf[64];
        const char *val = buf;
        if (cJSON_IsString(m)) val = m->valuestring;
        else if (cJSON_IsNumber(m) && m->valuedouble == (double)(int64_t)m->valuedouble)
            snprintf(buf, sizeof buf, "%" PRId64, (int64_t)m->valuedouble);
        else if (cJSON_IsNumber(m)) snprintf(buf, sizeof buf, "%.17g", m->valuedouble);
        else continue;
        int rc = add_meta(st, m->string, val, err);
        if (rc) return rc;
    }
    return SMOL_OK;
}

/* Collects the distinct shard names of a weight map, in first-seen order, into st->files. */
static int collect_shards(smol_st *st, const cJSON *wmap, const char *path, const char *dir, smol_error *err) {
    for (const cJSON *e = wmap->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return smol_fail(err, SMOL_EFORMAT, "%s: weight_map entry '%s' is not a file name", path, e->string);
        const char *file = e->valuestring;
        if (!*file || strchr(file, '/') || strcmp(file, ".") == 0 || strcmp(file, "..") == 0)
            return smol_fail(err, SMOL_EFORMAT, "%s: weight_map entry '%s' names '%s', not a file beside the index",
                             path, e->string, file);
        int seen = 0;
        for (int i = 0; i < st->n_files && !seen; i++) seen = strcmp(strrchr(st->files[i].path, '/') + 1, file) == 0;
        if (seen) continue;
        st->files[st->n_files].path = join_path(dir, file);
        if (!st->files[st->n_files].path) return smol_fail(err, SMOL_ENOMEM, "out of memory");
        st->n_files++;
    }
    return SMOL_OK;
}

/* Checks that every tensor of the weight map is in the shard the map names. */
static int check_weight_map(smol_st *st, const cJSON *wmap, const char *path, smol_error *err) {
    for (const cJSON *e = wmap->child; e; e = e->next) {
        const smol_st_tensor *t = smol_st_find(st, e->string);
        const char *want = e->valuestring;
        if (!t)
            return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' is listed in weight_map but shard %s does not hold it",
                             path, e->string, want);
        const char *have = strrchr(st->files[t->shard].path, '/') + 1;
        if (strcmp(have, want) != 0)
            return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' is listed in weight_map in %s but is found in %s",
                             path, e->string, want, have);
    }
    return SMOL_OK;
}

static int open_index(const char *path, smol_st **out, smol_error *err) {
    char *text;
    size_t len;
    int rc = smol_read_file(path, &text, &len, err);
    if (rc) return rc;
    const char *end = NULL;
    cJSON *idx = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    free(text);
    if (!idx) return smol_fail(err, SMOL_EFORMAT, "%s: not valid JSON (near byte %zu)", path, at);
    const cJSON *wmap = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
    if (!cJSON_IsObject(wmap)) {
        cJSON_Delete(idx);
        return smol_fail(err, SMOL_EFORMAT, "%s: \"weight_map\" is missing or not an object", path);
    }
    smol_st *st = st_new(cJSON_GetArraySize(wmap) + 1);
    char *dir = dir_of(path);
    if (!st || !dir) {
        free(dir);
        free(st);
        cJSON_Delete(idx);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    st->index = idx;
    rc = parse_index_metadata(st, cJSON_GetObjectItemCaseSensitive(idx, "metadata"), err);
    if (!rc) rc = collect_shards(st, wmap, path, dir, err);
    free(dir);
    for (int i = 0; i < st->n_files && !rc; i++) {
        rc = open_file(st, i, err);
        if (rc == SMOL_EIO) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err ? err->msg : "cannot open");
            rc = smol_fail(err, SMOL_EFORMAT, "%s: missing shard listed in weight_map: %s", path, why);
        }
    }
    if (!rc) rc = build_index(st, err);
    if (!rc) rc = check_weight_map(st, wmap, path, err);
    if (rc) {
        smol_st_free(st);
        return rc;
    }
    *out = st;
    return SMOL_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int open_single(const char *path, smol_st **out, smol_error *err) {
    smol_st *st = st_new(1);
    if (!st) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    st->n_files = 1;
    st->files[0].path = dup_str(path);
    int rc = st->files[0].path ? open_file(st, 0, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = build_index(st, err);
    if (rc) {
        smol_st_free(st);
        return rc;
    }
    *out = st;
    return SMOL_OK;
}

int smol_st_open(const char *path, smol_st **out, smol_error *err) {
    *out = NULL;
    if (!smol_is_dir(path)) return ends_with(path, ".json") ? open_index(path, out, err) : open_single(path, out, err);
    char *single = join_path(path, "model.safetensors"), *index = join_path(path, "model.safetensors.index.json");
    int rc;
    if (!single || !index) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    else if (smol_exists(single)) rc = open_single(single, out, err);
    else if (smol_exists(index)) rc = open_index(index, out, err);
    else rc = smol_fail(err, SMOL_ENOTFOUND, "%s: no model.safetensors or model.safetensors.index.json in this folder",
                        path);
    free(single);
    free(index);
    return rc;
}

void smol_st_free(smol_st *st) {
    if (!st) return;
    for (int i = 0; i < st->n_files; i++) {
        free(st->files[i].path);
        smol_map_close(&st->files[i].map);
        cJSON_Delete(st->files[i].header);
    }
    for (int64_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_vals[i]);
    }
    free(st->meta_keys);
    free(st->meta_vals);
    free(st->files);
    free(st->tensors);
    free(st->by_name);
    cJSON_Delete(st->index);
    free(st);
}

int64_t smol_st_tensor_count(const smol_st *st) { return st->n_tensors; }

const smol_st_tensor *smol_st_tensor_at(const smol_st *st, int64_t i) {
    return i >= 0 && i < st->n_tensors ? &st->tensors[i] : NULL;
}

const smol_st_tensor *smol_st_find(const smol_st *st, const char *name) {
    smol_st_tensor key = {.name = name};
    const smol_st_tensor *kp = &key;
    const smol_st_tensor **hit = bsearch(&kp, st->by_name, (size_t)st->n_tensors, sizeof *st->by_name, cmp_name);
    return hit ? *hit : NULL;
}

int smol_st_shard_count(const smol_st *st) { return st->n_files; }

const char *smol_st_shard_path(const smol_st *st, int i) {
    return i >= 0 && i < st->n_files ? st->files[i].path : NULL;
}

int64_t smol_st_metadata_count(const smol_st *st) { return st->n_meta; }

const char *smol_st_metadata_key(const smol_st *st, int64_t i) {
    return i >= 0 && i < st->n_meta ? st->meta_keys[i] : NULL;
}

const char *smol_st_metadata_value(const smol_st *st, int64_t i) {
    return i >= 0 && i < st->n_meta ? st->meta_vals[i] : NULL;
}

const char *smol_st_metadata_get(const smol_st *st, const char *key) {
    for (int64_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_vals[i];
    return NULL;
}
