/* The openmp backend's nn kernels against the naive reference: pooling (forward and backward),
 * argmax, softmax, logsoftmax and dropout, kernel by kernel on the same inputs: contiguous,
 * permuted (reversed storage) and strided (no unit stride) inputs, permuted outputs, every dim,
 * odd sizes, rows longer than the softmax segment, ties, signed zeros, NaN and infinities; and the
 * same bits for 1, 2, 3 and all-core threads.
 *
 * What "agrees with naive" means per op (openmp_pool.c, openmp_softmax.c, openmp_dropout.c):
 *   - bit-identical: every pooling kernel (same per-window order), argmax, dropout;
 *   - softmax within 1 ulp, logsoftmax within 2.5e-7 of max(1, |want|) (exp within ~1e-13 and a
 *     different, fixed summation order), with NaN and infinities exactly where naive has them;
 *   - softmax and logsoftmax give the same bits for every layout (the order is fixed by the row
 *     length alone), checked on rows whose logsoftmax shows any change of summation order. */
#include "check.h"
#include "tensor_compare.h"
#include "thread_counts.h"
#include "internal.h"

#if defined(_OPENMP)
#include <omp.h>
#else /* no OpenMP, no openmp backend: main() says so; thread counts are moot */
static int omp_get_max_threads(void) { return 1; }
static void omp_set_num_threads(int n) { (void)n; }
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const mt_backend *OMP, *NAIVE;
static mt_rng RNG;

/* ------------------------------------------------------------------ values and tensors */
typedef enum {
    VAL_UNIFORM, /* [-3, 3) */
    VAL_WIDE,    /* [-100, 100): softmax terms that underflow */
    VAL_TIES,    /* multiples of 1/2 in [-1, 1] and -0.0: ties and signed zeros everywhere */
    VAL_SPECIAL, /* VAL_TIES with 1 in 8 values NaN, +inf or -inf */
    VAL_HUGE,    /* half +-2^70, half in [-1, 1): double sums that depend on the order of terms */
} val_kind;

static float draw(val_kind kind) {
    double u = mt_rng_uniform(&RNG);
    static const float ties[] = {-1.0f, -0.5f, -0.0f, 0.0f, 0.5f, 1.0f};
    switch (kind) {
    case VAL_UNIFORM: return (float)(-3.0 + 6.0 * u);
    case VAL_WIDE: return (float)(-100.0 + 200.0 * u);
    case VAL_TIES: return ties[(int)(u * 6.0)];
    case VAL_SPECIAL: {
        static const float special[] = {NAN, INFINITY, -INFINITY};
        if (u < 0.125) return special[(int)(mt_rng_uniform(&RNG) * 3.0)];
        return ties[(int)(mt_rng_uniform(&RNG) * 6.0)];
    }
    case VAL_HUGE:
        if (u < 0.5) return u < 0.25 ? 0x1p70f : -0x1p70f;
        return (float)(2.0 * mt_rng_uniform(&RNG) - 1.0);
    }
    return 0.0f;
}

typedef enum { LAYOUT_CONTIGUOUS, LAYOUT_PERMUTED, LAYOUT_STRIDED, LAYOUT_COUNT } layout;
static const char *LAYOUT_NAMES[] = {"contiguous", "permuted", "strided"};

/* host (row-major values of shape) as a tensor: contiguous; permuted (stored with reversed dims,
 * permuted back: strides run backwards); or strided (every other element of rows twice as long,
 * from offset 1: no dim has stride 1, and the skipped words hold NaN). */
static mt_tensor *tensor_of(mt_ctx *ctx, int nd, const int64_t *shape, const float *host,
                            layout l) {
    int64_t n = 1, rev[MT_MAX_DIMS], wide[MT_MAX_DIMS];
    int order[MT_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        n *= shape[d];
        rev[d] = shape[nd - 1 - d];
        order[d] = nd - 1 - d;
        wide[d] = shape[d];
    }
    if (l == LAYOUT_CONTIGUOUS) return mt_from_array(ctx, nd, shape, host);
    float *buf = malloc((size_t)(2 * n) * sizeof(float));
    mt_tensor *t = NULL;
    if (l == LAYOUT_PERMUTED) {
        /* element index (i0..in-1) lives at the row-major position of (in-1..i0) in rev */
        int64_t index[MT_MAX_DIMS], ridx[MT_MAX_DIMS];
        for (int64_t i = 0; i < n; i++) {
            mt_ordinal_to_index(i, nd, shape, index);
            for (int d = 0; d < nd; d++) ridx[d] = index[nd - 1 - d];
            int64_t pos = 0;
            for (int d = 0; d < nd; d++) pos = pos * rev[d] + ridx[d];
            buf[pos] = host[i];
        }
        t = mt_permute(ctx, mt_from_array(ctx, nd, rev, buf), order);
    } else {
        wide[nd - 1] *= 2;
        for (int64_t i = 0; i < n; i++) {
            buf[2 * i] = NAN;
            buf[2 * i + 1] = host[i];
        }
        mt_tensor *base = mt_from_array(ctx, nd, wide, buf);
        t = base ? mt_tensor_alias(ctx, base) : NULL;
        if (t) { /* base strides (..., 2W, 1) already step over the gaps but for the last */
            t->shape[nd - 1] = shape[nd - 1];
            t->strides[nd - 1] = 2;
            t->offset = 1;
        }
    }
    free(buf);
    return t;
}

/* Random values of a kind in the given layout. */
static mt_tensor *random_tensor(mt_ctx *ctx, int nd, const int64_t *shape, val_kind kind,
                                layout l) {
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= shape[d];
    float *host = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) host[i] = draw(kind);
    mt_tensor *t = tensor_of(ctx, nd, shape, host, l);
    free(host);
    return t;
}

/* A fresh output filled with NaN (a forgotten element shows), permuted when asked. */
static mt_tensor *make_out(mt_ctx *ctx, int nd, const int64_t *shape, int permuted) {
    int64_t rev[MT_MAX_DIMS];
    int order[MT_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        rev[d] = shape[nd - 1 - d];
        order[d] = nd - 1 - d;
    }
    mt_tensor *t = permuted && nd >= 2 ? mt_permute(ctx, mt_tensor_alloc(ctx, OMP, nd, rev), order)
                                       : mt_tensor_alloc(ctx, OMP, nd, shape);
    for (int64_t i = 0; t && i < t->storage->size; i++) t->storage->data[i] = NAN;
    return t;
}

static void run(const mt_backend *b, mt_op op, mt_tensor *out, const mt_tensor *x,
                const mt_tensor *y, mt_op_params params) {
    mt_kernel_args args = {.op = op, .out = out, .src = {x, y, NULL}, .nsrc = y ? 2 : 1,
                           .params = params};
    CHECK_OK(mt_run_kernel(b, &args));
}

static mt_op_params dim_params(int dim) { return (mt_op_params){.dim = dim}; }
static mt_op_params pool_params(int kh, int kw) { return (mt_op_params){.kernel = {kh, kw}}; }

/* ------------------------------------------------------------------ pooling */
typedef struct pool_case {
    int64_t shape[4]; /* the input (B,C,H,W) */
    int kh, kw;
} pool_case;

/* Square, tall and wide windows, 1x1, odd sizes, a row of 258 windows (past the 256-window
 * span), MNIST's 4x4 pooling (7 windows a row: 36 rows a span, spans across planes and images,
 * read as runs of cells), windows too wide for runs on short rows (through offsets), and rows of
 * 150 windows (a row at a time). */
static const pool_case POOL_CASES[] = {
    {{1, 1, 2, 2}, 2, 2}, {{2, 3, 6, 8}, 2, 2},  {{2, 3, 9, 5}, 3, 1},   {{1, 2, 3, 8}, 1, 4},
    {{3, 1, 9, 9}, 3, 3}, {{1, 3, 5, 7}, 1, 1},  {{2, 2, 4, 516}, 2, 2}, {{1, 1, 17, 34}, 17, 2},
    {{3, 8, 28, 28}, 4, 4}, {{2, 2, 6, 30}, 3, 6},  {{2, 3, 4, 300}, 2, 2},
};

static void check_pool_case(const pool_case *pc, val_kind kind, layout in_l, int perm_out) {
    static const mt_op ops[] = {MT_OP_AVGPOOL2D, MT_OP_AVGPOOL2D_BACK, MT_OP_MAXPOOL2D,
                                MT_OP_MAXPOOL2D_BACK};
    const int64_t *s = pc->shape;
    const int64_t ws[4] = {s[0], s[1], s[2] / pc->kh, s[3] / pc->kw}; /* the windows */
    for (size_t o = 0; o < 4; o++) {
        mt_op op = ops[o];
        bool backward = op == MT_OP_AVGPOOL2D_BACK || op == MT_OP_MAXPOOL2D_BACK;
        mt_ctx *ctx = mt_ctx_new(OMP);
        mt_tensor *x = random_tensor(ctx, 4, s, kind, in_l);                /* (B,C,H,W) */
        mt_tensor *g = random_tensor(ctx, 4, ws, VAL_UNIFORM, in_l);        /* (B,C,Ho,Wo) */
        const int64_t *os = backward ? s : ws;
        mt_tensor *got = make_out(ctx, 4, os, perm_out), *want = make_out(ctx, 4, os, 0);
        const mt_tensor *a = op == MT_OP_AVGPOOL2D_BACK ? g : x;
        const mt_tensor *b = op == MT_OP_MAXPOOL2D_BACK ? g : NULL;
        run(OMP, op, got, a, b, pool_params(pc->kh, pc->kw));
        run(NAIVE, op, want, a, b, pool_params(pc->kh, pc->kw));
        char what[160];
        snprintf(what, sizeof what, "%s %dx%d of %s, kind %d, %s input%s", mt_op_name(op), pc->kh,
                 pc->kw, shape_str(4, s), (int)kind, LAYOUT_NAMES[in_l],
                 perm_out ? ", permuted output" : "");
        compare_bits(what, got, want);
        mt_ctx_free(ctx);
    }
}

static void test_pool_vs_naive(void) {
    for (size_t c = 0; c < sizeof POOL_CASES / sizeof POOL_CASES[0]; c++)
        for (int l = 0; l < LAYOUT_COUNT; l++) {
            check_pool_case(&POOL_CASES[c], VAL_UNIFORM, (layout)l, 0);
            check_pool_case(&POOL_CASES[c], VAL_TIES, (layout)l, l == LAYOUT_PERMUTED);
            check_pool_case(&POOL_CASES[c], VAL_SPECIAL, (layout)l, 0);
            check_pool_case(&POOL_CASES[c], VAL_HUGE, (layout)l, 0);
        }
}

/* The tie rules on one 2x2-pooled row, by value: the first of equal maxima (0.0 before -0.0,
 * -0.0 before 0.0), the first NaN, and gradients routed to exactly that cell. */
static void test_maxpool_ties(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    const float nan1 = NAN, nan2 = -NAN;
    /* windows (2x2, cells row-major): {0,-0 / 0,-0}, {-0,0 / -0,0}, {1,nan1 / nan2,1},
     * {2,2 / 2,3} */
    const float in[16] = {0.0f, -0.0f, -0.0f, 0.0f, 1.0f, nan1, 2.0f, 2.0f,
                          0.0f, -0.0f, -0.0f, 0.0f, nan2, 1.0f, 2.0f, 3.0f};
    const float gv[4] = {10, 20, 30, 40};
    mt_tensor *x = mt_from_array(ctx, MT_SHAPE(1, 1, 2, 8), in);
    mt_tensor *g = mt_from_array(ctx, MT_SHAPE(1, 1, 1, 4), gv);
    mt_tensor *out = make_out(ctx, 4, (int64_t[]){1, 1, 1, 4}, 0);
    mt_tensor *gin = make_out(ctx, 4, (int64_t[]){1, 1, 2, 8}, 0);
    run(OMP, MT_OP_MAXPOOL2D, out, x, NULL, pool_params(2, 2));
    run(OMP, MT_OP_MAXPOOL2D_BACK, gin, x, g, pool_params(2, 2));
    const float *o = out->storage->data, *gi = gin->storage->data;
    CHECK(o[0] == 0.0f && !signbit(o[0]), "window of 0, -0: +0 (the first), got %g", (double)o[0]);
    CHECK(o[1] == 0.0f && signbit(o[1]), "window of -0, 0: -0 (the first), got %g", (double)o[1]);
    CHECK(isnan(o[2]) && !signbit(o[2]), "window with two NaNs: the first NaN's bits");
    CHECK(o[3] == 3.0f, "window of 2, 2, 2, 3: 3, got %g", (double)o[3]);
    const float want_gin[16] = {10, 0, 20, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40};
    int ok = 1;
    for (int i = 0; i < 16; i++) ok &= gi[i] == want_gin[i];
    CHECK(ok, "maxpool backward routes each window's gradient to its first maximum only");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ argmax, softmax, logsoftmax */
typedef struct dim_case {
    int nd;
    int64_t shape[4];
} dim_case;

/* Single elements, short rows, rows longer than the 2048-element segment, many short rows
 * (tiled when strided), and 3-D/4-D shapes whose rows have 5 neighbours (strided rows) or more
 * than 8 (tiled). */
static const dim_case DIM_CASES[] = {
    {1, {1}},        {1, {17}},          {2, {1, 1}},       {2, {33, 17}},
    {2, {3, 2500}},  {2, {700, 3}},      {3, {3, 133, 5}},  {3, {2, 40, 9}},
    {4, {2, 3, 5, 7}}, {3, {4, 1, 33}},
};

static void check_along_dim(const dim_case *dc, int dim, val_kind kind, layout l, int perm_out) {
    static const mt_op ops[] = {MT_OP_ARGMAX, MT_OP_SOFTMAX, MT_OP_LOGSOFTMAX};
    for (size_t o = 0; o < 3; o++) {
        mt_ctx *ctx = mt_ctx_new(OMP);
        mt_tensor *x = random_tensor(ctx, dc->nd, dc->shape, kind, l);
        mt_tensor *got = make_out(ctx, dc->nd, dc->shape, perm_out);
        mt_tensor *want = make_out(ctx, dc->nd, dc->shape, 0);
        run(OMP, ops[o], got, x, NULL, dim_params(dim));
        run(NAIVE, ops[o], want, x, NULL, dim_params(dim));
        char what[160];
        snprintf(what, sizeof what, "%s dim %d of %s, kind %d, %s input%s", mt_op_name(ops[o]), dim,
                 shape_str(dc->nd, dc->shape), (int)kind, LAYOUT_NAMES[l],
                 perm_out ? ", permuted output" : "");
        if (ops[o] == MT_OP_ARGMAX)
            compare_bits(what, got, want);
        else if (ops[o] == MT_OP_SOFTMAX)
            compare(what, got, want, CMP_ULP1, 0.0);
        else
            compare(what, got, want, CMP_REL, 2.5e-7);
        mt_ctx_free(ctx);
    }
}

static void test_along_dim_vs_naive(void) {
    static const val_kind kinds[] = {VAL_UNIFORM, VAL_WIDE, VAL_TIES, VAL_SPECIAL};
    for (size_t c = 0; c < sizeof DIM_CASES / sizeof DIM_CASES[0]; c++)
        for (int dim = 0; dim < DIM_CASES[c].nd; dim++)
            for (int l = 0; l < LAYOUT_COUNT; l++)
                for (size_t k = 0; k < 4; k++)
                    check_along_dim(&DIM_CASES[c], dim, kinds[k], (layout)l, k == 0 && l == 1);
}

/* Hand-made rows (12 of them, so that their transpose takes the tiled path): NaN first, NaN after
 * a larger value, +inf, +inf and NaN, all -inf, -inf beside finite values, +-1000 (exp(x) would
 * overflow, the shifted form does not), ties, signed zeros. */
static void test_along_dim_special_rows(void) {
    enum { R = 12, L = 5 };
    const float rows[R][L] = {
        {NAN, 1, 2, 3, 4},
        {1, 5, NAN, 5, -NAN},
        {1, INFINITY, 2, 3, 4},
        {INFINITY, NAN, 0, 0, 0},
        {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},
        {-INFINITY, 0, -INFINITY, 1, -INFINITY},
        {1000, 0, -1000, 999, 1000},
        {-1000, -1000.5f, -999, -1001, -2000},
        {2, 2, 2, 2, 2},
        {-0.0f, 0.0f, -0.0f, 0.0f, -1},
        {0.0f, -0.0f, -3, -0.0f, 0.0f},
        {-1e-30f, 1e-30f, 3.4e38f, -3.4e38f, 3.4e38f},
    };
    static const mt_op ops[] = {MT_OP_ARGMAX, MT_OP_SOFTMAX, MT_OP_LOGSOFTMAX};
    for (int transposed = 0; transposed <= 1; transposed++)
        for (size_t o = 0; o < 3; o++) {
            mt_ctx *ctx = mt_ctx_new(OMP);
            float t[L][R];
            for (int r = 0; r < R; r++)
                for (int k = 0; k < L; k++) t[k][r] = rows[r][k];
            mt_tensor *x = transposed ? mt_from_array(ctx, MT_SHAPE(L, R), &t[0][0])
                                      : mt_from_array(ctx, MT_SHAPE(R, L), &rows[0][0]);
            int dim = transposed ? 0 : 1;
            mt_tensor *got = make_out(ctx, 2, x->shape, 0), *want = make_out(ctx, 2, x->shape, 0);
            run(OMP, ops[o], got, x, NULL, dim_params(dim));
            run(NAIVE, ops[o], want, x, NULL, dim_params(dim));
            char what[96];
            snprintf(what, sizeof what, "%s of special rows%s", mt_op_name(ops[o]),
                     transposed ? " (along dim 0: tiled)" : "");
            compare(what, got, want, ops[o] == MT_OP_ARGMAX ? CMP_BITS : CMP_ULP1, 0.0);
            mt_ctx_free(ctx);
        }
}

/* Rows of one 0 (at a different place in each row) and 2999 values in [-31, -30): s = 1 + ~3e-10,
 * so logsoftmax at the 0, -log(s), keeps about 6 significant digits of s - 1 and any change of
 * summation order shows in its float bits. The same rows along dim 1 (contiguous: the row loop,
 * two segments), along dim 0 of the stored transpose (tiled), strided (gathers) and permuted must
 * give the same bits. */
static void test_along_dim_layout_invariant(void) {
    enum { R = 16, L = 3000 };
    float *host = malloc(sizeof(float) * R * L), *th = malloc(sizeof(float) * R * L);
    for (int r = 0; r < R; r++)
        for (int k = 0; k < L; k++)
            host[r * L + k] = k == r * 37 + 5 ? 0.0f : (float)(-31.0 + mt_rng_uniform(&RNG));
    for (int r = 0; r < R; r++)
        for (int k = 0; k < L; k++) th[k * R + r] = host[r * L + k];
    static const mt_op ops[] = {MT_OP_SOFTMAX, MT_OP_LOGSOFTMAX, MT_OP_ARGMAX};
    for (size_t o = 0; o < 3; o++) {
        mt_ctx *ctx = mt_ctx_new(OMP);
        int64_t shape[2] = {R, L}, tshape[2] = {L, R};
        mt_tensor *ref = make_out(ctx, 2, shape, 0), *want = make_out(ctx, 2, shape, 0);
        mt_tensor *c = tensor_of(ctx, 2, shape, host, LAYOUT_CONTIGUOUS);
        run(OMP, ops[o], ref, c, NULL, dim_params(1));
        run(NAIVE, ops[o], want, c, NULL, dim_params(1));
        char what[128];
        snprintf(what, sizeof what, "%s of near-cancelling rows vs naive", mt_op_name(ops[o]));
        compare(what, ref, want, ops[o] == MT_OP_ARGMAX ? CMP_BITS : CMP_REL, 2.5e-7);
        /* the transpose's result, transposed back, and the other layouts of the same rows */
        mt_tensor *tout = make_out(ctx, 2, tshape, 0);
        mt_tensor *tin = tensor_of(ctx, 2, tshape, th, LAYOUT_CONTIGUOUS);
        run(OMP, ops[o], tout, tin, NULL, dim_params(0));
        snprintf(what, sizeof what, "%s: along dim 0 of the transpose (tiled) vs rows",
                 mt_op_name(ops[o]));
        compare_bits(what, mt_contiguous(ctx, mt_transpose(ctx, tout)), ref);
        for (int l = LAYOUT_PERMUTED; l < LAYOUT_COUNT; l++) {
            mt_tensor *out = make_out(ctx, 2, shape, l == LAYOUT_PERMUTED);
            run(OMP, ops[o], out, tensor_of(ctx, 2, shape, host, (layout)l), NULL, dim_params(1));
            snprintf(what, sizeof what, "%s: %s input vs contiguous", mt_op_name(ops[o]),
                     LAYOUT_NAMES[l]);
            compare_bits(what, out, ref);
        }
        mt_ctx_free(ctx);
    }
    free(host);
    free(th);
}

/* ------------------------------------------------------------------ dropout */
static void test_dropout_vs_naive(void) {
    static const dim_case cases[] = {{1, {1}}, {1, {1000}}, {2, {33, 17}}, {3, {3, 133, 5}},
                                     {4, {2, 3, 5, 7}}, {2, {257, 300}}};
    static const float rates[] = {0.0f, 0.5f, 1.0f, 0.3f};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int l = 0; l < LAYOUT_COUNT; l++)
            for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
                const dim_case *dc = &cases[c];
                mt_ctx *ctx = mt_ctx_new(OMP);
                val_kind kind = r == 3 ? VAL_SPECIAL : VAL_UNIFORM; /* a dropped NaN is 0 too */
                mt_tensor *x = random_tensor(ctx, dc->nd, dc->shape, kind, (layout)l);
                mt_tensor *got = make_out(ctx, dc->nd, dc->shape, l == LAYOUT_PERMUTED);
                mt_tensor *want = make_out(ctx, dc->nd, dc->shape, 0);
                mt_op_params p = {.rate = rates[r], .seed = 0x9e3779b97f4a7c15ULL * (c + 1) + r};
                run(OMP, MT_OP_DROPOUT, got, x, NULL, p);
                run(NAIVE, MT_OP_DROPOUT, want, x, NULL, p);
                char what[128];
                snprintf(what, sizeof what, "dropout rate %g of %s, %s input%s", (double)rates[r],
                         shape_str(dc->nd, dc->shape), LAYOUT_NAMES[l],
                         l == LAYOUT_PERMUTED ? ", permuted output" : "");
                compare_bits(what, got, want);
                mt_ctx_free(ctx);
            }
}

/* ------------------------------------------------------------------ errors */
static void test_kernel_errors(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    mt_tensor *x = mt_tensor_alloc(ctx, OMP, 4, (int64_t[]){1, 1, 7, 6});
    mt_tensor *out = mt_tensor_alloc(ctx, OMP, 4, (int64_t[]){1, 1, 3, 3});
    mt_kernel_args args = {.op = MT_OP_MAXPOOL2D, .out = out, .src = {x}, .nsrc = 1,
                           .params = pool_params(2, 2)};
    CHECK_ERROR(mt_run_kernel(OMP, &args) == MT_OK, MT_ERR_SHAPE,
                "kernel 2 x 2, got (1, 1, 7, 6) and (1, 1, 3, 3)");
    args = (mt_kernel_args){.op = MT_OP_SOFTMAX, .out = x, .src = {x}, .nsrc = 1,
                            .params = dim_params(4)};
    CHECK_ERROR(mt_run_kernel(OMP, &args) == MT_OK, MT_ERR_ARG, "dim 4 of a 4-dim input");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ thread-count invariance */
typedef mt_tensor *(*op_runner)(mt_ctx *ctx, const mt_tensor *in, const mt_tensor *g, int variant);

/* Runs f with 1 thread, then 2, 3 and every core (thread_counts.h), and expects the same bits. */
static void check_threads(const char *what, op_runner f, const mt_tensor *in, const mt_tensor *g,
                          int variant) {
    int saved = omp_get_max_threads();
    mt_ctx *ctx = mt_ctx_new(OMP);
    omp_set_num_threads(1);
    mt_tensor *first = f(ctx, in, g, variant);
    for (int i = 0, t; (t = mt_test_thread_count(i)) != 0; i++) {
        omp_set_num_threads(t);
        mt_tensor *r = f(ctx, in, g, variant);
        char msg[160];
        snprintf(msg, sizeof msg, "%s: %d threads vs 1", what, t);
        compare_bits(msg, r, first);
    }
    omp_set_num_threads(saved);
    mt_ctx_free(ctx);
}

/* variant = op * 8 + dim */
static mt_tensor *run_along_dim(mt_ctx *ctx, const mt_tensor *in, const mt_tensor *g, int variant) {
    (void)g;
    mt_tensor *out = make_out(ctx, in->ndim, in->shape, 0);
    run(OMP, (mt_op)(variant / 8), out, in, NULL, dim_params(variant % 8));
    return out;
}

/* variant = op; 2x2 windows */
static mt_tensor *run_pool(mt_ctx *ctx, const mt_tensor *in, const mt_tensor *g, int op) {
    bool backward = op == MT_OP_AVGPOOL2D_BACK || op == MT_OP_MAXPOOL2D_BACK;
    const int64_t ws[4] = {in->shape[0], in->shape[1], in->shape[2] / 2, in->shape[3] / 2};
    mt_tensor *out = make_out(ctx, 4, backward ? in->shape : ws, 0);
    const mt_tensor *a = op == MT_OP_AVGPOOL2D_BACK ? g : in;
    run(OMP, (mt_op)op, out, a, op == MT_OP_MAXPOOL2D_BACK ? g : NULL, pool_params(2, 2));
    return out;
}

static mt_tensor *run_dropout(mt_ctx *ctx, const mt_tensor *in, const mt_tensor *g, int variant) {
    (void)g;
    mt_tensor *out = make_out(ctx, in->ndim, in->shape, 0);
    run(OMP, MT_OP_DROPOUT, out, in, NULL, (mt_op_params){.rate = 0.5f, .seed = (uint64_t)variant});
    return out;
}

/* Every op on inputs large enough for the parallel paths, contiguous and permuted: rows, tiles,
 * long rows (one per item), pooled planes. */
static void test_thread_invariance(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    const int64_t big[2] = {300, 401}, longr[2] = {3, 30000}, img[4] = {4, 8, 64, 130};
    const int64_t pooled[4] = {4, 8, 32, 65};
    mt_tensor *inputs[4] = {random_tensor(ctx, 2, big, VAL_UNIFORM, LAYOUT_CONTIGUOUS),
                            random_tensor(ctx, 2, big, VAL_WIDE, LAYOUT_PERMUTED),
                            random_tensor(ctx, 2, longr, VAL_UNIFORM, LAYOUT_CONTIGUOUS),
                            random_tensor(ctx, 2, big, VAL_TIES, LAYOUT_STRIDED)};
    char what[128];
    for (int op = MT_OP_ARGMAX; op <= MT_OP_LOGSOFTMAX; op++)
        for (int i = 0; i < 4; i++)
            for (int dim = 0; dim < 2; dim++) {
                snprintf(what, sizeof what, "%s dim %d of %s input %d", mt_op_name((mt_op)op), dim,
                         shape_str(2, inputs[i]->shape), i);
                check_threads(what, run_along_dim, inputs[i], NULL, op * 8 + dim);
            }
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        mt_tensor *x = random_tensor(ctx, 4, img, VAL_TIES, (layout)l);
        mt_tensor *g = random_tensor(ctx, 4, pooled, VAL_UNIFORM, (layout)l);
        for (int op = MT_OP_AVGPOOL2D; op <= MT_OP_MAXPOOL2D_BACK; op++) {
            snprintf(what, sizeof what, "%s 2x2 of (4,8,64,130) %s", mt_op_name((mt_op)op),
                     LAYOUT_NAMES[l]);
            check_threads(what, run_pool, x, g, op);
        }
        snprintf(what, sizeof what, "dropout of (4,8,64,130) %s", LAYOUT_NAMES[l]);
        check_threads(what, run_dropout, x, NULL, 12345);
    }
    mt_ctx_free(ctx);
}

int main(void) {
    OMP = mt_backend_by_name("openmp");
    NAIVE = mt_backend_naive();
    if (!OMP) {
        printf("test_openmp_nn: the openmp backend is not built (no OpenMP compiler support)\n");
        return 77; /* CTest reports SKIPPED (SKIP_RETURN_CODE), never a pass */
    }
    mt_rng_seed(&RNG, 20240611);
    test_pool_vs_naive();
    test_maxpool_ties();
    test_along_dim_vs_naive();
    test_along_dim_special_rows();
    test_along_dim_layout_invariant();
    test_dropout_vs_naive();
    test_kernel_errors();
    test_thread_invariance();
    return check_summary("test_openmp_nn");
}
