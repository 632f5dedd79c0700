/* Naive map and zip: one loop over output ordinals, ordinal -> index -> broadcast positions.
 * Obviously correct beats fast; the scalar maths is done in double and rounded once. */
#include "../internal.h"
#include "../scalar_ops.h"
#include "naive.h"

mt_status mt_naive_map(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* any shape; contiguous or not */
    const mt_tensor *a = args->src[0]; /* broadcasts to out */
    const float *ad = a->storage->data;
    float *od = out->storage->data;
    int64_t n = mt_numel(out), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        double x = ad[mt_broadcast_position(a, out->ndim, index)];
        od[out->offset + mt_index_to_position(out->ndim, index, out->strides)] =
            (float)mt_map_d(args->op, x);
    }
    return MT_OK;
}

mt_status mt_naive_zip(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* broadcast shape of a and b */
    const mt_tensor *a = args->src[0]; /* broadcasts to out */
    const mt_tensor *b = args->src[1]; /* broadcasts to out */
    const float *ad = a->storage->data, *bd = b->storage->data;
    float *od = out->storage->data;
    int64_t n = mt_numel(out), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        double x = ad[mt_broadcast_position(a, out->ndim, index)];
        double y = bd[mt_broadcast_position(b, out->ndim, index)];
        od[out->offset + mt_index_to_position(out->ndim, index, out->strides)] =
            (float)mt_zip_d(args->op, x, y);
    }
    return MT_OK;
}
