/* Inverted dropout. Each call draws one 64-bit seed from the context's generator; the mask is a
 * pure function of (seed, element ordinal) (dropout_hash.h), so the backward re-runs the same
 * kernel on the gradient with the saved seed instead of storing a mask. */
#include "dropout_hash.h"
#include "internal.h"

#include <string.h>

_Static_assert(sizeof(((mt_node *)0)->iparams) >= sizeof(uint64_t),
               "the dropout seed is kept in a node's iparams");

static mt_tensor *run_dropout(mt_ctx *ctx, const mt_tensor *a, float rate, uint64_t seed) {
    if (!a) return mt_null_arg("dropout", "input");
    mt_tensor *out = mt_tensor_alloc_for("dropout", ctx, mt_tensor_backend(a), a->ndim, a->shape);
    if (!out) return NULL;
    mt_kernel_args args = {.op = MT_OP_DROPOUT, .out = out, .src = {a, NULL, NULL}, .nsrc = 1};
    args.params.rate = rate;
    args.params.seed = seed;
    return mt_run_kernel(mt_tensor_backend(out), &args) == MT_OK ? out : NULL;
}

/* d x = g * keep / (1 - rate): the forward's own mask and scale. */
static mt_status dropout_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    uint64_t seed;
    memcpy(&seed, n->iparams, sizeof seed);
    grads[0] = run_dropout(ctx, g, n->fparams[0], seed);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function DROPOUT_FN = {"dropout", dropout_backward};

mt_tensor *mt_dropout(mt_ctx *ctx, mt_tensor *a, float rate, bool training) {
    return mt_dropout_at(ctx, a, rate, training, 0);
}

mt_tensor *mt_dropout_at(mt_ctx *ctx, mt_tensor *a, float rate, bool training, uint64_t first) {
    if (!a) return mt_null_arg("dropout", "input");
    /* written so that a NaN rate fails too */
    if (!(rate >= 0.0f && rate <= 1.0f))
        return mt_fail_null(MT_ERR_ARG, "dropout: rate must be in [0, 1], got %g", (double)rate);
    if (!training || rate == 0.0f) return a;
    if (!ctx) return mt_null_arg("dropout", "ctx");
    uint64_t seed = mt_dropout_seed_at(mt_rng_next(mt_ctx_rng(ctx)), first);
    mt_tensor *out = run_dropout(ctx, a, rate, seed);
    mt_node *node = NULL;
    if (!out || !mt_record(ctx, out, &DROPOUT_FN, &a, 1, &node)) return NULL;
    if (node) {
        memcpy(node->iparams, &seed, sizeof seed);
        node->fparams[0] = rate;
    }
    return out;
}

mt_status mt_dropout_init(mt_dropout_layer *layer, const mt_params *model, float rate) {
    if (!layer) return mt_null_status("mt_dropout_init", "layer");
    if (!model) return mt_null_status("mt_dropout_init", "model");
    if (!(rate >= 0.0f && rate <= 1.0f))
        return mt_fail(MT_ERR_ARG, "mt_dropout_init: rate must be in [0, 1], got %g", (double)rate);
    *layer = (mt_dropout_layer){.rate = rate, .model = model};
    return MT_OK;
}

mt_tensor *mt_dropout_forward(mt_ctx *ctx, const mt_dropout_layer *layer, mt_tensor *x) {
    if (!x) return mt_null_arg("mt_dropout_forward", "x");
    if (!layer || !layer->model)
        return mt_null_arg("mt_dropout_forward", "layer (or its model)");
    return mt_dropout(ctx, x, layer->rate, mt_params_is_training(layer->model));
}
