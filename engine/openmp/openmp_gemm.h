/* The GEMM micro-kernel contract shared by openmp_gemm_kernel.c and openmp_matmul.c.
 *
 * A tile of MT_GEMM_MR rows by MT_GEMM_NR columns of C is updated from packed panels:
 *   a: kc steps of MR floats (column k of the A micro-panel, rows zero-padded past M)
 *   b: kc steps of NR floats (row k of the B micro-panel, columns zero-padded past N),
 * both 64-byte aligned. Every element is one chain of fused multiply-adds in k order:
 *   c = accumulate ? c : 0;  for k: c = fmaf(a[k][i], b[k][j], c)
 * so a whole product is, element by element, the chain over k = 0..K-1 whatever the blocking, the
 * tile position or the thread that runs it, and every build of the kernel (intrinsics or portable)
 * gives the same bits. */
#ifndef MT_OPENMP_GEMM_H
#define MT_OPENMP_GEMM_H
#include <stdint.h>

#if defined(__AVX512F__)
#define MT_GEMM_MR 8
#define MT_GEMM_NR 32
#define MT_GEMM_NR_NARROW 16
#else
#define MT_GEMM_MR 4
#define MT_GEMM_NR 16
#define MT_GEMM_NR_NARROW 16
#endif

/* c: MR rows, row stride ldc, columns contiguous. */
void mt_omp_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int accumulate);
/* The same for a tile whose columns from MT_GEMM_NR_NARROW on are padding: only the first
 * MT_GEMM_NR_NARROW columns of c need to be computed and written (a narrow N costs less). */
void mt_omp_gemm_kernel_narrow(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               int accumulate);

#endif
