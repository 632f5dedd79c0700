/* Naive reductions along one dim: each output cell walks the reduced dim in order, accumulating
 * in double (max is exact in any precision). */
#include "../internal.h"
#include "naive.h"

#include <math.h>

mt_status mt_naive_reduce(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape with shape[dim] = 1 */
    const mt_tensor *a = args->src[0]; /* any layout */
    int dim = args->params.dim;
    const float *ad = a->storage->data;
    float *od = out->storage->data;
    int64_t n = mt_numel(out), len = a->shape[dim], index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        int64_t base = a->offset + mt_index_to_position(a->ndim, index, a->strides);
        double acc = args->op == MT_OP_SUM ? 0.0 : args->op == MT_OP_PROD ? 1.0 : -INFINITY;
        for (int64_t k = 0; k < len; k++) {
            double x = ad[base + k * a->strides[dim]];
            if (args->op == MT_OP_SUM)
                acc += x;
            else if (args->op == MT_OP_PROD)
                acc *= x;
            else if (x > acc || isnan(x))
                acc = x; /* NaN wins, as in numpy's max */
        }
        od[out->offset + mt_index_to_position(out->ndim, index, out->strides)] = (float)acc;
    }
    return MT_OK;
}
