/* End to end: MiniTorch's toy data sets, and a two-layer network (linear 2->H, relu, linear H->1,
 * sigmoid, BCE) trained full-batch on xor and circle to >= 95% training accuracy, with a scratch
 * context reset every step that stays the same size. */
#include "check.h"
#include "toy_datasets.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ data sets */
static void test_datasets(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    for (int k = 0; k < TOY_COUNT; k++) {
        const char *name = toy_name((toy_kind)k);
        CHECK((int)toy_from_name(name) == k, "%s: name round-trips", name);
        mt_rng r1, r2;
        mt_rng_seed(&r1, 42);
        mt_rng_seed(&r2, 42);
        toy_data a, b;
        CHECK_OK(toy_make(ctx, (toy_kind)k, 101, &r1, &a));
        CHECK_OK(toy_make(ctx, (toy_kind)k, 101, &r2, &b));
        int want_n = k == TOY_SPIRAL ? 100 : 101; /* spiral: 101 / 2 per class */
        CHECK(a.n == want_n && a.x->shape[0] == want_n && a.x->shape[1] == 2 &&
                  a.y->shape[0] == want_n,
              "%s: %d points of (x1, x2), got %d", name, want_n, a.n);
        float xa[2 * 101], xb[2 * 101], ya[101], yb[101];
        mt_to_host(a.x, xa);
        mt_to_host(b.x, xb);
        mt_to_host(a.y, ya);
        mt_to_host(b.y, yb);
        CHECK(memcmp(xa, xb, sizeof(float) * 2 * (size_t)a.n) == 0 &&
                  memcmp(ya, yb, sizeof(float) * (size_t)a.n) == 0,
              "%s: same seed, same bits", name);
        int ones = 0, bad = 0;
        for (int i = 0; i < a.n; i++) {
            double x1 = xa[2 * i], x2 = xa[2 * i + 1];
            ones += ya[i] == 1.0f;
            bad += !(ya[i] == 0.0f || ya[i] == 1.0f);
            if (k != TOY_SPIRAL) bad += !(x1 >= 0 && x1 < 1 && x2 >= 0 && x2 < 1);
        }
        CHECK(bad == 0, "%s: points in [0,1)^2 with 0/1 labels (%d bad)", name, bad);
        CHECK(ones > 0 && ones < a.n, "%s: both classes present (%d of %d are 1)", name, ones,
              a.n);
    }
    /* spot checks against MiniTorch's definitions */
    toy_data d;
    CHECK_OK(toy_make(ctx, TOY_CIRCLE, 200, NULL, &d));
    float x[400], y[200];
    mt_to_host(d.x, x);
    mt_to_host(d.y, y);
    int wrong = 0;
    for (int i = 0; i < 200; i++) {
        double dx = x[2 * i] - 0.5, dy = x[2 * i + 1] - 0.5;
        wrong += y[i] != (dx * dx + dy * dy > 0.1 ? 1.0f : 0.0f);
    }
    CHECK(wrong == 0, "circle: label 1 outside radius sqrt(0.1) (%d wrong)", wrong);
    CHECK_OK(toy_make(ctx, TOY_SPIRAL, 10, NULL, &d));
    mt_to_host(d.x, x);
    mt_to_host(d.y, y);
    /* half = 5, first point t = 10 * 5 / 5 = 10: (10 cos 10 / 20 + .5, 10 sin 10 / 20 + .5);
     * first class-1 point is (y(-10), x(-10)) = (10 sin 10 / 20 + .5, -10 cos 10 / 20 + .5) */
    CHECK_CLOSE(x[0], 0.5 * cos(10.0) + 0.5, 1e-6);
    CHECK_CLOSE(x[1], 0.5 * sin(10.0) + 0.5, 1e-6);
    CHECK_CLOSE(x[10], 0.5 * sin(10.0) + 0.5, 1e-6);
    CHECK_CLOSE(x[11], -0.5 * cos(10.0) + 0.5, 1e-6);
    CHECK(y[0] == 0 && y[4] == 0 && y[5] == 1 && y[9] == 1, "spiral: 5 of class 0, then class 1");
    CHECK(toy_make(ctx, TOY_SPIRAL, 1, NULL, &d) == MT_ERR_ARG, "spiral needs 2 points");
    CHECK(toy_from_name("Xor") == TOY_XOR && toy_from_name("moons") == TOY_COUNT, "name lookup");
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ training */
typedef struct model {
    mt_linear fc1, fc2;
} model;

/* (B,2) -> (B,) probabilities */
static mt_tensor *forward(mt_ctx *ctx, const model *m, mt_tensor *x) {
    mt_tensor *h = mt_relu(ctx, mt_linear_forward(ctx, &m->fc1, x));
    mt_tensor *p = mt_sigmoid(ctx, mt_linear_forward(ctx, &m->fc2, h));
    return p ? mt_view(ctx, p, 1, (const int64_t[]){p->shape[0]}) : NULL;
}

static double accuracy(mt_ctx *scratch, const model *m, const toy_data *d) {
    bool was = mt_set_grad_enabled(false);
    mt_tensor *p = forward(scratch, m, d->x);
    mt_set_grad_enabled(was);
    float probs[512], labels[512];
    if (!p || d->n > 512 || mt_to_host(p, probs) != MT_OK || mt_to_host(d->y, labels) != MT_OK)
        return 0.0;
    int correct = 0;
    for (int i = 0; i < d->n; i++) correct += (probs[i] > 0.5f) == (labels[i] == 1.0f);
    return (double)correct / d->n;
}

typedef struct train_case {
    toy_kind kind;
    int points, hidden, steps;
    mt_optim_kind optim;
    float lr;
} train_case;

static void train(const train_case *tc) {
    const char *name = toy_name(tc->kind);
    const char *oname = tc->optim == MT_OPTIM_ADAM ? "adam" : "sgd";
    clock_t start = clock();
    mt_ctx *params_ctx = mt_ctx_new(NULL), *state_ctx = mt_ctx_new(NULL),
           *scratch = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 2024);
    toy_data data;
    CHECK_OK(toy_make(params_ctx, tc->kind, tc->points, &rng, &data));
    mt_params list = {0};
    model m;
    CHECK_OK(mt_linear_init(&m.fc1, params_ctx, &list, "fc1", 2, tc->hidden, &rng));
    CHECK_OK(mt_linear_init(&m.fc2, params_ctx, &list, "fc2", tc->hidden, 1, &rng));
    mt_optim opt;
    if (tc->optim == MT_OPTIM_ADAM)
        CHECK_OK(mt_optim_adam(&opt, state_ctx, &list, tc->lr, 0.9f, 0.999f, 1e-8f, 0.0f));
    else
        CHECK_OK(mt_optim_sgd(&opt, state_ctx, &list, tc->lr, 0.9f, 0.0f));

    double acc0 = accuracy(scratch, &m, &data);
    float loss0 = NAN, loss_last = NAN;
    size_t scratch_bytes = 0;
    int failures = 0;
    for (int step = 0; step < tc->steps && failures == 0; step++) {
        mt_ctx_reset(scratch);
        failures += mt_params_zero_grad(&list) != MT_OK;
        mt_tensor *loss = mt_bce_loss(scratch, forward(scratch, &m, data.x), data.y);
        failures += !loss || mt_backward(scratch, loss, NULL) != MT_OK;
        failures += mt_optim_step(&opt, scratch) != MT_OK;
        if (loss) mt_item(loss, step == 0 ? &loss0 : &loss_last);
        if (step == 1) scratch_bytes = mt_ctx_bytes_used(scratch);
        if (step > 1 && mt_ctx_bytes_used(scratch) != scratch_bytes) failures++;
    }
    CHECK(failures == 0, "%s/%s: every step ran with a flat scratch context (%s)", name, oname,
          mt_last_error());
    mt_ctx_reset(scratch);
    double acc = accuracy(scratch, &m, &data);
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    printf("%-7s %-5s %d points, hidden %d, %d steps: loss %.4f -> %.4f, accuracy %.1f%% -> "
           "%.1f%% (%.2f s)\n",
           name, oname, data.n, tc->hidden, tc->steps, (double)loss0, (double)loss_last,
           100 * acc0, 100 * acc, secs);
    CHECK(acc >= 0.95, "%s/%s: training accuracy %.1f%% >= 95%%", name, oname, 100 * acc);
    CHECK(loss_last < 0.5f * loss0, "%s/%s: loss fell from %g to %g", name, oname,
          (double)loss0, (double)loss_last);
    mt_optim_free(&opt);
    mt_params_free(&list);
    mt_ctx_free(scratch);
    mt_ctx_free(state_ctx);
    mt_ctx_free(params_ctx);
}

int main(void) {
    test_datasets();
    const train_case cases[] = {
        {TOY_XOR, 200, 16, 600, MT_OPTIM_ADAM, 0.05f},
        {TOY_CIRCLE, 200, 16, 600, MT_OPTIM_ADAM, 0.05f},
        {TOY_XOR, 200, 16, 600, MT_OPTIM_SGD, 0.5f},
        {TOY_CIRCLE, 200, 16, 600, MT_OPTIM_SGD, 0.5f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) train(&cases[i]);
    return check_summary("test_train_toy");
}
