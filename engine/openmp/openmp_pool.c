/* openmp 2-D pooling, window = stride, no padding (as naive_pool.c): the windows tile the input
 * exactly, so one row of output windows (b, c, i) owns input rows i*kh .. i*kh+kh-1 of plane
 * (b, c). Work items are bands of such window rows; the forward kernels read their input rows, the
 * backward kernels write their grad_in rows, and no two items touch the same output element.
 *
 * Within a window row, the windows are processed JB at a time, vectorised across windows: for each
 * cell (dh, dw) of the window in row-major order, every window of the block folds its cell. That
 * is naive's order for every window, so the results are naive's bits:
 *   - avgpool: a double sum from 0.0 in row-major cell order, divided by kh*kw in double;
 *   - maxpool: the first maximum by mt_beats_max (ties to the first cell, the first NaN wins), the
 *     element itself is copied (so -0.0 / 0.0 and NaN payloads are naive's);
 *   - backward: naive's shares, and the gradient routed to that same first maximum.
 * Inputs and outputs may have any strides; avg_block and max_block are called with a literal 1 for
 * a W-contiguous input, so that case gets its own inlined, unit-stride loops. */
#include "openmp.h"
#include "openmp_iter.h"

#define JB MT_OMP_POOL_JB                        /* windows per block: their accumulators stay in L1 */
#define ITEM_WORK MT_OMP_POOL_ITEM_WORK  /* input elements per work item */

/* One 4-D operand: base pointer and element strides. */
typedef struct plane4 {
    const float *p;
    int64_t s[4];
} plane4;

typedef struct pool_job {
    mt_op op;
    int64_t kh, kw;
    int64_t B, C, Ho, Wo; /* the windows */
    plane4 x;             /* the forward's input (B,C,Ho*kh,Wo*kw): forward ops, maxpool2d_back */
    plane4 g;             /* backward ops: the gradient of the output (B,C,Ho,Wo) */
    float *o;             /* the output (forward: (B,C,Ho,Wo), backward: (B,C,Ho*kh,Wo*kw)) */
    int64_t os[4];
    int64_t rows_per_item;
} pool_job;

static plane4 plane_of(const mt_tensor *t) {
    return (plane4){.p = t->storage->data + t->offset,
                    .s = {t->strides[0], t->strides[1], t->strides[2], t->strides[3]}};
}

/* x[dh][(j*kw + dw) * sw] folded into the JB-window block, for every cell (dh, dw): the sum. */
static inline void avg_block(const float *x, int64_t sh, int64_t sw, int64_t kh, int64_t kw,
                             int64_t nj, double *acc) {
    for (int64_t j = 0; j < nj; j++) acc[j] = 0.0;
    for (int64_t dh = 0; dh < kh; dh++)
        for (int64_t dw = 0; dw < kw; dw++) {
            const float *c = x + dh * sh + dw * sw;
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) acc[j] += (double)c[j * kw * sw];
        }
}

/* The first maximum of each window of the block (mt_beats_max in float, which orders floats as
 * the naive backend's doubles do): its value, and its cell dh * kw + dw when `where` is given. */
static inline void max_block(const float *x, int64_t sh, int64_t sw, int64_t kh, int64_t kw,
                             int64_t nj, float *best, int32_t *where) {
#pragma omp simd
    for (int64_t j = 0; j < nj; j++) best[j] = x[j * kw * sw];
    if (where)
        for (int64_t j = 0; j < nj; j++) where[j] = 0;
    for (int64_t dh = 0; dh < kh; dh++)
        for (int64_t dw = 0; dw < kw; dw++) {
            const float *c = x + dh * sh + dw * sw;
            int32_t cell = (int32_t)(dh * kw + dw);
            if (where) {
#pragma omp simd
                for (int64_t j = 0; j < nj; j++) {
                    float y = c[j * kw * sw], b = best[j];
                    int beats = (y > b) | ((y != y) & (b == b));
                    best[j] = beats ? y : b;
                    where[j] = beats ? cell : where[j];
                }
            } else {
#pragma omp simd
                for (int64_t j = 0; j < nj; j++) {
                    float y = c[j * kw * sw], b = best[j];
                    best[j] = ((y > b) | ((y != y) & (b == b))) ? y : b;
                }
            }
        }
}

/* Cell row dh of the block's windows in grad_in: cell (dh, dw) of window j, at r[(j*kw + dw) * ow],
 * gets gv[j] (avgpool), or gv[j] at the window's first maximum and 0 elsewhere (maxpool: `to`
 * holds that cell, dh * kw + dw; first_cell is dh * kw). */
static inline void spread_row(float *r, int64_t ow, int64_t kw, int64_t nj, const float *gv,
                              const int32_t *to, int32_t first_cell) {
    for (int64_t dw = 0; dw < kw; dw++) {
        float *c = r + dw * ow;
        int32_t cell = first_cell + (int32_t)dw;
        if (to) {
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) c[j * kw * ow] = to[j] == cell ? gv[j] : 0.0f;
        } else {
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) c[j * kw * ow] = gv[j];
        }
    }
}

/* Window row r = (b, c, i) of the job, block of windows [j0, j0 + nj). */
static void pool_block(const pool_job *jb, int64_t b, int64_t c, int64_t i, int64_t j0,
                       int64_t nj) {
    const int64_t kh = jb->kh, kw = jb->kw;
    double acc[JB];
    float best[JB], gv[JB];
    int32_t where[JB];
    switch (jb->op) {
    case MT_OP_AVGPOOL2D:
    case MT_OP_MAXPOOL2D: {
        const int64_t *s = jb->x.s;
        const float *x = jb->x.p + b * s[0] + c * s[1] + i * kh * s[2] + j0 * kw * s[3];
        float *o = jb->o + b * jb->os[0] + c * jb->os[1] + i * jb->os[2] + j0 * jb->os[3];
        const int64_t so = jb->os[3];
        if (jb->op == MT_OP_AVGPOOL2D) {
            if (s[3] == 1)
                avg_block(x, s[2], 1, kh, kw, nj, acc);
            else
                avg_block(x, s[2], s[3], kh, kw, nj, acc);
            const double area = (double)(kh * kw);
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) o[j * so] = (float)(acc[j] / area);
        } else {
            if (s[3] == 1)
                max_block(x, s[2], 1, kh, kw, nj, best, NULL);
            else
                max_block(x, s[2], s[3], kh, kw, nj, best, NULL);
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) o[j * so] = best[j];
        }
        break;
    }
    case MT_OP_AVGPOOL2D_BACK:
    case MT_OP_MAXPOOL2D_BACK: {
        const int64_t *gs = jb->g.s;
        const float *g = jb->g.p + b * gs[0] + c * gs[1] + i * gs[2] + j0 * gs[3];
        float *o = jb->o + b * jb->os[0] + c * jb->os[1] + i * kh * jb->os[2] + j0 * kw * jb->os[3];
        const int64_t oh = jb->os[2], ow = jb->os[3];
        if (jb->op == MT_OP_AVGPOOL2D_BACK) {
            /* every cell of a window contributed 1/(kh*kw) of its mean */
            const double area = (double)(kh * kw);
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) gv[j] = (float)((double)g[j * gs[3]] / area);
        } else {
            const int64_t *s = jb->x.s;
            const float *x = jb->x.p + b * s[0] + c * s[1] + i * kh * s[2] + j0 * kw * s[3];
            if (s[3] == 1)
                max_block(x, s[2], 1, kh, kw, nj, best, where);
            else
                max_block(x, s[2], s[3], kh, kw, nj, best, where);
#pragma omp simd
            for (int64_t j = 0; j < nj; j++) gv[j] = g[j * gs[3]];
        }
        const int32_t *to = jb->op == MT_OP_MAXPOOL2D_BACK ? where : NULL;
        for (int64_t dh = 0; dh < kh; dh++) {
            if (ow == 1)
                spread_row(o + dh * oh, 1, kw, nj, gv, to, (int32_t)(dh * kw));
            else
                spread_row(o + dh * oh, ow, kw, nj, gv, to, (int32_t)(dh * kw));
        }
        break;
    }
    default: break; /* mt_omp_pool rejects other ops before any block */
    }
}

/* Item: window rows [item * rows_per_item, ...) in row-major (b, c, i) order. */
static int pool_item(void *ctx, int64_t item) {
    const pool_job *jb = ctx;
    int64_t rows = jb->B * jb->C * jb->Ho;
    int64_t r0 = item * jb->rows_per_item;
    int64_t r1 = r0 + jb->rows_per_item < rows ? r0 + jb->rows_per_item : rows;
    for (int64_t r = r0; r < r1; r++) {
        int64_t i = r % jb->Ho, c = r / jb->Ho % jb->C, b = r / jb->Ho / jb->C;
        for (int64_t j0 = 0; j0 < jb->Wo; j0 += JB)
            pool_block(jb, b, c, i, j0, jb->Wo - j0 < JB ? jb->Wo - j0 : JB);
    }
    return 0;
}

mt_status mt_omp_pool(const mt_kernel_args *args) {
    mt_tensor *out = args->out; /* forward: (B,C,H/kh,W/kw); backward: (B,C,H,W) */
    const mt_op op = args->op;
    const int64_t kh = args->params.kernel[0], kw = args->params.kernel[1];
    if (op < MT_OP_AVGPOOL2D || op > MT_OP_MAXPOOL2D_BACK)
        return mt_fail(MT_ERR_ARG, "openmp pool: '%s' is not a pooling op", mt_op_name(op));
    const bool backward = op == MT_OP_AVGPOOL2D_BACK || op == MT_OP_MAXPOOL2D_BACK;
    /* the window grid: the forward's output, or the backward's incoming gradient */
    const mt_tensor *windows = backward ? args->src[op == MT_OP_MAXPOOL2D_BACK ? 1 : 0] : out;
    const mt_tensor *big = backward ? out : args->src[0]; /* (B,C,H,W) */
    const mt_tensor *fwd_in = op == MT_OP_MAXPOOL2D_BACK ? args->src[0] : big;
    bool ok = kh >= 1 && kw >= 1 && windows->ndim == 4 && big->ndim == 4 && fwd_in->ndim == 4;
    for (int d = 0; ok && d < 4; d++)
        ok = big->shape[d] == windows->shape[d] * (d == 2 ? kh : d == 3 ? kw : 1) &&
             fwd_in->shape[d] == big->shape[d];
    if (!ok) {
        char sb[MT_SHAPE_STR_LEN], sw[MT_SHAPE_STR_LEN];
        return mt_fail(MT_ERR_SHAPE, "openmp %s: expected (B,C,H,W) and (B,C,H/kh,W/kw) for kernel "
                       "%lld x %lld, got %s and %s", mt_op_name(op), (long long)kh, (long long)kw,
                       mt_shape_str(big->ndim, big->shape, sb, sizeof sb),
                       mt_shape_str(windows->ndim, windows->shape, sw, sizeof sw));
    }

    pool_job jb = {.op = op, .kh = kh, .kw = kw, .B = windows->shape[0], .C = windows->shape[1],
                   .Ho = windows->shape[2], .Wo = windows->shape[3],
                   .o = out->storage->data + out->offset,
                   .os = {out->strides[0], out->strides[1], out->strides[2], out->strides[3]}};
    if (op == MT_OP_MAXPOOL2D_BACK) {
        jb.x = plane_of(args->src[0]); /* the forward input (B,C,H,W) */
        jb.g = plane_of(args->src[1]); /* (B,C,H/kh,W/kw) */
    } else if (op == MT_OP_AVGPOOL2D_BACK) {
        jb.g = plane_of(args->src[0]); /* (B,C,H/kh,W/kw) */
    } else {
        jb.x = plane_of(args->src[0]); /* (B,C,H,W) */
    }
    const int64_t rows = jb.B * jb.C * jb.Ho, row_work = kh * big->shape[3];
    jb.rows_per_item = row_work >= ITEM_WORK ? 1 : ITEM_WORK / row_work;
    bool parallel = mt_numel(big) > MT_OMP_MIN_PARALLEL_WORK && !mt_omp_overlapping(out);
    mt_omp_for((rows + jb.rows_per_item - 1) / jb.rows_per_item, parallel, pool_item, &jb);
    return MT_OK;
}
