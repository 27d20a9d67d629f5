/* gguf.c: reading and writing GGUF v2/v3 files, the model format of llama.cpp.
 *
 * Reader: the file is memory-mapped (or given in memory), and the header, the metadata and the
 * tensor infos are parsed and checked before anything is handed out. Every count read from the
 * file is checked against the bytes that remain, and tables grow only with the entries actually
 * read, so a corrupt or hostile file ends in SMOL_EFORMAT with a message naming the file and the
 * field, never in a crash or a huge allocation. Strings and arrays are copied into an arena owned by the smol_gguf; tensor
 * data points into the mapping.
 *
 * Writer: collects metadata (deep copies) and tensors (referenced data, or a fill callback that
 * produces rows at write time), then writes GGUF v3 in one pass through an atomic temp file.
 *
 * Layout (all little-endian; this code assumes a little-endian host):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv, n_kv * (string key, u32 type, value),
 *   n_tensors * (string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset),
 *   padding to the alignment, then the data section; strings are u64 length + bytes. */
#include "smol.h"
#include "base/error.h"
#include "base/file.h"
#include "model/dtype.h"
#include <inttypes.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH 8          /* arrays of arrays nested deeper than this are rejected */
#define GGUF_MIN_KV_BYTES 13      /* key length 8 + type 4 + a 1-byte value */
#define GGUF_MIN_TENSOR_BYTES 32  /* name length 8 + n_dims 4 + one ne 8 + type 4 + offset 8 */
#define GGUF_PLAUSIBLE_COUNT (1u << 20)  /* more keys or tensors than bytes allow, and more than this: absurd */

/* Bytes of one scalar of each metadata type; 0 for STRING and ARRAY (variable) and unknown. */
static const uint8_t k_scalar_size[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static const char *const k_type_names[13] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

/* The name of metadata type t ("u32", "string", ...), or "?" for an unknown type. */
const char *smol_gguf_type_name(uint32_t t) { return t < 13 ? k_type_names[t] : "?"; }

/* ---------------------------------------------------------------- arena */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

typedef struct arena {
    arena_chunk *head;
} arena;

/* n bytes aligned to 16 that live until arena_free; NULL when out of memory. */
static void *arena_alloc(arena *a, size_t n) {
    if (n > SIZE_MAX / 2) return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        if (a->head && n > 4096) {  /* a big block: keep the current chunk's free space for small ones */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (unsigned char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_free(arena *a) {
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}

/* ---------------------------------------------------------------- name index (open addressing) */

typedef struct name_index {
    int64_t *slots;   /* entry index + 1; 0 marks an empty slot */
    uint64_t mask;
} name_index;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* Finds name among names[] through ix: its index, or -1. When absent and insert_at >= 0, adds it. */
static int64_t index_find(name_index *ix, const char *const *names, const uint64_t *lens, const char *name,
                          size_t len, int64_t insert_at) {
    if (!ix->slots) return -1;
    for (uint64_t h = hash_bytes(name, len) & ix->mask;; h = (h + 1) & ix->mask) {
        int64_t s = ix->slots[h];
        if (s == 0) {
            if (insert_at >= 0) ix->slots[h] = insert_at + 1;
            return -1;
        }
        if (lens[s - 1] == len && memcmp(names[s - 1], name, len) == 0) return s - 1;
    }
}

/* Adds entry i (names[0..i-1] are already in ix), doubling the table when it is half full.
 * Returns the index of an earlier entry with the same name, -1 when added, -2 when out of memory. */
static int64_t index_add(name_index *ix, const char *const *names, const uint64_t *lens, int64_t i) {
    uint64_t cap = ix->slots ? ix->mask + 1 : 0;
    if ((uint64_t)(i + 1) * 2 > cap) {
        uint64_t ncap = cap ? cap * 2 : 64;
        int64_t *slots = calloc(ncap, sizeof *slots);
        if (!slots) return -2;
        free(ix->slots);
        ix->slots = slots;
        ix->mask = ncap - 1;
        for (int64_t j = 0; j < i; j++) index_find(ix, names, lens, names[j], lens[j], j);
    }
    return index_find(ix, names, lens, names[i], lens[i], i);
}

/* ---------------------------------------------------------------- the reader */

struct smol_gguf {
    smol_map map;            /* the mapped file (zeroed for smol_gguf_open_memory) */
    const uint8_t *data;
    size_t size;
    char name[512];          /* path or "<memory>", for messages */
    arena mem;
    uint32_t version, alignment;
    uint64_t data_offset;    /* start of the data section */
    int64_t n_kv;
    uint64_t cap_kv;         /* entries the three kv arrays have room for */
    const char **keys;
    uint64_t *key_lens;
    smol_gguf_value *vals;
    name_index kv_index;
    int64_t n_tensors;
    uint64_t cap_tensors;
    smol_gguf_tensor *tensors;
    const char **tensor_names;
    uint64_t *tensor_name_lens;
    name_index tensor_index;
};

/* Parse state: the read position and the description of the item being read, for messages. */
typedef struct parser {
    smol_gguf *g;
    size_t pos;
    char what[320];          /* "metadata key 12 ('tokenizer.ggml.tokens')" */
    smol_error *err;
} parser;

static size_t left(const parser *p) { return p->g->size - p->pos; }

static int truncated(parser *p) {
    return smol_fail(p->err, SMOL_EFORMAT, "%s: truncated in %s (file size %zu)", p->g->name, p->what, p->g->size);
}

static int rd_bytes(parser *p, void *out, size_t n) {
    if (left(p) < n) return truncated(p);
    memcpy(out, p->g->data + p->pos, n);
    p->pos += n;
    return SMOL_OK;
}

static int rd_u32(parser *p, uint32_t *v) { return rd_bytes(p, v, 4); }
static int rd_u64(parser *p, uint64_t *v) { return rd_bytes(p, v, 8); }

/* Formats n as decimal, adding " (2^k)" for big powers of two. */
static const char *fmt_count(char *buf, size_t size, uint64_t n) {
    int k = 0;
    if (n >= (1ull << 20) && (n & (n - 1)) == 0)
        while ((1ull << k) != n) k++;
    if (k) snprintf(buf, size, "%" PRIu64 " (2^%d)", n, k);
    else snprintf(buf, size, "%" PRIu64, n);
    return buf;
}

/* Reads a GGUF string into arena memory, NUL-terminated. */
static int rd_string(parser *p, const char **out, uint64_t *len) {
    uint64_t n;
    int rc = rd_u64(p, &n);
    if (rc) return rc;
    if (n > left(p)) {
        char b[48];
        return smol_fail(p->err, SMOL_EFORMAT, "%s: %s: string length %s runs past the end of the file (%zu bytes left)",
                         p->g->name, p->what, fmt_count(b, sizeof b, n), left(p));
    }
    char *s = arena_alloc(&p->g->mem, (size_t)n + 1);
    if (!s) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", p->g->name, p->what);
    memcpy(s, p->g->data + p->pos, (size_t)n);
    s[n] = 0;
    p->pos += (size_t)n;
    *out = s;
    *len = n;
    return SMOL_OK;
}

static int parse_value(parser *p, uint32_t type, smol_gguf_value *out, int depth);

/* Reads the body of an array (element type and count already known to be next in the file). */
static int parse_array(parser *p, smol_gguf_value *out, int depth) {
    uint32_t at;
    uint64_t n;
    int rc;
    if ((rc = rd_u32(p, &at)) || (rc = rd_u64(p, &n))) return rc;
    if (at > SMOL_GGUF_FLOAT64)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: %s: array element type %u is not a GGUF type", p->g->name, p->what, at);
    if (at == SMOL_GGUF_ARRAY && depth + 1 >= GGUF_MAX_DEPTH)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: %s: arrays nested more than %d deep", p->g->name, p->what,
                         GGUF_MAX_DEPTH);
    uint64_t min = at == SMOL_GGUF_STRING ? 8 : at == SMOL_GGUF_ARRAY ? 12 : k_scalar_size[at];
    if (n > left(p) / min) {
        char b[48];
        return smol_fail(p->err, SMOL_EFORMAT,
                         "%s: truncated in %s: array of %s %s items needs more than the %zu bytes left in the file",
                         p->g->name, p->what, fmt_count(b, sizeof b, n), k_type_names[at], left(p));
    }
    out->arr_type = at;
    out->len = n;
    arena *a = &p->g->mem;
    if (at == SMOL_GGUF_STRING) {
        const char **strs = arena_alloc(a, (size_t)n * sizeof *strs);
        uint64_t *lens = arena_alloc(a, (size_t)n * sizeof *lens);
        if (!strs || !lens) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", p->g->name, p->what);
        for (uint64_t i = 0; i < n; i++)
            if ((rc = rd_string(p, &strs[i], &lens[i]))) return rc;
        out->v.strs = strs;
        out->str_lens = lens;
    } else if (at == SMOL_GGUF_ARRAY) {
        smol_gguf_value *vals = arena_alloc(a, (size_t)n * sizeof *vals);
        if (!vals) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", p->g->name, p->what);
        memset(vals, 0, (size_t)n * sizeof *vals);
        for (uint64_t i = 0; i < n; i++)
            if ((rc = parse_value(p, SMOL_GGUF_ARRAY, &vals[i], depth + 1))) return rc;
        out->v.vals = vals;
    } else {
        size_t bytes = (size_t)n * k_scalar_size[at];
        void *copy = arena_alloc(a, bytes);
        if (!copy) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", p->g->name, p->what);
        if ((rc = rd_bytes(p, copy, bytes))) return rc;
        out->v.arr = copy;
    }
    return SMOL_OK;
}

/* Reads one value of the given type into out (scalars widened, the rest copied to the arena). */
static int parse_value(parser *p, uint32_t type, smol_gguf_value *out, int depth) {
    memset(out, 0, sizeof *out);
    out->type = type;
    if (type > SMOL_GGUF_FLOAT64)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: %s: value type %u is not a GGUF type", p->g->name, p->what, type);
    if (type == SMOL_GGUF_STRING) return rd_string(p, &out->v.str, &out->len);
    if (type == SMOL_GGUF_ARRAY) return parse_array(p, out, depth);
    uint8_t raw[8];
    int rc = rd_bytes(p, raw, k_scalar_size[type]);
    if (rc) return rc;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
            uint64_t u64; int64_t i64; double f64; } x;
    memcpy(&x, raw, k_scalar_size[type]);
    switch (type) {
    case SMOL_GGUF_UINT8:   out->v.u64 = x.u8; break;
    case SMOL_GGUF_INT8:    out->v.i64 = x.i8; break;
    case SMOL_GGUF_UINT16:  out->v.u64 = x.u16; break;
    case SMOL_GGUF_INT16:   out->v.i64 = x.i16; break;
    case SMOL_GGUF_UINT32:  out->v.u64 = x.u32; break;
    case SMOL_GGUF_INT32:   out->v.i64 = x.i32; break;
    case SMOL_GGUF_FLOAT32: out->v.f64 = x.f32; break;
    case SMOL_GGUF_BOOL:
        if (x.u8 > 1)
            return smol_fail(p->err, SMOL_EFORMAT, "%s: %s: bool value %u is not 0 or 1", p->g->name, p->what, x.u8);
        out->v.b = x.u8 != 0;
        break;
    case SMOL_GGUF_UINT64:  out->v.u64 = x.u64; break;
    case SMOL_GGUF_INT64:   out->v.i64 = x.i64; break;
    default:                out->v.f64 = x.f64; break;
    }
    return SMOL_OK;
}

static int parse_header(parser *p, uint64_t *n_tensors, uint64_t *n_kv) {
    smol_gguf *g = p->g;
    snprintf(p->what, sizeof p->what, "the header");
    char magic[4];
    int rc = rd_bytes(p, magic, 4);
    if (rc) return rc;
    if (memcmp(magic, "GGUF", 4) != 0) {
        char shown[20];
        int k = 0;
        for (int i = 0; i < 4; i++) {
            unsigned char c = (unsigned char)magic[i];
            k += snprintf(shown + k, sizeof shown - (size_t)k, c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
        }
        return smol_fail(p->err, SMOL_EFORMAT, "%s: bad magic '%s' (expected 'GGUF'): not a GGUF file", g->name, shown);
    }
    if ((rc = rd_u32(p, &g->version))) return rc;
    uint32_t swapped = __builtin_bswap32(g->version);
    if (swapped == 2 || swapped == 3)
        return smol_fail(p->err, SMOL_EUNSUPPORTED, "%s: big-endian GGUF (version %u) is not supported", g->name, swapped);
    if (g->version == 1)
        return smol_fail(p->err, SMOL_EUNSUPPORTED,
                         "%s: GGUF version 1 is not supported (only 2 and 3); convert it again with a current llama.cpp",
                         g->name);
    if (g->version != 2 && g->version != 3)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: bad GGUF version %u (expected 2 or 3)", g->name, g->version);
    if ((rc = rd_u64(p, n_tensors)) || (rc = rd_u64(p, n_kv))) return rc;
    /* A count that cannot fit in what is left is either absurd (reported now) or the sign of a
     * truncated file (reported where the entries run out, more usefully). */
    char b[48];
    if (*n_tensors > left(p) / GGUF_MIN_TENSOR_BYTES && *n_tensors > GGUF_PLAUSIBLE_COUNT)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: n_tensors %s is absurd for a file of %zu bytes", g->name,
                         fmt_count(b, sizeof b, *n_tensors), g->size);
    if (*n_kv > left(p) / GGUF_MIN_KV_BYTES && *n_kv > GGUF_PLAUSIBLE_COUNT)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: n_kv %s is absurd for a file of %zu bytes", g->name,
                         fmt_count(b, sizeof b, *n_kv), g->size);
    return SMOL_OK;
}

/* Makes room for entry i of the kv arrays. They grow with the entries actually read, so a
 * count that the file does not back with bytes never turns into a large allocation. */
static int kv_reserve(smol_gguf *g, uint64_t i) {
    if (i < g->cap_kv) return SMOL_OK;
    uint64_t cap = g->cap_kv ? g->cap_kv * 2 : 64;
    const char **keys = realloc(g->keys, cap * sizeof *keys);
    if (keys) g->keys = keys;
    uint64_t *lens = realloc(g->key_lens, cap * sizeof *lens);
    if (lens) g->key_lens = lens;
    smol_gguf_value *vals = realloc(g->vals, cap * sizeof *vals);
    if (vals) g->vals = vals;
    if (!keys || !lens || !vals) return SMOL_ENOMEM;
    g->cap_kv = cap;
    return SMOL_OK;
}

static int parse_kvs(parser *p, uint64_t n_kv) {
    smol_gguf *g = p->g;
    for (uint64_t i = 0; i < n_kv; i++) {
        snprintf(p->what, sizeof p->what, "metadata key %" PRIu64, i);
        if (kv_reserve(g, i)) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", g->name, p->what);
        int rc = rd_string(p, &g->keys[i], &g->key_lens[i]);
        if (rc) return rc;
        snprintf(p->what, sizeof p->what, "metadata key %" PRIu64 " ('%.200s')", i, g->keys[i]);
        if (strlen(g->keys[i]) != g->key_lens[i])
            return smol_fail(p->err, SMOL_EFORMAT, "%s: %s holds a NUL byte", g->name, p->what);
        int64_t dup = index_add(&g->kv_index, g->keys, g->key_lens, (int64_t)i);
        if (dup == -2) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", g->name, p->what);
        if (dup >= 0)
            return smol_fail(p->err, SMOL_EFORMAT, "%s: duplicate metadata key '%.200s' (entries %" PRId64
                             " and %" PRIu64 ")", g->name, g->keys[i], dup, i);
        uint32_t type;
        if ((rc = rd_u32(p, &type)) || (rc = parse_value(p, type, &g->vals[i], 0))) return rc;
        g->n_kv = (int64_t)i + 1;
    }
    return SMOL_OK;
}

/* general.alignment: an integer power of two (default 32). */
static int read_alignment(parser *p) {
    smol_gguf *g = p->g;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const smol_gguf_value *v = smol_gguf_get(g, "general.alignment");
    if (!v) return SMOL_OK;
    int64_t a;
    if (smol_gguf_get_int(g, "general.alignment", &a) != SMOL_OK)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: general.alignment has type %s, expected an integer", g->name,
                         smol_gguf_type_name(v->type));
    if (a <= 0 || a > (1 << 30) || (a & (a - 1)) != 0)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: general.alignment %" PRId64 " is not a power of two", g->name, a);
    g->alignment = (uint32_t)a;
    return SMOL_OK;
}

static int parse_tensor_info(parser *p, int64_t i) {
    smol_gguf *g = p->g;
    smol_gguf_tensor *t = &g->tensors[i];
    snprintf(p->what, sizeof p->what, "tensor info %" PRId64, i);
    int rc = rd_string(p, &g->tensor_names[i], &g->tensor_name_lens[i]);
    if (rc) return rc;
    t->name = g->tensor_names[i];
    snprintf(p->what, sizeof p->what, "tensor info %" PRId64 " ('%.200s')", i, t->name);
    if (strlen(t->name) != g->tensor_name_lens[i])
        return smol_fail(p->err, SMOL_EFORMAT, "%s: the name of %s holds a NUL byte", g->name, p->what);
    int64_t dup = index_add(&g->tensor_index, g->tensor_names, g->tensor_name_lens, i);
    if (dup == -2) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading %s", g->name, p->what);
    if (dup >= 0)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: duplicate tensor name '%.200s' (tensors %" PRId64 " and %" PRId64
                         ")", g->name, t->name, dup, i);
    if ((rc = rd_u32(p, &t->n_dims))) return rc;
    if (t->n_dims < 1 || t->n_dims > 4)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s' has n_dims %u, expected 1 to 4", g->name, t->name,
                         t->n_dims);
    for (int d = 0; d < 4; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne;
        if ((rc = rd_u64(p, &ne))) return rc;
        if (ne > INT64_MAX)
            return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s' ne[%u] = %" PRIu64 " is out of range", g->name,
                             t->name, d, ne);
        t->ne[d] = (int64_t)ne;
    }
    if ((rc = rd_u32(p, &t->type)) || (rc = rd_u64(p, &t->offset))) return rc;
    if (!smol_dtype_get(t->type))
        return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s' has unknown type id %u", g->name, t->name, t->type);
    return SMOL_OK;
}

/* Checks a tensor's size and place in the data section and points it into the file. */
static int place_tensor(parser *p, smol_gguf_tensor *t) {
    smol_gguf *g = p->g;
    const smol_dtype_info *ti = smol_dtype_get(t->type);
    uint64_t nel = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne = (uint64_t)t->ne[d];
        if (ne != 0 && nel > (uint64_t)INT64_MAX / ne)
            return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s': the element count overflows (shape %" PRId64
                             " x %" PRId64 " x %" PRId64 " x %" PRId64 ")", g->name, t->name, t->ne[0], t->ne[1],
                             t->ne[2], t->ne[3]);
        nel *= ne;
    }
    if (t->ne[0] % ti->block)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s': ne[0] = %" PRId64
                         " is not a multiple of the block size %u of type %s", g->name, t->name, t->ne[0], ti->block,
                         ti->name);
    int overflow = 0;
    t->nbytes = nel ? smol_dtype_nbytes(t->type, nel, &overflow) : 0;
    if (overflow)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s': the byte size overflows", g->name, t->name);
    if (t->offset % g->alignment)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s' offset %" PRIu64
                         " is not a multiple of the alignment %u", g->name, t->name, t->offset, g->alignment);
    uint64_t room = g->size - g->data_offset;  /* data_offset <= size is checked by the caller */
    if (t->offset > room || t->nbytes > room - t->offset) {
        uint64_t end = g->data_offset + t->offset;  /* may wrap only for absurd offsets; shown as is */
        return smol_fail(p->err, SMOL_EFORMAT, "%s: tensor '%.200s' data ends at byte %" PRIu64
                         "%s past the end of the file (size %zu)", g->name, t->name,
                         end + t->nbytes, end < t->offset || end + t->nbytes < end ? " (overflowing)" : "", g->size);
    }
    t->data = g->data + g->data_offset + t->offset;
    return SMOL_OK;
}

/* Makes room for tensor i (see kv_reserve). */
static int tensor_reserve(smol_gguf *g, uint64_t i) {
    if (i < g->cap_tensors) return SMOL_OK;
    uint64_t cap = g->cap_tensors ? g->cap_tensors * 2 : 64;
    smol_gguf_tensor *ts = realloc(g->tensors, cap * sizeof *ts);
    if (ts) g->tensors = ts;
    const char **names = realloc(g->tensor_names, cap * sizeof *names);
    if (names) g->tensor_names = names;
    uint64_t *lens = realloc(g->tensor_name_lens, cap * sizeof *lens);
    if (lens) g->tensor_name_lens = lens;
    if (!ts || !names || !lens) return SMOL_ENOMEM;
    g->cap_tensors = cap;
    return SMOL_OK;
}

static int parse_tensors(parser *p, uint64_t n) {
    smol_gguf *g = p->g;
    for (uint64_t i = 0; i < n; i++) {
        if (tensor_reserve(g, i))
            return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory reading tensor info %" PRIu64, g->name, i);
        memset(&g->tensors[i], 0, sizeof g->tensors[i]);
        int rc = parse_tensor_info(p, (int64_t)i);
        if (rc) return rc;
        g->n_tensors = (int64_t)i + 1;
    }
    g->data_offset = ((uint64_t)p->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (n == 0) return SMOL_OK;
    if (g->data_offset > g->size)
        return smol_fail(p->err, SMOL_EFORMAT, "%s: truncated before the data section (starts at byte %" PRIu64
                         ", file size %zu)", g->name, g->data_offset, g->size);
    for (uint64_t i = 0; i < n; i++) {
        int rc = place_tensor(p, &g->tensors[i]);
        if (rc) return rc;
    }
    return SMOL_OK;
}

static int parse_all(smol_gguf *g, smol_error *err) {
    parser p = {.g = g, .pos = 0, .err = err};
    uint64_t n_tensors, n_kv;
    int rc = parse_header(&p, &n_tensors, &n_kv);
    if (!rc) rc = parse_kvs(&p, n_kv);
    if (!rc) rc = read_alignment(&p);
    if (!rc) rc = parse_tensors(&p, n_tensors);
    return rc;
}

static int open_common(smol_gguf *g, smol_gguf **out, smol_error *err) {
    int rc = parse_all(g, err);
    if (rc) {
        smol_gguf_free(g);
        return rc;
    }
    *out = g;
    return SMOL_OK;
}

int smol_gguf_open_memory(const void *data, size_t size, smol_gguf **out, smol_error *err) {
    *out = NULL;
    smol_gguf *g = calloc(1, sizeof *g);
    if (!g) return smol_fail(err, SMOL_ENOMEM, "<memory>: out of memory");
    snprintf(g->name, sizeof g->name, "<memory>");
    g->data = data;
    g->size = data ? size : 0;
    return open_common(g, out, err);
}

int smol_gguf_open(const char *path, smol_gguf **out, smol_error *err) {
    *out = NULL;
    smol_gguf *g = calloc(1, sizeof *g);
    if (!g) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    snprintf(g->name, sizeof g->name, "%s", path);
    int rc = smol_map_open(&g->map, path, err);
    if (rc) {
        free(g);
        return rc;
    }
    g->data = g->map.data;
    g->size = g->map.size;
    return open_common(g, out, err);
}

void smol_gguf_free(smol_gguf *g) {
    if (!g) return;
    smol_map_close(&g->map);
    arena_free(&g->mem);
    free(g->keys);
    free(g->key_lens);
    free(g->vals);
    free(g->kv_index.slots);
    free(g->tensors);
    free(g->tensor_names);
    free(g->tensor_name_lens);
    free(g->tensor_index.slots);
    free(g);
}

uint32_t smol_gguf_version(const smol_gguf *g) { return g->version; }
uint32_t smol_gguf_alignment(const smol_gguf *g) { return g->alignment; }
uint64_t smol_gguf_data_offset(const smol_gguf *g) { return g->data_offset; }
uint64_t smol_gguf_file_size(const smol_gguf *g) { return g->size; }
int64_t smol_gguf_kv_count(const smol_gguf *g) { return g->n_kv; }
int64_t smol_gguf_tensor_count(const smol_gguf *g) { return g->n_tensors; }

const char *smol_gguf_kv_key(const smol_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->keys[i] : NULL;
}

const smol_gguf_value *smol_gguf_kv_value(const smol_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? &g->vals[i] : NULL;
}

const smol_gguf_value *smol_gguf_get(const smol_gguf *g, const char *key) {
    name_index ix = g->kv_index;
    int64_t i = index_find(&ix, g->keys, g->key_lens, key, strlen(key), -1);
    return i >= 0 && i < g->n_kv ? &g->vals[i] : NULL;
}

const char *smol_gguf_get_str(const smol_gguf *g, const char *key) {
    const smol_gguf_value *v = smol_gguf_get(g, key);
    return v && v->type == SMOL_GGUF_STRING ? v->v.str : NULL;
}

int smol_gguf_get_int(const smol_gguf *g, const char *key, int64_t *out) {
    const smol_gguf_value *v = smol_gguf_get(g, key);
    if (!v) return SMOL_ENOTFOUND;
    switch (v->type) {
    case SMOL_GGUF_UINT8: case SMOL_GGUF_UINT16: case SMOL_GGUF_UINT32: case SMOL_GGUF_UINT64:
        if (v->v.u64 > INT64_MAX) return SMOL_ERANGE;
        *out = (int64_t)v->v.u64;
        return SMOL_OK;
    case SMOL_GGUF_INT8: case SMOL_GGUF_INT16: case SMOL_GGUF_INT32: case SMOL_GGUF_INT64:
        *out = v->v.i64;
        return SMOL_OK;
    default:
        return SMOL_EFORMAT;
    }
}

int smol_gguf_get_float(const smol_gguf *g, const char *key, double *out) {
    const smol_gguf_value *v = smol_gguf_get(g, key);
    if (!v) return SMOL_ENOTFOUND;
    if (v->type == SMOL_GGUF_FLOAT32 || v->type == SMOL_GGUF_FLOAT64) {
        *out = v->v.f64;
        return SMOL_OK;
    }
    if (v->type == SMOL_GGUF_UINT8 || v->type == SMOL_GGUF_UINT16 || v->type == SMOL_GGUF_UINT32 ||
        v->type == SMOL_GGUF_UINT64) {
        *out = (double)v->v.u64;
        return SMOL_OK;
    }
    if (v->type == SMOL_GGUF_INT8 || v->type == SMOL_GGUF_INT16 || v->type == SMOL_GGUF_INT32 ||
        v->type == SMOL_GGUF_INT64) {
        *out = (double)v->v.i64;
        return SMOL_OK;
    }
    return SMOL_EFORMAT;
}

const smol_gguf_tensor *smol_gguf_tensor_at(const smol_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const smol_gguf_tensor *smol_gguf_find_tensor(const smol_gguf *g, const char *name) {
    name_index ix = g->tensor_index;
    int64_t i = index_find(&ix, g->tensor_names, g->tensor_name_lens, name, strlen(name), -1);
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

/* ---------------------------------------------------------------- the writer */

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    uint64_t nbytes, row_bytes, offset;
    const void *data;            /* referenced bytes, or NULL when fill produces them */
    smol_gguf_fill_fn fill;
    void *fill_ctx;
} wtensor;

struct smol_gguf_writer {
    arena mem;
    char **keys;
    smol_gguf_value *vals;
    int64_t n_kv, cap_kv;
    wtensor *tensors;
    int64_t n_tensors, cap_tensors;
};

smol_gguf_writer *smol_gguf_writer_new(void) { return calloc(1, sizeof(smol_gguf_writer)); }

void smol_gguf_writer_free(smol_gguf_writer *w) {
    if (!w) return;
    arena_free(&w->mem);
    free(w->keys);
    free(w->vals);
    free(w->tensors);
    free(w);
}

static char *arena_strdup(arena *a, const char *s, size_t n) {
    char *d = arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Deep-copies src into dst using the writer's arena, checking types and nesting. */
static int copy_value(smol_gguf_writer *w, const char *key, smol_gguf_value *dst, const smol_gguf_value *src,
                      int depth, smol_error *err) {
    *dst = *src;
    if (src->type > SMOL_GGUF_FLOAT64)
        return smol_fail(err, SMOL_EINVAL, "key '%s': value type %u is not a GGUF type", key, src->type);
    if (src->type == SMOL_GGUF_STRING) {
        dst->v.str = arena_strdup(&w->mem, src->v.str ? src->v.str : "", src->v.str ? (size_t)src->len : 0);
        if (!src->v.str) dst->len = 0;
        return dst->v.str ? SMOL_OK : smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
    }
    if (src->type != SMOL_GGUF_ARRAY) return SMOL_OK;
    uint32_t at = src->arr_type;
    uint64_t n = src->len;
    if (at > SMOL_GGUF_FLOAT64)
        return smol_fail(err, SMOL_EINVAL, "key '%s': array element type %u is not a GGUF type", key, at);
    if (depth + 1 >= GGUF_MAX_DEPTH && at == SMOL_GGUF_ARRAY)
        return smol_fail(err, SMOL_EINVAL, "key '%s': arrays nested more than %d deep", key, GGUF_MAX_DEPTH);
    if (n > SIZE_MAX / 64) return smol_fail(err, SMOL_EINVAL, "key '%s': array of %" PRIu64 " items is too long", key, n);
    if (n && !src->v.arr) return smol_fail(err, SMOL_EINVAL, "key '%s': array of %" PRIu64 " items has no data", key, n);
    if (at == SMOL_GGUF_STRING) {
        char **strs = arena_alloc(&w->mem, (size_t)n * sizeof *strs);
        uint64_t *lens = arena_alloc(&w->mem, (size_t)n * sizeof *lens);
        if (!strs || !lens) return smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
        for (uint64_t i = 0; i < n; i++) {
            const char *s = src->v.strs[i] ? src->v.strs[i] : "";
            lens[i] = src->str_lens ? src->str_lens[i] : strlen(s);
            if (!(strs[i] = arena_strdup(&w->mem, s, (size_t)lens[i])))
                return smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
        }
        dst->v.strs = (const char *const *)strs;
        dst->str_lens = lens;
    } else if (at == SMOL_GGUF_ARRAY) {
        smol_gguf_value *vals = arena_alloc(&w->mem, (size_t)n * sizeof *vals);
        if (!vals) return smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
        for (uint64_t i = 0; i < n; i++) {
            if (src->v.vals[i].type != SMOL_GGUF_ARRAY)
                return smol_fail(err, SMOL_EINVAL, "key '%s': item %" PRIu64 " of an array of arrays is a %s", key, i,
                                 smol_gguf_type_name(src->v.vals[i].type));
            int rc = copy_value(w, key, &vals[i], &src->v.vals[i], depth + 1, err);
            if (rc) return rc;
        }
        dst->v.vals = vals;
    } else {
        size_t bytes = (size_t)n * k_scalar_size[at];
        void *copy = arena_alloc(&w->mem, bytes);
        if (!copy) return smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
        if (bytes) memcpy(copy, src->v.arr, bytes);
        dst->v.arr = copy;
    }
    return SMOL_OK;
}

int smol_gguf_writer_set(smol_gguf_writer *w, const char *key, const smol_gguf_value *v, smol_error *err) {
    if (!key || !*key) return smol_fail(err, SMOL_EINVAL, "GGUF writer: empty metadata key");
    int64_t i = 0;
    while (i < w->n_kv && strcmp(w->keys[i], key) != 0) i++;
    if (i == w->n_kv && w->n_kv == w->cap_kv) {
        int64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
        char **keys = realloc(w->keys, (size_t)cap * sizeof *keys);
        if (keys) w->keys = keys;
        smol_gguf_value *vals = realloc(w->vals, (size_t)cap * sizeof *vals);
        if (vals) w->vals = vals;
        if (!keys || !vals) return smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
        w->cap_kv = cap;
    }
    smol_gguf_value copy;
    int rc = copy_value(w, key, &copy, v, 0, err);
    if (rc) return rc;
    if (i == w->n_kv) {
        if (!(w->keys[i] = arena_strdup(&w->mem, key, strlen(key))))
            return smol_fail(err, SMOL_ENOMEM, "key '%s': out of memory", key);
        w->n_kv++;
    }
    w->vals[i] = copy;
    return SMOL_OK;
}

int smol_gguf_writer_set_u32(smol_gguf_writer *w, const char *key, uint32_t v, smol_error *err) {
    smol_gguf_value x = {.type = SMOL_GGUF_UINT32, .v.u64 = v};
    return smol_gguf_writer_set(w, key, &x, err);
}

int smol_gguf_writer_set_i32(smol_gguf_writer *w, const char *key, int32_t v, smol_error *err) {
    smol_gguf_value x = {.type = SMOL_GGUF_INT32, .v.i64 = v};
    return smol_gguf_writer_set(w, key, &x, err);
}

int smol_gguf_writer_set_f32(smol_gguf_writer *w, const char *key, float v, smol_error *err) {
    smol_gguf_value x = {.type = SMOL_GGUF_FLOAT32, .v.f64 = v};
    return smol_gguf_writer_set(w, key, &x, err);
}

int smol_gguf_writer_set_bool(smol_gguf_writer *w, const char *key, bool v, smol_error *err) {
    smol_gguf_value x = {.type = SMOL_GGUF_BOOL, .v.b = v};
    return smol_gguf_writer_set(w, key, &x, err);
}

int smol_gguf_writer_set_str(smol_gguf_writer *w, const char *key, const char *v, smol_error *err) {
    smol_gguf_value x = {.type = SMOL_GGUF_STRING, .len = strlen(v), .v.str = v};
    return smol_gguf_writer_set(w, key, &x, err);
}

int smol_gguf_writer_set_arr(smol_gguf_writer *w, const char *key, uint32_t arr_type, const void *data, uint64_t n,
                             smol_error *err) {
    if (arr_type > SMOL_GGUF_FLOAT64 || arr_type == SMOL_GGUF_STRING || arr_type == SMOL_GGUF_ARRAY)
        return smol_fail(err, SMOL_EINVAL, "key '%s': smol_gguf_writer_set_arr takes numbers or bools, not type %u",
                         key, arr_type);
    smol_gguf_value x = {.type = SMOL_GGUF_ARRAY, .arr_type = arr_type, .len = n, .v.arr = data};
    return smol_gguf_writer_set(w, key, &x, err);
}

int smol_gguf_writer_set_arr_str(smol_gguf_writer *w, const char *key, const char *const *strs, uint64_t n,
                                 smol_error *err) {
    smol_gguf_value x = {.type = SMOL_GGUF_ARRAY, .arr_type = SMOL_GGUF_STRING, .len = n, .v.strs = strs};
    return smol_gguf_writer_set(w, key, &x, err);
}

/* Checks a tensor's name, type and shape and appends it; data or fill gives its bytes. */
static int add_tensor(smol_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                      const void *data, smol_gguf_fill_fn fill, void *ctx, smol_error *err) {
    if (!name || !*name) return smol_fail(err, SMOL_EINVAL, "GGUF writer: empty tensor name");
    const smol_dtype_info *ti = smol_dtype_get(type);
    if (!ti) return smol_fail(err, SMOL_EINVAL, "tensor '%s': unknown type id %u", name, type);
    if (n_dims < 1 || n_dims > 4) return smol_fail(err, SMOL_EINVAL, "tensor '%s': n_dims %u, expected 1 to 4", name, n_dims);
    for (int64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return smol_fail(err, SMOL_EINVAL, "duplicate tensor name '%s'", name);
    wtensor t = {.type = type, .n_dims = n_dims, .data = data, .fill = fill, .fill_ctx = ctx};
    uint64_t nel = 1;
    for (int d = 0; d < 4; d++) {
        t.ne[d] = d < (int)n_dims ? ne[d] : 1;
        if (t.ne[d] < 0 || (t.ne[d] && nel > (uint64_t)INT64_MAX / (uint64_t)t.ne[d]))
            return smol_fail(err, SMOL_EINVAL, "tensor '%s': bad shape (ne[%d] = %" PRId64 ")", name, d, t.ne[d]);
        nel *= (uint64_t)t.ne[d];
    }
    if (t.ne[0] % ti->block)
        return smol_fail(err, SMOL_EINVAL, "tensor '%s': ne[0] = %" PRId64 " is not a multiple of the block size %u of %s",
                         name, t.ne[0], ti->block, ti->name);
    int overflow = 0;
    t.nbytes = nel ? smol_dtype_nbytes(type, nel, &overflow) : 0;
    t.row_bytes = smol_dtype_nbytes(type, (uint64_t)t.ne[0], NULL);
    if (overflow) return smol_fail(err, SMOL_EINVAL, "tensor '%s': the byte size overflows", name);
    if (t.nbytes && !data && !fill) return smol_fail(err, SMOL_EINVAL, "tensor '%s': no data", name);
    if (w->n_tensors == w->cap_tensors) {
        int64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        wtensor *ts = realloc(w->tensors, (size_t)cap * sizeof *ts);
        if (!ts) return smol_fail(err, SMOL_ENOMEM, "tensor '%s': out of memory", name);
        w->tensors = ts;
        w->cap_tensors = cap;
    }
    if (!(t.name = arena_strdup(&w->mem, name, strlen(name))))
        return smol_fail(err, SMOL_ENOMEM, "tensor '%s': out of memory", name);
    w->tensors[w->n_tensors++] = t;
    return SMOL_OK;
}

int smol_gguf_writer_add_tensor(smol_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                const int64_t *ne, const void *data, smol_error *err) {
    return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL, err);
}

int smol_gguf_writer_add_tensor_fill(smol_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                     const int64_t *ne, smol_gguf_fill_fn fill, void *ctx, smol_error *err) {
    if (!fill) return smol_fail(err, SMOL_EINVAL, "tensor '%s': no fill function", name ? name : "");
    return add_tensor(w, name, type, n_dims, ne, NULL, fill, ctx, err);
}

/* Output with a sticky error flag: the writes below check it once at the end. */
typedef struct wout {
    FILE *fp;
    uint64_t pos;
    int bad;
} wout;

static void put(wout *o, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, o->fp) != n) o->bad = 1;
    o->pos += n;
}
static void put_u32(wout *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(wout *o, uint64_t v) { put(o, &v, 8); }
static void put_str(wout *o, const char *s, uint64_t n) {
    put_u64(o, n);
    put(o, s, (size_t)n);
}
static void put_zeros(wout *o, uint64_t n) {
    static const uint8_t zeros[64];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        put(o, zeros, k);
        n -= k;
    }
}

/* Writes a value's payload (without its type, which the caller wrote). */
static void put_value(wout *o, const smol_gguf_value *v) {
    switch (v->type) {
    case SMOL_GGUF_UINT8: case SMOL_GGUF_UINT16: case SMOL_GGUF_UINT32: case SMOL_GGUF_UINT64:
        put(o, &v->v.u64, k_scalar_size[v->type]);  /* little-endian: the low bytes come first */
        break;
    case SMOL_GGUF_INT8: case SMOL_GGUF_INT16: case SMOL_GGUF_INT32: case SMOL_GGUF_INT64:
        put(o, &v->v.i64, k_scalar_size[v->type]);
        break;
    case SMOL_GGUF_FLOAT32: {
        float f = (float)v->v.f64;
        put(o, &f, 4);
        break;
    }
    case SMOL_GGUF_FLOAT64: put(o, &v->v.f64, 8); break;
    case SMOL_GGUF_BOOL: {
        uint8_t b = v->v.b ? 1 : 0;
        put(o, &b, 1);
        break;
    }
    case SMOL_GGUF_STRING: put_str(o, v->v.str, v->len); break;
    default:
        put_u32(o, v->arr_type);
        put_u64(o, v->len);
        if (v->arr_type == SMOL_GGUF_STRING)
            for (uint64_t i = 0; i < v->len; i++) put_str(o, v->v.strs[i], v->str_lens[i]);
        else if (v->arr_type == SMOL_GGUF_ARRAY)
            for (uint64_t i = 0; i < v->len; i++) put_value(o, &v->v.vals[i]);
        else
            put(o, v->v.arr, (size_t)(v->len * k_scalar_size[v->arr_type]));
    }
}

/* The alignment the file will use: general.alignment if set (checked), else 32. */
static int writer_alignment(const smol_gguf_writer *w, uint64_t *align, smol_error *err) {
    *align = GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->keys[i], "general.alignment") != 0) continue;
        const smol_gguf_value *v = &w->vals[i];
        uint64_t a;
        if (v->type == SMOL_GGUF_UINT8 || v->type == SMOL_GGUF_UINT16 || v->type == SMOL_GGUF_UINT32 ||
            v->type == SMOL_GGUF_UINT64) a = v->v.u64;
        else if (v->type == SMOL_GGUF_INT8 || v->type == SMOL_GGUF_INT16 || v->type == SMOL_GGUF_INT32 ||
                 v->type == SMOL_GGUF_INT64) a = v->v.i64 < 0 ? 0 : (uint64_t)v->v.i64;
        else return smol_fail(err, SMOL_EINVAL, "general.alignment must be an integer, not a %s",
                              smol_gguf_type_name(v->type));
        if (a == 0 || a > (1u << 30) || (a & (a - 1)))
            return smol_fail(err, SMOL_EINVAL, "general.alignment %" PRIu64 " is not a power of two", a);
        *align = a;
    }
    return SMOL_OK;
}

/* Writes one tensor's bytes: referenced data, or rows produced by its fill function in chunks. */
static int put_tensor_data(wout *o, wtensor *t, smol_error *err) {
    if (t->data || t->nbytes == 0) {
        put(o, t->data, (size_t)t->nbytes);
        return SMOL_OK;
    }
    int64_t rows = (int64_t)(t->nbytes / t->row_bytes);
    int64_t chunk = (int64_t)((8u << 20) / t->row_bytes);
    if (chunk < 1) chunk = 1;
    if (chunk > rows) chunk = rows;
    void *buf = malloc((size_t)(chunk * (int64_t)t->row_bytes));
    if (!buf) return smol_fail(err, SMOL_ENOMEM, "tensor '%s': out of memory", t->name);
    int rc = SMOL_OK;
    for (int64_t r = 0; r < rows && !rc; r += chunk) {
        int64_t n = rows - r < chunk ? rows - r : chunk;
        rc = t->fill(t->fill_ctx, r, n, buf, err);
        if (!rc) put(o, buf, (size_t)(n * (int64_t)t->row_bytes));
    }
    free(buf);
    return rc;
}

static int write_all(smol_gguf_writer *w, wout *o, uint64_t align, smol_error *err) {
    put(o, "GGUF", 4);
    put_u32(o, 3);
    put_u64(o, (uint64_t)w->n_tensors);
    put_u64(o, (uint64_t)w->n_kv);
    for (int64_t i = 0; i < w->n_kv; i++) {
        put_str(o, w->keys[i], strlen(w->keys[i]));
        put_u32(o, w->vals[i].type);
        put_value(o, &w->vals[i]);
    }
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        t->offset = off;
        off = (off + t->nbytes + align - 1) / align * align;
        put_str(o, t->name, strlen(t->name));
        put_u32(o, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(o, (uint64_t)t->ne[d]);
        put_u32(o, t->type);
        put_u64(o, t->offset);
    }
    if (w->n_tensors) put_zeros(o, (align - o->pos % align) % align);
    uint64_t start = o->pos;
    for (int64_t i = 0; i < w->n_tensors && !o->bad; i++) {
        wtensor *t = &w->tensors[i];
        put_zeros(o, start + t->offset - o->pos);
        int rc = put_tensor_data(o, t, err);
        if (rc) return rc;
    }
    if (w->n_tensors) put_zeros(o, (align - o->pos % align) % align);
    return SMOL_OK;
}

int smol_gguf_writer_write(smol_gguf_writer *w, const char *path, smol_error *err) {
    uint64_t align;
    int rc = writer_alignment(w, &align, err);
    if (rc) return rc;
    smol_atomic_file f;
    if ((rc = smol_atomic_open(&f, path, err))) return rc;
    wout o = {.fp = f.fp};
    rc = write_all(w, &o, align, err);
    if (rc) smol_error_prefix(err, "%s", path);
    else if (o.bad) rc = smol_fail(err, SMOL_EIO, "%s: write failed", path);
    if (rc) {
        smol_atomic_abort(&f);
        return rc;
    }
    return smol_atomic_commit(&f, err);
}
