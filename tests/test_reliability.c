/* Hostile inputs (issue 17): element counts that overflow, allocations that cannot be held, NULL
 * for every pointer of the public API, and tensors used after their context was reset. Each case
 * once crashed or computed garbage; each must now fail with a status and a message that names
 * what went wrong. */
#include "check.h"
#include "internal.h"

#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* ASan aborts on an allocation larger than it supports, where malloc returns NULL: the engine's
 * own answer to a huge allocation (MT_ERR_OOM) is what is tested here. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

/* The call failed, with `status` and a message naming both needles (needle2 may be NULL). */
static void expect_failure(int failed, mt_status status, const char *needle, const char *needle2,
                           const char *what) {
    CHECK(failed, "%s should fail", what);
    CHECK(mt_last_status() == status, "%s: status %s, expected %s (%s)", what,
          mt_status_name(mt_last_status()), mt_status_name(status), mt_last_error());
    CHECK(strstr(mt_last_error(), needle) != NULL, "%s: message \"%s\" should mention \"%s\"",
          what, mt_last_error(), needle);
    if (needle2)
        CHECK(strstr(mt_last_error(), needle2) != NULL,
              "%s: message \"%s\" should mention \"%s\"", what, mt_last_error(), needle2);
    mt_clear_error();
}

/* ------------------------------------------------------------------ element counts */
static void test_overflowing_shapes(void) {
    for (int bi = 0; bi < mt_backend_count(); bi++) {
        const mt_backend *b = mt_backend_at(bi);
        if (!mt_backend_available(b, NULL, 0)) continue;
        mt_ctx *ctx = mt_ctx_new(b);
        mt_clear_error();
        /* 2^62 + 1 times 4 wraps to 4: it used to give a 4-float tensor of that shape */
        expect_failure(mt_zeros(ctx, MT_SHAPE((INT64_C(1) << 62) + 1, 4)) == NULL, MT_ERR_SHAPE,
                       "mt_zeros", "(4611686018427387905, 4)", "zeros((1<<62)+1, 4)");
        expect_failure(mt_zeros(ctx, MT_SHAPE(INT64_MAX, 2)) == NULL, MT_ERR_SHAPE, "mt_zeros",
                       "(9223372036854775807, 2)", "zeros(INT64_MAX, 2)");
        expect_failure(mt_full(ctx, MT_SHAPE(INT64_C(1) << 40, INT64_C(1) << 40), 1.0f) == NULL,
                       MT_ERR_SHAPE, "mt_full", "more than", "full(2^40, 2^40)");
        /* the count fits int64, its bytes do not fit memory */
        expect_failure(mt_ones(ctx, MT_SHAPE(INT64_C(1) << 61, 2)) == NULL, MT_ERR_OOM, "mt_ones",
                       "(2305843009213693952, 2)", "ones(2^61, 2)");
        expect_failure(mt_empty(ctx, MT_SHAPE(INT64_C(1) << 40, 1 << 20)) == NULL, MT_ERR_OOM,
                       "mt_empty", NULL, "empty(2^40, 2^20): 4 EiB");

        mt_tensor *x = mt_ones(ctx, MT_SHAPE(4));
        CHECK_NOT_NULL(x);
        expect_failure(mt_view(ctx, x, MT_SHAPE((INT64_C(1) << 62) + 1, 4)) == NULL,
                       MT_ERR_SHAPE, "view", "(4611686018427387905, 4)", "view (4,) as huge");
        expect_failure(mt_view(ctx, x, MT_SHAPE(-2, -2)) == NULL, MT_ERR_SHAPE, "view", ">= 1",
                       "view (4,) as (-2, -2)");

        /* broadcasting (2^40, 1) against (1, 2^40): inputs that are stride-0 views of one
         * element, an output of 2^80 elements */
        mt_tensor *one = mt_ones(ctx, MT_SHAPE(1, 1));
        mt_tensor *tall = mt_tensor_alias(ctx, one), *wide = mt_tensor_alias(ctx, one);
        if (tall && wide) {
            tall->shape[0] = wide->shape[1] = INT64_C(1) << 40;
            tall->strides[0] = wide->strides[1] = 0;
            expect_failure(mt_add(ctx, tall, wide) == NULL, MT_ERR_SHAPE, "add",
                           "(1099511627776, 1099511627776)", "broadcast to 2^80 elements");
            expect_failure(mt_matmul(ctx, tall, wide) == NULL, MT_ERR_SHAPE, "matmul",
                           "(1099511627776, 1099511627776)", "matmul (2^40, 1) @ (1, 2^40)");
        }

        /* PyTorch-style padding 2^30 - 1 on both axes: a (2^31 + 2)^2 output, over 2^64 bytes */
        mt_tensor *in = mt_ones(ctx, MT_SHAPE(1, 1, 4, 4)), *w = mt_ones(ctx, MT_SHAPE(1, 1, 1, 1));
        mt_conv_opts o = {.pad = {(1 << 30) - 1, (1 << 30) - 1}, .pytorch_style = true};
        expect_failure(mt_conv2d(ctx, in, w, &o) == NULL, MT_ERR_OOM, "conv2d",
                       "(1, 1, 2147483650, 2147483650)", "conv2d with padding 2^30 - 1");
        mt_ctx_free(ctx);
    }
    int64_t strides[2];
    expect_failure(mt_strides_for_shape(2, (const int64_t[]){(INT64_C(1) << 62) + 1, 4},
                                        strides) != MT_OK,
                   MT_ERR_SHAPE, "mt_strides_for_shape", NULL, "strides of a huge shape");
    CHECK(mt_strides_for_shape(2, (const int64_t[]){3, 5}, strides) == MT_OK && strides[0] == 5 &&
              strides[1] == 1,
          "ordinary strides still work");
}

static void test_huge_ctx_alloc(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 10, SIZE_MAX / 2 + 1, (size_t)PTRDIFF_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        mt_clear_error();
        expect_failure(mt_ctx_alloc(ctx, sizes[i]) == NULL, MT_ERR_OOM, "mt_ctx_alloc", "bytes",
                       "mt_ctx_alloc(huge)");
    }
    CHECK(mt_ctx_bytes_used(ctx) == 0, "a refused allocation uses nothing");
    unsigned char *p = mt_ctx_alloc(ctx, 100);
    CHECK(p != NULL, "the context still allocates afterwards");
    if (p) memset(p, 1, 100);
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ NULL arguments */
/* The API's one rule (minitorch.h): with no error recorded, a NULL argument makes the call fail
 * with MT_ERR_ARG and a message naming the function; queries answer a neutral value. */
static void null_case(int failed, const char *needle, const char *what) {
    CHECK(failed, "%s should fail", what);
    CHECK(mt_last_status() == MT_ERR_ARG, "%s: status %s, expected bad argument", what,
          mt_status_name(mt_last_status()));
    CHECK(strstr(mt_last_error(), needle) != NULL && strstr(mt_last_error(), "NULL") != NULL,
          "%s: message \"%s\" should name \"%s\" and NULL", what, mt_last_error(), needle);
}
#define NF(expr, needle)                    \
    do {                                    \
        mt_clear_error();                   \
        int failed_ = (expr);               \
        null_case(failed_, needle, #expr);  \
    } while (0)
/* A query or a void function: answers `cond`, records nothing. */
#define NQ(cond)                                                                       \
    do {                                                                               \
        mt_clear_error();                                                              \
        CHECK(cond, "%s", #cond);                                                      \
        CHECK(mt_last_status() == MT_OK, "%s recorded an error: %s", #cond, mt_last_error()); \
    } while (0)

static void test_null_arguments(void) {
    mt_ctx *c = mt_ctx_new(NULL);
    mt_tensor *t = mt_ones(c, MT_SHAPE(2, 2)), *x4 = mt_ones(c, MT_SHAPE(1, 1, 4, 4));
    mt_tensor *w4 = mt_ones(c, MT_SHAPE(1, 1, 2, 2)), *x3 = mt_ones(c, MT_SHAPE(1, 1, 4));
    mt_tensor *w3 = mt_ones(c, MT_SHAPE(1, 1, 2)), *v = mt_ones(c, MT_SHAPE(2));
    int64_t idx[2] = {0, 0}, shape[2] = {2, 2}, out[MT_MAX_DIMS], strides[2];
    int n;
    float f, buf[4] = {0};
    char sbuf[MT_SHAPE_STR_LEN];
    const int order[2] = {1, 0};
    mt_params list = {0};
    mt_optim o = {0};
    mt_linear lin = {0};
    mt_conv_layer conv = {0};
    CHECK_OK(mt_linear_init(&lin, c, NULL, "l", 2, 2, NULL));
    CHECK_OK(mt_conv2d_init(&conv, c, NULL, "c", 1, 1, 2, 2, NULL));

    /* queries and void functions */
    NQ(mt_numel(NULL) == 0);
    NQ(mt_tensor_backend(NULL) == NULL);
    NQ(!mt_is_contiguous(NULL));
    NQ(!mt_same_shape(NULL, t) && !mt_same_shape(t, NULL) && !mt_same_shape(NULL, NULL));
    NQ(mt_ctx_backend(NULL) == NULL);
    NQ(mt_ctx_rng(NULL) == NULL);
    NQ(mt_ctx_bytes_used(NULL) == 0);
    NQ((mt_ctx_seed(NULL, 1), mt_ctx_reset(NULL), mt_ctx_free(NULL), 1));
    NQ(mt_params_numel(NULL) == 0);
    NQ((mt_params_free(NULL), mt_optim_free(NULL), 1));
    NQ(strcmp(mt_backend_name(NULL), "(null)") == 0);
    NQ(!mt_backend_supports(NULL, MT_OP_ADD));
    NQ(!mt_backend_available(NULL, NULL, 0));
    NQ(mt_op_from_name(NULL) == MT_OP_COUNT);
    NQ((mt_rng_seed(NULL, 1), mt_rng_next(NULL) == 0 && mt_rng_uniform(NULL) == 0.0 &&
        mt_rng_normal(NULL) == 0.0));
    NQ(strcmp(mt_shape_str(2, NULL, sbuf, sizeof sbuf), "(null)") == 0);
    NQ(strcmp(mt_shape_str(2, shape, NULL, 0), "") == 0);

    /* contexts, backends, shapes */
    NF(mt_ctx_alloc(NULL, 8) == NULL, "mt_ctx_alloc");
    NF(mt_backend_by_name(NULL) == NULL, "mt_backend_by_name");
    NF(mt_backend_synchronize(NULL) != MT_OK, "mt_backend_synchronize");
    NF(mt_strides_for_shape(2, NULL, strides) != MT_OK, "mt_strides_for_shape");
    NF(mt_strides_for_shape(2, shape, NULL) != MT_OK, "mt_strides_for_shape");
    NF(mt_shape_broadcast(2, NULL, 2, shape, &n, out) != MT_OK, "mt_shape_broadcast");
    NF(mt_shape_broadcast(2, shape, 2, NULL, &n, out) != MT_OK, "mt_shape_broadcast");
    NF(mt_shape_broadcast(2, shape, 2, shape, NULL, out) != MT_OK, "mt_shape_broadcast");
    NF(mt_shape_broadcast(2, shape, 2, shape, &n, NULL) != MT_OK, "mt_shape_broadcast");

    /* constructors */
    NF(mt_empty(NULL, MT_SHAPE(2)) == NULL, "mt_empty");
    NF(mt_empty(c, 2, NULL) == NULL, "mt_empty");
    NF(mt_zeros(NULL, MT_SHAPE(2)) == NULL, "mt_zeros");
    NF(mt_ones(NULL, MT_SHAPE(2)) == NULL, "mt_ones");
    NF(mt_full(NULL, MT_SHAPE(2), 1.0f) == NULL, "mt_full");
    NF(mt_full(c, 1, NULL, 1.0f) == NULL, "mt_full");
    NF(mt_scalar(NULL, 1.0f) == NULL, "mt_scalar");
    NF(mt_from_array(NULL, MT_SHAPE(2), buf) == NULL, "mt_from_array");
    NF(mt_from_array(c, MT_SHAPE(2), NULL) == NULL, "mt_from_array");
    NF(mt_rand_uniform(NULL, MT_SHAPE(2), 0, 1, NULL) == NULL, "mt_rand_uniform");
    NF(mt_rand_normal(NULL, MT_SHAPE(2), 0, 1, NULL) == NULL, "mt_rand_normal");

    /* element access and transfer */
    NF(mt_get(NULL, idx, &f) != MT_OK, "mt_get");
    NF(mt_get(t, NULL, &f) != MT_OK, "mt_get");
    NF(mt_get(t, idx, NULL) != MT_OK, "mt_get");
    NF(mt_set(NULL, idx, 1.0f) != MT_OK, "mt_set");
    NF(mt_set(t, NULL, 1.0f) != MT_OK, "mt_set");
    NF(mt_item(NULL, &f) != MT_OK, "mt_item");
    NF(mt_item(mt_scalar(c, 1.0f), NULL) != MT_OK, "mt_item");
    NF(mt_to_host(NULL, buf) != MT_OK, "mt_to_host");
    NF(mt_to_host(t, NULL) != MT_OK, "mt_to_host");
    NF(mt_copy_from_host(NULL, buf) != MT_OK, "mt_copy_from_host");
    NF(mt_copy_from_host(t, NULL) != MT_OK, "mt_copy_from_host");
    NF(mt_to(NULL, t, mt_backend_naive()) == NULL, "mt_to");
    NF(mt_to(c, NULL, mt_backend_naive()) == NULL, "mt_to");
    NF(mt_to(c, t, NULL) == NULL, "mt_to");

    /* ops: a NULL tensor, then a NULL context */
    NF(mt_neg(c, NULL) == NULL, "neg");
    NF(mt_inv(c, NULL) == NULL, "inv");
    NF(mt_relu(c, NULL) == NULL, "relu");
    NF(mt_sigmoid(c, NULL) == NULL, "sigmoid");
    NF(mt_log(c, NULL) == NULL, "log");
    NF(mt_exp(c, NULL) == NULL, "exp");
    NF(mt_add(c, NULL, t) == NULL, "add");
    NF(mt_add(c, t, NULL) == NULL, "add");
    NF(mt_sub(c, NULL, t) == NULL, "sub");
    NF(mt_sub(c, t, NULL) == NULL, "sub");
    NF(mt_mul(c, NULL, t) == NULL, "mul");
    NF(mt_mul(c, t, NULL) == NULL, "mul");
    NF(mt_div(c, NULL, t) == NULL, "div");
    NF(mt_div(c, t, NULL) == NULL, "div");
    NF(mt_add_scalar(c, NULL, 1.0f) == NULL, "add_scalar");
    NF(mt_mul_scalar(c, NULL, 1.0f) == NULL, "mul_scalar");
    NF(mt_lt(c, NULL, t) == NULL, "lt");
    NF(mt_gt(c, t, NULL) == NULL, "lt");
    NF(mt_eq(c, NULL, t) == NULL, "eq");
    NF(mt_is_close(c, t, NULL) == NULL, "is_close");
    NF(mt_sum(c, NULL, 0) == NULL, "sum");
    NF(mt_sum_all(c, NULL) == NULL, "sum_all");
    NF(mt_mean(c, NULL, 0) == NULL, "mean");
    NF(mt_mean_all(c, NULL) == NULL, "mean_all");
    NF(mt_prod(c, NULL, 0) == NULL, "prod");
    NF(mt_matmul(c, NULL, t) == NULL, "matmul");
    NF(mt_matmul(c, t, NULL) == NULL, "matmul");
    NF(mt_permute(c, NULL, order) == NULL, "permute");
    NF(mt_permute(c, t, NULL) == NULL, "permute");
    NF(mt_transpose(c, NULL) == NULL, "transpose");
    NF(mt_view(c, NULL, MT_SHAPE(4)) == NULL, "view");
    NF(mt_view(c, t, 1, NULL) == NULL, "view");
    NF(mt_contiguous(c, NULL) == NULL, "id");
    NF(mt_conv1d(c, NULL, w3, NULL) == NULL, "conv1d");
    NF(mt_conv1d(c, x3, NULL, NULL) == NULL, "conv1d");
    NF(mt_conv2d(c, NULL, w4, NULL) == NULL, "conv2d");
    NF(mt_conv2d(c, x4, NULL, NULL) == NULL, "conv2d");
    NF(mt_tile(c, NULL, 2, 2) == NULL, "tile");
    NF(mt_avgpool2d(c, NULL, 2, 2) == NULL, "avgpool2d");
    NF(mt_maxpool2d(c, NULL, 2, 2) == NULL, "maxpool2d");
    NF(mt_max(c, NULL, 0) == NULL, "max");
    NF(mt_argmax(c, NULL, 0) == NULL, "argmax");
    NF(mt_softmax(c, NULL, 0) == NULL, "softmax");
    NF(mt_logsoftmax(c, NULL, 0) == NULL, "logsoftmax");
    NF(mt_dropout(c, NULL, 0.5f, true) == NULL, "dropout");
    NF(mt_neg(NULL, t) == NULL, "neg");
    NF(mt_add(NULL, t, t) == NULL, "add");
    NF(mt_sum(NULL, t, 0) == NULL, "sum");
    NF(mt_matmul(NULL, t, t) == NULL, "matmul");
    NF(mt_permute(NULL, t, order) == NULL, "NULL");
    NF(mt_view(NULL, t, MT_SHAPE(4)) == NULL, "NULL");
    NF(mt_conv2d(NULL, x4, w4, NULL) == NULL, "conv2d");
    NF(mt_avgpool2d(NULL, x4, 2, 2) == NULL, "avgpool2d");
    NF(mt_softmax(NULL, t, 0) == NULL, "softmax");
    NF(mt_dropout(NULL, t, 0.5f, true) == NULL, "dropout");

    /* autodiff */
    NF(mt_requires_grad(NULL, true) != MT_OK, "mt_requires_grad");
    NF(mt_backward(c, NULL, NULL) != MT_OK, "backward");
    NF(mt_backward(NULL, t, NULL) != MT_OK, "backward");
    NF(mt_zero_grad(NULL) != MT_OK, "mt_zero_grad");
    NF(mt_detach(c, NULL) == NULL, "mt_detach");
    NF(mt_detach(NULL, t) == NULL, "mt_detach");

    /* parameters and optimizers */
    NF(mt_param_new(NULL, &list, "p", t) == NULL, "mt_param_new");
    NF(mt_param_new(c, &list, "p", NULL) == NULL, "mt_param_new");
    NF(mt_params_add(NULL, "p", t) != MT_OK, "mt_params_add");
    NF(mt_params_add(&list, "p", NULL) != MT_OK, "mt_params_add");
    NF(mt_params_zero_grad(NULL) != MT_OK, "mt_params_zero_grad");
    NF(mt_sgd_step(NULL, &list, 0.1f) != MT_OK, "mt_sgd_step");
    NF(mt_sgd_step(c, NULL, 0.1f) != MT_OK, "mt_sgd_step");
    NF(mt_optim_sgd(NULL, c, &list, 0.1f, 0, 0) != MT_OK, "mt_optim_sgd");
    NF(mt_optim_sgd(&o, NULL, &list, 0.1f, 0, 0) != MT_OK, "mt_optim_sgd");
    NF(mt_optim_sgd(&o, c, NULL, 0.1f, 0, 0) != MT_OK, "mt_optim_sgd");
    NF(mt_optim_adam(NULL, c, &list, 0.1f, 0.9f, 0.99f, 0, 0) != MT_OK, "mt_optim_adam");
    NF(mt_optim_adam(&o, NULL, &list, 0.1f, 0.9f, 0.99f, 0, 0) != MT_OK, "mt_optim_adam");
    NF(mt_optim_adam(&o, c, NULL, 0.1f, 0.9f, 0.99f, 0, 0) != MT_OK, "mt_optim_adam");
    CHECK_OK(mt_optim_sgd(&o, c, &list, 0.1f, 0, 0));
    NF(mt_optim_step(NULL, c) != MT_OK, "mt_optim_step");
    NF(mt_optim_step(&o, NULL) != MT_OK, "mt_optim_step");
    mt_optim_free(&o);

    /* layers and losses */
    mt_linear lin2;
    mt_conv_layer conv2;
    NF(mt_linear_init(NULL, c, NULL, "l", 2, 2, NULL) != MT_OK, "mt_linear_init");
    NF(mt_linear_init(&lin2, NULL, NULL, "l", 2, 2, NULL) != MT_OK, "mt_linear_init");
    NF(mt_linear_forward(c, &lin, NULL) == NULL, "mt_linear_forward");
    NF(mt_linear_forward(c, NULL, t) == NULL, "mt_linear_forward");
    NF(mt_linear_forward(NULL, &lin, t) == NULL, "mt_linear_forward");
    NF(mt_conv1d_init(NULL, c, NULL, "c", 1, 1, 2, NULL) != MT_OK, "mt_conv1d_init");
    NF(mt_conv1d_init(&conv2, NULL, NULL, "c", 1, 1, 2, NULL) != MT_OK, "mt_conv1d_init");
    NF(mt_conv2d_init(NULL, c, NULL, "c", 1, 1, 2, 2, NULL) != MT_OK, "mt_conv2d_init");
    NF(mt_conv2d_init(&conv2, NULL, NULL, "c", 1, 1, 2, 2, NULL) != MT_OK, "mt_conv2d_init");
    NF(mt_conv1d_forward(c, &conv, NULL) == NULL, "mt_conv1d_forward");
    NF(mt_conv1d_forward(c, NULL, x3) == NULL, "mt_conv1d_forward");
    NF(mt_conv2d_forward(c, &conv, NULL) == NULL, "mt_conv2d_forward");
    NF(mt_conv2d_forward(NULL, &conv, x4) == NULL, "mt_conv2d_forward");
    NF(mt_nll_loss(c, NULL, t) == NULL, "mt_nll_loss");
    NF(mt_nll_loss(c, t, NULL) == NULL, "mt_nll_loss");
    NF(mt_nll_loss(NULL, t, t) == NULL, "mt_nll_loss");
    NF(mt_bce_loss(c, NULL, v) == NULL, "mt_bce_loss");
    NF(mt_bce_loss(c, v, NULL) == NULL, "mt_bce_loss");
    NF(mt_bce_loss(NULL, v, v) == NULL, "mt_bce_loss");

    /* the chain rule: the first error survives the NULLs it produces */
    mt_clear_error();
    mt_tensor *bad = mt_add(c, t, mt_ones(c, MT_SHAPE(3)));
    CHECK(mt_backward(c, mt_sum_all(c, mt_relu(c, bad)), NULL) == MT_ERR_SHAPE,
          "backward of a failed chain returns the chain's first status");
    CHECK(strstr(mt_last_error(), "cannot broadcast") != NULL, "first error kept: %s",
          mt_last_error());
    float item = 0.0f;
    CHECK(mt_item(mt_sum_all(c, bad), &item) == MT_ERR_SHAPE, "mt_item keeps it too");
    mt_clear_error();
    mt_params_free(&list);
    mt_ctx_free(c);
}

/* ------------------------------------------------------------------ stale tensors */
static void test_stale_tensors(void) {
    for (int bi = 0; bi < mt_backend_count(); bi++) {
        const mt_backend *b = mt_backend_at(bi);
        if (!mt_backend_available(b, NULL, 0)) continue;
        const char *bn = mt_backend_name(b);
        mt_ctx *c = mt_ctx_new(b);
        mt_clear_error();

        /* the example: x's memory now holds the 7s, and its sum was 28 */
        mt_tensor *x = mt_ones(c, MT_SHAPE(4));
        mt_ctx_reset(c);
        mt_tensor *sevens = mt_full(c, MT_SHAPE(4), 7.0f);
        CHECK_NOT_NULL(sevens);
        expect_failure(mt_sum_all(c, x) == NULL, MT_ERR_STATE, "sum", "reset", bn);
        float host[4];
        expect_failure(mt_to_host(x, host) != MT_OK, MT_ERR_STATE, "mt_to_host", "reset", bn);
        expect_failure(mt_add(c, sevens, x) == NULL, MT_ERR_STATE, "add", "reset", bn);
        CHECK_NOT_NULL(mt_sum_all(c, sevens)); /* the fresh tensor is fine */

        /* every kernel family refuses a stale input */
        mt_tensor *img = mt_ones(c, MT_SHAPE(1, 1, 4, 4)), *k = mt_ones(c, MT_SHAPE(1, 1, 2, 2));
        mt_tensor *m = mt_ones(c, MT_SHAPE(2, 2)), *seq = mt_ones(c, MT_SHAPE(1, 1, 4));
        mt_tensor *k1 = mt_ones(c, MT_SHAPE(1, 1, 2));
        mt_ctx_reset(c);
        mt_tensor *fresh = mt_ones(c, MT_SHAPE(2, 2));
        expect_failure(mt_conv2d(c, img, k, NULL) == NULL, MT_ERR_STATE, "conv2d", "reset", bn);
        expect_failure(mt_conv1d(c, seq, k1, NULL) == NULL, MT_ERR_STATE, "conv1d", "reset", bn);
        expect_failure(mt_avgpool2d(c, img, 2, 2) == NULL, MT_ERR_STATE, "avgpool2d", NULL, bn);
        expect_failure(mt_maxpool2d(c, img, 2, 2) == NULL, MT_ERR_STATE, "maxpool2d", NULL, bn);
        expect_failure(mt_softmax(c, m, 1) == NULL, MT_ERR_STATE, "softmax", NULL, bn);
        expect_failure(mt_dropout(c, m, 0.5f, true) == NULL, MT_ERR_STATE, "dropout", NULL, bn);
        expect_failure(mt_matmul(c, fresh, m) == NULL, MT_ERR_STATE, "matmul", NULL, bn);
        expect_failure(mt_max(c, m, 0) == NULL, MT_ERR_STATE, "max", NULL, bn);
        expect_failure(mt_relu(c, mt_transpose(c, m)) == NULL, MT_ERR_STATE, "relu", NULL, bn);

        /* still refused three resets later */
        mt_tensor *old = mt_ones(c, MT_SHAPE(4));
        for (int r = 0; r < 3; r++) {
            mt_ctx_reset(c);
            CHECK_NOT_NULL(mt_full(c, MT_SHAPE(4), (float)r));
        }
        expect_failure(mt_sum_all(c, old) == NULL, MT_ERR_STATE, "sum", "generation", bn);

        /* a view made in a live context of data from a reset one: its storage is stale */
        mt_ctx *other = mt_ctx_new(b);
        mt_tensor *data = mt_ones(c, MT_SHAPE(2, 3));
        mt_tensor *view = mt_view(other, data, MT_SHAPE(6));
        CHECK_NOT_NULL(view);
        mt_ctx_reset(c);
        CHECK_NOT_NULL(mt_full(c, MT_SHAPE(2, 3), 5.0f));
        expect_failure(mt_neg(other, view) == NULL, MT_ERR_STATE, "neg", "reset", bn);
        mt_ctx_free(other);
        mt_ctx_free(c);
    }
}

static void test_stale_backward_and_optimizer(void) {
    mt_ctx *params = mt_ctx_new(NULL), *step = mt_ctx_new(NULL), *state = mt_ctx_new(NULL);
    mt_params list = {0};
    mt_tensor *p = mt_param_new(params, &list, "w", mt_ones(params, MT_SHAPE(3)));
    CHECK_NOT_NULL(p);

    /* backward through a graph whose scratch context was reset */
    mt_tensor *loss = mt_sum_all(step, mt_mul(step, p, p));
    CHECK_NOT_NULL(loss);
    mt_ctx_reset(step);
    CHECK_NOT_NULL(mt_full(step, MT_SHAPE(8), 3.0f));
    expect_failure(mt_backward(step, loss, NULL) != MT_OK, MT_ERR_STATE, "backward", "reset",
                   "backward of a stale loss");
    CHECK(p->grad == NULL, "the refused backward wrote no gradient");

    /* a live loss whose graph reaches a stale intermediate from another context */
    mt_ctx *scratch2 = mt_ctx_new(NULL);
    mt_tensor *h = mt_mul(scratch2, p, p);
    mt_ctx_reset(scratch2);
    CHECK_NOT_NULL(mt_full(scratch2, MT_SHAPE(3), 9.0f));
    mt_clear_error();
    mt_tensor *loss2 = mt_sum_all(step, h);
    CHECK(loss2 == NULL && mt_last_status() == MT_ERR_STATE,
          "an op on a stale intermediate is refused: %s", mt_last_error());
    mt_clear_error();
    mt_ctx_free(scratch2);

    /* optimizers: a parameter context reset under the optimizer */
    loss = mt_sum_all(step, mt_mul(step, p, p));
    CHECK_OK(mt_backward(step, loss, NULL));
    mt_optim opt;
    CHECK_OK(mt_optim_adam(&opt, state, &list, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f));
    CHECK_OK(mt_optim_step(&opt, step));
    /* the state context reset: the moments are gone */
    mt_ctx_reset(state);
    CHECK_NOT_NULL(mt_full(state, MT_SHAPE(3), 4.0f));
    expect_failure(mt_optim_step(&opt, step) != MT_OK, MT_ERR_STATE, "mt_optim_step", "state",
                   "adam after its state context was reset");
    mt_optim_free(&opt);

    mt_ctx_reset(params);
    CHECK_NOT_NULL(mt_full(params, MT_SHAPE(3), 2.0f));
    CHECK_OK(mt_optim_sgd(&opt, state, &list, 0.1f, 0.0f, 0.0f));
    expect_failure(mt_optim_step(&opt, step) != MT_OK, MT_ERR_STATE, "mt_optim_step", "'w'",
                   "sgd on a stale parameter");
    expect_failure(mt_sgd_step(step, &list, 0.1f) != MT_OK, MT_ERR_STATE, "mt_sgd_step", "'w'",
                   "mt_sgd_step on a stale parameter");
    expect_failure(mt_zero_grad(p) != MT_OK, MT_ERR_STATE, "reset", NULL,
                   "zero_grad of a stale parameter");
    mt_optim_free(&opt);
    mt_params_free(&list);
    mt_ctx_free(params);
    mt_ctx_free(step);
    mt_ctx_free(state);
}

/* In sanitizer builds the reset arena is poisoned, so a raw read of stale data is reported. */
static void test_reset_poisons_memory(void) {
#if defined(__SANITIZE_ADDRESS__)
    mt_ctx *c = mt_ctx_new(NULL);
    mt_tensor *x = mt_ones(c, MT_SHAPE(1000));
    float *stale = x->storage->data;
    CHECK(!__asan_address_is_poisoned(stale), "live data is not poisoned");
    mt_ctx_reset(c);
    CHECK(__asan_address_is_poisoned(stale) && __asan_address_is_poisoned(stale + 999),
          "reset poisons what was handed out");
    mt_tensor *y = mt_ones(c, MT_SHAPE(10));
    CHECK(y && !__asan_address_is_poisoned(y->storage->data) &&
              !__asan_address_is_poisoned(y->storage->data + 9),
          "what is handed out again is unpoisoned");
    CHECK(__asan_address_is_poisoned(stale + 999), "the rest stays poisoned");
    mt_ctx_free(c);
#else
    printf("test_reliability: ASan poisoning not checked (not a sanitizer build)\n");
#endif
}

/* `test_reliability NAME` runs one group (the others are skipped), to see each fail alone. */
int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*fn)(void);
    } groups[] = {
        {"shapes", test_overflowing_shapes},
        {"alloc", test_huge_ctx_alloc},
        {"null", test_null_arguments},
        {"stale", test_stale_tensors},
        {"stale_autodiff", test_stale_backward_and_optimizer},
        {"poison", test_reset_poisons_memory},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (argc < 2 || strcmp(argv[1], groups[i].name) == 0) groups[i].fn();
    return check_summary("test_reliability");
}
