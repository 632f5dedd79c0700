/* SGD with momentum and Adam against torch.optim's update rules written out in double, on every
 * backend: weight decay, bias correction, eps placement, skipped parameters, hyperparameter
 * errors, and a state context that does not grow with the number of steps. */
#include "check.h"

#include <stdio.h>

#include <math.h>
#include <string.h>

enum { N = 4 };
/* The gradient of each step: element 3 is exactly 0, so Adam's eps and weight decay show. */
static const float P0[N] = {0.5f, -1.0f, 2.0f, 0.25f};
static const float GRADS[2][N] = {{0.1f, -0.2f, 0.003f, 0.0f}, {-0.4f, 0.5f, 0.002f, 0.0f}};

/* Sets p's gradient to g through autodiff: d sum(p * g) / dp = g. */
static void set_grad(mt_ctx *scratch, mt_params *list, mt_tensor *p, const float *g) {
    mt_params_zero_grad(list);
    mt_tensor *gt = mt_from_array(scratch, MT_SHAPE(N), g);
    CHECK_OK(mt_backward(scratch, mt_sum_all(scratch, mt_mul(scratch, p, gt)), NULL));
}

static void check_param(const mt_tensor *p, const double *want, const char *what,
                        const char *backend) {
    float got[N];
    CHECK_OK(mt_to_host(p, got));
    for (int i = 0; i < N; i++)
        check_record(fabs(got[i] - want[i]) <= 1e-6, __FILE__, __LINE__,
                     "%s [%s] p[%d] = %.9g, expected %.9g", what, backend, i, (double)got[i],
                     want[i]);
}

/* torch.optim.SGD (dampening 0, nesterov off): d = g + wd p; buf = d on the first step, else
 * momentum buf + d; p -= lr buf. */
static void sgd_reference(double lr, double momentum, double wd, int steps, double *p) {
    double buf[N] = {0};
    for (int i = 0; i < N; i++) p[i] = P0[i];
    for (int t = 0; t < steps; t++)
        for (int i = 0; i < N; i++) {
            double d = GRADS[t][i] + wd * p[i];
            buf[i] = t == 0 ? d : momentum * buf[i] + d;
            p[i] -= lr * (momentum != 0 ? buf[i] : d);
        }
}

/* torch.optim.Adam (amsgrad off): d = g + wd p; m = b1 m + (1-b1) d; v = b2 v + (1-b2) d^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
static void adam_reference(double lr, double b1, double b2, double eps, double wd, int steps,
                           double *p) {
    double m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++) p[i] = P0[i];
    for (int t = 1; t <= steps; t++)
        for (int i = 0; i < N; i++) {
            double d = GRADS[t - 1][i] + wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * d;
            v[i] = b2 * v[i] + (1 - b2) * d * d;
            double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
            p[i] -= lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + eps);
        }
}

typedef struct config {
    mt_optim_kind kind;
    float lr, momentum, weight_decay, beta1, beta2, eps;
    const char *what;
} config;

static void run_config(const mt_backend *b, const config *c) {
    const char *bn = mt_backend_name(b);
    mt_ctx *params_ctx = mt_ctx_new(b), *state_ctx = mt_ctx_new(b), *scratch = mt_ctx_new(b);
    mt_params list = {0};
    mt_tensor *p = mt_param_new(params_ctx, &list, "p", mt_from_array(scratch, MT_SHAPE(N), P0));
    /* never reached by a loss: no gradient, so the optimizer must leave it and its state alone */
    mt_tensor *idle = mt_param_new(params_ctx, &list, "idle", mt_ones(scratch, MT_SHAPE(3)));
    mt_optim o;
    if (c->kind == MT_OPTIM_SGD)
        CHECK_OK(mt_optim_sgd(&o, state_ctx, &list, c->lr, c->momentum, c->weight_decay));
    else
        CHECK_OK(mt_optim_adam(&o, state_ctx, &list, c->lr, c->beta1, c->beta2, c->eps,
                               c->weight_decay));
    double want[N];
    for (int step = 1; step <= 2; step++) {
        mt_ctx_reset(scratch);
        set_grad(scratch, &list, p, GRADS[step - 1]);
        CHECK_OK(mt_optim_step(&o, scratch));
        if (c->kind == MT_OPTIM_SGD)
            sgd_reference(c->lr, c->momentum, c->weight_decay, step, want);
        else
            adam_reference(c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, step, want);
        char what[96];
        snprintf(what, sizeof what, "%s, step %d", c->what, step);
        check_param(p, want, what, bn);
    }
    CHECK(o.steps == 2, "%s [%s]: steps = %lld", c->what, bn, (long long)o.steps);
    float idle_v[3];
    mt_to_host(idle, idle_v);
    CHECK(!idle->grad && idle_v[0] == 1 && idle_v[1] == 1 && idle_v[2] == 1 && o.nstate == 2 &&
              !o.state1[1] && !o.state2[1],
          "%s [%s]: a parameter without gradient is skipped and has no state", c->what, bn);
    bool stateful = c->kind == MT_OPTIM_ADAM || c->momentum != 0;
    CHECK(stateful == (o.state1[0] != NULL) && (c->kind == MT_OPTIM_ADAM) == (o.state2[0] != NULL),
          "%s [%s]: state only where the rule needs it", c->what, bn);
    CHECK(!o.state1[0] || (mt_tensor_backend(o.state1[0]) == b && o.state1[0]->ctx == state_ctx),
          "%s [%s]: state lives in state_ctx on the parameter's backend", c->what, bn);
    mt_optim_free(&o);
    CHECK(!o.state1 && !o.params, "mt_optim_free clears the struct");
    mt_params_free(&list);
    mt_ctx_free(scratch);
    mt_ctx_free(state_ctx);
    mt_ctx_free(params_ctx);
}

static void test_update_rules(const mt_backend *b) {
    const config configs[] = {
        {MT_OPTIM_SGD, 0.1f, 0.0f, 0.0f, 0, 0, 0, "sgd"},
        {MT_OPTIM_SGD, 0.1f, 0.0f, 0.05f, 0, 0, 0, "sgd + weight decay"},
        {MT_OPTIM_SGD, 0.1f, 0.9f, 0.0f, 0, 0, 0, "sgd momentum"},
        {MT_OPTIM_SGD, 0.1f, 0.9f, 0.05f, 0, 0, 0, "sgd momentum + weight decay"},
        {MT_OPTIM_ADAM, 0.01f, 0, 0.0f, 0.9f, 0.999f, 1e-8f, "adam"},
        /* eps comparable to sqrt(v) / sqrt(bc2): pins where eps is added */
        {MT_OPTIM_ADAM, 0.01f, 0, 0.0f, 0.8f, 0.99f, 1e-2f, "adam, large eps"},
        {MT_OPTIM_ADAM, 0.01f, 0, 0.1f, 0.9f, 0.999f, 1e-8f, "adam + weight decay"},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) run_config(b, &configs[i]);
}

/* A small model trained for 100 steps: the state context is the same size after step 1 and after
 * step 100, and the reset scratch context is the same size every step. */
static void test_state_flat(const mt_backend *b, mt_optim_kind kind) {
    const char *bn = mt_backend_name(b);
    mt_ctx *params_ctx = mt_ctx_new(b), *state_ctx = mt_ctx_new(b), *scratch = mt_ctx_new(b);
    mt_ctx_seed(params_ctx, 5);
    mt_params list = {0};
    mt_linear fc;
    CHECK_OK(mt_linear_init(&fc, params_ctx, &list, "fc", 3, 2, NULL));
    mt_tensor *x = mt_rand_uniform(params_ctx, MT_SHAPE(8, 3), -1, 1, NULL);
    mt_optim o;
    if (kind == MT_OPTIM_SGD)
        CHECK_OK(mt_optim_sgd(&o, state_ctx, &list, 0.05f, 0.9f, 1e-3f));
    else
        CHECK_OK(mt_optim_adam(&o, state_ctx, &list, 0.01f, 0.9f, 0.999f, 1e-8f, 1e-3f));
    size_t state_after_first = 0, scratch_first = 0, params_after_first = 0;
    float first_loss = 0, last_loss = 0;
    for (int step = 0; step < 100; step++) {
        mt_ctx_reset(scratch);
        CHECK_OK(mt_params_zero_grad(&list));
        mt_tensor *y = mt_linear_forward(scratch, &fc, x);
        mt_tensor *loss = mt_mean_all(scratch, mt_mul(scratch, y, y));
        CHECK_OK(mt_backward(scratch, loss, NULL));
        CHECK_OK(mt_optim_step(&o, scratch));
        mt_item(loss, step == 0 ? &first_loss : &last_loss);
        if (step == 0) state_after_first = mt_ctx_bytes_used(state_ctx);
        /* step 0 makes the gradients and step 1 the cached zero that mt_zero_grad copies */
        if (step == 1) {
            scratch_first = mt_ctx_bytes_used(scratch);
            params_after_first = mt_ctx_bytes_used(params_ctx);
        }
    }
    const char *kn = kind == MT_OPTIM_SGD ? "sgd" : "adam";
    CHECK(state_after_first > 0, "%s [%s]: state was allocated", kn, bn);
    CHECK(mt_ctx_bytes_used(state_ctx) == state_after_first,
          "%s [%s]: state_ctx flat over 100 steps: %zu then %zu bytes", kn, bn, state_after_first,
          mt_ctx_bytes_used(state_ctx));
    CHECK(mt_ctx_bytes_used(params_ctx) == params_after_first,
          "%s [%s]: params ctx flat: %zu then %zu bytes", kn, bn, params_after_first,
          mt_ctx_bytes_used(params_ctx));
    CHECK(mt_ctx_bytes_used(scratch) == scratch_first, "%s [%s]: scratch per step flat", kn, bn);
    /* y = x W + b -> 0 is reachable: the loss must fall a long way */
    CHECK(last_loss < 0.1f * first_loss, "%s [%s]: loss fell from %g to %g", kn, bn,
          (double)first_loss, (double)last_loss);
    mt_optim_free(&o);
    mt_params_free(&list);
    mt_ctx_free(scratch);
    mt_ctx_free(state_ctx);
    mt_ctx_free(params_ctx);
}

/* Parameters appended after the optimizer was made are stepped too. */
static void test_list_growth(void) {
    mt_ctx *ctx = mt_ctx_new(NULL), *state_ctx = mt_ctx_new(NULL), *scratch = mt_ctx_new(NULL);
    mt_params list = {0};
    mt_tensor *a = mt_param_new(ctx, &list, "a", mt_from_array(ctx, MT_SHAPE(N), P0));
    mt_optim o;
    CHECK_OK(mt_optim_sgd(&o, state_ctx, &list, 0.1f, 0.9f, 0.0f));
    mt_tensor *late = mt_param_new(ctx, &list, "late", mt_from_array(ctx, MT_SHAPE(N), P0));
    set_grad(scratch, &list, late, GRADS[0]);
    CHECK_OK(mt_optim_step(&o, scratch));
    double want[N];
    sgd_reference(0.1, 0.9, 0.0, 1, want);
    check_param(late, want, "parameter added after mt_optim_sgd", "naive");
    CHECK(a->grad == NULL && o.nstate == 2 && !o.state1[0] && o.state1[1] != NULL,
          "state made for the late parameter only");
    mt_optim_free(&o);
    mt_params_free(&list);
    mt_ctx_free(scratch);
    mt_ctx_free(state_ctx);
    mt_ctx_free(ctx);
}

static void test_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL), *scratch = mt_ctx_new(NULL);
    mt_params list = {0};
    mt_optim o;
    CHECK_ERROR(mt_optim_sgd(&o, ctx, &list, -0.1f, 0.0f, 0.0f) == MT_OK, MT_ERR_ARG,
                "lr must be >= 0, got -0.1");
    CHECK_ERROR(mt_optim_sgd(&o, ctx, &list, NAN, 0.0f, 0.0f) == MT_OK, MT_ERR_ARG,
                "lr must be >= 0");
    CHECK_ERROR(mt_optim_sgd(&o, ctx, &list, 0.1f, -0.5f, 0.0f) == MT_OK, MT_ERR_ARG,
                "momentum must be >= 0");
    CHECK_ERROR(mt_optim_sgd(&o, ctx, &list, 0.1f, 0.0f, -1.0f) == MT_OK, MT_ERR_ARG,
                "weight_decay must be >= 0");
    CHECK_ERROR(mt_optim_adam(&o, ctx, &list, 0.1f, 1.0f, 0.999f, 1e-8f, 0.0f) == MT_OK,
                MT_ERR_ARG, "beta1 must be in [0, 1), got 1");
    CHECK_ERROR(mt_optim_adam(&o, ctx, &list, 0.1f, 0.9f, -0.1f, 1e-8f, 0.0f) == MT_OK,
                MT_ERR_ARG, "beta2 must be in [0, 1)");
    CHECK_ERROR(mt_optim_adam(&o, ctx, &list, 0.1f, 0.9f, 0.999f, -1.0f, 0.0f) == MT_OK,
                MT_ERR_ARG, "eps must be >= 0");
    CHECK_ERROR(mt_optim_adam(&o, NULL, &list, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f) == MT_OK,
                MT_ERR_ARG, "state_ctx is NULL");
    mt_optim blank = {0};
    CHECK_ERROR(mt_optim_step(&blank, scratch) == MT_OK, MT_ERR_STATE, "not initialised");
    CHECK_OK(mt_optim_sgd(&o, ctx, &list, 0.1f, 0.0f, 0.0f));
    CHECK_ERROR(mt_optim_step(&o, NULL) == MT_OK, MT_ERR_ARG, "scratch is NULL");
    CHECK_OK(mt_optim_step(&o, scratch)); /* an empty list is fine */
    mt_optim_free(&o);
    mt_optim_free(NULL);
    mt_ctx_free(scratch);
    mt_ctx_free(ctx);
}

int main(void) {
    const mt_backend *backends[CHECK_MAX_BACKENDS];
    int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
    for (int i = 0; i < nb; i++) {
        const mt_backend *b = backends[i];
        test_update_rules(b);
        test_state_flat(b, MT_OPTIM_SGD);
        test_state_flat(b, MT_OPTIM_ADAM);
    }
    test_list_growth();
    test_errors();
    return check_summary("test_optimizers");
}
