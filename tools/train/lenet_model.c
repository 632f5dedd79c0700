#include "lenet_model.h"

#include <stdio.h>

bool lenet_fits(int64_t h, int64_t w, char *why, size_t n) {
    if (h >= 12 && w >= 12 && h % 4 == 0 && w % 4 == 0) return true;
    snprintf(why, n, "lenet pools twice around a 5x5 convolution: it needs sizes divisible by 4 "
             "and at least 12");
    return false;
}

/* Spatial size after pool, conv 5x5 (no padding), pool: 5 for 28. */
static int64_t final_side(int64_t side) { return (side / 2 - 4) / 2; }

mt_status lenet_init(mnist_model *m, mt_ctx *ctx, mt_rng *rng) {
    int flat = 16 * (int)(final_side(m->h) * final_side(m->w)); /* 400 for 28x28 */
    mt_status s;
    if ((s = mt_conv2d_init(&m->conv1, ctx, &m->params, "conv1", 1, 6, 5, 5, rng)) != MT_OK ||
        (s = mt_conv2d_init(&m->conv2, ctx, &m->params, "conv2", 6, 16, 5, 5, rng)) != MT_OK ||
        (s = mt_linear_init(&m->fc1, ctx, &m->params, "fc1", flat, 120, rng)) != MT_OK ||
        (s = mt_linear_init(&m->fc2, ctx, &m->params, "fc2", 120, 84, rng)) != MT_OK ||
        (s = mt_linear_init(&m->fc3, ctx, &m->params, "fc3", 84, MNIST_CLASSES, rng)) != MT_OK)
        return s;
    /* the first convolution keeps the image size as LeNet's 32x32 input did for 28x28 digits;
     * the second shrinks it (the layer's default is MiniTorch's same-size form, so both are set) */
    m->conv1.opts = (mt_conv_opts){.pad = {2, 2}, .pytorch_style = true};
    m->conv2.opts = (mt_conv_opts){.pytorch_style = true};
    return MT_OK;
}

mt_tensor *lenet_forward(mt_ctx *ctx, const mnist_model *m, mt_tensor *x) {
    int64_t b = x->shape[0];
    mt_tensor *c1 = mt_relu(ctx, mt_conv2d_forward(ctx, &m->conv1, x)); /* (B,6,h,w) */
    mt_tensor *p1 = mt_maxpool2d(ctx, c1, 2, 2);                        /* (B,6,h/2,w/2) */
    mt_tensor *c2 = mt_relu(ctx, mt_conv2d_forward(ctx, &m->conv2, p1)); /* (B,16,h/2-4,w/2-4) */
    mt_tensor *p2 = mt_maxpool2d(ctx, c2, 2, 2);                        /* (B,16,5,5) for 28 */
    if (p2 && !mt_is_contiguous(p2)) p2 = mt_contiguous(ctx, p2);
    int64_t flat = 16 * final_side(m->h) * final_side(m->w);
    mt_tensor *f = mt_view(ctx, p2, MT_SHAPE(b, flat));                  /* (B,400) */
    mt_tensor *h1 = mt_relu(ctx, mt_linear_forward(ctx, &m->fc1, f));   /* (B,120) */
    mt_tensor *h2 = mt_relu(ctx, mt_linear_forward(ctx, &m->fc2, h1));  /* (B,84) */
    return mt_logsoftmax(ctx, mt_linear_forward(ctx, &m->fc3, h2), 1);  /* (B,10) */
}
