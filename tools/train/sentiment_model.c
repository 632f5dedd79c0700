#include "sentiment_model.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

static const int WIDTHS[3] = {3, 4, 5};

mt_status sentiment_model_init(sentiment_model *m, mt_ctx *ctx, int dims, int filters,
                               bool minitorch_init, mt_rng *rng) {
    memset(m, 0, sizeof *m);
    m->dims = dims;
    m->filters = filters;
    m->dropout = 0.25f;
    static const char *const names[3] = {"conv3", "conv4", "conv5"};
    mt_status s;
    for (int k = 0; k < 3; k++)
        if ((s = mt_conv1d_init(&m->conv[k], ctx, &m->params, names[k], dims, filters, WIDTHS[k],
                                rng)) != MT_OK)
            return s;
    if ((s = mt_linear_init(&m->fc, ctx, &m->params, "fc", filters, 1, rng)) != MT_OK) return s;
    if (!minitorch_init) return MT_OK;
    mt_rng local;
    if (!rng) mt_rng_seed(rng = &local, 0);
    /* MiniTorch's RParam: 0.1 * (U[0,1) - 0.5) for every weight and bias */
    for (int i = 0; i < m->params.count; i++) {
        mt_tensor *p = m->params.items[i];
        int64_t n = mt_numel(p);
        float *vals = malloc((size_t)n * sizeof *vals);
        if (!vals) return MT_ERR_OOM;
        for (int64_t k = 0; k < n; k++) vals[k] = (float)(0.1 * (mt_rng_uniform(rng) - 0.5));
        s = mt_copy_from_host(p, vals);
        free(vals);
        if (s != MT_OK) return s;
    }
    return MT_OK;
}

void sentiment_model_free(sentiment_model *m) {
    mt_params_free(&m->params);
    tr_buf_free(&m->host);
}

mt_tensor *sentiment_model_forward(mt_ctx *ctx, const sentiment_model *m, mt_tensor *x,
                                   bool training) {
    return sentiment_model_forward_at(ctx, m, x, training, 0);
}

mt_tensor *sentiment_model_forward_at(mt_ctx *ctx, const sentiment_model *m, mt_tensor *x,
                                      bool training, int64_t first) {
    if (!x) return NULL;
    int64_t b = x->shape[0];
    mt_tensor *sum = NULL; /* (B,F,1) */
    for (int k = 0; k < 3; k++) {
        mt_tensor *c = mt_relu(ctx, mt_conv1d_forward(ctx, &m->conv[k], x)); /* (B,F,L) */
        mt_tensor *mx = mt_max(ctx, c, 2);                                   /* (B,F,1) */
        sum = sum ? mt_add(ctx, sum, mx) : mx;
    }
    mt_tensor *h = mt_view(ctx, sum, MT_SHAPE(b, m->filters));        /* (B,F) */
    mt_tensor *logit = mt_linear_forward(ctx, &m->fc, h);              /* (B,1) */
    mt_tensor *d = mt_dropout_at(ctx, logit, m->dropout, training, (uint64_t)first); /* (B,1) */
    mt_tensor *p = mt_sigmoid(ctx, d);                                 /* (B,1) */
    return mt_view(ctx, p, MT_SHAPE(b));                               /* (B,) */
}

void sst2_vectors_free(sst2_vectors *v) {
    if (v->vec)
        for (int i = 0; i < v->n; i++) free(v->vec[i]);
    free(v->vec);
    memset(v, 0, sizeof *v);
}

bool sst2_embed(const sst2_set *set, int limit, const glove *g, sst2_vectors *out, char *err,
                size_t errlen) {
    memset(out, 0, sizeof *out);
    int n = limit > 0 && limit < set->n ? limit : set->n;
    out->dims = g->dims;
    out->vec = calloc((size_t)n, sizeof *out->vec);
    if (!out->vec) return tr_err(err, errlen, "out of memory embedding %d sentences", n);
    out->n = n;
    for (int i = 0; i < n; i++) {
        const sst2_example *ex = &set->items[i];
        out->vec[i] = malloc(((size_t)ex->ntokens * g->dims + 1) * sizeof(float));
        if (!out->vec[i]) {
            sst2_vectors_free(out);
            return tr_err(err, errlen, "out of memory embedding sentence %d", i);
        }
        for (int t = 0; t < ex->ntokens; t++) {
            out->tokens++;
            out->unknown += !glove_vector(g, ex->tokens[t], out->vec[i] + (size_t)t * g->dims);
        }
    }
    return true;
}

void sst2_pack(const sst2_set *set, const sst2_vectors *v, const int *idx, int b, int len,
               float *x, float *y) {
    int d = v->dims;
    memset(x, 0, (size_t)b * d * len * sizeof *x);
    for (int i = 0; i < b; i++) {
        const sst2_example *ex = &set->items[idx[i]];
        const float *src = v->vec[idx[i]]; /* (ntokens, D) */
        float *dst = x + (size_t)i * d * len; /* (D, L): the layout conv1d reads */
        int nt = ex->ntokens < len ? ex->ntokens : len;
        for (int t = 0; t < nt; t++)
            for (int k = 0; k < d; k++) dst[(size_t)k * len + t] = src[(size_t)t * d + k];
        y[i] = (float)ex->label;
    }
}

int sst2_batch_len(const sst2_set *set, const int *idx, int b) {
    int len = 1;
    for (int i = 0; i < b; i++)
        if (set->items[idx[i]].ntokens > len) len = set->items[idx[i]].ntokens;
    return len;
}

mt_status sentiment_train_step(sentiment_model *m, mt_optim *opt, mt_ctx *scratch,
                               const sst2_set *set, const sst2_vectors *v, const int *idx, int b,
                               int len, const tr_shard *sh, float *loss, int *correct) {
    mt_ctx_reset(scratch);
    mt_status s = mt_params_zero_grad(&m->params);
    if (s != MT_OK) return s;
    if (len <= 0) len = sst2_batch_len(set, idx, b);
    size_t nx = (size_t)b * v->dims * len;
    float *xh = tr_buf_get(&m->host, (nx + 2 * (size_t)b) * sizeof(float));
    if (!xh) return MT_ERR_OOM;
    float *yh = xh + nx, *ph = yh + b;
    sst2_pack(set, v, idx, b, len, xh, yh);
    mt_tensor *x = mt_from_array(scratch, MT_SHAPE(b, v->dims, len), xh); /* (B,D,L) */
    mt_tensor *y = mt_from_array(scratch, MT_SHAPE(b), yh);               /* (B,) */
    mt_tensor *p = sentiment_model_forward_at(scratch, m, x, true, sh ? sh->first : 0); /* (B,) */
    mt_tensor *l = mt_bce_loss(scratch, p, y);                            /* (1,) */
    if (!l) return tr_backward_step(scratch, l, opt, sh, loss, correct);
    /* the predictions first: a data-parallel step sums the counts with the gradients */
    if ((s = mt_to_host(p, ph)) != MT_OK) return s;
    *correct = 0;
    for (int i = 0; i < b; i++) *correct += (ph[i] > 0.5f) == (yh[i] == 1.0f);
    return tr_backward_step(scratch, l, opt, sh, loss, correct);
}

int64_t sentiment_evaluate(sentiment_model *m, mt_ctx *scratch, const sst2_set *set,
                           const sst2_vectors *v, int n, int len, int chunk, int64_t *confusion) {
    int *idx = malloc((size_t)chunk * sizeof *idx);
    if (!idx) return -1;
    int64_t correct = 0;
    bool was = mt_set_grad_enabled(false);
    for (int at = 0; at < n; at += chunk) {
        int b = n - at < chunk ? n - at : chunk;
        for (int i = 0; i < b; i++) idx[i] = at + i;
        int l = len > 0 ? len : sst2_batch_len(set, idx, b);
        mt_ctx_reset(scratch);
        size_t nx = (size_t)b * v->dims * l;
        float *xh = tr_buf_get(&m->host, (nx + 2 * (size_t)b) * sizeof(float));
        if (!xh) {
            correct = -1;
            break;
        }
        float *yh = xh + nx, *ph = yh + b;
        sst2_pack(set, v, idx, b, l, xh, yh);
        mt_tensor *x = mt_from_array(scratch, MT_SHAPE(b, v->dims, l), xh); /* (b,D,L) */
        mt_tensor *p = sentiment_model_forward(scratch, m, x, false);       /* (b,) */
        if (!p || mt_to_host(p, ph) != MT_OK) {
            correct = -1;
            break;
        }
        for (int i = 0; i < b; i++) {
            int pred = ph[i] > 0.5f, truth = yh[i] == 1.0f;
            correct += pred == truth;
            if (confusion) confusion[truth * 2 + pred]++;
        }
    }
    mt_set_grad_enabled(was);
    mt_ctx_reset(scratch);
    free(idx);
    return correct;
}
