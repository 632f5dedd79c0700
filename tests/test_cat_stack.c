/* mt_cat and mt_stack on every runnable backend: values against arrays written out by hand and
 * against a host reference on permuted inputs, gradients exactly (a tensor used twice gets the
 * sum of its two slices) and against central differences, every error, and the same bits for
 * any openmp thread count. */
#include "check.h"
#include "gradcheck.h"
#include "kernel_iface.h"
#include "tensor_compare.h"
#include "thread_invariance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static mt_tensor *arr(mt_ctx *ctx, int ndim, const int64_t *shape, const float *data) {
    return mt_from_array(ctx, ndim, shape, data);
}

/* ------------------------------------------------------------------ values */
static void test_values(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    const char *bn = mt_backend_name(be);
    char what[96];
    mt_tensor *a = arr(ctx, MT_SHAPE(2, 3), (const float[]){0, 1, 2, 3, 4, 5});
    mt_tensor *b = arr(ctx, MT_SHAPE(2, 1), (const float[]){10, 11});
    mt_tensor *c = arr(ctx, MT_SHAPE(1, 3), (const float[]){20, 21, 22});

    const float ab1[] = {0, 1, 2, 10, 3, 4, 5, 11};
    snprintf(what, sizeof what, "%s cat((2,3),(2,1), dim 1)", bn);
    check_values(mt_cat(ctx, (mt_tensor *[]){a, b}, 2, 1), ab1, 0, what);
    snprintf(what, sizeof what, "%s cat(dim -1)", bn);
    check_values(mt_cat(ctx, (mt_tensor *[]){a, b}, 2, -1), ab1, 0, what);
    const float ba1[] = {10, 0, 1, 2, 11, 3, 4, 5};
    snprintf(what, sizeof what, "%s cat((2,1),(2,3), dim 1)", bn);
    check_values(mt_cat(ctx, (mt_tensor *[]){b, a}, 2, 1), ba1, 0, what);
    const float aca0[] = {0, 1, 2, 3, 4, 5, 20, 21, 22, 0, 1, 2, 3, 4, 5};
    mt_tensor *r = mt_cat(ctx, (mt_tensor *[]){a, c, a}, 3, -2);
    CHECK(r && r->ndim == 2 && r->shape[0] == 5 && r->shape[1] == 3, "%s: cat dim 0 is (5, 3)",
          bn);
    snprintf(what, sizeof what, "%s cat((2,3),(1,3),(2,3), dim -2)", bn);
    check_values(r, aca0, 0, what);
    /* one input: a fresh copy, not the input itself */
    r = mt_cat(ctx, (mt_tensor *[]){a}, 1, 0);
    CHECK(r && r != a && r->storage != a->storage, "%s: cat of one tensor is a copy", bn);
    snprintf(what, sizeof what, "%s cat of one", bn);
    check_values(r, (const float[]){0, 1, 2, 3, 4, 5}, 0, what);

    /* a transposed (non-contiguous) input: (3,2) stored, viewed as (2,3) */
    mt_tensor *t = mt_transpose(ctx, arr(ctx, MT_SHAPE(3, 2), (const float[]){0, 3, 1, 4, 2, 5}));
    CHECK(t && !mt_is_contiguous(t), "%s: a transposed input", bn);
    snprintf(what, sizeof what, "%s cat(transposed, (2,1), dim 1)", bn);
    check_values(mt_cat(ctx, (mt_tensor *[]){t, b}, 2, 1), ab1, 0, what);

    /* stack: two (2,3) */
    mt_tensor *d = arr(ctx, MT_SHAPE(2, 3), (const float[]){6, 7, 8, 9, 10, 11});
    const float st0[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    const float st1[] = {0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11};
    const float st2[] = {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11};
    const struct {
        int dim;
        const float *want;
        int64_t shape[3];
    } cases[] = {{0, st0, {2, 2, 3}},  {1, st1, {2, 2, 3}}, {2, st2, {2, 3, 2}},
                 {-1, st2, {2, 3, 2}}, {-3, st0, {2, 2, 3}}, {-2, st1, {2, 2, 3}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = mt_stack(ctx, (mt_tensor *[]){a, d}, 2, cases[i].dim);
        CHECK(r && r->ndim == 3 && memcmp(r->shape, cases[i].shape, sizeof cases[i].shape) == 0,
              "%s: stack dim %d shape", bn, cases[i].dim);
        snprintf(what, sizeof what, "%s stack((2,3),(2,3), dim %d)", bn, cases[i].dim);
        check_values(r, cases[i].want, 0, what);
    }
    /* stack of transposed inputs equals stack of the contiguous ones */
    snprintf(what, sizeof what, "%s stack(transposed, contiguous, dim 1)", bn);
    check_values(mt_stack(ctx, (mt_tensor *[]){t, d}, 2, 1), st1, 0, what);
    mt_ctx_free(ctx);
}

/* Host reference: element (index) of cat along dim, from each input's row-major host copy. */
static void cat_reference(float *const *host, mt_tensor *const *xs, int dim,
                          const mt_tensor *out, float *want) {
    int64_t n = mt_numel(out), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        int k = 0;
        while (index[dim] >= xs[k]->shape[dim]) index[dim] -= xs[k++]->shape[dim];
        int64_t pos = 0;
        for (int d = 0; d < out->ndim; d++) pos = pos * xs[k]->shape[d] + index[d];
        want[i] = host[k][pos];
    }
}

/* 4-dim permuted inputs of odd sizes, five (more than a node's inline inputs), every dim. */
static void test_random_cat(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    mt_rng rng;
    mt_rng_seed(&rng, 77);
    const int64_t base[4] = {3, 5, 2, 7};
    const int64_t sizes[5] = {1, 4, 2, 3, 1};
    for (int dim = 0; dim < 4; dim++) {
        mt_tensor *xs[5];
        float *host[5];
        for (int k = 0; k < 5; k++) {
            int64_t shape[4];
            memcpy(shape, base, sizeof shape);
            shape[dim] = sizes[k];
            xs[k] = make_tensor(ctx, 4, shape, -5, 5, &rng, k % 2);
            host[k] = host_of(xs[k]);
        }
        mt_tensor *out = mt_cat(ctx, xs, 5, dim);
        CHECK(out && out->shape[dim] == 11, "%s: cat of 5 along dim %d", mt_backend_name(be), dim);
        if (out) {
            float *want = malloc(sizeof(float) * (size_t)mt_numel(out));
            cat_reference(host, xs, dim, out, want);
            char what[64];
            snprintf(what, sizeof what, "%s random cat dim %d", mt_backend_name(be), dim);
            check_values(out, want, 0, what);
            free(want);
        }
        for (int k = 0; k < 5; k++) free(host[k]);
    }
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ gradients */
static void test_exact_gradients(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    const char *bn = mt_backend_name(be);
    char what[96];
    mt_tensor *x = arr(ctx, MT_SHAPE(2, 2), (const float[]){1, 2, 3, 4});
    mt_tensor *y = arr(ctx, MT_SHAPE(2, 1), (const float[]){5, 6});
    mt_requires_grad(x, true);
    mt_requires_grad(y, true);
    /* cat(x, y, x) along dim 1: (2,5); g holds 1..10, so x gets columns 0-1 plus 3-4 */
    mt_tensor *out = mt_cat(ctx, (mt_tensor *[]){x, y, x}, 3, 1);
    mt_tensor *g = arr(ctx, MT_SHAPE(2, 5), (const float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    CHECK_OK(mt_backward(ctx, out, g));
    snprintf(what, sizeof what, "%s d x of cat(x, y, x)", bn);
    check_values(x->grad, (const float[]){1 + 4, 2 + 5, 6 + 9, 7 + 10}, 0, what);
    snprintf(what, sizeof what, "%s d y of cat(x, y, x)", bn);
    check_values(y->grad, (const float[]){3, 8}, 0, what);

    /* stack(x, x, x, x) along dim 0 through a non-leaf (x * 2): 4 inputs, above the inline 3 */
    mt_zero_grad(x);
    mt_tensor *x2 = mt_mul_scalar(ctx, x, 2.0f);
    out = mt_stack(ctx, (mt_tensor *[]){x2, x2, x, x2}, 4, 0); /* (4,2,2) */
    float gv[16];
    for (int i = 0; i < 16; i++) gv[i] = (float)(i + 1);
    CHECK_OK(mt_backward(ctx, out, arr(ctx, MT_SHAPE(4, 2, 2), gv)));
    /* element e: 2 (g[e] + g[4+e] + g[12+e]) + g[8+e] */
    float want[4];
    for (int e = 0; e < 4; e++) want[e] = 2 * (gv[e] + gv[4 + e] + gv[12 + e]) + gv[8 + e];
    snprintf(what, sizeof what, "%s d x of stack(2x, 2x, x, 2x)", bn);
    check_values(x->grad, want, 0, what);
    mt_ctx_free(ctx);
}

typedef struct {
    int dim, count, stack;
    int pick[6]; /* which of the gradcheck inputs goes where */
} join_spec;

static mt_tensor *join_fn(mt_ctx *ctx, mt_tensor **in, void *user) {
    const join_spec *s = user;
    mt_tensor *xs[6];
    for (int k = 0; k < s->count; k++) xs[k] = in[s->pick[k]];
    return s->stack ? mt_stack(ctx, xs, s->count, s->dim) : mt_cat(ctx, xs, s->count, s->dim);
}

static void test_gradcheck(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    mt_rng rng;
    mt_rng_seed(&rng, 5);
    /* x (3,4) permuted, y (3,2), z (3,4): cat along 1 uses x twice, stack uses x and z */
    mt_tensor *x = make_tensor(ctx, MT_SHAPE(3, 4), -1, 1, &rng, 1);
    mt_tensor *y = make_tensor(ctx, MT_SHAPE(3, 2), -1, 1, &rng, 0);
    mt_tensor *z = make_tensor(ctx, MT_SHAPE(3, 4), -1, 1, &rng, 0);
    mt_requires_grad(x, true);
    mt_requires_grad(y, true);
    mt_requires_grad(z, true);
    const join_spec cat_spec = {.dim = -1, .count = 5, .stack = 0, .pick = {0, 1, 0, 2, 1}};
    mt_tensor *cat_in[3] = {x, y, z};
    CHECK(gradcheck("cat(x, y, x, z, y)", join_fn, cat_in, 3, (void *)&cat_spec, 1, NULL) == 0,
          "%s: cat gradients match central differences", mt_backend_name(be));
    const join_spec stack_spec = {.dim = 1, .count = 3, .stack = 1, .pick = {0, 1, 0}};
    mt_tensor *stack_in[2] = {x, z};
    CHECK(gradcheck("stack(x, z, x)", join_fn, stack_in, 2, (void *)&stack_spec, 2, NULL) == 0,
          "%s: stack gradients match central differences", mt_backend_name(be));
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ errors */
static void test_errors(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    mt_tensor *a = mt_zeros(ctx, MT_SHAPE(2, 3));
    mt_tensor *b = mt_zeros(ctx, MT_SHAPE(3, 3));
    mt_tensor *v = mt_zeros(ctx, MT_SHAPE(6));
    mt_clear_error();
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a}, 0, 0), MT_ERR_ARG, "at least one tensor");
    CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){a}, -1, 0), MT_ERR_ARG, "got count -1");
    CHECK_ERROR(mt_cat(ctx, NULL, 2, 0), MT_ERR_ARG, "cat: tensors is NULL");
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, NULL}, 2, 0), MT_ERR_ARG, "cat: tensors[1] is NULL");
    CHECK_ERROR(mt_stack(NULL, (mt_tensor *[]){a, a}, 2, 0), MT_ERR_ARG, "stack: ctx is NULL");
    /* a NULL made by a failed op keeps that op's error */
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, mt_view(ctx, a, MT_SHAPE(7))}, 2, 0), MT_ERR_SHAPE,
                "view: cannot view shape (2, 3)");
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, a}, 2, 2), MT_ERR_ARG,
                "cat: dim 2 is out of range for joining tensors of shape (2, 3) (expected -2..1)");
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, a}, 2, -3), MT_ERR_ARG, "dim -3 is out of range");
    CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){a, a}, 2, 3), MT_ERR_ARG,
                "stack: dim 3 is out of range for stacking tensors of shape (2, 3) (expected "
                "-3..2)");
    CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){a, a}, 2, -4), MT_ERR_ARG, "dim -4 is out of range");
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, b}, 2, 1), MT_ERR_SHAPE,
                "cat: tensors[1] has shape (3, 3) but tensors[0] has (2, 3); they may differ only "
                "in dim 1");
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, a, v}, 3, 0), MT_ERR_SHAPE,
                "tensors[2] has shape (6,) but tensors[0] has (2, 3)");
    CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){a, b}, 2, 0), MT_ERR_SHAPE,
                "stack: tensors[1] has shape (3, 3) but tensors[0] has (2, 3); stacked tensors "
                "must have one shape");
    mt_tensor *big = mt_zeros(ctx, MT_SHAPE(1, 1, 1, 1, 1, 1, 1, 2));
    CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){big, big}, 2, 0), MT_ERR_SHAPE,
                "stacking 8-dim tensors needs 9 dims; at most 8");
    CHECK_NOT_NULL(mt_cat(ctx, (mt_tensor *[]){big, big}, 2, 7)); /* cat keeps 8 dims */
    /* a tensor from before a reset */
    mt_ctx *other = mt_ctx_new(be);
    mt_tensor *old = mt_zeros(other, MT_SHAPE(2, 3));
    mt_ctx_reset(other);
    CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, old}, 2, 0), MT_ERR_STATE,
                "cat: a tensor of shape (2, 3) was made before its context was reset");
    CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){old, a}, 2, 0), MT_ERR_STATE, "stack: a tensor");
    mt_ctx_free(other);
    /* another backend */
    const mt_backend *naive = mt_backend_naive();
    if (be != naive) {
        mt_ctx *nctx = mt_ctx_new(naive);
        mt_tensor *n = mt_zeros(nctx, MT_SHAPE(2, 3));
        CHECK_ERROR(mt_cat(ctx, (mt_tensor *[]){a, n}, 2, 0), MT_ERR_BACKEND,
                    "cat: inputs are on different backends");
        CHECK_ERROR(mt_stack(ctx, (mt_tensor *[]){n, a}, 2, 0), MT_ERR_BACKEND,
                    "stack: inputs are on different backends");
        mt_ctx_free(nctx);
    }
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ openmp thread counts */
/* cat of large permuted inputs, one used twice, and the gradient that flows back to it. */
static int cat_and_grad(mt_ctx *ctx, void *user, mt_tensor **outs) {
    (void)user;
    mt_rng rng;
    mt_rng_seed(&rng, 9);
    mt_tensor *x = make_tensor(ctx, MT_SHAPE(257, 301), -2, 2, &rng, 1);
    mt_tensor *y = make_tensor(ctx, MT_SHAPE(33, 301), -2, 2, &rng, 0);
    mt_requires_grad(x, true);
    mt_tensor *out = mt_cat(ctx, (mt_tensor *[]){x, y, x}, 3, 0);
    mt_tensor *loss = mt_sum_all(ctx, mt_mul(ctx, out, out));
    if (!loss || mt_backward(ctx, loss, NULL) != MT_OK) return -1;
    outs[0] = out;
    outs[1] = x->grad;
    return 2;
}

int main(void) {
    const mt_backend *backends[CHECK_MAX_BACKENDS];
    int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
    for (int i = 0; i < nb; i++) {
        test_values(backends[i]);
        test_random_cat(backends[i]);
        test_exact_gradients(backends[i]);
        test_gradcheck(backends[i]);
        test_errors(backends[i]);
    }
    check_thread_invariance("openmp cat(x, y, x) and d x", cat_and_grad, NULL);
    return check_summary("test_cat_stack");
}
