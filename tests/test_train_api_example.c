/* A training loop written the way the API is meant to be used, on every runnable backend:
 *   - two branches concatenated (mt_cat) instead of summed,
 *   - the loss from integer class labels (mt_cross_entropy), no one-hot built on the host,
 *   - one train/eval switch for the model (mt_params_train / mt_params_eval) that its dropout
 *     layer follows, so the forward takes no `training` flag.
 * It must reach 95% accuracy on MiniTorch's circle data set, evaluated in eval mode, where two
 * forwards give the same bits (dropout off) while two training-mode forwards differ. */
#include "check.h"
#include "tensor_compare.h"
#include "toy_datasets.h"

#include <math.h>
#include <string.h>

enum { POINTS = 200, HIDDEN = 8, CLASSES = 2, STEPS = 300 };

typedef struct model {
    mt_params params; /* the dropout layer points here: the model is not copied after init */
    mt_linear raw, squared, out;
    mt_dropout_layer drop;
} model;

static mt_status model_init(model *m, mt_ctx *ctx, mt_rng *rng) {
    *m = (model){0};
    mt_status s;
    if ((s = mt_linear_init(&m->raw, ctx, &m->params, "raw", 2, HIDDEN, rng)) != MT_OK ||
        (s = mt_linear_init(&m->squared, ctx, &m->params, "squared", 2, HIDDEN, rng)) != MT_OK ||
        (s = mt_linear_init(&m->out, ctx, &m->params, "out", 2 * HIDDEN, CLASSES, rng)) != MT_OK)
        return s;
    return mt_dropout_init(&m->drop, &m->params, 0.1f);
}

/* x (B,2) -> logits (B,CLASSES) */
static mt_tensor *model_forward(mt_ctx *ctx, const model *m, mt_tensor *x) {
    mt_tensor *centred = mt_add_scalar(ctx, x, -0.5f);                              /* (B,2) */
    mt_tensor *a = mt_relu(ctx, mt_linear_forward(ctx, &m->raw, centred));          /* (B,H) */
    mt_tensor *sq = mt_mul(ctx, centred, centred);                                  /* (B,2) */
    mt_tensor *b = mt_relu(ctx, mt_linear_forward(ctx, &m->squared, sq));           /* (B,H) */
    mt_tensor *h = mt_cat(ctx, (mt_tensor *[]){a, b}, 2, 1);                        /* (B,2H) */
    return mt_linear_forward(ctx, &m->out, mt_dropout_forward(ctx, &m->drop, h));  /* (B,C) */
}

static double accuracy(mt_ctx *scratch, const model *m, mt_tensor *x, const int64_t *labels) {
    bool was = mt_set_grad_enabled(false);
    mt_tensor *logits = model_forward(scratch, m, x);
    mt_set_grad_enabled(was);
    float host[POINTS * CLASSES];
    if (!logits || mt_to_host(logits, host) != MT_OK) return 0.0;
    int correct = 0;
    for (int i = 0; i < POINTS; i++) correct += (host[2 * i + 1] > host[2 * i]) == (labels[i] == 1);
    return (double)correct / POINTS;
}

static void train(const mt_backend *be) {
    const char *bn = mt_backend_name(be);
    mt_ctx *params_ctx = mt_ctx_new(be), *state_ctx = mt_ctx_new(be), *scratch = mt_ctx_new(be);
    mt_ctx_seed(scratch, 7); /* dropout's masks */
    mt_rng rng;
    mt_rng_seed(&rng, 2024);
    toy_data data;
    CHECK_OK(toy_make(params_ctx, TOY_CIRCLE, POINTS, &rng, &data));
    float yf[POINTS];
    int64_t labels[POINTS]; /* what a data loader hands over: class ids */
    CHECK_OK(mt_to_host(data.y, yf));
    for (int i = 0; i < POINTS; i++) labels[i] = (int64_t)yf[i];

    model m;
    CHECK_OK(model_init(&m, params_ctx, &rng));
    mt_optim opt;
    CHECK_OK(mt_optim_adam(&opt, state_ctx, &m.params, 0.05f, 0.9f, 0.999f, 1e-8f, 0.0f));

    float loss0 = NAN, loss_last = NAN;
    int failures = 0;
    CHECK_OK(mt_params_train(&m.params, true));
    for (int step = 0; step < STEPS && failures == 0; step++) {
        mt_ctx_reset(scratch);
        failures += mt_params_zero_grad(&m.params) != MT_OK;
        mt_tensor *loss = mt_cross_entropy(scratch, model_forward(scratch, &m, data.x), labels);
        failures += !loss || mt_backward(scratch, loss, NULL) != MT_OK;
        failures += mt_optim_step(&opt, scratch) != MT_OK;
        if (loss) mt_item(loss, step == 0 ? &loss0 : &loss_last);
    }
    CHECK(failures == 0, "%s: every step ran (%s)", bn, mt_last_error());

    /* training mode: dropout draws a new mask each forward */
    mt_ctx_reset(scratch);
    mt_tensor *t1 = model_forward(scratch, &m, data.x), *t2 = model_forward(scratch, &m, data.x);
    float h1[POINTS * CLASSES], h2[POINTS * CLASSES];
    CHECK(t1 && t2 && mt_to_host(t1, h1) == MT_OK && mt_to_host(t2, h2) == MT_OK &&
              memcmp(h1, h2, sizeof h1) != 0,
          "%s: two training-mode forwards differ (dropout on)", bn);

    CHECK_OK(mt_params_eval(&m.params));
    mt_ctx_reset(scratch);
    mt_tensor *e1 = model_forward(scratch, &m, data.x), *e2 = model_forward(scratch, &m, data.x);
    char what[64];
    snprintf(what, sizeof what, "%s: two eval-mode forwards", bn);
    compare_bits(what, e1, e2);
    mt_ctx_reset(scratch);
    double acc = accuracy(scratch, &m, data.x, labels);
    printf("%-8s circle, %d points, %d steps: loss %.4f -> %.4f, eval accuracy %.1f%%\n", bn,
           POINTS, STEPS, (double)loss0, (double)loss_last, 100 * acc);
    CHECK(acc >= 0.95, "%s: eval accuracy %.1f%% >= 95%%", bn, 100 * acc);
    CHECK(loss_last < 0.5f * loss0, "%s: loss fell from %g to %g", bn, (double)loss0,
          (double)loss_last);
    mt_optim_free(&opt);
    mt_params_free(&m.params);
    mt_ctx_free(scratch);
    mt_ctx_free(state_ctx);
    mt_ctx_free(params_ctx);
}

int main(void) {
    const mt_backend *backends[CHECK_MAX_BACKENDS];
    int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
    for (int i = 0; i < nb; i++) train(backends[i]);
    return check_summary("test_train_api_example");
}
