/* filters_internal.h: what the filter families (filter_*.c) share with the registry in
 * filters.c: the filter object, option parsing helpers and per-filter scratch. */
#ifndef SMOL_DATA_FILTERS_INTERNAL_H
#define SMOL_DATA_FILTERS_INTERNAL_H
#include "data/filters.h"
#include "data/words.h"

#define SMOL_FILTER_MAX_COUNTERS 16

/* One filter family: its setup (options already split into key/value pairs), apply and free. */
typedef struct filter_kind {
    const char *name;
    int (*init)(smol_filter *f, smol_error *err);                         /* allocate f->state */
    int (*option)(smol_filter *f, const char *key, const char *value, smol_error *err);
    int (*ready)(smol_filter *f, smol_error *err);                        /* after options (may be NULL) */
    int (*apply)(smol_filter *f, smol_doc *doc, const char **reason);
    void (*free)(smol_filter *f);
} filter_kind;

struct smol_filter {
    const filter_kind *kind;
    void *state;
    smol_spans lines, words, parts;       /* scratch reused between documents */
    int32_t *dup_slots;                   /* filter_find_duplicates' table and hashes, reused */
    uint64_t *dup_hashes;
    size_t dup_slot_cap, dup_hash_cap;
    int n_counters;
    const char *counter_names[SMOL_FILTER_MAX_COUNTERS];
    long counters[SMOL_FILTER_MAX_COUNTERS];
};

/* Option value parsers: fill *out or fail naming the filter and key. */
int filter_opt_double(const smol_filter *f, const char *key, const char *v, double *out, smol_error *err);
int filter_opt_int(const smol_filter *f, const char *key, const char *v, long *out, smol_error *err);
int filter_opt_bool(const smol_filter *f, const char *key, const char *v, int *out, smol_error *err);
int filter_unknown_option(const smol_filter *f, const char *key, smol_error *err);

/* Adds n to counter `name` (registered on first use). */
void filter_count(smol_filter *f, const char *name, long n);

/* The number of duplicated elements and their code points over spans (exact compare,
 * first occurrences not counted), as datatrove's find_duplicates; f's scratch holds the table.
 * -1 on no memory. */
int filter_find_duplicates(smol_filter *f, const smol_spans *items, long *dup_items, long *dup_chars);

/* 1 if the dotted IPv4 address s[0..n) is one Python's ipaddress accepts (no leading zeros) and,
 * when public_only, is global (is_global as in Debian's Python 3.11: 192.0.0.0/24 is not
 * global except 192.0.0.9 and 192.0.0.10; 100.64.0.0/10 is not global). */
int smol_pii_ip_replaceable(const char *s, size_t n, int public_only);

/* The families. */
extern const filter_kind filter_kind_language, filter_kind_gopher_repetition, filter_kind_gopher_quality,
    filter_kind_c4_quality, filter_kind_fineweb_quality, filter_kind_url, filter_kind_pii;

#endif
