/* transformer.c: the Llama-family forward pass (RMSNorm, RoPE, GQA attention over per-sequence
 * KV caches, SwiGLU FFN) and the inference context of include/smol.h. One forward call runs a
 * batch of rows (token, sequence, position): a prompt chunk of one sequence, or one token of
 * each of several sequences. Matrix products run over the thread pool, split by weight rows
 * (q, k, v as one job, gate and up as another); attention (attention.h) by KV head and block
 * of rows. */
#include "model/transformer.h"
#include "base/error.h"
#include "base/pool.h"
#include "model/attention.h"
#include "model/dtype.h"
#include "model/matmul.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOGIT_ROWS 16   /* rows of logits computed per output pass (bounds the scratch) */
#define SMALL_WORK 262144.0  /* multiply-adds below which a job runs without the thread pool */

/* ---------------------------------------------------------------- pieces */

void smol_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

/* cs[2 (i - i0)], cs[2 (i - i0) + 1] = cos, sin of the angle of RoPE pair i at pos, i0 <= i < i1. */
static void rope_table(float *cs, int i0, int i1, int pos, const float *inv_freq) {
    for (int i = i0; i < i1; i++) {
        float theta = (float)pos * inv_freq[i];
        cs[2 * (i - i0)] = (float)cos(theta);
        cs[2 * (i - i0) + 1] = (float)sin(theta);
    }
}

/* Rotates pairs i0 <= i < i1 of every head of x by the angles of rope_table's cs. */
static void rope_apply(float *x, int n_head, int head_dim, int i0, int i1, const float *cs, int neox) {
    int half = head_dim / 2;
    for (int i = i0; i < i1; i++) {
        float c = cs[2 * (i - i0)], s = cs[2 * (i - i0) + 1];
        for (int h = 0; h < n_head; h++) {
            float *p = x + (size_t)h * head_dim;
            int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            float x0 = p[a], x1 = p[b];
            p[a] = x0 * c - x1 * s;
            p[b] = x0 * s + x1 * c;
        }
    }
}

void smol_rope(float *x, int n_head, int head_dim, int pos, const float *inv_freq, int neox) {
    float cs[64];  /* 32 pairs at a time */
    for (int i0 = 0; i0 < head_dim / 2; i0 += 32) {
        int i1 = i0 + 32 < head_dim / 2 ? i0 + 32 : head_dim / 2;
        rope_table(cs, i0, i1, pos, inv_freq);
        rope_apply(x, n_head, head_dim, i0, i1, cs, neox);
    }
}

void smol_swiglu(float *out, const float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* ---------------------------------------------------------------- matrix products */

/* out[i][r] += bias[r] for n rows of `rows` outputs. */
static void add_bias(float *out, const float *bias, int64_t rows, int n) {
    for (int i = 0; i < n; i++)
        for (int64_t r = 0; r < rows; r++) out[(size_t)i * rows + r] += bias[r];
}

/* out[i][r] = W[r] . x[i] for n rows of x (out rows are w->rows long); bias (if not NULL) added.
 * A kernel failure (not expected: the loader checks types and shapes) is kept in *rc. */
static void matmul_rc(int *rc, smol_pool *pool, void *scratch, const smol_weight *w, const float *x, int n, float *out,
                      const float *bias) {
    /* small products run on the caller's thread: handing them to the pool costs more */
    int small = (double)w->rows * (double)w->cols * n < SMALL_WORK;
    int r = smol_matmul(small ? NULL : pool, w->data, w->type, w->rows, w->cols, x, n, out, scratch);
    if (r && !*rc) *rc = r;
    if (bias) add_bias(out, bias, w->rows, n);
}

/* Products of n_parts weights with the same n rows of x in one dispatch (matmul.h), outputs
 * and biases (NULL or one per part, each possibly NULL) as matmul_rc's; with after, aligned
 * mode. Small jobs run on the caller's thread. */
static void matmul_multi_rc(int *rc, smol_pool *pool, void *scratch, const smol_weight *const *w, float *const *out,
                            const float *const *bias, int n_parts, const float *x, int n, smol_matmul_rows_fn after,
                            void *after_ctx) {
    smol_matmul_part parts[SMOL_MATMUL_MAX_PARTS];
    double work = 0;
    for (int p = 0; p < n_parts; p++) {
        parts[p] = (smol_matmul_part){w[p]->data, w[p]->type, w[p]->rows, out[p]};
        work += (double)w[p]->rows * (double)w[p]->cols * n;
    }
    int r = smol_matmul_multi(work < SMALL_WORK ? NULL : pool, parts, n_parts, w[0]->cols, x, n, after, after_ctx, scratch);
    if (r && !*rc) *rc = r;
    for (int p = 0; p < n_parts && bias; p++)
        if (bias[p]) add_bias(out[p], bias[p], w[p]->rows, n);
}

/* ---------------------------------------------------------------- context */

struct smol_ctx {
    const smol_model *m;
    smol_ctx_params p;
    smol_pool *pool;
    smol_kvcache *kv;              /* [n_seq] */
    float *logits;                 /* [n_seq][n_vocab]: the last logits of each sequence */
    int *has_logits;               /* [n_seq] */
    int max_rows;                  /* rows per forward */
    float *x, *xn, *q, *k, *v, *att, *gate, *up;   /* [max_rows][...] */
    float *rope_cs;                /* [max_rows][head_dim]: each row's RoPE cos, sin (rope_table) */
    float *logit_tmp;              /* [LOGIT_ROWS][n_vocab] */
    smol_attn_work *attn;          /* attention scratch (attention.h) */
    int32_t *hist;                 /* [n_seq][n_ctx]: the tokens each sequence holds */
    void *mm_scratch;              /* activations converted for the matrix kernels */
    int mm_rc;                     /* the first matrix-kernel failure of a forward pass */
};

/* One batch: row i is token tok[i] of sequence seq[i] at position pos[i]. */
typedef struct fwd_batch {
    int n;
    const int32_t *tok;
    const int *seq, *pos;
    float *const *logits_out;      /* [n]: where row i's logits go, or NULL for none */
} fwd_batch;

/* The attention block of layer il: x += Wo . attention(rope(Wq xn), rope(Wk xn), Wv xn). */
static void attention_block(smol_ctx *c, const fwd_batch *b, int il) {
    const smol_model_info *h = &c->m->info;
    const smol_layer *L = &c->m->layers[il];
    int n = b->n, nq = h->n_head * h->head_dim, nkv = h->n_head_kv * h->head_dim;
    for (int i = 0; i < n; i++) smol_rmsnorm(c->xn + (size_t)i * h->n_embd, c->x + (size_t)i * h->n_embd, L->attn_norm, h->n_embd, h->norm_eps);
    const smol_weight *w[3] = {&L->wq, &L->wk, &L->wv};
    float *const out[3] = {c->q, c->k, c->v};
    const float *const bias[3] = {L->bq, L->bk, L->bv};
    matmul_multi_rc(&c->mm_rc, c->pool, c->mm_scratch, w, out, bias, 3, c->xn, n, NULL, NULL);
    for (int i = 0; i < n; i++) {
        const float *cs = c->rope_cs + (size_t)i * h->head_dim;
        rope_apply(c->q + (size_t)i * nq, h->n_head, h->head_dim, 0, h->head_dim / 2, cs, h->rope_neox);
        rope_apply(c->k + (size_t)i * nkv, h->n_head_kv, h->head_dim, 0, h->head_dim / 2, cs, h->rope_neox);
        smol_kvcache_store(&c->kv[b->seq[i]], il, b->pos[i], c->k + (size_t)i * nkv, c->v + (size_t)i * nkv);
    }
    smol_attn_batch ab = {n, c->kv, b->seq, b->pos, il, h->n_head, c->q};
    smol_attention(c->attn, c->pool, &ab, c->att);
    matmul_rc(&c->mm_rc, c->pool, c->mm_scratch, &L->wo, c->att, n, c->xn, NULL);
    for (size_t i = 0; i < (size_t)n * h->n_embd; i++) c->x[i] += c->xn[i];
}

/* SwiGLU of rows [r0, r1) of the gate and up outputs, for every row of the batch. */
typedef struct {
    float *gate;
    const float *up;
    int64_t n_ff;
    int n;
} swiglu_rows;

static void swiglu_after(void *ctx, int64_t r0, int64_t r1) {
    const swiglu_rows *s = ctx;
    for (int i = 0; i < s->n; i++) {
        size_t at = (size_t)i * s->n_ff + r0;
        smol_swiglu(s->gate + at, s->gate + at, s->up + at, (int)(r1 - r0));
    }
}

/* The FFN block of layer il: x += W_down . (silu(W_gate xn) * W_up xn). Gate and up run in one
 * dispatch, each thread applying SwiGLU to the rows it computed. */
static void ffn_block(smol_ctx *c, int n, int il) {
    const smol_model_info *h = &c->m->info;
    const smol_layer *L = &c->m->layers[il];
    for (int i = 0; i < n; i++) smol_rmsnorm(c->xn + (size_t)i * h->n_embd, c->x + (size_t)i * h->n_embd, L->ffn_norm, h->n_embd, h->norm_eps);
    const smol_weight *w[2] = {&L->w_gate, &L->w_up};
    float *const out[2] = {c->gate, c->up};
    swiglu_rows s = {c->gate, c->up, h->n_ff, n};
    matmul_multi_rc(&c->mm_rc, c->pool, c->mm_scratch, w, out, NULL, 2, c->xn, n, swiglu_after, &s);
    matmul_rc(&c->mm_rc, c->pool, c->mm_scratch, &L->w_down, c->gate, n, c->xn, NULL);
    for (size_t i = 0; i < (size_t)n * h->n_embd; i++) c->x[i] += c->xn[i];
}

/* Final norm and output layer for the rows that want logits, LOGIT_ROWS at a time. */
static void output_block(smol_ctx *c, const fwd_batch *b) {
    const smol_model_info *h = &c->m->info;
    int idx[LOGIT_ROWS], k = 0;
    for (int i = 0; i <= b->n; i++) {
        if (i < b->n && b->logits_out[i]) {
            smol_rmsnorm(c->xn + (size_t)k * h->n_embd, c->x + (size_t)i * h->n_embd, c->m->output_norm, h->n_embd, h->norm_eps);
            idx[k++] = i;
        }
        if (k == LOGIT_ROWS || (i == b->n && k)) {
            int direct = 1;  /* the rows' destinations follow each other: no copy through logit_tmp */
            for (int r = 1; r < k; r++) direct &= b->logits_out[idx[r]] == b->logits_out[idx[0]] + (size_t)r * h->n_vocab;
            float *out = direct ? b->logits_out[idx[0]] : c->logit_tmp;
            matmul_rc(&c->mm_rc, c->pool, c->mm_scratch, &c->m->output, c->xn, k, out, NULL);
            for (int r = 0; r < k && !direct; r++)
                memcpy(b->logits_out[idx[r]], c->logit_tmp + (size_t)r * h->n_vocab, (size_t)h->n_vocab * sizeof(float));
            k = 0;
        }
    }
}

/* Runs the batch through the model; KV caches must have room for every position. */
static int forward(smol_ctx *c, const fwd_batch *b, smol_error *err) {
    const smol_model_info *h = &c->m->info;
    for (int i = 0; i < b->n; i++) {
        if (b->tok[i] < 0 || b->tok[i] >= h->n_vocab)
            return smol_fail(err, SMOL_EINVAL, "token id %d is outside the vocabulary [0, %d)", b->tok[i], h->n_vocab);
        if (smol_weight_row_f32(&c->m->tok_embd, b->tok[i], c->x + (size_t)i * h->n_embd))
            return smol_fail(err, SMOL_EUNSUPPORTED, "token embeddings of type %s cannot be read",
                             smol_dtype_name(c->m->tok_embd.type));
    }
    for (int i = 0; i < b->n; i++)  /* the angles of a row's position, for every layer */
        rope_table(c->rope_cs + (size_t)i * h->head_dim, 0, h->head_dim / 2, b->pos[i], c->m->rope_inv_freq);
    c->mm_rc = SMOL_OK;
    for (int il = 0; il < h->n_layer; il++) {
        attention_block(c, b, il);
        ffn_block(c, b->n, il);
    }
    output_block(c, b);
    if (c->mm_rc) return smol_fail(err, c->mm_rc, "a matrix product failed (%s)", smol_status_name(c->mm_rc));
    return SMOL_OK;
}

/* ---------------------------------------------------------------- public API */

smol_ctx_params smol_ctx_default_params(void) {
    smol_ctx_params p = {.n_ctx = 0, .n_seq = 1, .n_threads = 0, .n_batch = 256, .kv_type = SMOL_F16};
    return p;
}

/* The matrix-kernel scratch for B rows of the largest input of any weight, rounded to 64. */
static size_t scratch_size(const smol_model *m, int B) {
    size_t need = smol_matmul_scratch_size(m->output.type, m->output.cols, B);
    for (int il = 0; il < m->info.n_layer; il++) {
        const smol_layer *l = &m->layers[il];
        const smol_weight *all[7] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (int i = 0; i < 7; i++) {
            size_t s = smol_matmul_scratch_size(all[i]->type, all[i]->cols, B);
            if (s > need) need = s;
        }
        smol_matmul_part qkv[3], ffn[2];  /* the fused products convert x once per dot type */
        for (int i = 0; i < 3; i++) qkv[i] = (smol_matmul_part){NULL, all[i]->type, all[i]->rows, NULL};
        for (int i = 0; i < 2; i++) ffn[i] = (smol_matmul_part){NULL, all[4 + i]->type, all[4 + i]->rows, NULL};
        size_t s = smol_matmul_multi_scratch_size(qkv, 3, l->wq.cols, B);
        if (s > need) need = s;
        s = smol_matmul_multi_scratch_size(ffn, 2, l->w_gate.cols, B);
        if (s > need) need = s;
    }
    return (need + 63) / 64 * 64 + 64;
}

static int ctx_alloc(smol_ctx *c, smol_error *err) {
    const smol_model_info *h = &c->m->info;
    size_t R = (size_t)c->max_rows, nq = (size_t)h->n_head * h->head_dim, nkv = (size_t)h->n_head_kv * h->head_dim;
    c->x = malloc(R * h->n_embd * sizeof(float));
    c->xn = malloc((R > LOGIT_ROWS ? R : LOGIT_ROWS) * h->n_embd * sizeof(float));
    c->q = malloc(R * nq * sizeof(float));
    c->att = malloc(R * nq * sizeof(float));
    c->k = malloc(R * nkv * sizeof(float));
    c->v = malloc(R * nkv * sizeof(float));
    c->gate = malloc(R * h->n_ff * sizeof(float));
    c->up = malloc(R * h->n_ff * sizeof(float));
    c->rope_cs = malloc(R * h->head_dim * sizeof(float));
    c->logit_tmp = malloc((size_t)LOGIT_ROWS * h->n_vocab * sizeof(float));
    c->logits = calloc((size_t)c->p.n_seq * h->n_vocab, sizeof(float));
    c->has_logits = calloc((size_t)c->p.n_seq, sizeof(int));
    c->kv = calloc((size_t)c->p.n_seq, sizeof *c->kv);
    c->hist = malloc((size_t)c->p.n_seq * c->p.n_ctx * sizeof *c->hist);
    c->mm_scratch = aligned_alloc(64, scratch_size(c->m, R > LOGIT_ROWS ? R : LOGIT_ROWS));
    if (!c->mm_scratch || !c->hist || !c->x || !c->xn || !c->q || !c->att || !c->k || !c->v || !c->gate || !c->up || !c->rope_cs || !c->logit_tmp ||
        !c->logits || !c->has_logits || !c->kv)
        return smol_fail(err, SMOL_ENOMEM, "out of memory for the inference context");
    for (int s = 0; s < c->p.n_seq; s++) {
        int rc = smol_kvcache_init(&c->kv[s], c->p.kv_type, h->n_layer, h->n_head_kv, h->head_dim, c->p.n_ctx, err);
        if (rc) return rc;
    }
    return smol_attn_work_new(smol_pool_size(c->pool), c->max_rows, h->n_head, h->n_head_kv, h->head_dim, &c->attn, err);
}

int smol_ctx_new(const smol_model *m, const smol_ctx_params *params, smol_ctx **out, smol_error *err) {
    *out = NULL;
    smol_ctx_params p = params ? *params : smol_ctx_default_params();
    const smol_model_info *h = &m->info;
    if (p.n_ctx == 0) p.n_ctx = h->n_ctx_train;
    if (p.n_ctx < 0 || p.n_ctx > h->n_ctx_train)
        return smol_fail(err, SMOL_ERANGE, "context of %d positions requested; the model supports 1 to %d", p.n_ctx,
                         h->n_ctx_train);
    if (p.n_seq <= 0 || p.n_seq > 4096) return smol_fail(err, SMOL_EINVAL, "n_seq must be 1..4096, got %d", p.n_seq);
    if (p.n_batch <= 0) p.n_batch = 256;
    if (p.n_threads <= 0) p.n_threads = smol_physical_cores();
    if (p.kv_type != SMOL_F16 && p.kv_type != SMOL_F32)
        return smol_fail(err, SMOL_EINVAL, "KV cache type must be 0 (f32) or 1 (f16), got %u", p.kv_type);
    smol_ctx *c = calloc(1, sizeof *c);
    if (!c) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    c->m = m;
    c->p = p;
    c->max_rows = p.n_batch > p.n_seq ? p.n_batch : p.n_seq;
    c->pool = smol_pool_new(p.n_threads);
    int rc = c->pool ? ctx_alloc(c, err) : smol_fail(err, SMOL_ENOMEM, "cannot start %d threads", p.n_threads);
    if (rc) {
        smol_ctx_free(c);
        return rc;
    }
    *out = c;
    return SMOL_OK;
}

void smol_ctx_free(smol_ctx *c) {
    if (!c) return;
    if (c->kv)
        for (int s = 0; s < c->p.n_seq; s++) smol_kvcache_free(&c->kv[s]);
    free(c->kv);
    free(c->x), free(c->xn), free(c->q), free(c->k), free(c->v), free(c->att), free(c->gate), free(c->up), free(c->rope_cs);
    smol_attn_work_free(c->attn);
    free(c->logit_tmp), free(c->logits), free(c->has_logits), free(c->mm_scratch), free(c->hist);
    smol_pool_free(c->pool);
    free(c);
}

int smol_ctx_n_ctx(const smol_ctx *c) { return c->p.n_ctx; }

int smol_ctx_n_seq(const smol_ctx *c) { return c->p.n_seq; }

const smol_model *smol_ctx_model(const smol_ctx *c) { return c->m; }

static int check_seq(const smol_ctx *c, int seq, smol_error *err) {
    if (seq < 0 || seq >= c->p.n_seq)
        return smol_fail(err, SMOL_EINVAL, "sequence %d does not exist (the context has %d)", seq, c->p.n_seq);
    return SMOL_OK;
}

int smol_eval(smol_ctx *c, int seq, const int32_t *tokens, int n, float *all_logits, smol_error *err) {
    int rc = check_seq(c, seq, err);
    if (rc) return rc;
    if (n <= 0) return smol_fail(err, SMOL_EINVAL, "nothing to evaluate (%d tokens)", n);
    smol_kvcache *kv = &c->kv[seq];
    if (n > c->p.n_ctx - kv->len)
        return smol_fail(err, SMOL_ERANGE, "%d tokens at position %d pass the context limit of %d positions", n,
                         kv->len, c->p.n_ctx);
    if ((rc = smol_kvcache_reserve(kv, kv->len + n, err))) return rc;
    int n_vocab = c->m->info.n_vocab;
    int *sq = malloc((size_t)c->p.n_batch * 2 * sizeof(int));
    float **outs = calloc((size_t)c->p.n_batch, sizeof *outs);
    if (!sq || !outs) {
        free(sq), free(outs);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    c->has_logits[seq] = 0;
    for (int start = 0; start < n && !rc; start += c->p.n_batch) {
        int cnt = n - start < c->p.n_batch ? n - start : c->p.n_batch;
        for (int i = 0; i < cnt; i++) {
            sq[i] = seq;
            sq[c->p.n_batch + i] = kv->len + i;
            outs[i] = all_logits ? all_logits + (size_t)(start + i) * n_vocab : NULL;
        }
        if (start + cnt == n && !all_logits) outs[cnt - 1] = c->logits + (size_t)seq * n_vocab;
        fwd_batch b = {cnt, tokens + start, sq, sq + c->p.n_batch, outs};
        rc = forward(c, &b, err);
        if (!rc) memcpy(c->hist + (size_t)seq * c->p.n_ctx + kv->len, tokens + start, (size_t)cnt * sizeof(int32_t));
        if (!rc) kv->len += cnt;
    }
    if (!rc && all_logits) memcpy(c->logits + (size_t)seq * n_vocab, all_logits + (size_t)(n - 1) * n_vocab, (size_t)n_vocab * sizeof(float));
    if (!rc) c->has_logits[seq] = 1;
    free(sq), free(outs);
    return rc;
}

int smol_eval_multi(smol_ctx *c, int n, const int *seqs, const int32_t *tokens, smol_error *err) {
    if (n <= 0 || n > c->max_rows) return smol_fail(err, SMOL_EINVAL, "batch of %d sequences (1..%d allowed)", n, c->max_rows);
    int rc = SMOL_OK, n_vocab = c->m->info.n_vocab;
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = check_seq(c, seqs[i], err))) return rc;
        for (int j = 0; j < i; j++)
            if (seqs[j] == seqs[i]) return smol_fail(err, SMOL_EINVAL, "sequence %d appears twice in one batch", seqs[i]);
        rc = smol_kvcache_reserve(&c->kv[seqs[i]], c->kv[seqs[i]].len + 1, err);
    }
    if (rc) return rc;
    int *pos = malloc((size_t)n * sizeof(int));
    float **outs = malloc((size_t)n * sizeof *outs);
    if (!pos || !outs) {
        free(pos), free(outs);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        pos[i] = c->kv[seqs[i]].len;
        outs[i] = c->logits + (size_t)seqs[i] * n_vocab;
        c->has_logits[seqs[i]] = 0;
    }
    fwd_batch b = {n, tokens, seqs, pos, outs};
    rc = forward(c, &b, err);
    for (int i = 0; i < n && !rc; i++) {
        c->hist[(size_t)seqs[i] * c->p.n_ctx + c->kv[seqs[i]].len] = tokens[i];
        c->kv[seqs[i]].len++;
        c->has_logits[seqs[i]] = 1;
    }
    free(pos), free(outs);
    return rc;
}

const float *smol_get_logits(const smol_ctx *c, int seq) {
    if (seq < 0 || seq >= c->p.n_seq || !c->has_logits[seq]) return NULL;
    return c->logits + (size_t)seq * c->m->info.n_vocab;
}

int smol_seq_tokens(const smol_ctx *c, int seq, const int32_t **tokens) {
    if (seq < 0 || seq >= c->p.n_seq) return 0;
    *tokens = c->hist + (size_t)seq * c->p.n_ctx;
    return c->kv[seq].len;
}

int smol_seq_len(const smol_ctx *c, int seq) { return seq >= 0 && seq < c->p.n_seq ? c->kv[seq].len : 0; }

void smol_seq_truncate(smol_ctx *c, int seq, int n) {
    if (seq < 0 || seq >= c->p.n_seq || n < 0 || n >= c->kv[seq].len) return;
    c->kv[seq].len = n;
    c->has_logits[seq] = 0;
}
