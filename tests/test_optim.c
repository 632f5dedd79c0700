/* Parameters and SGD: in-place updates, zero_grad, and a training loop whose scratch context is
 * reset every step without growing. */
#include "check.h"

#include <math.h>

static void test_sgd_step(void) {
    mt_ctx *params_ctx = mt_ctx_new(NULL), *scratch = mt_ctx_new(NULL);
    mt_params list = {0};
    float w0[3] = {1, 2, 3};
    mt_tensor *w = mt_param_new(params_ctx, &list, "w", mt_from_array(scratch, MT_SHAPE(3), w0));
    CHECK(w && w->requires_grad && !w->node && list.count == 1, "param is a leaf in the list");
    /* loss = sum(w * w): grad = 2w; after one step of lr 0.1, w = 0.8 w */
    CHECK_OK(mt_backward(scratch, mt_sum_all(scratch, mt_mul(scratch, w, w)), NULL));
    CHECK_OK(mt_sgd_step(scratch, &list, 0.1f));
    float got[3];
    mt_to_host(w, got);
    for (int i = 0; i < 3; i++) CHECK_CLOSE(got[i], 0.8 * w0[i], 1e-6);
    CHECK_OK(mt_params_zero_grad(&list));
    mt_to_host(w->grad, got);
    CHECK(got[0] == 0 && got[1] == 0 && got[2] == 0, "zero_grad zeroes");
    CHECK(mt_params_numel(&list) == 3, "numel");
    mt_params_free(&list);
    mt_ctx_free(scratch);
    mt_ctx_free(params_ctx);
}

/* Linear regression y = 3x - 2 by SGD: the loss falls, the weights converge, and the scratch
 * context's footprint is the same every step. */
static void test_training_loop(void) {
    mt_ctx *params_ctx = mt_ctx_new(NULL), *scratch = mt_ctx_new(NULL);
    mt_ctx_seed(params_ctx, 1);
    mt_params list = {0};
    mt_tensor *w = mt_param_new(params_ctx, &list, "w", mt_zeros(params_ctx, MT_SHAPE(1, 1)));
    mt_tensor *b = mt_param_new(params_ctx, &list, "b", mt_zeros(params_ctx, MT_SHAPE(1)));
    mt_tensor *x = mt_rand_uniform(params_ctx, MT_SHAPE(32, 1), -1, 1, NULL);
    bool was = mt_set_grad_enabled(false);
    mt_tensor *y = mt_add_scalar(params_ctx, mt_mul_scalar(params_ctx, x, 3.0f), -2.0f);
    mt_set_grad_enabled(was);
    size_t used_first = 0;
    float loss_first = 0, loss_last = 0;
    for (int step = 0; step < 300; step++) {
        mt_ctx_reset(scratch);
        mt_params_zero_grad(&list);
        mt_tensor *pred = mt_add(scratch, mt_matmul(scratch, x, w), b);
        mt_tensor *diff = mt_sub(scratch, pred, y);
        mt_tensor *loss = mt_mean_all(scratch, mt_mul(scratch, diff, diff));
        CHECK_OK(mt_backward(scratch, loss, NULL));
        CHECK_OK(mt_sgd_step(scratch, &list, 0.1f));
        float l;
        mt_item(loss, &l);
        if (step == 0) {
            loss_first = l;
            used_first = mt_ctx_bytes_used(scratch);
        }
        loss_last = l;
        if (step == 299)
            CHECK(mt_ctx_bytes_used(scratch) == used_first, "scratch use is flat: %zu vs %zu",
                  mt_ctx_bytes_used(scratch), used_first);
    }
    float wv, bv;
    mt_item(w, &wv);
    mt_item(b, &bv);
    CHECK(loss_last < loss_first * 1e-3, "loss fell from %g to %g", (double)loss_first,
          (double)loss_last);
    CHECK_CLOSE(wv, 3.0, 1e-2);
    CHECK_CLOSE(bv, -2.0, 1e-2);
    mt_params_free(&list);
    mt_ctx_free(scratch);
    mt_ctx_free(params_ctx);
}

int main(void) {
    test_sgd_step();
    test_training_loop();
    return check_summary("test_optim");
}
