/* max along a dim and its arg-max mask. max's gradient goes to the first maximum only
 * (argmax(x) * g): the popular student solution expands g to every element along the dim, which
 * makes max behave like a sum in backward. */
#include "internal.h"

static mt_status max_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    mt_tensor *mask = mt_apply_along_dim(ctx, MT_OP_ARGMAX, n->inputs[0], n->iparams[0]);
    /* g has size 1 along dim and broadcasts over the mask */
    grads[0] = mt_apply_zip(ctx, MT_OP_MUL, mask, g);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function MAX_FN = {"max", max_backward};

mt_tensor *mt_max(mt_ctx *ctx, mt_tensor *a, int dim) {
    if (!a) return mt_null_arg("max", "input");
    if (mt_check_dim_for("max", a, &dim) != MT_OK) return NULL;
    mt_tensor *out = mt_apply_reduce(ctx, MT_OP_MAX, a, dim);
    mt_node *node = NULL;
    if (!out || !mt_record(ctx, out, &MAX_FN, &a, 1, &node)) return NULL;
    if (node) node->iparams[0] = dim;
    return out;
}

/* A 0/1 mask: piecewise constant, so it records no history. */
mt_tensor *mt_argmax(mt_ctx *ctx, mt_tensor *a, int dim) {
    return mt_apply_along_dim(ctx, MT_OP_ARGMAX, a, dim);
}
