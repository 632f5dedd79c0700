/* Error messages a user reads: each names the op (and the shape where one is involved) and says
 * what went wrong, not something nearby. */
#include "check.h"
#include "minitorch.h"

#include <stdint.h>
#include <string.h>

/* The out-of-memory case asks for 4 EiB: under ASan that must come back as NULL, not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static void reduction_dims_name_the_op(mt_ctx *c) {
    mt_tensor *x = mt_ones(c, MT_SHAPE(3, 4));
    CHECK_ERROR(mt_sum(c, x, 99), MT_ERR_ARG, "sum: dim 99 is out of range for shape (3, 4)");
    CHECK_ERROR(mt_prod(c, x, -3), MT_ERR_ARG, "prod: dim -3 is out of range");
    CHECK_ERROR(mt_max(c, x, 2), MT_ERR_ARG, "max: dim 2 is out of range");
    CHECK_ERROR(mt_mean(c, x, 7), MT_ERR_ARG, "mean: dim 7 is out of range");
}

/* prod has no gradient; a backward through it says so, not "no input had requires_grad set". */
static void backward_through_prod(mt_ctx *c) {
    mt_tensor *y = mt_ones(c, MT_SHAPE(3));
    CHECK_OK(mt_requires_grad(y, true));
    mt_tensor *loss = mt_sum_all(c, mt_prod(c, y, 0));
    CHECK_NOT_NULL(loss);
    mt_status st = mt_backward(c, loss, NULL);
    CHECK(st != MT_OK, "backward through prod must fail");
    CHECK(strstr(mt_last_error(), "prod has no gradient") != NULL, "said: %s", mt_last_error());
    CHECK(strstr(mt_last_error(), "no input had requires_grad") == NULL, "said: %s",
          mt_last_error());
    /* without requires_grad, prod is an ordinary forward op */
    mt_tensor *z = mt_prod(c, mt_full(c, MT_SHAPE(3), 2.0f), 0);
    float v = 0;
    CHECK_OK(mt_item(z, &v));
    CHECK(v == 8.0f, "prod of three 2s is %g", v);
}

/* Out of memory: the op, the shape and the byte count as a plain number (not wrapped negative). */
static void out_of_memory_names_op_shape_bytes(mt_ctx *c) {
    CHECK_ERROR(mt_zeros(c, MT_SHAPE(INT64_C(1) << 40, INT64_C(1) << 20)), MT_ERR_OOM,
                "mt_zeros: cannot allocate shape (1099511627776, 1048576) (4611686018427387904 bytes)");
}

int main(void) {
    mt_ctx *c = mt_ctx_new(mt_backend_naive());
    reduction_dims_name_the_op(c);
    backward_through_prod(c);
    out_of_memory_names_op_shape_bytes(c);
    mt_ctx_free(c);
    return check_summary("test_messages");
}
