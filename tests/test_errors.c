/* Every misuse returns an error that says what was expected and what was given; nothing aborts,
 * and a failed call writes nothing. */
#include "check.h"
#include "internal.h"

#include <string.h>

/* A second backend (the naive kernels under another name) to test backend mixing. */
static mt_backend other_backend;

static void test_shape_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *a = mt_zeros(ctx, MT_SHAPE(2, 3)), *b = mt_zeros(ctx, MT_SHAPE(4));
    CHECK_ERROR(mt_add(ctx, a, b), MT_ERR_SHAPE, "cannot broadcast shapes (2, 3) and (4,)");
    CHECK_ERROR(mt_mul(ctx, a, b), MT_ERR_SHAPE, "mul");
    CHECK_ERROR(mt_matmul(ctx, a, a), MT_ERR_SHAPE, "(..., M, K) @ (..., K, N), got (2, 3) @ (2, 3)");
    CHECK_ERROR(mt_matmul(ctx, b, a), MT_ERR_SHAPE, "matmul");
    CHECK_ERROR(mt_sum(ctx, a, 2), MT_ERR_ARG, "sum: dim 2 is out of range for shape (2, 3)");
    CHECK_ERROR(mt_sum(ctx, a, -3), MT_ERR_ARG, "out of range");
    CHECK_ERROR(mt_transpose(ctx, b), MT_ERR_SHAPE, "at least 2 dims");
    CHECK_ERROR(mt_zeros(ctx, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}), MT_ERR_SHAPE, "1 to 8 dims");
    /* NULL inputs propagate without replacing the first error */
    mt_tensor *bad = mt_add(ctx, a, b);
    CHECK(mt_relu(ctx, mt_exp(ctx, bad)) == NULL, "NULL propagates through a chain");
    CHECK(strstr(mt_last_error(), "cannot broadcast") != NULL, "first error kept: %s",
          mt_last_error());
    mt_clear_error();
    mt_ctx_free(ctx);
}

static void test_backward_errors(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *x = mt_ones(ctx, MT_SHAPE(2, 2));
    mt_requires_grad(x, true);
    mt_tensor *y = mt_mul(ctx, x, x);
    CHECK_ERROR(mt_backward(ctx, y, NULL) == MT_OK, MT_ERR_SHAPE,
                "the output has shape (2, 2); pass a gradient");
    CHECK_ERROR(mt_backward(ctx, y, mt_ones(ctx, MT_SHAPE(3))) == MT_OK, MT_ERR_SHAPE,
                "gradient shape (3,) does not match output (2, 2)");
    CHECK(x->grad == NULL, "failed backward leaves no gradient behind");
    CHECK_OK(mt_backward(ctx, y, mt_ones(ctx, MT_SHAPE(2, 2))));
    CHECK_ERROR(mt_requires_grad(y, false) == MT_OK, MT_ERR_STATE, "non-leaf");
    mt_ctx_free(ctx);
}

static void test_backend_mixing(void) {
    other_backend = mt_naive_backend;
    other_backend.name = "naive-copy";
    mt_ctx *c1 = mt_ctx_new(NULL), *c2 = mt_ctx_new(&other_backend);
    mt_tensor *a = mt_ones(c1, MT_SHAPE(3)), *b = mt_ones(c2, MT_SHAPE(3));
    CHECK(mt_tensor_backend(b) == &other_backend, "constructors use the context's backend");
    CHECK_ERROR(mt_add(c1, a, b), MT_ERR_BACKEND, "different backends (naive and naive-copy)");
    mt_tensor *moved = mt_to(c1, b, mt_backend_naive());
    CHECK(moved && mt_tensor_backend(moved) == mt_backend_naive(), "mt_to moves");
    CHECK_NOT_NULL(mt_add(c1, a, moved));
    CHECK_ERROR(mt_backend_by_name("tpu"), MT_ERR_ARG, "no backend named 'tpu'");
    CHECK(mt_backend_by_name("naive") == mt_backend_naive(), "lookup by name");
    mt_ctx_free(c1);
    mt_ctx_free(c2);
}

static void test_unsupported_op(void) {
    other_backend = mt_naive_backend;
    other_backend.name = "partial";
    other_backend.kernels[MT_OP_EXP] = NULL;
    CHECK(!mt_backend_supports(&other_backend, MT_OP_EXP), "supports says no");
    CHECK(mt_backend_supports(&other_backend, MT_OP_LOG), "supports says yes");
    mt_ctx *ctx = mt_ctx_new(&other_backend);
    CHECK_ERROR(mt_exp(ctx, mt_ones(ctx, MT_SHAPE(2))), MT_ERR_UNSUPPORTED,
                "backend 'partial' does not support op 'exp'");
    mt_ctx_free(ctx);
}

static void test_no_partial_write(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *out = mt_full(ctx, MT_SHAPE(2, 3), 7.0f);
    mt_tensor *bad = mt_ones(ctx, MT_SHAPE(4));
    CHECK_ERROR(mt_apply_zip_into(out, MT_OP_ADD, out, bad) == MT_OK, MT_ERR_SHAPE,
                "cannot broadcast");
    float v[6];
    mt_to_host(out, v);
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= v[i] == 7.0f;
    CHECK(ok, "a rejected in-place op leaves its output untouched");
    mt_ctx_free(ctx);
}

static void test_op_names(void) {
    for (int op = 0; op < MT_OP_COUNT; op++)
        CHECK((int)mt_op_from_name(mt_op_name((mt_op)op)) == op, "op name round trip %d", op);
    CHECK(mt_op_from_name("nope") == MT_OP_COUNT, "unknown op name");
}

int main(void) {
    test_shape_errors();
    test_backward_errors();
    test_backend_mixing();
    test_unsupported_op();
    test_no_partial_write();
    test_op_names();
    return check_summary("test_errors");
}
