/* Losses, composed from differentiable ops so their gradients come from autodiff and run on every
 * backend without loss-specific kernels. Both return a mean over the batch, shape (1,). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* Probabilities are kept this far from 0 and 1 so that log() stays finite (PyTorch's BCELoss clamps
 * the log at -100 instead; the effect on a saturated prediction is the same: a large, finite
 * loss). hi rounds to 1 - 2^-23 in float32. */
#define BCE_LO 1e-7f
#define BCE_HI (1.0f - 1e-7f)

mt_tensor *mt_nll_loss(mt_ctx *ctx, mt_tensor *logprobs, mt_tensor *targets) {
    if (!logprobs) return mt_null_arg("mt_nll_loss", "logprobs");
    if (!targets) return mt_null_arg("mt_nll_loss", "targets");
    if (!ctx) return mt_null_arg("mt_nll_loss", "ctx");
    if (logprobs->ndim != 2 || !mt_same_shape(logprobs, targets)) {
        char sl[MT_SHAPE_STR_LEN], st[MT_SHAPE_STR_LEN];
        return mt_fail_null(MT_ERR_SHAPE,
                            "mt_nll_loss: expected logprobs (B, C) and one-hot targets of the same "
                            "shape, got logprobs %s and targets %s",
                            mt_shape_str(logprobs->ndim, logprobs->shape, sl, sizeof sl),
                            mt_shape_str(targets->ndim, targets->shape, st, sizeof st));
    }
    /* -(1/B) sum_b sum_c logp[b,c] y[b,c]: the one-hot mask picks each row's target log-prob */
    float scale = -1.0f / (float)logprobs->shape[0];
    return mt_mul_scalar(ctx, mt_sum_all(ctx, mt_mul(ctx, logprobs, targets)), scale);
}

/* clamp(p, lo, hi) = p + relu(lo - p) - relu(p - hi). Inside [lo, hi] both relus are 0 and the
 * gradient is exactly 1; outside, the two terms cancel p and the gradient is 0, as torch.clamp. */
static mt_tensor *clamp(mt_ctx *ctx, mt_tensor *p, float lo, float hi) {
    mt_tensor *below = mt_relu(ctx, mt_add_scalar(ctx, mt_neg(ctx, p), lo));
    mt_tensor *above = mt_relu(ctx, mt_add_scalar(ctx, p, -hi));
    return mt_sub(ctx, mt_add(ctx, p, below), above);
}

mt_tensor *mt_bce_loss(mt_ctx *ctx, mt_tensor *probs, mt_tensor *targets) {
    if (!probs) return mt_null_arg("mt_bce_loss", "probs");
    if (!targets) return mt_null_arg("mt_bce_loss", "targets");
    if (!ctx) return mt_null_arg("mt_bce_loss", "ctx");
    if (probs->ndim != 1 || !mt_same_shape(probs, targets)) {
        char sp[MT_SHAPE_STR_LEN], st[MT_SHAPE_STR_LEN];
        bool column = probs->ndim == 2 && probs->shape[1] == 1; /* a linear(H, 1) output */
        return mt_fail_null(MT_ERR_SHAPE,
                            "mt_bce_loss: expected probs (B,) and targets (B,), got probs %s and "
                            "targets %s%s",
                            mt_shape_str(probs->ndim, probs->shape, sp, sizeof sp),
                            mt_shape_str(targets->ndim, targets->shape, st, sizeof st),
                            column ? " (view the (B, 1) output as (B,) first)" : "");
    }
    mt_tensor *p = clamp(ctx, probs, BCE_LO, BCE_HI);
    mt_tensor *one_minus_p = mt_add_scalar(ctx, mt_neg(ctx, p), 1.0f);
    mt_tensor *one_minus_y = mt_add_scalar(ctx, mt_neg(ctx, targets), 1.0f);
    /* y log p + (1 - y) log(1 - p), summed, then -(1/B) */
    mt_tensor *ll = mt_add(ctx, mt_mul(ctx, targets, mt_log(ctx, p)),
                           mt_mul(ctx, one_minus_y, mt_log(ctx, one_minus_p)));
    return mt_mul_scalar(ctx, mt_sum_all(ctx, ll), -1.0f / (float)probs->shape[0]);
}

/* ------------------------------------------------------------------ losses from class labels */
/* Labels travel as float32 class ids, exact up to 2^24, and so does the arange of C classes. */
#define LABEL_MAX_CLASSES (INT64_C(1) << 24)

/* logprobs (B,C) with B, C >= 1 and C exact in float32. */
static mt_status check_scores(const char *name, const char *what, const mt_tensor *scores) {
    char s[MT_SHAPE_STR_LEN];
    if (scores->ndim != 2)
        return mt_fail(MT_ERR_SHAPE, "%s: expected %s (B, C), got %s", name, what,
                       mt_shape_str(scores->ndim, scores->shape, s, sizeof s));
    if (scores->shape[1] > LABEL_MAX_CLASSES)
        return mt_fail(MT_ERR_SHAPE,
                       "%s: %lld classes; class ids travel as float32, exact up to %lld classes",
                       name, (long long)scores->shape[1], (long long)LABEL_MAX_CLASSES);
    return mt_check_live(name, scores);
}

/* (B,C) 0/1: row b is 1 where c == labels[b]. labels (B,) and arange (C,) on one backend; eq
 * broadcasts labels viewed as (B,1) against arange, so only B + C floats ever cross to a device. */
static mt_tensor *one_hot(mt_ctx *ctx, const mt_tensor *labels, const mt_tensor *arange) {
    mt_tensor column = *labels; /* (B,1): a header on the stack, read by the kernel only */
    column.ndim = 2;
    column.shape[1] = 1;
    column.strides[1] = 0;
    return mt_apply_zip(ctx, MT_OP_EQ, &column, arange);
}

/* A (n,) tensor on backend b in ctx holding the floats at host. */
static mt_tensor *upload(const char *name, mt_ctx *ctx, const mt_backend *b, int64_t n,
                         const float *host) {
    mt_tensor *t = mt_tensor_alloc_for(name, ctx, b, 1, (const int64_t[]){n});
    if (!t || mt_copy_from_host(t, host) != MT_OK) return NULL;
    return t;
}

/* Host labels: checked here, then labels and 0..C-1 uploaded together as one (B + C,) tensor. */
static mt_tensor *one_hot_from_host(const char *name, mt_ctx *ctx, const mt_tensor *scores,
                                    const int64_t *labels) {
    const int64_t B = scores->shape[0], C = scores->shape[1];
    for (int64_t b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= C)
            return mt_fail_null(MT_ERR_ARG,
                                "%s: labels[%lld] = %lld is not a class of the %lld in the "
                                "scores (expected 0..%lld)",
                                name, (long long)b, (long long)labels[b], (long long)C,
                                (long long)(C - 1));
    float *host = malloc((size_t)(B + C) * sizeof *host);
    if (!host) return mt_fail_null(MT_ERR_OOM, "%s: out of host memory for %lld labels", name,
                                   (long long)B);
    for (int64_t b = 0; b < B; b++) host[b] = (float)labels[b];
    for (int64_t c = 0; c < C; c++) host[B + c] = (float)c;
    mt_tensor *both = upload(name, ctx, mt_tensor_backend(scores), B + C, host);
    free(host);
    if (!both) return NULL;
    mt_tensor lab = *both, classes = *both;
    lab.shape[0] = B;
    classes.shape[0] = C;
    classes.offset = B;
    return one_hot(ctx, &lab, &classes);
}

/* A labels tensor: checked on its own backend. A valid row of the one-hot holds exactly one 1, so
 * the whole sums to B (exact in float32); only that one float is read back, and the labels
 * themselves only to name the first bad one. */
static mt_tensor *one_hot_from_tensor(const char *name, mt_ctx *ctx, const mt_tensor *scores,
                                      const mt_tensor *labels) {
    const int64_t B = scores->shape[0], C = scores->shape[1];
    char sl[MT_SHAPE_STR_LEN], ss[MT_SHAPE_STR_LEN];
    if (mt_check_live(name, labels) != MT_OK ||
        mt_check_same_backend(name, scores, labels) != MT_OK)
        return NULL;
    if (labels->ndim != 1 || labels->shape[0] != B)
        return mt_fail_null(MT_ERR_SHAPE, "%s: expected labels (%lld,) for scores %s, got %s",
                            name, (long long)B, mt_shape_str(2, scores->shape, ss, sizeof ss),
                            mt_shape_str(labels->ndim, labels->shape, sl, sizeof sl));
    if (B > LABEL_MAX_CLASSES) /* the check below counts hits in float32 */
        return mt_fail_null(MT_ERR_SHAPE, "%s: %lld labels; a labels tensor holds at most %lld",
                            name, (long long)B, (long long)LABEL_MAX_CLASSES);
    float *classes = malloc((size_t)C * sizeof *classes);
    if (!classes) return mt_fail_null(MT_ERR_OOM, "%s: out of host memory for %lld classes", name,
                                      (long long)C);
    for (int64_t c = 0; c < C; c++) classes[c] = (float)c;
    mt_tensor *arange = upload(name, ctx, mt_tensor_backend(scores), C, classes);
    free(classes);
    mt_tensor *hot = arange ? one_hot(ctx, labels, arange) : NULL;
    float hits = 0.0f;
    if (!hot || mt_item(mt_apply_reduce(ctx, MT_OP_SUM, mt_apply_reduce(ctx, MT_OP_SUM, hot, 1), 0),
                        &hits) != MT_OK)
        return NULL;
    if (hits == (float)B) return hot;
    float *host = malloc((size_t)B * sizeof *host);
    if (!host || mt_to_host(labels, host) != MT_OK) {
        free(host);
        return mt_fail_null(MT_ERR_ARG, "%s: a label is not a class id in 0..%lld", name,
                            (long long)(C - 1));
    }
    int64_t bad = 0;
    while (bad < B && host[bad] >= 0.0f && host[bad] < (float)C && host[bad] == floorf(host[bad]))
        bad++;
    double value = bad < B ? host[bad] : NAN;
    free(host);
    return mt_fail_null(MT_ERR_ARG, "%s: labels[%lld] = %g is not a class id in 0..%lld", name,
                        (long long)bad, value, (long long)(C - 1));
}

/* -(1/B) sum_b logprobs[b, labels[b]]: mt_nll_loss of the one-hot; autodiff gives the gradient. */
static mt_tensor *nll_labels(const char *name, mt_ctx *ctx, mt_tensor *logprobs,
                             const int64_t *host_labels, const mt_tensor *labels) {
    mt_tensor *hot = host_labels ? one_hot_from_host(name, ctx, logprobs, host_labels)
                                 : one_hot_from_tensor(name, ctx, logprobs, labels);
    return hot ? mt_nll_loss(ctx, logprobs, hot) : NULL;
}

/* The argument checks every entry shares; `log_softmax` first turns logits into log-probs. */
static mt_tensor *label_loss(const char *name, mt_ctx *ctx, mt_tensor *scores, bool log_softmax,
                             const int64_t *host_labels, const mt_tensor *labels) {
    const char *what = log_softmax ? "logits" : "logprobs";
    if (!scores) return mt_null_arg(name, what);
    if (!host_labels && !labels) return mt_null_arg(name, "labels");
    if (!ctx) return mt_null_arg(name, "ctx");
    if (check_scores(name, what, scores) != MT_OK) return NULL;
    mt_tensor *logprobs = log_softmax ? mt_logsoftmax(ctx, scores, 1) : scores;
    return logprobs ? nll_labels(name, ctx, logprobs, host_labels, labels) : NULL;
}

mt_tensor *mt_nll_loss_labels(mt_ctx *ctx, mt_tensor *logprobs, const int64_t *labels) {
    return label_loss("mt_nll_loss_labels", ctx, logprobs, false, labels, NULL);
}
mt_tensor *mt_nll_loss_labels_tensor(mt_ctx *ctx, mt_tensor *logprobs, const mt_tensor *labels) {
    return label_loss("mt_nll_loss_labels_tensor", ctx, logprobs, false, NULL, labels);
}
mt_tensor *mt_cross_entropy(mt_ctx *ctx, mt_tensor *logits, const int64_t *labels) {
    return label_loss("mt_cross_entropy", ctx, logits, true, labels, NULL);
}
mt_tensor *mt_cross_entropy_tensor(mt_ctx *ctx, mt_tensor *logits, const mt_tensor *labels) {
    return label_loss("mt_cross_entropy_tensor", ctx, logits, true, NULL, labels);
}
