/* mt_to_host and mt_copy_from_host on host backends: a contiguous tensor goes by one memcpy, any
 * other layout by an odometer walk over its positions. Both must give the elements in row-major
 * order of the shape, which mt_get (index -> position, computed from scratch) defines. The layouts:
 * contiguous, a contiguous tensor at an offset into its storage, size-1 dims with arbitrary
 * strides (still contiguous), permuted, transposed, and a view with a gap between rows. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* A new header over t's storage (an identity permute) whose fields a case may then change. */
static mt_tensor *alias(mt_ctx *ctx, mt_tensor *t) {
    static const int identity[MT_MAX_DIMS] = {0, 1, 2, 3, 4, 5, 6, 7};
    return t ? mt_permute(ctx, t, identity) : NULL;
}

/* A (2,3,4) window starting at element 1 of a (2,3,7) storage: rows 7 apart, so not contiguous. */
static mt_tensor *gapped_view(mt_ctx *ctx, mt_tensor *base) {
    mt_tensor *w = alias(ctx, base);
    if (!w) return NULL;
    w->shape[2] = 4;
    w->offset += 1;
    return w;
}

/* The elements of t in row-major order of its shape, by mt_get. */
static void by_index(const mt_tensor *t, float *out) {
    int64_t n = mt_numel(t), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        int64_t r = i;
        for (int d = t->ndim - 1; d >= 0; d--) {
            index[d] = r % t->shape[d];
            r /= t->shape[d];
        }
        mt_get(t, index, &out[i]);
    }
}

static void check_layout(const mt_backend *b, const char *what, mt_tensor *t) {
    CHECK(t != NULL, "%s on %s: built (%s)", what, mt_backend_name(b), mt_last_error());
    if (!t) return;
    int64_t n = mt_numel(t);
    float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    float *src = malloc((size_t)n * sizeof *src);
    by_index(t, want);
    CHECK_OK(mt_to_host(t, got));
    CHECK(memcmp(got, want, (size_t)n * sizeof *got) == 0,
          "%s on %s: mt_to_host gives the row-major elements", what, mt_backend_name(b));
    for (int64_t i = 0; i < n; i++) src[i] = 1000.0f + (float)i;
    CHECK_OK(mt_copy_from_host(t, src));
    by_index(t, got);
    CHECK(memcmp(got, src, (size_t)n * sizeof *got) == 0,
          "%s on %s: mt_copy_from_host writes element i of src at ordinal i", what,
          mt_backend_name(b));
    free(want);
    free(got);
    free(src);
}

static void test_layouts(const mt_backend *b) {
    mt_ctx *ctx = mt_ctx_new(b);
    mt_rng rng;
    mt_rng_seed(&rng, 3);
    mt_tensor *base = mt_rand_uniform(ctx, MT_SHAPE(2, 3, 7), -1, 1, &rng);
    check_layout(b, "contiguous (2,3,7)", base);
    /* rows 1.. of base: contiguous, at an offset */
    mt_tensor *tail = alias(ctx, mt_view(ctx, base, MT_SHAPE(42)));
    if (tail) {
        tail->shape[0] = 35;
        tail->offset += 7;
    }
    check_layout(b, "contiguous at an offset", tail);
    mt_tensor *ones = alias(ctx, mt_view(ctx, base, MT_SHAPE(2, 1, 21, 1)));
    if (ones) {
        ones->strides[1] = 0;   /* a size-1 dim's stride is never used */
        ones->strides[3] = 99;
    }
    check_layout(b, "size-1 dims with odd strides", ones);
    check_layout(b, "permuted (7,2,3)", mt_permute(ctx, base, (const int[]){2, 0, 1}));
    check_layout(b, "transposed (2,7,3)", mt_transpose(ctx, base));
    check_layout(b, "rows with gaps (2,3,4)", gapped_view(ctx, base));
    mt_ctx_free(ctx);
}

int main(void) {
    const mt_backend *b[CHECK_MAX_BACKENDS];
    int n = check_runnable_backends(b, CHECK_MAX_BACKENDS);
    for (int i = 0; i < n; i++)
        if (mt_backend_get_kind(b[i]) == MT_BACKEND_REFERENCE ||
            mt_backend_get_kind(b[i]) == MT_BACKEND_CPU)
            test_layouts(b[i]);
    return check_summary("test_host_copy");
}
