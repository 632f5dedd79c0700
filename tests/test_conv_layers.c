/* Conv1d / Conv2d layers: parameter shapes, names and init range; forward = conv + per-channel
 * bias; gradients of input, weight and bias against central differences. */
#include "check.h"
#include "gradcheck.h"

#include <math.h>
#include <string.h>

static void test_init(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_params list = {0};
    mt_conv_layer c1, c2;
    CHECK_OK(mt_conv1d_init(&c1, ctx, &list, "c1", 3, 5, 4, NULL));
    CHECK_OK(mt_conv2d_init(&c2, ctx, &list, "c2", 2, 6, 3, 2, NULL));
    CHECK(list.count == 4, "two params per layer");
    CHECK(strcmp(list.names[0], "c1.weight") == 0 && strcmp(list.names[3], "c2.bias") == 0,
          "parameter names");
    CHECK(c1.weight->ndim == 3 && c1.weight->shape[0] == 5 && c1.weight->shape[2] == 4,
          "conv1d weight (5,3,4)");
    CHECK(c1.bias->ndim == 2 && c1.bias->shape[0] == 5 && c1.bias->shape[1] == 1, "bias (5,1)");
    CHECK(c2.weight->ndim == 4 && c2.weight->shape[3] == 2 && c2.bias->ndim == 3,
          "conv2d weight (6,2,3,2), bias (6,1,1)");
    float w[6 * 2 * 3 * 2];
    mt_to_host(c2.weight, w);
    float bound = 1.0f / sqrtf(12.0f), lo = 1, hi = -1;
    for (int i = 0; i < 72; i++) {
        lo = fminf(lo, w[i]);
        hi = fmaxf(hi, w[i]);
    }
    CHECK(lo >= -bound && hi <= bound && hi - lo > bound, "init uniform in +-1/sqrt(fan_in)");
    CHECK_ERROR(mt_conv2d_init(&c2, ctx, &list, "bad", 2, 6, 0, 2, NULL) == MT_OK, MT_ERR_ARG,
                "kernel sizes must be >= 1");
    CHECK(list.count == 4, "a failed init registers nothing");
    mt_params_free(&list);
    mt_ctx_free(ctx);
}

static void test_forward_adds_bias(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_conv_layer c;
    CHECK_OK(mt_conv2d_init(&c, ctx, NULL, "c", 2, 3, 3, 3, NULL));
    mt_tensor *x = mt_rand_uniform(ctx, MT_SHAPE(2, 2, 5, 4), -1, 1, NULL);
    mt_tensor *y = mt_conv2d_forward(ctx, &c, x);
    mt_tensor *plain = mt_conv2d(ctx, x, c.weight, NULL);
    CHECK(y && plain && mt_same_shape(y, plain), "output shape (2,3,5,4)");
    float yv[120], pv[120], bv[3];
    mt_to_host(y, yv);
    mt_to_host(plain, pv);
    mt_to_host(c.bias, bv);
    int bad = 0;
    for (int i = 0; i < 120; i++) bad += fabsf(yv[i] - (pv[i] + bv[(i / 20) % 3])) > 1e-6f;
    CHECK(bad == 0, "conv2d layer = conv2d + bias[channel] (%d wrong)", bad);
    CHECK_ERROR(mt_conv2d_forward(ctx, &c, mt_ones(ctx, MT_SHAPE(2, 3, 5, 4))), MT_ERR_SHAPE,
                "conv2d");
    mt_ctx_free(ctx);
}

static mt_tensor *f_conv1d_layer(mt_ctx *ctx, mt_tensor **in, void *u) {
    (void)u;
    mt_conv_layer l = {.weight = in[1], .bias = in[2]};
    return mt_conv1d_forward(ctx, &l, in[0]);
}
static mt_tensor *f_conv2d_layer(mt_ctx *ctx, mt_tensor **in, void *u) {
    (void)u;
    mt_conv_layer l = {.weight = in[1], .bias = in[2]};
    return mt_conv2d_forward(ctx, &l, in[0]);
}

static void test_gradients(void) {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        mt_ctx *ctx = mt_ctx_new(NULL);
        mt_ctx_seed(ctx, seed);
        mt_conv_layer c1, c2;
        mt_conv1d_init(&c1, ctx, NULL, "c1", 2, 3, 3, NULL);
        mt_conv2d_init(&c2, ctx, NULL, "c2", 2, 3, 2, 3, NULL);
        mt_tensor *x1 = mt_rand_uniform(ctx, MT_SHAPE(2, 2, 7), -1, 1, NULL);
        mt_tensor *x2 = mt_rand_uniform(ctx, MT_SHAPE(2, 2, 5, 6), -1, 1, NULL);
        mt_requires_grad(x1, true);
        mt_requires_grad(x2, true);
        mt_tensor *in1[3] = {x1, c1.weight, c1.bias}, *in2[3] = {x2, c2.weight, c2.bias};
        CHECK(gradcheck("conv1d layer", f_conv1d_layer, in1, 3, NULL, seed, NULL) == 0,
              "conv1d layer gradients, seed %llu", (unsigned long long)seed);
        CHECK(gradcheck("conv2d layer", f_conv2d_layer, in2, 3, NULL, seed, NULL) == 0,
              "conv2d layer gradients, seed %llu", (unsigned long long)seed);
        mt_ctx_free(ctx);
    }
}

int main(void) {
    test_init();
    test_forward_adds_bias();
    test_gradients();
    return check_summary("test_conv_layers");
}
