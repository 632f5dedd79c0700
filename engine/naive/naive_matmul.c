/* Naive batched matmul with broadcast batch dims: a triple loop per output batch, double
 * accumulator. */
#include "../internal.h"
#include "naive.h"

mt_status mt_naive_matmul(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* (..., M, N), batch dims = broadcast of a's and b's */
    const mt_tensor *a = args->src[0]; /* (..., M, K) */
    const mt_tensor *b = args->src[1]; /* (..., K, N) */
    int nd = out->ndim;
    int64_t M = out->shape[nd - 2], N = out->shape[nd - 1], K = a->shape[a->ndim - 1];
    int64_t batch = mt_numel(out) / (M * N);
    /* Views of a and b with only their batch dims, to broadcast the batch index. */
    mt_tensor ab = *a, bb = *b;
    ab.ndim = a->ndim - 2;
    bb.ndim = b->ndim - 2;
    int64_t index[MT_MAX_DIMS] = {0};
    const float *ad = a->storage->data, *bd = b->storage->data;
    float *od = out->storage->data;
    for (int64_t p = 0; p < batch; p++) {
        mt_ordinal_to_index(p, nd - 2, out->shape, index);
        int64_t a0 = mt_broadcast_position(&ab, nd - 2, index);
        int64_t b0 = mt_broadcast_position(&bb, nd - 2, index);
        int64_t o0 = out->offset + mt_index_to_position(nd - 2, index, out->strides);
        int64_t as_m = a->strides[a->ndim - 2], as_k = a->strides[a->ndim - 1];
        int64_t bs_k = b->strides[b->ndim - 2], bs_n = b->strides[b->ndim - 1];
        int64_t os_m = out->strides[nd - 2], os_n = out->strides[nd - 1];
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double acc = 0.0;
                for (int64_t k = 0; k < K; k++)
                    acc += (double)ad[a0 + m * as_m + k * as_k] * bd[b0 + k * bs_k + n * bs_n];
                od[o0 + m * os_m + n * os_n] = (float)acc;
            }
    }
    return MT_OK;
}
