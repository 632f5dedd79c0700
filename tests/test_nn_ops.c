/* Neural-network ops other than convolution: pooling, tile, max / argmax, softmax, logsoftmax,
 * dropout. MiniTorch's test_nn cases with exact values, the gradient routing of max and maxpool
 * (to one element only, the first on ties), numerical stability, the dropout mask's contract, and
 * every gradient against central differences on contiguous and permuted inputs. */
#include "check.h"
#include "dropout_hash.h"
#include "gradcheck.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The 4x4 image every pooling test uses (digits of pi: a few repeats, maxima in varied cells). */
static const float IMG[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};

/* IMG as (1,1,4,4), contiguous or as a transposed view of transposed storage. */
static mt_tensor *image(mt_ctx *ctx, int permuted) {
    if (!permuted) return mt_from_array(ctx, MT_SHAPE(1, 1, 4, 4), IMG);
    float t[16];
    for (int h = 0; h < 4; h++)
        for (int w = 0; w < 4; w++) t[w * 4 + h] = IMG[h * 4 + w];
    return mt_permute(ctx, mt_from_array(ctx, MT_SHAPE(1, 1, 4, 4), t), (const int[]){0, 1, 3, 2});
}

static void check_shape(const mt_tensor *t, int ndim, const int64_t *shape, const char *what) {
    int ok = t && t->ndim == ndim && memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0;
    char s[MT_SHAPE_STR_LEN], w[MT_SHAPE_STR_LEN];
    CHECK(ok, "%s: shape %s, expected %s", what,
          t ? mt_shape_str(t->ndim, t->shape, s, sizeof s) : "NULL",
          mt_shape_str(ndim, shape, w, sizeof w));
}

/* ------------------------------------------------------------------ pooling and tile */
static void test_pool_values(void) {
    static const struct {
        int kh, kw;
        int64_t oh, ow;
        float avg[8], max[8];
    } cases[] = {
        {2, 2, 2, 2, {4.5f, 3.25f, 6, 6.25f}, {9, 6, 9, 9}},
        {2, 1, 2, 4, {4, 5, 3, 3.5f, 7, 5, 7, 5.5f}, {5, 9, 4, 6, 9, 7, 9, 8}},
        {1, 2, 4, 2, {2, 2.5f, 7, 4, 4, 6.5f, 8, 6}, {3, 4, 9, 6, 5, 8, 9, 9}},
    };
    mt_ctx *ctx = mt_ctx_new(NULL);
    for (int permuted = 0; permuted <= 1; permuted++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            mt_tensor *x = image(ctx, permuted);
            mt_tensor *avg = mt_avgpool2d(ctx, x, cases[i].kh, cases[i].kw);
            mt_tensor *max = mt_maxpool2d(ctx, x, cases[i].kh, cases[i].kw);
            check_shape(avg, 4, (const int64_t[]){1, 1, cases[i].oh, cases[i].ow}, "avgpool2d");
            check_shape(max, 4, (const int64_t[]){1, 1, cases[i].oh, cases[i].ow}, "maxpool2d");
            check_values(avg, cases[i].avg, 1e-6, "avgpool2d");
            check_values(max, cases[i].max, 0, "maxpool2d");
        }
    /* batch and channel are pooled independently: channel c holds IMG + 100 c */
    float data[2 * 3 * 16], want[2 * 3 * 4];
    for (int bc = 0; bc < 6; bc++) {
        for (int e = 0; e < 16; e++) data[bc * 16 + e] = IMG[e] + 100.0f * (float)bc;
        for (int e = 0; e < 4; e++) want[bc * 4 + e] = cases[0].max[e] + 100.0f * (float)bc;
    }
    mt_tensor *x = mt_from_array(ctx, MT_SHAPE(2, 3, 4, 4), data);
    check_values(mt_maxpool2d(ctx, x, 2, 2), want, 0, "maxpool2d over (2,3,4,4)");
    mt_ctx_free(ctx);
}

static void test_pool_backward_values(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *g = mt_from_array(ctx, MT_SHAPE(1, 1, 2, 2), (const float[]){1, 2, 3, 4});
    for (int permuted = 0; permuted <= 1; permuted++) {
        /* maxpool: each window's gradient lands on its maximum only */
        mt_tensor *x = image(ctx, permuted);
        mt_requires_grad(x, true);
        CHECK_OK(mt_backward(ctx, mt_maxpool2d(ctx, x, 2, 2), g));
        check_values(x->grad, (const float[]){0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0}, 0,
                     "maxpool2d grad");
        /* avgpool: spread evenly */
        x = image(ctx, permuted);
        mt_requires_grad(x, true);
        CHECK_OK(mt_backward(ctx, mt_avgpool2d(ctx, x, 2, 2), g));
        check_values(x->grad,
                     (const float[]){.25f, .25f, .5f, .5f, .25f, .25f, .5f, .5f, .75f, .75f, 1, 1,
                                     .75f, .75f, 1, 1},
                     0, "avgpool2d grad");
    }
    /* ties: a constant image sends each window's gradient to its first (top-left) cell, and a
     * 1x2 kernel on rows [7 7 | 1 7] to cells 0 and 3 */
    mt_tensor *flat = mt_full(ctx, MT_SHAPE(1, 1, 4, 4), 2.0f);
    mt_requires_grad(flat, true);
    CHECK_OK(mt_backward(ctx, mt_maxpool2d(ctx, flat, 2, 2), g));
    check_values(flat->grad, (const float[]){1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}, 0,
                 "maxpool2d grad on ties");
    mt_tensor *row = mt_from_array(ctx, MT_SHAPE(1, 1, 1, 4), (const float[]){7, 7, 1, 7});
    mt_requires_grad(row, true);
    CHECK_OK(mt_backward(ctx, mt_maxpool2d(ctx, row, 1, 2),
                         mt_from_array(ctx, MT_SHAPE(1, 1, 1, 2), (const float[]){5, 6})));
    check_values(row->grad, (const float[]){5, 0, 0, 6}, 0, "maxpool2d grad, 1x2 ties");
    /* NaN: the window pools to NaN and its gradient goes to the first NaN */
    mt_tensor *nan_row =
        mt_from_array(ctx, MT_SHAPE(1, 1, 1, 4), (const float[]){1, NAN, 5, NAN});
    mt_requires_grad(nan_row, true);
    mt_tensor *pooled = mt_maxpool2d(ctx, nan_row, 1, 4);
    float v = 0;
    CHECK_OK(mt_item(pooled, &v));
    CHECK(isnan(v), "maxpool2d of a window with NaN is NaN, got %g", (double)v);
    CHECK_OK(mt_backward(ctx, pooled, NULL));
    check_values(nan_row->grad, (const float[]){0, 1, 0, 0}, 0, "maxpool2d grad to the first NaN");
    mt_ctx_free(ctx);
}

static void test_tile(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    for (int permuted = 0; permuted <= 1; permuted++) {
        mt_tensor *t = mt_tile(ctx, image(ctx, permuted), 2, 2);
        check_shape(t, 5, (const int64_t[]){1, 1, 2, 2, 4}, "tile 2x2");
        check_values(t, (const float[]){3, 1, 5, 9, 4, 1, 2, 6, 5, 3, 9, 7, 5, 8, 9, 3}, 0,
                     "tile 2x2");
        t = mt_tile(ctx, image(ctx, permuted), 2, 1);
        check_shape(t, 5, (const int64_t[]){1, 1, 2, 4, 2}, "tile 2x1");
        check_values(t, (const float[]){3, 5, 1, 9, 4, 2, 1, 6, 5, 9, 3, 7, 5, 9, 8, 3}, 0,
                     "tile 2x1");
        t = mt_tile(ctx, image(ctx, permuted), 1, 2);
        check_shape(t, 5, (const int64_t[]){1, 1, 4, 2, 2}, "tile 1x2");
        check_values(t, IMG, 0, "tile 1x2 keeps row-major pairs");
    }
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ max and argmax */
/* Reference max along dim of a contiguous (2,3,4) host array, and the flat index of the first
 * maximum of each output cell. */
static void host_max(const float *x, int dim, float *out, int *arg) {
    const int64_t shape[3] = {2, 3, 4}, strides[3] = {12, 4, 1};
    int64_t oshape[3] = {2, 3, 4};
    oshape[dim] = 1;
    int64_t n = oshape[0] * oshape[1] * oshape[2], idx[3];
    for (int64_t o = 0; o < n; o++) {
        mt_ordinal_to_index(o, 3, oshape, idx);
        int64_t base = idx[0] * 12 + idx[1] * 4 + idx[2];
        int best = (int)base;
        for (int64_t k = 1; k < shape[dim]; k++) {
            int p = (int)(base + k * strides[dim]);
            if (x[p] > x[best]) best = p;
        }
        out[o] = x[best];
        arg[o] = best;
    }
}

static void test_max(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 11);
    /* small integers: plenty of ties along every dim */
    float tied[24], distinct[24];
    for (int i = 0; i < 24; i++) {
        tied[i] = (float)(mt_rng_next(&rng) % 3);
        distinct[i] = (float)mt_rng_uniform(&rng);
    }
    const float *inputs[2] = {distinct, tied};
    for (int which = 0; which < 2; which++)
        for (int dim = 0; dim < 3; dim++) {
            const float *xs = inputs[which];
            float want[24], g_host[24], grad[24];
            int arg[24];
            host_max(xs, dim, want, arg);
            mt_tensor *x = mt_from_array(ctx, MT_SHAPE(2, 3, 4), xs);
            mt_requires_grad(x, true);
            /* dim given as negative half the time */
            mt_tensor *m = mt_max(ctx, x, dim % 2 ? dim - 3 : dim);
            int64_t mshape[3] = {2, 3, 4};
            mshape[dim] = 1;
            check_shape(m, 3, mshape, "max");
            check_values(m, want, 0, which ? "max with ties" : "max");

            int64_t n = mshape[0] * mshape[1] * mshape[2];
            for (int64_t o = 0; o < n; o++) g_host[o] = (float)(o + 1);
            mt_tensor *g = mt_from_array(ctx, 3, mshape, g_host);
            CHECK_OK(mt_backward(ctx, m, g));
            CHECK_OK(mt_to_host(x->grad, grad));
            /* every output's gradient sits on its first maximum, everything else is 0 */
            float expect[24] = {0};
            for (int64_t o = 0; o < n; o++) expect[arg[o]] = g_host[o];
            int bad = 0;
            for (int i = 0; i < 24; i++) bad += grad[i] != expect[i];
            CHECK(bad == 0, "max dim %d%s: gradient must go to the first maximum only (%d wrong)",
                  dim, which ? " with ties" : "", bad);
        }
    mt_ctx_free(ctx);
}

static void test_argmax(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    /* rows along dim 1: [1 3 3], [2 2 2], [-inf -inf -inf], [0 NaN NaN] */
    mt_tensor *x = mt_from_array(
        ctx, MT_SHAPE(4, 3),
        (const float[]){1, 3, 3, 2, 2, 2, -INFINITY, -INFINITY, -INFINITY, 0, NAN, NAN});
    mt_tensor *mask = mt_argmax(ctx, x, 1);
    check_shape(mask, 2, (const int64_t[]){4, 3}, "argmax");
    check_values(mask, (const float[]){0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0}, 0, "argmax dim 1");
    /* along dim 0 of a permuted view (the transpose of the above) */
    mt_tensor *xt = mt_transpose(ctx, x);
    check_values(mt_argmax(ctx, xt, 0), (const float[]){0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0}, 0,
                 "argmax dim 0 of a transposed view");
    /* no gradient flows through the mask */
    mt_requires_grad(x, true);
    mask = mt_argmax(ctx, x, -1);
    CHECK(mask && !mask->requires_grad && !mask->node, "argmax records no history");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ softmax and logsoftmax */
static void test_softmax(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 5);
    for (int permuted = 0; permuted <= 1; permuted++) {
        mt_tensor *x = make_tensor(ctx, MT_SHAPE(2, 3, 4), -3, 3, &rng, permuted);
        for (int dim = 0; dim < 3; dim++) {
            mt_tensor *s = mt_softmax(ctx, x, dim);
            mt_tensor *ls = mt_logsoftmax(ctx, x, dim);
            float ones[24], s_host[24], e_host[24];
            for (int i = 0; i < 24; i++) ones[i] = 1.0f;
            check_values(mt_sum(ctx, s, dim), ones, 1e-6, "softmax sums to 1 along dim");
            CHECK_OK(mt_to_host(s, s_host));
            int in_range = 1;
            for (int i = 0; i < 24; i++) in_range &= s_host[i] > 0 && s_host[i] < 1;
            CHECK(in_range, "softmax values in (0, 1)");
            CHECK_OK(mt_to_host(mt_exp(ctx, ls), e_host));
            check_values(s, e_host, 1e-6, "exp(logsoftmax) == softmax");
        }
    }
    /* against the formula in double, and shift invariance at 1000 and -1000 (no overflow) */
    const double base[3] = {0, 1, 2};
    double z = exp(0.0) + exp(1.0) + exp(2.0);
    float want_s[3], want_ls[3];
    for (int i = 0; i < 3; i++) {
        want_s[i] = (float)(exp(base[i]) / z);
        want_ls[i] = (float)(base[i] - log(z));
    }
    const float shifts[] = {0, 90, 1000, -1000}; /* exp(90) overflows float */
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
        float v[3];
        for (int i = 0; i < 3; i++) v[i] = (float)base[i] + shifts[k];
        mt_tensor *x = mt_from_array(ctx, MT_SHAPE(1, 3), v);
        check_values(mt_softmax(ctx, x, 1), want_s, 1e-6, "softmax of shifted inputs");
        check_values(mt_logsoftmax(ctx, x, 1), want_ls, 1e-6, "logsoftmax of shifted inputs");
        /* gradients stay finite too */
        mt_requires_grad(x, true);
        CHECK_OK(mt_backward(ctx, mt_sum_all(ctx, mt_mul(ctx, mt_softmax(ctx, x, 1),
                                                        mt_from_array(ctx, MT_SHAPE(1, 3),
                                                                      (const float[]){1, -2, 3}))),
                             NULL));
        CHECK_OK(mt_backward(ctx, mt_sum(ctx, mt_logsoftmax(ctx, x, 1), 1), NULL));
        float gh[3];
        CHECK_OK(mt_to_host(x->grad, gh));
        CHECK(isfinite(gh[0]) && isfinite(gh[1]) && isfinite(gh[2]),
              "softmax gradients at shift %g are finite", (double)shifts[k]);
    }
    /* -inf entries get probability 0 */
    mt_tensor *x = mt_from_array(ctx, MT_SHAPE(3), (const float[]){-INFINITY, 0, 0});
    check_values(mt_softmax(ctx, x, 0), (const float[]){0, 0.5f, 0.5f}, 0, "softmax with -inf");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ dropout */
static void test_dropout_identity_and_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *x = mt_rand_uniform(ctx, MT_SHAPE(4, 5), -1, 1, NULL);
    CHECK(mt_dropout(ctx, x, 0.0f, true) == x, "rate 0 returns the input itself");
    CHECK(mt_dropout(ctx, x, 0.5f, false) == x, "eval mode returns the input itself");
    CHECK(mt_dropout(ctx, x, 1.0f, false) == x, "eval mode ignores rate 1");
    /* the identity path keeps the graph: the gradient reaches x unchanged */
    mt_requires_grad(x, true);
    CHECK_OK(mt_backward(ctx, mt_sum_all(ctx, mt_dropout(ctx, x, 0.5f, false)), NULL));
    float ones[20];
    for (int i = 0; i < 20; i++) ones[i] = 1.0f;
    check_values(x->grad, ones, 0, "eval-mode dropout gradient");

    /* rate 1: exact zeros even for huge and infinite inputs (no 0 * inf), and a zero gradient */
    mt_tensor *big =
        mt_from_array(ctx, MT_SHAPE(4), (const float[]){1e30f, -INFINITY, 3, INFINITY});
    mt_requires_grad(big, true);
    mt_tensor *out = mt_dropout(ctx, big, 1.0f, true);
    check_values(out, (const float[]){0, 0, 0, 0}, 0, "rate 1 gives zeros");
    CHECK_OK(mt_backward(ctx, mt_sum_all(ctx, out), NULL));
    check_values(big->grad, (const float[]){0, 0, 0, 0}, 0, "rate 1 gives a zero gradient");
    mt_ctx_free(ctx);
}

static void test_dropout_mask(void) {
    enum { N = 1 << 17 };
    const float rate = 0.3f, scale = 1.0f / 0.7f;
    mt_ctx *ctx = mt_ctx_new(NULL);
    float *xh = malloc(sizeof(float) * N), *o1 = malloc(sizeof(float) * N);
    float *o2 = malloc(sizeof(float) * N), *gh = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) xh[i] = 1.0f + (float)(i % 7); /* never 0, so 0 means dropped */
    mt_tensor *x = mt_from_array(ctx, MT_SHAPE(N), xh);
    mt_requires_grad(x, true);

    mt_ctx_seed(ctx, 42);
    mt_tensor *out = mt_dropout(ctx, x, rate, true);
    CHECK_OK(mt_to_host(out, o1));
    int64_t kept = 0, badscale = 0;
    for (int i = 0; i < N; i++) {
        if (o1[i] == 0.0f) continue;
        kept++;
        badscale += fabsf(o1[i] - xh[i] * scale) > 1e-6f * fabsf(xh[i] * scale);
    }
    double frac = (double)kept / N;
    /* binomial sd of the fraction is sqrt(0.21 / N) ~ 0.0013: 0.01 is over 7 sd */
    CHECK(fabs(frac - (1.0 - rate)) < 0.01, "kept fraction %.4f, expected about %.2f", frac,
          1.0 - rate);
    CHECK(badscale == 0, "%lld kept values are not x / (1 - rate)", (long long)badscale);

    /* backward applies the forward's mask and scale to the gradient */
    CHECK_OK(mt_backward(ctx, mt_sum_all(ctx, out), NULL));
    CHECK_OK(mt_to_host(x->grad, gh));
    int64_t badgrad = 0;
    for (int i = 0; i < N; i++) badgrad += gh[i] != (o1[i] != 0.0f ? scale : 0.0f);
    CHECK(badgrad == 0, "dropout gradient differs from the forward mask at %lld elements",
          (long long)badgrad);

    /* same seed, same bits; another seed, another mask */
    mt_ctx_seed(ctx, 42);
    CHECK_OK(mt_to_host(mt_dropout(ctx, x, rate, true), o2));
    CHECK(memcmp(o1, o2, sizeof(float) * N) == 0, "same seed gives the same output");
    CHECK_OK(mt_to_host(mt_dropout(ctx, x, rate, true), o2));
    CHECK(memcmp(o1, o2, sizeof(float) * N) != 0, "the next call draws a new mask");
    mt_ctx_seed(ctx, 43);
    CHECK_OK(mt_to_host(mt_dropout(ctx, x, rate, true), o2));
    CHECK(memcmp(o1, o2, sizeof(float) * N) != 0, "another seed gives another mask");
    free(xh);
    free(o1);
    free(o2);
    free(gh);
    mt_ctx_free(ctx);
}

/* The mask is keyed on the row-major ordinal of the output, not on storage: a permuted view gets
 * the mask its contiguous copy gets. The hash is splitmix64's stream, pinned by its published
 * first outputs for seed 0, so every backend can be checked against the same numbers. */
static void test_dropout_ordinals(void) {
    CHECK(mt_dropout_hash(0, 0) == 0xe220a8397b1dcdafULL, "splitmix64(0) output 0");
    CHECK(mt_dropout_hash(0, 1) == 0x6e789e6aa1b965f4ULL, "splitmix64(0) output 1");
    CHECK(mt_dropout_hash(0, 2) == 0x06c45d188009454fULL, "splitmix64(0) output 2");
    CHECK(mt_dropout_keep(7, 3, 0.0f) && !mt_dropout_keep(7, 3, 1.0f), "rate 0 keeps, 1 drops");
    /* u is the top 24 bits over 2^24, and an element is kept exactly when u >= rate */
    float u = (float)(mt_dropout_hash(7, 3) >> 40) * 0x1.0p-24f;
    CHECK(mt_dropout_keep(7, 3, u) && !mt_dropout_keep(7, 3, nextafterf(u, 1.0f)),
          "keep iff u >= rate at u = %.9g", (double)u);

    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 3);
    mt_tensor *xp = make_tensor(ctx, MT_SHAPE(6, 5, 7), 1, 2, &rng, 1);
    mt_tensor *xc = mt_contiguous(ctx, xp);
    float a[210], b[210];
    mt_ctx_seed(ctx, 9);
    CHECK_OK(mt_to_host(mt_dropout(ctx, xp, 0.5f, true), a));
    mt_ctx_seed(ctx, 9);
    CHECK_OK(mt_to_host(mt_dropout(ctx, xc, 0.5f, true), b));
    CHECK(memcmp(a, b, sizeof a) == 0, "permuted and contiguous inputs get the same mask");
    /* and the seed the kernel used is the context generator's next draw */
    mt_ctx_seed(ctx, 9);
    uint64_t seed = mt_rng_next(mt_ctx_rng(ctx));
    int bad = 0;
    for (int i = 0; i < 210; i++)
        bad += (a[i] != 0.0f) != mt_dropout_keep(seed, (uint64_t)i, 0.5f);
    CHECK(bad == 0, "mask = dropout_hash(seed, ordinal) at every element (%d differ)", bad);
    mt_ctx_free(ctx);
}

/* mt_dropout_at: rows lo..hi of a batch, drawn with the generator state the whole batch was
 * drawn with, keep exactly the whole batch's elements of those rows, forward and backward (what a
 * data-parallel rank relies on to reproduce one process's masks). */
static void test_dropout_at_slices(void) {
    enum { ROWS = 9, COLS = 13 };
    mt_ctx *ctx = mt_ctx_new(NULL);
    float xh[ROWS * COLS], whole[ROWS * COLS], part[ROWS * COLS], g[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++) xh[i] = 1.0f + (float)(i % 5);
    mt_ctx_seed(ctx, 77);
    CHECK_OK(mt_to_host(mt_dropout(ctx, mt_from_array(ctx, MT_SHAPE(ROWS, COLS), xh), 0.5f, true),
                        whole));
    const int cuts[4] = {0, 2, 7, ROWS}; /* three shards of 2, 5 and 2 rows */
    int bad = 0, badgrad = 0;
    for (int s = 0; s < 3; s++) {
        int lo = cuts[s], rows = cuts[s + 1] - cuts[s];
        mt_ctx_seed(ctx, 77);
        mt_tensor *x = mt_from_array(ctx, MT_SHAPE(rows, COLS), xh + lo * COLS);
        mt_requires_grad(x, true);
        mt_tensor *out = mt_dropout_at(ctx, x, 0.5f, true, (uint64_t)lo * COLS);
        CHECK_OK(mt_to_host(out, part));
        CHECK_OK(mt_backward(ctx, mt_sum_all(ctx, out), NULL));
        CHECK_OK(mt_to_host(x->grad, g));
        for (int i = 0; i < rows * COLS; i++) {
            bad += part[i] != whole[lo * COLS + i];
            badgrad += (g[i] != 0.0f) != (whole[lo * COLS + i] != 0.0f);
        }
    }
    CHECK(bad == 0, "shards' dropout differs from the whole batch's at %d elements", bad);
    CHECK(badgrad == 0, "shards' dropout gradient mask differs at %d elements", badgrad);
    /* first = 0 is mt_dropout itself */
    mt_ctx_seed(ctx, 77);
    CHECK_OK(mt_to_host(
        mt_dropout_at(ctx, mt_from_array(ctx, MT_SHAPE(ROWS, COLS), xh), 0.5f, true, 0), part));
    CHECK(memcmp(part, whole, sizeof part) == 0, "mt_dropout_at(first 0) is mt_dropout");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ numerical gradients */
typedef struct {
    int dim, kh, kw;
} op_args;

static mt_tensor *f_avgpool(mt_ctx *c, mt_tensor **x, void *u) {
    const op_args *a = u;
    return mt_avgpool2d(c, x[0], a->kh, a->kw);
}
static mt_tensor *f_maxpool(mt_ctx *c, mt_tensor **x, void *u) {
    const op_args *a = u;
    return mt_maxpool2d(c, x[0], a->kh, a->kw);
}
static mt_tensor *f_tile(mt_ctx *c, mt_tensor **x, void *u) {
    const op_args *a = u;
    return mt_tile(c, x[0], a->kh, a->kw);
}
static mt_tensor *f_max(mt_ctx *c, mt_tensor **x, void *u) {
    return mt_max(c, x[0], ((const op_args *)u)->dim);
}
static mt_tensor *f_softmax(mt_ctx *c, mt_tensor **x, void *u) {
    return mt_softmax(c, x[0], ((const op_args *)u)->dim);
}
static mt_tensor *f_logsoftmax(mt_ctx *c, mt_tensor **x, void *u) {
    return mt_logsoftmax(c, x[0], ((const op_args *)u)->dim);
}
/* the context is reseeded on every evaluation, so every probe sees the same mask */
static mt_tensor *f_dropout(mt_ctx *c, mt_tensor **x, void *u) {
    (void)u;
    mt_ctx_seed(c, 1234);
    return mt_dropout(c, x[0], 0.4f, true);
}

/* Distinct values 0.05 apart (more than the 2 * 0.01 central-difference step), shuffled: no ties
 * and no probe that changes which element is the maximum. */
static void fill_without_ties(mt_tensor *t, mt_rng *rng) {
    int64_t n = mt_numel(t);
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = 0.05f * (float)(i - n / 2);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(mt_rng_next(rng) % (uint64_t)(i + 1));
        float tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
    mt_copy_from_host(t, v);
    free(v);
}

static void run_gradcheck(const char *name, gradcheck_fn f, op_args args, int ndim,
                          const int64_t *shape, int no_ties, uint64_t seed) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    int permuted = (int)(seed % 2);
    mt_tensor *x = make_tensor(ctx, ndim, shape, -2, 2, &rng, permuted);
    if (no_ties) fill_without_ties(x, &rng);
    mt_requires_grad(x, true);
    int bad = gradcheck(name, f, &x, 1, &args, seed, NULL);
    CHECK(bad == 0, "gradient of %s (dim %d, kernel %dx%d, seed %llu, %s): %d elements off", name,
          args.dim, args.kh, args.kw, (unsigned long long)seed,
          permuted ? "permuted" : "contiguous", bad);
    mt_ctx_free(ctx);
}

static void test_gradients(void) {
    const int64_t img[4] = {2, 2, 4, 6};
    const int64_t cube[3] = {2, 3, 4};
    const int kernels[3][2] = {{2, 2}, {2, 1}, {1, 2}};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (int k = 0; k < 3; k++) {
            op_args a = {0, kernels[k][0], kernels[k][1]};
            run_gradcheck("avgpool2d", f_avgpool, a, 4, img, 0, seed);
            run_gradcheck("maxpool2d", f_maxpool, a, 4, img, 1, seed);
            run_gradcheck("tile", f_tile, a, 4, img, 0, seed);
        }
        run_gradcheck("maxpool2d 4x6", f_maxpool, (op_args){0, 4, 6}, 4, img, 1, seed);
        for (int dim = -1; dim < 3; dim++) {
            op_args a = {dim, 0, 0};
            run_gradcheck("max", f_max, a, 3, cube, 1, seed);
            run_gradcheck("softmax", f_softmax, a, 3, cube, 0, seed);
            run_gradcheck("logsoftmax", f_logsoftmax, a, 3, cube, 0, seed);
        }
        run_gradcheck("dropout", f_dropout, (op_args){0, 0, 0}, 3, cube, 0, seed);
    }
}

/* ------------------------------------------------------------------ validation */
static void test_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *img = mt_zeros(ctx, MT_SHAPE(1, 1, 4, 4));
    mt_tensor *cube = mt_zeros(ctx, MT_SHAPE(2, 3, 4));

    CHECK_ERROR(mt_avgpool2d(ctx, cube, 2, 2), MT_ERR_SHAPE,
                "avgpool2d: expected a 4-D input (B, C, H, W), got shape (2, 3, 4)");
    CHECK_ERROR(mt_maxpool2d(ctx, cube, 2, 2), MT_ERR_SHAPE, "maxpool2d: expected a 4-D input");
    CHECK_ERROR(mt_tile(ctx, cube, 2, 2), MT_ERR_SHAPE, "tile: expected a 4-D input");
    CHECK_ERROR(mt_maxpool2d(ctx, img, 0, 2), MT_ERR_ARG,
                "maxpool2d: kernel sizes must be >= 1, got 0 x 2");
    CHECK_ERROR(mt_avgpool2d(ctx, img, 2, -1), MT_ERR_ARG, "avgpool2d: kernel sizes must be >= 1");
    CHECK_ERROR(mt_tile(ctx, img, 1, 0), MT_ERR_ARG, "tile: kernel sizes must be >= 1");
    CHECK_ERROR(mt_avgpool2d(ctx, img, 3, 2), MT_ERR_SHAPE,
                "avgpool2d: kernel 3 x 2 must divide the input's height and width, got H = 4, W = "
                "4 (input (1, 1, 4, 4))");
    CHECK_ERROR(mt_maxpool2d(ctx, img, 2, 3), MT_ERR_SHAPE, "maxpool2d: kernel 2 x 3 must divide");
    CHECK_ERROR(mt_tile(ctx, img, 2, 3), MT_ERR_SHAPE, "tile: kernel 2 x 3 must divide");

    CHECK_ERROR(mt_max(ctx, cube, 3), MT_ERR_ARG,
                "max: dim 3 is out of range for shape (2, 3, 4) (expected -3..2)");
    CHECK_ERROR(mt_max(ctx, cube, -4), MT_ERR_ARG, "max: dim -4 is out of range");
    CHECK_ERROR(mt_argmax(ctx, cube, 3), MT_ERR_ARG, "argmax: dim 3 is out of range");
    CHECK_ERROR(mt_softmax(ctx, cube, 5), MT_ERR_ARG, "softmax: dim 5 is out of range");
    CHECK_ERROR(mt_logsoftmax(ctx, cube, -7), MT_ERR_ARG, "logsoftmax: dim -7 is out of range");

    CHECK_ERROR(mt_dropout(ctx, cube, 1.5f, true), MT_ERR_ARG,
                "dropout: rate must be in [0, 1], got 1.5");
    CHECK_ERROR(mt_dropout(ctx, cube, -0.25f, true), MT_ERR_ARG, "got -0.25");
    CHECK_ERROR(mt_dropout(ctx, cube, NAN, true), MT_ERR_ARG, "got nan");
    CHECK_ERROR(mt_dropout(ctx, cube, 2.0f, false), MT_ERR_ARG,
                "rate must be in [0, 1]"); /* checked in eval mode too */

    /* a NULL input gives NULL and keeps the first error */
    mt_fail(MT_ERR_SHAPE, "the first error");
    CHECK(!mt_avgpool2d(ctx, NULL, 2, 2) && !mt_maxpool2d(ctx, NULL, 2, 2) &&
              !mt_tile(ctx, NULL, 2, 2) && !mt_max(ctx, NULL, 0) && !mt_argmax(ctx, NULL, 0) &&
              !mt_softmax(ctx, NULL, 0) && !mt_logsoftmax(ctx, NULL, 0) &&
              !mt_dropout(ctx, NULL, 0.5f, true),
          "NULL inputs give NULL");
    CHECK(strcmp(mt_last_error(), "the first error") == 0, "first error kept: %s",
          mt_last_error());
    mt_clear_error();

    /* a backend without these kernels reports them, never crashes */
    static mt_backend bare;
    bare = mt_naive_backend;
    bare.name = "bare";
    for (int op = MT_OP_AVGPOOL2D; op <= MT_OP_DROPOUT; op++) bare.kernels[op] = NULL;
    mt_ctx *bctx = mt_ctx_new(&bare);
    mt_tensor *bimg = mt_zeros(bctx, MT_SHAPE(1, 1, 4, 4));
    CHECK_ERROR(mt_maxpool2d(bctx, bimg, 2, 2), MT_ERR_UNSUPPORTED,
                "backend 'bare' does not support op 'maxpool2d'");
    CHECK_ERROR(mt_softmax(bctx, bimg, 1), MT_ERR_UNSUPPORTED, "does not support op 'softmax'");
    CHECK_ERROR(mt_dropout(bctx, bimg, 0.5f, true), MT_ERR_UNSUPPORTED,
                "does not support op 'dropout'");
    mt_ctx_free(bctx);
    mt_ctx_free(ctx);
}

int main(void) {
    test_pool_values();
    test_pool_backward_values();
    test_tile();
    test_max();
    test_argmax();
    test_softmax();
    test_dropout_identity_and_errors();
    test_dropout_mask();
    test_dropout_ordinals();
    test_dropout_at_slices();
    test_gradients();
    test_errors();
    return check_summary("test_nn_ops");
}
