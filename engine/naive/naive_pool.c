/* Naive 2-D pooling, kernel = stride, no padding: windows tile the input exactly, so every input
 * element belongs to one window and the backward kernels can write each window's cells directly
 * (every cell of grad_in is written once).
 * NaN: a window holding a NaN max-pools to NaN, and max backward routes that window's gradient to
 * its first NaN (mt_beats_max), the element the forward picked. */
#include "../internal.h"
#include "../scalar_ops.h"
#include "naive.h"

static inline int64_t at4(const mt_tensor *t, int64_t b, int64_t c, int64_t h, int64_t w) {
    return t->offset + b * t->strides[0] + c * t->strides[1] + h * t->strides[2] +
           w * t->strides[3];
}

mt_status mt_naive_avgpool2d(const mt_kernel_args *args) {
    mt_tensor *out = args->out;         /* (B,C,Ho,Wo) */
    const mt_tensor *in = args->src[0]; /* (B,C,Ho*kh,Wo*kw) */
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    const float *id = in->storage->data;
    float *od = out->storage->data;
    for (int64_t b = 0; b < out->shape[0]; b++)
        for (int64_t c = 0; c < out->shape[1]; c++)
            for (int64_t i = 0; i < out->shape[2]; i++)
                for (int64_t j = 0; j < out->shape[3]; j++) {
                    double acc = 0.0;
                    for (int64_t dh = 0; dh < kh; dh++)
                        for (int64_t dw = 0; dw < kw; dw++)
                            acc += id[at4(in, b, c, i * kh + dh, j * kw + dw)];
                    od[at4(out, b, c, i, j)] = (float)(acc / (double)(kh * kw));
                }
    return MT_OK;
}

mt_status mt_naive_avgpool2d_back(const mt_kernel_args *args) {
    mt_tensor *gin = args->out;          /* (B,C,H,W) */
    const mt_tensor *g = args->src[0];   /* (B,C,H/kh,W/kw) */
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    const float *gd = g->storage->data;
    float *od = gin->storage->data;
    for (int64_t b = 0; b < g->shape[0]; b++)
        for (int64_t c = 0; c < g->shape[1]; c++)
            for (int64_t i = 0; i < g->shape[2]; i++)
                for (int64_t j = 0; j < g->shape[3]; j++) {
                    /* every cell of the window contributed 1/(kh*kw) of the mean */
                    float share = (float)((double)gd[at4(g, b, c, i, j)] / (double)(kh * kw));
                    for (int64_t dh = 0; dh < kh; dh++)
                        for (int64_t dw = 0; dw < kw; dw++)
                            od[at4(gin, b, c, i * kh + dh, j * kw + dw)] = share;
                }
    return MT_OK;
}

/* The first maximum of window (i, j) in row-major window order, as (dh, dw). */
static void window_argmax(const mt_tensor *in, int64_t b, int64_t c, int64_t i, int64_t j,
                          int64_t kh, int64_t kw, int64_t *best_dh, int64_t *best_dw) {
    const float *id = in->storage->data;
    double best = id[at4(in, b, c, i * kh, j * kw)];
    *best_dh = 0;
    *best_dw = 0;
    for (int64_t dh = 0; dh < kh; dh++)
        for (int64_t dw = 0; dw < kw; dw++) {
            double x = id[at4(in, b, c, i * kh + dh, j * kw + dw)];
            if (mt_beats_max(x, best)) {
                best = x;
                *best_dh = dh;
                *best_dw = dw;
            }
        }
}

mt_status mt_naive_maxpool2d(const mt_kernel_args *args) {
    mt_tensor *out = args->out;         /* (B,C,Ho,Wo) */
    const mt_tensor *in = args->src[0]; /* (B,C,Ho*kh,Wo*kw) */
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    const float *id = in->storage->data;
    float *od = out->storage->data;
    for (int64_t b = 0; b < out->shape[0]; b++)
        for (int64_t c = 0; c < out->shape[1]; c++)
            for (int64_t i = 0; i < out->shape[2]; i++)
                for (int64_t j = 0; j < out->shape[3]; j++) {
                    int64_t dh, dw;
                    window_argmax(in, b, c, i, j, kh, kw, &dh, &dw);
                    od[at4(out, b, c, i, j)] = id[at4(in, b, c, i * kh + dh, j * kw + dw)];
                }
    return MT_OK;
}

mt_status mt_naive_maxpool2d_back(const mt_kernel_args *args) {
    mt_tensor *gin = args->out;         /* (B,C,H,W) */
    const mt_tensor *in = args->src[0]; /* (B,C,H,W), the forward input */
    const mt_tensor *g = args->src[1];  /* (B,C,H/kh,W/kw) */
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    const float *gd = g->storage->data;
    float *od = gin->storage->data;
    for (int64_t b = 0; b < g->shape[0]; b++)
        for (int64_t c = 0; c < g->shape[1]; c++)
            for (int64_t i = 0; i < g->shape[2]; i++)
                for (int64_t j = 0; j < g->shape[3]; j++) {
                    int64_t mh, mw;
                    window_argmax(in, b, c, i, j, kh, kw, &mh, &mw);
                    float gv = gd[at4(g, b, c, i, j)];
                    for (int64_t dh = 0; dh < kh; dh++)
                        for (int64_t dw = 0; dw < kw; dw++)
                            od[at4(gin, b, c, i * kh + dh, j * kw + dw)] =
                                (dh == mh && dw == mw) ? gv : 0.0f;
                }
    return MT_OK;
}
