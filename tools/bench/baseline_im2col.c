/* The OpenBLAS conv baseline: im2col + cblas_sgemm, in MiniTorch's form (stride 1, output as
 * large as the input, kernel anchored top/left, zeros past the bottom/right edge). conv1d is the
 * H = KH = 1 case. im2col and col2im run on one thread; the GEMMs on OpenBLAS's threads. */
#include "baseline_im2col.h"

#include <string.h>

/* col (Cin*KH*KW, H*W) <- in (Cin, H, W) of one image */
static void im2col(const float *in, int64_t Cin, int64_t H, int64_t W, int64_t KH, int64_t KW,
                   float *col) {
    for (int64_t i = 0; i < Cin; i++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                float *row = col + ((i * KH + kh) * KW + kw) * H * W;
                for (int64_t y = 0; y < H; y++) {
                    float *dst = row + y * W;
                    if (y + kh >= H) { /* below the bottom edge */
                        memset(dst, 0, (size_t)W * sizeof(float));
                        continue;
                    }
                    int64_t n = kw < W ? W - kw : 0; /* the rest reads past the right edge */
                    if (n) memcpy(dst, in + (i * H + y + kh) * W + kw, (size_t)n * sizeof(float));
                    memset(dst + n, 0, (size_t)(W - n) * sizeof(float));
                }
            }
}

/* grad_in (Cin, H, W) <- sum of gcol (Cin*KH*KW, H*W) over the positions each element fed */
static void col2im(const float *gcol, int64_t Cin, int64_t H, int64_t W, int64_t KH, int64_t KW,
                   float *grad_in) {
    memset(grad_in, 0, (size_t)(Cin * H * W) * sizeof(float));
    for (int64_t i = 0; i < Cin; i++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float *row = gcol + ((i * KH + kh) * KW + kw) * H * W;
                for (int64_t y = 0; y + kh < H; y++) {
                    float *dst = grad_in + (i * H + y + kh) * W + kw;
                    const float *src = row + y * W;
                    for (int64_t x = 0; x + kw < W; x++) dst[x] += src[x];
                }
            }
}

void bench_im2col_conv(const bench_conv_dims *d, const float *in, const float *w,
                       const float *grad_out, float *out, float *grad_in, float *grad_w,
                       float *col, float *gcol) {
    int64_t HW = d->H * d->W, CKK = d->Cin * d->KH * d->KW;
    for (int64_t b = 0; b < d->B; b++) {
        const float *in_b = in + b * d->Cin * HW;
        im2col(in_b, d->Cin, d->H, d->W, d->KH, d->KW, col);
        /* out[b] (Cout, HW) = w (Cout, CKK) @ col (CKK, HW) */
        bench_sgemm(d->Cout, HW, CKK, w, col, out + b * d->Cout * HW);
        if (!grad_out) continue;
        const float *g_b = grad_out + b * d->Cout * HW; /* (Cout, HW) */
        /* grad_w (Cout, CKK) += g_b (Cout, HW) @ col^T (HW, CKK) */
        bench_sgemm_ex(false, true, d->Cout, CKK, HW, 1.0f, g_b, HW, col, HW, b ? 1.0f : 0.0f,
                       grad_w, CKK);
        /* gcol (CKK, HW) = w^T (CKK, Cout) @ g_b (Cout, HW), then scattered back */
        bench_sgemm_ex(true, false, CKK, HW, d->Cout, 1.0f, w, CKK, g_b, HW, 0.0f, gcol, HW);
        col2im(gcol, d->Cin, d->H, d->W, d->KH, d->KW, grad_in + b * d->Cin * HW);
    }
}
