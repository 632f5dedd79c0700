/* openmp map and zip: the output is cut into fixed chunks of row-major ordinals, each chunk owned by
 * one thread; inside a chunk the coalesced iterator hands out inner runs, and each run takes the
 * contiguous, scalar-broadcast or strided loop.
 *
 * The maths follows scalar_ops.h. Where float arithmetic gives the same bits as the naive
 * backend's double-then-round (+, *, /, comparisons: double has more than 2p+2 bits, so rounding
 * twice is exact) it is done in float; inv_back and is_close are done in double because their
 * float forms would round an intermediate; exp, log, sigmoid and sigmoid_back use the vectorisable
 * double-precision functions of openmp_vmath.h (within 1 ulp of naive). Every element's value
 * depends only on its inputs, so the chunking cannot change any bit. */
#include "openmp.h"
#include "../scalar_ops.h"
#include "openmp_iter.h"
#include "openmp_vmath.h"

#include <math.h>

/* Ordinals per chunk: large enough to amortise the seek, small enough to balance two threads on
 * a few hundred thousand elements. */
#define EW_CHUNK ((int64_t)1 << 14)

/* The three loop shapes of an inner run for a map; EXPR reads x. */
#define MAP_RUN(EXPR)                                                                      \
    do {                                                                                   \
        if (sa == 1 && so == 1) {                                                          \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                          \
                float x = a[i];                                                            \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (sa == 0) {                                                              \
            float x = a[0];                                                                \
            float v = (EXPR);                                                              \
            for (int64_t i = 0; i < n; i++) o[i * so] = v;                                 \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                              \
                float x = a[i * sa];                                                       \
                o[i * so] = (EXPR);                                                        \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* The four loop shapes of an inner run for a zip; EXPR reads x (from a) and y (from b). */
#define ZIP_RUN(EXPR)                                                                      \
    do {                                                                                   \
        if (sa == 1 && sb == 1 && so == 1) {                                               \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                          \
                float x = a[i], y = b[i];                                                  \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (sa == 0 && sb == 1 && so == 1) {                                        \
            float x = a[0];                                                                \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                          \
                float y = b[i];                                                            \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (sa == 1 && sb == 0 && so == 1) {                                        \
            float y = b[0];                                                                \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                          \
                float x = a[i];                                                            \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                              \
                float x = a[i * sa], y = b[i * sb];                                        \
                o[i * so] = (EXPR);                                                        \
            }                                                                              \
        }                                                                                  \
    } while (0)

static void map_run(mt_op op, int64_t n, const float *a, int64_t sa, float *o, int64_t so) {
    switch (op) {
    case MT_OP_NEG: MAP_RUN(-x); break;
    case MT_OP_ID: MAP_RUN(x); break;
    case MT_OP_INV: MAP_RUN(1.0f / x); break;
    case MT_OP_RELU: MAP_RUN(x > 0.0f ? x : 0.0f); break;
    case MT_OP_SIGMOID: MAP_RUN((float)mt_vm_sigmoid_d(x)); break;
    case MT_OP_LOG: MAP_RUN((float)mt_vm_logf_d(x)); break;
    case MT_OP_EXP: MAP_RUN((float)mt_vm_expf_d(x)); break;
    default: break; /* mt_omp_map rejects other ops before any run */
    }
}

static inline float sigmoid_back(float x, float y) {
    double s = mt_vm_sigmoid_d(x);
    return (float)(s * (1.0 - s) * (double)y);
}

static void zip_run(mt_op op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb,
                    float *o, int64_t so) {
    switch (op) {
    case MT_OP_ADD: ZIP_RUN(x + y); break;
    case MT_OP_MUL: ZIP_RUN(x * y); break;
    case MT_OP_LT: ZIP_RUN(x < y ? 1.0f : 0.0f); break;
    case MT_OP_EQ: ZIP_RUN(x == y ? 1.0f : 0.0f); break;
    case MT_OP_IS_CLOSE: ZIP_RUN(fabs((double)x - (double)y) < MT_IS_CLOSE_TOL ? 1.0f : 0.0f); break;
    case MT_OP_RELU_BACK: ZIP_RUN(x > 0.0f ? y : 0.0f); break;
    case MT_OP_LOG_BACK: ZIP_RUN(y / x); break;
    case MT_OP_INV_BACK: ZIP_RUN((float)(-(double)y / ((double)x * (double)x))); break;
    case MT_OP_SIGMOID_BACK: ZIP_RUN(sigmoid_back(x, y)); break;
    default: break; /* mt_omp_zip rejects other ops before any run */
    }
}

/* Relative cost of one element, for the parallel threshold. */
static int64_t op_cost(mt_op op) {
    switch (op) {
    case MT_OP_SIGMOID:
    case MT_OP_LOG:
    case MT_OP_EXP:
    case MT_OP_SIGMOID_BACK: return 8;
    default: return 1;
    }
}

/* out <- op(a[, b]) over the ordinals [start, end). */
static void ew_range(const mt_omp_iter *it, mt_op op, float *od, const float *ad, const float *bd,
                     int64_t start, int64_t end) {
    int64_t index[MT_MAX_DIMS], pos[MT_OMP_ITER_MAX_OPS];
    mt_omp_iter_seek(it, start, index, pos);
    int last = it->ndim - 1;
    const int64_t so = it->strides[0][last], sa = it->strides[1][last];
    for (int64_t i = start; i < end;) {
        int64_t run = it->shape[last] - index[last];
        if (run > end - i) run = end - i;
        if (bd)
            zip_run(op, run, ad + pos[1], sa, bd + pos[2], it->strides[2][last], od + pos[0], so);
        else
            map_run(op, run, ad + pos[1], sa, od + pos[0], so);
        i += run;
        if (i < end) mt_omp_iter_advance(it, run, index, pos);
    }
}

typedef struct ew_job {
    const mt_omp_iter *it;
    mt_op op;
    float *od;
    const float *ad, *bd;
    int64_t n;
} ew_job;

static int ew_chunk(void *ctx, int64_t c) {
    const ew_job *j = ctx;
    int64_t end = (c + 1) * EW_CHUNK < j->n ? (c + 1) * EW_CHUNK : j->n;
    ew_range(j->it, j->op, j->od, j->ad, j->bd, c * EW_CHUNK, end);
    return 0;
}

static mt_status elementwise(const mt_kernel_args *args, int nin) {
    mt_tensor *out = args->out;        /* any shape and layout */
    const mt_tensor *a = args->src[0]; /* broadcasts to out */
    const mt_tensor *b = nin == 2 ? args->src[1] : NULL; /* broadcasts to out */
    mt_omp_iter it = {.ndim = out->ndim, .nops = 1 + nin};
    for (int d = 0; d < out->ndim; d++) it.shape[d] = out->shape[d];
    for (int d = 0; d < out->ndim; d++) it.strides[0][d] = out->strides[d];
    it.offset[0] = out->offset;
    mt_omp_broadcast_strides(a, out->ndim, it.strides[1]);
    it.offset[1] = a->offset;
    if (b) {
        mt_omp_broadcast_strides(b, out->ndim, it.strides[2]);
        it.offset[2] = b->offset;
    }
    mt_omp_iter_coalesce(&it);

    ew_job job = {.it = &it, .op = args->op, .od = out->storage->data,
                  .ad = a->storage->data, .bd = b ? b->storage->data : NULL,
                  .n = mt_omp_iter_numel(&it)};
    bool parallel = job.n * op_cost(args->op) > MT_OMP_MIN_PARALLEL_WORK && !mt_omp_overlapping(out);
    mt_omp_for((job.n + EW_CHUNK - 1) / EW_CHUNK, parallel, ew_chunk, &job);
    return MT_OK;
}

mt_status mt_omp_map(const mt_kernel_args *args) {
    if (args->op < MT_OP_NEG || args->op > MT_OP_EXP)
        return mt_fail(MT_ERR_ARG, "openmp map: '%s' is not a map op", mt_op_name(args->op));
    return elementwise(args, 1);
}

mt_status mt_omp_zip(const mt_kernel_args *args) {
    if (args->op < MT_OP_ADD || args->op > MT_OP_SIGMOID_BACK)
        return mt_fail(MT_ERR_ARG, "openmp zip: '%s' is not a zip op", mt_op_name(args->op));
    return elementwise(args, 2);
}
