/* Batched broadcasting matmul: (..., M, K) @ (..., K, N) -> (..., M, N) on the tiled GEMM
 * (cuda_gemm.h: shared-memory tiles, 4 x 4 register patches, one writer per output, each output an
 * fmaf chain over k in order). Operands are arbitrary strided views; the batch dims broadcast, so
 * one batch's offsets come from its index through the operands' own batch strides. */
#include "cuda_gemm.h"

namespace {

struct matmul_operands {
    static constexpr bool kGaps = false;
    mt_kview a, b, out; /* a (..., M, K), b (..., K, N), out (..., M, N) */
    int64_t M, N, K, batches;
    int64_t as_m, as_k, bs_k, bs_n, os_m, os_n; /* the matrix strides, read per element */

    __device__ gemm_batch batch(int64_t p) const {
        const int nb = out.ndim - 2;
        int64_t index[MT_MAX_DIMS];
        mt_ordinal_to_index(p, nb, out.shape, index);
        return gemm_batch{
            mt_broadcast_position_of(a.ndim - 2, a.shape, a.strides, a.offset, nb, index),
            mt_broadcast_position_of(b.ndim - 2, b.shape, b.strides, b.offset, nb, index),
            out.offset + mt_index_to_position(nb, index, out.strides)};
    }
    __device__ float a_at(const gemm_batch &at, int64_t m, int64_t k) const {
        return a.data[at.a + m * as_m + k * as_k];
    }
    __device__ float b_at(const gemm_batch &at, int64_t k, int64_t n, bool *present) const {
        *present = true;
        return b.data[at.b + k * bs_k + n * bs_n];
    }
    __device__ void store(const gemm_batch &at, int64_t m, int64_t n, float v) const {
        out.data[at.c + m * os_m + n * os_n] = v;
    }
};

} // namespace

mt_status MT_CUDA_FN(matmul)(const mt_kcall *c) {
    const mt_kview *out = &c->out;
    matmul_operands g;
    g.a = c->src[0];
    g.b = c->src[1];
    g.out = *out;
    g.M = out->shape[out->ndim - 2];
    g.N = out->shape[out->ndim - 1];
    g.K = c->src[0].shape[c->src[0].ndim - 1];
    g.batches = mt_kview_numel(out) / (g.M * g.N);
    g.as_m = g.a.strides[g.a.ndim - 2];
    g.as_k = g.a.strides[g.a.ndim - 1];
    g.bs_k = g.b.strides[g.b.ndim - 2];
    g.bs_n = g.b.strides[g.b.ndim - 1];
    g.os_m = out->strides[out->ndim - 2];
    g.os_n = out->strides[out->ndim - 1];
    return gemm_launch(g, "matmul");
}
