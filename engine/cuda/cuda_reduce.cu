/* sum, prod and max along one dim, complete for any length: the caller gets the final values,
 * never per-block partials.
 *
 * Contract: each output cell is owned by one thread (rows of at most kShortRow elements, summed in
 * order exactly as the naive backend does) or by one block (longer rows). In a block, thread t
 * folds elements t, t + 256, t + 512, ... in order, then the 256 partials are combined by a fixed
 * tree (t with t + s, s = 128, 64, ..., 1). The order depends only on the row length, never on the
 * schedule, so the same input gives the same bits on every run; no atomics. Accumulation is in
 * double, as the naive backend's; max lets NaN win, as numpy's does. */
#include "cuda_common.h"

namespace {

constexpr int kBlock = 256;
constexpr int64_t kShortRow = 32;

__device__ double identity(int op) {
    return op == MT_OP_SUM ? 0.0 : op == MT_OP_PROD ? 1.0 : -INFINITY;
}

__device__ double combine(int op, double acc, double x) {
    if (op == MT_OP_SUM) return acc + x;
    if (op == MT_OP_PROD) return acc * x;
    return (x > acc || isnan(x)) ? x : acc;
}

/* Storage positions of output cell n's first input element and of the cell itself. */
__device__ void cell_positions(const mt_kview *out, const mt_kview *a, int64_t n, int64_t *pa,
                               int64_t *po) {
    int64_t index[MT_MAX_DIMS];
    mt_ordinal_to_index(n, out->ndim, out->shape, index); /* index[dim] == 0 */
    *pa = a->offset + mt_index_to_position(a->ndim, index, a->strides);
    *po = out->offset + mt_index_to_position(out->ndim, index, out->strides);
}

__global__ void reduce_rows_per_thread(int op, mt_kview out, mt_kview a, int dim, int64_t cells) {
    // out (a.shape with shape[dim] = 1), a (any layout); one thread per output cell
    const int64_t len = a.shape[dim], step = a.strides[dim];
    for (int64_t n = MT_GRID_START(); n < cells; n += MT_GRID_STRIDE()) {
        int64_t pa, po;
        cell_positions(&out, &a, n, &pa, &po);
        double acc = identity(op);
        for (int64_t k = 0; k < len; k++) acc = combine(op, acc, (double)a.data[pa + k * step]);
        out.data[po] = (float)acc;
    }
}

__global__ void reduce_rows_per_block(int op, mt_kview out, mt_kview a, int dim, int64_t cells) {
    // out (a.shape with shape[dim] = 1), a (any layout); one block per output cell
    MT_SHARED(double, partial, kBlock);
    const int64_t len = a.shape[dim], step = a.strides[dim];
    const int t = (int)threadIdx.x;
    for (int64_t n = blockIdx.x; n < cells; n += gridDim.x) {
        int64_t pa, po;
        cell_positions(&out, &a, n, &pa, &po);
        double acc = identity(op);
        for (int64_t k = t; k < len; k += kBlock) acc = combine(op, acc, (double)a.data[pa + k * step]);
        partial[t] = acc;
        __syncthreads();
        for (int s = kBlock / 2; s > 0; s /= 2) {
            if (t < s) partial[t] = combine(op, partial[t], partial[t + s]);
            __syncthreads();
        }
        if (t == 0) out.data[po] = (float)partial[0];
        __syncthreads(); /* partial[0] is read before the next cell overwrites it */
    }
}

} // namespace

mt_status MT_CUDA_FN(reduce)(const mt_kcall *c) {
    const int dim = c->params.dim;
    const int64_t cells = mt_kview_numel(&c->out);
    if (c->src[0].shape[dim] <= kShortRow) {
        MT_LAUNCH(reduce_rows_per_thread, mt_cuda_blocks(cells, MT_CUDA_THREADS),
                  MT_CUDA_THREADS)((int)c->op, c->out, c->src[0], dim, cells);
        MT_CUDA_CHECK_LAUNCH("reduce_rows_per_thread");
    } else {
        MT_LAUNCH(reduce_rows_per_block, mt_cuda_blocks(cells, 1),
                  kBlock)((int)c->op, c->out, c->src[0], dim, cells);
        MT_CUDA_CHECK_LAUNCH("reduce_rows_per_block");
    }
    return MT_OK;
}
