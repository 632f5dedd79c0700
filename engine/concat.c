/* cat and stack: one output allocated once, each input copied by the id kernel into the strided
 * view of the output that it fills, so every backend runs them with the kernels it already has.
 * The node keeps every input (any number); the backward hands each input the same view of the
 * output's gradient, so no gradient is copied. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* Turns `part` (a header copy of the joined tensor) into the slice that input k fills: for cat,
 * [start, start + len) along dim; for stack, index start along dim, that dim dropped. */
static void narrow(mt_tensor *part, int dim, int64_t start, int64_t len, bool drop) {
    part->offset += start * part->strides[dim];
    if (!drop) {
        part->shape[dim] = len;
        return;
    }
    for (int d = dim; d + 1 < part->ndim; d++) {
        part->shape[d] = part->shape[d + 1];
        part->strides[d] = part->strides[d + 1];
    }
    part->ndim--;
}

static mt_status join_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads);
static const mt_function CAT_FN = {"cat", join_backward};
static const mt_function STACK_FN = {"stack", join_backward};

static mt_status join_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    const bool stack = n->fn == &STACK_FN;
    const int dim = n->iparams[0];
    int64_t start = 0;
    for (int k = 0; k < n->ninputs; k++) {
        const mt_tensor *in = n->inputs[k];
        int64_t len = stack ? 1 : in->shape[dim];
        if (in->requires_grad) {
            if (!(grads[k] = mt_tensor_alias(ctx, g))) return mt_last_status();
            narrow(grads[k], dim, stack ? k : start, len, stack);
        }
        start += len;
    }
    return MT_OK;
}

/* Every input present, live, on one backend and of one shape (cat: but for dim); fills the
 * output's shape. dim is already wrapped into the output's range. */
static mt_status check_inputs(const char *name, mt_tensor *const *xs, int count, int dim,
                              bool stack, int64_t *shape) {
    const mt_tensor *first = xs[0];
    char s0[MT_SHAPE_STR_LEN], sk[MT_SHAPE_STR_LEN];
    for (int k = 0; k < count; k++) {
        const mt_tensor *x = xs[k];
        MT_TRY(mt_check_live(name, x));
        MT_TRY(mt_check_same_backend(name, first, x));
        bool same = x->ndim == first->ndim;
        for (int d = 0; same && d < x->ndim; d++)
            same = x->shape[d] == first->shape[d] || (!stack && d == dim);
        if (!same && stack)
            return mt_fail(MT_ERR_SHAPE,
                           "%s: tensors[%d] has shape %s but tensors[0] has %s; stacked tensors "
                           "must have one shape",
                           name, k, mt_shape_str(x->ndim, x->shape, sk, sizeof sk),
                           mt_shape_str(first->ndim, first->shape, s0, sizeof s0));
        if (!same)
            return mt_fail(MT_ERR_SHAPE,
                           "%s: tensors[%d] has shape %s but tensors[0] has %s; they may differ "
                           "only in dim %d",
                           name, k, mt_shape_str(x->ndim, x->shape, sk, sizeof sk),
                           mt_shape_str(first->ndim, first->shape, s0, sizeof s0), dim);
    }
    int out_ndim = first->ndim + (stack ? 1 : 0);
    for (int d = 0, src = 0; d < out_ndim; d++)
        shape[d] = (stack && d == dim) ? count : first->shape[src++];
    if (stack) return MT_OK;
    int64_t total = 0;
    for (int k = 0; k < count; k++)
        if (__builtin_add_overflow(total, xs[k]->shape[dim], &total))
            return mt_fail(MT_ERR_SHAPE, "%s: the sizes along dim %d add up to more than %lld",
                           name, dim, (long long)INT64_MAX);
    shape[dim] = total;
    return MT_OK;
}

static mt_tensor *join(const char *name, const mt_function *fn, mt_ctx *ctx,
                       mt_tensor *const *xs, int count, int dim) {
    const bool stack = fn == &STACK_FN;
    if (!xs) return mt_null_arg(name, "tensors");
    if (count < 1)
        return mt_fail_null(MT_ERR_ARG, "%s: needs at least one tensor, got count %d", name, count);
    for (int k = 0; k < count; k++)
        if (!xs[k]) {
            char what[40];
            snprintf(what, sizeof what, "tensors[%d]", k);
            return mt_null_arg(name, what);
        }
    if (!ctx) return mt_null_arg(name, "ctx");
    const mt_tensor *first = xs[0];
    if (mt_check_live(name, first) != MT_OK) return NULL;
    const int out_ndim = first->ndim + (stack ? 1 : 0);
    if (out_ndim > MT_MAX_DIMS)
        return mt_fail_null(MT_ERR_SHAPE, "%s: stacking %d-dim tensors needs %d dims; at most %d",
                            name, first->ndim, out_ndim, MT_MAX_DIMS);
    int d = dim < 0 ? dim + out_ndim : dim;
    if (d < 0 || d >= out_ndim) {
        char s[MT_SHAPE_STR_LEN];
        return mt_fail_null(MT_ERR_ARG, "%s: dim %d is out of range for %s tensors of shape %s "
                                        "(expected %d..%d)",
                            name, dim, stack ? "stacking" : "joining",
                            mt_shape_str(first->ndim, first->shape, s, sizeof s), -out_ndim,
                            out_ndim - 1);
    }
    int64_t shape[MT_MAX_DIMS];
    if (check_inputs(name, xs, count, d, stack, shape) != MT_OK) return NULL;
    mt_tensor *out = mt_tensor_alloc_for(name, ctx, mt_tensor_backend(first), out_ndim, shape);
    if (!out) return NULL;
    int64_t start = 0;
    for (int k = 0; k < count; k++) {
        int64_t len = stack ? 1 : xs[k]->shape[d];
        mt_tensor part = *out; /* a header on the stack: the kernel only writes through it */
        narrow(&part, d, stack ? k : start, len, stack);
        if (mt_apply_map_into(&part, MT_OP_ID, xs[k]) != MT_OK) return NULL;
        start += len;
    }
    mt_node *node = NULL;
    if (!mt_record(ctx, out, fn, xs, count, &node)) return NULL;
    if (node) node->iparams[0] = d;
    return out;
}

mt_tensor *mt_cat(mt_ctx *ctx, mt_tensor *const *tensors, int count, int dim) {
    return join("cat", &CAT_FN, ctx, tensors, count, dim);
}

mt_tensor *mt_stack(mt_ctx *ctx, mt_tensor *const *tensors, int count, int dim) {
    return join("stack", &STACK_FN, ctx, tensors, count, dim);
}
