/* Naive convolutions: forward, d input and d weight, in 1D and 2D.
 *
 * A 1D tensor (B,C,W) is handled as the 2D tensor (B,C,1,W), so one set of loops serves both
 * forms. Along each axis, output position t reads input position
 *     x = t*stride + k - pad     (or t - k in MiniTorch's reverse form)
 * through kernel tap k, and reads outside the input are zero. Every kernel loops over its own
 * output elements and writes each once (the backward kernels gather instead of scattering), so
 * results do not depend on loop order elsewhere and a parallel backend can split the same loops. */
#include "../internal.h"
#include "naive.h"

/* One spatial axis of the convolution. */
typedef struct conv_axis {
    int64_t stride, pad;
    bool reverse;
} conv_axis;

/* Input position that output position t reads through tap k (may be outside the input). */
static inline int64_t input_pos(const conv_axis *a, int64_t t, int64_t k) {
    return a->reverse ? t - k : t * a->stride + k - a->pad;
}

/* The inverse: the output position that reads input position x through tap k, or -1 when none
 * does (x + pad - k is negative or falls between two strides). */
static inline int64_t output_pos(const conv_axis *a, int64_t x, int64_t k) {
    if (a->reverse) return x + k;
    int64_t s = x + a->pad - k;
    return (s >= 0 && s % a->stride == 0) ? s / a->stride : -1;
}

/* (H axis, W axis) from the op parameters. Index 0 of stride/pad is conv1d's only axis, which is
 * the W axis of the (B,C,1,W) view; its H axis of size 1 is read at k = 0 only. */
static void conv_axes(const mt_kernel_args *args, conv_axis *h, conv_axis *w) {
    const mt_op_params *p = &args->params;
    bool reverse = p->reverse != 0;
    bool is_1d = args->op == MT_OP_CONV1D || args->op == MT_OP_CONV1D_BACK_INPUT ||
                 args->op == MT_OP_CONV1D_BACK_WEIGHT;
    if (is_1d) {
        *h = (conv_axis){1, 0, reverse};
        *w = (conv_axis){p->stride[0], p->pad[0], reverse};
    } else {
        *h = (conv_axis){p->stride[0], p->pad[0], reverse};
        *w = (conv_axis){p->stride[1], p->pad[1], reverse};
    }
}

/* A 4D header for t: (B,C,W) becomes (B,C,1,W); a 4D tensor is returned unchanged. Shares t's
 * storage; it lives on the caller's stack for the duration of the kernel. */
static mt_tensor as_4d(const mt_tensor *t) {
    mt_tensor v = *t;
    if (t->ndim == 3) {
        v.ndim = 4;
        v.shape[3] = t->shape[2];
        v.strides[3] = t->strides[2];
        v.shape[2] = 1;
        v.strides[2] = 0;
    }
    return v;
}

static inline int64_t pos4(const mt_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return t->offset + i0 * t->strides[0] + i1 * t->strides[1] + i2 * t->strides[2] +
           i3 * t->strides[3];
}
static inline double get4(const mt_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return t->storage->data[pos4(t, i0, i1, i2, i3)];
}
static inline void set4(mt_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3, double v) {
    t->storage->data[pos4(t, i0, i1, i2, i3)] = (float)v;
}

static inline bool inside(int64_t x, int64_t n) { return x >= 0 && x < n; }

/* out[b,o,th,tw] = sum_i sum_kh sum_kw in[b,i,y(th,kh),x(tw,kw)] * w[o,i,kh,kw] */
mt_status mt_naive_conv(const mt_kernel_args *args) {
    mt_tensor out = as_4d(args->out);         /* (B,Cout,Ho,Wo) */
    const mt_tensor in = as_4d(args->src[0]); /* (B,Cin,H,W) */
    const mt_tensor w = as_4d(args->src[1]);  /* (Cout,Cin,KH,KW) */
    conv_axis ah, aw;
    conv_axes(args, &ah, &aw);
    int64_t B = out.shape[0], Cout = out.shape[1], Ho = out.shape[2], Wo = out.shape[3];
    int64_t Cin = in.shape[1], H = in.shape[2], W = in.shape[3];
    int64_t KH = w.shape[2], KW = w.shape[3];
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < Cout; o++)
            for (int64_t th = 0; th < Ho; th++)
                for (int64_t tw = 0; tw < Wo; tw++) {
                    double acc = 0.0;
                    for (int64_t i = 0; i < Cin; i++)
                        for (int64_t kh = 0; kh < KH; kh++) {
                            int64_t y = input_pos(&ah, th, kh);
                            if (!inside(y, H)) continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t x = input_pos(&aw, tw, kw);
                                if (!inside(x, W)) continue;
                                acc += get4(&in, b, i, y, x) * get4(&w, o, i, kh, kw);
                            }
                        }
                    set4(&out, b, o, th, tw, acc);
                }
    return MT_OK;
}

/* grad_in[b,i,y,x] = sum of grad_out[b,o,th,tw] * w[o,i,kh,kw] over every (o,kh,kw) whose output
 * position (th,tw) read input position (y,x) in the forward pass. */
mt_status mt_naive_conv_back_input(const mt_kernel_args *args) {
    mt_tensor gin = as_4d(args->out);        /* (B,Cin,H,W) */
    const mt_tensor g = as_4d(args->src[0]); /* (B,Cout,Ho,Wo) */
    const mt_tensor w = as_4d(args->src[1]); /* (Cout,Cin,KH,KW) */
    conv_axis ah, aw;
    conv_axes(args, &ah, &aw);
    int64_t B = gin.shape[0], Cin = gin.shape[1], H = gin.shape[2], W = gin.shape[3];
    int64_t Cout = g.shape[1], Ho = g.shape[2], Wo = g.shape[3];
    int64_t KH = w.shape[2], KW = w.shape[3];
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < Cin; i++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    double acc = 0.0;
                    for (int64_t o = 0; o < Cout; o++)
                        for (int64_t kh = 0; kh < KH; kh++) {
                            int64_t th = output_pos(&ah, y, kh);
                            if (!inside(th, Ho)) continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t tw = output_pos(&aw, x, kw);
                                if (!inside(tw, Wo)) continue;
                                acc += get4(&g, b, o, th, tw) * get4(&w, o, i, kh, kw);
                            }
                        }
                    set4(&gin, b, i, y, x, acc);
                }
    return MT_OK;
}

/* grad_w[o,i,kh,kw] = sum_b sum_th sum_tw grad_out[b,o,th,tw] * in[b,i,y(th,kh),x(tw,kw)] */
mt_status mt_naive_conv_back_weight(const mt_kernel_args *args) {
    mt_tensor gw = as_4d(args->out);          /* (Cout,Cin,KH,KW) */
    const mt_tensor in = as_4d(args->src[0]); /* (B,Cin,H,W) */
    const mt_tensor g = as_4d(args->src[1]);  /* (B,Cout,Ho,Wo) */
    conv_axis ah, aw;
    conv_axes(args, &ah, &aw);
    int64_t Cout = gw.shape[0], Cin = gw.shape[1], KH = gw.shape[2], KW = gw.shape[3];
    int64_t B = in.shape[0], H = in.shape[2], W = in.shape[3];
    int64_t Ho = g.shape[2], Wo = g.shape[3];
    for (int64_t o = 0; o < Cout; o++)
        for (int64_t i = 0; i < Cin; i++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    double acc = 0.0;
                    for (int64_t b = 0; b < B; b++)
                        for (int64_t th = 0; th < Ho; th++) {
                            int64_t y = input_pos(&ah, th, kh);
                            if (!inside(y, H)) continue;
                            for (int64_t tw = 0; tw < Wo; tw++) {
                                int64_t x = input_pos(&aw, tw, kw);
                                if (!inside(x, W)) continue;
                                acc += get4(&g, b, o, th, tw) * get4(&in, b, i, y, x);
                            }
                        }
                    set4(&gw, o, i, kh, kw, acc);
                }
    return MT_OK;
}
