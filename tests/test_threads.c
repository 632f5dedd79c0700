/* mt_set_num_threads / mt_get_num_threads: the count reaches OpenMP (what the openmp backend's
 * kernels read), 0 restores the default, a negative count is refused, and an op that runs on
 * several threads gives the same bits at every count set this way. */
#include "check.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void test_count_round_trip(void) {
    int before = mt_get_num_threads();
    CHECK(before >= 1, "the default count is at least 1, got %d", before);
    CHECK_OK(mt_set_num_threads(1));
    CHECK(mt_get_num_threads() == 1, "after setting 1: %d", mt_get_num_threads());
    CHECK_OK(mt_set_num_threads(3));
#ifdef _OPENMP
    CHECK(mt_get_num_threads() == 3, "after setting 3: %d", mt_get_num_threads());
    CHECK(omp_get_max_threads() == 3, "OpenMP sees 3 (what the openmp kernels read): %d",
          omp_get_max_threads());
#else
    CHECK(mt_get_num_threads() == 1, "without OpenMP the count stays 1");
#endif
    CHECK_ERROR(mt_set_num_threads(-2) == MT_OK, MT_ERR_ARG, "must be >= 0");
    CHECK_OK(mt_set_num_threads(0));
    CHECK(mt_get_num_threads() == before, "0 restores the default %d, got %d", before,
          mt_get_num_threads());
}

/* A (384,384) @ (384,384) product and a 1M-element exp on openmp: both past the size that goes
 * parallel; the bits must not depend on the count. */
static void test_same_bits(void) {
    const mt_backend *omp = mt_backend_by_name("openmp");
    if (!omp) {
        printf("test_threads: no openmp backend in this build; bits check skipped\n");
        return;
    }
    mt_ctx *ctx = mt_ctx_new(omp);
    mt_rng rng;
    mt_rng_seed(&rng, 11);
    mt_tensor *a = mt_rand_uniform(ctx, MT_SHAPE(384, 384), -1, 1, &rng);
    mt_tensor *b = mt_rand_uniform(ctx, MT_SHAPE(384, 384), -1, 1, &rng);
    mt_tensor *x = mt_rand_uniform(ctx, MT_SHAPE(1 << 20), -1, 1, &rng);
    static float ref_mm[384 * 384], got_mm[384 * 384], ref_exp[1 << 20], got_exp[1 << 20];
    bool was = mt_set_grad_enabled(false);
    for (int n = 1; n <= 3; n++) {
        CHECK_OK(mt_set_num_threads(n));
        mt_tensor *mm = mt_matmul(ctx, a, b), *e = mt_exp(ctx, x);
        CHECK(mm && e, "ops at %d threads: %s", n, mt_last_error());
        if (!mm || !e) break;
        CHECK_OK(mt_to_host(mm, n == 1 ? ref_mm : got_mm));
        CHECK_OK(mt_to_host(e, n == 1 ? ref_exp : got_exp));
        if (n == 1) continue;
        CHECK(memcmp(ref_mm, got_mm, sizeof ref_mm) == 0, "matmul: same bits at %d threads", n);
        CHECK(memcmp(ref_exp, got_exp, sizeof ref_exp) == 0, "exp: same bits at %d threads", n);
    }
    mt_set_grad_enabled(was);
    mt_set_num_threads(0);
    mt_ctx_free(ctx);
}

int main(void) {
    test_count_round_trip();
    test_same_bits();
    return check_summary("test_threads");
}
