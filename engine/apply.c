/* Kernel dispatch without autodiff: validate shapes and backends, allocate the output, run the
 * backend's kernel. Forward and backward formulas both build on these. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static mt_status run(mt_op op, mt_tensor *out, const mt_tensor *a, const mt_tensor *b, int dim) {
    mt_kernel_args args = {.op = op, .out = out, .src = {a, b, NULL}, .nsrc = b ? 2 : 1};
    args.params.dim = dim;
    return mt_run_kernel(mt_tensor_backend(out), &args);
}

static mt_status check_into(const char *what, mt_tensor *out, const mt_tensor *a,
                            const mt_tensor *b) {
    if (!out) return mt_null_status(what, "output tensor");
    if (!a) return mt_null_status(what, "input tensor");
    MT_TRY(mt_check_same_backend(what, out, a));
    if (b) MT_TRY(mt_check_same_backend(what, out, b));
    mt_tensor view;
    MT_TRY(mt_broadcast_view(a, out->ndim, out->shape, &view));
    if (b) MT_TRY(mt_broadcast_view(b, out->ndim, out->shape, &view));
    return MT_OK;
}

mt_status mt_apply_map_into(mt_tensor *out, mt_op op, const mt_tensor *a) {
    MT_TRY(check_into(mt_op_name(op), out, a, NULL));
    return run(op, out, a, NULL, 0);
}

mt_status mt_apply_zip_into(mt_tensor *out, mt_op op, const mt_tensor *a, const mt_tensor *b) {
    if (!b) return mt_null_status(mt_op_name(op), "second input tensor");
    MT_TRY(check_into(mt_op_name(op), out, a, b));
    return run(op, out, a, b, 0);
}

mt_tensor *mt_apply_map(mt_ctx *ctx, mt_op op, const mt_tensor *a) {
    if (!a) return mt_null_arg(mt_op_name(op), "input tensor");
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name(op), ctx, mt_tensor_backend(a), a->ndim,
                                         a->shape);
    if (!out || run(op, out, a, NULL, 0) != MT_OK) return NULL;
    return out;
}

mt_tensor *mt_apply_zip(mt_ctx *ctx, mt_op op, const mt_tensor *a, const mt_tensor *b) {
    if (!a) return mt_null_arg(mt_op_name(op), "first input tensor");
    if (!b) return mt_null_arg(mt_op_name(op), "second input tensor");
    if (mt_check_same_backend(mt_op_name(op), a, b) != MT_OK) return NULL;
    int n;
    int64_t shape[MT_MAX_DIMS];
    if (mt_shape_broadcast(a->ndim, a->shape, b->ndim, b->shape, &n, shape) != MT_OK) {
        /* prefix the op so the user knows which call failed */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mt_last_error());
        return mt_fail_null(MT_ERR_SHAPE, "%s: %s", mt_op_name(op), msg);
    }
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name(op), ctx, mt_tensor_backend(a), n, shape);
    if (!out || run(op, out, a, b, 0) != MT_OK) return NULL;
    return out;
}

mt_tensor *mt_apply_reduce(mt_ctx *ctx, mt_op op, const mt_tensor *a, int dim) {
    if (!a) return mt_null_arg(mt_op_name(op), "input tensor");
    if (mt_check_dim_for(mt_op_name(op), a, &dim) != MT_OK) return NULL;
    int64_t shape[MT_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[dim] = 1;
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name(op), ctx, mt_tensor_backend(a), a->ndim,
                                         shape);
    if (!out || run(op, out, a, NULL, dim) != MT_OK) return NULL;
    return out;
}

mt_status mt_check_dim_for(const char *opname, const mt_tensor *t, int *dim) {
    int d = *dim < 0 ? *dim + t->ndim : *dim;
    if (d < 0 || d >= t->ndim) {
        char s[MT_SHAPE_STR_LEN];
        return mt_fail(MT_ERR_ARG, "%s: dim %d is out of range for shape %s (expected %d..%d)",
                       opname, *dim, mt_shape_str(t->ndim, t->shape, s, sizeof s), -t->ndim,
                       t->ndim - 1);
    }
    *dim = d;
    return MT_OK;
}

mt_tensor *mt_apply_along_dim(mt_ctx *ctx, mt_op op, const mt_tensor *a, int dim) {
    if (!a) return mt_null_arg(mt_op_name(op), "input tensor");
    if (mt_check_dim_for(mt_op_name(op), a, &dim) != MT_OK) return NULL;
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name(op), ctx, mt_tensor_backend(a), a->ndim,
                                         a->shape);
    if (!out || run(op, out, a, NULL, dim) != MT_OK) return NULL;
    return out;
}

mt_tensor *mt_apply_matmul(mt_ctx *ctx, const mt_tensor *a, const mt_tensor *b) {
    if (!a) return mt_null_arg("matmul", "first input tensor");
    if (!b) return mt_null_arg("matmul", "second input tensor");
    if (mt_check_same_backend("matmul", a, b) != MT_OK) return NULL;
    char sa[MT_SHAPE_STR_LEN], sb[MT_SHAPE_STR_LEN];
    if (a->ndim < 2 || b->ndim < 2 || a->shape[a->ndim - 1] != b->shape[b->ndim - 2])
        return mt_fail_null(MT_ERR_SHAPE,
                            "matmul: expected (..., M, K) @ (..., K, N), got %s @ %s",
                            mt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                            mt_shape_str(b->ndim, b->shape, sb, sizeof sb));
    int nb;
    int64_t shape[MT_MAX_DIMS];
    if (mt_shape_broadcast(a->ndim - 2, a->shape, b->ndim - 2, b->shape, &nb, shape) != MT_OK)
        return mt_fail_null(MT_ERR_SHAPE, "matmul: batch dims of %s and %s do not broadcast",
                            mt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                            mt_shape_str(b->ndim, b->shape, sb, sizeof sb));
    if (nb + 2 > MT_MAX_DIMS) return mt_fail_null(MT_ERR_SHAPE, "matmul: too many dims");
    shape[nb] = a->shape[a->ndim - 2];
    shape[nb + 1] = b->shape[b->ndim - 1];
    mt_tensor *out = mt_tensor_alloc_for("matmul", ctx, mt_tensor_backend(a), nb + 2, shape);
    if (!out || run(MT_OP_MATMUL, out, a, b, 0) != MT_OK) return NULL;
    return out;
}
