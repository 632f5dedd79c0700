/* The openmp convolution kernels against the naive reference, kernel by kernel: conv1d and conv2d,
 * forward, d input and d weight, in MiniTorch's form, its reverse form and PyTorch's stride / pad
 * form; odd sizes, 1x1 kernels, kernels wider than the input, permuted (non-contiguous) inputs and
 * outputs, batch 1 and > 1, and shapes that cross the kernels' workspace bounds (channel chunks,
 * bands of rows, pieces of the weight gradient). Then the same bits for 1, 2, 3 and all-core
 * threads on cases large enough to be split across threads.
 *
 * The openmp kernels sum in float (one FMA chain per element), naive in double: they agree within
 * a tolerance that grows as the rounding of a float sum does, with the square root of its number
 * of terms; an indexing error is off by whole terms. */
#include "check.h"
#include "thread_counts.h"
#include "internal.h"

#if defined(_OPENMP)
#include <omp.h>
#else /* no OpenMP, no openmp backend: main() says so; thread counts are moot */
static void omp_set_num_threads(int n) { (void)n; }
static int omp_get_max_threads(void) { return 1; }
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const mt_backend *OMP, *NAIVE;
static mt_rng RNG;

typedef struct conv_case {
    const char *what;
    int nsp;                       /* spatial axes: 1 (conv1d) or 2 */
    int64_t B, Cin, H, W, Cout, KH, KW; /* conv1d: H = KH = 1 */
    int stride[2], pad[2], reverse; /* all zero: MiniTorch's form */
} conv_case;

static const conv_case CASES[] = {
    {"1d minitorch", 1, 2, 3, 1, 17, 5, 1, 4, {0}, {0}, 0},
    {"1d minitorch, kernel wider than the input", 1, 1, 2, 1, 3, 3, 1, 5, {0}, {0}, 0},
    {"1d minitorch, length 1", 1, 3, 1, 1, 1, 2, 1, 3, {0}, {0}, 0},
    {"1d reverse", 1, 3, 3, 1, 33, 4, 1, 3, {0}, {0}, 1},
    {"1d 1x1", 1, 2, 7, 1, 17, 5, 1, 1, {0}, {0}, 0},
    {"1d stride 2 pad 1", 1, 2, 3, 1, 17, 4, 1, 3, {2, 0}, {1, 0}, 0},
    {"1d stride 3 pad 2", 1, 1, 2, 1, 33, 3, 1, 4, {3, 0}, {2, 0}, 0},
    /* a padded row of 64 channels x 2102 is past the padded band's bound: channel chunks */
    {"1d channel chunks", 1, 1, 64, 1, 2100, 8, 1, 3, {0}, {0}, 0},
    /* gw^T of 192 x 700 is past the product bound: the weight gradient in pieces */
    {"1d weight-gradient pieces", 1, 2, 64, 1, 8, 700, 1, 3, {0}, {0}, 0},
    /* bands of whole images: 10 of 202 padded positions fit the product bound, the last group is
     * short */
    {"1d groups of images", 1, 37, 3, 1, 200, 64, 1, 3, {0}, {0}, 0},
    {"2d minitorch", 2, 2, 3, 17, 9, 5, 3, 4, {0}, {0}, 0},
    {"2d minitorch, kernel wider than the input", 2, 1, 2, 3, 1, 3, 5, 3, {0}, {0}, 0},
    {"2d reverse", 2, 2, 2, 17, 17, 3, 3, 3, {0}, {0}, 1},
    {"2d reverse, kernel wider than the input", 2, 1, 3, 2, 3, 2, 4, 5, {0}, {0}, 1},
    {"2d 1x1", 2, 3, 5, 7, 33, 9, 1, 1, {0}, {0}, 0},
    {"2d 1x1 stride 2", 2, 2, 3, 9, 9, 4, 1, 1, {2, 2}, {0, 0}, 0},
    {"2d stride 2 pad 1", 2, 2, 3, 17, 17, 4, 3, 3, {2, 2}, {1, 1}, 0},
    {"2d stride (2, 1) pad (0, 2)", 2, 1, 2, 9, 13, 3, 3, 5, {2, 1}, {0, 2}, 0},
    {"2d stride (1, 3) pad (1, 0)", 2, 2, 2, 11, 16, 3, 2, 4, {1, 3}, {1, 0}, 0},
    {"2d valid (pad 0)", 2, 2, 2, 10, 10, 3, 3, 3, {1, 1}, {0, 0}, 0},
    {"2d one output row", 2, 2, 3, 1, 33, 4, 1, 3, {1, 1}, {0, 1}, 0},
    /* 300 images of 11 x 11 padded positions: groups of images for the dot kernel's bands */
    {"2d groups of small images", 2, 300, 2, 9, 9, 4, 3, 3, {0}, {0}, 0},
    /* 2 x 258 x 258 padded floats: bands of rows */
    {"2d bands (padded image bound)", 2, 1, 2, 256, 256, 2, 3, 3, {0}, {0}, 0},
    /* 64 x 2398 product floats: bands of rows */
    {"2d bands (product bound)", 2, 1, 2, 48, 48, 64, 3, 3, {1, 1}, {1, 1}, 0},
};

static bool pytorch_form(const conv_case *c) {
    return c->stride[0] || c->stride[1] || c->pad[0] || c->pad[1];
}

/* Output size along an axis: the input's in MiniTorch's forms, PyTorch's rule otherwise. */
static int64_t out_size(const conv_case *c, int axis, int64_t n, int64_t k) {
    if (!pytorch_form(c)) return n;
    int s = c->stride[axis] ? c->stride[axis] : 1;
    return (n + 2 * c->pad[axis] - k) / s + 1;
}

static mt_op_params params_of(const conv_case *c) {
    mt_op_params p;
    memset(&p, 0, sizeof p);
    for (int a = 0; a < 2; a++) {
        p.stride[a] = c->stride[a] ? c->stride[a] : 1;
        p.pad[a] = c->pad[a];
    }
    p.reverse = c->reverse;
    return p;
}

/* The shapes of a case as the kernels see them: conv1d's drop H. */
typedef struct conv_shapes {
    int nd;
    int64_t x[4], w[4], y[4];
} conv_shapes;

static conv_shapes shapes_of(const conv_case *c) {
    conv_shapes s;
    if (c->nsp == 1) {
        int64_t Wo = out_size(c, 0, c->W, c->KW);
        s = (conv_shapes){3, {c->B, c->Cin, c->W}, {c->Cout, c->Cin, c->KW}, {c->B, c->Cout, Wo}};
    } else {
        int64_t Ho = out_size(c, 0, c->H, c->KH), Wo = out_size(c, 1, c->W, c->KW);
        s = (conv_shapes){4,
                          {c->B, c->Cin, c->H, c->W},
                          {c->Cout, c->Cin, c->KH, c->KW},
                          {c->B, c->Cout, Ho, Wo}};
    }
    return s;
}

/* A fresh output filled with NaN (so an element a kernel forgets shows), non-contiguous (a
 * permuted view of reversed storage) when permuted is set. */
static mt_tensor *make_out(mt_ctx *ctx, int nd, const int64_t *shape, int permuted) {
    int64_t rev[MT_MAX_DIMS];
    int order[MT_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        rev[d] = shape[nd - 1 - d];
        order[d] = nd - 1 - d;
    }
    mt_tensor *t = permuted ? mt_permute(ctx, mt_tensor_alloc(ctx, OMP, nd, rev), order)
                            : mt_tensor_alloc(ctx, OMP, nd, shape);
    for (int64_t i = 0; t && i < t->storage->size; i++) t->storage->data[i] = NAN;
    return t;
}

static mt_status run(const mt_backend *b, mt_op op, const mt_op_params *p, mt_tensor *out,
                     const mt_tensor *x, const mt_tensor *y) {
    mt_kernel_args args = {.op = op, .out = out, .src = {x, y, NULL}, .nsrc = 2, .params = *p};
    return mt_run_kernel(b, &args);
}

/* got against want: within rel * max(1, |want|), or the same bits when rel is 0. */
static void compare(const char *what, const mt_tensor *got_t, const mt_tensor *want_t, double rel) {
    int64_t n = mt_numel(want_t), bad = 0, first = -1;
    float *got = malloc((size_t)n * sizeof(float)), *want = malloc((size_t)n * sizeof(float));
    CHECK_OK(mt_to_host(got_t, got));
    CHECK_OK(mt_to_host(want_t, want));
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]), tol = rel * fmax(1.0, fabs((double)want[i]));
        bool ok = rel == 0.0 ? memcmp(&got[i], &want[i], sizeof(float)) == 0 : err <= tol;
        if (!ok && bad++ == 0) first = i;
    }
    CHECK(bad == 0, "%s: %lld of %lld elements differ (first [%lld]: %.9g, want %.9g)", what,
          (long long)bad, (long long)n, (long long)first, first >= 0 ? (double)got[first] : 0.0,
          first >= 0 ? (double)want[first] : 0.0);
    free(got);
    free(want);
}

static const mt_op OPS[2][3] = {
    {MT_OP_CONV1D, MT_OP_CONV1D_BACK_INPUT, MT_OP_CONV1D_BACK_WEIGHT},
    {MT_OP_CONV2D, MT_OP_CONV2D_BACK_INPUT, MT_OP_CONV2D_BACK_WEIGHT},
};

/* A case's random input, weight and grad_out, and for each op k of OPS (forward, back_input,
 * back_weight) its output shape and its two sources. */
typedef struct conv_io {
    mt_tensor *x, *w, *g;
    const int64_t *out_shape[3];
    const mt_tensor *srcs[3][2];
} conv_io;

static conv_io conv_io_make(mt_ctx *ctx, const conv_shapes *s, int permuted) {
    conv_io io;
    io.x = make_tensor(ctx, s->nd, s->x, -1, 1, &RNG, permuted);
    io.w = make_tensor(ctx, s->nd, s->w, -1, 1, &RNG, permuted);
    io.g = make_tensor(ctx, s->nd, s->y, -1, 1, &RNG, permuted);
    io.out_shape[0] = s->y;
    io.out_shape[1] = s->x;
    io.out_shape[2] = s->w;
    io.srcs[0][0] = io.x, io.srcs[0][1] = io.w;
    io.srcs[1][0] = io.g, io.srcs[1][1] = io.w;
    io.srcs[2][0] = io.x, io.srcs[2][1] = io.g;
    return io;
}

/* The three ops of one case, each input contiguous or permuted, against naive; the last layout
 * also writes a permuted output. */
static void check_case(const conv_case *c) {
    conv_shapes s = shapes_of(c);
    mt_op_params p = params_of(c);
    for (int layout = 0; layout < 3; layout++) {
        int perm_in = layout >= 1, perm_out = layout == 2;
        mt_ctx *ctx = mt_ctx_new(OMP);
        conv_io io = conv_io_make(ctx, &s, perm_in);
        /* terms per output element: Cin KK, Cout KK, B Ho Wo */
        double terms[3] = {(double)(c->Cin * c->KH * c->KW), (double)(c->Cout * c->KH * c->KW),
                           (double)(mt_numel(io.g) / c->Cout)};
        for (int k = 0; k < 3; k++) {
            mt_op op = OPS[c->nsp - 1][k];
            mt_tensor *got = make_out(ctx, s.nd, io.out_shape[k], perm_out);
            mt_tensor *want = make_out(ctx, s.nd, io.out_shape[k], 0);
            CHECK_OK(run(OMP, op, &p, got, io.srcs[k][0], io.srcs[k][1]));
            CHECK_OK(run(NAIVE, op, &p, want, io.srcs[k][0], io.srcs[k][1]));
            char what[200];
            snprintf(what, sizeof what, "%s: %s, inputs %s, output %s", c->what, mt_op_name(op),
                     perm_in ? "permuted" : "contiguous", perm_out ? "permuted" : "contiguous");
            compare(what, got, want, 1e-5 * fmax(1.0, sqrt(terms[k]) / 4));
        }
        mt_ctx_free(ctx);
    }
}

static void test_vs_naive(void) {
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) check_case(&CASES[i]);
}

/* Cases the direct kernel takes (openmp_conv_direct.c: stride 1, the output as large as the input,
 * few output channels): its output channel panels (1, 2, 3, 4, 5, 8, 9, 16, 24 channels), images of
 * fewer than 16 positions or of whole vectors or leaving 1, 2 or 4 vectors after tiles of 3,
 * taps past the image on every side (whole tiles' taps above and below it skipped), conv1d, and
 * a forward and back_input chain long enough to be near its bound. */
static const conv_case DIRECT[] = {
    {"2d direct, 1 channel, image under a vector", 2, 2, 1, 3, 4, 1, 3, 3, {0}, {0}, 0},
    {"2d direct, 2 channels", 2, 3, 2, 7, 9, 2, 2, 3, {0}, {0}, 0},
    {"2d direct, 3 channels, 1 vector left", 2, 2, 3, 8, 8, 3, 3, 3, {0}, {0}, 0}, /* 4 = 3 + 1 */
    {"2d direct, 4 channels, 28 x 28", 2, 3, 1, 28, 28, 4, 3, 3, {0}, {0}, 0},
    {"2d direct, 5 channels, 2 vectors left", 2, 2, 2, 10, 8, 5, 4, 2, {0}, {0}, 0},
    {"2d direct, 8 channels", 2, 2, 4, 20, 20, 8, 4, 4, {0}, {0}, 0},
    {"2d direct, 9 channels", 2, 2, 3, 12, 16, 9, 3, 5, {0}, {0}, 0},
    {"2d direct, 16 channels, long chain", 2, 2, 16, 9, 9, 16, 4, 4, {0}, {0}, 0},
    {"2d direct, 24 channels (3 panels)", 2, 2, 3, 8, 8, 24, 3, 3, {0}, {0}, 0},
    {"2d direct, reverse", 2, 2, 3, 11, 13, 8, 3, 4, {0}, {0}, 1},
    {"2d direct, kernel wider than the input", 2, 2, 2, 3, 5, 6, 5, 7, {0}, {0}, 0},
    {"2d direct, pytorch same padding", 2, 2, 3, 13, 10, 8, 3, 5, {1, 1}, {1, 2}, 0},
    /* vectors of half a row: whole tiles whose taps above (or below) the image are skipped */
    {"2d direct, taps skipped above and below", 2, 2, 3, 9, 32, 8, 5, 3, {1, 1}, {2, 1}, 0},
    {"1d direct", 1, 3, 4, 1, 37, 8, 1, 5, {0}, {0}, 0},
    {"1d direct, reverse", 1, 2, 2, 1, 64, 3, 1, 3, {0}, {0}, 1},
    {"1d direct, pytorch same padding", 1, 2, 3, 1, 30, 5, 1, 7, {1, 0}, {3, 0}, 0},
};

/* The direct kernel against the product path, bit for bit: the same inputs into a contiguous
 * output (the direct kernel) and into a permuted one (which it does not take: the product runs).
 * Both compute the FMA chain over (c, kh, kw) with the taps outside the image as zeros. The direct
 * weight gradient (openmp_conv_direct_weight.c) sums in another order than the product (lanes of
 * 16 positions, then a tree), so it is held to naive within the rounding of its B H W terms; its
 * blocks (1 to 4 output channels by up to 16 taps) and the image tails are those of these cases. */
static void test_direct_vs_product(void) {
    for (size_t i = 0; i < sizeof DIRECT / sizeof DIRECT[0]; i++) {
        const conv_case *c = &DIRECT[i];
        conv_shapes s = shapes_of(c);
        mt_op_params p = params_of(c);
        mt_ctx *ctx = mt_ctx_new(OMP);
        conv_io io = conv_io_make(ctx, &s, 0);
        for (int k = 0; k < 3; k++) {
            mt_op op = OPS[c->nsp - 1][k];
            mt_tensor *direct = make_out(ctx, s.nd, io.out_shape[k], 0);
            mt_tensor *product = make_out(ctx, s.nd, io.out_shape[k], 1);
            mt_tensor *want = make_out(ctx, s.nd, io.out_shape[k], 0);
            CHECK_OK(run(OMP, op, &p, direct, io.srcs[k][0], io.srcs[k][1]));
            CHECK_OK(run(OMP, op, &p, product, io.srcs[k][0], io.srcs[k][1]));
            CHECK_OK(run(NAIVE, op, &p, want, io.srcs[k][0], io.srcs[k][1]));
            char what[200];
            if (k < 2) {
                snprintf(what, sizeof what, "%s: %s, direct vs product", c->what, mt_op_name(op));
                compare(what, direct, product, 0.0);
            }
            double terms = k == 2   ? (double)(mt_numel(io.g) / c->Cout)
                           : k == 1 ? (double)(c->Cout * c->KH * c->KW)
                                    : (double)(c->Cin * c->KH * c->KW);
            snprintf(what, sizeof what, "%s: %s, direct vs naive", c->what, mt_op_name(op));
            compare(what, direct, want, 1e-5 * fmax(1.0, sqrt(terms) / 4));
        }
        mt_ctx_free(ctx);
    }
}

/* A view of shape (B, C, S) (conv1d) or (B, C, H, W) over fresh storage at element offset off,
 * channel planes gap floats apart: planes that start at addresses of any alignment. */
static mt_tensor *offset_view(mt_ctx *ctx, int nd, const int64_t *shape, int64_t off, int64_t gap) {
    int64_t S = 1;
    for (int d = 2; d < nd; d++) S *= shape[d];
    int64_t n = off + shape[0] * shape[1] * (S + gap);
    mt_tensor *base = make_tensor(ctx, 1, &n, -1, 1, &RNG, 0);
    mt_tensor *v = mt_tensor_alias(ctx, base);
    v->ndim = nd;
    for (int d = 0; d < nd; d++) v->shape[d] = shape[d];
    v->strides[nd - 1] = 1;
    if (nd == 4) v->strides[2] = shape[3];
    v->strides[1] = S + gap;
    v->strides[0] = shape[1] * (S + gap);
    v->offset = off;
    return v;
}

/* The direct weight gradient on inputs whose planes start at every alignment mod 16 floats, with
 * gaps between planes, against the same values contiguous: the same bits (its order of operations
 * does not depend on where the planes lie), and against naive. */
static void test_direct_weight_offsets(void) {
    static const conv_case OFFS[] = {
        {"2d direct weight, offset view", 2, 3, 3, 20, 20, 5, 4, 4, {0}, {0}, 0},
        {"2d direct weight, offset view, tail vector", 2, 2, 2, 7, 9, 3, 3, 3, {0}, {0}, 0},
        {"2d direct weight, offset view, same padding", 2, 2, 3, 13, 10, 4, 3, 5, {1, 1}, {1, 2}, 0},
        {"1d direct weight, offset view, reverse", 1, 2, 2, 1, 37, 3, 1, 5, {0}, {0}, 1},
    };
    for (size_t i = 0; i < sizeof OFFS / sizeof OFFS[0]; i++) {
        const conv_case *c = &OFFS[i];
        conv_shapes s = shapes_of(c);
        mt_op_params p = params_of(c);
        mt_op op = OPS[c->nsp - 1][2];
        for (int64_t off = 0; off < 16; off++) {
            mt_ctx *ctx = mt_ctx_new(OMP);
            mt_tensor *x = offset_view(ctx, s.nd, s.x, off, off % 3 * 5);
            mt_tensor *g = offset_view(ctx, s.nd, s.y, 15 - off, off % 2 * 7);
            mt_tensor *xc = mt_contiguous(ctx, x), *gc = mt_contiguous(ctx, g);
            mt_tensor *got = make_out(ctx, s.nd, s.w, 0), *dense = make_out(ctx, s.nd, s.w, 0);
            mt_tensor *want = make_out(ctx, s.nd, s.w, 0);
            CHECK_OK(run(OMP, op, &p, got, x, g));
            CHECK_OK(run(OMP, op, &p, dense, xc, gc));
            CHECK_OK(run(NAIVE, op, &p, want, x, g));
            char what[200];
            snprintf(what, sizeof what, "%s, offsets %lld and %lld: vs contiguous", c->what,
                     (long long)off, (long long)(15 - off));
            compare(what, got, dense, 0.0);
            snprintf(what, sizeof what, "%s, offsets %lld and %lld: vs naive", c->what,
                     (long long)off, (long long)(15 - off));
            compare(what, got, want, 1e-5 * fmax(1.0, sqrt((double)(mt_numel(g) / c->Cout)) / 4));
            mt_ctx_free(ctx);
        }
    }
}

/* got against want where want may hold inf and NaN: NaN where want has NaN, the same infinity
 * where it has one, the finite rest within rel. */
static void compare_specials(const char *what, const mt_tensor *got_t, const mt_tensor *want_t,
                             double rel) {
    int64_t n = mt_numel(want_t), bad = 0, first = -1;
    float *got = malloc((size_t)n * sizeof(float)), *want = malloc((size_t)n * sizeof(float));
    CHECK_OK(mt_to_host(got_t, got));
    CHECK_OK(mt_to_host(want_t, want));
    for (int64_t i = 0; i < n; i++) {
        bool ok;
        if (isnan(want[i]) || isinf(want[i])) {
            ok = isnan(want[i]) ? isnan(got[i]) : got[i] == want[i];
        } else {
            ok = fabs((double)got[i] - want[i]) <= rel * fmax(1.0, fabs((double)want[i]));
        }
        if (!ok && bad++ == 0) first = i;
    }
    CHECK(bad == 0, "%s: %lld of %lld elements differ (first [%lld]: %.9g, want %.9g)", what,
          (long long)bad, (long long)n, (long long)first, first >= 0 ? (double)got[first] : 0.0,
          first >= 0 ? (double)want[first] : 0.0);
    free(got);
    free(want);
}

/* An inf in the operand that meets the padding (forward, back_input: the weight; back_weight: the
 * input, then grad_out): the definition skips the taps outside the source, so the results hold inf
 * where the fast paths' 0 * inf would give NaN; openmp must give naive's results. */
static void test_nonfinite_vs_naive(void) {
    for (size_t i = 0; i < sizeof DIRECT / sizeof DIRECT[0]; i++) {
        const conv_case *c = &DIRECT[i];
        conv_shapes s = shapes_of(c);
        mt_op_params p = params_of(c);
        for (int k = 0; k < 4; k++) { /* forward, back_input, back_weight twice */
            mt_ctx *ctx = mt_ctx_new(OMP);
            conv_io io = conv_io_make(ctx, &s, 0);
            mt_tensor *holder = k < 2 ? io.w : k == 2 ? io.x : io.g;
            holder->storage->data[mt_numel(holder) - 1] = INFINITY; /* a corner: meets padding */
            int kop = k < 3 ? k : 2;
            mt_op op = OPS[c->nsp - 1][kop];
            const int64_t *shape = io.out_shape[kop];
            const mt_tensor *a = io.srcs[kop][0], *b = io.srcs[kop][1];
            mt_tensor *got = make_out(ctx, s.nd, shape, 0), *want = make_out(ctx, s.nd, shape, 0);
            CHECK_OK(run(OMP, op, &p, got, a, b));
            CHECK_OK(run(NAIVE, op, &p, want, a, b));
            char what[200];
            snprintf(what, sizeof what, "%s: %s with an inf %s", c->what, mt_op_name(op),
                     k < 2 ? "weight" : k == 2 ? "input" : "grad_out");
            compare_specials(what, got, want, 1e-4);
            mt_ctx_free(ctx);
        }
    }
}

/* MiniTorch's oracle through the public API: in [0,1,2,3], w [1,2,3] -> [8,14,8,3]; anchored right
 * (reverse), out[t] = sum_k in[t-k] w[k] -> [0,1,4,10]. Small integers: exact. */
static void test_minitorch_oracle(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    float xin[4] = {0, 1, 2, 3}, win[3] = {1, 2, 3};
    mt_tensor *x = mt_from_array(ctx, 3, (int64_t[]){1, 1, 4}, xin);
    mt_tensor *w = mt_from_array(ctx, 3, (int64_t[]){1, 1, 3}, win);
    mt_tensor *y = mt_conv1d(ctx, x, w, NULL);
    CHECK_NOT_NULL(y);
    if (y) check_values(y, (float[]){8, 14, 8, 3}, 0.0, "conv1d oracle");
    mt_conv_opts rev = {{0, 0}, {0, 0}, false, true};
    y = mt_conv1d(ctx, x, w, &rev);
    CHECK_NOT_NULL(y);
    if (y) check_values(y, (float[]){0, 1, 4, 10}, 0.0, "conv1d reverse oracle");
    mt_ctx_free(ctx);
}

/* Cases with enough work to be split across threads (bands of images, pieces of the weight
 * gradient): every op gives the same bits for 1, 2, 3 and all-core threads. */
static const conv_case BIG[] = {
    {"2d minitorch", 2, 4, 16, 24, 24, 16, 3, 3, {0}, {0}, 0},
    {"2d minitorch, batch 1", 2, 1, 32, 33, 17, 48, 3, 3, {0}, {0}, 0},
    {"2d stride 2 pad 1", 2, 8, 16, 40, 40, 16, 3, 3, {2, 2}, {1, 1}, 0},
    {"1d reverse", 1, 8, 32, 1, 256, 32, 1, 5, {0}, {0}, 1},
    {"2d few channels", 2, 8, 3, 64, 64, 8, 5, 5, {0}, {0}, 0},
    /* the direct kernel: 2 images over 4 and 6 items, each image cut into runs of tiles */
    {"2d direct, batch 2", 2, 2, 8, 32, 32, 8, 4, 4, {0}, {0}, 0},
    /* the direct weight gradient: blocks of 2 and 3 output channels, a tail vector per image */
    {"2d direct weight, uneven blocks", 2, 8, 3, 20, 21, 5, 5, 5, {0}, {0}, 0},
};

static void test_thread_invariance(void) {
    int saved = omp_get_max_threads();
    for (size_t i = 0; i < sizeof BIG / sizeof BIG[0]; i++) {
        const conv_case *c = &BIG[i];
        conv_shapes s = shapes_of(c);
        mt_op_params p = params_of(c);
        mt_ctx *ctx = mt_ctx_new(OMP);
        conv_io io = conv_io_make(ctx, &s, 0);
        for (int k = 0; k < 3; k++) {
            mt_op op = OPS[c->nsp - 1][k];
            mt_tensor *one = make_out(ctx, s.nd, io.out_shape[k], 0);
            omp_set_num_threads(1);
            CHECK_OK(run(OMP, op, &p, one, io.srcs[k][0], io.srcs[k][1]));
            for (int i = 0, nth; (nth = mt_test_thread_count(i)) != 0; i++) {
                mt_tensor *got = make_out(ctx, s.nd, io.out_shape[k], 0);
                omp_set_num_threads(nth);
                CHECK_OK(run(OMP, op, &p, got, io.srcs[k][0], io.srcs[k][1]));
                char what[160];
                snprintf(what, sizeof what, "%s: %s with %d threads vs 1", c->what,
                         mt_op_name(op), nth);
                compare(what, got, one, 0.0);
            }
        }
        mt_ctx_free(ctx);
    }
    omp_set_num_threads(saved);
}

int main(void) {
    OMP = mt_backend_by_name("openmp");
    NAIVE = mt_backend_naive();
    if (!OMP) {
        printf("test_openmp_conv: the openmp backend is not built (no OpenMP compiler support)\n");
        return 77; /* CTest reports SKIPPED (SKIP_RETURN_CODE), never a pass */
    }
    mt_rng_seed(&RNG, 20240611);
    test_minitorch_oracle();
    test_vs_naive();
    test_direct_vs_product();
    test_direct_weight_offsets();
    test_nonfinite_vs_naive();
    test_thread_invariance();
    return check_summary("test_openmp_conv");
}
