/* Inverted dropout on the device: the same mask as every other backend for the same seed.
 *
 * Contract: a grid-stride loop over the output's row-major ordinals; ordinal i is read, decided
 * and written by the one thread that takes it. The decision is mt_dropout_keep(seed, i, rate), the
 * counter hash all backends share (dropout_hash.h), so no random state is carried between threads
 * and the mask does not depend on the schedule. A dropped element is exactly 0 whatever x holds. */
#include "cuda_common.h"

#include "../dropout_hash.h"

namespace {

__global__ void dropout_kernel(mt_kview out, mt_kview a, int64_t n, float rate, uint64_t seed) {
    // out (a.shape), a (any layout)
    const float scale = mt_dropout_scale(rate);
    for (int64_t i = MT_GRID_START(); i < n; i += MT_GRID_STRIDE()) {
        int64_t index[MT_MAX_DIMS];
        mt_ordinal_to_index(i, out.ndim, out.shape, index);
        float x = a.data[a.offset + mt_index_to_position(a.ndim, index, a.strides)];
        out.data[out.offset + mt_index_to_position(out.ndim, index, out.strides)] =
            mt_dropout_keep(seed, (uint64_t)i, rate) ? x * scale : 0.0f;
    }
}

} // namespace

mt_status MT_CUDA_FN(dropout)(const mt_kcall *c) {
    int64_t n = mt_kview_numel(&c->out);
    MT_LAUNCH(dropout_kernel, mt_cuda_blocks(n, MT_CUDA_THREADS),
              MT_CUDA_THREADS)(c->out, c->src[0], n, c->params.rate, c->params.seed);
    MT_CUDA_CHECK_LAUNCH("dropout_kernel");
    return MT_OK;
}
