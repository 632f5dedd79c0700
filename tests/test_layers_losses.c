/* Linear layer and losses: values against sums written out by hand, gradients against central
 * differences, init range and reproducibility, parameter names, and shape errors. */
#include "check.h"
#include "gradcheck.h"

#include <math.h>
#include <string.h>

static mt_tensor *leaf(mt_ctx *ctx, int ndim, const int64_t *shape, const float *data) {
    mt_tensor *t = mt_from_array(ctx, ndim, shape, data);
    if (t) mt_requires_grad(t, true);
    return t;
}

/* ------------------------------------------------------------------ linear */
static void test_linear_forward(void) {
    enum { B = 3, IN = 4, OUT = 5 };
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 11);
    mt_linear fc;
    CHECK_OK(mt_linear_init(&fc, ctx, NULL, "fc", IN, OUT, &rng));
    /* a non-contiguous input: the layer must not assume x's layout */
    mt_tensor *x = make_tensor(ctx, MT_SHAPE(B, IN), -2, 2, &rng, 1);
    CHECK(x && !mt_is_contiguous(x), "x is a permuted view");
    mt_tensor *y = mt_linear_forward(ctx, &fc, x);
    CHECK_NOT_NULL(y);
    CHECK(y && y->ndim == 2 && y->shape[0] == B && y->shape[1] == OUT, "output is (B, out)");

    float xh[B * IN], w[IN * OUT], b[OUT], want[B * OUT];
    mt_to_host(x, xh);
    mt_to_host(fc.weight, w);
    mt_to_host(fc.bias, b);
    for (int r = 0; r < B; r++)
        for (int o = 0; o < OUT; o++) {
            double acc = b[o];
            for (int i = 0; i < IN; i++) acc += (double)xh[r * IN + i] * w[i * OUT + o];
            want[r * OUT + o] = (float)acc;
        }
    check_values(y, want, 1e-5, "linear(x)");
    mt_ctx_free(ctx);
}

static mt_tensor *linear_fn(mt_ctx *ctx, mt_tensor **in, void *user) {
    (void)user;
    mt_linear layer = {.weight = in[1], .bias = in[2]};
    return mt_linear_forward(ctx, &layer, in[0]);
}

static void test_linear_gradients(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 12);
    mt_params list = {0};
    mt_linear fc;
    CHECK_OK(mt_linear_init(&fc, ctx, &list, "fc", 3, 2, &rng));
    mt_tensor *x = make_tensor(ctx, MT_SHAPE(4, 3), -1, 1, &rng, 0);
    mt_requires_grad(x, true);
    mt_tensor *inputs[3] = {x, fc.weight, fc.bias};
    CHECK(gradcheck("linear", linear_fn, inputs, 3, NULL, 5, NULL) == 0,
          "linear: d x, d weight, d bias match central differences");
    mt_params_free(&list);
    mt_ctx_free(ctx);
}

static void test_linear_init(void) {
    enum { IN = 16, OUT = 32 };
    mt_ctx *ctx = mt_ctx_new(NULL);
    const double bound = 1.0 / sqrt((double)IN);
    mt_rng r1, r2, r3;
    mt_rng_seed(&r1, 7);
    mt_rng_seed(&r2, 7);
    mt_rng_seed(&r3, 8);
    mt_linear a, b, c;
    CHECK_OK(mt_linear_init(&a, ctx, NULL, "a", IN, OUT, &r1));
    CHECK_OK(mt_linear_init(&b, ctx, NULL, "b", IN, OUT, &r2));
    CHECK_OK(mt_linear_init(&c, ctx, NULL, "c", IN, OUT, &r3));
    CHECK(a.weight->ndim == 2 && a.weight->shape[0] == IN && a.weight->shape[1] == OUT,
          "weight is (in, out)");
    CHECK(a.bias->ndim == 1 && a.bias->shape[0] == OUT, "bias is (out,)");
    CHECK(a.weight->requires_grad && !a.weight->node && a.bias->requires_grad && !a.bias->node,
          "parameters are leaves that want gradients");

    float wa[IN * OUT], wb[IN * OUT], wc[IN * OUT], ba[OUT], bb[OUT];
    mt_to_host(a.weight, wa);
    mt_to_host(b.weight, wb);
    mt_to_host(c.weight, wc);
    mt_to_host(a.bias, ba);
    mt_to_host(b.bias, bb);
    /* in range, and spread over the whole range (a 1/in or 1/sqrt(out) scale would fail one) */
    double wmax = 0, bmax = 0, wsum = 0;
    int wout = 0, bout = 0;
    for (int i = 0; i < IN * OUT; i++) {
        wout += fabs(wa[i]) > bound;
        wmax = fmax(wmax, fabs(wa[i]));
        wsum += wa[i];
    }
    for (int i = 0; i < OUT; i++) {
        bout += fabs(ba[i]) > bound;
        bmax = fmax(bmax, fabs(ba[i]));
    }
    CHECK(wout == 0 && bout == 0, "%d weights and %d biases outside +-%g", wout, bout, bound);
    CHECK(wmax > 0.95 * bound, "weights fill +-1/sqrt(in): max |w| = %g, bound %g", wmax, bound);
    CHECK(bmax > 0.7 * bound, "biases fill +-1/sqrt(in): max |b| = %g, bound %g", bmax, bound);
    /* mean of 512 uniforms: standard deviation bound/sqrt(3*512) ~ 0.006 */
    CHECK(fabs(wsum / (IN * OUT)) < 0.03, "weights centred on 0: mean %g", wsum / (IN * OUT));
    CHECK(memcmp(wa, wb, sizeof wa) == 0 && memcmp(ba, bb, sizeof ba) == 0,
          "same seed, same bits");
    CHECK(memcmp(wa, wc, sizeof wa) != 0, "another seed, other weights");

    /* rng NULL draws from the context's generator */
    mt_ctx *c1 = mt_ctx_new(NULL), *c2 = mt_ctx_new(NULL);
    mt_ctx_seed(c1, 99);
    mt_ctx_seed(c2, 99);
    mt_linear d1, d2;
    CHECK_OK(mt_linear_init(&d1, c1, NULL, "d", IN, OUT, NULL));
    CHECK_OK(mt_linear_init(&d2, c2, NULL, "d", IN, OUT, NULL));
    float w1[IN * OUT], w2[IN * OUT];
    mt_to_host(d1.weight, w1);
    mt_to_host(d2.weight, w2);
    CHECK(memcmp(w1, w2, sizeof w1) == 0, "ctx generator: same seed, same bits");
    mt_ctx_free(c1);
    mt_ctx_free(c2);
    mt_ctx_free(ctx);
}

static void test_param_names(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_params list = {0};
    char name[16] = "fc1";
    mt_linear fc1, fc2, fc3;
    CHECK_OK(mt_linear_init(&fc1, ctx, &list, name, 2, 3, NULL));
    strcpy(name, "fc2"); /* the layer must have copied the first name */
    CHECK_OK(mt_linear_init(&fc2, ctx, &list, name, 3, 1, NULL));
    memset(name, 'x', sizeof name - 1);
    CHECK_OK(mt_linear_init(&fc3, ctx, &list, NULL, 1, 1, NULL));
    const char *want[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "linear.weight",
                          "linear.bias"};
    CHECK(list.count == 6, "6 parameters, got %d", list.count);
    for (int i = 0; i < list.count && i < 6; i++)
        CHECK(strcmp(list.names[i], want[i]) == 0, "name %d is \"%s\", expected \"%s\"", i,
              list.names[i], want[i]);
    CHECK(list.items[0] == fc1.weight && list.items[1] == fc1.bias && list.items[2] == fc2.weight &&
              list.items[3] == fc2.bias,
          "list order is weight, bias per layer");
    CHECK(mt_params_numel(&list) == 2 * 3 + 3 + 3 * 1 + 1 + 1 + 1, "numel of all parameters");
    mt_params_free(&list);
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ NLL */
static mt_tensor *nll_fn(mt_ctx *ctx, mt_tensor **in, void *user) {
    return mt_nll_loss(ctx, in[0], (mt_tensor *)user);
}

static void test_nll(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    /* B = 2, C = 3: targets pick -1.2 from row 0 and -0.1 from row 1 */
    const float lp[] = {-0.5f, -1.2f, -2.0f, -0.1f, -3.0f, -2.5f};
    const float y[] = {0, 1, 0, 1, 0, 0};
    mt_tensor *logp = leaf(ctx, MT_SHAPE(2, 3), lp);
    mt_tensor *tgt = mt_from_array(ctx, MT_SHAPE(2, 3), y);
    mt_tensor *loss = mt_nll_loss(ctx, logp, tgt);
    CHECK(loss && loss->ndim == 1 && loss->shape[0] == 1, "loss has shape (1,)");
    float v = NAN;
    mt_item(loss, &v);
    CHECK_CLOSE(v, (1.2 + 0.1) / 2.0, 1e-6);
    /* d loss / d logp = -y / B */
    CHECK_OK(mt_backward(ctx, loss, NULL));
    const float want_grad[] = {0, -0.5f, 0, -0.5f, 0, 0};
    check_values(logp->grad, want_grad, 1e-7, "d nll / d logprobs");

    /* central differences on random log-probabilities and one-hot rows */
    mt_rng rng;
    mt_rng_seed(&rng, 3);
    mt_tensor *x = mt_rand_uniform(ctx, MT_SHAPE(4, 5), -3, 0, &rng);
    mt_requires_grad(x, true);
    float oh[20] = {0};
    for (int b = 0; b < 4; b++) oh[b * 5 + (int)(mt_rng_uniform(&rng) * 5)] = 1;
    mt_tensor *t = mt_from_array(ctx, MT_SHAPE(4, 5), oh);
    CHECK(gradcheck("nll", nll_fn, &x, 1, t, 4, NULL) == 0, "nll gradient");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ BCE */
static mt_tensor *bce_fn(mt_ctx *ctx, mt_tensor **in, void *user) {
    (void)user;
    return mt_bce_loss(ctx, in[0], in[1]);
}

static void test_bce(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    const float p[] = {0.9f, 0.2f, 0.6f, 0.35f};
    const float y[] = {1, 0, 0, 1};
    mt_tensor *probs = leaf(ctx, MT_SHAPE(4), p);
    mt_tensor *tgt = mt_from_array(ctx, MT_SHAPE(4), y);
    mt_tensor *loss = mt_bce_loss(ctx, probs, tgt);
    CHECK(loss && loss->ndim == 1 && loss->shape[0] == 1, "loss has shape (1,)");
    /* -(log 0.9 + log 0.8 + log 0.4 + log 0.35) / 4, with p as float32 holds it */
    double want = -(log((double)p[0]) + log(1.0 - (double)p[1]) + log(1.0 - (double)p[2]) +
                    log((double)p[3])) /
                  4.0;
    float v = NAN;
    mt_item(loss, &v);
    CHECK_CLOSE(v, want, 1e-6);
    /* d loss / d p = -(y / p - (1 - y) / (1 - p)) / B: the clamp must pass it through */
    CHECK_OK(mt_backward(ctx, loss, NULL));
    float want_grad[4];
    for (int i = 0; i < 4; i++)
        want_grad[i] = (float)(-((double)y[i] / p[i] - (1.0 - y[i]) / (1.0 - p[i])) / 4.0);
    check_values(probs->grad, want_grad, 1e-5, "d bce / d probs");

    /* central differences for probs and (soft) targets, away from the clamp */
    mt_rng rng;
    mt_rng_seed(&rng, 21);
    mt_tensor *in[2] = {mt_rand_uniform(ctx, MT_SHAPE(6), 0.15f, 0.85f, &rng),
                        mt_rand_uniform(ctx, MT_SHAPE(6), 0.0f, 1.0f, &rng)};
    mt_requires_grad(in[0], true);
    mt_requires_grad(in[1], true);
    gradcheck_opts opts = {.eps = 1e-3};
    CHECK(gradcheck("bce", bce_fn, in, 2, NULL, 6, &opts) == 0, "bce gradient");
    mt_ctx_free(ctx);
}

/* Saturated predictions: p = 0 or 1 (and beyond the clamp) give a large finite loss, the clamp's
 * value, and a zero (not NaN) gradient. */
static void test_bce_saturated(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    const float p[] = {0.0f, 1.0f, 1e-9f, 1.0f};
    const float y[] = {1, 0, 1, 1};
    mt_tensor *probs = leaf(ctx, MT_SHAPE(4), p);
    mt_tensor *loss = mt_bce_loss(ctx, probs, mt_from_array(ctx, MT_SHAPE(4), y));
    float v = NAN;
    mt_item(loss, &v);
    /* clamped to lo = 1e-7 and hi = 1 - 1e-7 (1 - 2^-23 in float32); the last term is -log(hi) */
    const double lo = (double)1e-7f, hi = (double)(1.0f - 1e-7f);
    double want = -(log(lo) + log(1.0 - hi) + log(lo) + log(hi)) / 4.0;
    CHECK(isfinite(v), "loss at p = 0 and 1 is finite: %g", (double)v);
    CHECK_CLOSE(v, want, 1e-5 * want);
    CHECK_OK(mt_backward(ctx, loss, NULL));
    float g[4] = {NAN, NAN, NAN, NAN};
    mt_to_host(probs->grad, g);
    for (int i = 0; i < 3; i++)
        CHECK(g[i] == 0.0f, "gradient at clamped p[%d] = %g is 0, as torch.clamp", i, (double)g[i]);
    /* p = 1 with y = 1 sits above hi too: clamped, so 0 */
    CHECK(g[3] == 0.0f, "gradient at p = 1, y = 1 is 0: %g", (double)g[3]);
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ errors */
static void test_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_linear fc;
    CHECK_ERROR(mt_linear_init(&fc, ctx, NULL, "fc", 0, 3, NULL) == MT_OK, MT_ERR_ARG,
                "in_features and out_features must be >= 1");
    CHECK_ERROR(mt_linear_init(NULL, ctx, NULL, "fc", 2, 3, NULL) == MT_OK, MT_ERR_ARG, "NULL");
    CHECK_OK(mt_linear_init(&fc, ctx, NULL, "fc", 4, 3, NULL));
    CHECK_ERROR(mt_linear_forward(ctx, &fc, mt_zeros(ctx, MT_SHAPE(2, 5))), MT_ERR_SHAPE,
                "expected input (B, 4) for a layer with 4 input features, got (2, 5)");
    CHECK_ERROR(mt_linear_forward(ctx, &fc, mt_zeros(ctx, MT_SHAPE(4))), MT_ERR_SHAPE,
                "got (4,)");
    CHECK_ERROR(mt_linear_forward(ctx, &fc, mt_zeros(ctx, MT_SHAPE(1, 2, 4))), MT_ERR_SHAPE,
                "got (1, 2, 4)");

    CHECK_ERROR(mt_nll_loss(ctx, mt_zeros(ctx, MT_SHAPE(2, 3)), mt_zeros(ctx, MT_SHAPE(2, 4))),
                MT_ERR_SHAPE, "got logprobs (2, 3) and targets (2, 4)");
    CHECK_ERROR(mt_nll_loss(ctx, mt_zeros(ctx, MT_SHAPE(3)), mt_zeros(ctx, MT_SHAPE(3))),
                MT_ERR_SHAPE, "expected logprobs (B, C)");
    CHECK_ERROR(mt_bce_loss(ctx, mt_zeros(ctx, MT_SHAPE(4, 1)), mt_zeros(ctx, MT_SHAPE(4))),
                MT_ERR_SHAPE, "view the (B, 1) output as (B,) first");
    CHECK_ERROR(mt_bce_loss(ctx, mt_zeros(ctx, MT_SHAPE(4)), mt_zeros(ctx, MT_SHAPE(5))),
                MT_ERR_SHAPE, "got probs (4,) and targets (5,)");

    /* a NULL input (an earlier failure) passes through without overwriting the first error */
    mt_tensor *bad = mt_linear_forward(ctx, &fc, mt_zeros(ctx, MT_SHAPE(2, 5)));
    char first[256];
    snprintf(first, sizeof first, "%s", mt_last_error());
    CHECK(!bad && !mt_linear_forward(ctx, &fc, bad) &&
              !mt_nll_loss(ctx, bad, mt_zeros(ctx, MT_SHAPE(2, 3))) &&
              !mt_bce_loss(ctx, mt_zeros(ctx, MT_SHAPE(2)), bad),
          "NULL in, NULL out");
    CHECK(strcmp(first, mt_last_error()) == 0, "first error kept: \"%s\"", mt_last_error());
    mt_clear_error();
    mt_ctx_free(ctx);
}

int main(void) {
    test_linear_forward();
    test_linear_gradients();
    test_linear_init();
    test_param_names();
    test_nll();
    test_bce();
    test_bce_saturated();
    test_errors();
    return check_summary("test_layers_losses");
}
