/* The GEMM micro-kernels (contract in openmp_gemm.h), chosen at build time: AVX-512 intrinsics where
 * the compiler targets AVX-512, else portable C whose inner loop the compiler vectorises (fmaf
 * becomes a vector FMA where the target has one, a libm call where it does not: slow, never
 * different).
 *
 * One body serves every variant: A from a packed micro-panel or read in place through MR row
 * pointers, B from a packed micro-panel or read in place through a row offset per k. The variants
 * are that body with constant flags, so each compiles to its own loop; they differ only in where
 * the operands are loaded from, never in the arithmetic. */
#include "openmp_gemm.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#define MR MT_GEMM_MR
#define NR MT_GEMM_NR

#if defined(__AVX512F__)
#include <immintrin.h>

/* MR rows x nv 16-float vectors: MR nv accumulators live in zmm registers for the whole k loop;
 * each k step is nv loads of b, MR broadcasts of a and MR nv FMAs. */
static inline __attribute__((always_inline)) void
tile_body(int64_t kc, const float *a, const float *const *arows, const float *b,
          const int64_t *boff, float *c, int64_t ldc, int accumulate, const int nv,
          const bool a_direct, const bool b_direct) {
    __m512 acc[MR][2];
    const float *ar[MR];
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {
        ar[i] = a_direct ? arows[i] : a;
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            acc[i][v] = accumulate ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
    }
    _Pragma("GCC unroll 4") for (int64_t k = 0; k < kc; k++) {
        const float *bk = b_direct ? b + boff[k] : b + k * NR;
        __m512 bv[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            bv[v] = b_direct ? _mm512_loadu_ps(bk + 16 * v) : _mm512_load_ps(bk + 16 * v);
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a_direct ? ar[i][k] : a[k * MR + i]);
            _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}

#define NV_WIDE (NR / 16)
#define NV_NARROW (MT_GEMM_NR_NARROW / 16)

#else

/* The portable body: the same chains, MR x NR scalars the compiler keeps in vector registers. */
static inline void tile_body(int64_t kc, const float *a, const float *const *arows,
                             const float *b, const int64_t *boff, float *c, int64_t ldc,
                             int accumulate, const int ncols, const bool a_direct,
                             const bool b_direct) {
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = accumulate && j < ncols ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b_direct ? b + boff[k] : b + k * NR;
        for (int i = 0; i < MR; i++) {
            float ai = a_direct ? arows[i][k] : a[k * MR + i];
#pragma omp simd
            for (int j = 0; j < NR; j++) acc[i][j] = fmaf(ai, bk[j], acc[i][j]);
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < ncols; j++) c[i * ldc + j] = acc[i][j];
}

/* The portable body is not tuned for narrow tiles: it computes the whole tile width, and writes
 * (and, accumulating, reads) only the columns asked for. */
#define NV_WIDE NR
#define NV_NARROW MT_GEMM_NR_NARROW

#endif

void mt_omp_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int accumulate) {
    tile_body(kc, a, NULL, b, NULL, c, ldc, accumulate, NV_WIDE, false, false);
}

void mt_omp_gemm_kernel_narrow(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               int accumulate) {
    tile_body(kc, a, NULL, b, NULL, c, ldc, accumulate, NV_NARROW, false, false);
}

void mt_omp_gemm_kernel_brows(int64_t kc, const float *a, const float *b, const int64_t *boff,
                              float *c, int64_t ldc, int accumulate) {
    tile_body(kc, a, NULL, b, boff, c, ldc, accumulate, NV_WIDE, false, true);
}

void mt_omp_gemm_kernel_arows(int64_t kc, const float *const *arows, const float *b, float *c,
                              int64_t ldc, int accumulate) {
    tile_body(kc, NULL, arows, b, NULL, c, ldc, accumulate, NV_WIDE, true, false);
}

void mt_omp_gemm_kernel_arows_narrow(int64_t kc, const float *const *arows, const float *b,
                                     float *c, int64_t ldc, int accumulate) {
    tile_body(kc, NULL, arows, b, NULL, c, ldc, accumulate, NV_NARROW, true, false);
}
