/* 2-D average and max pooling and their backward, kernel = stride, no padding.
 *
 * Contract: a grid-stride loop over the windows (the row-major ordinals of the pooled grid
 * (B,C,H/kh,W/kw)); the thread that takes a window reads only that window and writes its one
 * output cell (forward) or every cell of the window in grad_in (backward). Windows tile the input
 * exactly (the engine checks divisibility), so each grad_in cell has one writer. Sums are in
 * double, divided as the naive backend divides; max routes the gradient to the first maximum of
 * the window in row-major order, the first NaN winning (mt_beats_max), as every backend does. */
#include "cuda_common.h"

namespace {

__device__ int64_t at4(const mt_kview *t, int64_t b, int64_t c, int64_t h, int64_t w) {
    return t->offset + b * t->strides[0] + c * t->strides[1] + h * t->strides[2] +
           w * t->strides[3];
}

/* Window n of the pooled grid: (b, c, i, j). */
__device__ void window_at(const mt_kview *grid, int64_t n, int64_t *w) {
    mt_ordinal_to_index(n, 4, grid->shape, w);
}

/* The first maximum of window w of in, as (dh, dw). */
__device__ void window_argmax(const mt_kview *in, const int64_t *w, int64_t kh, int64_t kw,
                              int64_t *best_dh, int64_t *best_dw) {
    double best = in->data[at4(in, w[0], w[1], w[2] * kh, w[3] * kw)];
    *best_dh = 0;
    *best_dw = 0;
    for (int64_t dh = 0; dh < kh; dh++)
        for (int64_t dw = 0; dw < kw; dw++) {
            double x = in->data[at4(in, w[0], w[1], w[2] * kh + dh, w[3] * kw + dw)];
            if (mt_beats_max(x, best)) {
                best = x;
                *best_dh = dh;
                *best_dw = dw;
            }
        }
}

__global__ void pool_forward(int op, mt_kview out, mt_kview in, int64_t kh, int64_t kw,
                             int64_t windows) {
    // out (B,C,Ho,Wo), in (B,C,Ho*kh,Wo*kw)
    for (int64_t n = MT_GRID_START(); n < windows; n += MT_GRID_STRIDE()) {
        int64_t w[4];
        window_at(&out, n, w);
        float result;
        if (op == MT_OP_AVGPOOL2D) {
            double acc = 0.0;
            for (int64_t dh = 0; dh < kh; dh++)
                for (int64_t dw = 0; dw < kw; dw++)
                    acc += in.data[at4(&in, w[0], w[1], w[2] * kh + dh, w[3] * kw + dw)];
            result = (float)(acc / (double)(kh * kw));
        } else {
            int64_t dh, dw;
            window_argmax(&in, w, kh, kw, &dh, &dw);
            result = in.data[at4(&in, w[0], w[1], w[2] * kh + dh, w[3] * kw + dw)];
        }
        out.data[at4(&out, w[0], w[1], w[2], w[3])] = result;
    }
}

__global__ void pool_backward(int op, mt_kview gin, mt_kview in, mt_kview g, int64_t kh,
                              int64_t kw, int64_t windows) {
    // gin (B,C,H,W), in (B,C,H,W) forward input (maxpool only), g (B,C,H/kh,W/kw)
    for (int64_t n = MT_GRID_START(); n < windows; n += MT_GRID_STRIDE()) {
        int64_t w[4];
        window_at(&g, n, w);
        const float gv = g.data[at4(&g, w[0], w[1], w[2], w[3])];
        int64_t mh = -1, mw = -1;
        /* every cell of an average window got 1/(kh*kw) of its mean */
        float share = (float)((double)gv / (double)(kh * kw));
        if (op == MT_OP_MAXPOOL2D_BACK) window_argmax(&in, w, kh, kw, &mh, &mw);
        for (int64_t dh = 0; dh < kh; dh++)
            for (int64_t dw = 0; dw < kw; dw++) {
                float v = op == MT_OP_AVGPOOL2D_BACK ? share : (dh == mh && dw == mw) ? gv : 0.0f;
                gin.data[at4(&gin, w[0], w[1], w[2] * kh + dh, w[3] * kw + dw)] = v;
            }
    }
}

} // namespace

mt_status MT_CUDA_FN(pool)(const mt_kcall *c) {
    const int64_t kh = c->params.kernel[0], kw = c->params.kernel[1];
    const int op = (int)c->op;
    if (c->op == MT_OP_AVGPOOL2D || c->op == MT_OP_MAXPOOL2D) {
        int64_t windows = mt_kview_numel(&c->out);
        MT_LAUNCH(pool_forward, mt_cuda_blocks(windows, MT_CUDA_THREADS),
                  MT_CUDA_THREADS)(op, c->out, c->src[0], kh, kw, windows);
        MT_CUDA_CHECK_LAUNCH("pool_forward");
        return MT_OK;
    }
    /* avgpool2d_back: src = (grad_out); maxpool2d_back: src = (input, grad_out) */
    const mt_kview *g = c->op == MT_OP_AVGPOOL2D_BACK ? &c->src[0] : &c->src[1];
    const mt_kview *in = c->op == MT_OP_AVGPOOL2D_BACK ? &c->out : &c->src[0];
    int64_t windows = mt_kview_numel(g);
    MT_LAUNCH(pool_backward, mt_cuda_blocks(windows, MT_CUDA_THREADS),
              MT_CUDA_THREADS)(op, c->out, *in, *g, kh, kw, windows);
    MT_CUDA_CHECK_LAUNCH("pool_backward");
    return MT_OK;
}
