/* Differentiable functions: each public op runs its forward kernel and records how to compute its
 * inputs' gradients (MiniTorch's tensor_functions.py). Gradients may come back in a broadcast
 * shape; autodiff.c sums them back to each input's shape (MiniTorch's `expand`). */
#include "internal.h"

#include <string.h>


static mt_tensor *record1(mt_ctx *ctx, mt_tensor *out, const mt_function *fn, mt_tensor *a) {
    if (!out) return NULL;
    return mt_record(ctx, out, fn, &a, 1, NULL);
}

static mt_tensor *record2(mt_ctx *ctx, mt_tensor *out, const mt_function *fn, mt_tensor *a,
                          mt_tensor *b) {
    if (!out) return NULL;
    mt_tensor *inputs[2] = {a, b};
    return mt_record(ctx, out, fn, inputs, 2, NULL);
}

/* ------------------------------------------------------------------ maps */
static mt_status neg_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    (void)n;
    grads[0] = mt_apply_map(ctx, MT_OP_NEG, g);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function NEG_FN = {"neg", neg_backward};
mt_tensor *mt_neg(mt_ctx *ctx, mt_tensor *a) {
    return record1(ctx, mt_apply_map(ctx, MT_OP_NEG, a), &NEG_FN, a);
}

/* inv, relu, log and sigmoid share one shape: d input = back_op(input, g). */
static mt_status back_zip_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads,
                                   mt_op back_op) {
    grads[0] = mt_apply_zip(ctx, back_op, n->inputs[0], g);
    return grads[0] ? MT_OK : mt_last_status();
}
#define BACK_ZIP_FUNCTION(name, FWD_OP, BACK_OP)                                                 \
    static mt_status name##_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g,                \
                                     mt_tensor **grads) {                                        \
        return back_zip_backward(ctx, n, g, grads, BACK_OP);                                     \
    }                                                                                            \
    static const mt_function name##_FN = {#name, name##_backward};                               \
    mt_tensor *mt_##name(mt_ctx *ctx, mt_tensor *a) {                                            \
        return record1(ctx, mt_apply_map(ctx, FWD_OP, a), &name##_FN, a);                       \
    }
BACK_ZIP_FUNCTION(inv, MT_OP_INV, MT_OP_INV_BACK)
BACK_ZIP_FUNCTION(relu, MT_OP_RELU, MT_OP_RELU_BACK)
BACK_ZIP_FUNCTION(log, MT_OP_LOG, MT_OP_LOG_BACK)
BACK_ZIP_FUNCTION(sigmoid, MT_OP_SIGMOID, MT_OP_SIGMOID_BACK)

/* exp saves its output: d input = g * exp(input). */
static mt_status exp_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    grads[0] = mt_apply_zip(ctx, MT_OP_MUL, n->saved[0], g);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function EXP_FN = {"exp", exp_backward};
mt_tensor *mt_exp(mt_ctx *ctx, mt_tensor *a) {
    mt_tensor *out = mt_apply_map(ctx, MT_OP_EXP, a);
    mt_node *node = NULL;
    if (!out || !mt_record(ctx, out, &EXP_FN, &a, 1, &node)) return NULL;
    if (node) node->saved[0] = mt_detach(ctx, out);
    return out;
}

/* ------------------------------------------------------------------ zips */
static mt_status add_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    (void)ctx;
    (void)n;
    grads[0] = g;
    grads[1] = g;
    return MT_OK;
}
static const mt_function ADD_FN = {"add", add_backward};
mt_tensor *mt_add(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return record2(ctx, mt_apply_zip(ctx, MT_OP_ADD, a, b), &ADD_FN, a, b);
}

static mt_status mul_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    if (n->inputs[0]->requires_grad)
        if (!(grads[0] = mt_apply_zip(ctx, MT_OP_MUL, n->inputs[1], g))) return mt_last_status();
    if (n->inputs[1]->requires_grad)
        if (!(grads[1] = mt_apply_zip(ctx, MT_OP_MUL, n->inputs[0], g))) return mt_last_status();
    return MT_OK;
}
static const mt_function MUL_FN = {"mul", mul_backward};
mt_tensor *mt_mul(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return record2(ctx, mt_apply_zip(ctx, MT_OP_MUL, a, b), &MUL_FN, a, b);
}

/* Composite ops check their own arguments so that a NULL is reported under their name. */
mt_tensor *mt_sub(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    if (!a || !b) return mt_null_arg("sub", a ? "second input" : "first input");
    return mt_add(ctx, a, mt_neg(ctx, b));
}
mt_tensor *mt_div(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    if (!a || !b) return mt_null_arg("div", a ? "second input" : "first input");
    return mt_mul(ctx, a, mt_inv(ctx, b));
}
mt_tensor *mt_add_scalar(mt_ctx *ctx, mt_tensor *a, float s) {
    if (!a) return mt_null_arg("add_scalar", "input");
    return mt_add(ctx, a, mt_scalar_on(ctx, mt_tensor_backend(a), s));
}
mt_tensor *mt_mul_scalar(mt_ctx *ctx, mt_tensor *a, float s) {
    if (!a) return mt_null_arg("mul_scalar", "input");
    return mt_mul(ctx, a, mt_scalar_on(ctx, mt_tensor_backend(a), s));
}

/* Comparisons are piecewise constant: their gradient is zero, so they record no history. */
mt_tensor *mt_lt(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return mt_apply_zip(ctx, MT_OP_LT, a, b);
}
mt_tensor *mt_gt(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return mt_apply_zip(ctx, MT_OP_LT, b, a);
}
mt_tensor *mt_eq(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return mt_apply_zip(ctx, MT_OP_EQ, a, b);
}
mt_tensor *mt_is_close(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return mt_apply_zip(ctx, MT_OP_IS_CLOSE, a, b);
}

/* ------------------------------------------------------------------ reductions */
/* d input = g broadcast back along the reduced dim; autodiff's un-broadcast does the expanding. */
static mt_status sum_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    (void)ctx;
    (void)n;
    grads[0] = g;
    return MT_OK;
}
static const mt_function SUM_FN = {"sum", sum_backward};
mt_tensor *mt_sum(mt_ctx *ctx, mt_tensor *a, int dim) {
    return record1(ctx, mt_apply_reduce(ctx, MT_OP_SUM, a, dim), &SUM_FN, a);
}

mt_tensor *mt_sum_all(mt_ctx *ctx, mt_tensor *a) {
    if (!a) return mt_null_arg("sum_all", "input");
    /* MiniTorch: contiguous().view(size).sum(0) */
    mt_tensor *flat = mt_view(ctx, mt_is_contiguous(a) ? a : mt_contiguous(ctx, a), 1,
                              (const int64_t[]){mt_numel(a)});
    return mt_sum(ctx, flat, 0);
}

mt_tensor *mt_mean(mt_ctx *ctx, mt_tensor *a, int dim) {
    if (!a) return mt_null_arg("mean", "input");
    if (mt_check_dim_for("mean", a, &dim) != MT_OK) return NULL;
    return mt_mul_scalar(ctx, mt_sum(ctx, a, dim), 1.0f / (float)a->shape[dim]);
}

mt_tensor *mt_mean_all(mt_ctx *ctx, mt_tensor *a) {
    if (!a) return mt_null_arg("mean_all", "input");
    return mt_mul_scalar(ctx, mt_sum_all(ctx, a), 1.0f / (float)mt_numel(a));
}

/* prod has no gradient (as MiniTorch's All). Its output still records where it came from, so a
 * backward through it says that, not that no input had requires_grad set. */
static mt_status prod_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    (void)ctx, (void)n, (void)g, (void)grads;
    return mt_fail(MT_ERR_UNSUPPORTED, "backward: prod has no gradient (as MiniTorch's All); "
                                       "compute the loss without it, or under mt_no_grad");
}
static const mt_function PROD_FN = {"prod", prod_backward};

mt_tensor *mt_prod(mt_ctx *ctx, mt_tensor *a, int dim) {
    return mt_record(ctx, mt_apply_reduce(ctx, MT_OP_PROD, a, dim), &PROD_FN, &a, 1, NULL);
}

/* ------------------------------------------------------------------ views */
static mt_status permute_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    int inverse[MT_MAX_DIMS];
    for (int d = 0; d < g->ndim; d++) inverse[n->iparams[d]] = d;
    grads[0] = mt_permute(ctx, g, inverse);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function PERMUTE_FN = {"permute", permute_backward};

mt_tensor *mt_permute(mt_ctx *ctx, mt_tensor *a, const int *order) {
    if (!a) return mt_null_arg("permute", "input");
    if (!order) return mt_null_arg("permute", "order");
    bool seen[MT_MAX_DIMS] = {false};
    for (int d = 0; d < a->ndim; d++) {
        if (order[d] < 0 || order[d] >= a->ndim || seen[order[d]]) {
            char s[MT_SHAPE_STR_LEN];
            return mt_fail_null(MT_ERR_ARG,
                                "permute: order must be a permutation of 0..%d for shape %s; "
                                "entry %d is %d",
                                a->ndim - 1, mt_shape_str(a->ndim, a->shape, s, sizeof s), d,
                                order[d]);
        }
        seen[order[d]] = true;
    }
    mt_tensor *out = mt_tensor_alias(ctx, a);
    if (!out) return NULL;
    for (int d = 0; d < a->ndim; d++) {
        out->shape[d] = a->shape[order[d]];
        out->strides[d] = a->strides[order[d]];
    }
    mt_node *node = NULL;
    if (!mt_record(ctx, out, &PERMUTE_FN, &a, 1, &node)) return NULL;
    if (node) memcpy(node->iparams, order, sizeof(int) * (size_t)a->ndim);
    return out;
}

mt_tensor *mt_transpose(mt_ctx *ctx, mt_tensor *a) {
    if (!a) return mt_null_arg("transpose", "input");
    if (a->ndim < 2) return mt_fail_null(MT_ERR_SHAPE, "transpose needs at least 2 dims");
    int order[MT_MAX_DIMS];
    for (int d = 0; d < a->ndim; d++) order[d] = d;
    order[a->ndim - 2] = a->ndim - 1;
    order[a->ndim - 1] = a->ndim - 2;
    return mt_permute(ctx, a, order);
}

static mt_status view_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    const mt_tensor *in = n->inputs[0];
    mt_tensor *gc = mt_is_contiguous(g) ? g : mt_contiguous(ctx, g);
    grads[0] = mt_view(ctx, gc, in->ndim, in->shape);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function VIEW_FN = {"view", view_backward};

mt_tensor *mt_view(mt_ctx *ctx, mt_tensor *a, int ndim, const int64_t *shape) {
    if (!a) return mt_null_arg("view", "input");
    if (!shape) return mt_null_arg("view", "shape");
    char sa[MT_SHAPE_STR_LEN], sb[MT_SHAPE_STR_LEN];
    if (ndim < 1 || ndim > MT_MAX_DIMS)
        return mt_fail_null(MT_ERR_SHAPE, "view: need 1 to %d dims, got %d", MT_MAX_DIMS, ndim);
    if (!mt_is_contiguous(a))
        return mt_fail_null(MT_ERR_ARG,
                            "view: tensor of shape %s is not contiguous; call mt_contiguous() "
                            "first",
                            mt_shape_str(a->ndim, a->shape, sa, sizeof sa));
    /* a wrapped product could equal the element count: ((1 << 62) + 1, 4) "has" 4 */
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1)
            return mt_fail_null(MT_ERR_SHAPE, "view: cannot view shape %s as %s: sizes must be >= 1",
                                mt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                                mt_shape_str(ndim, shape, sb, sizeof sb));
        if (__builtin_mul_overflow(n, shape[d], &n))
            return mt_fail_null(MT_ERR_SHAPE,
                                "view: cannot view shape %s as %s: that shape has more than "
                                "%lld elements",
                                mt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                                mt_shape_str(ndim, shape, sb, sizeof sb), (long long)INT64_MAX);
    }
    if (n != mt_numel(a))
        return mt_fail_null(MT_ERR_SHAPE, "view: cannot view shape %s (%lld elements) as %s",
                            mt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                            (long long)mt_numel(a), mt_shape_str(ndim, shape, sb, sizeof sb));
    mt_tensor *out = mt_tensor_alias(ctx, a);
    if (!out) return NULL;
    out->ndim = ndim;
    memcpy(out->shape, shape, sizeof(int64_t) * (size_t)ndim);
    mt_strides_for_shape(ndim, shape, out->strides);
    return record1(ctx, out, &VIEW_FN, a);
}

static mt_status copy_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    (void)ctx;
    (void)n;
    grads[0] = g;
    return MT_OK;
}
static const mt_function COPY_FN = {"contiguous", copy_backward};
mt_tensor *mt_contiguous(mt_ctx *ctx, mt_tensor *a) {
    return record1(ctx, mt_apply_map(ctx, MT_OP_ID, a), &COPY_FN, a);
}

/* ------------------------------------------------------------------ matmul */
static mt_status matmul_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    mt_tensor *a = n->inputs[0], *b = n->inputs[1];
    bool was = mt_set_grad_enabled(false);
    if (a->requires_grad) grads[0] = mt_apply_matmul(ctx, g, mt_transpose(ctx, b));
    if (b->requires_grad) grads[1] = mt_apply_matmul(ctx, mt_transpose(ctx, a), g);
    mt_set_grad_enabled(was);
    if ((a->requires_grad && !grads[0]) || (b->requires_grad && !grads[1])) return mt_last_status();
    return MT_OK;
}
static const mt_function MATMUL_FN = {"matmul", matmul_backward};
mt_tensor *mt_matmul(mt_ctx *ctx, mt_tensor *a, mt_tensor *b) {
    return record2(ctx, mt_apply_matmul(ctx, a, b), &MATMUL_FN, a, b);
}
