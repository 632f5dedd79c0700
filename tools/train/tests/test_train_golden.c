/* Whole-model golden tests, as llm.c checks its first training steps: golden/gen.py computes in
 * NumPy (float64) three plain-SGD steps of the MNIST network (mnist_model.c) and of the sentiment
 * CNN (sentiment_model.c), dropout off, each on one fixed batch from fixed weights; every backend
 * this build can run must reproduce the three losses and the weights after the last step within
 * float32 tolerance. The weights are also compared by how far they moved, so a wrong gradient
 * cannot hide behind the much larger weights. */
#include "check.h"
#include "mnist_model.h"
#include "sentiment_model.h"
#include "verify_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* float32 tolerances: the engine accumulates in float32 (openmp, cuda-sim) or double (naive);
 * measured: about 2.5e-8 on the weights on every backend, 20x inside these */
#define LOSS_TOL 2e-5
#define PARAM_ABS_TOL 5e-7
#define MOVE_REL_TOL 1e-4 /* of the largest movement of any weight */

static double param(const char *params, const char *key) {
    const char *at = strstr(params, key);
    return at ? atof(at + strlen(key) + 1) : NAN;
}

/* One golden model: what the generic runner needs to know of it. The inputs are the file's x
 * (float32 values) and labels, already on the host as floats. */
typedef union any_model {
    mnist_model mnist;
    sentiment_model sentiment;
} any_model;
typedef struct golden_model {
    const char *file, *op;
    /* makes the model for x's shape in ctx; returns its parameter list */
    mt_params *(*init)(any_model *m, mt_ctx *ctx, const vf_golden *g);
    /* the batch's mean loss (1,), dropout off, in scratch */
    mt_tensor *(*loss)(any_model *m, mt_ctx *scratch, const vf_golden_array *x, const float *xs,
                       const float *labels);
    void (*free)(any_model *m);
} golden_model;

static mt_params *mnist_init(any_model *m, mt_ctx *ctx, const vf_golden *g) {
    const vf_golden_array *x = vf_golden_get(g, "x"); /* (B,1,H,W) */
    CHECK_OK(mnist_model_init(&m->mnist, ctx, MNIST_NET_MINITORCH, (int)x->shape[2],
                              (int)x->shape[3], false, NULL));
    return &m->mnist.params;
}
static mt_tensor *mnist_loss(any_model *m, mt_ctx *scratch, const vf_golden_array *x,
                             const float *xs, const float *labels) {
    int B = (int)x->shape[0];
    float onehot[64 * MNIST_CLASSES] = {0};
    for (int i = 0; i < B && i < 64; i++) onehot[i * MNIST_CLASSES + (int)labels[i]] = 1.0f;
    mt_tensor *in = mt_from_array(scratch, MT_SHAPE(B, 1, x->shape[2], x->shape[3]), xs);
    mt_tensor *y = mt_from_array(scratch, MT_SHAPE(B, MNIST_CLASSES), onehot); /* (B,10) */
    return mt_nll_loss(scratch, mnist_model_forward(scratch, &m->mnist, in, false), y);
}
static void mnist_free(any_model *m) { mnist_model_free(&m->mnist); }

static mt_params *sentiment_init(any_model *m, mt_ctx *ctx, const vf_golden *g) {
    const vf_golden_array *x = vf_golden_get(g, "x"); /* (B,D,L) */
    CHECK_OK(sentiment_model_init(&m->sentiment, ctx, (int)x->shape[1],
                                  (int)param(g->params, "filters"), false, NULL));
    return &m->sentiment.params;
}
static mt_tensor *sentiment_loss(any_model *m, mt_ctx *scratch, const vf_golden_array *x,
                                 const float *xs, const float *labels) {
    int B = (int)x->shape[0];
    int64_t d = x->shape[1], l = x->shape[2];
    mt_tensor *in = mt_from_array(scratch, MT_SHAPE(B, d, l), xs); /* (B,D,L) */
    mt_tensor *y = mt_from_array(scratch, MT_SHAPE(B), labels);    /* (B,) */
    return mt_bce_loss(scratch, sentiment_model_forward(scratch, &m->sentiment, in, false), y);
}
static void sentiment_free(any_model *m) { sentiment_model_free(&m->sentiment); }

static const golden_model MODELS[] = {
    {"mnist_train_01_sgd3.mtgold", "mnist_train", mnist_init, mnist_loss, mnist_free},
    {"sst2_train_01_sgd3.mtgold", "sst2_train", sentiment_init, sentiment_loss, sentiment_free},
};

static void run_backend(const mt_backend *b, const vf_golden *g, const golden_model *gm) {
    char bn[128];
    snprintf(bn, sizeof bn, "%s %s", gm->op, mt_backend_name(b));
    const vf_golden_array *x = vf_golden_get(g, "x"), *labels = vf_golden_get(g, "labels"),
                          *p0 = vf_golden_get(g, "params0"), *losses = vf_golden_get(g, "losses"),
                          *p3 = vf_golden_get(g, "params");
    if (!x || !labels || !p0 || !losses || !p3) {
        CHECK(0, "%s: missing arrays", g->path);
        return;
    }
    int steps = (int)losses->shape[0];
    float lr = (float)param(g->params, "lr");
    mt_ctx *pctx = mt_ctx_new(b), *sctx = mt_ctx_new(b), *scratch = mt_ctx_new(b);
    any_model m;
    memset(&m, 0, sizeof m);
    mt_params *list = gm->init(&m, pctx, g);
    int64_t total = mt_params_numel(list);
    CHECK(total == p0->shape[0], "%s: the model has %lld parameters, the golden file %lld", bn,
          (long long)total, (long long)p0->shape[0]);
    if (total != p0->shape[0]) goto done;
    float *host = malloc(sizeof(float) * (size_t)total);
    for (int64_t i = 0; i < total; i++) host[i] = (float)p0->data[i];
    for (int i = 0, at = 0; i < list->count; at += (int)mt_numel(list->items[i]), i++)
        CHECK_OK(mt_copy_from_host(list->items[i], host + at));
    int64_t nx = 1;
    for (int d = 0; d < (int)x->ndim; d++) nx *= x->shape[d];
    float *xs = malloc(sizeof(float) * (size_t)nx), *ys = malloc(sizeof(float) * (size_t)nx);
    for (int64_t i = 0; i < nx; i++) xs[i] = (float)x->data[i];
    for (int64_t i = 0; i < labels->shape[0]; i++) ys[i] = (float)labels->data[i];
    mt_optim opt;
    CHECK_OK(mt_optim_sgd(&opt, sctx, list, lr, 0.0f, 0.0f));
    for (int s = 0; s < steps; s++) {
        mt_ctx_reset(scratch);
        CHECK_OK(mt_params_zero_grad(list));
        mt_tensor *loss = gm->loss(&m, scratch, x, xs, ys); /* (1,) */
        float lv = NAN;
        CHECK_OK(mt_backward(scratch, loss, NULL));
        CHECK_OK(mt_optim_step(&opt, scratch));
        CHECK_OK(mt_item(loss, &lv));
        double want = losses->data[s];
        CHECK(fabs(lv - want) <= LOSS_TOL * fmax(1.0, fabs(want)),
              "%s step %d: loss %.9g, NumPy %.9g (diff %.3g)", bn, s + 1, (double)lv, want,
              fabs(lv - want));
    }
    for (int i = 0, at = 0; i < list->count; at += (int)mt_numel(list->items[i]), i++)
        CHECK_OK(mt_to_host(list->items[i], host + at));
    double max_move = 0, worst_abs = 0, worst_move = 0;
    int64_t worst_i = 0;
    for (int64_t i = 0; i < total; i++)
        max_move = fmax(max_move, fabs(p3->data[i] - p0->data[i]));
    for (int64_t i = 0; i < total; i++) {
        double err = fabs((double)host[i] - p3->data[i]);
        /* movement measured from the float32 start, which is what the engine moved */
        double moved = (double)host[i] - (double)(float)p0->data[i];
        double err_move = fabs(moved - (p3->data[i] - p0->data[i]));
        if (err > worst_abs) worst_abs = err, worst_i = i;
        worst_move = fmax(worst_move, err_move);
    }
    CHECK(max_move > 1e-3, "%s: the golden steps move the weights (max %.3g)", bn, max_move);
    CHECK(worst_abs <= PARAM_ABS_TOL, "%s: weights after %d steps within %g (worst %.3g at "
          "flat index %lld)", bn, steps, PARAM_ABS_TOL, worst_abs, (long long)worst_i);
    CHECK(worst_move <= MOVE_REL_TOL * max_move, "%s: weight movements within %g of the largest "
          "(worst %.3g, largest %.3g)", bn, MOVE_REL_TOL, worst_move, max_move);
    printf("%s: losses ok, worst weight error %.3g, worst movement error %.3g of %.3g\n", bn,
           worst_abs, worst_move, max_move);
    mt_optim_free(&opt);
    free(xs);
    free(ys);
    free(host);
done:
    gm->free(&m);
    mt_ctx_free(pctx);
    mt_ctx_free(sctx);
    mt_ctx_free(scratch);
}

int main(void) {
    for (size_t k = 0; k < sizeof MODELS / sizeof MODELS[0]; k++) {
        const golden_model *gm = &MODELS[k];
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/%s", MT_GOLDEN_MODELS_DIR, gm->file);
        vf_golden g;
        if (!vf_golden_read(path, &g, err, sizeof err)) {
            CHECK(0, "%s\n  HINT: regenerate with /usr/bin/python3 golden/gen.py", err);
            continue;
        }
        CHECK(strcmp(g.op, gm->op) == 0, "%s: op %s, expected %s", path, g.op, gm->op);
        const mt_backend *backends[CHECK_MAX_BACKENDS];
        int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
        for (int i = 0; i < nb; i++) run_backend(backends[i], &g, gm);
        CHECK(nb >= 1, "%s: at least the naive backend ran", gm->op);
        vf_golden_free(&g);
    }
    return check_summary("train_golden");
}
