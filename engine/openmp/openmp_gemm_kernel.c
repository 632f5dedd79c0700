/* The GEMM micro-kernel (contract in openmp_gemm.h), chosen at build time: AVX-512 intrinsics where
 * the compiler targets AVX-512, else portable C whose inner loop the compiler vectorises (fmaf
 * becomes a vector FMA where the target has one, a libm call where it does not: slow, never
 * different). */
#include "openmp_gemm.h"

#include <math.h>

#if defined(__AVX512F__)
#include <immintrin.h>

/* MR rows x NV 16-float vectors: MR NV accumulators live in zmm registers for the whole k loop;
 * each k step is NV aligned loads of b, MR broadcasts of a and MR NV FMAs. b rows are NR floats
 * apart whatever NV is. */
#define AVX512_KERNEL(NAME, NV)                                                                \
    void NAME(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,               \
              int accumulate) {                                                                \
        __m512 acc[MT_GEMM_MR][NV];                                                            \
        _Pragma("GCC unroll 16") for (int i = 0; i < MT_GEMM_MR; i++)                          \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                               \
                acc[i][v] = accumulate ? _mm512_loadu_ps(c + i * ldc + 16 * v)                  \
                                       : _mm512_setzero_ps();                                  \
        _Pragma("GCC unroll 4") for (int64_t k = 0; k < kc; k++) {                             \
            __m512 bv[NV];                                                                     \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                               \
                bv[v] = _mm512_load_ps(b + 16 * v);                                            \
            _Pragma("GCC unroll 16") for (int i = 0; i < MT_GEMM_MR; i++) {                    \
                __m512 ai = _mm512_set1_ps(a[i]);                                              \
                _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                           \
                    acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);                         \
            }                                                                                  \
            a += MT_GEMM_MR;                                                                   \
            b += MT_GEMM_NR;                                                                   \
        }                                                                                      \
        _Pragma("GCC unroll 16") for (int i = 0; i < MT_GEMM_MR; i++)                          \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                               \
                _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);                             \
    }

AVX512_KERNEL(mt_omp_gemm_kernel, 2)
AVX512_KERNEL(mt_omp_gemm_kernel_narrow, 1)

#else

void mt_omp_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int accumulate) {
    float acc[MT_GEMM_MR][MT_GEMM_NR];
    for (int i = 0; i < MT_GEMM_MR; i++)
        for (int j = 0; j < MT_GEMM_NR; j++) acc[i][j] = accumulate ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        for (int i = 0; i < MT_GEMM_MR; i++) {
            float ai = a[i];
#pragma omp simd
            for (int j = 0; j < MT_GEMM_NR; j++) acc[i][j] = fmaf(ai, b[j], acc[i][j]);
        }
        a += MT_GEMM_MR;
        b += MT_GEMM_NR;
    }
    for (int i = 0; i < MT_GEMM_MR; i++)
        for (int j = 0; j < MT_GEMM_NR; j++) c[i * ldc + j] = acc[i][j];
}

/* The portable kernel is not tuned for narrow tiles: it computes the whole tile. */
void mt_omp_gemm_kernel_narrow(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               int accumulate) {
    mt_omp_gemm_kernel(kc, a, b, c, ldc, accumulate);
}

#endif
