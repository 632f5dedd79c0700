/* im2col + OpenBLAS sgemm convolution (the conv sweeps' CPU baseline). */
#ifndef MT_BENCH_IM2COL_H
#define MT_BENCH_IM2COL_H

#include "bench.h"

/* conv2d sizes; conv1d is H = KH = 1 */
typedef struct bench_conv_dims {
    int64_t B, Cin, H, W, Cout, KH, KW;
} bench_conv_dims;

/* out (B,Cout,H,W) <- in (B,Cin,H,W), w (Cout,Cin,KH,KW), in MiniTorch's form. When grad_out is
 * not NULL also grad_in (B,Cin,H,W) and grad_w (Cout,Cin,KH,KW). col and gcol are workspaces of
 * Cin*KH*KW*H*W floats each (gcol only for the backward). */
void bench_im2col_conv(const bench_conv_dims *d, const float *in, const float *w,
                       const float *grad_out, float *out, float *grad_in, float *grad_w,
                       float *col, float *gcol);

#endif
