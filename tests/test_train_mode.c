/* The model's train/eval switch (mt_params_train / mt_params_eval) and the dropout layer that
 * follows it, on every runnable backend: a new list trains; one call flips every dropout layer of
 * the model; in eval the layer is the identity and draws no random numbers; in training it is
 * mt_dropout with the same mask; errors. */
#include "check.h"
#include "tensor_compare.h"

#include <math.h>
#include <string.h>

static void test_mode_switch(void) {
    mt_params list = {0};
    CHECK(mt_params_is_training(&list), "a zeroed list is in training mode (PyTorch's default)");
    CHECK_OK(mt_params_eval(&list));
    CHECK(!mt_params_is_training(&list), "eval mode after mt_params_eval");
    CHECK_OK(mt_params_train(&list, true));
    CHECK(mt_params_is_training(&list), "training mode after mt_params_train(true)");
    CHECK_OK(mt_params_train(&list, false));
    CHECK(!mt_params_is_training(&list), "mt_params_train(false) is eval");
    mt_params_free(&list);
    CHECK(mt_params_is_training(&list), "mt_params_free leaves a fresh list: training");
    CHECK(!mt_params_is_training(NULL), "NULL: false, records nothing");
    CHECK(mt_last_status() == MT_OK, "the NULL query records no error");
    CHECK_ERROR(mt_params_train(NULL, true) == MT_OK, MT_ERR_ARG, "mt_params_train: list is NULL");
    CHECK_ERROR(mt_params_eval(NULL) == MT_OK, MT_ERR_ARG, "mt_params_eval: list is NULL");
}

typedef struct model {
    mt_params params;
    mt_dropout_layer drop1, drop2;
} model;

static void test_dropout_layer(const mt_backend *be) {
    const char *bn = mt_backend_name(be);
    char what[96];
    mt_ctx *ctx = mt_ctx_new(be);
    model m = {0};
    CHECK_OK(mt_dropout_init(&m.drop1, &m.params, 0.5f));
    CHECK_OK(mt_dropout_init(&m.drop2, &m.params, 0.25f));
    mt_tensor *x = mt_ones(ctx, MT_SHAPE(16, 32));

    /* training: the same mask and scale as mt_dropout(..., true) from the same generator state */
    mt_ctx_seed(ctx, 42);
    mt_tensor *y1 = mt_dropout_forward(ctx, &m.drop1, x);
    mt_tensor *y2 = mt_dropout_forward(ctx, &m.drop2, y1);
    mt_ctx_seed(ctx, 42);
    mt_tensor *w1 = mt_dropout(ctx, x, 0.5f, true);
    mt_tensor *w2 = mt_dropout(ctx, w1, 0.25f, true);
    snprintf(what, sizeof what, "%s dropout layers in training vs mt_dropout(true)", bn);
    compare_bits(what, y2, w2);
    float host[16 * 32];
    int zeros = 0, kept = 0;
    if (y1 && mt_to_host(y1, host) == MT_OK)
        for (int i = 0; i < 16 * 32; i++) {
            zeros += host[i] == 0.0f;
            kept += host[i] == 2.0f;
        }
    CHECK(zeros + kept == 16 * 32 && zeros > 150 && kept > 150,
          "%s: training drops about half (%d zeros, %d kept at 2)", bn, zeros, kept);

    /* eval: both layers are the identity (the input itself) and draw nothing */
    CHECK_OK(mt_params_eval(&m.params));
    mt_rng before = *mt_ctx_rng(ctx);
    CHECK(mt_dropout_forward(ctx, &m.drop1, x) == x && mt_dropout_forward(ctx, &m.drop2, x) == x,
          "%s: eval mode returns the input", bn);
    CHECK(memcmp(&before, mt_ctx_rng(ctx), sizeof before) == 0,
          "%s: eval mode draws no random numbers", bn);

    /* back to training: masks again */
    CHECK_OK(mt_params_train(&m.params, true));
    mt_tensor *again = mt_dropout_forward(ctx, &m.drop1, x);
    CHECK(again && again != x, "%s: training mode again drops", bn);
    mt_ctx_free(ctx);
}

static void test_errors(void) {
    mt_params list = {0};
    mt_dropout_layer d;
    mt_clear_error();
    CHECK_ERROR(mt_dropout_init(&d, &list, 1.5f) == MT_OK, MT_ERR_ARG,
                "mt_dropout_init: rate must be in [0, 1], got 1.5");
    CHECK_ERROR(mt_dropout_init(&d, &list, NAN) == MT_OK, MT_ERR_ARG,
                "rate must be in [0, 1], got nan");
    CHECK_ERROR(mt_dropout_init(&d, NULL, 0.5f) == MT_OK, MT_ERR_ARG,
                "mt_dropout_init: model is NULL");
    CHECK_ERROR(mt_dropout_init(NULL, &list, 0.5f) == MT_OK, MT_ERR_ARG,
                "mt_dropout_init: layer is NULL");
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *x = mt_ones(ctx, MT_SHAPE(4));
    CHECK_ERROR(mt_dropout_forward(ctx, NULL, x), MT_ERR_ARG, "layer (or its model) is NULL");
    CHECK_ERROR(mt_dropout_forward(ctx, &(mt_dropout_layer){0.5f, NULL}, x), MT_ERR_ARG,
                "layer (or its model) is NULL");
    CHECK_OK(mt_dropout_init(&d, &list, 0.5f));
    CHECK_ERROR(mt_dropout_forward(ctx, &d, NULL), MT_ERR_ARG, "mt_dropout_forward: x is NULL");
    CHECK_ERROR(mt_dropout_forward(NULL, &d, x), MT_ERR_ARG, "dropout: ctx is NULL");
    mt_ctx_free(ctx);
}

int main(void) {
    test_mode_switch();
    const mt_backend *backends[CHECK_MAX_BACKENDS];
    int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
    for (int i = 0; i < nb; i++) test_dropout_layer(backends[i]);
    test_errors();
    return check_summary("test_train_mode");
}
