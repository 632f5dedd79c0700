/* conv1d and conv2d: forward, d input and d weight, in MiniTorch's form (kernel anchored left, or
 * right with `reverse`) and PyTorch's (stride, padding), as implicit GEMMs on the tiled GEMM
 * (cuda_gemm.h). The im2col matrix is never built: its elements are gathered from the input as
 * GEMM tiles are loaded, zeros for reads outside the image, so no workspace is needed.
 *
 *   forward      per image b:  out[b] (Cout, Ho*Wo)  = w (Cout, Cin*KH*KW) @ cols(in[b])
 *   back_input   per image b:  gin[b] (Cin, H*W)     = w^T (Cin, Cout*KH*KW) @ taps(g[b])
 *                (a gather: each input position sums the outputs that read it, so one writer)
 *   back_weight  once:         gw (Cout, Cin*KH*KW)  = g (Cout, B*Ho*Wo) @ cols(in)^T
 *
 * Contract: cuda_gemm.h's (one writer per output, k in order). The k order of the forward is
 * (i, kh, kw), the naive backend's loop order. A 1-D tensor (B,C,W) is the 2-D tensor (B,C,1,W)
 * whose H axis has one tap, as in the naive backend. */
#include "cuda_gemm.h"

namespace {

/* One spatial axis: output t reads input t*stride + k - pad, or t - k in the reverse form. */
struct conv_axis {
    int64_t stride, pad;
    int reverse;
    __device__ int64_t input_pos(int64_t t, int64_t k) const {
        return reverse ? t - k : t * stride + k - pad;
    }
    /* the output that reads input x through tap k, or -1 */
    __device__ int64_t output_pos(int64_t x, int64_t k) const {
        if (reverse) return x + k;
        int64_t s = x + pad - k;
        return (s >= 0 && s % stride == 0) ? s / stride : -1;
    }
};

__device__ int64_t at4(const mt_kview &t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return t.offset + i0 * t.strides[0] + i1 * t.strides[1] + i2 * t.strides[2] +
           i3 * t.strides[3];
}

/* The geometry every product shares, with all tensors as 4-D views. */
struct conv_geometry {
    mt_kview in, w, out; /* in (B,Cin,H,W), w (Cout,Cin,KH,KW), out (B,Cout,Ho,Wo) or its gradient */
    conv_axis ah, aw;
    int64_t B, Cin, H, W, Cout, KH, KW, Ho, Wo;
};

struct conv_forward : conv_geometry {
    static constexpr bool kGaps = true;
    int64_t M, N, K, batches;
    __device__ gemm_batch batch(int64_t p) const { return gemm_batch{p, p, p}; } /* the image */
    /* w[o, i, kh, kw], k = (i, kh, kw) */
    __device__ float a_at(const gemm_batch &, int64_t o, int64_t k) const {
        return w.data[at4(w, o, k / (KH * KW), (k / KW) % KH, k % KW)];
    }
    /* in[b, i, y(th,kh), x(tw,kw)] */
    __device__ float b_at(const gemm_batch &at, int64_t k, int64_t n, bool *present) const {
        int64_t y = ah.input_pos(n / Wo, (k / KW) % KH), x = aw.input_pos(n % Wo, k % KW);
        *present = y >= 0 && y < H && x >= 0 && x < W;
        if (!*present) return 0.0f;
        return in.data[at4(in, at.a, k / (KH * KW), y, x)];
    }
    __device__ void store(const gemm_batch &at, int64_t o, int64_t n, float v) const {
        out.data[at4(out, at.a, o, n / Wo, n % Wo)] = v;
    }
};

struct conv_back_input : conv_geometry {
    static constexpr bool kGaps = true;
    mt_kview gin; /* (B,Cin,H,W) */
    int64_t M, N, K, batches;
    __device__ gemm_batch batch(int64_t p) const { return gemm_batch{p, p, p}; } /* the image */
    /* w[o, i, kh, kw], k = (o, kh, kw) */
    __device__ float a_at(const gemm_batch &, int64_t i, int64_t k) const {
        return w.data[at4(w, k / (KH * KW), i, (k / KW) % KH, k % KW)];
    }
    /* g[b, o, th(y,kh), tw(x,kw)] */
    __device__ float b_at(const gemm_batch &at, int64_t k, int64_t n, bool *present) const {
        int64_t th = ah.output_pos(n / W, (k / KW) % KH), tw = aw.output_pos(n % W, k % KW);
        *present = th >= 0 && th < Ho && tw >= 0 && tw < Wo;
        if (!*present) return 0.0f;
        return out.data[at4(out, at.a, k / (KH * KW), th, tw)];
    }
    __device__ void store(const gemm_batch &at, int64_t i, int64_t n, float v) const {
        gin.data[at4(gin, at.a, i, n / W, n % W)] = v;
    }
};

struct conv_back_weight : conv_geometry {
    static constexpr bool kGaps = true;
    mt_kview gw; /* (Cout,Cin,KH,KW) */
    int64_t M, N, K, batches;
    __device__ gemm_batch batch(int64_t) const { return gemm_batch{0, 0, 0}; }
    /* g[b, o, th, tw], k = (b, th, tw) */
    __device__ float a_at(const gemm_batch &, int64_t o, int64_t k) const {
        int64_t hw = Ho * Wo;
        return out.data[at4(out, k / hw, o, (k % hw) / Wo, k % Wo)];
    }
    /* in[b, i, y(th,kh), x(tw,kw)] */
    __device__ float b_at(const gemm_batch &, int64_t k, int64_t n, bool *present) const {
        int64_t hw = Ho * Wo;
        int64_t y = ah.input_pos((k % hw) / Wo, (n / KW) % KH), x = aw.input_pos(k % Wo, n % KW);
        *present = y >= 0 && y < H && x >= 0 && x < W;
        if (!*present) return 0.0f;
        return in.data[at4(in, k / hw, n / (KH * KW), y, x)];
    }
    __device__ void store(const gemm_batch &, int64_t o, int64_t n, float v) const {
        gw.data[at4(gw, o, n / (KH * KW), (n / KW) % KH, n % KW)] = v;
    }
};

/* (B,C,W) as (B,C,1,W); 4-D views unchanged. */
mt_kview as_4d(mt_kview v) {
    if (v.ndim == 3) {
        v.ndim = 4;
        v.shape[3] = v.shape[2];
        v.strides[3] = v.strides[2];
        v.shape[2] = 1;
        v.strides[2] = 0;
    }
    return v;
}

bool is_conv1d(mt_op op) {
    return op == MT_OP_CONV1D || op == MT_OP_CONV1D_BACK_INPUT || op == MT_OP_CONV1D_BACK_WEIGHT;
}

/* The geometry from the call: which view is the input, the weight and the output (gradient). */
conv_geometry geometry_of(const mt_kcall *c) {
    conv_geometry g;
    const mt_op_params *p = &c->params;
    const int rev = p->reverse != 0;
    if (is_conv1d(c->op)) {
        g.ah = conv_axis{1, 0, rev};
        g.aw = conv_axis{p->stride[0], p->pad[0], rev};
    } else {
        g.ah = conv_axis{p->stride[0], p->pad[0], rev};
        g.aw = conv_axis{p->stride[1], p->pad[1], rev};
    }
    switch (c->op) {
    case MT_OP_CONV1D:
    case MT_OP_CONV2D: /* out <- in, w */
        g.in = as_4d(c->src[0]);
        g.w = as_4d(c->src[1]);
        g.out = as_4d(c->out);
        break;
    case MT_OP_CONV1D_BACK_INPUT:
    case MT_OP_CONV2D_BACK_INPUT: /* grad_in <- grad_out, w */
        g.in = as_4d(c->out);
        g.out = as_4d(c->src[0]);
        g.w = as_4d(c->src[1]);
        break;
    default: /* back_weight: grad_w <- in, grad_out */
        g.w = as_4d(c->out);
        g.in = as_4d(c->src[0]);
        g.out = as_4d(c->src[1]);
        break;
    }
    g.B = g.in.shape[0];
    g.Cin = g.in.shape[1];
    g.H = g.in.shape[2];
    g.W = g.in.shape[3];
    g.Cout = g.w.shape[0];
    g.KH = g.w.shape[2];
    g.KW = g.w.shape[3];
    g.Ho = g.out.shape[2];
    g.Wo = g.out.shape[3];
    return g;
}

} // namespace

mt_status MT_CUDA_FN(conv)(const mt_kcall *c) {
    const conv_geometry geo = geometry_of(c);
    switch (c->op) {
    case MT_OP_CONV1D:
    case MT_OP_CONV2D: {
        conv_forward g;
        static_cast<conv_geometry &>(g) = geo;
        g.M = geo.Cout;
        g.N = geo.Ho * geo.Wo;
        g.K = geo.Cin * geo.KH * geo.KW;
        g.batches = geo.B;
        return gemm_launch(g, "conv forward");
    }
    case MT_OP_CONV1D_BACK_INPUT:
    case MT_OP_CONV2D_BACK_INPUT: {
        conv_back_input g;
        static_cast<conv_geometry &>(g) = geo;
        g.gin = geo.in;
        g.M = geo.Cin;
        g.N = geo.H * geo.W;
        g.K = geo.Cout * geo.KH * geo.KW;
        g.batches = geo.B;
        return gemm_launch(g, "conv back_input");
    }
    default: {
        conv_back_weight g;
        static_cast<conv_geometry &>(g) = geo;
        g.gw = geo.w;
        g.M = geo.Cout;
        g.N = geo.Cin * geo.KH * geo.KW;
        g.K = geo.B * geo.Ho * geo.Wo;
        g.batches = 1;
        return gemm_launch(g, "conv back_weight");
    }
    }
}
