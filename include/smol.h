/* smol.h: the public C API of libsmol.
 *
 * Conventions
 *   - Objects are opaque and come in pairs: smol_X_open/smol_X_new ... smol_X_free (NULL is a no-op).
 *   - Functions that can fail return an int status (SMOL_OK = 0, a negative SMOL_E* otherwise) and
 *     fill an optional smol_error with a message that says what is wrong and how to fix it.
 *   - Strings are UTF-8. Sizes are in bytes unless the name says otherwise.
 */
#ifndef SMOL_H
#define SMOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

enum smol_status {
    SMOL_OK           = 0,
    SMOL_EINVAL       = -1,  /* a bad argument or option */
    SMOL_EIO          = -2,  /* a file could not be opened, read or written */
    SMOL_EFORMAT      = -3,  /* a file or text is malformed, truncated or corrupt */
    SMOL_ENOMEM       = -4,  /* out of memory */
    SMOL_EUNSUPPORTED = -5,  /* valid input that this version does not support */
    SMOL_ERANGE       = -6,  /* a limit was passed (context length, vocabulary size, ...) */
    SMOL_ENOTFOUND    = -7,  /* a key, tensor or file that is required is missing */
};

/* What went wrong: the status and a message naming the file, field or value at fault. */
typedef struct smol_error {
    int  code;
    char msg[1024];
} smol_error;

/* A short name of a status code ("format error", ...). */
const char *smol_status_name(int code);

/* ---------------------------------------------------------------- version and CPU */

/* The library version, e.g. "0.1.0". */
const char *smol_version(void);

/* The compiler and flags the library was built with. */
const char *smol_build_flags(void);

/* The CPU features detected at run time, space-separated (e.g. "avx2 fma f16c avx512f"). */
const char *smol_cpu_features(void);

/* The number of physical cores (at least 1): the default thread count. */
int smol_physical_cores(void);


/* ---------------------------------------------------------------- tensor types */

/* Tensor element types use GGML's numbering (as stored in GGUF): 0 f32, 1 f16, 2 q4_0, 3 q4_1,
 * 6 q5_0, 7 q5_1, 8 q8_0, 10..15 q2_K..q8_K, 30 bf16, ... */

/* The name of type t ("f32", "q4_K", ...), or NULL for an unknown id. */
const char *smol_dtype_name(uint32_t t);

/* Bytes taken by n elements of type t; 0 if n is not a whole number of blocks or t is unknown. */
uint64_t smol_dtype_row_size(uint32_t t, uint64_t n);

/* ---------------------------------------------------------------- GGUF files */

/* Metadata value types, numbered as in the GGUF specification. */
enum smol_gguf_type {
    SMOL_GGUF_UINT8 = 0, SMOL_GGUF_INT8 = 1, SMOL_GGUF_UINT16 = 2, SMOL_GGUF_INT16 = 3,
    SMOL_GGUF_UINT32 = 4, SMOL_GGUF_INT32 = 5, SMOL_GGUF_FLOAT32 = 6, SMOL_GGUF_BOOL = 7,
    SMOL_GGUF_STRING = 8, SMOL_GGUF_ARRAY = 9, SMOL_GGUF_UINT64 = 10, SMOL_GGUF_INT64 = 11,
    SMOL_GGUF_FLOAT64 = 12,
};

/* One metadata value. Scalars are widened: unsigned types in u64, signed in i64, floats in f64.
 * Arrays of numbers or bools keep their element type (arr_type) in `arr`, as a host-aligned
 * copy; arrays of strings are in `strs`/`str_lens`; arrays of arrays in `vals`. */
typedef struct smol_gguf_value {
    uint32_t type;                       /* enum smol_gguf_type */
    uint32_t arr_type;                   /* element type when type == SMOL_GGUF_ARRAY */
    uint64_t len;                        /* string bytes, or array elements */
    union {
        uint64_t u64;
        int64_t  i64;
        double   f64;
        bool     b;
        const char *str;                 /* STRING: NUL-terminated (may hold NULs within len) */
        const void *arr;                 /* ARRAY of numbers/bools: len elements of arr_type */
        const char *const *strs;         /* ARRAY of STRING: len NUL-terminated strings */
        const struct smol_gguf_value *vals; /* ARRAY of ARRAY: len nested values */
    } v;
    const uint64_t *str_lens;            /* ARRAY of STRING: the byte length of each string */
} smol_gguf_value;

/* One tensor: its name, type, shape (ne[0] varies fastest, as GGUF stores it) and bytes. */
typedef struct smol_gguf_tensor {
    const char *name;
    uint32_t type;        /* tensor type id (see smol_dtype_name) */
    uint32_t n_dims;      /* 1..4 */
    int64_t  ne[4];       /* elements per dimension; unused dimensions are 1 */
    uint64_t offset;      /* from the start of the data section */
    uint64_t nbytes;
    const void *data;     /* points into the mapped file */
} smol_gguf_tensor;

typedef struct smol_gguf smol_gguf;

/* Opens and validates a GGUF v2/v3 file, memory-mapped. Corrupt files give SMOL_EFORMAT. */
int smol_gguf_open(const char *path, smol_gguf **out, smol_error *err);

/* Parses a GGUF image in memory; data must outlive the returned object. */
int smol_gguf_open_memory(const void *data, size_t size, smol_gguf **out, smol_error *err);

/* Frees g and unmaps its file; NULL is a no-op. */
void smol_gguf_free(smol_gguf *g);

/* The file's GGUF version (2 or 3). */
uint32_t smol_gguf_version(const smol_gguf *g);

/* The data-section alignment (general.alignment, default 32). */
uint32_t smol_gguf_alignment(const smol_gguf *g);

/* The number of metadata keys. */
int64_t smol_gguf_kv_count(const smol_gguf *g);

/* The key of entry i. */
const char *smol_gguf_kv_key(const smol_gguf *g, int64_t i);

/* The value of entry i. */
const smol_gguf_value *smol_gguf_kv_value(const smol_gguf *g, int64_t i);

/* The value of key, or NULL if absent. */
const smol_gguf_value *smol_gguf_get(const smol_gguf *g, const char *key);

/* The string value of key, or NULL if absent or not a string. */
const char *smol_gguf_get_str(const smol_gguf *g, const char *key);

/* Reads an integer-typed key into *out; SMOL_ENOTFOUND if absent, SMOL_EFORMAT if not an integer. */
int smol_gguf_get_int(const smol_gguf *g, const char *key, int64_t *out);

/* Reads a float- or integer-typed key into *out, with the same errors. */
int smol_gguf_get_float(const smol_gguf *g, const char *key, double *out);

/* The number of tensors. */
int64_t smol_gguf_tensor_count(const smol_gguf *g);

/* Tensor i. */
const smol_gguf_tensor *smol_gguf_tensor_at(const smol_gguf *g, int64_t i);

/* The tensor named name, or NULL. */
const smol_gguf_tensor *smol_gguf_find_tensor(const smol_gguf *g, const char *name);

/* A GGUF file under construction: metadata and tensors, written at once by smol_gguf_writer_write. */
typedef struct smol_gguf_writer smol_gguf_writer;

/* A new, empty writer (GGUF v3, alignment 32); NULL when out of memory. */
smol_gguf_writer *smol_gguf_writer_new(void);

/* Frees w; NULL is a no-op. */
void smol_gguf_writer_free(smol_gguf_writer *w);

/* Sets key to a deep copy of v, replacing an earlier value of the same key. */
int smol_gguf_writer_set(smol_gguf_writer *w, const char *key, const smol_gguf_value *v, smol_error *err);

/* Shorthands for scalar and string keys. */
int smol_gguf_writer_set_u32(smol_gguf_writer *w, const char *key, uint32_t v, smol_error *err);
int smol_gguf_writer_set_i32(smol_gguf_writer *w, const char *key, int32_t v, smol_error *err);
int smol_gguf_writer_set_f32(smol_gguf_writer *w, const char *key, float v, smol_error *err);
int smol_gguf_writer_set_bool(smol_gguf_writer *w, const char *key, bool v, smol_error *err);
int smol_gguf_writer_set_str(smol_gguf_writer *w, const char *key, const char *v, smol_error *err);

/* Sets key to an array of n numbers of element type arr_type (host layout), copied. */
int smol_gguf_writer_set_arr(smol_gguf_writer *w, const char *key, uint32_t arr_type, const void *data,
                             uint64_t n, smol_error *err);

/* Sets key to an array of n NUL-terminated strings, copied. */
int smol_gguf_writer_set_arr_str(smol_gguf_writer *w, const char *key, const char *const *strs, uint64_t n,
                                 smol_error *err);

/* Adds a tensor. Its data is referenced, not copied: it must stay valid until the write. */
int smol_gguf_writer_add_tensor(smol_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                const int64_t *ne, const void *data, smol_error *err);

/* Writes the file atomically (temp file + rename). */
int smol_gguf_writer_write(smol_gguf_writer *w, const char *path, smol_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SMOL_H */
