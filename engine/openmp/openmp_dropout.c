/* openmp inverted dropout: out = keep ? x * scale : 0 with keep and scale from dropout_hash.h, the
 * functions naive_dropout.c calls, so the mask and every value are naive's bits. The mask of an
 * element is a function of its row-major ordinal in the output's shape; the coalesced iterator
 * walks ordinals in that same order (merging dims and dropping size-1 dims does not reorder
 * elements), so each inner run of a chunk knows its first ordinal. Chunks of ordinals are the
 * parallel work items. */
#include "openmp.h"
#include "../dropout_hash.h"
#include "openmp_iter.h"

#define CHUNK MT_OMP_DROPOUT_CHUNK /* ordinals per work item */

typedef struct dropout_job {
    const mt_omp_iter *it;
    const float *ad;
    float *od;
    int64_t n;
    uint64_t seed;
    float rate, scale;
} dropout_job;

/* n elements from ordinal first: a[i * sa] into o[i * so]. */
static inline void dropout_run(const dropout_job *j, uint64_t first, int64_t n, const float *a,
                               int64_t sa, float *o, int64_t so) {
    const uint64_t seed = j->seed;
    const float rate = j->rate, scale = j->scale;
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        o[i * so] = mt_dropout_keep(seed, first + (uint64_t)i, rate) ? a[i * sa] * scale : 0.0f;
}

static int dropout_chunk(void *ctx, int64_t c) {
    const dropout_job *j = ctx;
    const mt_omp_iter *it = j->it;
    int64_t start = c * CHUNK, end = start + CHUNK < j->n ? start + CHUNK : j->n;
    int64_t index[MT_MAX_DIMS], pos[2];
    mt_omp_iter_seek(it, start, index, pos);
    int last = it->ndim - 1;
    const int64_t so = it->strides[0][last], sa = it->strides[1][last];
    for (int64_t i = start; i < end;) {
        int64_t run = it->shape[last] - index[last];
        if (run > end - i) run = end - i;
        if (so == 1 && sa == 1) /* the contiguous copy: unit-stride loads and stores */
            dropout_run(j, (uint64_t)i, run, j->ad + pos[1], 1, j->od + pos[0], 1);
        else
            dropout_run(j, (uint64_t)i, run, j->ad + pos[1], sa, j->od + pos[0], so);
        i += run;
        if (i < end) mt_omp_iter_advance(it, run, index, pos);
    }
    return 0;
}

mt_status mt_omp_dropout(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape */
    const mt_tensor *a = args->src[0]; /* any layout */
    if (args->op != MT_OP_DROPOUT)
        return mt_fail(MT_ERR_ARG, "openmp dropout: '%s' is not dropout", mt_op_name(args->op));
    if (out->ndim != a->ndim)
        return mt_fail(MT_ERR_SHAPE, "openmp dropout: a %d-dim input into a %d-dim output", a->ndim,
                       out->ndim);
    mt_omp_iter it = {.ndim = out->ndim, .nops = 2};
    for (int d = 0; d < out->ndim; d++) {
        it.shape[d] = out->shape[d];
        it.strides[0][d] = out->strides[d];
        it.strides[1][d] = a->strides[d];
    }
    it.offset[0] = out->offset;
    it.offset[1] = a->offset;
    mt_omp_iter_coalesce(&it);
    dropout_job j = {.it = &it, .ad = a->storage->data, .od = out->storage->data,
                     .n = mt_omp_iter_numel(&it), .seed = args->params.seed,
                     .rate = args->params.rate, .scale = mt_dropout_scale(args->params.rate)};
    bool parallel = j.n * 4 > MT_OMP_MIN_PARALLEL_WORK && !mt_omp_overlapping(out);
    mt_omp_for((j.n + CHUNK - 1) / CHUNK, parallel, dropout_chunk, &j);
    return MT_OK;
}
