/* argmax, softmax and logsoftmax: kernels that need a whole row along params.dim.
 *
 * Contract: one block per row (grid-stride over rows); the block owns every output element of its
 * row. Thread t scans elements t, t + B, t + 2B, ... in order, then the B partials are combined by
 * a fixed tree (t with t + s), so the order depends only on the row length: same input, same bits,
 * no atomics. The maximum is the first maximum of a sequential scan (ties to the lowest index, the
 * first NaN wins: mt_beats_max's rule), and softmax is shifted by it, so inputs of 1000 do not
 * overflow. The sum of exp(x - max) is accumulated in double, as the naive backend does. */
#include "cuda_common.h"

namespace {

constexpr int kMaxBlock = 256;

/* Whether (x at index kx) is the first maximum against (y at index ky). */
__device__ bool first_max(double x, int64_t kx, double y, int64_t ky) {
    if (isnan(x) != isnan(y)) return isnan(x);
    if (!isnan(x) && x != y) return x > y;
    return kx < ky;
}

__global__ void along_dim_kernel(int op, mt_kview out, mt_kview a, int dim, int64_t rows) {
    // out (a.shape), a (any layout); one block per row along dim
    MT_SHARED(double, value, kMaxBlock);
    MT_SHARED(int64_t, where, kMaxBlock);
    const int t = (int)threadIdx.x, B = (int)blockDim.x;
    const int64_t len = a.shape[dim], a_step = a.strides[dim], o_step = out.strides[dim];
    int64_t rows_shape[MT_MAX_DIMS];
    for (int d = 0; d < a.ndim; d++) rows_shape[d] = d == dim ? 1 : a.shape[d];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t index[MT_MAX_DIMS];
        mt_ordinal_to_index(r, a.ndim, rows_shape, index); /* index[dim] == 0 */
        const int64_t a0 = a.offset + mt_index_to_position(a.ndim, index, a.strides);
        const int64_t o0 = out.offset + mt_index_to_position(out.ndim, index, out.strides);

        double best = -INFINITY;
        int64_t best_k = INT64_MAX;
        for (int64_t k = t; k < len; k += B) {
            double x = a.data[a0 + k * a_step];
            if (first_max(x, k, best, best_k)) {
                best = x;
                best_k = k;
            }
        }
        value[t] = best;
        where[t] = best_k;
        __syncthreads();
        for (int s = B / 2; s > 0; s /= 2) {
            if (t < s && first_max(value[t + s], where[t + s], value[t], where[t])) {
                value[t] = value[t + s];
                where[t] = where[t + s];
            }
            __syncthreads();
        }
        const double m = value[0];
        const int64_t m_k = where[0];
        __syncthreads(); /* everyone has read the maximum before value[] is reused */

        if (op == MT_OP_ARGMAX) {
            for (int64_t k = t; k < len; k += B) out.data[o0 + k * o_step] = k == m_k ? 1.0f : 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int64_t k = t; k < len; k += B) sum += exp((double)a.data[a0 + k * a_step] - m);
        value[t] = sum;
        __syncthreads();
        for (int s = B / 2; s > 0; s /= 2) {
            if (t < s) value[t] += value[t + s];
            __syncthreads();
        }
        const double total = value[0], log_total = log(total);
        for (int64_t k = t; k < len; k += B) {
            double shifted = (double)a.data[a0 + k * a_step] - m;
            out.data[o0 + k * o_step] =
                (float)(op == MT_OP_LOGSOFTMAX ? shifted - log_total : exp(shifted) / total);
        }
        __syncthreads(); /* value[0] is read before the next row overwrites it */
    }
}

} // namespace

mt_status MT_CUDA_FN(along_dim)(const mt_kcall *c) {
    const int dim = c->params.dim;
    const int64_t len = c->src[0].shape[dim], rows = mt_kview_numel(&c->src[0]) / len;
    /* a power of two (the tree halves it), no wider than the row needs, at least one warp */
    int block = 32;
    while (block < kMaxBlock && block < len) block *= 2;
    MT_LAUNCH(along_dim_kernel, mt_cuda_blocks(rows, 1), block)((int)c->op, c->out, c->src[0],
                                                                  dim, rows);
    MT_CUDA_CHECK_LAUNCH("along_dim_kernel");
    return MT_OK;
}
