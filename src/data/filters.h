/* filters.h: datatrove-compatible document filters (language, gopher_repetition, gopher_quality,
 * c4_quality, fineweb_quality, url, pii) behind one interface, with datatrove's defaults.
 *   smol_filter *f; smol_filter_new("gopher_quality", "min_doc_words=100", &f, err);
 *   int keep = smol_filter_apply(f, &doc, &reason);   1 keep, 0 drop (reason set), < 0 error
 * A filter holds scratch buffers: use one instance per thread. */
#ifndef SMOL_DATA_FILTERS_H
#define SMOL_DATA_FILTERS_H
#include "smol.h"
#include "data/doc.h"

typedef struct smol_filter smol_filter;

/* Creates filter `name` with options "key=value,key=value" (NULL or "": datatrove's defaults).
 * Unknown names, keys or bad values give SMOL_EINVAL naming them. */
int smol_filter_new(const char *name, const char *options, smol_filter **out, smol_error *err);

/* Applies f to doc: 1 keep, 0 drop with *reason a static "filter:reason" string, < 0 error
 * (reason then holds a static description). May rewrite doc->text (c4_quality, pii) and add
 * metadata (language). */
int smol_filter_apply(smol_filter *f, smol_doc *doc, const char **reason);

/* Frees f; NULL is a no-op. */
void smol_filter_free(smol_filter *f);

/* The filter's name as given to smol_filter_new. */
const char *smol_filter_name(const smol_filter *f);

/* Line-level counters some filters keep (c4_quality: "line-total", "line-kept", ...): writes up
 * to max names/values, returns how many the filter has. */
int smol_filter_counters(const smol_filter *f, const char **names, long *values, int max);

/* The registered filter names, NULL-terminated. */
const char *const *smol_filter_names(void);

/* One step of a recipe: a filter name and its options. */
typedef struct smol_filter_step {
    const char *name;
    const char *options;
} smol_filter_step;

/* The steps of a named recipe ("fineweb": language, gopher_repetition, gopher_quality,
 * c4_quality without the terminal-punctuation rule, fineweb_quality), NULL-terminated by a
 * step with name NULL; NULL for an unknown recipe. */
const smol_filter_step *smol_filter_recipe(const char *name);

#endif
