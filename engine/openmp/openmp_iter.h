/* Strided iteration for the openmp kernels: an output shape walked in row-major order together
 * with the matching positions in up to three operands (the output and its inputs).
 *
 * Dims are coalesced first (size-1 dims dropped, neighbours merged where every operand steps
 * through them as one linear run), so a contiguous tensor becomes one long row, a bias broadcast
 * (B,N) + (N,) becomes rows of N, and the innermost loop sees the longest possible run with
 * constant strides: that loop is where the contiguous and scalar-broadcast fast paths live. */
#ifndef MT_OPENMP_ITER_H
#define MT_OPENMP_ITER_H
#include "../internal.h"

#define MT_OMP_ITER_MAX_OPS 3

typedef struct mt_omp_iter {
    int ndim; /* >= 1 */
    int nops;
    int64_t shape[MT_MAX_DIMS];
    int64_t strides[MT_OMP_ITER_MAX_OPS][MT_MAX_DIMS]; /* elements; 0 on broadcast dims */
    int64_t offset[MT_OMP_ITER_MAX_OPS];
} mt_omp_iter;

/* Strides of t broadcast to (ndim, shape) by numpy's right-aligned rules: 0 on the dims t lacks
 * or has as size 1. */
static inline void mt_omp_broadcast_strides(const mt_tensor *t, int ndim, int64_t *strides) {
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int td = d - lead;
        strides[d] = (td < 0 || t->shape[td] == 1) ? 0 : t->strides[td];
    }
}

/* Drops size-1 dims and merges dim d-1 into d where it continues d's run in every operand. */
static inline void mt_omp_iter_coalesce(mt_omp_iter *it) {
    int nd = 0;
    for (int d = 0; d < it->ndim; d++) {
        if (it->shape[d] == 1) continue;
        int merge = nd > 0;
        for (int k = 0; k < it->nops && merge; k++)
            merge = it->strides[k][nd - 1] == it->strides[k][d] * it->shape[d];
        if (merge) {
            it->shape[nd - 1] *= it->shape[d];
            for (int k = 0; k < it->nops; k++) it->strides[k][nd - 1] = it->strides[k][d];
        } else {
            it->shape[nd] = it->shape[d];
            for (int k = 0; k < it->nops; k++) it->strides[k][nd] = it->strides[k][d];
            nd++;
        }
    }
    if (nd == 0) { /* a single element */
        it->shape[0] = 1;
        for (int k = 0; k < it->nops; k++) it->strides[k][0] = 0;
        nd = 1;
    }
    it->ndim = nd;
}

static inline int64_t mt_omp_iter_numel(const mt_omp_iter *it) {
    int64_t n = 1;
    for (int d = 0; d < it->ndim; d++) n *= it->shape[d];
    return n;
}

/* index and pos (one per operand) of the element with this row-major ordinal. */
static inline void mt_omp_iter_seek(const mt_omp_iter *it, int64_t ordinal, int64_t *index,
                                    int64_t *pos) {
    mt_ordinal_to_index(ordinal, it->ndim, it->shape, index);
    for (int k = 0; k < it->nops; k++)
        pos[k] = it->offset[k] + mt_index_to_position(it->ndim, index, it->strides[k]);
}

/* Steps `run` elements along the innermost dim (which must not pass its end), carrying into the
 * outer dims when the row is finished. */
static inline void mt_omp_iter_advance(const mt_omp_iter *it, int64_t run, int64_t *index,
                                       int64_t *pos) {
    int d = it->ndim - 1;
    index[d] += run;
    for (int k = 0; k < it->nops; k++) pos[k] += run * it->strides[k][d];
    while (d > 0 && index[d] == it->shape[d]) {
        for (int k = 0; k < it->nops; k++) pos[k] -= index[d] * it->strides[k][d];
        index[d] = 0;
        d--;
        index[d]++;
        for (int k = 0; k < it->nops; k++) pos[k] += it->strides[k][d];
    }
}

/* True when two output elements share storage (a stride-0 dim of size > 1): such an output is
 * written by one thread so the last write is the same for any thread count. */
static inline bool mt_omp_overlapping(const mt_tensor *t) {
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] > 1 && t->strides[d] == 0) return true;
    return false;
}

#endif
