/* generate.h: text generation over a smol_ctx (the smol_generate* functions of include/smol.h)
 * and its stop-string filter: generated text passes through the filter, which holds back any
 * tail that could still become a stop string and cuts the text before a completed one. */
#ifndef SMOL_GEN_GENERATE_H
#define SMOL_GEN_GENERATE_H
#include "smol.h"

typedef struct smol_stop_filter {
    const char *const *stops;   /* not owned */
    int n_stops;
    char *held;                 /* text not yet emitted */
    size_t n_held, cap;
    int stopped;                /* 1 once a stop string was seen */
} smol_stop_filter;

/* Sets up f for n_stops stop strings (empty ones are ignored); stops must outlive f. */
void smol_stop_init(smol_stop_filter *f, const char *const *stops, int n_stops);

/* Frees the held text. */
void smol_stop_free(smol_stop_filter *f);

/* Adds text and passes on (through emit, with index) what can no longer start a stop string;
 * at a completed stop string emits the text before it, sets f->stopped and drops the rest.
 * Returns 0, the nonzero value emit returned, or SMOL_ENOMEM. */
int smol_stop_push(smol_stop_filter *f, const char *text, size_t len, smol_text_fn emit, void *user, int index);

/* Emits all held text (at the end of generation, when no stop string completed). */
int smol_stop_flush(smol_stop_filter *f, smol_text_fn emit, void *user, int index);

#endif
