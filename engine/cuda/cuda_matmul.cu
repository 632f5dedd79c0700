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
    int64_t a0, b0, o0; /* this batch's offsets (set_batch) */

    __device__ void set_batch(int64_t p) {
        const int nb = out.ndim - 2;
        int64_t index[MT_MAX_DIMS];
        mt_ordinal_to_index(p, nb, out.shape, index);
        a0 = mt_broadcast_position_of(a.ndim - 2, a.shape, a.strides, a.offset, nb, index);
        b0 = mt_broadcast_position_of(b.ndim - 2, b.shape, b.strides, b.offset, nb, index);
        o0 = out.offset + mt_index_to_position(nb, index, out.strides);
    }
    __device__ float a_at(int64_t m, int64_t k) const {
        return a.data[a0 + m * a.strides[a.ndim - 2] + k * a.strides[a.ndim - 1]];
    }
    __device__ float b_at(int64_t k, int64_t n, bool *present) const {
        *present = true;
        return b.data[b0 + k * b.strides[b.ndim - 2] + n * b.strides[b.ndim - 1]];
    }
    __device__ void store(int64_t m, int64_t n, float v) const {
        out.data[o0 + m * out.strides[out.ndim - 2] + n * out.strides[out.ndim - 1]] = v;
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
    g.a0 = g.b0 = g.o0 = 0;
    return gemm_launch(g, "matmul");
}
