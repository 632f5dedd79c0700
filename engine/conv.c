/* Convolutions with autodiff (MiniTorch's Conv1dFun / Conv2dFun). conv1d and conv2d share the
 * validation, the output-shape rule, the dispatch and the backward; they differ only in their
 * number of spatial axes and their three op-table entries. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct conv_kind {
    const char *name;
    int nsp;                  /* spatial axes: 1 (W) or 2 (H, W) */
    const char *input_layout; /* for messages */
    const char *weight_layout;
    mt_op forward, back_input, back_weight;
    const mt_function *fn;
} conv_kind;

static mt_status conv1d_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads);
static mt_status conv2d_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads);
static const mt_function CONV1D_FN = {"conv1d", conv1d_backward};
static const mt_function CONV2D_FN = {"conv2d", conv2d_backward};

static const conv_kind CONV1D = {"conv1d", 1, "(B, Cin, W)", "(Cout, Cin, K)",
                                 MT_OP_CONV1D, MT_OP_CONV1D_BACK_INPUT, MT_OP_CONV1D_BACK_WEIGHT,
                                 &CONV1D_FN};
static const conv_kind CONV2D = {"conv2d", 2, "(B, Cin, H, W)", "(Cout, Cin, KH, KW)",
                                 MT_OP_CONV2D, MT_OP_CONV2D_BACK_INPUT, MT_OP_CONV2D_BACK_WEIGHT,
                                 &CONV2D_FN};

/* How per-axis values (stride, pad, sizes) appear in messages: "2" for conv1d, "(2, 1)" for
 * conv2d. */
static const char *axes_str(int nsp, const int64_t *v, char *buf, size_t len) {
    if (nsp == 2) return mt_shape_str(2, v, buf, len);
    snprintf(buf, len, "%" PRId64, v[0]);
    return buf;
}

/* Checks the inputs and options, and gives the kernel parameters and the output shape. */
static mt_status conv_check(const conv_kind *kind, const mt_tensor *input, const mt_tensor *weight,
                            const mt_conv_opts *opts, mt_op_params *params, int64_t *out_shape) {
    const char *name = kind->name;
    int nd = kind->nsp + 2;
    char si[MT_SHAPE_STR_LEN], sw[MT_SHAPE_STR_LEN], s1[64], s2[64], s3[64];
    mt_shape_str(input->ndim, input->shape, si, sizeof si);
    mt_shape_str(weight->ndim, weight->shape, sw, sizeof sw);
    if (input->ndim != nd)
        return mt_fail(MT_ERR_SHAPE, "%s: input must be %s, got shape %s", name,
                       kind->input_layout, si);
    if (weight->ndim != nd)
        return mt_fail(MT_ERR_SHAPE, "%s: weight must be %s, got shape %s", name,
                       kind->weight_layout, sw);
    MT_TRY(mt_check_same_backend(name, input, weight));
    if (input->shape[1] != weight->shape[1])
        return mt_fail(MT_ERR_SHAPE,
                       "%s: input %s has %" PRId64 " channels but weight %s expects Cin = %" PRId64
                       " (input %s, weight %s)",
                       name, si, input->shape[1], sw, weight->shape[1], kind->input_layout,
                       kind->weight_layout);

    mt_conv_opts o = opts ? *opts : (mt_conv_opts){{0, 0}, {0, 0}, false, false};
    if (kind->nsp == 1 && (o.stride[1] != 0 || o.pad[1] != 0))
        return mt_fail(MT_ERR_ARG,
                       "%s: index 0 of stride and pad is conv1d's only axis; index 1 must be 0, "
                       "got stride[1] = %d, pad[1] = %d",
                       name, o.stride[1], o.pad[1]);
    int64_t stride[2] = {1, 1}, pad[2] = {0, 0};
    bool strided = false, padded = false;
    for (int a = 0; a < kind->nsp; a++) {
        if (o.stride[a] < 0 || o.pad[a] < 0)
            return mt_fail(MT_ERR_ARG,
                           "%s: stride and pad must be >= 0 (stride 0 means 1), got stride[%d] = "
                           "%d, pad[%d] = %d",
                           name, a, o.stride[a], a, o.pad[a]);
        stride[a] = o.stride[a] == 0 ? 1 : o.stride[a];
        pad[a] = o.pad[a];
        strided |= stride[a] > 1;
        padded |= pad[a] > 0;
    }
    if (o.pytorch_style && o.reverse)
        return mt_fail(MT_ERR_ARG,
                       "%s: reverse belongs to MiniTorch's form; it cannot be combined with "
                       "pytorch_style",
                       name);
    if (!o.pytorch_style && padded)
        return mt_fail(MT_ERR_ARG,
                       "%s: pad %s needs pytorch_style (MiniTorch's form pads only past the "
                       "far edge, implicitly)",
                       name, axes_str(kind->nsp, pad, s1, sizeof s1));
    if (!o.pytorch_style && strided)
        return mt_fail(MT_ERR_ARG,
                       "%s: stride %s needs pytorch_style (MiniTorch's form has stride 1 and an "
                       "output as long as the input)",
                       name, axes_str(kind->nsp, stride, s1, sizeof s1));

    const int64_t *size = input->shape + 2, *kernel = weight->shape + 2;
    out_shape[0] = input->shape[0];
    out_shape[1] = weight->shape[0];
    for (int a = 0; a < kind->nsp; a++) {
        if (!o.pytorch_style) {
            out_shape[2 + a] = size[a];
            continue;
        }
        /* pad is an int, but the size is any int64: the padded size may not fit */
        int64_t padded_size;
        if (__builtin_add_overflow(size[a], 2 * pad[a], &padded_size))
            return mt_fail(MT_ERR_SHAPE,
                           "%s: input %s padded by %s has more than %" PRId64
                           " positions along an axis",
                           name, si, axes_str(kind->nsp, pad, s1, sizeof s1), INT64_MAX);
        if (kernel[a] > padded_size) {
            int64_t padded_sizes[2];
            for (int b = 0; b < kind->nsp; b++) padded_sizes[b] = size[b] + 2 * pad[b];
            return mt_fail(MT_ERR_SHAPE,
                           "%s: kernel %s is larger than the padded input %s (input %s, "
                           "weight %s, pad %s); the output would be empty",
                           name, axes_str(kind->nsp, kernel, s1, sizeof s1),
                           axes_str(kind->nsp, padded_sizes, s2, sizeof s2), si, sw,
                           axes_str(kind->nsp, pad, s3, sizeof s3));
        }
        out_shape[2 + a] = (padded_size - kernel[a]) / stride[a] + 1;
    }

    memset(params, 0, sizeof *params);
    for (int a = 0; a < kind->nsp; a++) {
        params->stride[a] = (int)stride[a];
        params->pad[a] = (int)pad[a];
    }
    params->reverse = o.reverse;
    return MT_OK;
}

/* Allocates a contiguous (ndim, shape) tensor on a's backend and runs op on (a, b) into it. */
static mt_tensor *conv_run(mt_ctx *ctx, mt_op op, int ndim, const int64_t *shape,
                           const mt_tensor *a, const mt_tensor *b, const mt_op_params *params) {
    if (!a || !b) return mt_null_arg(mt_op_name(op), "input tensor");
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name(op), ctx, mt_tensor_backend(a), ndim, shape);
    if (!out) return NULL;
    mt_kernel_args args = {.op = op, .out = out, .src = {a, b, NULL}, .nsrc = 2,
                           .params = *params};
    return mt_run_kernel(mt_tensor_backend(a), &args) == MT_OK ? out : NULL;
}

/* The node keeps the kernel parameters in iparams: stride[0..1], pad[0..1], reverse. */
static void params_to_node(mt_node *node, const mt_op_params *p) {
    int v[5] = {p->stride[0], p->stride[1], p->pad[0], p->pad[1], p->reverse};
    memcpy(node->iparams, v, sizeof v);
}
static mt_op_params params_from_node(const mt_node *node) {
    mt_op_params p;
    memset(&p, 0, sizeof p);
    p.stride[0] = node->iparams[0];
    p.stride[1] = node->iparams[1];
    p.pad[0] = node->iparams[2];
    p.pad[1] = node->iparams[3];
    p.reverse = node->iparams[4];
    return p;
}

static mt_status conv_backward(const conv_kind *kind, mt_ctx *ctx, const mt_node *n, mt_tensor *g,
                               mt_tensor **grads) {
    mt_tensor *input = n->inputs[0], *weight = n->inputs[1];
    mt_op_params p = params_from_node(n);
    if (input->requires_grad &&
        !(grads[0] = conv_run(ctx, kind->back_input, input->ndim, input->shape, g, weight, &p)))
        return mt_last_status();
    if (weight->requires_grad &&
        !(grads[1] = conv_run(ctx, kind->back_weight, weight->ndim, weight->shape, input, g, &p)))
        return mt_last_status();
    return MT_OK;
}
static mt_status conv1d_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    return conv_backward(&CONV1D, ctx, n, g, grads);
}
static mt_status conv2d_backward(mt_ctx *ctx, const mt_node *n, mt_tensor *g, mt_tensor **grads) {
    return conv_backward(&CONV2D, ctx, n, g, grads);
}

static mt_tensor *conv(const conv_kind *kind, mt_ctx *ctx, mt_tensor *input, mt_tensor *weight,
                       const mt_conv_opts *opts) {
    if (!input) return mt_null_arg(kind->name, "input");
    if (!weight) return mt_null_arg(kind->name, "weight");
    mt_op_params params;
    int64_t shape[4];
    if (conv_check(kind, input, weight, opts, &params, shape) != MT_OK) return NULL;
    mt_tensor *out = conv_run(ctx, kind->forward, kind->nsp + 2, shape, input, weight, &params);
    mt_tensor *inputs[2] = {input, weight};
    mt_node *node = NULL;
    if (!mt_record(ctx, out, kind->fn, inputs, 2, &node)) return NULL;
    if (node) params_to_node(node, &params);
    return out;
}

mt_tensor *mt_conv1d(mt_ctx *ctx, mt_tensor *input, mt_tensor *weight, const mt_conv_opts *opts) {
    return conv(&CONV1D, ctx, input, weight, opts);
}

mt_tensor *mt_conv2d(mt_ctx *ctx, mt_tensor *input, mt_tensor *weight, const mt_conv_opts *opts) {
    return conv(&CONV2D, ctx, input, weight, opts);
}
