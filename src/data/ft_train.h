/* ft_train.h: supervised training and product quantization of fastText-compatible models.
 * The public entry points are smol_ft_train and smol_ft_quantize (include/smol.h); this header
 * names the pieces the tests and the command reuse. */
#ifndef SMOL_DATA_FT_TRAIN_H
#define SMOL_DATA_FT_TRAIN_H
#include "data/fasttext.h"

/* The loss id (FT_LOSS_*) of a name ("softmax", "hs", "ova", "ns"), or -1. */
int ft_loss_id(const char *name);

/* Trains a product quantizer pq (already sized by ft_pq_init) on n rows of x (pq->dim floats
 * each) and writes n * pq->nsubq codes. SMOL_EINVAL if n < 256 rows. */
int ft_pq_fit(ft_pq *pq, const float *x, int64_t n, uint8_t *codes, uint64_t seed, smol_error *err);

#endif
