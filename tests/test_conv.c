/* Convolutions: MiniTorch's oracles and hand-computed cases, an independent brute-force reference
 * (forward and both gradients) over random shapes, strides and padding, MiniTorch's backward
 * identities, numerical gradients, and every validation error. */
#include "check.h"
#include "gradcheck.h"
#include "internal.h" /* mt_naive_backend, to build a second backend for the mixing error */

#include <math.h>
#include <stdlib.h>
#include <string.h>

static mt_tensor *conv(mt_ctx *ctx, int nsp, mt_tensor *in, mt_tensor *w, const mt_conv_opts *o) {
    return nsp == 1 ? mt_conv1d(ctx, in, w, o) : mt_conv2d(ctx, in, w, o);
}

static void check_shape(const mt_tensor *t, int ndim, const int64_t *shape, const char *what) {
    char got[MT_SHAPE_STR_LEN], want[MT_SHAPE_STR_LEN];
    CHECK(t && t->ndim == ndim && memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0,
          "%s: shape %s, expected %s", what,
          t ? mt_shape_str(t->ndim, t->shape, got, sizeof got) : "NULL",
          mt_shape_str(ndim, shape, want, sizeof want));
}

/* ------------------------------------------------------------------ oracles */
static void test_oracles_1d(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *in = mt_from_array(ctx, MT_SHAPE(1, 1, 4), (const float[]){0, 1, 2, 3});
    mt_tensor *w = mt_from_array(ctx, MT_SHAPE(1, 1, 3), (const float[]){1, 2, 3});
    /* MiniTorch's test_conv1d_simple */
    check_values(mt_conv1d(ctx, in, w, NULL), (const float[]){8, 14, 8, 3}, 0, "conv1d simple");
    /* right-anchored: out[t] = in[t] + 2 in[t-1] + 3 in[t-2] */
    mt_conv_opts rev = {.reverse = true};
    check_values(mt_conv1d(ctx, in, w, &rev), (const float[]){0, 1, 4, 10}, 0, "conv1d reverse");

    /* the MiniTorch docs' convolution page */
    in = mt_from_array(ctx, MT_SHAPE(1, 1, 6), (const float[]){1, 2, 3, 4, 5, 6});
    w = mt_from_array(ctx, MT_SHAPE(1, 1, 3), (const float[]){5, 2, 3});
    check_values(mt_conv1d(ctx, in, w, NULL), (const float[]){18, 28, 38, 48, 37, 30}, 0,
                 "conv1d docs example");

    /* two input channels: out[t] = in0[t] + in0[t+1] - in1[t+1] (a swapped i/o index shows) */
    in = mt_from_array(ctx, MT_SHAPE(1, 2, 3), (const float[]){1, 2, 3, 4, 5, 6});
    w = mt_from_array(ctx, MT_SHAPE(1, 2, 2), (const float[]){1, 1, 0, -1});
    check_values(mt_conv1d(ctx, in, w, NULL), (const float[]){-2, -1, 3}, 0, "conv1d 2 channels");

    /* MiniTorch's form accepts a kernel longer than the input: the extra taps read zeros */
    in = mt_from_array(ctx, MT_SHAPE(1, 1, 2), (const float[]){1, 2});
    w = mt_ones(ctx, MT_SHAPE(1, 1, 5));
    check_values(mt_conv1d(ctx, in, w, NULL), (const float[]){3, 2}, 0, "conv1d long kernel");

    /* PyTorch form, stride 2 pad 1: padded [0,1,2,3,4,5,0], windows at 0, 2, 4 */
    in = mt_from_array(ctx, MT_SHAPE(1, 1, 5), (const float[]){1, 2, 3, 4, 5});
    w = mt_from_array(ctx, MT_SHAPE(1, 1, 3), (const float[]){1, 0, -1});
    mt_conv_opts pt = {.stride = {2}, .pad = {1}, .pytorch_style = true};
    mt_tensor *out = mt_conv1d(ctx, in, w, &pt);
    check_shape(out, MT_SHAPE(1, 1, 3), "conv1d stride 2 pad 1");
    check_values(out, (const float[]){-2, -2, 4}, 0, "conv1d stride 2 pad 1");
    mt_ctx_free(ctx);
}

static void test_oracles_2d(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    /* H=2, W=3 and a kernel that is not symmetric under transposition, so swapping the axes
     * anywhere changes the answer */
    mt_tensor *in = mt_from_array(ctx, MT_SHAPE(1, 1, 2, 3), (const float[]){1, 2, 3, 4, 5, 6});
    mt_tensor *w = mt_from_array(ctx, MT_SHAPE(1, 1, 2, 2), (const float[]){1, 2, 0, -1});
    /* out[y,x] = in[y,x] + 2 in[y,x+1] - in[y+1,x+1] */
    mt_tensor *out = mt_conv2d(ctx, in, w, NULL);
    check_shape(out, MT_SHAPE(1, 1, 2, 3), "conv2d");
    check_values(out, (const float[]){0, 2, 3, 14, 17, 6}, 0, "conv2d");
    /* out[y,x] = in[y,x] + 2 in[y,x-1] - in[y-1,x-1] */
    mt_conv_opts rev = {.reverse = true};
    check_values(mt_conv2d(ctx, in, w, &rev), (const float[]){1, 4, 7, 4, 12, 14}, 0,
                 "conv2d reverse");

    /* PyTorch form on 1..9 (3x3) with a 2x2 box filter */
    in = mt_from_array(ctx, MT_SHAPE(1, 1, 3, 3), (const float[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    w = mt_ones(ctx, MT_SHAPE(1, 1, 2, 2));
    mt_conv_opts pt = {.stride = {2, 2}, .pad = {1, 1}, .pytorch_style = true};
    out = mt_conv2d(ctx, in, w, &pt);
    check_shape(out, MT_SHAPE(1, 1, 2, 2), "conv2d stride 2 pad 1");
    check_values(out, (const float[]){1, 5, 11, 28}, 0, "conv2d stride 2 pad 1");
    /* stride and pad per axis: H stride 1 no pad, W stride 2 pad 1 */
    mt_conv_opts pt2 = {.stride = {1, 2}, .pad = {0, 1}, .pytorch_style = true};
    out = mt_conv2d(ctx, in, w, &pt2);
    check_shape(out, MT_SHAPE(1, 1, 2, 2), "conv2d stride (1,2) pad (0,1)");
    check_values(out, (const float[]){5, 16, 11, 28}, 0, "conv2d stride (1,2) pad (0,1)");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ brute-force reference */
typedef struct conv_case {
    int nsp;
    int64_t B, Cin, Cout, H, W, KH, KW; /* conv1d: H = KH = 1 */
    mt_conv_opts opts;
} conv_case;

/* One axis of the reference: the input is padded explicitly by lo before and hi after, so every
 * tap of every output position lands inside the padded buffer. */
typedef struct ref_axis {
    int64_t n, k, stride, lo, hi, out;
    bool flip; /* reverse: tap k sits k places before the anchor */
} ref_axis;

static ref_axis make_ref_axis(int64_t n, int64_t k, int stride, int pad, const mt_conv_opts *o) {
    ref_axis a = {.n = n, .k = k, .stride = 1, .out = n, .flip = o->reverse};
    if (o->pytorch_style) {
        a.stride = stride ? stride : 1;
        a.lo = a.hi = pad;
        a.out = (n + 2 * pad - k) / a.stride + 1;
    } else if (o->reverse) {
        a.lo = k - 1; /* in[t-k] for t < k reads zeros before the start */
    } else {
        a.hi = k - 1; /* in[t+k] past the end reads zeros */
    }
    return a;
}

/* Position in the padded buffer that output t reads through tap k. */
static int64_t ref_tap(const ref_axis *a, int64_t t, int64_t k) {
    return t * a->stride + (a->flip ? a->k - 1 - k : k);
}

/* out = conv(in, w), and for L = sum(out * g): gin = dL/din, gw = dL/dw, straight from the
 * definition: every (output, tap) pair adds its product into out and scatters into the two
 * gradients. All arrays row-major; out/gin/gw are zeroed here. */
static void reference(const conv_case *c, const float *in, const float *w, const float *g,
                      double *out, double *gin, double *gw) {
    ref_axis ah = make_ref_axis(c->H, c->KH, c->nsp == 2 ? c->opts.stride[0] : 1,
                                c->nsp == 2 ? c->opts.pad[0] : 0, &c->opts);
    int ia = c->nsp == 2 ? 1 : 0;
    ref_axis aw = make_ref_axis(c->W, c->KW, c->opts.stride[ia], c->opts.pad[ia], &c->opts);
    int64_t Hp = c->H + ah.lo + ah.hi, Wp = c->W + aw.lo + aw.hi;
    int64_t np = c->B * c->Cin * Hp * Wp;
    double *p = calloc((size_t)np, sizeof *p), *gp = calloc((size_t)np, sizeof *gp);
#define P(b, i, y, x) ((((b) * c->Cin + (i)) * Hp + (y)) * Wp + (x))
#define IN(b, i, y, x) ((((b) * c->Cin + (i)) * c->H + (y)) * c->W + (x))
#define WT(o, i, y, x) ((((o) * c->Cin + (i)) * c->KH + (y)) * c->KW + (x))
#define OUT(b, o, y, x) ((((b) * c->Cout + (o)) * ah.out + (y)) * aw.out + (x))
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t i = 0; i < c->Cin; i++)
            for (int64_t y = 0; y < c->H; y++)
                for (int64_t x = 0; x < c->W; x++)
                    p[P(b, i, y + ah.lo, x + aw.lo)] = in[IN(b, i, y, x)];
    memset(out, 0, sizeof(double) * (size_t)(c->B * c->Cout * ah.out * aw.out));
    memset(gw, 0, sizeof(double) * (size_t)(c->Cout * c->Cin * c->KH * c->KW));
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t o = 0; o < c->Cout; o++)
            for (int64_t th = 0; th < ah.out; th++)
                for (int64_t tw = 0; tw < aw.out; tw++)
                    for (int64_t i = 0; i < c->Cin; i++)
                        for (int64_t kh = 0; kh < c->KH; kh++)
                            for (int64_t kw = 0; kw < c->KW; kw++) {
                                int64_t at = P(b, i, ref_tap(&ah, th, kh), ref_tap(&aw, tw, kw));
                                double wv = w[WT(o, i, kh, kw)], gv = g[OUT(b, o, th, tw)];
                                out[OUT(b, o, th, tw)] += p[at] * wv;
                                gp[at] += gv * wv;
                                gw[WT(o, i, kh, kw)] += gv * p[at];
                            }
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t i = 0; i < c->Cin; i++)
            for (int64_t y = 0; y < c->H; y++)
                for (int64_t x = 0; x < c->W; x++)
                    gin[IN(b, i, y, x)] = gp[P(b, i, y + ah.lo, x + aw.lo)];
#undef P
#undef IN
#undef WT
#undef OUT
    free(p);
    free(gp);
}

static int64_t numel_of(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

/* Every element of t (row-major) within 1e-5 relative of want; returns the mismatch count. */
static int compare(const mt_tensor *t, const double *want, int64_t n) {
    if (!t || mt_numel(t) != n) return -1;
    float *got = malloc(sizeof(float) * (size_t)n);
    mt_to_host(t, got);
    int bad = 0;
    for (int64_t e = 0; e < n; e++)
        if (!(fabs(got[e] - want[e]) <= 1e-5 * (1.0 + fabs(want[e])))) {
            if (bad++ < 3)
                fprintf(stderr, "  element %lld: %.9g, reference %.9g\n", (long long)e, got[e],
                        want[e]);
        }
    free(got);
    return bad;
}

static void describe(const conv_case *c, char *buf, size_t len) {
    snprintf(buf, len,
             "conv%dd in (%lld,%lld,%lld,%lld) w (%lld,%lld,%lld,%lld) stride (%d,%d) "
             "pad (%d,%d)%s%s",
             c->nsp, (long long)c->B, (long long)c->Cin, (long long)c->H, (long long)c->W,
             (long long)c->Cout, (long long)c->Cin, (long long)c->KH, (long long)c->KW,
             c->opts.stride[0], c->opts.stride[1], c->opts.pad[0], c->opts.pad[1],
             c->opts.pytorch_style ? " pytorch" : "", c->opts.reverse ? " reverse" : "");
}

/* Forward, grad input and grad weight of one case against the reference; inputs are laid out
 * permuted (non-contiguous) when `permuted` is set. */
static void check_against_reference(const conv_case *c, uint64_t seed, int permuted) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    int nd = c->nsp + 2;
    int64_t in_shape[4] = {c->B, c->Cin, c->H, c->W}, w_shape[4] = {c->Cout, c->Cin, c->KH, c->KW};
    if (c->nsp == 1) in_shape[2] = c->W, w_shape[2] = c->KW;
    mt_tensor *in = make_tensor(ctx, nd, in_shape, -1, 1, &rng, permuted);
    mt_tensor *w = make_tensor(ctx, nd, w_shape, -1, 1, &rng, permuted);
    mt_requires_grad(in, true);
    mt_requires_grad(w, true);
    char what[256];
    describe(c, what, sizeof what);

    mt_tensor *out = conv(ctx, c->nsp, in, w, &c->opts);
    if (!out) {
        CHECK(0, "%s: %s", what, mt_last_error());
        mt_ctx_free(ctx);
        return;
    }
    int64_t nin = numel_of(nd, in_shape), nw = numel_of(nd, w_shape), nout = mt_numel(out);
    mt_tensor *g = mt_rand_uniform(ctx, out->ndim, out->shape, -1, 1, &rng);
    float *hin = malloc(sizeof(float) * (size_t)nin), *hw = malloc(sizeof(float) * (size_t)nw),
          *hg = malloc(sizeof(float) * (size_t)nout);
    double *rout = malloc(sizeof(double) * (size_t)nout),
           *rgin = malloc(sizeof(double) * (size_t)nin), *rgw = malloc(sizeof(double) * (size_t)nw);
    mt_to_host(in, hin);
    mt_to_host(w, hw);
    mt_to_host(g, hg);
    reference(c, hin, hw, hg, rout, rgin, rgw);

    int bad = compare(out, rout, nout);
    CHECK(bad == 0, "%s (seed %llu): forward differs from the reference in %d elements", what,
          (unsigned long long)seed, bad);
    CHECK_OK(mt_backward(ctx, out, g));
    bad = compare(in->grad, rgin, nin);
    CHECK(bad == 0, "%s (seed %llu): grad input differs from the reference in %d elements", what,
          (unsigned long long)seed, bad);
    bad = compare(w->grad, rgw, nw);
    CHECK(bad == 0, "%s (seed %llu): grad weight differs from the reference in %d elements", what,
          (unsigned long long)seed, bad);
    free(hin), free(hw), free(hg), free(rout), free(rgin), free(rgw);
    mt_ctx_free(ctx);
}

static int64_t rand_int(mt_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(mt_rng_next(r) % (uint64_t)(hi - lo + 1));
}

static void test_against_reference(void) {
    static const conv_case fixed[] = {
        {1, 2, 3, 4, 1, 9, 1, 3, {{0}, {0}, false, false}},
        {1, 2, 3, 4, 1, 9, 1, 3, {{0}, {0}, false, true}},
        {1, 2, 2, 3, 1, 7, 1, 3, {{2}, {1}, true, false}},   /* stride 2, pad 1 */
        {1, 1, 2, 2, 1, 8, 1, 3, {{3}, {2}, true, false}},   /* stride 3, pad 2 */
        {1, 3, 1, 2, 1, 5, 1, 5, {{1}, {0}, true, false}},   /* kernel = input: one output */
        {2, 2, 3, 4, 7, 9, 3, 2, {{0}, {0}, false, false}},  /* odd sizes */
        {2, 2, 3, 4, 7, 9, 3, 2, {{0}, {0}, false, true}},
        {2, 2, 2, 3, 7, 6, 3, 3, {{2, 2}, {1, 1}, true, false}},
        {2, 1, 2, 3, 6, 9, 2, 4, {{1, 2}, {2, 0}, true, false}}, /* per-axis stride and pad */
        {2, 2, 3, 2, 5, 5, 6, 2, {{0}, {0}, false, false}},  /* kernel taller than the input */
    };
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        for (int permuted = 0; permuted <= 1; permuted++)
            check_against_reference(&fixed[k], 100 + k, permuted);

    /* random shapes and options */
    mt_rng rng;
    mt_rng_seed(&rng, 2024);
    for (int n = 0; n < 60; n++) {
        conv_case c = {.nsp = (int)rand_int(&rng, 1, 2)};
        c.B = rand_int(&rng, 1, 3);
        c.Cin = rand_int(&rng, 1, 4);
        c.Cout = rand_int(&rng, 1, 4);
        c.W = rand_int(&rng, 1, 11);
        c.KW = rand_int(&rng, 1, 4);
        c.H = c.nsp == 2 ? rand_int(&rng, 1, 9) : 1;
        c.KH = c.nsp == 2 ? rand_int(&rng, 1, 4) : 1;
        int mode = (int)rand_int(&rng, 0, 2); /* MiniTorch, reverse, PyTorch */
        c.opts.reverse = mode == 1;
        c.opts.pytorch_style = mode == 2;
        if (mode == 2) {
            for (int a = 0; a < c.nsp; a++) {
                c.opts.stride[a] = (int)rand_int(&rng, 0, 3);
                c.opts.pad[a] = (int)rand_int(&rng, 0, 2);
            }
            /* PyTorch's form needs the kernel to fit the padded input */
            int ia = c.nsp == 2 ? 1 : 0;
            if (c.KW > c.W + 2 * c.opts.pad[ia]) c.KW = c.W + 2 * c.opts.pad[ia];
            if (c.nsp == 2 && c.KH > c.H + 2 * c.opts.pad[0]) c.KH = c.H + 2 * c.opts.pad[0];
        }
        check_against_reference(&c, 1000 + (uint64_t)n, n % 2);
    }
}

/* ------------------------------------------------------------------ backward identities */
/* MiniTorch computes conv's gradients with conv itself (Conv1dFun.backward):
 *   grad_in = conv(grad_out, w.permute(1,0,2), reverse)      (the other direction for reverse)
 *   grad_w  = conv(in.permute(1,0,2), grad_out.permute(1,0,2)), first K positions, permuted back
 * (for reverse, the roles of in and grad_out swap in grad_w). Both must hold for our kernels. */
static void check_identities(int nsp, bool reverse, uint64_t seed) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    int nd = nsp + 2;
    const int64_t *in_shape = nsp == 1 ? (const int64_t[]){2, 3, 7} : (const int64_t[]){2, 3, 5, 6};
    const int64_t *w_shape = nsp == 1 ? (const int64_t[]){4, 3, 3} : (const int64_t[]){4, 3, 2, 3};
    mt_tensor *in = make_tensor(ctx, nd, in_shape, -1, 1, &rng, 0);
    mt_tensor *w = make_tensor(ctx, nd, w_shape, -1, 1, &rng, 0);
    mt_requires_grad(in, true);
    mt_requires_grad(w, true);
    mt_conv_opts fwd = {.reverse = reverse}, back = {.reverse = !reverse};
    mt_tensor *out = conv(ctx, nsp, in, w, &fwd);
    mt_tensor *g = out ? mt_rand_uniform(ctx, out->ndim, out->shape, -1, 1, &rng) : NULL;
    CHECK_OK(mt_backward(ctx, out, g));

    bool was = mt_set_grad_enabled(false);
    const int swap01[4] = {1, 0, 2, 3};
    mt_tensor *gin = conv(ctx, nsp, g, mt_permute(ctx, w, swap01), &back);
    mt_tensor *in_t = mt_permute(ctx, in, swap01), *g_t = mt_permute(ctx, g, swap01);
    /* (Cin, Cout, ...) for the forward form; (Cout, Cin, ...) for reverse */
    mt_tensor *gw = reverse ? conv(ctx, nsp, g_t, in_t, NULL) : conv(ctx, nsp, in_t, g_t, NULL);
    mt_set_grad_enabled(was);

    int64_t n = mt_numel(in);
    float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
    int bad = 0;
    if (in->grad && gin && mt_to_host(in->grad, a) == MT_OK && mt_to_host(gin, b) == MT_OK) {
        for (int64_t e = 0; e < n; e++) bad += !(fabsf(a[e] - b[e]) <= 1e-5f * (1 + fabsf(b[e])));
    } else {
        bad = -1;
    }
    CHECK(bad == 0, "conv%dd%s: grad_in != conv(grad_out, w^T, %s) in %d elements", nsp,
          reverse ? " reverse" : "", reverse ? "forward" : "reverse", bad);

    bad = gw && w->grad ? 0 : -1;
    int64_t index[4], windex[4];
    for (int64_t e = 0; bad >= 0 && e < mt_numel(w); e++) {
        mt_ordinal_to_index(e, nd, w->shape, index); /* (o, i, kh, kw) */
        memcpy(windex, index, sizeof index);
        if (!reverse) windex[0] = index[1], windex[1] = index[0];
        float want = NAN, got = NAN;
        mt_get(gw, windex, &want);
        mt_get(w->grad, index, &got);
        bad += !(fabsf(got - want) <= 1e-5f * (1 + fabsf(want)));
    }
    CHECK(bad == 0, "conv%dd%s: grad_w != MiniTorch's conv of input and grad_out in %d elements",
          nsp, reverse ? " reverse" : "", bad);
    free(a);
    free(b);
    mt_ctx_free(ctx);
}

static void test_backward_identities(void) {
    for (int nsp = 1; nsp <= 2; nsp++)
        for (int reverse = 0; reverse <= 1; reverse++)
            for (uint64_t seed = 1; seed <= 2; seed++) check_identities(nsp, reverse, seed);
}

/* Gradients are made only for the inputs that want them. */
static void test_grad_only_where_required(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    for (int which = 0; which < 2; which++) {
        mt_tensor *in = mt_rand_uniform(ctx, MT_SHAPE(2, 2, 5, 4), -1, 1, NULL);
        mt_tensor *w = mt_rand_uniform(ctx, MT_SHAPE(3, 2, 2, 2), -1, 1, NULL);
        mt_requires_grad(which == 0 ? in : w, true);
        mt_tensor *out = mt_conv2d(ctx, in, w, NULL);
        CHECK(out && out->requires_grad, "conv2d output requires grad when an input does");
        CHECK_OK(mt_backward(ctx, mt_sum_all(ctx, out), NULL));
        CHECK((in->grad != NULL) == (which == 0) && (w->grad != NULL) == (which == 1),
              "only the input that requires grad gets one (case %d)", which);
    }
    /* no history under no_grad */
    mt_tensor *in = mt_rand_uniform(ctx, MT_SHAPE(1, 1, 4), -1, 1, NULL);
    mt_requires_grad(in, true);
    bool was = mt_set_grad_enabled(false);
    mt_tensor *out = mt_conv1d(ctx, in, mt_ones(ctx, MT_SHAPE(1, 1, 2)), NULL);
    mt_set_grad_enabled(was);
    CHECK(out && !out->node && !out->requires_grad, "no_grad: conv1d records nothing");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ numerical gradients */
static mt_tensor *f_conv1d(mt_ctx *c, mt_tensor **x, void *opts) {
    return mt_conv1d(c, x[0], x[1], opts);
}
static mt_tensor *f_conv2d(mt_ctx *c, mt_tensor **x, void *opts) {
    return mt_conv2d(c, x[0], x[1], opts);
}

typedef struct grad_case {
    const char *name;
    int nsp;
    int64_t in[4], w[4];
    mt_conv_opts opts;
} grad_case;

static void test_gradcheck(void) {
    static const grad_case cases[] = {
        {"conv1d (1,1,6)/(1,1,4)", 1, {1, 1, 6}, {1, 1, 4}, {{0}, {0}, false, false}},
        {"conv1d (2,2,6)/(3,2,2)", 1, {2, 2, 6}, {3, 2, 2}, {{0}, {0}, false, false}},
        {"conv1d reverse (2,2,6)/(3,2,3)", 1, {2, 2, 6}, {3, 2, 3}, {{0}, {0}, false, true}},
        {"conv1d stride 2 pad 1 (2,2,7)/(3,2,3)", 1, {2, 2, 7}, {3, 2, 3}, {{2}, {1}, true, false}},
        {"conv2d (2,2,6,6)/(3,2,2,4)", 2, {2, 2, 6, 6}, {3, 2, 2, 4}, {{0}, {0}, false, false}},
        {"conv2d (2,3,7,9)/(4,3,3,2)", 2, {2, 3, 7, 9}, {4, 3, 3, 2}, {{0}, {0}, false, false}},
        {"conv2d reverse (2,2,5,6)/(3,2,3,2)", 2, {2, 2, 5, 6}, {3, 2, 3, 2},
         {{0}, {0}, false, true}},
        {"conv2d stride 2 pad 1 (2,2,7,6)/(3,2,3,2)", 2, {2, 2, 7, 6}, {3, 2, 3, 2},
         {{2, 2}, {1, 1}, true, false}},
        {"conv2d stride (1,2) pad (2,0) (1,2,5,7)/(2,2,2,3)", 2, {1, 2, 5, 7}, {2, 2, 2, 3},
         {{1, 2}, {2, 0}, true, false}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const grad_case *c = &cases[k];
        for (uint64_t seed = 1; seed <= 3; seed++) {
            mt_ctx *ctx = mt_ctx_new(NULL);
            mt_rng rng;
            mt_rng_seed(&rng, seed + 10 * k);
            /* seeds 1 and 3 lay the input out permuted, seed 2 the weight */
            int in_permuted = (int)(seed % 2);
            mt_tensor *x[2] = {make_tensor(ctx, c->nsp + 2, c->in, -1, 1, &rng, in_permuted),
                               make_tensor(ctx, c->nsp + 2, c->w, -1, 1, &rng, !in_permuted)};
            mt_requires_grad(x[0], true);
            mt_requires_grad(x[1], true);
            int bad = gradcheck(c->name, c->nsp == 1 ? f_conv1d : f_conv2d, x, 2,
                                (void *)&c->opts, seed, NULL);
            CHECK(bad == 0, "gradient of %s (seed %llu): %d elements off", c->name,
                  (unsigned long long)seed, bad);
            mt_ctx_free(ctx);
        }
    }
}

/* ------------------------------------------------------------------ validation errors */
static mt_backend other_backend;

static void test_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *in1 = mt_ones(ctx, MT_SHAPE(2, 3, 5)), *w1 = mt_ones(ctx, MT_SHAPE(4, 3, 3));
    mt_tensor *in2 = mt_ones(ctx, MT_SHAPE(2, 3, 5, 5)), *w2 = mt_ones(ctx, MT_SHAPE(4, 3, 3, 3));

    CHECK_ERROR(mt_conv1d(ctx, in2, w1, NULL), MT_ERR_SHAPE,
                "conv1d: input must be (B, Cin, W), got shape (2, 3, 5, 5)");
    CHECK_ERROR(mt_conv2d(ctx, in1, w2, NULL), MT_ERR_SHAPE,
                "conv2d: input must be (B, Cin, H, W), got shape (2, 3, 5)");
    CHECK_ERROR(mt_conv1d(ctx, in1, mt_ones(ctx, MT_SHAPE(4, 3)), NULL), MT_ERR_SHAPE,
                "conv1d: weight must be (Cout, Cin, K), got shape (4, 3)");
    CHECK_ERROR(mt_conv2d(ctx, in2, w1, NULL), MT_ERR_SHAPE,
                "conv2d: weight must be (Cout, Cin, KH, KW), got shape (4, 3, 3)");
    CHECK_ERROR(mt_conv1d(ctx, in1, mt_ones(ctx, MT_SHAPE(4, 2, 3)), NULL), MT_ERR_SHAPE,
                "conv1d: input (2, 3, 5) has 3 channels but weight (4, 2, 3) expects Cin = 2");
    CHECK_ERROR(mt_conv2d(ctx, in2, mt_ones(ctx, MT_SHAPE(4, 1, 3, 3)), NULL), MT_ERR_SHAPE,
                "conv2d: input (2, 3, 5, 5) has 3 channels but weight (4, 1, 3, 3) expects "
                "Cin = 1");

    other_backend = mt_naive_backend;
    other_backend.name = "naive-copy";
    mt_ctx *other = mt_ctx_new(&other_backend);
    CHECK_ERROR(mt_conv2d(ctx, in2, mt_ones(other, MT_SHAPE(4, 3, 3, 3)), NULL), MT_ERR_BACKEND,
                "conv2d: inputs are on different backends (naive and naive-copy)");
    mt_ctx_free(other);

    mt_conv_opts o = {.stride = {-1}};
    CHECK_ERROR(mt_conv1d(ctx, in1, w1, &o), MT_ERR_ARG,
                "conv1d: stride and pad must be >= 0 (stride 0 means 1), got stride[0] = -1, "
                "pad[0] = 0");
    o = (mt_conv_opts){.pad = {0, -2}, .pytorch_style = true};
    CHECK_ERROR(mt_conv2d(ctx, in2, w2, &o), MT_ERR_ARG, "got stride[1] = 0, pad[1] = -2");
    o = (mt_conv_opts){.pad = {0, 1}};
    CHECK_ERROR(mt_conv2d(ctx, in2, w2, &o), MT_ERR_ARG, "conv2d: pad (0, 1) needs pytorch_style");
    o = (mt_conv_opts){.pad = {1}};
    CHECK_ERROR(mt_conv1d(ctx, in1, w1, &o), MT_ERR_ARG, "conv1d: pad 1 needs pytorch_style");
    o = (mt_conv_opts){.stride = {2}};
    CHECK_ERROR(mt_conv1d(ctx, in1, w1, &o), MT_ERR_ARG, "conv1d: stride 2 needs pytorch_style");
    o = (mt_conv_opts){.stride = {1, 3}};
    CHECK_ERROR(mt_conv2d(ctx, in2, w2, &o), MT_ERR_ARG,
                "conv2d: stride (1, 3) needs pytorch_style");
    o = (mt_conv_opts){.pytorch_style = true, .reverse = true};
    CHECK_ERROR(mt_conv2d(ctx, in2, w2, &o), MT_ERR_ARG,
                "conv2d: reverse belongs to MiniTorch's form; it cannot be combined with "
                "pytorch_style");
    o = (mt_conv_opts){.stride = {1, 2}, .pytorch_style = true};
    CHECK_ERROR(mt_conv1d(ctx, in1, w1, &o), MT_ERR_ARG,
                "conv1d: index 0 of stride and pad is conv1d's only axis; index 1 must be 0, got "
                "stride[1] = 2, pad[1] = 0");
    o = (mt_conv_opts){.pad = {0, 1}, .pytorch_style = true};
    CHECK_ERROR(mt_conv1d(ctx, in1, w1, &o), MT_ERR_ARG, "got stride[1] = 0, pad[1] = 1");

    o = (mt_conv_opts){.pad = {1}, .pytorch_style = true};
    mt_tensor *short_in = mt_ones(ctx, MT_SHAPE(1, 1, 3));
    CHECK_ERROR(mt_conv1d(ctx, short_in, mt_ones(ctx, MT_SHAPE(1, 1, 6)), &o), MT_ERR_SHAPE,
                "conv1d: kernel 6 is larger than the padded input 5 (input (1, 1, 3), weight "
                "(1, 1, 6), pad 1); the output would be empty");
    o = (mt_conv_opts){.pytorch_style = true};
    CHECK_ERROR(mt_conv2d(ctx, mt_ones(ctx, MT_SHAPE(1, 1, 4, 3)),
                          mt_ones(ctx, MT_SHAPE(1, 1, 2, 4)), &o),
                MT_ERR_SHAPE,
                "conv2d: kernel (2, 4) is larger than the padded input (4, 3) (input (1, 1, 4, 3), "
                "weight (1, 1, 2, 4), pad (0, 0)); the output would be empty");
    /* the kernel that exactly fits the padded input is fine: one output */
    o = (mt_conv_opts){.pad = {1}, .pytorch_style = true};
    mt_tensor *fit = mt_conv1d(ctx, short_in, mt_ones(ctx, MT_SHAPE(1, 1, 5)), &o);
    check_shape(fit, MT_SHAPE(1, 1, 1), "kernel = padded input");

    /* a NULL input propagates without replacing the first error */
    mt_tensor *bad = mt_conv1d(ctx, in2, w1, NULL);
    CHECK(mt_conv1d(ctx, bad, w1, NULL) == NULL && mt_conv2d(ctx, in2, NULL, NULL) == NULL,
          "NULL inputs give NULL");
    CHECK(strstr(mt_last_error(), "input must be (B, Cin, W)") != NULL, "first error kept: %s",
          mt_last_error());
    mt_clear_error();
    mt_ctx_free(ctx);
}

int main(void) {
    test_oracles_1d();
    test_oracles_2d();
    test_against_reference();
    test_backward_identities();
    test_grad_only_where_required();
    test_gradcheck();
    test_errors();
    return check_summary("test_conv");
}
