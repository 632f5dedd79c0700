/* Autodiff: MiniTorch's backprop examples, and every differentiable function's gradient against
 * central differences on random, non-contiguous and broadcast inputs over several seeds. */
#include "check.h"
#include "gradcheck.h"

#include <math.h>

/* ------------------------------------------------------------------ MiniTorch backprop examples */
/* Function1 of test_autodiff.py: f(x, y) = x + y + 10, so df/dx = df/dy = 1. */
static mt_tensor *function1(mt_ctx *ctx, mt_tensor *x, mt_tensor *y) {
    return mt_add_scalar(ctx, mt_add(ctx, x, y), 10.0f);
}

static float leaf_grad(mt_tensor *t) {
    float v = NAN;
    if (t->grad) mt_item(t->grad, &v);
    return v;
}

static void test_backprop_examples(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *zero = mt_scalar(ctx, 0.0f), *five = mt_scalar(ctx, 5.0f);

    mt_tensor *var = mt_scalar(ctx, 0.0f);
    mt_requires_grad(var, true);
    CHECK_OK(mt_backward(ctx, function1(ctx, zero, var), five));
    CHECK_CLOSE(leaf_grad(var), 5.0, 0);

    var = mt_scalar(ctx, 0.0f);
    mt_requires_grad(var, true);
    mt_tensor *v1 = function1(ctx, zero, var);
    CHECK_OK(mt_backward(ctx, function1(ctx, zero, v1), five));
    CHECK_CLOSE(leaf_grad(var), 5.0, 0);

    /* a diamond: var feeds two paths that meet again */
    var = mt_scalar(ctx, 0.0f);
    mt_requires_grad(var, true);
    mt_tensor *a = function1(ctx, zero, var), *b = function1(ctx, zero, var);
    mt_tensor *c = function1(ctx, zero, a);
    CHECK_OK(mt_backward(ctx, function1(ctx, b, c), five));
    CHECK_CLOSE(leaf_grad(var), 10.0, 0);

    var = mt_scalar(ctx, 0.0f);
    mt_requires_grad(var, true);
    mt_tensor *v0 = function1(ctx, zero, var);
    a = function1(ctx, zero, v0);
    b = function1(ctx, zero, v0);
    CHECK_OK(mt_backward(ctx, function1(ctx, a, b), five));
    CHECK_CLOSE(leaf_grad(var), 10.0, 0);

    /* exact derivatives: d(x^3)/dx = 3x^2, d(exp(x)*log(x))/dx = exp(x)(log x + 1/x) */
    mt_tensor *x = mt_scalar(ctx, 2.0f);
    mt_requires_grad(x, true);
    CHECK_OK(mt_backward(ctx, mt_mul(ctx, mt_mul(ctx, x, x), x), NULL));
    CHECK_CLOSE(leaf_grad(x), 12.0, 1e-6);
    mt_zero_grad(x);
    CHECK_CLOSE(leaf_grad(x), 0.0, 0);
    CHECK_OK(mt_backward(ctx, mt_mul(ctx, mt_exp(ctx, x), mt_log(ctx, x)), NULL));
    CHECK_CLOSE(leaf_grad(x), exp(2.0) * (log(2.0) + 0.5), 1e-5);
    /* gradients accumulate across backward calls until zeroed */
    CHECK_OK(mt_backward(ctx, mt_mul_scalar(ctx, x, 3.0f), NULL));
    CHECK_CLOSE(leaf_grad(x), exp(2.0) * (log(2.0) + 0.5) + 3.0, 1e-5);

    /* no_grad records nothing */
    bool was = mt_set_grad_enabled(false);
    mt_tensor *y = mt_mul(ctx, x, x);
    mt_set_grad_enabled(was);
    CHECK(y && !y->requires_grad && !y->node, "no_grad: no history");
    CHECK_ERROR(mt_backward(ctx, y, NULL) == MT_OK, MT_ERR_STATE, "does not require a gradient");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ numerical gradient checks */
typedef struct {
    const char *name;
    int ninputs;
    mt_tensor *(*fn)(mt_ctx *, mt_tensor **, void *);
    float lo, hi; /* input value range */
    int kink;     /* skip points at kinks */
} case_t;

static mt_tensor *f_neg(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_neg(c, x[0]); }
static mt_tensor *f_inv(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_inv(c, x[0]); }
static mt_tensor *f_sigmoid(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_sigmoid(c, x[0]); }
static mt_tensor *f_relu(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_relu(c, x[0]); }
static mt_tensor *f_log(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_log(c, x[0]); }
static mt_tensor *f_exp(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_exp(c, x[0]); }
static mt_tensor *f_add(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_add(c, x[0], x[1]); }
static mt_tensor *f_sub(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_sub(c, x[0], x[1]); }
static mt_tensor *f_mul(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_mul(c, x[0], x[1]); }
static mt_tensor *f_div(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_div(c, x[0], x[1]); }
static mt_tensor *f_sum0(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_sum(c, x[0], 0); }
static mt_tensor *f_sum_last(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_sum(c, x[0], -1); }
static mt_tensor *f_sum_all(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_sum_all(c, x[0]); }
static mt_tensor *f_mean1(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_mean(c, x[0], 1); }
static mt_tensor *f_mean_all(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_mean_all(c, x[0]); }
static mt_tensor *f_permute(mt_ctx *c, mt_tensor **x, void *u) {
    (void)u;
    return mt_permute(c, x[0], (int[]){2, 0, 1});
}
static mt_tensor *f_view(mt_ctx *c, mt_tensor **x, void *u) {
    (void)u;
    mt_tensor *cx = mt_contiguous(c, x[0]);
    return mt_view(c, cx, MT_SHAPE(mt_numel(x[0])));
}
static mt_tensor *f_matmul(mt_ctx *c, mt_tensor **x, void *u) { (void)u; return mt_matmul(c, x[0], x[1]); }
/* one tensor used twice, through different paths */
static mt_tensor *f_twice(mt_ctx *c, mt_tensor **x, void *u) {
    (void)u;
    return mt_add(c, mt_mul(c, x[0], x[0]), mt_sigmoid(c, x[0]));
}
/* a small network: sigmoid(relu(x @ w + b) @ v) */
static mt_tensor *f_mlp(mt_ctx *c, mt_tensor **x, void *u) {
    (void)u;
    mt_tensor *h = mt_relu(c, mt_add(c, mt_matmul(c, x[0], x[1]), x[2]));
    return mt_sigmoid(c, mt_sum(c, h, 1));
}

typedef struct {
    int ndim;
    int64_t shape[4];
} shape_t;

static int run_case(const case_t *k, const shape_t *shapes, uint64_t seed) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    mt_tensor *in[3];
    for (int i = 0; i < k->ninputs; i++) {
        in[i] = make_tensor(ctx, shapes[i].ndim, shapes[i].shape, k->lo, k->hi, &rng,
                            (int)((seed + (uint64_t)i) % 2));
        mt_requires_grad(in[i], true);
    }
    gradcheck_opts o = {.kink_skip = k->kink ? 1.0 : 0.0};
    int bad = gradcheck(k->name, k->fn, in, k->ninputs, NULL, seed, &o);
    CHECK(bad == 0, "gradient of %s (seed %llu): %d elements off", k->name,
          (unsigned long long)seed, bad);
    mt_ctx_free(ctx);
    return bad;
}

static void test_gradients(void) {
    static const case_t unary[] = {
        {"neg", 1, f_neg, -2, 2, 0},          {"inv", 1, f_inv, 0.5f, 2, 0},
        {"sigmoid", 1, f_sigmoid, -3, 3, 0},  {"relu", 1, f_relu, -1, 1, 1},
        {"log", 1, f_log, 0.5f, 3, 0},        {"exp", 1, f_exp, -2, 2, 0},
        {"sum dim 0", 1, f_sum0, -1, 1, 0},   {"sum dim -1", 1, f_sum_last, -1, 1, 0},
        {"sum all", 1, f_sum_all, -1, 1, 0},  {"mean dim 1", 1, f_mean1, -1, 1, 0},
        {"mean all", 1, f_mean_all, -1, 1, 0}, {"permute", 1, f_permute, -1, 1, 0},
        {"view", 1, f_view, -1, 1, 0},        {"used twice", 1, f_twice, -1, 1, 0},
    };
    static const shape_t one[] = {{3, {2, 3, 4}}};
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++) run_case(&unary[i], one, seed);

    static const case_t binary[] = {
        {"add", 2, f_add, -1, 1, 0}, {"sub", 2, f_sub, -1, 1, 0},
        {"mul", 2, f_mul, -1, 1, 0}, {"div", 2, f_div, 0.5f, 2, 0},
    };
    /* equal shapes, then broadcasting on either side and on both */
    static const shape_t pairs[][2] = {
        {{2, {3, 4}}, {2, {3, 4}}},
        {{3, {2, 3, 4}}, {1, {4}}},
        {{2, {3, 1}}, {3, {2, 3, 4}}},
        {{3, {2, 1, 4}}, {2, {3, 1}}},
    };
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++)
            for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
                run_case(&binary[i], pairs[p], seed + 10 * p);

    static const case_t mm = {"matmul", 2, f_matmul, -1, 1, 0};
    static const shape_t mm_shapes[][2] = {
        {{2, {3, 5}}, {2, {5, 4}}},
        {{3, {2, 3, 5}}, {2, {5, 4}}},       /* b broadcast over a's batch */
        {{3, {1, 3, 2}}, {3, {4, 2, 3}}},    /* batch dim 1 broadcast */
    };
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (size_t p = 0; p < 3; p++) run_case(&mm, mm_shapes[p], seed);

    static const case_t mlp = {"mlp", 3, f_mlp, -1, 1, 1};
    static const shape_t mlp_shapes[] = {{2, {4, 3}}, {2, {3, 5}}, {1, {5}}};
    for (uint64_t seed = 1; seed <= 3; seed++) run_case(&mlp, mlp_shapes, seed);
}

/* A planted wrong gradient must be caught: the checker is itself under test. */
static mt_tensor *f_wrong(mt_ctx *c, mt_tensor **x, void *u) {
    (void)u;
    /* forward is x*x, but the detached factor hides half the gradient from autodiff */
    return mt_mul(c, x[0], mt_detach(c, x[0]));
}
static void test_gradcheck_catches_wrong_gradient(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *x = mt_rand_uniform(ctx, MT_SHAPE(5), 0.5f, 1.5f, NULL);
    mt_requires_grad(x, true);
    fprintf(stderr, "(the next gradcheck failure is expected)\n");
    int bad = gradcheck("planted", f_wrong, &x, 1, NULL, 1, NULL);
    CHECK(bad == 5, "gradcheck flags all 5 elements of a wrong gradient, got %d", bad);
    mt_ctx_free(ctx);
}

int main(void) {
    test_backprop_examples();
    test_gradients();
    test_gradcheck_catches_wrong_gradient();
    return check_summary("test_autodiff");
}
