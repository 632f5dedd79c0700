/* A whole-model golden test, as llm.c checks its first training steps: golden/gen.py computes in
 * NumPy (float64) three plain-SGD steps of the MNIST network (mnist_model.c, dropout off) on one
 * fixed batch from fixed weights; every backend this build can run must reproduce the three losses
 * and the weights after the last step within float32 tolerance. The weights are also compared by
 * how far they moved, so a wrong gradient cannot hide behind the much larger weights. */
#include "check.h"
#include "mnist_model.h"
#include "verify_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN MT_GOLDEN_MODELS_DIR "/mnist_train_01_sgd3.mtgold"
/* float32 tolerances: the engine accumulates in float32 (openmp, cuda-sim) or double (naive);
 * measured: about 2.5e-8 on the weights on every backend, 20x inside these */
#define LOSS_TOL 2e-5
#define PARAM_ABS_TOL 5e-7
#define MOVE_REL_TOL 1e-4 /* of the largest movement of any weight */

static double param(const char *params, const char *key) {
    const char *at = strstr(params, key);
    return at ? atof(at + strlen(key) + 1) : NAN;
}

static void run_backend(const mt_backend *b, const vf_golden *g) {
    const char *bn = mt_backend_name(b);
    const vf_golden_array *x = vf_golden_get(g, "x"), *labels = vf_golden_get(g, "labels"),
                          *p0 = vf_golden_get(g, "params0"), *losses = vf_golden_get(g, "losses"),
                          *p3 = vf_golden_get(g, "params");
    if (!x || !labels || !p0 || !losses || !p3) {
        CHECK(0, "%s: missing arrays", g->path);
        return;
    }
    int B = (int)x->shape[0], H = (int)x->shape[2], W = (int)x->shape[3];
    int steps = (int)losses->shape[0];
    float lr = (float)param(g->params, "lr");
    mt_ctx *pctx = mt_ctx_new(b), *sctx = mt_ctx_new(b), *scratch = mt_ctx_new(b);
    mnist_model m;
    CHECK_OK(mnist_model_init(&m, pctx, MNIST_NET_MINITORCH, H, W, false, NULL));
    int64_t total = mt_params_numel(&m.params);
    CHECK(total == p0->shape[0], "%s: the model has %lld parameters, the golden file %lld", bn,
          (long long)total, (long long)p0->shape[0]);
    if (total != p0->shape[0]) goto done;
    float *host = malloc(sizeof(float) * (size_t)total);
    for (int64_t i = 0; i < total; i++) host[i] = (float)p0->data[i];
    for (int i = 0, at = 0; i < m.params.count; at += (int)mt_numel(m.params.items[i]), i++)
        CHECK_OK(mt_copy_from_host(m.params.items[i], host + at));
    float *xs = malloc(sizeof(float) * (size_t)B * H * W), onehot[64 * MNIST_CLASSES] = {0};
    for (int64_t i = 0; i < (int64_t)B * H * W; i++) xs[i] = (float)x->data[i];
    for (int i = 0; i < B; i++) onehot[i * MNIST_CLASSES + (int)labels->data[i]] = 1.0f;
    mt_optim opt;
    CHECK_OK(mt_optim_sgd(&opt, sctx, &m.params, lr, 0.0f, 0.0f));
    for (int s = 0; s < steps; s++) {
        mt_ctx_reset(scratch);
        CHECK_OK(mt_params_zero_grad(&m.params));
        mt_tensor *in = mt_from_array(scratch, MT_SHAPE(B, 1, H, W), xs);
        mt_tensor *y = mt_from_array(scratch, MT_SHAPE(B, MNIST_CLASSES), onehot);
        mt_tensor *loss = mt_nll_loss(scratch, mnist_model_forward(scratch, &m, in, false), y);
        float lv = NAN;
        CHECK_OK(mt_backward(scratch, loss, NULL));
        CHECK_OK(mt_optim_step(&opt, scratch));
        CHECK_OK(mt_item(loss, &lv));
        double want = losses->data[s];
        CHECK(fabs(lv - want) <= LOSS_TOL * fmax(1.0, fabs(want)),
              "%s step %d: loss %.9g, NumPy %.9g (diff %.3g)", bn, s + 1, (double)lv, want,
              fabs(lv - want));
    }
    for (int i = 0, at = 0; i < m.params.count; at += (int)mt_numel(m.params.items[i]), i++)
        CHECK_OK(mt_to_host(m.params.items[i], host + at));
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
    free(host);
done:
    mnist_model_free(&m);
    mt_ctx_free(pctx);
    mt_ctx_free(sctx);
    mt_ctx_free(scratch);
}

int main(void) {
    vf_golden g;
    char err[512];
    if (!vf_golden_read(GOLDEN, &g, err, sizeof err)) {
        printf("FAIL: %s\n  HINT: regenerate with /usr/bin/python3 golden/gen.py\n", err);
        return 1;
    }
    CHECK(strcmp(g.op, "mnist_train") == 0, "%s: op %s", GOLDEN, g.op);
    int ran = 0;
    for (int i = 0; i < mt_backend_count(); i++) {
        const mt_backend *b = mt_backend_at(i);
        char why[256];
        if (!mt_backend_available(b, why, sizeof why)) {
            printf("skip backend %s: %s\n", mt_backend_name(b), why);
            continue;
        }
        run_backend(b, &g);
        ran++;
    }
    CHECK(ran >= 1, "at least the naive backend ran");
    vf_golden_free(&g);
    return check_summary("train_golden");
}
