/* Losses, composed from differentiable ops so their gradients come from autodiff and run on every
 * backend without loss-specific kernels. Both return a mean over the batch, shape (1,). */
#include "internal.h"

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
