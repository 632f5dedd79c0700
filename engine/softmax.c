/* softmax and logsoftmax along a dim. The forward kernels shift by the row maximum; the backward
 * formulas use the saved output only, so they never see the large raw inputs:
 *   softmax:    d x = s * (g - sum(g * s, dim))
 *   logsoftmax: d x = g - exp(out) * sum(g, dim) */
#include "internal.h"

static mt_tensor *sub(mt_ctx *ctx, const mt_tensor *a, const mt_tensor *b) {
    return mt_apply_zip(ctx, MT_OP_ADD, a, mt_apply_map(ctx, MT_OP_NEG, b));
}

static mt_status softmax_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    const mt_tensor *s = n->saved[0];
    const int dim = n->iparams[0];
    mt_tensor *dot = mt_apply_reduce(ctx, MT_OP_SUM, mt_apply_zip(ctx, MT_OP_MUL, g, s), dim);
    grads[0] = mt_apply_zip(ctx, MT_OP_MUL, s, sub(ctx, g, dot));
    return grads[0] ? MT_OK : mt_last_status();
}

static mt_status logsoftmax_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g,
                                     mt_tensor **grads) {
    mt_tensor *probs = mt_apply_map(ctx, MT_OP_EXP, n->saved[0]);
    mt_tensor *total = mt_apply_reduce(ctx, MT_OP_SUM, g, n->iparams[0]);
    grads[0] = sub(ctx, g, mt_apply_zip(ctx, MT_OP_MUL, probs, total));
    return grads[0] ? MT_OK : mt_last_status();
}

static const mt_function SOFTMAX_FN = {"softmax", softmax_backward};
static const mt_function LOGSOFTMAX_FN = {"logsoftmax", logsoftmax_backward};

static mt_tensor *softmax_like(mt_ctx *ctx, mt_op op, const mt_function *fn, mt_tensor *a,
                               int dim) {
    if (!a) return mt_null_arg(mt_op_name(op), "input");
    if (mt_check_dim_for(mt_op_name(op), a, &dim) != MT_OK) return NULL;
    mt_tensor *out = mt_apply_along_dim(ctx, op, a, dim);
    mt_node *node = NULL;
    if (!out || !mt_record(ctx, out, fn, &a, 1, &node)) return NULL;
    if (node) {
        node->iparams[0] = dim;
        if (!(node->saved[0] = mt_detach(ctx, out))) return NULL;
    }
    return out;
}

mt_tensor *mt_softmax(mt_ctx *ctx, mt_tensor *a, int dim) {
    return softmax_like(ctx, MT_OP_SOFTMAX, &SOFTMAX_FN, a, dim);
}

mt_tensor *mt_logsoftmax(mt_ctx *ctx, mt_tensor *a, int dim) {
    return softmax_like(ctx, MT_OP_LOGSOFTMAX, &LOGSOFTMAX_FN, a, dim);
}
