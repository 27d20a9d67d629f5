/* pipeline.c: pipeline files (checking [input], [output] and [[stage]] tables), the stage
 * registry (built-in stages, filters, dedup stages) and the runner: shards, atomic outputs,
 * completion markers, exclusions, per-shard stats merged into stats.json, progress. */
#include "data/pipeline.h"
#include "data/decontam.h"
#include "data/dedup.h"
#include "data/doc.h"
#include "data/filters.h"
#include "data/minhash.h"
#include "base/error.h"
#include "base/file.h"
#include "base/pool.h"
#include "base/jsonl.h"
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ per-document stages */

enum { DOC_FILTER, DOC_MIN_LENGTH, DOC_SAMPLE, DOC_DECONTAM };

typedef struct reason_count {
    const char *reason;    /* a static string from the stage */
    int64_t n;
} reason_count;

#define MAX_REASONS 64

/* One per-document stage as it runs over one shard: its state and counters. */
typedef struct pl_doc_stage {
    const smol_stage_spec *spec;
    int kind;                       /* DOC_* */
    void *filter;                   /* DOC_FILTER: a smol_filter */
    const smol_decontam *dc;        /* DOC_DECONTAM: the benchmark index (shared by the shards) */
    smol_decontam *own_dc;          /* ... when built by this stage */
    smol_decontam_scratch *dcs;
    int64_t min_chars, max_chars;   /* DOC_MIN_LENGTH (max 0: no limit) */
    double rate;                    /* DOC_SAMPLE: the share kept */
    uint64_t seed;
    int64_t in, in_bytes, kept, kept_bytes, dropped, dropped_bytes;
    reason_count reasons[MAX_REASONS];
    int n_reasons;
    smol_doc_writer *excl;          /* excluded documents, opened at the first drop */
} pl_doc_stage;

static int pl_doc_stage_init(pl_doc_stage *s, const smol_stage_spec *sp, const smol_decontam *shared,
                             smol_error *err);
static void pl_doc_stage_free(pl_doc_stage *s);
static int pl_corpus_stage_check(const smol_stage_spec *sp, smol_error *err);

/* The stage types: per-document ones take a name (a filter, or a built-in stage). */
static const struct { const char *type; int kind; int needs_name; } k_types[] = {
    {"filter", SMOL_STAGE_DOC, 1},
    {"formatter", SMOL_STAGE_DOC, 1},
    {"dedup_exact", SMOL_STAGE_CORPUS, 0},
    {"dedup_minhash", SMOL_STAGE_CORPUS, 0},
    {"decontam", SMOL_STAGE_DOC, 0},
};

static int cfg_err(smol_error *err, const char *file, int line, const char *fmt, const char *a, const char *b) {
    char msg[700];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return smol_fail(err, SMOL_EINVAL, "%s:%d: %s", file, line, msg);
}

/* Checks that every key of table t is one of the NULL-terminated allowed keys. */
static int check_keys(const smol_pipeline *pl, const smol_toml *t, const char *where, const char *const *allowed,
                      smol_error *err) {
    for (size_t i = 0; i < t->n; i++) {
        const char *k = t->items[i]->key;
        int ok = 0;
        char list[300] = "";
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, k) == 0) ok = 1;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
        }
        if (!ok) {
            char what[400];
            snprintf(what, sizeof what, "unknown key '%s' in %s (known: %s)", k, where, list);
            return cfg_err(err, pl->name, t->items[i]->line, "%s%s", what, NULL);
        }
    }
    return SMOL_OK;
}

/* The string value of key in t, or dflt; a non-string gives an error naming the key. */
static int get_str(const smol_pipeline *pl, const smol_toml *t, const char *key, const char *dflt, const char **out,
                   smol_error *err) {
    const smol_toml *v = smol_toml_get(t, key);
    *out = dflt;
    if (!v) return SMOL_OK;
    if (v->type != SMOL_TOML_STRING)
        return cfg_err(err, pl->name, v->line, "'%s' must be a string, not %s", key, smol_toml_type_name(v->type));
    *out = v->str;
    return SMOL_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_input(smol_pipeline *pl, const char *path, size_t *cap, smol_error *err) {
    if ((size_t)pl->n_inputs == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **v = realloc(pl->inputs, c * sizeof *v);
        if (!v) return smol_fail(err, SMOL_ENOMEM, "out of memory listing inputs");
        pl->inputs = v;
        *cap = c;
    }
    if (!(pl->inputs[pl->n_inputs] = strdup(path))) return smol_fail(err, SMOL_ENOMEM, "out of memory listing inputs");
    pl->n_inputs++;
    return SMOL_OK;
}

/* One entry of [input] paths: a file, a folder (its files, not hidden) or a glob pattern. */
static int expand_path(smol_pipeline *pl, const char *pat, int line, size_t *cap, smol_error *err) {
    if (smol_is_dir(pat)) {
        char p[4200];
        snprintf(p, sizeof p, "%s/*", pat);
        return expand_path(pl, p, line, cap, err);
    }
    if (!strpbrk(pat, "*?[")) {
        if (!smol_exists(pat)) return cfg_err(err, pl->name, line, "input '%s' does not exist%s", pat, NULL);
        return add_input(pl, pat, cap, err);
    }
    glob_t g;
    int rc = glob(pat, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return cfg_err(err, pl->name, line, "input pattern '%s' matches no file%s", pat, NULL);
    if (rc != 0) return cfg_err(err, pl->name, line, "input pattern '%s' could not be expanded%s", pat, NULL);
    int n = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        struct stat st;
        if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode)) continue;
        rc = add_input(pl, g.gl_pathv[i], cap, err);
        n++;
    }
    globfree(&g);
    if (rc == 0 && n == 0) return cfg_err(err, pl->name, line, "input pattern '%s' matches no regular file%s", pat, NULL);
    return rc;
}

static int parse_input(smol_pipeline *pl, smol_error *err) {
    const smol_toml *in = smol_toml_get(pl->root, "input");
    if (!in || in->type != SMOL_TOML_TABLE)
        return cfg_err(err, pl->name, in ? in->line : 1, "an [input] table with paths = [...] is required%s%s", NULL, NULL);
    static const char *const keys[] = {"paths", "text_field", "id_field", "on_error", NULL};
    int rc = check_keys(pl, in, "[input]", keys, err);
    const char *on_error = "stop";
    if (rc || (rc = get_str(pl, in, "text_field", "text", &pl->text_field, err)) ||
        (rc = get_str(pl, in, "id_field", "id", &pl->id_field, err)) ||
        (rc = get_str(pl, in, "on_error", "stop", &on_error, err)))
        return rc;
    if (strcmp(on_error, "stop") && strcmp(on_error, "skip"))
        return cfg_err(err, pl->name, smol_toml_get(in, "on_error")->line, "on_error must be \"stop\" or \"skip\", not '%s'%s",
                       on_error, NULL);
    pl->on_error = on_error[1] == 'k' ? SMOL_ON_ERROR_SKIP : SMOL_ON_ERROR_STOP;
    const smol_toml *paths = smol_toml_get(in, "paths");
    if (!paths) return cfg_err(err, pl->name, in->line, "[input] needs paths = [\"FILE or GLOB\", ...]%s%s", NULL, NULL);
    size_t cap = 0;
    if (paths->type == SMOL_TOML_STRING) {
        if ((rc = expand_path(pl, paths->str, paths->line, &cap, err))) return rc;
    } else if (paths->type == SMOL_TOML_ARRAY && paths->n > 0) {
        for (size_t i = 0; i < paths->n; i++) {
            if (paths->items[i]->type != SMOL_TOML_STRING)
                return cfg_err(err, pl->name, paths->line, "paths must hold strings, not %s%s",
                               smol_toml_type_name(paths->items[i]->type), NULL);
            if ((rc = expand_path(pl, paths->items[i]->str, paths->line, &cap, err))) return rc;
        }
    } else {
        return cfg_err(err, pl->name, paths->line, "paths must be a string or a non-empty array of strings%s%s", NULL, NULL);
    }
    qsort(pl->inputs, (size_t)pl->n_inputs, sizeof *pl->inputs, cmp_str);
    int n = 0;
    for (int i = 0; i < pl->n_inputs; i++) {
        if (n > 0 && strcmp(pl->inputs[n - 1], pl->inputs[i]) == 0) free(pl->inputs[i]);
        else pl->inputs[n++] = pl->inputs[i];
    }
    pl->n_inputs = n;
    if (n > 99999) return cfg_err(err, pl->name, paths->line, "more than 99999 input files; merge some%s%s", NULL, NULL);
    return SMOL_OK;
}

static int parse_output(smol_pipeline *pl, smol_error *err) {
    const smol_toml *out = smol_toml_get(pl->root, "output");
    if (!out || out->type != SMOL_TOML_TABLE)
        return cfg_err(err, pl->name, out ? out->line : 1, "an [output] table with dir = \"...\" is required%s%s", NULL, NULL);
    static const char *const keys[] = {"dir", "compression", "exclusions", NULL};
    int rc = check_keys(pl, out, "[output]", keys, err);
    const char *dir;
    if (rc || (rc = get_str(pl, out, "dir", NULL, &dir, err)) ||
        (rc = get_str(pl, out, "compression", "zst", &pl->compression, err)))
        return rc;
    if (!dir || !*dir) return cfg_err(err, pl->name, out->line, "[output] needs dir = \"FOLDER\"%s%s", NULL, NULL);
    if (strcmp(pl->compression, "zst") && strcmp(pl->compression, "gz") && strcmp(pl->compression, "none"))
        return cfg_err(err, pl->name, smol_toml_get(out, "compression")->line,
                       "compression must be \"zst\", \"gz\" or \"none\", not '%s'%s", pl->compression, NULL);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    if (!(pl->out_dir = strndup(dir, n))) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    const smol_toml *ex = smol_toml_get(out, "exclusions");
    pl->exclusions = 1;
    if (ex) {
        if (ex->type != SMOL_TOML_BOOL) return cfg_err(err, pl->name, ex->line, "exclusions must be true or false%s%s", NULL, NULL);
        pl->exclusions = ex->b;
    }
    return SMOL_OK;
}

/* [stage.options] as "key=value,key=value" (scalars only; arrays of strings joined by '+'). */
static int options_string(const smol_pipeline *pl, const smol_toml *opts, char **out, smol_error *err) {
    size_t cap = 256, n = 0;
    char *s = malloc(cap);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    s[0] = 0;
    for (size_t i = 0; i < opts->n; i++) {
        const smol_toml *v = opts->items[i];
        char val[512] = "";
        if (v->type == SMOL_TOML_STRING) {
            if (strpbrk(v->str, ",=;")) {
                free(s);
                return cfg_err(err, pl->name, v->line, "option '%s': values cannot hold ',', '=' or ';'%s", v->key, NULL);
            }
            snprintf(val, sizeof val, "%s", v->str);
        } else if (v->type == SMOL_TOML_INT) {
            snprintf(val, sizeof val, "%lld", (long long)v->i);
        } else if (v->type == SMOL_TOML_FLOAT) {
            snprintf(val, sizeof val, "%.17g", v->f);
        } else if (v->type == SMOL_TOML_BOOL) {
            snprintf(val, sizeof val, "%s", v->b ? "true" : "false");
        } else if (v->type == SMOL_TOML_ARRAY) {
            for (size_t j = 0; j < v->n; j++) {
                const smol_toml *e = v->items[j];
                if (e->type != SMOL_TOML_STRING || strpbrk(e->str, ",=;+")) {
                    free(s);
                    return cfg_err(err, pl->name, v->line, "option '%s': arrays must hold plain strings%s", v->key, NULL);
                }
                snprintf(val + strlen(val), sizeof val - strlen(val), "%s%s", j ? "+" : "", e->str);
            }
        } else {
            free(s);
            return cfg_err(err, pl->name, v->line, "option '%s' cannot be a table%s", v->key, NULL);
        }
        size_t need = n + strlen(v->key) + strlen(val) + 3;
        if (need > cap) {
            char *t = realloc(s, cap = need * 2);
            if (!t) { free(s); return smol_fail(err, SMOL_ENOMEM, "out of memory"); }
            s = t;
        }
        n += (size_t)sprintf(s + n, "%s%s=%s", n ? "," : "", v->key, val);
    }
    *out = s;
    return SMOL_OK;
}

static int parse_stage(smol_pipeline *pl, const smol_toml *t, smol_stage_spec *sp, smol_error *err) {
    static const char *const keys[] = {"type", "name", "options", NULL};
    const char *type, *name;
    int rc = check_keys(pl, t, "[[stage]]", keys, err);
    if (rc || (rc = get_str(pl, t, "type", NULL, &type, err)) || (rc = get_str(pl, t, "name", NULL, &name, err))) return rc;
    sp->line = t->line;
    if (!type) return cfg_err(err, pl->name, t->line, "[[stage]] needs type = \"filter\", \"formatter\" or a dedup stage%s%s", NULL, NULL);
    size_t k = 0, nt = sizeof k_types / sizeof k_types[0];
    while (k < nt && strcmp(k_types[k].type, type)) k++;
    if (k == nt) {
        char list[300] = "";
        for (size_t i = 0; i < nt; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", k_types[i].type);
        return cfg_err(err, pl->name, smol_toml_get(t, "type")->line, "unknown stage type '%s' (known: %s)", type, list);
    }
    if (k_types[k].needs_name && (!name || !*name))
        return cfg_err(err, pl->name, t->line, "a %s stage needs name = \"...\"%s", type, NULL);
    if (name && (strlen(name) >= sizeof sp->name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                  "0123456789_.-") != strlen(name) || name[0] == '.'))
        return cfg_err(err, pl->name, smol_toml_get(t, "name")->line,
                       "stage name '%s' must be letters, digits, '_', '-' or '.' (it names a folder)%s", name, NULL);
    snprintf(sp->type, sizeof sp->type, "%s", type);
    snprintf(sp->name, sizeof sp->name, "%s", name ? name : type);
    sp->kind = k_types[k].kind;
    const smol_toml *opts = smol_toml_get(t, "options");
    if (opts) {
        if (opts->type != SMOL_TOML_TABLE) return cfg_err(err, pl->name, opts->line, "options must be a table%s%s", NULL, NULL);
        sp->opts = opts;
        if ((rc = options_string(pl, opts, &sp->options, err))) return rc;
    }
    /* build the stage once now, so a bad name or option is reported with its line */
    if (sp->kind == SMOL_STAGE_DOC) {
        pl_doc_stage ds;
        if ((rc = pl_doc_stage_init(&ds, sp, NULL, err))) {
            smol_error_prefix(err, "%s:%d: stage '%s'", pl->name, sp->line, sp->name);
            return rc;
        }
        pl_doc_stage_free(&ds);
    } else if ((rc = pl_corpus_stage_check(sp, err))) {
        smol_error_prefix(err, "%s:%d: stage '%s'", pl->name, sp->line, sp->name);
        return rc;
    }
    return SMOL_OK;
}

static int parse_stages(smol_pipeline *pl, smol_error *err) {
    const smol_toml *st = smol_toml_get(pl->root, "stage");
    if (!st) return SMOL_OK;
    if (st->type != SMOL_TOML_ARRAY || (st->n && st->items[0]->type != SMOL_TOML_TABLE))
        return cfg_err(err, pl->name, st->line, "stages are written as [[stage]] tables%s%s", NULL, NULL);
    if (st->n > 99) return cfg_err(err, pl->name, st->line, "more than 99 stages%s%s", NULL, NULL);
    if (!(pl->stages = calloc(st->n ? st->n : 1, sizeof *pl->stages))) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (size_t i = 0; i < st->n; i++) {
        pl->n_stages++;
        int rc = parse_stage(pl, st->items[i], &pl->stages[i], err);
        if (rc) return rc;
    }
    return SMOL_OK;
}

int smol_pipeline_parse(const char *text, size_t len, const char *name, smol_pipeline **out, smol_error *err) {
    *out = NULL;
    smol_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl || !(pl->name = strdup(name ? name : "<pipeline>")) || !(pl->text = strndup(text, len))) {
        smol_pipeline_free(pl);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    int rc = smol_toml_parse(text, len, pl->name, &pl->root, err);
    static const char *const keys[] = {"input", "output", "stage", NULL};
    if (rc || (rc = check_keys(pl, pl->root, "the pipeline file", keys, err)) || (rc = parse_input(pl, err)) ||
        (rc = parse_output(pl, err)) || (rc = parse_stages(pl, err))) {
        smol_pipeline_free(pl);
        return rc;
    }
    *out = pl;
    return SMOL_OK;
}

int smol_pipeline_load(const char *path, smol_pipeline **out, smol_error *err) {
    char *text;
    size_t size;
    *out = NULL;
    int rc = smol_read_file(path, &text, &size, err);
    if (rc) return rc;
    rc = smol_pipeline_parse(text, size, path, out, err);
    free(text);
    return rc;
}

void smol_pipeline_free(smol_pipeline *pl) {
    if (!pl) return;
    for (int i = 0; i < pl->n_inputs; i++) free(pl->inputs[i]);
    free(pl->inputs);
    for (int i = 0; i < pl->n_stages; i++) free(pl->stages[i].options);
    free(pl->stages);
    free(pl->out_dir);
    smol_toml_free(pl->root);
    free(pl->text);
    free(pl->name);
    free(pl);
}

smol_run_opts smol_run_default_opts(void) {
    smol_run_opts o = {0, 1, 1, -1, 0, 0};
    return o;
}

/* ------------------------------------------------------------------ stage registry */


/* An integer option of a built-in stage: *out keeps dflt when absent. */
static int opt_int(const smol_stage_spec *sp, const char *key, int64_t lo, int64_t *out, smol_error *err) {
    const smol_toml *v = smol_toml_get(sp->opts, key);
    if (!v) return SMOL_OK;
    if (v->type != SMOL_TOML_INT || v->i < lo)
        return smol_fail(err, SMOL_EINVAL, "option %s (line %d) must be an integer >= %lld", key, v->line, (long long)lo);
    *out = v->i;
    return SMOL_OK;
}

static int opt_check_keys(const smol_stage_spec *sp, const char *const *keys, smol_error *err) {
    if (!sp->opts) return SMOL_OK;
    for (size_t i = 0; i < sp->opts->n; i++) {
        const char *k = sp->opts->items[i]->key;
        const char *const *a = keys;
        while (*a && strcmp(*a, k)) a++;
        if (!*a) return smol_fail(err, SMOL_EINVAL, "unknown option '%s' (line %d)", k, sp->opts->items[i]->line);
    }
    return SMOL_OK;
}

static int init_min_length(pl_doc_stage *s, const smol_stage_spec *sp, smol_error *err) {
    static const char *const keys[] = {"min_chars", "max_chars", NULL};
    int rc = opt_check_keys(sp, keys, err);
    if (rc || (rc = opt_int(sp, "min_chars", 0, &s->min_chars, err)) || (rc = opt_int(sp, "max_chars", 0, &s->max_chars, err)))
        return rc;
    if (!smol_toml_get(sp->opts, "min_chars") && !smol_toml_get(sp->opts, "max_chars"))
        return smol_fail(err, SMOL_EINVAL, "min_length needs [stage.options] min_chars = N (and/or max_chars = N)");
    return SMOL_OK;
}

static int init_sample(pl_doc_stage *s, const smol_stage_spec *sp, smol_error *err) {
    static const char *const keys[] = {"rate", "seed", NULL};
    int rc = opt_check_keys(sp, keys, err);
    int64_t seed = 0;
    if (rc || (rc = opt_int(sp, "seed", 0, &seed, err))) return rc;
    s->seed = (uint64_t)seed;
    const smol_toml *r = smol_toml_get(sp->opts, "rate");
    double rate = !r ? -1 : r->type == SMOL_TOML_FLOAT ? r->f : r->type == SMOL_TOML_INT ? (double)r->i : -1;
    if (!(rate >= 0 && rate <= 1)) return smol_fail(err, SMOL_EINVAL, "sample needs [stage.options] rate = a number from 0 to 1");
    s->rate = rate;
    return SMOL_OK;
}

/* Builds the benchmark index of a decontam stage: options bench (a file or a list), ngram,
 * threshold, bench_field. */
static int decontam_new(const smol_stage_spec *sp, const char *text_field, smol_decontam **out, smol_error *err) {
    static const char *const keys[] = {"bench", "ngram", "threshold", "bench_field", NULL};
    smol_decontam_opts o;
    smol_decontam_opts_default(&o);
    int64_t ngram = o.ngram;
    int rc = opt_check_keys(sp, keys, err);
    if (rc || (rc = opt_int(sp, "ngram", 1, &ngram, err))) return rc;
    o.ngram = ngram > 1000 ? 1000 : (int)ngram;
    o.text_field = text_field;
    const smol_toml *t = smol_toml_get(sp->opts, "threshold"), *bf = smol_toml_get(sp->opts, "bench_field");
    if (t && t->type != SMOL_TOML_FLOAT && t->type != SMOL_TOML_INT)
        return smol_fail(err, SMOL_EINVAL, "option threshold (line %d) must be a number", t->line);
    if (t) o.threshold = t->type == SMOL_TOML_FLOAT ? t->f : (double)t->i;
    if (bf && bf->type != SMOL_TOML_STRING) return smol_fail(err, SMOL_EINVAL, "option bench_field (line %d) must be a string", bf->line);
    if (bf) o.bench_field = bf->str;
    const smol_toml *b = smol_toml_get(sp->opts, "bench");
    char *files[256];
    size_t n = 0;
    if (b && b->type == SMOL_TOML_STRING) files[n++] = b->str;
    for (size_t i = 0; b && b->type == SMOL_TOML_ARRAY && i < b->n && n < 256; i++)
        if (b->items[i]->type == SMOL_TOML_STRING) files[n++] = b->items[i]->str;
    if (n == 0) return smol_fail(err, SMOL_EINVAL, "decontam needs [stage.options] bench = [\"benchmark.jsonl\", ...]");
    return smol_decontam_new(files, n, &o, out, err);
}

static int pl_doc_stage_init(pl_doc_stage *s, const smol_stage_spec *sp, const smol_decontam *shared,
                             smol_error *err) {
    memset(s, 0, sizeof *s);
    s->spec = sp;
    if (strcmp(sp->type, "decontam") == 0) {
        s->kind = DOC_DECONTAM;
        int rc = shared ? SMOL_OK : decontam_new(sp, NULL, &s->own_dc, err);
        s->dc = shared ? shared : s->own_dc;
        if (rc == SMOL_OK && !(s->dcs = smol_decontam_scratch_new(s->dc))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
        return rc;
    }
    if (strcmp(sp->name, "min_length") == 0) {
        s->kind = DOC_MIN_LENGTH;
        return init_min_length(s, sp, err);
    }
    if (strcmp(sp->name, "sample") == 0) {
        s->kind = DOC_SAMPLE;
        return init_sample(s, sp, err);
    }
    s->kind = DOC_FILTER;
    smol_filter *f = NULL;
    int rc = smol_filter_new(sp->name, sp->options, &f, err);
    s->filter = f;
    return rc;
}

static void pl_doc_stage_free(pl_doc_stage *s) {
    smol_filter_free(s->filter);
    smol_decontam_scratch_free(s->dcs);
    smol_decontam_free(s->own_dc);
    s->dcs = NULL;
    s->own_dc = NULL;
    smol_doc_writer_abort(s->excl);
    s->filter = NULL;
    s->excl = NULL;
}

/* A 64-bit hash of the text mixed with the seed (FNV-1a, then a splitmix64 finaliser). */
static uint64_t text_hash(const char *t, size_t n, uint64_t seed) {
    uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)t[i]) * 1099511628211ULL;
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

/* 1 keep, 0 drop (*reason set), < 0 error. */
static int doc_stage_apply(pl_doc_stage *s, smol_doc *d, const char **reason, smol_error *err) {
    if (s->kind == DOC_MIN_LENGTH) {
        int64_t chars = 0;
        for (size_t i = 0; i < d->text_len; i++) chars += ((uint8_t)d->text[i] & 0xC0) != 0x80;
        if (chars < s->min_chars) { *reason = "min_length:too_short"; return 0; }
        if (s->max_chars && chars > s->max_chars) { *reason = "min_length:too_long"; return 0; }
        return 1;
    }
    if (s->kind == DOC_DECONTAM) {
        smol_decontam_match m;
        int rc = smol_decontam_check(s->dc, s->dcs, d->text, d->text_len, &m);
        if (rc < 0) return smol_fail(err, rc, "decontam: out of memory");
        if (rc == 0) return 1;
        cJSON *meta = smol_doc_metadata(d), *o = cJSON_CreateObject();
        if (!meta || !o) { cJSON_Delete(o); return smol_fail(err, SMOL_ENOMEM, "out of memory"); }
        cJSON_AddStringToObject(o, "bench", m.bench);
        cJSON_AddNumberToObject(o, "item", (double)m.item);
        cJSON_AddNumberToObject(o, "ratio", m.ratio);
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "decontam");
        cJSON_AddItemToObject(meta, "decontam", o);
        *reason = "decontam:contaminated";
        return 0;
    }
    if (s->kind == DOC_SAMPLE) {
        double u = (double)(text_hash(d->text, d->text_len, s->seed) >> 11) * (1.0 / 9007199254740992.0);
        if (u < s->rate) return 1;
        *reason = "sample:not_sampled";
        return 0;
    }
    int rc = smol_filter_apply(s->filter, d, reason);
    if (rc < 0) return smol_fail(err, rc, "filter %s failed: %s", s->spec->name, *reason ? *reason : "error");
    if (rc == 0 && !*reason) *reason = s->spec->name;
    return rc;
}

static void count_reason(pl_doc_stage *s, const char *reason) {
    for (int i = 0; i < s->n_reasons; i++)
        if (strcmp(s->reasons[i].reason, reason) == 0) { s->reasons[i].n++; return; }
    if (s->n_reasons == MAX_REASONS) reason = "other";
    for (int i = 0; i < s->n_reasons; i++)
        if (strcmp(s->reasons[i].reason, reason) == 0) { s->reasons[i].n++; return; }
    if (s->n_reasons < MAX_REASONS) s->reasons[s->n_reasons++] = (reason_count){reason, 1};
    else s->reasons[MAX_REASONS - 1].n++;
}

/* ------------------------------------------------------------------ corpus-wide stages */


/* MinHash options from [stage.options] (datatrove's defaults otherwise). */
static int minhash_opts(const smol_stage_spec *sp, smol_minhash_opts *o, smol_error *err) {
    static const char *const keys[] = {"n_grams", "buckets", "hashes_per_bucket", "seed", NULL};
    smol_minhash_opts_default(o);
    int64_t ng = o->n_grams, nb = o->buckets, hb = o->hashes_per_bucket, seed = o->seed;
    int rc = opt_check_keys(sp, keys, err);
    if (rc || (rc = opt_int(sp, "n_grams", 1, &ng, err)) || (rc = opt_int(sp, "buckets", 1, &nb, err)) ||
        (rc = opt_int(sp, "hashes_per_bucket", 1, &hb, err)) || (rc = opt_int(sp, "seed", 0, &seed, err)))
        return rc;
    if (ng > 1000 || nb * hb > SMOL_MINHASH_MAX_HASHES || seed > UINT32_MAX)
        return smol_fail(err, SMOL_EINVAL, "minhash options out of range (n_grams <= 1000, buckets * hashes_per_bucket <= %d, "
                         "seed < 2^32)", SMOL_MINHASH_MAX_HASHES);
    o->n_grams = (int)ng;
    o->buckets = (int)nb;
    o->hashes_per_bucket = (int)hb;
    o->seed = (uint32_t)seed;
    smol_minhash *m;
    if ((rc = smol_minhash_new(o, &m, err))) return rc;
    smol_minhash_free(m);
    return SMOL_OK;
}

static int pl_corpus_stage_check(const smol_stage_spec *sp, smol_error *err) {
    if (strcmp(sp->type, "dedup_exact") == 0 && sp->opts && sp->opts->n)
        return smol_fail(err, SMOL_EINVAL, "dedup_exact takes no options (line %d)", sp->opts->line);
    if (strcmp(sp->type, "dedup_minhash") == 0) {
        smol_minhash_opts o;
        return minhash_opts(sp, &o, err);
    }
    return SMOL_OK;
}

/* ------------------------------------------------------------------ the runner */

/* A phase: a run of per-document stages fused in one pass, or one corpus-wide stage. */
typedef struct phase {
    int first, n;          /* stages [first, first + n) */
    int corpus;
} phase;

#define MAX_PHASES 128

typedef struct progress {
    int enabled;
    atomic_llong docs, bytes;
    atomic_llong last_ns;
    atomic_int shards_done;
    long long start_ns, total_bytes;
    int n_shards, phase, n_phases;
} progress;

typedef struct runner {
    const smol_pipeline *pl;
    const smol_run_opts *o;
    smol_run_result *res;
    phase ph[MAX_PHASES];
    int n_ph;
    int on_error;
    smol_decontam *dc[100];  /* the benchmark index of each decontam stage, built once */
    char ext[16];          /* of the final outputs: ".jsonl.zst", ".jsonl.gz" or ".jsonl" */
    char meta[4200];       /* OUT/.smol */
    /* a doc phase run on the pool */
    int cur;               /* the phase */
    int *todo, n_todo;
    progress prog;
    atomic_int failed;
    smol_error first_err;
    atomic_llong docs_in, docs_out, bytes_in;
} runner;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int mkdirs(const char *path, smol_error *err) {
    char p[4200];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return smol_fail(err, SMOL_EIO, "%s: cannot create the folder: %s", p, strerror(errno));
            *s = c;
            if (!c) break;
        }
    }
    return SMOL_OK;
}

/* The output of shard i after phase p (the final output for the last phase). */
static void out_path(const runner *r, int p, int i, char *buf, size_t size) {
    if (p == r->n_ph - 1) snprintf(buf, size, "%s/%05d%s", r->pl->out_dir, i, r->ext);
    else snprintf(buf, size, "%s/work/p%d/%05d.jsonl", r->meta, p, i);  /* work files: plain JSONL */
}

static void in_path(const runner *r, int p, int i, char *buf, size_t size) {
    if (p == 0) snprintf(buf, size, "%s", r->pl->inputs[i]);
    else out_path(r, p - 1, i, buf, size);
}

/* The exclusion file of shard i for stage (written by the runner in the final compression). */
static void excl_path(const runner *r, int stage, int i, char *buf, size_t size) {
    snprintf(buf, size, "%s/excluded/%02d_%s/%05d%s", r->pl->out_dir, stage + 1, r->pl->stages[stage].name, i, r->ext);
}

static void excl_dir(const runner *r, int stage, char *buf, size_t size) {
    snprintf(buf, size, "%s/excluded/%02d_%s", r->pl->out_dir, stage + 1, r->pl->stages[stage].name);
}

static void marker_path(const runner *r, int p, const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/completions/p%d/%s", r->meta, p, name);
}

static void stats_path(const runner *r, int p, const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/stats/p%d/%s.json", r->meta, p, name);
}

/* Writes text to path atomically (temp + fsync + rename). */
static int write_atomic(const char *path, const char *text, smol_error *err) {
    smol_atomic_file f;
    int rc = smol_atomic_open(&f, path, err);
    if (rc) return rc;
    if (fputs(text, f.fp) < 0) {
        smol_atomic_abort(&f);
        return smol_fail(err, SMOL_EIO, "%s: write failed", path);
    }
    return smol_atomic_commit(&f, err);
}

/* Deletes temporary files a killed run left beside path ("PATH.tmp.PID"). */
static void remove_stale_temps(const char *path) {
    char pat[4300];
    snprintf(pat, sizeof pat, "%s.tmp.*", path);
    glob_t g;
    if (glob(pat, GLOB_NOESCAPE, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++) unlink(g.gl_pathv[i]);
    globfree(&g);
}

static void progress_tick(runner *r, long long docs, long long bytes, int force) {
    progress *p = &r->prog;
    atomic_fetch_add(&p->docs, docs);
    atomic_fetch_add(&p->bytes, bytes);
    if (!p->enabled) return;
    long long t = now_ns(), last = atomic_load(&p->last_ns);
    if (!force && t - last < 2000000000LL) return;
    if (!atomic_compare_exchange_strong(&p->last_ns, &last, t)) return;
    double secs = (double)(t - p->start_ns) / 1e9, mb = (double)atomic_load(&p->bytes) / 1e6;
    double rate = secs > 0 ? mb / secs : 0;
    double left = p->total_bytes > 0 && rate > 0 ? ((double)p->total_bytes / 1e6 - mb) / rate : 0;
    fprintf(stderr, "smol curate: pass %d/%d: %d/%d shards, %lld docs, %.1f MB, %.1f MB/s, ETA %.0fs\n", p->phase + 1,
            p->n_phases, atomic_load(&p->shards_done), p->n_shards, (long long)atomic_load(&p->docs), mb, rate,
            left > 0 ? left : 0);
}

/* The stats entry of a per-document stage. */
static cJSON *doc_stage_stats(const pl_doc_stage *s, int index) {
    cJSON *e = cJSON_CreateObject(), *st = cJSON_CreateObject();
    if (!e || !st) { cJSON_Delete(e); cJSON_Delete(st); return NULL; }
    cJSON_AddNumberToObject(e, "stage", index + 1);
    cJSON_AddStringToObject(e, "type", s->spec->type);
    cJSON_AddStringToObject(e, "name", s->spec->name);
    cJSON_AddItemToObject(e, "stats", st);
    cJSON_AddNumberToObject(st, "total", (double)s->in);
    cJSON_AddNumberToObject(st, "total_bytes", (double)s->in_bytes);
    cJSON_AddNumberToObject(st, "forwarded", (double)s->kept);
    cJSON_AddNumberToObject(st, "forwarded_bytes", (double)s->kept_bytes);
    cJSON_AddNumberToObject(st, "dropped", (double)s->dropped);
    cJSON_AddNumberToObject(st, "dropped_bytes", (double)s->dropped_bytes);
    for (int i = 0; i < s->n_reasons; i++) {
        char k[200];
        snprintf(k, sizeof k, "dropped_%s", s->reasons[i].reason);
        cJSON_AddNumberToObject(st, k, (double)s->reasons[i].n);
    }
    return e;
}

static cJSON *io_stats(const char *type, int index, const char *k1, int64_t docs, const char *k2, int64_t bytes,
                       const char *k3, int64_t extra) {
    cJSON *e = cJSON_CreateObject(), *st = cJSON_CreateObject();
    if (!e || !st) { cJSON_Delete(e); cJSON_Delete(st); return NULL; }
    cJSON_AddNumberToObject(e, "stage", index);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "name", type);
    cJSON_AddItemToObject(e, "stats", st);
    cJSON_AddNumberToObject(st, k1, (double)docs);
    if (k2) cJSON_AddNumberToObject(st, k2, (double)bytes);
    if (k3) cJSON_AddNumberToObject(st, k3, (double)extra);
    return e;
}

/* Records a dropped document in the stage's exclusion file (opened at the first drop). */
static int exclude(runner *r, pl_doc_stage *s, int stage, int shard, smol_doc *d, const char *reason, smol_error *err) {
    if (!r->pl->exclusions) return SMOL_OK;
    if (!s->excl) {
        char dir[4400], path[4500];
        excl_dir(r, stage, dir, sizeof dir);
        int rc = mkdirs(dir, err);
        if (rc) return rc;
        excl_path(r, stage, shard, path, sizeof path);
        if ((rc = smol_doc_writer_open(path, &s->excl, err))) return rc;
    }
    if (!d->rec && !d->json) {
        if (!(d->json = cJSON_CreateObject()) || !cJSON_AddStringToObject(d->json, "id", d->id ? d->id : "") ||
            !cJSON_AddStringToObject(d->json, "text", ""))
            return smol_fail(err, SMOL_ENOMEM, "out of memory");
        snprintf(d->text_field, sizeof d->text_field, "text");
    }
    cJSON *m = smol_doc_metadata(d);
    if (!m) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "filter_reason");
    if (!cJSON_AddStringToObject(m, "filter_reason", reason)) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    return smol_doc_write(s->excl, d, err);
}

/* Runs document d through the stages; 1 kept, 0 dropped, < 0 error. */
static int run_doc(runner *r, pl_doc_stage *st, int n, int first, int shard, smol_doc *d, smol_error *err) {
    for (int k = 0; k < n; k++) {
        pl_doc_stage *s = &st[k];
        s->in++;
        s->in_bytes += (int64_t)d->text_len;
        const char *reason = NULL;
        int rc = doc_stage_apply(s, d, &reason, err);
        if (rc < 0) {
            smol_error_prefix(err, "%s:%ld: stage %d (%s)", d->path, d->line, first + k + 1, s->spec->name);
            return rc;
        }
        if (rc == 0) {
            s->dropped++;
            s->dropped_bytes += (int64_t)d->text_len;
            count_reason(s, reason);
            if ((rc = exclude(r, s, first + k, shard, d, reason, err))) return rc;
            return 0;
        }
        s->kept++;
        s->kept_bytes += (int64_t)d->text_len;
    }
    return 1;
}

/* Commits the exclusion files, then the output, then the stats, then the marker. */
static int finish_shard(runner *r, int shard, pl_doc_stage *st, int n, smol_doc_writer *w, cJSON *stats, smol_error *err) {
    int rc = SMOL_OK;
    for (int k = 0; k < n; k++) {
        if (st[k].excl && rc == SMOL_OK) rc = smol_doc_writer_close(st[k].excl, err);
        else smol_doc_writer_abort(st[k].excl);
        st[k].excl = NULL;
    }
    if (rc) { smol_doc_writer_abort(w); return rc; }
    if ((rc = smol_doc_writer_close(w, err))) return rc;
    char path[4400], name[16];
    snprintf(name, sizeof name, "%05d", shard);
    char *text = cJSON_Print(stats);
    if (!text) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    stats_path(r, r->cur, name, path, sizeof path);
    rc = write_atomic(path, text, err);
    free(text);
    marker_path(r, r->cur, name, path, sizeof path);
    return rc ? rc : write_atomic(path, "done\n", err);
}

/* What one shard pass counted. */
typedef struct shard_counts {
    int64_t docs, bytes, kept, kept_bytes;
} shard_counts;

/* Reads every document of rd through the stages, writing the kept ones to w. */
static int stream_docs(runner *r, int shard, pl_doc_stage *st, int n, smol_doc_reader *rd, smol_doc_writer *w,
                       shard_counts *c, smol_error *err) {
    int64_t tick_docs = 0;
    uint64_t seen = 0;
    int rc = SMOL_OK;
    smol_doc d;
    while (rc == SMOL_OK) {
        if (atomic_load(&r->failed)) return SMOL_EINVAL;  /* another shard failed: stop */
        int got = smol_doc_read(rd, &d, err);
        if (got <= 0) { rc = got; break; }
        c->docs++;
        c->bytes += (int64_t)d.text_len;
        int keep = run_doc(r, st, n, r->ph[r->cur].first, shard, &d, err);
        if (keep == 1) {
            c->kept++;
            c->kept_bytes += (int64_t)d.text_len;
            keep = smol_doc_write(w, &d, err);
        }
        smol_doc_free(&d);
        if (keep < 0) rc = keep;
        if (++tick_docs == 256) {
            uint64_t b = smol_doc_reader_bytes_read(rd);
            progress_tick(r, tick_docs, (long long)(b - seen), 0);
            seen = b;
            tick_docs = 0;
        }
    }
    progress_tick(r, tick_docs, (long long)(smol_doc_reader_bytes_read(rd) - seen), 0);
    return rc;
}

/* The shard's stats array: the reader (first pass), its stages, the writer (last pass). */
static cJSON *shard_stats(const runner *r, const pl_doc_stage *st, int n, const shard_counts *c, long skipped) {
    cJSON *stats = cJSON_CreateArray();
    if (!stats) return NULL;
    if (r->cur == 0)
        cJSON_AddItemToArray(stats, io_stats("reader", 0, "documents", c->docs, "bytes", c->bytes, "skipped_errors", skipped));
    for (int k = 0; k < n; k++) cJSON_AddItemToArray(stats, doc_stage_stats(&st[k], r->ph[r->cur].first + k));
    if (r->cur == r->n_ph - 1)
        cJSON_AddItemToArray(stats, io_stats("writer", r->pl->n_stages + 1, "documents", c->kept, "bytes", c->kept_bytes, NULL, 0));
    return stats;
}

/* One shard through one pass of per-document stages. */
static int run_doc_shard(runner *r, int shard, smol_error *err) {
    const phase *ph = &r->ph[r->cur];
    char in[4400], out[4400];
    in_path(r, r->cur, shard, in, sizeof in);
    out_path(r, r->cur, shard, out, sizeof out);
    remove_stale_temps(out);
    pl_doc_stage st[100];
    int n = 0, rc = SMOL_OK;
    for (; n < ph->n && rc == SMOL_OK; n++)
        rc = pl_doc_stage_init(&st[n], &r->pl->stages[ph->first + n], r->dc[ph->first + n], err);
    for (int k = 0; k < ph->n && r->pl->exclusions; k++) {
        char p[4500];
        excl_path(r, ph->first + k, shard, p, sizeof p);
        remove_stale_temps(p);
    }
    smol_doc_opts dopts = {r->pl->text_field, r->pl->id_field, r->on_error, 0};
    smol_doc_reader *rd = NULL;
    smol_doc_writer *w = NULL;
    shard_counts c = {0};
    if (rc == SMOL_OK && (rc = smol_doc_reader_open(in, &dopts, &rd, err)) == SMOL_OK &&
        (rc = smol_doc_writer_open(out, &w, err)) == SMOL_OK)
        rc = stream_docs(r, shard, st, n, rd, w, &c, err);
    if (rc == SMOL_OK) {
        cJSON *stats = shard_stats(r, st, n, &c, smol_doc_reader_skipped(rd));
        rc = stats ? finish_shard(r, shard, st, n, w, stats, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
        if (stats) w = NULL;   /* finish_shard closed or aborted it */
        cJSON_Delete(stats);
    }
    smol_doc_reader_close(rd);
    smol_doc_writer_abort(w);
    for (int k = 0; k < n; k++) pl_doc_stage_free(&st[k]);
    if (rc == SMOL_OK) {
        if (r->cur == 0) atomic_fetch_add(&r->docs_in, c.docs);
        if (r->cur == 0) atomic_fetch_add(&r->bytes_in, c.bytes);
        if (r->cur == r->n_ph - 1) atomic_fetch_add(&r->docs_out, c.kept);
        atomic_fetch_add(&r->prog.shards_done, 1);
    }
    return rc;
}

static void shard_task(void *ctx, int task, int thread) {
    (void)thread;
    runner *r = ctx;
    if (atomic_load(&r->failed)) return;
    smol_error e = {0};
    int rc = run_doc_shard(r, r->todo[task], &e);
    if (rc && !atomic_exchange(&r->failed, 1)) r->first_err = e;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Runs this rank's unfinished shards of doc phase p on the thread pool. */
static int run_doc_phase(runner *r, smol_pool *pool, int p, smol_error *err) {
    const smol_pipeline *pl = r->pl;
    char path[4400], name[16];
    snprintf(path, sizeof path, "%s/completions/p%d", r->meta, p);
    int rc = mkdirs(path, err);
    snprintf(path, sizeof path, "%s/stats/p%d", r->meta, p);
    if (!rc) rc = mkdirs(path, err);
    if (!rc && p != r->n_ph - 1) {
        snprintf(path, sizeof path, "%s/work/p%d", r->meta, p);
        rc = mkdirs(path, err);
    }
    if (rc) return rc;
    r->cur = p;
    r->n_todo = 0;
    long long total = 0;
    for (int i = r->o->rank; i < pl->n_inputs; i += r->o->world_size) {
        snprintf(name, sizeof name, "%05d", i);
        marker_path(r, p, name, path, sizeof path);
        if (file_exists(path)) { r->res->shards_skipped++; continue; }
        r->todo[r->n_todo++] = i;
        struct stat st;
        in_path(r, p, i, path, sizeof path);
        if (stat(path, &st) == 0) total += (long long)st.st_size;
    }
    progress *pg = &r->prog;
    atomic_store(&pg->docs, 0);
    atomic_store(&pg->bytes, 0);
    atomic_store(&pg->shards_done, 0);
    atomic_store(&pg->last_ns, now_ns());
    pg->start_ns = now_ns();
    pg->total_bytes = total;
    pg->n_shards = r->n_todo;
    pg->phase = p;
    if (r->n_todo == 0) return SMOL_OK;
    smol_pool_run(pool, r->n_todo, shard_task, r);
    if (atomic_load(&r->failed)) {
        if (err) *err = r->first_err;
        return r->first_err.code ? r->first_err.code : SMOL_EIO;
    }
    r->res->shards_done += r->n_todo;
    progress_tick(r, 0, 0, 1);
    return SMOL_OK;
}

/* Waits until every marker names[i] of phase p exists (other ranks finishing their part). */
static int wait_markers(runner *r, int p, char names[][32], int n, smol_error *err) {
    char path[4400];
    int limit = r->o->wait_seconds > 0 ? r->o->wait_seconds : 3600;
    int first = 0;
    for (long waited = 0;; waited++) {   /* polls every 50 ms */
        while (first < n) {
            marker_path(r, p, names[first], path, sizeof path);
            if (!file_exists(path)) break;
            first++;
        }
        if (first == n) return SMOL_OK;
        if (waited >= 20L * limit)
            return smol_fail(err, SMOL_EIO, "%s: still missing after %d s: run the other ranks (--rank/--world-size) "
                             "of this pipeline", path, limit);
        if (waited % 600 == 20 && r->prog.enabled)
            fprintf(stderr, "smol curate: waiting for other ranks (%s)\n", path);
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
}

static int wait_phase_done(runner *r, int p, smol_error *err) {
    if (r->ph[p].corpus) {
        char all[1][32] = {"all"};
        return wait_markers(r, p, all, 1, err);
    }
    char (*names)[32] = malloc((size_t)r->pl->n_inputs * sizeof *names);
    if (!names) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < r->pl->n_inputs; i++) snprintf(names[i], 32, "%05d", i);
    int rc = wait_markers(r, p, names, r->pl->n_inputs, err);
    free(names);
    return rc;
}

static int phase_done(const runner *r, int p) {
    char path[4400], name[16];
    if (r->ph[p].corpus) {
        marker_path(r, p, "all", path, sizeof path);
        return file_exists(path);
    }
    for (int i = 0; i < r->pl->n_inputs; i++) {
        snprintf(name, sizeof name, "%05d", i);
        marker_path(r, p, name, path, sizeof path);
        if (!file_exists(path)) return 0;
    }
    return 1;
}

static void dd_log(void *ctx, const char *msg) {
    const runner *r = ctx;
    if (r->prog.enabled) fprintf(stderr, "smol curate: %s\n", msg);
}

/* The number of non-blank lines (documents) of a JSONL file; -1 with err set on failure. */
static int64_t count_docs(const char *path, smol_error *err) {
    smol_lines *l;
    if (smol_lines_open(path, &l, err)) return -1;
    const char *line;
    size_t len;
    int64_t n = 0;
    int rc;
    while ((rc = smol_lines_next(l, &line, &len, err)) == 1) {
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        n += i < len;
    }
    smol_lines_close(l);
    return rc < 0 ? -1 : n;
}

/* The stats of a finished corpus stage, counted from its input and output files (so they do
 * not depend on how often the stage was interrupted), then its "all" marker. */
static int finish_corpus_phase(runner *r, int p, char **files, const char *outdir, smol_error *err) {
    const smol_pipeline *pl = r->pl;
    int si = r->ph[p].first;
    int64_t total = 0, kept = 0;
    char path[8800];
    for (int i = 0; i < pl->n_inputs; i++) {
        int64_t a = count_docs(files[i], err);
        snprintf(path, sizeof path, "%s/%05d.jsonl", outdir, i);
        int64_t b = a < 0 ? -1 : count_docs(path, err);
        if (b < 0) return err ? err->code : SMOL_EIO;
        total += a;
        kept += b;
    }
    cJSON *stats = cJSON_CreateArray();
    cJSON *e = io_stats(pl->stages[si].type, si + 1, "total", total, "forwarded", kept, "dropped", total - kept);
    if (!stats || !e) {
        cJSON_Delete(stats);
        cJSON_Delete(e);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    cJSON_SetValuestring(cJSON_GetObjectItem(e, "name"), pl->stages[si].name);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(e, "stats"), "dropped_duplicate", (double)(total - kept));
    cJSON_AddItemToArray(stats, e);
    char *text = cJSON_Print(stats);
    cJSON_Delete(stats);
    stats_path(r, p, "all", path, sizeof path);
    int rc = text ? write_atomic(path, text, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
    free(text);
    marker_path(r, p, "all", path, sizeof path);
    if (rc == SMOL_OK) rc = write_atomic(path, "done\n", err);
    return rc;
}

typedef int (*minhash_step_fn)(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                               smol_minhash_stats *st, smol_error *err);

/* MinHash's four steps; each waits for every rank to finish the one before. */
static int run_minhash(runner *r, int p, char **files, const char *outdir, const char *exdir, smol_error *err) {
    const smol_pipeline *pl = r->pl;
    smol_minhash_opts o;
    int rc = minhash_opts(&pl->stages[r->ph[p].first], &o, err);
    char work[4400];
    snprintf(work, sizeof work, "%s/work/p%d-minhash", r->meta, p);
    if (rc || (rc = mkdirs(work, err))) return rc;
    o.rank = r->o->rank;
    o.world_size = r->o->world_size;
    o.threads = r->o->n_threads > 0 ? r->o->n_threads : 1;
    o.text_field = pl->text_field;
    o.exclusions_dir = pl->exclusions ? exdir : NULL;
    o.log = dd_log;
    o.log_ctx = r;
    int N = r->o->world_size;
    char (*names)[32] = malloc((size_t)N * sizeof *names);
    if (!names) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    static const char *const step_names[] = {"signatures", "buckets", "clusters", "filter"};
    for (int step = 0; step < 4 && rc == SMOL_OK; step++) {
        char mine[4400];
        snprintf(names[0], 32, "s%d-%d-%d", step, r->o->rank, N);
        marker_path(r, p, names[0], mine, sizeof mine);
        if (!file_exists(mine)) {
            smol_minhash_stats st = {0};
            if (r->prog.enabled)
                fprintf(stderr, "smol curate: pass %d/%d: minhash %s\n", p + 1, r->n_ph, step_names[step]);
            rc = step == 0 ? smol_minhash_signatures(files, (size_t)pl->n_inputs, work, &o, &st, err)
               : step == 1 ? smol_minhash_buckets(files, (size_t)pl->n_inputs, work, &o, &st, err)
               : step == 2 ? smol_minhash_clusters(files, (size_t)pl->n_inputs, work, &o, &st, err)
                           : smol_minhash_filter(files, (size_t)pl->n_inputs, work, outdir, &o, &st, err);
            if (rc == SMOL_OK) rc = write_atomic(mine, "done\n", err);
        }
        for (int k = 0; k < N; k++) snprintf(names[k], 32, "s%d-%d-%d", step, k, N);
        if (rc == SMOL_OK && step < 3) rc = wait_markers(r, p, names, N, err);
    }
    int all_done = 1;
    for (int k = 0; k < N && rc == SMOL_OK; k++) {
        char path[4400];
        marker_path(r, p, names[k], path, sizeof path);
        all_done &= file_exists(path);
    }
    free(names);
    if (rc == SMOL_OK) r->res->shards_done++;
    return rc == SMOL_OK && all_done ? finish_corpus_phase(r, p, files, outdir, err) : rc;
}

/* Runs a corpus-wide stage over the outputs of the pass before it. */
static int run_corpus_phase(runner *r, int p, smol_error *err) {
    const smol_pipeline *pl = r->pl;
    int si = r->ph[p].first;
    const smol_stage_spec *sp = &pl->stages[si];
    char path[4400], outdir[4400], exdir[4400];
    int rc = wait_phase_done(r, p - 1, err);
    if (rc) return rc;
    marker_path(r, p, "all", path, sizeof path);
    if (file_exists(path)) { r->res->shards_skipped++; return SMOL_OK; }
    int exact = strcmp(sp->type, "dedup_exact") == 0;
    if (exact && r->o->rank != 0) return wait_phase_done(r, p, err);
    snprintf(path, sizeof path, "%s/completions/p%d", r->meta, p);
    if ((rc = mkdirs(path, err))) return rc;
    snprintf(path, sizeof path, "%s/stats/p%d", r->meta, p);
    if ((rc = mkdirs(path, err))) return rc;
    snprintf(outdir, sizeof outdir, "%s/work/p%d", r->meta, p);
    excl_dir(r, si, exdir, sizeof exdir);
    if ((rc = mkdirs(outdir, err)) || (pl->exclusions && (rc = mkdirs(exdir, err)))) return rc;
    char **files = calloc((size_t)pl->n_inputs, sizeof *files);
    if (!files) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < pl->n_inputs && rc == SMOL_OK; i++) {
        out_path(r, p - 1, i, path, sizeof path);
        if (!(files[i] = strdup(path))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
        char o[8800];
        snprintf(o, sizeof o, "%s/%05d.jsonl", outdir, i);
        remove_stale_temps(o);
        snprintf(o, sizeof o, "%s/%05d.jsonl", exdir, i);
        remove_stale_temps(o);
    }
    if (rc == SMOL_OK && exact) {
        smol_exact_opts eo = {pl->text_field, pl->exclusions ? exdir : NULL, dd_log, r};
        smol_dedup_stats ds = {0};
        if (r->prog.enabled) fprintf(stderr, "smol curate: pass %d/%d: %s over %d files\n", p + 1, r->n_ph, sp->name, pl->n_inputs);
        rc = smol_dedup_exact(files, (size_t)pl->n_inputs, outdir, &eo, &ds, err);
        if (rc == SMOL_OK) r->res->shards_done++;
        if (rc == SMOL_OK) rc = finish_corpus_phase(r, p, files, outdir, err);
    } else if (rc == SMOL_OK) {
        rc = run_minhash(r, p, files, outdir, exdir, err);
    }
    for (int i = 0; i < pl->n_inputs; i++) free(files[i]);
    free(files);
    return rc;
}

/* Adds the counters of entries (one shard's stats array) into acc, entry by entry. */
static int merge_stats(cJSON *acc, const cJSON *entries, smol_error *err) {
    int j = 0;
    for (const cJSON *e = entries ? entries->child : NULL; e; e = e->next, j++) {
        cJSON *a = cJSON_GetArrayItem(acc, j);
        if (!a) {
            cJSON *copy = cJSON_Duplicate(e, 1);
            if (!copy || !cJSON_AddItemToArray(acc, copy)) return smol_fail(err, SMOL_ENOMEM, "out of memory");
            continue;
        }
        cJSON *as = cJSON_GetObjectItemCaseSensitive(a, "stats");
        const cJSON *es = cJSON_GetObjectItemCaseSensitive(e, "stats");
        for (const cJSON *v = es ? es->child : NULL; v; v = v->next) {
            cJSON *t = cJSON_GetObjectItemCaseSensitive(as, v->string);
            if (t && cJSON_IsNumber(t) && cJSON_IsNumber(v)) cJSON_SetNumberValue(t, t->valuedouble + v->valuedouble);
            else if (!t && !cJSON_AddNumberToObject(as, v->string, v->valuedouble))
                return smol_fail(err, SMOL_ENOMEM, "out of memory");
        }
    }
    return SMOL_OK;
}

static int merge_file(cJSON *acc, const char *path, smol_error *err) {
    char *text;
    size_t size;
    int rc = smol_read_file(path, &text, &size, err);
    if (rc) return rc;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return smol_fail(err, SMOL_EFORMAT, "%s: not a stats array (delete its marker to redo the shard)", path);
    }
    rc = merge_stats(acc, j, err);
    cJSON_Delete(j);
    return rc;
}

/* Writes OUT/stats.json from every phase's per-shard stats: one entry per stage, reader first. */
static int write_merged_stats(runner *r, smol_error *err) {
    cJSON *all = cJSON_CreateArray();
    if (!all) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    int rc = SMOL_OK;
    char path[4400], name[16];
    for (int p = 0; p < r->n_ph && rc == SMOL_OK; p++) {
        cJSON *acc = cJSON_CreateArray();
        if (!acc) { rc = smol_fail(err, SMOL_ENOMEM, "out of memory"); break; }
        if (r->ph[p].corpus) {
            stats_path(r, p, "all", path, sizeof path);
            rc = merge_file(acc, path, err);
        }
        for (int i = 0; !r->ph[p].corpus && i < r->pl->n_inputs && rc == SMOL_OK; i++) {
            snprintf(name, sizeof name, "%05d", i);
            stats_path(r, p, name, path, sizeof path);
            rc = merge_file(acc, path, err);
        }
        while (acc->child) cJSON_AddItemToArray(all, cJSON_DetachItemViaPointer(acc, acc->child));
        cJSON_Delete(acc);
    }
    char *text = rc == SMOL_OK ? cJSON_Print(all) : NULL;
    cJSON_Delete(all);
    if (rc) return rc;
    if (!text) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) { free(text); return smol_fail(err, SMOL_ENOMEM, "out of memory"); }
    memcpy(t2 + n, "\n", 2);
    snprintf(path, sizeof path, "%s/stats.json", r->pl->out_dir);
    rc = write_atomic(path, t2, err);
    free(t2);
    return rc;
}

/* Records the pipeline text and the input list in OUT/.smol, or checks that a rerun uses the same. */
static int check_same_run(runner *r, const char *file, const char *text, smol_error *err) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", r->meta, file);
    if (!file_exists(path)) return write_atomic(path, text, err);
    char *old;
    size_t size;
    int rc = smol_read_file(path, &old, &size, err);
    if (rc) return rc;
    int same = size == strlen(text) && memcmp(old, text, size) == 0;
    free(old);
    if (!same)
        return smol_fail(err, SMOL_EINVAL, "%s was written by a run with a different %s (see %s); use another output "
                         "folder, or delete it to start over", r->pl->out_dir,
                         strcmp(file, "inputs.list") == 0 ? "input list" : "pipeline", path);
    return SMOL_OK;
}

static int check_identity(runner *r, smol_error *err) {
    const smol_pipeline *pl = r->pl;
    size_t n = 1;
    for (int i = 0; i < pl->n_inputs; i++) n += strlen(pl->inputs[i]) + 1;
    char *list = malloc(n);
    if (!list) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    size_t k = 0;
    for (int i = 0; i < pl->n_inputs; i++) k += (size_t)sprintf(list + k, "%s\n", pl->inputs[i]);
    list[k] = 0;
    /* the stored pipeline ends with the on_error in effect (a command-line override counts) */
    size_t tn = strlen(pl->text);
    char *text = malloc(tn + 64);
    if (!text) {
        free(list);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    snprintf(text, tn + 64, "%s\n# on_error in effect: %s\n", pl->text, r->on_error == SMOL_ON_ERROR_SKIP ? "skip" : "stop");
    int rc = check_same_run(r, "pipeline.toml", text, err);
    if (rc == SMOL_OK) rc = check_same_run(r, "inputs.list", list, err);
    free(text);
    free(list);
    return rc;
}

/* Splits the stages into passes: runs of per-document stages, and single corpus-wide stages.
 * The first and last passes are per-document ones (possibly without stages): the first names
 * the shard files NNNNN.jsonl, the last writes the final files in the output's compression. */
static int plan_phases(runner *r, smol_error *err) {
    const smol_pipeline *pl = r->pl;
    r->n_ph = 0;
    for (int i = 0; i < pl->n_stages; i++) {
        int corpus = pl->stages[i].kind == SMOL_STAGE_CORPUS;
        if (r->n_ph == 0 && corpus) r->ph[r->n_ph++] = (phase){0, 0, 0};
        if (!corpus && r->n_ph > 0 && !r->ph[r->n_ph - 1].corpus) {
            r->ph[r->n_ph - 1].n++;
            continue;
        }
        if (r->n_ph == MAX_PHASES) return smol_fail(err, SMOL_ERANGE, "%s: too many passes", pl->name);
        r->ph[r->n_ph++] = (phase){i, 1, corpus};
    }
    if (r->n_ph == 0 || r->ph[r->n_ph - 1].corpus) {
        if (r->n_ph == MAX_PHASES) return smol_fail(err, SMOL_ERANGE, "%s: too many passes", pl->name);
        r->ph[r->n_ph++] = (phase){pl->n_stages, 0, 0};
    }
    return SMOL_OK;
}

int smol_pipeline_run(const smol_pipeline *pl, const smol_run_opts *opts, smol_run_result *res, smol_error *err) {
    smol_run_opts dflt = smol_run_default_opts();
    smol_run_result scratch;
    if (!opts) opts = &dflt;
    if (!res) res = &scratch;
    memset(res, 0, sizeof *res);
    if (opts->world_size < 1 || opts->rank < 0 || opts->rank >= opts->world_size)
        return smol_fail(err, SMOL_EINVAL, "rank %d of world size %d: need 0 <= rank < world size", opts->rank, opts->world_size);
    runner *r = calloc(1, sizeof *r);
    if (!r) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    r->pl = pl;
    r->o = opts;
    r->res = res;
    r->on_error = opts->on_error >= 0 ? opts->on_error : pl->on_error;
    r->prog.enabled = opts->progress;
    snprintf(r->ext, sizeof r->ext, ".jsonl%s", strcmp(pl->compression, "zst") == 0 ? ".zst"
                                              : strcmp(pl->compression, "gz") == 0  ? ".gz" : "");
    snprintf(r->meta, sizeof r->meta, "%s/.smol", pl->out_dir);
    int rc = plan_phases(r, err);
    if (rc == SMOL_OK) rc = mkdirs(r->meta, err);
    if (rc == SMOL_OK) rc = check_identity(r, err);
    r->todo = calloc((size_t)pl->n_inputs + 1, sizeof *r->todo);
    smol_pool *pool = rc == SMOL_OK ? smol_pool_new(opts->n_threads > 0 ? opts->n_threads : 1) : NULL;
    if (rc == SMOL_OK && (!r->todo || !pool)) rc = smol_fail(err, SMOL_ENOMEM, "out of memory (threads)");
    for (int i = 0; i < pl->n_stages && rc == SMOL_OK; i++)
        if (strcmp(pl->stages[i].type, "decontam") == 0) rc = decontam_new(&pl->stages[i], pl->text_field, &r->dc[i], err);
    r->prog.n_phases = r->n_ph;
    for (int p = 0; p < r->n_ph && rc == SMOL_OK; p++)
        rc = r->ph[p].corpus ? run_corpus_phase(r, p, err) : run_doc_phase(r, pool, p, err);
    res->docs_in += atomic_load(&r->docs_in);
    res->bytes_in += atomic_load(&r->bytes_in);
    res->docs_out += atomic_load(&r->docs_out);
    if (rc == SMOL_OK && phase_done(r, r->n_ph - 1)) {
        int all = 1;
        for (int p = 0; p < r->n_ph; p++) all &= phase_done(r, p);
        if (all && (rc = write_merged_stats(r, err)) == SMOL_OK) res->stats_written = 1;
    }
    smol_pool_free(pool);
    for (int i = 0; i < pl->n_stages; i++) smol_decontam_free(r->dc[i]);
    free(r->todo);
    free(r);
    return rc;
}

/* ------------------------------------------------------------------ recipes */

typedef struct strbuf { char *s; size_t n, cap; int oom; } strbuf;

static void sb_add(strbuf *b, const char *fmt, ...) SMOL_PRINTF(2, 3);
static void sb_add(strbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *t = realloc(b->s, cap);
        if (!t) { b->oom = 1; return; }
        b->s = t;
        b->cap = cap;
    }
}

/* Appends s as a TOML basic string. */
static void sb_str(strbuf *b, const char *s) {
    sb_add(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') sb_add(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7F) sb_add(b, "\\u%04x", c);
        else sb_add(b, "%c", c);
    }
    sb_add(b, "\"");
}

/* "k=v,k=v" as TOML lines of [stage.options]; numbers and booleans stay bare. */
static void sb_options(strbuf *b, const char *opts, const char *extra_key, const char *extra_val) {
    if ((!opts || !*opts) && !extra_key) return;
    sb_add(b, "[stage.options]\n");
    const char *p = opts ? opts : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        char kv[256];
        snprintf(kv, sizeof kv, "%.*s", (int)(n < 255 ? n : 255), p);
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = 0;
            char *end;
            strtod(eq + 1, &end);
            int bare = (*end == 0 && eq[1]) || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "false");
            sb_add(b, "%s = ", kv);
            if (bare) sb_add(b, "%s", eq + 1);
            else sb_str(b, eq + 1);
            sb_add(b, "\n");
        }
        p += n;
        if (*p) p++;
    }
    if (extra_key) {
        sb_add(b, "%s = ", extra_key);
        sb_str(b, extra_val);
        sb_add(b, "\n");
    }
}

static void sb_stage(strbuf *b, const char *type, const char *name) {
    sb_add(b, "\n[[stage]]\ntype = \"%s\"\n", type);
    if (name) sb_add(b, "name = \"%s\"\n", name);
}

int smol_pipeline_recipe(const char *recipe, const char *const *inputs, int n_inputs, const char *out_dir,
                         const char *lid_model, char **text, smol_error *err) {
    *text = NULL;
    const smol_filter_step *steps = smol_filter_recipe(recipe);
    if (!recipe || strcmp(recipe, "fineweb") != 0 || !steps)
        return smol_fail(err, SMOL_EINVAL, "unknown recipe '%s' (known: fineweb)", recipe ? recipe : "(null)");
    if (n_inputs < 1 || !out_dir || !*out_dir) return smol_fail(err, SMOL_EINVAL, "recipe %s: inputs and an output folder are needed", recipe);
    strbuf b = {0};
    sb_add(&b, "# FineWeb's order (datatrove examples/fineweb.py): URL filter, language (en, 0.65), Gopher\n"
               "# repetition, Gopher quality, C4 quality (no terminal-punctuation rule), FineWeb quality,\n"
               "# MinHash deduplication (5-grams, 14 buckets x 8 hashes), then PII formatting.\n"
               "[input]\npaths = [");
    for (int i = 0; i < n_inputs; i++) {
        if (i) sb_add(&b, ", ");
        sb_str(&b, inputs[i]);
    }
    sb_add(&b, "]\n\n[output]\ndir = ");
    sb_str(&b, out_dir);
    sb_add(&b, "\ncompression = \"zst\"\n");
    sb_stage(&b, "filter", "url");
    for (const smol_filter_step *s = steps; s->name; s++) {
        sb_stage(&b, "filter", s->name);
        int lang = strcmp(s->name, "language") == 0;
        sb_options(&b, s->options, lang && lid_model ? "model" : NULL, lid_model);
    }
    sb_stage(&b, "dedup_minhash", NULL);
    sb_stage(&b, "formatter", "pii");
    if (b.oom) {
        free(b.s);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    *text = b.s;
    return SMOL_OK;
}
