/* Naive kernels that see a whole row along params.dim at once: argmax (one-hot mask of the first
 * maximum), softmax and logsoftmax. Output has the input's shape. Softmax maths is in double and
 * shifted by the row's maximum, so exp() never overflows (inputs of 1000 are fine) and the largest
 * term is exactly exp(0) = 1, which keeps the sum >= 1. */
#include "../internal.h"
#include "../scalar_ops.h"
#include "naive.h"

#include <math.h>

/* A row along dim: the storage positions of its first element in a and out, and its length. */
typedef struct {
    int64_t a0, o0, len, a_step, o_step;
} row_t;

static int64_t row_count(const mt_tensor *a, int dim) { return mt_numel(a) / a->shape[dim]; }

static row_t row_at(const mt_tensor *out, const mt_tensor *a, int dim, int64_t r) {
    int64_t rows_shape[MT_MAX_DIMS], index[MT_MAX_DIMS];
    for (int d = 0; d < a->ndim; d++) rows_shape[d] = d == dim ? 1 : a->shape[d];
    mt_ordinal_to_index(r, a->ndim, rows_shape, index); /* index[dim] == 0 */
    return (row_t){.a0 = a->offset + mt_index_to_position(a->ndim, index, a->strides),
                   .o0 = out->offset + mt_index_to_position(out->ndim, index, out->strides),
                   .len = a->shape[dim],
                   .a_step = a->strides[dim],
                   .o_step = out->strides[dim]};
}

mt_status mt_naive_argmax(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape: 1 at the first maximum of each row, else 0 */
    const mt_tensor *a = args->src[0]; /* any shape, any layout */
    const int dim = args->params.dim;
    const float *ad = a->storage->data;
    float *od = out->storage->data;
    const int64_t rows = row_count(a, dim);
    for (int64_t r = 0; r < rows; r++) {
        row_t w = row_at(out, a, dim, r);
        int64_t best_k = 0;
        double best = ad[w.a0];
        for (int64_t k = 1; k < w.len; k++) {
            double x = ad[w.a0 + k * w.a_step];
            if (mt_beats_max(x, best)) {
                best = x;
                best_k = k;
            }
        }
        for (int64_t k = 0; k < w.len; k++) od[w.o0 + k * w.o_step] = k == best_k ? 1.0f : 0.0f;
    }
    return MT_OK;
}

/* softmax = exp(x - m) / s and logsoftmax = (x - m) - log(s), with m the row maximum and
 * s = sum(exp(x - m)). A NaN anywhere in a row makes the whole row NaN; a row whose maximum is
 * +-inf gives NaN too (inf - inf), as PyTorch's softmax does. */
mt_status mt_naive_softmax(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape */
    const mt_tensor *a = args->src[0]; /* any shape, any layout */
    const int dim = args->params.dim;
    const bool log_form = args->op == MT_OP_LOGSOFTMAX;
    const float *ad = a->storage->data;
    float *od = out->storage->data;
    const int64_t rows = row_count(a, dim);
    for (int64_t r = 0; r < rows; r++) {
        row_t w = row_at(out, a, dim, r);
        double m = ad[w.a0];
        for (int64_t k = 1; k < w.len; k++) {
            double x = ad[w.a0 + k * w.a_step];
            if (mt_beats_max(x, m)) m = x;
        }
        double s = 0.0;
        for (int64_t k = 0; k < w.len; k++) s += exp(ad[w.a0 + k * w.a_step] - m);
        const double log_s = log(s);
        for (int64_t k = 0; k < w.len; k++) {
            double shifted = ad[w.a0 + k * w.a_step] - m;
            od[w.o0 + k * w.o_step] = (float)(log_form ? shifted - log_s : exp(shifted) / s);
        }
    }
    return MT_OK;
}
