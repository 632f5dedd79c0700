#include "thread_invariance.h"

#include "check.h"
#include "tensor_compare.h"
#include "thread_counts.h"

void check_thread_invariance(const char *what, thread_run_fn f, void *user) {
#if defined(_OPENMP)
    const mt_backend *omp = mt_backend_by_name("openmp");
    if (!omp) {
        mt_clear_error();
        printf("%s: no openmp backend in this build, thread counts not checked\n", what);
        return;
    }
    /* the 1-thread outputs live in their own context; the others' is reset before each run */
    mt_ctx *ctx1 = mt_ctx_new(omp), *ctx = mt_ctx_new(omp);
    int saved = mt_get_num_threads();
    mt_set_num_threads(1);
    mt_tensor *first[THREAD_RUN_MAX_OUTPUTS];
    int n = f(ctx1, user, first);
    CHECK(n > 0, "%s at 1 thread: %s", what, mt_last_error());
    for (int i = 0, t; n > 0 && (t = mt_test_thread_count(i)) != 0; i++) {
        mt_set_num_threads(t);
        mt_ctx_reset(ctx);
        mt_tensor *outs[THREAD_RUN_MAX_OUTPUTS];
        int m = f(ctx, user, outs);
        CHECK(m == n, "%s at %d threads: %s", what, t, mt_last_error());
        for (int k = 0; k < n && m == n; k++) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s, output %d, at %d threads vs 1", what, k, t);
            compare_bits(msg, outs[k], first[k]);
        }
    }
    mt_set_num_threads(saved);
    mt_ctx_free(ctx);
    mt_ctx_free(ctx1);
#else
    (void)f;
    (void)user;
    printf("%s: built without OpenMP, thread counts not checked\n", what);
#endif
}
