/* MiniTorch's tensor-data cases (tests/test_tensor_data.py) plus constructors and element access. */
#include "check.h"

#include <math.h>
#include <string.h>

static void test_strides(void) {
    int64_t s[3];
    mt_strides_for_shape(3, (int64_t[]){4, 2, 2}, s);
    CHECK(s[0] == 4 && s[1] == 2 && s[2] == 1, "strides of (4,2,2) are (%lld,%lld,%lld)",
          (long long)s[0], (long long)s[1], (long long)s[2]);
    mt_strides_for_shape(3, (int64_t[]){2, 3, 5}, s);
    CHECK(s[0] == 15 && s[1] == 5 && s[2] == 1, "strides of (2,3,5)");
}

static void expect_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int nwant,
                             const int64_t *want) {
    int n = 0;
    int64_t out[MT_MAX_DIMS];
    mt_status s = mt_shape_broadcast(na, a, nb, b, &n, out);
    char sa[MT_SHAPE_STR_LEN], sb[MT_SHAPE_STR_LEN];
    CHECK(s == MT_OK && n == nwant && memcmp(out, want, sizeof(int64_t) * (size_t)n) == 0,
          "broadcast %s + %s", mt_shape_str(na, a, sa, sizeof sa), mt_shape_str(nb, b, sb, sizeof sb));
}

static void test_shape_broadcast(void) {
    expect_broadcast(MT_SHAPE(1), MT_SHAPE(5, 5), MT_SHAPE(5, 5));
    expect_broadcast(MT_SHAPE(1, 5, 5), MT_SHAPE(5, 5), MT_SHAPE(1, 5, 5));
    expect_broadcast(MT_SHAPE(5, 1, 5, 1), MT_SHAPE(1, 5, 1, 5), MT_SHAPE(5, 5, 5, 5));
    expect_broadcast(MT_SHAPE(2, 5), MT_SHAPE(5), MT_SHAPE(2, 5));
    int n;
    int64_t out[MT_MAX_DIMS];
    CHECK_ERROR(mt_shape_broadcast(MT_SHAPE(5, 2), MT_SHAPE(5), &n, out) == MT_OK, MT_ERR_SHAPE,
                "cannot broadcast shapes (5, 2) and (5,)");
}

static void test_permute_round_trip(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_rng rng;
    mt_rng_seed(&rng, 7);
    mt_tensor *a = mt_rand_uniform(ctx, MT_SHAPE(2, 3, 4), -1, 1, &rng);
    int orders[][3] = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}, {2, 1, 0}};
    for (int k = 0; k < 4; k++) {
        int *o = orders[k], inv[3];
        for (int d = 0; d < 3; d++) inv[o[d]] = d;
        mt_tensor *p = mt_permute(ctx, a, o);
        CHECK(p && p->shape[0] == a->shape[o[0]] && p->shape[2] == a->shape[o[2]],
              "permuted shape");
        mt_tensor *back = mt_permute(ctx, p, inv);
        CHECK(back && mt_same_shape(back, a) && memcmp(back->strides, a->strides,
                                                     3 * sizeof(int64_t)) == 0,
              "permute round trip %d", k);
        /* every element addressed through the permuted view is the original element */
        int64_t idx[3], pidx[3];
        int ok = 1;
        for (idx[0] = 0; idx[0] < 2; idx[0]++)
            for (idx[1] = 0; idx[1] < 3; idx[1]++)
                for (idx[2] = 0; idx[2] < 4; idx[2]++) {
                    for (int d = 0; d < 3; d++) pidx[d] = idx[o[d]];
                    float x, y;
                    mt_get(a, idx, &x);
                    mt_get(p, pidx, &y);
                    ok &= x == y;
                }
        CHECK(ok, "permuted view addresses the same elements");
    }
    CHECK_ERROR(mt_permute(ctx, a, (int[]){0, 0, 1}), MT_ERR_ARG, "permutation");
    CHECK_ERROR(mt_permute(ctx, a, (int[]){0, 1, 3}), MT_ERR_ARG, "permutation");
    mt_ctx_free(ctx);
}

static void test_index_and_access(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    float data[6] = {1, 2, 3, 4, 5, 6};
    mt_tensor *a = mt_from_array(ctx, MT_SHAPE(2, 3), data);
    float v;
    CHECK_OK(mt_get(a, (int64_t[]){1, 2}, &v));
    CHECK(v == 6.0f, "a[1,2] = %g", (double)v);
    CHECK_OK(mt_set(a, (int64_t[]){0, 1}, 9.0f));
    CHECK_OK(mt_get(a, (int64_t[]){0, 1}, &v));
    CHECK(v == 9.0f, "set then get");
    CHECK_ERROR(mt_get(a, (int64_t[]){2, 0}, &v) == MT_OK, MT_ERR_ARG, "out of range");
    CHECK_ERROR(mt_get(a, (int64_t[]){0, -1}, &v) == MT_OK, MT_ERR_ARG, "out of range");
    CHECK_ERROR(mt_item(a, &v) == MT_OK, MT_ERR_SHAPE, "one-element");
    CHECK_OK(mt_item(mt_scalar(ctx, 2.5f), &v));
    CHECK(v == 2.5f, "item");
    /* transposed view reads in logical order */
    float t[6];
    CHECK_OK(mt_to_host(mt_transpose(ctx, a), t));
    float want[6] = {1, 4, 9, 5, 3, 6};
    CHECK(memcmp(t, want, sizeof t) == 0, "transpose to_host order");
    mt_ctx_free(ctx);
}

static void test_constructors_and_views(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *z = mt_zeros(ctx, MT_SHAPE(3, 4));
    mt_tensor *o = mt_ones(ctx, MT_SHAPE(3, 4));
    float zs[12], os[12];
    mt_to_host(z, zs);
    mt_to_host(o, os);
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= zs[i] == 0.0f && os[i] == 1.0f;
    CHECK(ok, "zeros and ones");
    CHECK(mt_is_contiguous(z), "fresh tensors are contiguous");
    CHECK(!mt_is_contiguous(mt_transpose(ctx, z)), "a transpose is not contiguous");
    mt_tensor *v = mt_view(ctx, z, MT_SHAPE(2, 6));
    CHECK(v && v->shape[0] == 2 && v->storage == z->storage, "view shares storage");
    CHECK_ERROR(mt_view(ctx, z, MT_SHAPE(5, 2)), MT_ERR_SHAPE, "cannot view shape (3, 4)");
    CHECK_ERROR(mt_view(ctx, mt_transpose(ctx, z), MT_SHAPE(12)), MT_ERR_ARG, "not contiguous");
    mt_tensor *c = mt_contiguous(ctx, mt_transpose(ctx, o));
    CHECK(c && mt_is_contiguous(c) && c->shape[0] == 4, "contiguous copy");
    CHECK_ERROR(mt_zeros(ctx, MT_SHAPE(2, 0)), MT_ERR_SHAPE, "sizes must be >= 1");

    /* the same seed gives the same values; another seed gives others */
    mt_rng r1, r2, r3;
    mt_rng_seed(&r1, 42);
    mt_rng_seed(&r2, 42);
    mt_rng_seed(&r3, 43);
    float a[8], b[8], d[8];
    mt_to_host(mt_rand_uniform(ctx, MT_SHAPE(8), 0, 1, &r1), a);
    mt_to_host(mt_rand_uniform(ctx, MT_SHAPE(8), 0, 1, &r2), b);
    mt_to_host(mt_rand_uniform(ctx, MT_SHAPE(8), 0, 1, &r3), d);
    CHECK(memcmp(a, b, sizeof a) == 0, "seeded rand is reproducible");
    CHECK(memcmp(a, d, sizeof a) != 0, "different seeds differ");
    ok = 1;
    for (int i = 0; i < 8; i++) ok &= a[i] >= 0 && a[i] < 1;
    CHECK(ok, "uniform in [0,1)");
    mt_ctx_free(ctx);
}

static void test_context_reset_reuses_memory(void) {
    mt_ctx *ctx = mt_ctx_new(NULL);
    mt_tensor *a = mt_zeros(ctx, MT_SHAPE(256, 256));
    float *first = a->storage->data;
    size_t used = mt_ctx_bytes_used(ctx);
    CHECK(used >= 256 * 256 * sizeof(float), "bytes used counts storage");
    mt_ctx_reset(ctx);
    CHECK(mt_ctx_bytes_used(ctx) == 0, "reset empties the arena");
    mt_tensor *b = mt_zeros(ctx, MT_SHAPE(256, 256));
    CHECK(b->storage->data == first, "after reset the same memory is handed out again");
    mt_ctx_free(ctx);
}

int main(void) {
    test_strides();
    test_shape_broadcast();
    test_permute_round_trip();
    test_index_and_access();
    test_constructors_and_views();
    test_context_reset_reuses_memory();
    return check_summary("test_tensor_data");
}
