/* Layers: a layer is a plain struct of parameter tensors plus a forward function built from the
 * differentiable ops, so autodiff needs nothing layer-specific (MiniTorch's nn.Linear). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "<prefix>.<suffix>" copied into ctx, so the name lives exactly as long as the parameter. */
static const char *param_name(mt_ctx *ctx, const char *prefix, const char *suffix) {
    size_t n = strlen(prefix) + 1 + strlen(suffix) + 1;
    char *s = mt_ctx_alloc(ctx, n);
    if (!s) return NULL;
    snprintf(s, n, "%s.%s", prefix, suffix);
    return s;
}

/* A parameter of the given shape, uniform in +-bound (PyTorch's default init for Linear and Conv:
 * bound = 1/sqrt(fan_in)), registered in list. The random tensor itself becomes the leaf: copying
 * it through mt_param_new would leave a dead duplicate in the long-lived context. */
static mt_tensor *uniform_param(mt_ctx *ctx, mt_params *list, const char *prefix,
                                const char *suffix, int ndim, const int64_t *shape, float bound,
                                mt_rng *rng) {
    mt_tensor *p = mt_rand_uniform(ctx, ndim, shape, -bound, bound, rng);
    if (!p) return NULL;
    p->requires_grad = true;
    if (list) {
        const char *name = param_name(ctx, prefix, suffix);
        if (!name || mt_params_add(list, name, p) != MT_OK) return NULL;
    }
    return p;
}

mt_status mt_linear_init(mt_linear *layer, mt_ctx *ctx, mt_params *list, const char *name,
                         int in_features, int out_features, mt_rng *rng) {
    if (!layer) return mt_null_status("mt_linear_init", "layer");
    if (!ctx) return mt_null_status("mt_linear_init", "ctx");
    if (!name) name = "linear";
    if (in_features < 1 || out_features < 1)
        return mt_fail(MT_ERR_ARG,
                       "mt_linear_init '%s': in_features and out_features must be >= 1, got "
                       "%d and %d",
                       name, in_features, out_features);
    *layer = (mt_linear){0};
    int count_before = list ? list->count : 0;
    float bound = (float)(1.0 / sqrt((double)in_features));
    /* weight first, then bias: the order PyTorch draws them in */
    mt_tensor *w = uniform_param(ctx, list, name, "weight", 2,
                                 (const int64_t[]){in_features, out_features}, bound, rng);
    mt_tensor *b = w ? uniform_param(ctx, list, name, "bias", 1, (const int64_t[]){out_features},
                                     bound, rng)
                     : NULL;
    if (!b) {
        if (list) list->count = count_before; /* no half-registered layer */
        return mt_last_status();
    }
    layer->weight = w;
    layer->bias = b;
    return MT_OK;
}

mt_tensor *mt_linear_forward(mt_ctx *ctx, const mt_linear *layer, mt_tensor *x) {
    if (!x) return mt_null_arg("mt_linear_forward", "x");
    if (!ctx) return mt_null_arg("mt_linear_forward", "ctx");
    if (!layer || !layer->weight || !layer->bias)
        return mt_null_arg("mt_linear_forward", "layer (or its weight or bias)");
    int64_t in = layer->weight->shape[0];
    if (x->ndim != 2 || x->shape[1] != in) {
        char s[MT_SHAPE_STR_LEN];
        return mt_fail_null(MT_ERR_SHAPE,
                            "mt_linear_forward: expected input (B, %lld) for a layer with %lld "
                            "input features, got %s",
                            (long long)in, (long long)in,
                            mt_shape_str(x->ndim, x->shape, s, sizeof s));
    }
    /* (B,in) @ (in,out) + (out,): the bias broadcasts over the batch, and autodiff sums its
     * gradient back over the batch */
    return mt_add(ctx, mt_matmul(ctx, x, layer->weight), layer->bias);
}

/* Conv layers: weight (Cout,Cin,K...) and a bias shaped (Cout,1[,1]) so that it broadcasts over
 * the positions of a (B,Cout,W) or (B,Cout,H,W) output, as MiniTorch's Conv1d/Conv2d hold it. */
static mt_status conv_layer_init(mt_conv_layer *layer, mt_ctx *ctx, mt_params *list,
                                 const char *name, int in_channels, int out_channels, int nk,
                                 const int *kernel, mt_rng *rng) {
    if (!layer) return mt_null_status(nk == 1 ? "mt_conv1d_init" : "mt_conv2d_init", "layer");
    if (!ctx) return mt_null_status(nk == 1 ? "mt_conv1d_init" : "mt_conv2d_init", "ctx");
    if (!name) name = nk == 1 ? "conv1d" : "conv2d";
    int64_t fan_in = in_channels;
    for (int i = 0; i < nk; i++) {
        if (kernel[i] < 1)
            return mt_fail(MT_ERR_ARG, "conv layer '%s': kernel sizes must be >= 1, got %d", name,
                           kernel[i]);
        fan_in *= kernel[i];
    }
    if (in_channels < 1 || out_channels < 1)
        return mt_fail(MT_ERR_ARG,
                       "conv layer '%s': in_channels and out_channels must be >= 1, got %d and %d",
                       name, in_channels, out_channels);
    *layer = (mt_conv_layer){0};
    int count_before = list ? list->count : 0;
    float bound = (float)(1.0 / sqrt((double)fan_in));
    int64_t wshape[4] = {out_channels, in_channels, kernel[0], nk > 1 ? kernel[1] : 1};
    int64_t bshape[3] = {out_channels, 1, 1};
    mt_tensor *w = uniform_param(ctx, list, name, "weight", 2 + nk, wshape, bound, rng);
    mt_tensor *b = w ? uniform_param(ctx, list, name, "bias", 1 + nk, bshape, bound, rng) : NULL;
    if (!b) {
        if (list) list->count = count_before;
        return mt_last_status();
    }
    layer->weight = w;
    layer->bias = b;
    return MT_OK;
}

mt_status mt_conv1d_init(mt_conv_layer *layer, mt_ctx *ctx, mt_params *list, const char *name,
                         int in_channels, int out_channels, int kernel, mt_rng *rng) {
    return conv_layer_init(layer, ctx, list, name, in_channels, out_channels, 1, &kernel, rng);
}

mt_status mt_conv2d_init(mt_conv_layer *layer, mt_ctx *ctx, mt_params *list, const char *name,
                         int in_channels, int out_channels, int kh, int kw, mt_rng *rng) {
    return conv_layer_init(layer, ctx, list, name, in_channels, out_channels, 2,
                           (const int[]){kh, kw}, rng);
}

mt_tensor *mt_conv1d_forward(mt_ctx *ctx, const mt_conv_layer *layer, mt_tensor *x) {
    if (!x) return mt_null_arg("mt_conv1d_forward", "x");
    if (!ctx) return mt_null_arg("mt_conv1d_forward", "ctx");
    if (!layer || !layer->weight || !layer->bias)
        return mt_null_arg("mt_conv1d_forward", "layer (or its weight or bias)");
    return mt_add(ctx, mt_conv1d(ctx, x, layer->weight, &layer->opts), layer->bias);
}

mt_tensor *mt_conv2d_forward(mt_ctx *ctx, const mt_conv_layer *layer, mt_tensor *x) {
    if (!x) return mt_null_arg("mt_conv2d_forward", "x");
    if (!ctx) return mt_null_arg("mt_conv2d_forward", "ctx");
    if (!layer || !layer->weight || !layer->bias)
        return mt_null_arg("mt_conv2d_forward", "layer (or its weight or bias)");
    return mt_add(ctx, mt_conv2d(ctx, x, layer->weight, &layer->opts), layer->bias);
}
