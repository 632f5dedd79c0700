/* The openmp backend against the naive reference, kernel by kernel, on the same strided inputs:
 * contiguous, permuted (non-contiguous) and broadcast operands, non-contiguous outputs, odd sizes
 * (1, 17, 33, 133, matmul sizes off the register tile and past the cache blocks), batched
 * broadcast matmul; and the same bits for 1, 2, 3 and one thread per core (thread_counts.h) for
 * every op.
 *
 * What "agrees with naive" means per op (the backend's documented precision):
 *   - bit-identical: neg, id, inv, relu, sqrt, add, mul, lt, eq, is_close, relu_back, log_back,
 *     inv_back (float arithmetic that rounds like naive's double-then-round);
 *   - within 1 ulp: exp, log, sigmoid_back; sigmoid within 3 (openmp_vmath_f32.h, which says
 *     why), and exp and sigmoid the same bits as their scalar forms there;
 *   - sums and products: a different (fixed) summation order, so a relative tolerance; max exact;
 *   - matmul: bit-identical to a float FMA chain over k in order (the kernel contract), and close
 *     to naive's double accumulation. */
#include "check.h"
#include "tensor_compare.h"
#include "thread_counts.h"
#include "internal.h"
#include "openmp/openmp_vmath_f32.h"

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

/* ------------------------------------------------------------------ tensors */
typedef enum { VAL_UNIFORM, VAL_GRID } val_kind;

/* Values: uniform in [lo, hi), or on a grid of 1/8 in [lo, hi) with small noise on some, so
 * that eq, lt and is_close see equal, close and distant pairs. */
static void fill(float *x, int64_t n, val_kind kind, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) {
        double u = mt_rng_uniform(&RNG);
        if (kind == VAL_UNIFORM) {
            x[i] = (float)(lo + (hi - lo) * u);
        } else {
            double v = lo + floor((hi - lo) * u * 8.0) / 8.0;
            if (mt_rng_uniform(&RNG) < 0.3) v += (mt_rng_uniform(&RNG) - 0.5) * 0.03;
            x[i] = (float)v;
        }
    }
}

/* A tensor on the openmp backend; permuted: stored with reversed dims and permuted back, so its
 * strides run backwards (a non-contiguous view, as MiniTorch's test strategies build). */
static mt_tensor *make(mt_ctx *ctx, int nd, const int64_t *shape, int permuted, val_kind kind,
                       float lo, float hi) {
    int64_t n = 1, rev[MT_MAX_DIMS];
    int order[MT_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        n *= shape[d];
        rev[d] = shape[nd - 1 - d];
        order[d] = nd - 1 - d;
    }
    float *host = malloc((size_t)n * sizeof(float));
    fill(host, n, kind, lo, hi);
    mt_tensor *t;
    if (permuted && nd >= 2)
        t = mt_permute(ctx, mt_from_array(ctx, nd, rev, host), order);
    else
        t = mt_from_array(ctx, nd, shape, host);
    free(host);
    return t;
}

/* rows x L values whose rows sum to a small number through large partial sums: a third are
 * +-2^30-sized, a third their negatives, a third in [-1, 1), shuffled. A double sum of such a row
 * rounds at ~2^-15 while the float result's ulp is ~2^-17, so any change of summation order shows
 * in the float bits (with benign data it vanishes in the final rounding). Stored transposed and
 * permuted back when permuted is set. */
static mt_tensor *make_cancelling(mt_ctx *ctx, int64_t rows, int64_t L, int permuted) {
    float *row = malloc((size_t)L * sizeof(float)), *host = malloc((size_t)(rows * L) * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        int64_t m = L / 3;
        for (int64_t i = 0; i < m; i++) {
            row[i] = (float)((mt_rng_uniform(&RNG) - 0.5) * 0x1p31);
            row[m + i] = -row[i];
        }
        for (int64_t i = 2 * m; i < L; i++) row[i] = (float)(2.0 * mt_rng_uniform(&RNG) - 1.0);
        for (int64_t i = L - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t k = (int64_t)(mt_rng_uniform(&RNG) * (double)(i + 1));
            float t = row[i];
            row[i] = row[k];
            row[k] = t;
        }
        for (int64_t i = 0; i < L; i++) host[permuted ? i * rows + r : r * L + i] = row[i];
    }
    mt_tensor *t = permuted ? mt_permute(ctx, mt_from_array(ctx, MT_SHAPE(L, rows), host), (int[]){1, 0})
                            : mt_from_array(ctx, MT_SHAPE(rows, L), host);
    free(row);
    free(host);
    return t;
}

/* A fresh output of this shape filled with NaN (so an element a kernel forgets shows), made
 * non-contiguous (a permuted view of reversed storage) when permuted is set. */
static mt_tensor *make_out(mt_ctx *ctx, int nd, const int64_t *shape, int permuted) {
    int64_t rev[MT_MAX_DIMS];
    int order[MT_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        rev[d] = shape[nd - 1 - d];
        order[d] = nd - 1 - d;
    }
    mt_tensor *t;
    if (permuted && nd >= 2)
        t = mt_permute(ctx, mt_tensor_alloc(ctx, OMP, nd, rev), order);
    else
        t = mt_tensor_alloc(ctx, OMP, nd, shape);
    for (int64_t i = 0; t && i < t->storage->size; i++) t->storage->data[i] = NAN;
    return t;
}

/* Runs one kernel of backend b into out. */
static void run(const mt_backend *b, mt_op op, mt_tensor *out, const mt_tensor *x,
                const mt_tensor *y, int dim) {
    mt_kernel_args args = {.op = op, .out = out, .src = {x, y, NULL}, .nsrc = y ? 2 : 1};
    args.params.dim = dim;
    CHECK_OK(mt_run_kernel(b, &args));
}

/* ------------------------------------------------------------------ elementwise */
typedef struct ew_case {
    int nd;
    int64_t out[4];
    int na;
    int64_t a[4];
    int nb;
    int64_t b[4];
} ew_case;

/* Equal shapes, odd sizes, and broadcasts of every kind: scalar, row (bias), column, both. */
static const ew_case EW_CASES[] = {
    {1, {1}, 1, {1}, 1, {1}},
    {1, {17}, 1, {17}, 1, {17}},
    {1, {133}, 1, {133}, 1, {1}},
    {2, {33, 17}, 2, {33, 17}, 2, {33, 17}},
    {3, {3, 17, 33}, 3, {3, 17, 33}, 3, {3, 17, 33}},
    {2, {17, 33}, 1, {33}, 2, {17, 33}},
    {2, {17, 33}, 2, {17, 1}, 2, {1, 33}},
    {3, {5, 17, 33}, 1, {1}, 3, {5, 1, 33}},
    {4, {2, 3, 5, 7}, 4, {2, 1, 5, 1}, 2, {5, 7}},
};

typedef struct op_spec {
    mt_op op;
    cmp_mode mode;
    val_kind kind;
    float lo, hi;   /* a's values */
    float blo, bhi; /* b's values */
} op_spec;

static const op_spec MAPS[] = {
    {MT_OP_NEG, CMP_BITS, VAL_UNIFORM, -3, 3, 0, 0},
    {MT_OP_ID, CMP_BITS, VAL_UNIFORM, -3, 3, 0, 0},
    {MT_OP_INV, CMP_BITS, VAL_UNIFORM, -3, 3, 0, 0},
    {MT_OP_RELU, CMP_BITS, VAL_GRID, -2, 2, 0, 0},
    {MT_OP_SIGMOID, CMP_ULP3, VAL_UNIFORM, -30, 30, 0, 0},
    {MT_OP_LOG, CMP_ULP1, VAL_UNIFORM, 1e-3f, 50, 0, 0},
    {MT_OP_EXP, CMP_ULP1, VAL_UNIFORM, -20, 20, 0, 0},
    {MT_OP_SQRT, CMP_BITS, VAL_UNIFORM, -5, 50, 0, 0},
};

static const op_spec ZIPS[] = {
    {MT_OP_ADD, CMP_BITS, VAL_UNIFORM, -3, 3, -3, 3},
    {MT_OP_MUL, CMP_BITS, VAL_UNIFORM, -3, 3, -3, 3},
    {MT_OP_LT, CMP_BITS, VAL_GRID, -1, 1, -1, 1},
    {MT_OP_EQ, CMP_BITS, VAL_GRID, -1, 1, -1, 1},
    {MT_OP_IS_CLOSE, CMP_BITS, VAL_GRID, -1, 1, -1, 1},
    {MT_OP_RELU_BACK, CMP_BITS, VAL_GRID, -2, 2, -3, 3},
    {MT_OP_LOG_BACK, CMP_BITS, VAL_UNIFORM, 0.1f, 5, -3, 3},
    {MT_OP_INV_BACK, CMP_BITS, VAL_UNIFORM, -3, 3, -3, 3},
    {MT_OP_SIGMOID_BACK, CMP_ULP1, VAL_UNIFORM, -20, 20, -3, 3},
};

/* One elementwise op over every case, input layout and output layout. */
static void check_elementwise(const op_spec *s, int is_zip) {
    for (size_t c = 0; c < sizeof EW_CASES / sizeof EW_CASES[0]; c++) {
        const ew_case *e = &EW_CASES[c];
        for (int layout = 0; layout < 4; layout++) {
            int perm_a = layout & 1, perm_b = (layout >> 1) & 1, perm_out = layout == 3;
            if (!is_zip && perm_b) continue;
            mt_ctx *ctx = mt_ctx_new(OMP);
            mt_tensor *a = make(ctx, e->na, e->a, perm_a, s->kind, s->lo, s->hi);
            mt_tensor *b = is_zip ? make(ctx, e->nb, e->b, perm_b, s->kind, s->blo, s->bhi) : NULL;
            mt_tensor *got = make_out(ctx, e->nd, e->out, perm_out);
            mt_tensor *want = make_out(ctx, e->nd, e->out, 0);
            run(OMP, s->op, got, a, b, 0);
            run(NAIVE, s->op, want, a, b, 0);
            char what[160];
            snprintf(what, sizeof what, "%s out %s a %s%s b %s%s out%s", mt_op_name(s->op),
                     shape_str(e->nd, e->out), shape_str(e->na, e->a), perm_a ? " permuted" : "",
                     is_zip ? shape_str(e->nb, e->b) : "-", perm_b ? " permuted" : "",
                     perm_out ? " permuted" : "");
            compare(what, got, want, s->mode, 0.0);
            mt_ctx_free(ctx);
        }
    }
}

static void test_elementwise_vs_naive(void) {
    for (size_t i = 0; i < sizeof MAPS / sizeof MAPS[0]; i++) check_elementwise(&MAPS[i], 0);
    for (size_t i = 0; i < sizeof ZIPS / sizeof ZIPS[0]; i++) check_elementwise(&ZIPS[i], 1);
}

/* In place, as the optimizer and gradient accumulation call it: out aliases a. */
static void test_elementwise_in_place(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    int64_t shape[2] = {133, 257};
    mt_tensor *a = make(ctx, 2, shape, 0, VAL_UNIFORM, -3, 3);
    mt_tensor *b = make(ctx, 1, shape + 1, 0, VAL_UNIFORM, -3, 3);
    mt_tensor *want = make_out(ctx, 2, shape, 0);
    run(NAIVE, MT_OP_ADD, want, a, b, 0);
    run(OMP, MT_OP_ADD, a, a, b, 0);
    compare_bits("add in place (out = a) with a broadcast b", a, want);
    mt_ctx_free(ctx);
}

/* IEEE special values and range edges of the transcendental ops, where a vector implementation
 * most easily goes wrong: zeros of both signs, negatives, infinities, NaN, subnormals, overflow
 * and underflow thresholds. */
static void test_special_values(void) {
    static const float xs[] = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN,
                               1e-45f, 1e-40f, 1.1754942e-38f, 1.1754944e-38f, 3.4e38f,
                               88.72f, 88.73f, 89.0f, 89.5f, -87.3f, -103.9f, -103.98f, -104.0f,
                               -110.0f, 700.0f, -700.0f, 0.5f, 2.0f, 1.0000001f, 0.99999994f,
                               16.0f, -16.0f, 30.0f, -30.0f};
    int64_t n = (int64_t)(sizeof xs / sizeof xs[0]);
    mt_ctx *ctx = mt_ctx_new(OMP);
    mt_tensor *a = mt_from_array(ctx, 1, &n, xs);
    mt_tensor *g = mt_from_array(ctx, 1, &n, xs); /* gradients: the same values */
    static const mt_op maps[] = {MT_OP_EXP, MT_OP_LOG, MT_OP_SIGMOID, MT_OP_INV, MT_OP_RELU,
                                 MT_OP_SQRT};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        mt_tensor *got = make_out(ctx, 1, &n, 0), *want = make_out(ctx, 1, &n, 0);
        run(OMP, maps[i], got, a, NULL, 0);
        run(NAIVE, maps[i], want, a, NULL, 0);
        char what[64];
        snprintf(what, sizeof what, "%s on special values", mt_op_name(maps[i]));
        compare(what, got, want, maps[i] == MT_OP_SIGMOID ? CMP_ULP3 : CMP_ULP1, 0.0);
    }
    static const mt_op zips[] = {MT_OP_SIGMOID_BACK, MT_OP_LOG_BACK, MT_OP_INV_BACK,
                                 MT_OP_RELU_BACK, MT_OP_IS_CLOSE};
    for (size_t i = 0; i < sizeof zips / sizeof zips[0]; i++) {
        mt_tensor *got = make_out(ctx, 1, &n, 0), *want = make_out(ctx, 1, &n, 0);
        run(OMP, zips[i], got, a, g, 0);
        run(NAIVE, zips[i], want, a, g, 0);
        char what[64];
        snprintf(what, sizeof what, "%s on special values", mt_op_name(zips[i]));
        compare(what, got, want, CMP_ULP1, 0.0);
    }
    mt_ctx_free(ctx);
}

/* exp and log within 1 ulp of naive, sigmoid within 3, across their whole useful ranges (a dense
 * sweep of 2^18 values per op, geometric for log so every binade is covered). */
static void test_transcendental_sweep(void) {
    int64_t n = 1 << 18;
    mt_ctx *ctx = mt_ctx_new(OMP);
    float *h = malloc((size_t)n * sizeof(float));
    for (int op = 0; op < 3; op++) {
        for (int64_t i = 0; i < n; i++) {
            double u = (double)i / (double)n;
            h[i] = op == 0   ? (float)(-105.0 + 195.0 * u)            /* exp: past both edges */
                   : op == 1 ? (float)exp2(-149.0 + 277.0 * u)        /* log: subnormal..2^128 */
                             : (float)(-120.0 + 240.0 * u);           /* sigmoid */
        }
        mt_op mop = op == 0 ? MT_OP_EXP : op == 1 ? MT_OP_LOG : MT_OP_SIGMOID;
        mt_tensor *a = mt_from_array(ctx, 1, &n, h);
        mt_tensor *got = make_out(ctx, 1, &n, 0), *want = make_out(ctx, 1, &n, 0);
        run(OMP, mop, got, a, NULL, 0);
        run(NAIVE, mop, want, a, NULL, 0);
        char what[64];
        snprintf(what, sizeof what, "%s sweep of 2^18 values", mt_op_name(mop));
        compare(what, got, want, mop == MT_OP_SIGMOID ? CMP_ULP3 : CMP_ULP1, 0.0);
        mt_ctx_reset(ctx);
    }
    free(h);
    mt_ctx_free(ctx);
}

/* exp and sigmoid: the backend's contiguous runs (AVX-512 body and masked tail where built) and
 * strided runs give the bits of the scalar mt_vm_expf / mt_vm_sigmoidf, on a dense sweep past both
 * ends of exp's range, the special values, and every run length up to 40. */
static void test_exp_sigmoid_paths_agree(void) {
    static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-45f,
                                     88.7228f, 88.72284f, 88.7229f, -87.33655f, -87.3366f,
                                     -103.27893f, -103.972f, -104.0f, -104.1f, 3.4e38f, -3.4e38f,
                                     86.6f, -86.6f, 88.0f, -88.0f, 1e7f, -1e7f};
    int64_t n = (1 << 18) + 24;
    mt_ctx *ctx = mt_ctx_new(OMP);
    float *h = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < (1 << 18); i++) h[i] = (float)(-130.0 + 230.0 * (double)i / (1 << 18));
    memcpy(h + (1 << 18), specials, sizeof specials);
    for (int op = 0; op < 2; op++) {
        mt_op mop = op == 0 ? MT_OP_EXP : MT_OP_SIGMOID;
        int64_t bad = 0, first = -1;
        for (int64_t len = 1; len <= 40; len++) { /* every tail length, then the whole sweep */
            int64_t m = len == 40 ? n : len, off = len == 40 ? 0 : (1 << 18) + 24 - len;
            mt_tensor *a = mt_from_array(ctx, 1, &m, h + off);
            mt_tensor *got = make_out(ctx, 1, &m, 0);
            run(OMP, mop, got, a, NULL, 0);
            float *g = host_of(got);
            for (int64_t i = 0; g && i < m; i++) {
                float x = h[off + i], w = op == 0 ? mt_vm_expf(x) : mt_vm_sigmoidf(x);
                if (memcmp(&g[i], &w, sizeof w) != 0 && !(isnan(g[i]) && isnan(w)) && bad++ == 0)
                    first = off + i;
            }
            free(g);
            mt_ctx_reset(ctx);
        }
        CHECK(bad == 0, "%s: backend differs from the scalar form on %lld values (first x = %a)",
              mt_op_name(mop), (long long)bad, first >= 0 ? (double)h[first] : 0.0);
        /* strided runs: the sweep as a transposed (512, 512) view, into a contiguous and into a
         * permuted output */
        int64_t sq[2] = {512, 512};
        mt_tensor *at = mt_transpose(ctx, mt_from_array(ctx, 2, sq, h));
        for (int permuted = 0; permuted < 2; permuted++) {
            mt_tensor *got = make_out(ctx, 2, sq, permuted);
            run(OMP, mop, got, at, NULL, 0);
            float *g = host_of(got);
            int64_t sbad = 0;
            for (int64_t i = 0; g && i < 512 * 512; i++) {
                float x = h[(i % 512) * 512 + i / 512], w = op == 0 ? mt_vm_expf(x) : mt_vm_sigmoidf(x);
                sbad += memcmp(&g[i], &w, sizeof w) != 0 && !(isnan(g[i]) && isnan(w));
            }
            CHECK(g && sbad == 0, "%s: strided input, %s output: differs from the scalar form on %lld values",
                  mt_op_name(mop), permuted ? "permuted" : "contiguous", (long long)sbad);
            free(g);
        }
        mt_ctx_reset(ctx);
    }
    free(h);
    mt_ctx_free(ctx);
}

/* sqrtf is correctly rounded, and so is naive's (float)sqrt((double)x) (double has more than
 * 2 * 24 + 2 bits): the same bits on 2^18 values spread geometrically over every binade, subnormals
 * included, and their negatives (NaN). */
static void test_sqrt_bits(void) {
    int64_t n = 1 << 18;
    mt_ctx *ctx = mt_ctx_new(OMP);
    float *h = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        float v = (float)exp2(-149.0 + 277.0 * (double)(i / 2) / (double)(n / 2));
        h[i] = i % 2 ? -v : v;
    }
    mt_tensor *a = mt_from_array(ctx, 1, &n, h);
    mt_tensor *got = make_out(ctx, 1, &n, 0), *want = make_out(ctx, 1, &n, 0);
    run(OMP, MT_OP_SQRT, got, a, NULL, 0);
    run(NAIVE, MT_OP_SQRT, want, a, NULL, 0);
    compare_bits("sqrt sweep of 2^18 values", got, want);
    free(h);
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ reductions */
typedef struct red_case {
    int nd;
    int64_t shape[4];
} red_case;

static const red_case RED_CASES[] = {
    {1, {1}},         {1, {17}},          {1, {133}},        {2, {33, 17}},
    {2, {1, 33}},     {3, {3, 133, 5}},   {3, {17, 1, 33}},  {2, {40, 133}},
    {2, {2, 20000}},  {2, {5000, 3}},     {2, {700, 40}},    {4, {2, 3, 5, 7}},
};

static void test_reduce_vs_naive(void) {
    static const mt_op ops[] = {MT_OP_SUM, MT_OP_PROD, MT_OP_MAX};
    for (size_t c = 0; c < sizeof RED_CASES / sizeof RED_CASES[0]; c++) {
        const red_case *e = &RED_CASES[c];
        for (int dim = 0; dim < e->nd; dim++)
            for (int perm = 0; perm < 2; perm++)
                for (size_t o = 0; o < 3; o++) {
                    mt_op op = ops[o];
                    mt_ctx *ctx = mt_ctx_new(OMP);
                    /* products stay near 1 so long ones neither overflow nor vanish */
                    mt_tensor *a = op == MT_OP_PROD
                                       ? make(ctx, e->nd, e->shape, perm, VAL_UNIFORM, 0.999f, 1.001f)
                                       : make(ctx, e->nd, e->shape, perm, VAL_UNIFORM, -3, 3);
                    int64_t oshape[4];
                    memcpy(oshape, e->shape, sizeof oshape);
                    oshape[dim] = 1;
                    mt_tensor *got = make_out(ctx, e->nd, oshape, perm);
                    mt_tensor *want = make_out(ctx, e->nd, oshape, 0);
                    run(OMP, op, got, a, NULL, dim);
                    run(NAIVE, op, want, a, NULL, dim);
                    char what[128];
                    snprintf(what, sizeof what, "%s over dim %d of %s%s", mt_op_name(op), dim,
                             shape_str(e->nd, e->shape), perm ? " permuted" : "");
                    /* sums of L values of size ~1 in double then rounded: a float ulp or two */
                    compare(what, got, want, op == MT_OP_MAX ? CMP_BITS : CMP_REL, 3e-7);
                    mt_ctx_free(ctx);
                }
    }
}

/* The summation order depends only on the reduced length, never on the layout: a permuted view
 * and its contiguous copy give the same bits along every dim (the contiguous, tiled and strided
 * loops agree). */
static void test_reduce_layout_invariant(void) {
    static const mt_op ops[] = {MT_OP_SUM, MT_OP_PROD, MT_OP_MAX};
    int64_t shape[3] = {37, 300, 45};
    for (int dim = 0; dim < 3; dim++)
        for (size_t o = 0; o < 3; o++) {
            mt_ctx *ctx = mt_ctx_new(OMP);
            float lo = ops[o] == MT_OP_PROD ? 0.99f : -3, hi = ops[o] == MT_OP_PROD ? 1.01f : 3;
            mt_tensor *p = make(ctx, 3, shape, 1, VAL_UNIFORM, lo, hi);
            mt_tensor *c = mt_contiguous(ctx, p);
            int64_t oshape[3] = {shape[0], shape[1], shape[2]};
            oshape[dim] = 1;
            mt_tensor *rp = make_out(ctx, 3, oshape, 0), *rc = make_out(ctx, 3, oshape, 0);
            run(OMP, ops[o], rp, p, NULL, dim);
            run(OMP, ops[o], rc, c, NULL, dim);
            char what[96];
            snprintf(what, sizeof what, "%s over dim %d: permuted input vs contiguous copy",
                     mt_op_name(ops[o]), dim);
            compare_bits(what, rp, rc);
            mt_ctx_free(ctx);
        }
}

/* The same bits for every loop shape on sums whose rounding is visible: along dim 1 of
 * (rows, L) (contiguous: the lane loop; transposed: the tiled loop) and along dim 0 of its
 * transpose. */
static void check_cancelling_sums(int64_t rows, int64_t L) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    mt_tensor *c = make_cancelling(ctx, rows, L, 0), *p = make_cancelling(ctx, rows, L, 1);
    mt_tensor *pc = mt_contiguous(ctx, p);
    int64_t o1[2] = {rows, 1}, o0[2] = {1, rows};
    mt_tensor *rc = make_out(ctx, 2, o1, 0), *rp = make_out(ctx, 2, o1, 0);
    mt_tensor *want = make_out(ctx, 2, o1, 0);
    char what[128];
    run(OMP, MT_OP_SUM, rc, pc, NULL, 1);
    run(OMP, MT_OP_SUM, rp, p, NULL, 1);
    snprintf(what, sizeof what, "sum of cancelling rows %s: transposed input vs contiguous copy",
             shape_str(2, (int64_t[]){rows, L}));
    compare_bits(what, rp, rc);
    run(NAIVE, MT_OP_SUM, want, p, NULL, 1);
    snprintf(what, sizeof what, "sum of cancelling rows %s vs naive", shape_str(2, (int64_t[]){rows, L}));
    compare(what, rp, want, CMP_REL, 1e-4); /* both round at 2^-15 */
    /* the transpose (L, rows) reduced along dim 0: tiled when contiguous, lanes when permuted */
    mt_tensor *t = mt_transpose(ctx, c), *tc = mt_contiguous(ctx, t);
    mt_tensor *r0 = make_out(ctx, 2, o0, 0), *r0c = make_out(ctx, 2, o0, 0);
    run(OMP, MT_OP_SUM, r0, t, NULL, 0);
    run(OMP, MT_OP_SUM, r0c, tc, NULL, 0);
    snprintf(what, sizeof what, "sum of cancelling columns %s: transposed input vs contiguous copy",
             shape_str(2, (int64_t[]){L, rows}));
    compare_bits(what, r0, r0c);
    mt_ctx_free(ctx);
}

/* (700, 37): one partial tile; (5000, 300): full tiles and a partial one, and two blocks of RB
 * rows, the second of a length (904) that is no multiple of LANES. */
static void test_reduce_layout_invariant_cancelling(void) {
    check_cancelling_sums(37, 700);
    check_cancelling_sums(300, 5000);
}

/* Column c of a (len, ncols) matrix, whose stored transpose is reduced along its contiguous dim
 * (the lane loop, the definition's order) and whose contiguous form is reduced along dim 0 (the
 * tiled loop, which for max folds the rows in plain order where that provably gives the same bits
 * and redoes the other columns): the two must agree bit for bit. */
static void check_tiled_vs_lanes(mt_ctx *ctx, const char *what, mt_op op, int64_t len,
                                 int64_t ncols, const float *cols /* (ncols, len) */) {
    float *rows = malloc((size_t)(len * ncols) * sizeof(float));
    for (int64_t c = 0; c < ncols; c++)
        for (int64_t k = 0; k < len; k++) rows[k * ncols + c] = cols[c * len + k];
    mt_tensor *tiled_in = mt_from_array(ctx, MT_SHAPE(len, ncols), rows);
    mt_tensor *lanes_in =
        mt_permute(ctx, mt_from_array(ctx, MT_SHAPE(ncols, len), cols), (int[]){1, 0});
    mt_tensor *got = make_out(ctx, MT_SHAPE(1, ncols), 0), *want = make_out(ctx, MT_SHAPE(1, ncols), 0);
    run(OMP, op, got, tiled_in, NULL, 0);
    run(OMP, op, want, lanes_in, NULL, 0);
    compare_bits(what, got, want);
    free(rows);
}

/* The tiled max takes vmaxps in row order unless a column's result is zero or it holds a NaN. Row
 * 1 = +0.0 and row 64 = -0.0 as a column's largest values: the row order meets +0.0 first, the
 * definition's tree prefers lane 0 (rows 0, 64, ...), so only a redo gives -0.0. Few such columns
 * are redone one by one, many by the lane loop. */
static void test_reduce_tiled_max_zeros_nan(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    const int64_t len = 200, ncols = 40;
    float *cols = malloc((size_t)(len * ncols) * sizeof(float));
    for (int many = 0; many < 2; many++) {
        for (int64_t i = 0; i < len * ncols; i++) cols[i] = (float)(-1.0 - mt_rng_uniform(&RNG));
        for (int64_t c = 0; c < ncols; c++) {
            if (many ? c % 3 == 0 : c == 7) cols[c * len + 1] = 0.0f, cols[c * len + 64] = -0.0f;
            if (many ? c % 3 == 1 : c == 20) cols[c * len + 100 + c] = NAN;
        }
        cols[33 * len + 5] = INFINITY, cols[33 * len + 6] = -INFINITY; /* a NaN running sum */
        check_tiled_vs_lanes(ctx, many ? "tiled max, many zero and NaN columns"
                                       : "tiled max, a zero column and a NaN column",
                             MT_OP_MAX, len, ncols, cols);
    }
    free(cols);
    mt_ctx_free(ctx);
}

/* max lets NaN win and keeps -inf; sum of all -0.0 is +0.0 like naive's 0.0 start. */
static void test_reduce_special_values(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    float x[40];
    for (int i = 0; i < 40; i++) x[i] = -INFINITY;
    int64_t n = 40, one = 1;
    mt_tensor *a = mt_from_array(ctx, 1, &n, x);
    mt_tensor *r = make_out(ctx, 1, &one, 0);
    run(OMP, MT_OP_MAX, r, a, NULL, 0);
    CHECK(r && r->storage->data[0] == -INFINITY, "max of all -inf is -inf");
    x[37] = NAN;
    a = mt_from_array(ctx, 1, &n, x);
    run(OMP, MT_OP_MAX, r, a, NULL, 0);
    CHECK(r && isnan(r->storage->data[0]), "max with a NaN is NaN");
    for (int i = 0; i < 40; i++) x[i] = -0.0f;
    a = mt_from_array(ctx, 1, &n, x);
    mt_tensor *want = make_out(ctx, 1, &one, 0);
    run(OMP, MT_OP_SUM, r, a, NULL, 0);
    run(NAIVE, MT_OP_SUM, want, a, NULL, 0);
    compare_bits("sum of -0.0", r, want);
    /* Long rows take max's fast path (vmaxps, NaN flagged by a running sum): a NaN anywhere, an
     * inf and a -inf (whose sum is NaN too), and zeros of both signs must give what the exact
     * lane-by-lane fold gives on the strided layout (bits) and what naive gives (value). */
    int64_t L = 4096 + 300, shape2[2] = {2, L}, one2[2] = {2, 1}, rshape[2] = {L, 2};
    float *y = malloc((size_t)(2 * L) * sizeof(float));
    for (int c = 0; c < 5; c++) {
        for (int64_t i = 0; i < 2 * L; i++)
            y[i] = c == 4 ? (i % 3 ? -0.0f : 0.0f) : (float)((double)(i % 97) / 97.0 - 2.0);
        if (c == 0) y[5] = NAN;           /* first full block */
        if (c == 1) y[L + 4100] = NAN;    /* the partial block of row 1 */
        if (c == 2) y[4095] = y[L + 63] = NAN;
        if (c == 3) y[7] = INFINITY, y[9] = -INFINITY, y[L + 100] = -INFINITY;
        mt_tensor *rows = mt_from_array(ctx, 2, shape2, y);
        /* the same values stored transposed: the strided loop */
        float *yt = malloc((size_t)(2 * L) * sizeof(float));
        for (int64_t i = 0; i < L; i++) yt[i * 2] = y[i], yt[i * 2 + 1] = y[L + i];
        int perm[2] = {1, 0};
        mt_tensor *cols = mt_permute(ctx, mt_from_array(ctx, 2, rshape, yt), perm);
        free(yt);
        mt_tensor *g1 = make_out(ctx, 2, one2, 0), *g2 = make_out(ctx, 2, one2, 0);
        mt_tensor *w = make_out(ctx, 2, one2, 0);
        run(OMP, MT_OP_MAX, g1, rows, NULL, 1);
        run(OMP, MT_OP_MAX, g2, cols, NULL, 1);
        run(NAIVE, MT_OP_MAX, w, rows, NULL, 1);
        char what[64];
        snprintf(what, sizeof what, "max of long rows, case %d, contiguous vs strided", c);
        compare_bits(what, g1, g2);
        snprintf(what, sizeof what, "max of long rows, case %d, vs naive", c);
        compare(what, g1, w, c == 4 ? CMP_REL : CMP_BITS, 0.0);
    }
    free(y);
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ matmul */
/* The kernel contract: element (m, n) is fmaf(a[m][K-1], b[K-1][n], ... fmaf(a[m][0], b[0][n], 0)),
 * batch by batch; a and b are given row-major per batch entry. */
static void fma_chain_reference(const float *a, const float *b, float *c, int64_t M, int64_t K,
                                int64_t N) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) acc = fmaf(a[m * K + k], b[k * N + n], acc);
            c[m * N + n] = acc;
        }
}

/* Checks one 2-D product against the FMA-chain reference (bits) and naive (tolerance). */
static void check_matmul_2d(const char *what, mt_ctx *ctx, const mt_tensor *a, const mt_tensor *b) {
    int64_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
    int64_t oshape[2] = {M, N};
    mt_tensor *got = make_out(ctx, 2, oshape, 0), *want = make_out(ctx, 2, oshape, 0);
    run(OMP, MT_OP_MATMUL, got, a, b, 0);
    run(NAIVE, MT_OP_MATMUL, want, a, b, 0);
    char msg[160];
    snprintf(msg, sizeof msg, "%s vs naive", what);
    /* |float chain - double| <= K eps sum|ab|; values in [-1,1) make sum|ab| <= K */
    compare(msg, got, want, CMP_REL, 1.2e-7 * (double)K);
    float *ha = host_of(a), *hb = host_of(b);
    mt_tensor *ref = make_out(ctx, 2, oshape, 0);
    fma_chain_reference(ha, hb, ref->storage->data, M, K, N);
    snprintf(msg, sizeof msg, "%s vs the FMA chain", what);
    compare_bits(msg, got, ref);
    free(ha);
    free(hb);
}

/* Sizes around the 8x32 / 4x16 register tiles, K past the 256 k-block (the accumulate path),
 * M past a 256-row A block, N past the 4096-column B panel; all four transposition layouts. Each
 * path of openmp_matmul.c is taken: a small B read in place (the first row, rows of tiles outer up
 * to 4096 floats of B, and 9x3x1024 not, its B rows 4 KiB apart); few rows streaming B through the
 * wide (3x40x1030, and four vectors at 1x33x64, 2x70x50), MR x NR (5x70x1000) and tall
 * (12x33x1100, 16x300x200) tiles, a transposed B through the same tiles after 16 x 16 transposes
 * of chunks (all of those with b transposed, and A packed in two blocks of k at 16x4500x40,
 * 7x9000x45, 1x8300x20); one row block with B packed in blocks (17x257x530, 40x300x600,
 * 20x8x2048); the general nest (300x20x4133). */
static void test_matmul_2d(void) {
    static const int64_t sizes[][3] = {
        {1, 1, 1},       {1, 17, 1},      {17, 33, 5},     {33, 17, 133},  {8, 16, 32},
        {9, 300, 33},    {64, 257, 31},   {300, 20, 7},    {3, 5, 4133},   {133, 133, 133},
        {9, 3, 1024},    {3, 40, 1030},   {5, 70, 1000},   {12, 33, 1100}, {16, 300, 200},
        {17, 257, 530},  {40, 300, 600},  {20, 8, 2048},   {300, 20, 4133}, {1, 33, 64},
        {2, 70, 50},     {16, 4500, 40},  {7, 9000, 45},   {1, 8300, 20},
    };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int layout = 0; layout < 4; layout++) {
            mt_ctx *ctx = mt_ctx_new(OMP);
            int64_t M = sizes[s][0], K = sizes[s][1], N = sizes[s][2];
            int64_t as[2] = {M, K}, bs[2] = {K, N};
            mt_tensor *a = make(ctx, 2, as, layout & 1, VAL_UNIFORM, -1, 1);
            mt_tensor *b = make(ctx, 2, bs, layout & 2, VAL_UNIFORM, -1, 1);
            char what[96];
            snprintf(what, sizeof what, "matmul %lldx%lldx%lld%s%s", (long long)M, (long long)K,
                     (long long)N, layout & 1 ? " a transposed" : "", layout & 2 ? " b transposed" : "");
            check_matmul_2d(what, ctx, a, b);
            mt_ctx_free(ctx);
        }
}

/* Operands with no unit stride at all (every other column of a wider matrix): the general
 * packing loops. */
static void test_matmul_strided(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    int64_t M = 19, K = 37, N = 45;
    int64_t wa[2] = {M, 2 * K}, wb[2] = {K, 3 * N};
    mt_tensor *base_a = make(ctx, 2, wa, 0, VAL_UNIFORM, -1, 1);
    mt_tensor *base_b = make(ctx, 2, wb, 0, VAL_UNIFORM, -1, 1);
    mt_tensor *a = mt_tensor_alias(ctx, base_a), *b = mt_tensor_alias(ctx, base_b);
    a->shape[1] = K;
    a->strides[1] = 2;
    a->offset = 1;
    b->shape[1] = N;
    b->strides[1] = 3;
    b->offset = 2;
    check_matmul_2d("matmul with stride-2 a and stride-3 b columns", ctx, a, b);
    /* the same through a transposed view: rows strided, columns strided */
    mt_tensor *at = mt_tensor_alias(ctx, base_b);
    at->shape[0] = N;
    at->shape[1] = K;
    at->strides[0] = 3;
    at->strides[1] = 3 * N;
    at->offset = 1;
    int64_t bs[2] = {K, 7};
    check_matmul_2d("matmul with a fully strided transposed a", ctx, at,
                    make(ctx, 2, bs, 1, VAL_UNIFORM, -1, 1));
    mt_ctx_free(ctx);
}

typedef struct bmm_case {
    int na;
    int64_t a[4];
    int nb;
    int64_t b[4];
} bmm_case;

/* Batch dims broadcast both ways, a shared weight (the folded-into-M path, also with M = 1),
 * and a batch of many small products (one product per thread). */
static const bmm_case BMM_CASES[] = {
    {3, {4, 17, 9}, 3, {4, 9, 33}},
    {4, {2, 1, 17, 9}, 3, {3, 9, 33}},
    {3, {4, 17, 9}, 2, {9, 5}},
    {3, {6, 1, 9}, 2, {9, 5}},
    {2, {17, 9}, 3, {4, 9, 5}},
    {3, {1, 33, 20}, 3, {5, 20, 1}},
    {3, {128, 33, 40}, 3, {128, 40, 40}},
};

static void test_matmul_batched(void) {
    for (size_t c = 0; c < sizeof BMM_CASES / sizeof BMM_CASES[0]; c++)
        for (int perm = 0; perm < 2; perm++) {
            const bmm_case *e = &BMM_CASES[c];
            mt_ctx *ctx = mt_ctx_new(OMP);
            mt_tensor *a = make(ctx, e->na, e->a, perm, VAL_UNIFORM, -1, 1);
            mt_tensor *b = make(ctx, e->nb, e->b, 0, VAL_UNIFORM, -1, 1);
            /* the output shape the dispatcher would make */
            int nbatch;
            int64_t oshape[MT_MAX_DIMS];
            CHECK_OK(mt_shape_broadcast(e->na - 2, e->a, e->nb - 2, e->b, &nbatch, oshape));
            oshape[nbatch] = e->a[e->na - 2];
            oshape[nbatch + 1] = e->b[e->nb - 1];
            mt_tensor *got = make_out(ctx, nbatch + 2, oshape, 0);
            mt_tensor *want = make_out(ctx, nbatch + 2, oshape, 0);
            run(OMP, MT_OP_MATMUL, got, a, b, 0);
            run(NAIVE, MT_OP_MATMUL, want, a, b, 0);
            char what[128];
            snprintf(what, sizeof what, "batched matmul %s%s @ %s", shape_str(e->na, e->a),
                     perm ? " permuted" : "", shape_str(e->nb, e->b));
            compare(what, got, want, CMP_REL, 1.2e-7 * (double)e->a[e->na - 1]);
            mt_ctx_free(ctx);
        }
}

#if defined(_OPENMP)
#include "openmp/openmp_gemm.h"

/* mt_omp_gemm accumulating into C (how the convolutions use it), on shapes that take each path
 * (see test_matmul_2d): C's value continued by the FMA chain over k, bit for bit. */
static void test_gemm_accumulate(void) {
    static const int64_t sizes[][3] = {
        {16, 64, 10}, {3, 40, 1030}, {5, 70, 1000}, {12, 33, 1100},
        {17, 257, 530}, {20, 8, 2048}, {300, 300, 40}, {16, 4500, 40},
    };
    for (size_t s = 0; s < 2 * sizeof sizes / sizeof sizes[0]; s++) {
        bool bt = s % 2; /* B given as the transpose of a stored (N, K) */
        int64_t M = sizes[s / 2][0], K = sizes[s / 2][1], N = sizes[s / 2][2];
        float *a = malloc((size_t)(M * K) * sizeof(float));
        float *b = malloc((size_t)(K * N) * sizeof(float));
        float *bts = malloc((size_t)(K * N) * sizeof(float)); /* (N, K) */
        float *c = malloc((size_t)(M * N) * sizeof(float));
        float *want = malloc((size_t)(M * N) * sizeof(float));
        CHECK(a && b && bts && c && want, "test buffers allocated");
        if (!a || !b || !bts || !c || !want) return;
        fill(a, M * K, VAL_UNIFORM, -1, 1);
        fill(b, K * N, VAL_UNIFORM, -1, 1);
        fill(c, M * N, VAL_UNIFORM, -1, 1);
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                float acc = c[m * N + n];
                for (int64_t k = 0; k < K; k++) acc = fmaf(a[m * K + k], b[k * N + n], acc);
                want[m * N + n] = acc;
            }
        for (int64_t k = 0; k < K; k++)
            for (int64_t n = 0; n < N; n++) bts[n * K + k] = b[k * N + n];
        mt_omp_mat am = {a, K, 1, NULL}, bm = {b, N, 1, NULL}, btm = {bts, 1, K, NULL};
        CHECK(mt_omp_gemm(M, N, K, &am, bt ? &btm : &bm, c, N, 1, true) == 0, "mt_omp_gemm ran");
        int64_t bad = 0;
        for (int64_t i = 0; i < M * N; i++) bad += memcmp(&c[i], &want[i], sizeof(float)) != 0;
        CHECK(bad == 0,
              "mt_omp_gemm %lldx%lldx%lld%s accumulating: %lld elements off the FMA chain",
              (long long)M, (long long)K, (long long)N, bt ? " b transposed" : "", (long long)bad);
        free(a);
        free(b);
        free(bts);
        free(c);
        free(want);
    }
}
#else
static void test_gemm_accumulate(void) {}
#endif

/* ------------------------------------------------------------------ thread-count invariance */
typedef mt_tensor *(*op_runner)(mt_ctx *ctx, mt_tensor *const *in, int variant);

/* Runs f with 1 thread, then 2, 3 and every core (thread_counts.h), and expects the same bits. */
static void check_threads(const char *what, op_runner f, mt_tensor *const *in, int variant) {
    int saved = omp_get_max_threads();
    mt_ctx *ctx = mt_ctx_new(OMP);
    omp_set_num_threads(1);
    mt_tensor *first = f(ctx, in, variant);
    for (int i = 0, t; (t = mt_test_thread_count(i)) != 0; i++) {
        omp_set_num_threads(t);
        mt_tensor *r = f(ctx, in, variant);
        char msg[128];
        snprintf(msg, sizeof msg, "%s: %d threads vs 1", what, t);
        compare_bits(msg, r, first);
    }
    omp_set_num_threads(saved);
    mt_ctx_free(ctx);
}

static mt_tensor *run_map_variant(mt_ctx *ctx, mt_tensor *const *in, int op) {
    mt_tensor *out = make_out(ctx, in[0]->ndim, in[0]->shape, 0);
    run(OMP, (mt_op)op, out, in[0], NULL, 0);
    return out;
}

static mt_tensor *run_zip_variant(mt_ctx *ctx, mt_tensor *const *in, int op) {
    int nd;
    int64_t shape[MT_MAX_DIMS];
    mt_shape_broadcast(in[0]->ndim, in[0]->shape, in[1]->ndim, in[1]->shape, &nd, shape);
    mt_tensor *out = make_out(ctx, nd, shape, 0);
    run(OMP, (mt_op)op, out, in[0], in[1], 0);
    return out;
}

/* variant = op * 8 + dim */
static mt_tensor *run_reduce_variant(mt_ctx *ctx, mt_tensor *const *in, int variant) {
    int dim = variant % 8;
    int64_t shape[MT_MAX_DIMS];
    memcpy(shape, in[0]->shape, sizeof shape);
    shape[dim] = 1;
    mt_tensor *out = make_out(ctx, in[0]->ndim, shape, 0);
    run(OMP, (mt_op)(variant / 8), out, in[0], NULL, dim);
    return out;
}

static mt_tensor *run_matmul_variant(mt_ctx *ctx, mt_tensor *const *in, int variant) {
    (void)variant;
    return mt_apply_matmul(ctx, in[0], in[1]);
}

/* Every op on inputs large enough to take the parallel paths (contiguous, permuted and
 * broadcast), every reduction shape, and matmuls split into pieces and spread by batch. */
static void test_thread_invariance(void) {
    mt_ctx *ctx = mt_ctx_new(OMP);
    int64_t big[2] = {300, 401}, row[1] = {401}, col[2] = {300, 1};
    mt_tensor *a = make(ctx, 2, big, 0, VAL_UNIFORM, 0.05f, 3);
    mt_tensor *ap = make(ctx, 2, big, 1, VAL_UNIFORM, -3, 3);
    mt_tensor *g = make(ctx, 2, big, 0, VAL_GRID, -1, 1);
    mt_tensor *r = make(ctx, 1, row, 0, VAL_UNIFORM, -3, 3);
    mt_tensor *c = make(ctx, 2, col, 0, VAL_GRID, -1, 1);
    char what[96];
    for (int op = MT_OP_NEG; op <= MT_OP_SQRT; op++) {
        snprintf(what, sizeof what, "%s (300,401)", mt_op_name((mt_op)op));
        check_threads(what, run_map_variant, (mt_tensor *[]){a}, op);
        snprintf(what, sizeof what, "%s (300,401) permuted", mt_op_name((mt_op)op));
        check_threads(what, run_map_variant, (mt_tensor *[]){ap}, op);
    }
    for (int op = MT_OP_ADD; op <= MT_OP_SIGMOID_BACK; op++) {
        snprintf(what, sizeof what, "%s (300,401) x (300,401)", mt_op_name((mt_op)op));
        check_threads(what, run_zip_variant, (mt_tensor *[]){a, g}, op);
        snprintf(what, sizeof what, "%s permuted x (401,) broadcast", mt_op_name((mt_op)op));
        check_threads(what, run_zip_variant, (mt_tensor *[]){ap, r}, op);
        snprintf(what, sizeof what, "%s (300,1) x (401,) both broadcast", mt_op_name((mt_op)op));
        check_threads(what, run_zip_variant, (mt_tensor *[]){c, r}, op);
    }
    /* long cancelling rows: few outputs, so their blocks run in parallel */
    mt_tensor *l = make_cancelling(ctx, 3, 70000, 0), *lp = make_cancelling(ctx, 3, 70000, 1);
    /* cancelling columns, reduced over rows: the tiled loop, in narrower pieces for more threads */
    mt_tensor *cc = mt_contiguous(ctx, mt_transpose(ctx, make_cancelling(ctx, 300, 5000, 0)));
    check_threads("sum dim 0 of cancelling (5000,300)", run_reduce_variant, (mt_tensor *[]){cc},
                  MT_OP_SUM * 8 + 0);
    for (int op = MT_OP_SUM; op <= MT_OP_MAX; op++)
        for (int dim = 0; dim < 2; dim++) {
            snprintf(what, sizeof what, "%s dim %d of (300,401)", mt_op_name((mt_op)op), dim);
            check_threads(what, run_reduce_variant, (mt_tensor *[]){a}, op * 8 + dim);
            snprintf(what, sizeof what, "%s dim %d of (300,401) permuted", mt_op_name((mt_op)op), dim);
            check_threads(what, run_reduce_variant, (mt_tensor *[]){ap}, op * 8 + dim);
            snprintf(what, sizeof what, "%s dim %d of (3,70000)", mt_op_name((mt_op)op), dim);
            check_threads(what, run_reduce_variant, (mt_tensor *[]){l}, op * 8 + dim);
            snprintf(what, sizeof what, "%s dim %d of (3,70000) permuted", mt_op_name((mt_op)op), dim);
            check_threads(what, run_reduce_variant, (mt_tensor *[]){lp}, op * 8 + dim);
        }
    int64_t ma[2] = {200, 300}, mb[2] = {300, 150}, ba[3] = {96, 33, 40}, bb[3] = {96, 40, 40};
    mt_tensor *x = make(ctx, 2, ma, 1, VAL_UNIFORM, -1, 1), *w = make(ctx, 2, mb, 0, VAL_UNIFORM, -1, 1);
    check_threads("matmul 200x300x150 (pieces)", run_matmul_variant, (mt_tensor *[]){x, w}, 0);
    /* pieces of few rows: B streamed, and B packed in blocks */
    int64_t sa[2] = {16, 2048}, sb[2] = {2048, 300}, fa[2] = {48, 1024}, fb[2] = {1024, 1200};
    mt_tensor *sx = make(ctx, 2, sa, 0, VAL_UNIFORM, -1, 1), *sw = make(ctx, 2, sb, 0, VAL_UNIFORM, -1, 1);
    check_threads("matmul 16x2048x300 (streamed pieces)", run_matmul_variant,
                  (mt_tensor *[]){sx, sw}, 0);
    /* a transposed B (x @ w^T): streamed in transposed chunks, through the tall, MR x NR and
     * wide tiles */
    mt_tensor *swt = make(ctx, 2, sb, 1, VAL_UNIFORM, -1, 1);
    check_threads("matmul 16x2048x300 b transposed (streamed pieces)", run_matmul_variant,
                  (mt_tensor *[]){sx, swt}, 0);
    int64_t ea[2] = {8, 2048}, ta[2] = {3, 2048}, tb[2] = {2048, 1200};
    mt_tensor *ex = make(ctx, 2, ea, 0, VAL_UNIFORM, -1, 1), *tx = make(ctx, 2, ta, 0, VAL_UNIFORM, -1, 1);
    mt_tensor *twt = make(ctx, 2, tb, 1, VAL_UNIFORM, -1, 1);
    check_threads("matmul 8x2048x1200 b transposed (streamed pieces)", run_matmul_variant,
                  (mt_tensor *[]){ex, twt}, 0);
    check_threads("matmul 3x2048x1200 b transposed (streamed pieces)", run_matmul_variant,
                  (mt_tensor *[]){tx, twt}, 0);
    /* a transposed A (x^T @ g), K the batch */
    int64_t ga[2] = {1024, 64}, gb[2] = {64, 700};
    mt_tensor *gx = make(ctx, 2, ga, 1, VAL_UNIFORM, -1, 1), *gg = make(ctx, 2, gb, 0, VAL_UNIFORM, -1, 1);
    check_threads("matmul 1024x64x700 a transposed (pieces)", run_matmul_variant,
                  (mt_tensor *[]){gx, gg}, 0);
    mt_tensor *fx = make(ctx, 2, fa, 0, VAL_UNIFORM, -1, 1), *fw = make(ctx, 2, fb, 0, VAL_UNIFORM, -1, 1);
    check_threads("matmul 48x1024x1200 (pieces of one row block)", run_matmul_variant,
                  (mt_tensor *[]){fx, fw}, 0);
    mt_tensor *bx = make(ctx, 3, ba, 0, VAL_UNIFORM, -1, 1), *bw = make(ctx, 3, bb, 1, VAL_UNIFORM, -1, 1);
    check_threads("matmul 96 x (33x40x40) (a product per thread)", run_matmul_variant,
                  (mt_tensor *[]){bx, bw}, 0);
    mt_ctx_free(ctx);
}

int main(void) {
    OMP = mt_backend_by_name("openmp");
    NAIVE = mt_backend_naive();
    if (!OMP) {
        printf("test_openmp: the openmp backend is not built (no OpenMP compiler support)\n");
        return 77; /* CTest reports SKIPPED (SKIP_RETURN_CODE), never a pass */
    }
    mt_rng_seed(&RNG, 20240605);
    test_elementwise_vs_naive();
    test_elementwise_in_place();
    test_special_values();
    test_transcendental_sweep();
    test_exp_sigmoid_paths_agree();
    test_sqrt_bits();
    test_reduce_vs_naive();
    test_reduce_layout_invariant();
    test_reduce_layout_invariant_cancelling();
    test_reduce_special_values();
    test_reduce_tiled_max_zeros_nan();
    test_matmul_2d();
    test_matmul_strided();
    test_matmul_batched();
    test_gemm_accumulate();
    test_thread_invariance();
    return check_summary("test_openmp");
}
