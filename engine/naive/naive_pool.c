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

/* Window (i, j) of channel c of image b: the one at row-major ordinal n of a pooled grid
 * (B,C,Ho,Wo), the shape of the forward output and of its gradient. Every kernel here loops over
 * these ordinals, so each visits every window once in the same order. */
typedef struct pool_window {
    int64_t b, c, i, j;
} pool_window;

static pool_window window_at(const mt_tensor *grid, int64_t n) {
    pool_window w;
    w.j = n % grid->shape[3];
    n /= grid->shape[3];
    w.i = n % grid->shape[2];
    n /= grid->shape[2];
    w.c = n % grid->shape[1];
    w.b = n / grid->shape[1];
    return w;
}

/* Element (dh, dw) of window w of t (the pooling input or its gradient). */
static inline int64_t in_window(const mt_tensor *t, pool_window w, int64_t kh, int64_t kw,
                                int64_t dh, int64_t dw) {
    return at4(t, w.b, w.c, w.i * kh + dh, w.j * kw + dw);
}

mt_status mt_naive_avgpool2d(const mt_kernel_args *args) {
    mt_tensor *out = args->out;         /* (B,C,Ho,Wo) */
    const mt_tensor *in = args->src[0]; /* (B,C,Ho*kh,Wo*kw) */
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    const float *id = in->storage->data;
    float *od = out->storage->data;
    for (int64_t n = 0; n < mt_numel(out); n++) {
        pool_window w = window_at(out, n);
        double acc = 0.0;
        for (int64_t dh = 0; dh < kh; dh++)
            for (int64_t dw = 0; dw < kw; dw++) acc += id[in_window(in, w, kh, kw, dh, dw)];
        od[at4(out, w.b, w.c, w.i, w.j)] = (float)(acc / (double)(kh * kw));
    }
    return MT_OK;
}

mt_status mt_naive_avgpool2d_back(const mt_kernel_args *args) {
    mt_tensor *gin = args->out;        /* (B,C,H,W) */
    const mt_tensor *g = args->src[0]; /* (B,C,H/kh,W/kw) */
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    const float *gd = g->storage->data;
    float *od = gin->storage->data;
    for (int64_t n = 0; n < mt_numel(g); n++) {
        pool_window w = window_at(g, n);
        /* every cell of the window contributed 1/(kh*kw) of the mean */
        float share = (float)((double)gd[at4(g, w.b, w.c, w.i, w.j)] / (double)(kh * kw));
        for (int64_t dh = 0; dh < kh; dh++)
            for (int64_t dw = 0; dw < kw; dw++) od[in_window(gin, w, kh, kw, dh, dw)] = share;
    }
    return MT_OK;
}

/* The first maximum of window w in row-major window order, as (dh, dw). */
static void window_argmax(const mt_tensor *in, pool_window w, int64_t kh, int64_t kw,
                          int64_t *best_dh, int64_t *best_dw) {
    const float *id = in->storage->data;
    double best = id[in_window(in, w, kh, kw, 0, 0)];
    *best_dh = 0;
    *best_dw = 0;
    for (int64_t dh = 0; dh < kh; dh++)
        for (int64_t dw = 0; dw < kw; dw++) {
            double x = id[in_window(in, w, kh, kw, dh, dw)];
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
    for (int64_t n = 0; n < mt_numel(out); n++) {
        pool_window w = window_at(out, n);
        int64_t dh, dw;
        window_argmax(in, w, kh, kw, &dh, &dw);
        od[at4(out, w.b, w.c, w.i, w.j)] = id[in_window(in, w, kh, kw, dh, dw)];
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
    for (int64_t n = 0; n < mt_numel(g); n++) {
        pool_window w = window_at(g, n);
        int64_t mh, mw;
        window_argmax(in, w, kh, kw, &mh, &mw);
        float gv = gd[at4(g, w.b, w.c, w.i, w.j)];
        for (int64_t dh = 0; dh < kh; dh++)
            for (int64_t dw = 0; dw < kw; dw++)
                od[in_window(gin, w, kh, kw, dh, dw)] = (dh == mh && dw == mw) ? gv : 0.0f;
    }
    return MT_OK;
}
