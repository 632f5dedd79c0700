/* 2-D pooling (window = stride, no padding, as MiniTorch's nn.py) and MiniTorch's tile.
 * avgpool2d and maxpool2d run their own forward and backward kernels; tile is built from views
 * exactly as MiniTorch builds it, so its gradient comes from those views. */
#include "internal.h"

#include <inttypes.h>

/* Pooling needs (B,C,H,W) and a kernel that tiles H and W exactly. */
static mt_status check_pool_args(const char *op, const mt_tensor *x, int kh, int kw) {
    char s[MT_SHAPE_STR_LEN];
    mt_shape_str(x->ndim, x->shape, s, sizeof s);
    if (x->ndim != 4)
        return mt_fail(MT_ERR_SHAPE, "%s: expected a 4-D input (B, C, H, W), got shape %s", op, s);
    if (kh < 1 || kw < 1)
        return mt_fail(MT_ERR_ARG, "%s: kernel sizes must be >= 1, got %d x %d", op, kh, kw);
    if (x->shape[2] % kh != 0 || x->shape[3] % kw != 0)
        return mt_fail(MT_ERR_SHAPE,
                       "%s: kernel %d x %d must divide the input's height and width, got H = "
                       "%" PRId64 ", W = %" PRId64 " (input %s)",
                       op, kh, kw, x->shape[2], x->shape[3], s);
    return MT_OK;
}

/* out (shape) <- op(a, b) with params.kernel = (kh, kw). */
static mt_tensor *run_pool(mt_ctx *ctx, mt_op op, const int64_t *shape, const mt_tensor *a,
                           const mt_tensor *b, int kh, int kw) {
    if (!a) return mt_null_arg(mt_op_name(op), "input tensor");
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name(op), ctx, mt_tensor_backend(a), 4, shape);
    if (!out) return NULL;
    mt_kernel_args args = {.op = op, .out = out, .src = {a, b, NULL}, .nsrc = b ? 2 : 1};
    args.params.kernel[0] = kh;
    args.params.kernel[1] = kw;
    return mt_run_kernel(mt_tensor_backend(out), &args) == MT_OK ? out : NULL;
}

/* Checks the arguments and runs the forward kernel; the node keeps the kernel size. */
static mt_tensor *pool_forward(mt_ctx *ctx, const char *name, mt_op op, const mt_function *fn,
                               mt_tensor *x, int kh, int kw) {
    if (!x) return mt_null_arg(name, "input");
    if (check_pool_args(name, x, kh, kw) != MT_OK) return NULL;
    const int64_t shape[4] = {x->shape[0], x->shape[1], x->shape[2] / kh, x->shape[3] / kw};
    mt_tensor *out = run_pool(ctx, op, shape, x, NULL, kh, kw);
    mt_node *node = NULL;
    if (!out || !mt_record(ctx, out, fn, &x, 1, &node)) return NULL;
    if (node) {
        node->iparams[0] = kh;
        node->iparams[1] = kw;
    }
    return out;
}

/* d x = g / (kh*kw) spread over each window. */
static mt_status avgpool_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    grads[0] = run_pool(ctx, MT_OP_AVGPOOL2D_BACK, n->inputs[0]->shape, g, NULL, n->iparams[0],
                        n->iparams[1]);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function AVGPOOL_FN = {"avgpool2d", avgpool_backward};
mt_tensor *mt_avgpool2d(mt_ctx *ctx, mt_tensor *input, int kh, int kw) {
    return pool_forward(ctx, "avgpool2d", MT_OP_AVGPOOL2D, &AVGPOOL_FN, input, kh, kw);
}

/* d x = g at the first maximum of each window, 0 elsewhere (the kernel finds it again). */
static mt_status maxpool_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    const mt_tensor *x = n->inputs[0];
    grads[0] = run_pool(ctx, MT_OP_MAXPOOL2D_BACK, x->shape, x, g, n->iparams[0], n->iparams[1]);
    return grads[0] ? MT_OK : mt_last_status();
}
static const mt_function MAXPOOL_FN = {"maxpool2d", maxpool_backward};
mt_tensor *mt_maxpool2d(mt_ctx *ctx, mt_tensor *input, int kh, int kw) {
    return pool_forward(ctx, "maxpool2d", MT_OP_MAXPOOL2D, &MAXPOOL_FN, input, kh, kw);
}

/* MiniTorch's tile: contiguous -> view (B,C,nh,kh,nw,kw) -> permute (0,1,2,4,3,5) -> contiguous
 * -> view (B,C,nh,nw,kh*kw). The last dim lists each window's cells in row-major order. */
mt_tensor *mt_tile(mt_ctx *ctx, mt_tensor *input, int kh, int kw) {
    if (!input) return mt_null_arg("tile", "input");
    if (check_pool_args("tile", input, kh, kw) != MT_OK) return NULL;
    const int64_t B = input->shape[0], C = input->shape[1];
    const int64_t nh = input->shape[2] / kh, nw = input->shape[3] / kw;
    mt_tensor *x = mt_is_contiguous(input) ? input : mt_contiguous(ctx, input);
    mt_tensor *split = mt_view(ctx, x, MT_SHAPE(B, C, nh, (int64_t)kh, nw, (int64_t)kw));
    mt_tensor *windows = mt_permute(ctx, split, (const int[]){0, 1, 2, 4, 3, 5});
    return mt_view(ctx, mt_contiguous(ctx, windows), MT_SHAPE(B, C, nh, nw, (int64_t)kh * kw));
}
