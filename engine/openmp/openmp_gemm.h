/* The GEMM shared by openmp_matmul.c (the driver), openmp_gemm_kernel.c (the micro-kernels) and
 * the kernels built on products (openmp_conv.c).
 *
 * A tile of MT_GEMM_MR rows by MT_GEMM_NR columns of C is updated from micro-panels:
 *   a: kc steps of MR floats (column k of the A micro-panel, rows zero-padded past M)
 *   b: kc steps of NR floats (row k of the B micro-panel, columns zero-padded past N),
 * packed and 64-byte aligned, or read in place (the _arows / _brows variants). Every element is
 * one chain of fused multiply-adds in k order:
 *   c = accumulate ? c : 0;  for k: c = fmaf(a[k][i], b[k][j], c)
 * so a whole product is, element by element, the chain over k = 0..K-1 whatever the blocking, the
 * tile position, the operands' form or the thread that runs it, and every build of the kernel
 * (intrinsics or portable) gives the same bits. */
#ifndef MT_OPENMP_GEMM_H
#define MT_OPENMP_GEMM_H
#include <stdbool.h>
#include <stdint.h>

#if defined(__AVX512F__)
#define MT_GEMM_MR 8
#define MT_GEMM_NR 32
#define MT_GEMM_NR_NARROW 16
#define MT_GEMM_WIDE_MAX_ROWS 4
#else
#define MT_GEMM_MR 4
#define MT_GEMM_NR 16
#define MT_GEMM_NR_NARROW 16
#define MT_GEMM_WIDE_MAX_ROWS 2
#endif
/* Columns of a wide tile of mr rows (mr rounded up to a power of two). */
#define MT_GEMM_WIDE_COLS(mr) (MT_GEMM_MR * MT_GEMM_NR / ((mr) == 1 ? 1 : (mr) == 2 ? 2 : 4))

/* c: MR rows, row stride ldc, columns contiguous. */
void mt_omp_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int accumulate);
/* The same for a tile whose columns from MT_GEMM_NR_NARROW on are padding: only the first
 * MT_GEMM_NR_NARROW columns of c need to be computed and written (a narrow N costs less). */
void mt_omp_gemm_kernel_narrow(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               int accumulate);
/* B read in place instead of packed: row k of the micro-panel is the first nr <= NR of the NR
 * floats at b + boff[k] (any alignment; the others are not read, and their columns of c are
 * garbage). */
void mt_omp_gemm_kernel_brows(int64_t kc, const float *a, const float *b, const int64_t *boff,
                              int nr, float *c, int64_t ldc, int accumulate);
/* For products of mr <= MT_GEMM_WIDE_MAX_ROWS rows, B read in place: a tile of mr rows (of the
 * packed A micro-panel's MR) by nc <= MT_GEMM_WIDE_COLS(mr) columns, as many accumulators as the
 * MR x NR tile, so few rows do not leave most of them idle. Reads and writes only those mr x nc. */
void mt_omp_gemm_kernel_brows_wide(int64_t kc, const float *a, int mr, const float *b,
                                   const int64_t *boff, int nc, float *c, int64_t ldc,
                                   int accumulate);
/* For products of MT_GEMM_MR < mr <= 2 MT_GEMM_MR rows, B read in place: a tile of mr rows by
 * nc <= MT_GEMM_TALL_COLS columns (16 accumulators, as the MR x NR tile), A from two packed
 * micro-panels (rows from MR on at a + kc * MR), each row of B loaded once for all the rows. Reads
 * and writes only those mr x nc elements of c. */
#define MT_GEMM_TALL_COLS 16
void mt_omp_gemm_kernel_brows_tall(int64_t kc, const float *a, int mr, const float *b,
                                   const int64_t *boff, int nc, float *c, int64_t ldc,
                                   int accumulate);
/* Nothing packed, for products too small to pay for packing: a tile of mr <= MR rows by
 * nr <= MT_GEMM_NR columns, element (i, k) of A at a[i * ars + k * acs], row k of B the nr floats
 * at b + k * ldb (any alignment). Reads and writes only those mr x nr elements of c. */
void mt_omp_gemm_kernel_direct(int64_t kc, const float *a, int64_t ars, int64_t acs, int mr,
                               const float *b, int64_t ldb, int nr, float *c, int64_t ldc,
                               int accumulate);
/* A read in place instead of packed: element (i, k) of the micro-panel is arows[i][k]. */
void mt_omp_gemm_kernel_arows(int64_t kc, const float *const *arows, const float *b, float *c,
                              int64_t ldc, int accumulate);
void mt_omp_gemm_kernel_arows_narrow(int64_t kc, const float *const *arows, const float *b,
                                     float *c, int64_t ldc, int accumulate);

/* The transposed copy that feeds the kernels a column-major B (B = W^T with W's rows stored
 * contiguously, as x @ w^T takes it): dst[k * ldd + j] = src[j * lds + k] for k < kc and j < nr,
 * and 0 for nr <= j < w (w a multiple of 16). A copy, so every build gives the same values; with
 * AVX-512 16 x 16 blocks are transposed in registers (a strided scalar copy costs more than the
 * product's FMAs). pf > 0: each source line pf floats further along its row is prefetched. */
void mt_omp_gemm_pack_bt(int64_t kc, const float *src, int64_t lds, int nr, int w, float *dst,
                         int64_t ldd, int64_t pf);

/* A 4 x 4 tile of dot products for operands that both run along k (rows of A, columns of B
 * stored as rows):  c[i * ldc + j] = (accumulate ? c[i * ldc + j] + s : s),
 *   s = sum over k < kc of a[i][k] * b[j][k],
 * summed in 16 lanes (lane l: the FMA chain over k = l, l + 16, ... in order), then the lanes by
 * the halving tree (lane l += lane l + h, h = 8, 4, 2, 1). Not the chain contract above: a fixed
 * order too, the same in every build, with no packing and no idle lanes for a narrow product. */
void mt_omp_dot_kernel(int64_t kc, const float *const *a, const float *const *b, float *c,
                       int64_t ldc, int accumulate);

/* FMAs below which a product (or a kernel built on products) runs on the calling thread: waking a
 * thread costs ~5-10 us, ~1M FMAs of this kernel; and the least work a thread's piece gets. */
#define MT_GEMM_MIN_PARALLEL_WORK ((int64_t)1 << 22)
#define MT_GEMM_MIN_PIECE_WORK ((int64_t)1 << 20)

/* A GEMM operand: element (i, j) at p[row(i) + j * cs], where row(i) = rows ? rows[i] : i * rs.
 * A row table describes a lowered (im2col) matrix without building it: row (c, kh, kw) of a
 * convolution's lowering is a shifted run of a zero-padded image. Where a table's rows are
 * contiguous (cs = 1) the product reads them in place (the _brows / _arows kernels) instead of
 * packing them. */
typedef struct mt_omp_mat {
    const float *p;
    int64_t rs, cs;
    const int64_t *rows;
} mt_omp_mat;

/* C (M,N) = A (M,K) B (K,N), or C += A B with accumulate, on the calling thread (no parallel
 * region: callers run it inside their own pieces). C is addressed by a row and a column stride in
 * floats, A and B as above (any strides: transposed, broadcast (0), or row tables). Each C element
 * is the FMA chain over k in order of the contract above, continued from C's value when
 * accumulating; so splitting K into consecutive calls with accumulate gives the same bits as one
 * call. Uses the calling thread's packing buffers (openmp.h workspace); returns 0, or non-zero
 * when they cannot be allocated. */
int mt_omp_gemm(int64_t M, int64_t N, int64_t K, const mt_omp_mat *a, const mt_omp_mat *b,
                float *c, int64_t rsc, int64_t csc, bool accumulate);

#endif
