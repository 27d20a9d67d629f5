/* cmd_inspect.c: `smol inspect FILE [--json] [--full]`: prints a model file's metadata and
 * tensors, in the spirit of llama.cpp's gguf-dump, or as one JSON object.
 *
 * The file type is sniffed from its first bytes; each format is one `inspect_FORMAT` function
 * called from the switch in run(), so another format plugs in as one more branch. */
#include "cli.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_ITEMS 8          /* array items shown in text output */
#define SHOW_ITEMS_JSON 16    /* array items kept in JSON output without --full */
#define SHOW_CHARS 72         /* string characters shown in text output without --full */

typedef struct inspect_opts {
    int json;                 /* print one JSON object instead of text */
    int full;                 /* do not shorten long strings and arrays */
} inspect_opts;

/* Records "path: what" in err; returns code. */
static int fail_path(smol_error *err, int code, const char *path, const char *what) {
    err->code = code;
    snprintf(err->msg, sizeof err->msg, "%s: %s", path, what);
    return code;
}

typedef enum file_kind { KIND_UNKNOWN, KIND_GGUF, KIND_SAFETENSORS } file_kind;

/* The safetensors branch, in inspect_safetensors.c. */
int cli_is_safetensors_path(const char *path);
int cli_inspect_safetensors(const char *path, int json, smol_error *err);

/* Sniffs the format of path from its first bytes; SMOL_EIO if it cannot be read. */
static int detect_kind(const char *path, file_kind *kind, smol_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        char what[256];
        snprintf(what, sizeof what, "cannot open: %s", strerror(errno));
        return fail_path(err, SMOL_EIO, path, what);
    }
    unsigned char head[8] = {0};
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    *kind = n >= 4 && memcmp(head, "GGUF", 4) == 0 ? KIND_GGUF : KIND_UNKNOWN;
    return SMOL_OK;
}

/* ---------------------------------------------------------------- text output */

/* Prints s (len bytes) quoted, escaping controls, quotes and backslashes; shortened unless full. */
static void print_quoted(const char *s, uint64_t len, int full) {
    uint64_t shown = !full && len > SHOW_CHARS ? SHOW_CHARS : len;
    putchar('"');
    for (uint64_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 32 || c == 127) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (shown < len) printf("... (%" PRIu64 " bytes)", len);
}

static const int k_elem_size[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* Prints element i of a numeric or bool array. */
static void print_elem(uint32_t t, const void *arr, uint64_t i) {
    const unsigned char *p = (const unsigned char *)arr + i * (uint64_t)k_elem_size[t];
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
            uint64_t u64; int64_t i64; double f64; } x;
    memcpy(&x, p, (size_t)k_elem_size[t]);
    switch (t) {
    case SMOL_GGUF_UINT8: printf("%u", x.u8); break;
    case SMOL_GGUF_INT8: printf("%d", x.i8); break;
    case SMOL_GGUF_UINT16: printf("%u", x.u16); break;
    case SMOL_GGUF_INT16: printf("%d", x.i16); break;
    case SMOL_GGUF_UINT32: printf("%u", x.u32); break;
    case SMOL_GGUF_INT32: printf("%d", x.i32); break;
    case SMOL_GGUF_FLOAT32: printf("%g", x.f32); break;
    case SMOL_GGUF_BOOL: fputs(x.u8 ? "true" : "false", stdout); break;
    case SMOL_GGUF_UINT64: printf("%" PRIu64, x.u64); break;
    case SMOL_GGUF_INT64: printf("%" PRId64, x.i64); break;
    default: printf("%g", x.f64);
    }
}

static void print_value(const smol_gguf_value *v, int full) {
    switch (v->type) {
    case SMOL_GGUF_STRING: print_quoted(v->v.str, v->len, full); return;
    case SMOL_GGUF_BOOL: fputs(v->v.b ? "true" : "false", stdout); return;
    case SMOL_GGUF_FLOAT32: printf("%.7g", v->v.f64); return;  /* enough digits to tell f32 values apart */
    case SMOL_GGUF_FLOAT64: printf("%.17g", v->v.f64); return;
    case SMOL_GGUF_INT8: case SMOL_GGUF_INT16: case SMOL_GGUF_INT32: case SMOL_GGUF_INT64:
        printf("%" PRId64, v->v.i64);
        return;
    case SMOL_GGUF_ARRAY: break;
    default: printf("%" PRIu64, v->v.u64); return;
    }
    uint64_t shown = !full && v->len > SHOW_ITEMS ? SHOW_ITEMS : v->len;
    printf("[%" PRIu64 " items%s", v->len, v->len ? ": " : "");
    for (uint64_t i = 0; i < shown; i++) {
        if (i) fputs(", ", stdout);
        if (v->arr_type == SMOL_GGUF_STRING) print_quoted(v->v.strs[i], v->str_lens[i], full);
        else if (v->arr_type == SMOL_GGUF_ARRAY) print_value(&v->v.vals[i], full);
        else print_elem(v->arr_type, v->v.arr, i);
    }
    fputs(shown < v->len ? ", ...]" : "]", stdout);
}

/* "u32", "[string]", "[[u8]]": the type as gguf-dump shows it. */
static void type_label(const smol_gguf_value *v, char *buf, size_t size) {
    if (v->type != SMOL_GGUF_ARRAY) {
        snprintf(buf, size, "%s", smol_gguf_type_name(v->type));
        return;
    }
    if (v->arr_type == SMOL_GGUF_ARRAY && v->len > 0) {
        char inner[48];
        type_label(&v->v.vals[0], inner, sizeof inner);
        snprintf(buf, size, "[%.40s]", inner);
    } else {
        snprintf(buf, size, "[%s]", smol_gguf_type_name(v->arr_type));
    }
}

/* 1.5 KB, 2.0 MB, ... */
static const char *human_bytes(uint64_t n, char *buf, size_t size) {
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double x = (double)n;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", x, units[u]);
    return buf;
}

static uint64_t tensor_elements(const smol_gguf_tensor *t) {
    return (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
}

static void gguf_text(const char *path, const smol_gguf *g, const inspect_opts *o) {
    printf("file: %s\n", path);
    printf("format: GGUF version %u, alignment %u, data at byte %" PRIu64 ", file size %" PRIu64 "\n",
           smol_gguf_version(g), smol_gguf_alignment(g), smol_gguf_data_offset(g), smol_gguf_file_size(g));
    printf("metadata: %" PRId64 " keys\n", smol_gguf_kv_count(g));
    for (int64_t i = 0; i < smol_gguf_kv_count(g); i++) {
        const smol_gguf_value *v = smol_gguf_kv_value(g, i);
        char type[64];
        type_label(v, type, sizeof type);
        printf("%5" PRId64 ": %-10s %s = ", i + 1, type, smol_gguf_kv_key(g, i));
        print_value(v, o->full);
        putchar('\n');
    }
    printf("tensors: %" PRId64 "\n", smol_gguf_tensor_count(g));
    printf("%5s  %-32s %-7s %-24s %12s %12s\n", "index", "name", "type", "shape", "offset", "bytes");
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < smol_gguf_tensor_count(g); i++) {
        const smol_gguf_tensor *t = smol_gguf_tensor_at(g, i);
        char shape[96];
        int k = snprintf(shape, sizeof shape, "[");
        for (uint32_t d = 0; d < t->n_dims; d++)
            k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%" PRId64, d ? ", " : "", t->ne[d]);
        snprintf(shape + k, sizeof shape - (size_t)k, "]");
        printf("%5" PRId64 "  %-32s %-7s %-24s %12" PRIu64 " %12" PRIu64 "\n", i, t->name, smol_dtype_name(t->type),
               shape, t->offset, t->nbytes);
        params += tensor_elements(t);
        bytes += t->nbytes;
    }
    char hb[32];
    printf("total: %" PRIu64 " parameters, %" PRIu64 " bytes of tensor data (%s)\n", params, bytes,
           human_bytes(bytes, hb, sizeof hb));
}

/* ---------------------------------------------------------------- JSON output */

static cJSON *json_u64(uint64_t v) {
    if (v <= (1ull << 53)) return cJSON_CreateNumber((double)v);
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, v);  /* beyond doubles' exact range: a decimal string */
    return cJSON_CreateString(b);
}

static cJSON *json_i64(int64_t v) {
    if (v <= (1ll << 53) && v >= -(1ll << 53)) return cJSON_CreateNumber((double)v);
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    return cJSON_CreateString(b);
}

static cJSON *json_elem(uint32_t t, const void *arr, uint64_t i) {
    const unsigned char *p = (const unsigned char *)arr + i * (uint64_t)k_elem_size[t];
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
            uint64_t u64; int64_t i64; double f64; } x;
    memcpy(&x, p, (size_t)k_elem_size[t]);
    switch (t) {
    case SMOL_GGUF_UINT8: return cJSON_CreateNumber(x.u8);
    case SMOL_GGUF_INT8: return cJSON_CreateNumber(x.i8);
    case SMOL_GGUF_UINT16: return cJSON_CreateNumber(x.u16);
    case SMOL_GGUF_INT16: return cJSON_CreateNumber(x.i16);
    case SMOL_GGUF_UINT32: return cJSON_CreateNumber(x.u32);
    case SMOL_GGUF_INT32: return cJSON_CreateNumber(x.i32);
    case SMOL_GGUF_FLOAT32: return cJSON_CreateNumber(x.f32);
    case SMOL_GGUF_BOOL: return cJSON_CreateBool(x.u8 != 0);
    case SMOL_GGUF_UINT64: return json_u64(x.u64);
    case SMOL_GGUF_INT64: return json_i64(x.i64);
    default: return cJSON_CreateNumber(x.f64);
    }
}

/* The value as JSON: scalars as numbers/bools/strings, arrays as lists (the first items unless full). */
static cJSON *json_value(const smol_gguf_value *v, int full) {
    switch (v->type) {
    case SMOL_GGUF_STRING: return cJSON_CreateString(v->v.str);
    case SMOL_GGUF_BOOL: return cJSON_CreateBool(v->v.b);
    case SMOL_GGUF_FLOAT32: case SMOL_GGUF_FLOAT64: return cJSON_CreateNumber(v->v.f64);
    case SMOL_GGUF_INT8: case SMOL_GGUF_INT16: case SMOL_GGUF_INT32: case SMOL_GGUF_INT64: return json_i64(v->v.i64);
    case SMOL_GGUF_ARRAY: break;
    default: return json_u64(v->v.u64);
    }
    cJSON *list = cJSON_CreateArray();
    uint64_t shown = !full && v->len > SHOW_ITEMS_JSON ? SHOW_ITEMS_JSON : v->len;
    for (uint64_t i = 0; i < shown; i++) {
        cJSON *item = v->arr_type == SMOL_GGUF_STRING  ? cJSON_CreateString(v->v.strs[i])
                      : v->arr_type == SMOL_GGUF_ARRAY ? json_value(&v->v.vals[i], full)
                                                       : json_elem(v->arr_type, v->v.arr, i);
        cJSON_AddItemToArray(list, item);
    }
    return list;
}

static cJSON *gguf_json(const char *path, const smol_gguf *g, const inspect_opts *o) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", path);
    cJSON_AddStringToObject(root, "format", "gguf");
    cJSON_AddNumberToObject(root, "version", smol_gguf_version(g));
    cJSON_AddNumberToObject(root, "alignment", smol_gguf_alignment(g));
    cJSON_AddItemToObject(root, "data_offset", json_u64(smol_gguf_data_offset(g)));
    cJSON_AddItemToObject(root, "file_size", json_u64(smol_gguf_file_size(g)));
    cJSON_AddNumberToObject(root, "kv_count", (double)smol_gguf_kv_count(g));
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (int64_t i = 0; i < smol_gguf_kv_count(g); i++) {
        const smol_gguf_value *v = smol_gguf_kv_value(g, i);
        cJSON *kv = cJSON_CreateObject();
        cJSON_AddStringToObject(kv, "type", smol_gguf_type_name(v->type));
        if (v->type == SMOL_GGUF_ARRAY) {
            cJSON_AddStringToObject(kv, "elem_type", smol_gguf_type_name(v->arr_type));
            cJSON_AddItemToObject(kv, "len", json_u64(v->len));
            cJSON_AddBoolToObject(kv, "truncated", !o->full && v->len > SHOW_ITEMS_JSON);
        }
        cJSON_AddItemToObject(kv, "value", json_value(v, o->full));
        cJSON_AddItemToObject(meta, smol_gguf_kv_key(g, i), kv);
    }
    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < smol_gguf_tensor_count(g); i++) {
        const smol_gguf_tensor *t = smol_gguf_tensor_at(g, i);
        cJSON *jt = cJSON_CreateObject();
        cJSON_AddNumberToObject(jt, "index", (double)i);
        cJSON_AddStringToObject(jt, "name", t->name);
        cJSON_AddStringToObject(jt, "type", smol_dtype_name(t->type));
        cJSON *shape = cJSON_AddArrayToObject(jt, "shape");
        for (uint32_t d = 0; d < t->n_dims; d++) cJSON_AddItemToArray(shape, json_i64(t->ne[d]));
        cJSON_AddItemToObject(jt, "offset", json_u64(t->offset));
        cJSON_AddItemToObject(jt, "bytes", json_u64(t->nbytes));
        cJSON_AddItemToArray(tensors, jt);
        params += tensor_elements(t);
        bytes += t->nbytes;
    }
    cJSON_AddNumberToObject(root, "tensor_count", (double)smol_gguf_tensor_count(g));
    cJSON_AddItemToObject(root, "n_params", json_u64(params));
    cJSON_AddItemToObject(root, "tensor_bytes", json_u64(bytes));
    return root;
}

/* ---------------------------------------------------------------- formats */

static int inspect_gguf(const char *path, const inspect_opts *o, smol_error *err) {
    smol_gguf *g;
    int rc = smol_gguf_open(path, &g, err);
    if (rc) return rc;
    if (o->json) {
        cJSON *root = gguf_json(path, g, o);
        char *text = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        if (!text) {
            smol_gguf_free(g);
            return fail_path(err, SMOL_ENOMEM, path, "out of memory building the JSON");
        }
        puts(text);
        free(text);
    } else {
        gguf_text(path, g, o);
    }
    smol_gguf_free(g);
    return SMOL_OK;
}

static int run(int argc, char **argv) {
    inspect_opts o = {0, 0};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) o.json = 1;
        else if (strcmp(argv[i], "--full") == 0) o.full = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
        else if (path) return cli_usage_error(argv[0], "unexpected argument '%s' (one FILE only)", argv[i]);
        else path = argv[i];
    }
    if (!path) return cli_usage_error(argv[0], "missing FILE");
    smol_error err = {0};
    file_kind kind;
    int rc = cli_is_safetensors_path(path) ? (kind = KIND_SAFETENSORS, SMOL_OK) : detect_kind(path, &kind, &err);
    if (!rc) {
        switch (kind) {
        case KIND_GGUF: rc = inspect_gguf(path, &o, &err); break;
        case KIND_SAFETENSORS: rc = cli_inspect_safetensors(path, o.json, &err); break;
        default:
            rc = fail_path(&err, SMOL_EUNSUPPORTED, path, "not a GGUF file (unknown format)");
            break;
        }
    }
    if (rc) return cli_fail(argv[0], &err);
    fflush(stdout);
    return ferror(stdout) ? 1 : 0;
}

const smol_cmd cmd_inspect = {
    "inspect", "show a model file's metadata and tensors",
    "usage: smol inspect FILE [--json] [--full]\n"
    "\n"
    "Prints the GGUF version, alignment and metadata of FILE (each key with its type and\n"
    "value; arrays as [N items: first few ...]), then each tensor's index, name, type, shape\n"
    "(ne[0] first, as GGUF stores it), offset in the data section and size, and the total\n"
    "parameter count and bytes.\n"
    "\n"
    "FILE may also be a .safetensors file, a model.safetensors.index.json or a Hugging Face\n"
    "folder: the header metadata, each tensor's name, dtype, shape (outermost first) and bytes,\n"
    "and the config.json beside it.\n"
    "\n"
    "options:\n"
    "  --json   print one JSON object: metadata (arrays cut to their first 16 items, with\n"
    "           \"len\" and \"truncated\"), tensors, n_params and tensor_bytes\n"
    "  --full   do not shorten long strings or arrays\n"
    "\n"
    "examples:\n"
    "  smol inspect model.gguf\n"
    "  smol inspect model.gguf --json | python3 -m json.tool\n"
    "  smol inspect SmolLM2-135M-Instruct/\n",
    run,
};
