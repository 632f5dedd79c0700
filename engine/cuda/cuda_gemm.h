/* The tiled GEMM that matmul and the three convolution products share (included by cuda_matmul.cu
 * and cuda_conv.cu; device code, compiled in both builds).
 *
 * C[p] (M,N) = A[p] (M,K) @ B[p] (K,N) for p = 0..batches-1, where an operand object says how to
 * read A and B and where to store C: a strided matmul, or a convolution read as an implicit GEMM
 * (the im2col matrix is never materialised; its elements are gathered from the input as the tile
 * is loaded, zeros outside the image).
 *
 * Contract: a block computes one kTileM x kTileN tile of one C[p]; each of its 256 threads owns a
 * 4 x 4 patch of that tile (register blocking) and is its only writer. K is walked in kTileK slices
 * staged in shared memory: every thread loads its share of both slices, a barrier, every thread
 * multiplies out of shared memory, a barrier before the next slice overwrites them. Each output is
 * one float fmaf chain over k = 0, 1, ..., K-1 in order, whatever the schedule: same bits on every
 * run, and the GPU and the simulator agree bit for bit (fmaf rounds once on both). Out-of-range
 * rows, columns and k are staged as zeros and never stored.
 *
 * Absent terms: a convolution's im2col matrix has holes (reads outside the image), and the naive
 * backend skips those terms rather than adding 0 * w, which would turn an infinite weight into NaN.
 * An operand with kGaps = true says so per element of B; the kernel stages a presence flag beside
 * the B slice and leaves the chain untouched for absent terms, so results match the naive
 * backend's special values (inf, NaN) too.
 *
 * The operand type G provides: static constexpr bool kGaps; int64_t M, N, K, batches;
 *   __device__ gemm_batch batch(int64_t p) const;           (where batch p's operands start)
 *   __device__ float a_at(const gemm_batch &at, int64_t m, int64_t k) const;
 *   __device__ float b_at(const gemm_batch &at, int64_t k, int64_t n, bool *present) const;
 *   __device__ void store(const gemm_batch &at, int64_t m, int64_t n, float v) const.
 * The operand object is the kernel's parameter and is never written: a parameter that a kernel
 * modifies is copied whole into local memory (nvcc gave the matmul a 576-byte stack frame when
 * the batch offsets were stored in it). */
#ifndef MT_CUDA_GEMM_H
#define MT_CUDA_GEMM_H

#include "cuda_common.h"

namespace {

/* Where one batch's operands start: storage offsets of A, B and C (a convolution keeps the image
 * index in a). */
struct gemm_batch {
    int64_t a, b, c;
};

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kPatch = 4;                                               /* 4 x 4 per thread */
constexpr int kGemmThreads = (kTileM / kPatch) * (kTileN / kPatch);     /* 256 */
constexpr int kLoadsA = kTileM * kTileK / kGemmThreads;                 /* 4 per thread */
constexpr int kLoadsB = kTileK * kTileN / kGemmThreads;                 /* 4 per thread */
constexpr unsigned kMaxGridZ = 65535;

template <typename G>
__global__ void gemm_tiled(G g) {
    MT_SHARED(float, a_tile, kTileK * kTileM); /* a_tile[k * kTileM + m]: A's slice, transposed */
    MT_SHARED(float, b_tile, kTileK * kTileN); /* b_tile[k * kTileN + n] */
    MT_SHARED(unsigned char, b_here, G::kGaps ? kTileK * kTileN : 1); /* 1: b_tile holds a term */
    const int t = (int)threadIdx.x;
    const int row0 = (t / (kTileN / kPatch)) * kPatch; /* this thread's patch within the tile */
    const int col0 = (t % (kTileN / kPatch)) * kPatch;
    const int64_t m0 = (int64_t)blockIdx.y * kTileM, n0 = (int64_t)blockIdx.x * kTileN;
    for (int64_t p = blockIdx.z; p < g.batches; p += gridDim.z) {
        const gemm_batch at = g.batch(p);
        float acc[kPatch][kPatch];
        for (int i = 0; i < kPatch; i++)
            for (int j = 0; j < kPatch; j++) acc[i][j] = 0.0f;
        for (int64_t k0 = 0; k0 < g.K; k0 += kTileK) {
            for (int l = 0; l < kLoadsA; l++) {
                int e = t + l * kGemmThreads, mm = e / kTileK, kk = e % kTileK;
                int64_t m = m0 + mm, k = k0 + kk;
                a_tile[kk * kTileM + mm] = (m < g.M && k < g.K) ? g.a_at(at, m, k) : 0.0f;
            }
            for (int l = 0; l < kLoadsB; l++) {
                int e = t + l * kGemmThreads, kk = e / kTileN, nn = e % kTileN;
                int64_t k = k0 + kk, n = n0 + nn;
                bool present = false;
                b_tile[kk * kTileN + nn] = (k < g.K && n < g.N) ? g.b_at(at, k, n, &present) : 0.0f;
                if (G::kGaps) b_here[kk * kTileN + nn] = present;
            }
            __syncthreads();
            /* the last slice may be short: stop at K so no padded zero enters the chain */
            const int kmax = g.K - k0 < kTileK ? (int)(g.K - k0) : kTileK;
            for (int kk = 0; kk < kmax; kk++) {
                float av[kPatch], bv[kPatch];
                for (int i = 0; i < kPatch; i++) av[i] = a_tile[kk * kTileM + row0 + i];
                for (int j = 0; j < kPatch; j++) bv[j] = b_tile[kk * kTileN + col0 + j];
                if (G::kGaps) {
                    bool here[kPatch];
                    for (int j = 0; j < kPatch; j++) here[j] = b_here[kk * kTileN + col0 + j];
                    for (int i = 0; i < kPatch; i++)
                        for (int j = 0; j < kPatch; j++)
                            if (here[j]) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
                } else {
                    for (int i = 0; i < kPatch; i++)
                        for (int j = 0; j < kPatch; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
                }
            }
            __syncthreads();
        }
        for (int i = 0; i < kPatch; i++)
            for (int j = 0; j < kPatch; j++) {
                int64_t m = m0 + row0 + i, n = n0 + col0 + j;
                if (m < g.M && n < g.N) g.store(at, m, n, acc[i][j]);
            }
    }
}

/* Launches gemm_tiled over every tile of every batch. */
template <typename G>
mt_status gemm_launch(const G &g, const char *what) {
    if (g.M <= 0 || g.N <= 0 || g.batches <= 0) return MT_OK;
    int64_t tiles_n = (g.N + kTileN - 1) / kTileN, tiles_m = (g.M + kTileM - 1) / kTileM;
    if (tiles_m > 65535 || tiles_n > 0x7fffffff)
        return mt_fail(MT_ERR_UNSUPPORTED, "%s: %s: %lld x %lld output is beyond one launch's grid",
                       MT_CUDA_BUILD, what, (long long)g.M, (long long)g.N);
    dim3 grid((unsigned)tiles_n, (unsigned)tiles_m,
              (unsigned)(g.batches < kMaxGridZ ? g.batches : kMaxGridZ));
    void (*kernel)(G) = gemm_tiled<G>;
    MT_LAUNCH(kernel, grid, kGemmThreads)(g);
    MT_CUDA_CHECK_LAUNCH(what);
    return MT_OK;
}

} // namespace

#endif
