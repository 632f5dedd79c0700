/* The OpenBLAS baseline: cblas_sgemm on row-major float32, on the same thread count as the
 * engine (openblas_set_num_threads). */
#include "bench.h"

#include <cblas.h>

/* OpenBLAS's own entry points (cblas.h declares them for OpenBLAS builds; declared here too so
 * the file does not depend on which cblas.h the include path finds first). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);

void bench_openblas_set_threads(int threads) { openblas_set_num_threads(threads); }

const char *bench_openblas_config(void) { return openblas_get_config(); }

void bench_sgemm_ex(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                    float *c, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, alpha, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

void bench_sgemm(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c) {
    bench_sgemm_ex(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
}
