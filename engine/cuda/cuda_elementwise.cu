/* Map and zip on the device.
 *
 * Contract: a grid-stride loop over the output's row-major ordinals; the thread that takes ordinal
 * i is the only one that reads a[i] (b[i]) for it and writes out[i], so the result does not depend
 * on the schedule, and out may alias an input of identical layout. Each element is computed by
 * the shared scalar definition (scalar_ops.h) in double and rounded once, exactly as the naive
 * backend does, so both give the same bits up to the device's double-precision libm.
 * Inputs broadcast to out's shape through stride-0 dims; when every operand is contiguous with
 * out's shape, positions are the ordinal itself (no index arithmetic). */
#include "cuda_common.h"

namespace {

/* Whether v is laid out exactly as a contiguous tensor of out's shape (no broadcasting). */
bool dense_like(const mt_kview *v, const mt_kview *out) {
    if (v->ndim != out->ndim) return false;
    int64_t expect = 1;
    for (int d = v->ndim - 1; d >= 0; d--) {
        if (v->shape[d] != out->shape[d]) return false;
        if (v->shape[d] != 1 && v->strides[d] != expect) return false;
        expect *= v->shape[d];
    }
    return true;
}

__global__ void map_kernel(int op, mt_kview out, mt_kview a, int64_t n, int dense) {
    // out (out.shape), a (broadcasts to out.shape)
    for (int64_t i = MT_GRID_START(); i < n; i += MT_GRID_STRIDE()) {
        int64_t pa = a.offset + i, po = out.offset + i;
        if (!dense) {
            int64_t index[MT_MAX_DIMS];
            mt_ordinal_to_index(i, out.ndim, out.shape, index);
            pa = mt_kview_broadcast_position(&a, out.ndim, index);
            po = out.offset + mt_index_to_position(out.ndim, index, out.strides);
        }
        out.data[po] = (float)mt_map_d(op, (double)a.data[pa]);
    }
}

__global__ void zip_kernel(int op, mt_kview out, mt_kview a, mt_kview b, int64_t n, int dense) {
    // out (out.shape), a and b (broadcast to out.shape)
    for (int64_t i = MT_GRID_START(); i < n; i += MT_GRID_STRIDE()) {
        int64_t pa = a.offset + i, pb = b.offset + i, po = out.offset + i;
        if (!dense) {
            int64_t index[MT_MAX_DIMS];
            mt_ordinal_to_index(i, out.ndim, out.shape, index);
            pa = mt_kview_broadcast_position(&a, out.ndim, index);
            pb = mt_kview_broadcast_position(&b, out.ndim, index);
            po = out.offset + mt_index_to_position(out.ndim, index, out.strides);
        }
        out.data[po] = (float)mt_zip_d(op, (double)a.data[pa], (double)b.data[pb]);
    }
}

} // namespace

mt_status MT_CUDA_FN(map)(const mt_kcall *c) {
    int64_t n = mt_kview_numel(&c->out);
    int dense = dense_like(&c->out, &c->out) && dense_like(&c->src[0], &c->out);
    MT_LAUNCH(map_kernel, mt_cuda_blocks(n, MT_CUDA_THREADS),
              MT_CUDA_THREADS)((int)c->op, c->out, c->src[0], n, dense);
    MT_CUDA_CHECK_LAUNCH("map_kernel");
    return MT_OK;
}

mt_status MT_CUDA_FN(zip)(const mt_kcall *c) {
    int64_t n = mt_kview_numel(&c->out);
    int dense = dense_like(&c->out, &c->out) && dense_like(&c->src[0], &c->out) &&
                dense_like(&c->src[1], &c->out);
    MT_LAUNCH(zip_kernel, mt_cuda_blocks(n, MT_CUDA_THREADS),
              MT_CUDA_THREADS)((int)c->op, c->out, c->src[0], c->src[1], n, dense);
    MT_CUDA_CHECK_LAUNCH("zip_kernel");
    return MT_OK;
}
