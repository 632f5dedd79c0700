/* Naive inverted dropout: out = keep ? x * scale : 0, keep and scale from dropout_hash.h, which
 * every backend shares so they all drop the same elements for the same seed. A dropped element is
 * exactly 0 whatever x holds (inf, NaN), and at rate 1 no 0 * inf can appear. The backward of
 * dropout is this same kernel applied to the gradient with the forward's seed. */
#include "../dropout_hash.h"
#include "../internal.h"
#include "naive.h"

mt_status mt_naive_dropout(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape */
    const mt_tensor *a = args->src[0]; /* any layout */
    const float rate = args->params.rate;
    const uint64_t seed = args->params.seed;
    const float scale = mt_dropout_scale(rate);
    const float *ad = a->storage->data;
    float *od = out->storage->data;
    int64_t n = mt_numel(out), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        float x = ad[a->offset + mt_index_to_position(a->ndim, index, a->strides)];
        od[out->offset + mt_index_to_position(out->ndim, index, out->strides)] =
            mt_dropout_keep(seed, (uint64_t)i, rate) ? x * scale : 0.0f;
    }
    return MT_OK;
}
