/* openmp 2-D pooling, window = stride, no padding (as naive_pool.c): the windows tile the input
 * exactly, so one row of output windows (b, c, i) owns input rows i*kh .. i*kh+kh-1 of plane
 * (b, c). Work items are bands of such window rows; the forward kernels read their input rows, the
 * backward kernels write their grad_in rows, and no two items touch the same output element.
 *
 * Windows are processed up to JB at a time, vectorised across windows: for each cell (dh, dw) of
 * the window in row-major order, every window of the block folds its cell. That is naive's order
 * for every window, so the results are naive's bits:
 *   - avgpool: a double sum from 0.0 in row-major cell order, divided by kh*kw in double;
 *   - maxpool: the first maximum by mt_beats_max (ties to the first cell, the first NaN wins), the
 *     element itself is copied (so -0.0 / 0.0 and NaN payloads are naive's);
 *   - backward: naive's shares, and the gradient routed to that same first maximum.
 * Two loop shapes: rows of SHORT_ROW windows or more go a block of one row's windows at a time
 * (any strides; a literal 1 for a W-contiguous input, so that case gets its own inlined,
 * unit-stride loops); shorter rows (MNIST's 4x4 pooling has 7 windows a row, which would make
 * vectors that are mostly remainder) go in spans of whole rows read and written as runs of cells,
 * when the windows are narrow and the big operand W-contiguous (span_fits). */
#include "openmp.h"
#include "openmp_iter.h"

#include <string.h>

#define JB MT_OMP_POOL_JB               /* windows per block: their accumulators stay in L1 */
#define SHORT_ROW MT_OMP_POOL_SHORT_ROW /* rows of fewer windows are pooled in spans of rows */
#define ITEM_WORK MT_OMP_POOL_ITEM_WORK /* input elements per work item */

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

/* A span: nr window rows from row r0 (rows in row-major (b, c, i) order), windows [j0, j0 + nj)
 * of each; window k = a * nj + j of the span is window j0 + j of row r0 + a. */
typedef struct pool_span {
    int64_t r0, nr, j0, nj;
} pool_span;

/* The (b, c, i) of window row r. */
static inline void row_coords(const pool_job *jb, int64_t r, int64_t *b, int64_t *c, int64_t *i) {
    *i = r % jb->Ho;
    *c = r / jb->Ho % jb->C;
    *b = r / jb->Ho / jb->C;
}

/* off[k] <- the element offset of window k in a pooled (B,C,Ho,Wo) operand with strides s, whose
 * windows step by `step` (its W stride). */
static void span_offsets(const pool_job *jb, const pool_span *sp, const int64_t *s, int64_t step,
                         int64_t *off) {
    for (int64_t a = 0; a < sp->nr; a++) {
        int64_t b, c, i;
        row_coords(jb, sp->r0 + a, &b, &c, &i);
        int64_t base = b * s[0] + c * s[1] + i * s[2] + sp->j0 * step;
        for (int64_t j = 0; j < sp->nj; j++) off[a * sp->nj + j] = base + j * step;
    }
}

/* ---- the run path: a W-contiguous operand and windows at most RUN_KW wide. One row of cells
 * (dh) of every window of a span is laid out as one run, window k's cells at run[k*kw + dw]: the
 * row itself for a one-row span, else the span's rows copied one after another (rows of 7 windows,
 * MNIST's, make vectors that are mostly remainder; a run of 36 rows does not). The fold and spread
 * loops below are called with a literal kw, so the compiler reads a window's cells as a group
 * of contiguous loads instead of a gather. */
#define RUN_KW MT_OMP_POOL_RUN_KW

/* acc[k] += window k's cells dw = 0..kw-1, in order. */
static inline void avg_run(const float *run, int64_t n, int64_t kw, double *acc) {
#pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        double a = acc[k];
        for (int64_t dw = 0; dw < kw; dw++) a += (double)run[k * kw + dw];
        acc[k] = a;
    }
}

/* best/where folded with window k's cells, cell numbers first_cell + dw (mt_beats_max). */
static inline void max_run(const float *run, int64_t n, int64_t kw, int32_t first_cell,
                           float *best, int32_t *where) {
    if (where) {
#pragma omp simd
        for (int64_t k = 0; k < n; k++) {
            float b = best[k];
            int32_t at = where[k];
            for (int64_t dw = 0; dw < kw; dw++) {
                float y = run[k * kw + dw];
                int beats = (y > b) | ((y != y) & (b == b));
                b = beats ? y : b;
                at = beats ? first_cell + (int32_t)dw : at;
            }
            best[k] = b;
            where[k] = at;
        }
    } else {
#pragma omp simd
        for (int64_t k = 0; k < n; k++) {
            float b = best[k];
            for (int64_t dw = 0; dw < kw; dw++) {
                float y = run[k * kw + dw];
                b = ((y > b) | ((y != y) & (b == b))) ? y : b;
            }
            best[k] = b;
        }
    }
}

/* run[k*kw + dw] <- window k's share of cell (dh, dw): gv[k], or gv[k] at its first maximum
 * (to[k] == first_cell + dw) and 0 elsewhere. */
static inline void spread_run(float *run, int64_t n, int64_t kw, const float *gv,
                              const int32_t *to, int32_t first_cell) {
    if (to) {
#pragma omp simd
        for (int64_t k = 0; k < n; k++)
            for (int64_t dw = 0; dw < kw; dw++)
                run[k * kw + dw] = to[k] == first_cell + (int32_t)dw ? gv[k] : 0.0f;
    } else {
#pragma omp simd
        for (int64_t k = 0; k < n; k++)
            for (int64_t dw = 0; dw < kw; dw++) run[k * kw + dw] = gv[k];
    }
}

/* The span's row dh of cells in a W-contiguous (B,C,H,W) operand p with strides s: row a's
 * first cell. */
static inline int64_t span_row_at(const pool_job *jb, const pool_span *sp, const int64_t *s,
                                  int64_t a, int64_t dh) {
    int64_t b, c, i;
    row_coords(jb, sp->r0 + a, &b, &c, &i);
    return b * s[0] + c * s[1] + (i * jb->kh + dh) * s[2] + sp->j0 * jb->kw;
}

/* Cell row dh of the span's windows as one run (see above); buf holds JB * RUN_KW floats. */
static const float *gather_run(const pool_job *jb, const pool_span *sp, int64_t dh, float *buf) {
    const int64_t len = sp->nj * jb->kw;
    if (sp->nr == 1) return jb->x.p + span_row_at(jb, sp, jb->x.s, 0, dh);
    for (int64_t a = 0; a < sp->nr; a++)
        memcpy(buf + a * len, jb->x.p + span_row_at(jb, sp, jb->x.s, a, dh),
               (size_t)len * sizeof(float));
    return buf;
}

/* The forward fold of a span by runs: avgpool's sums into acc, or the maxima (and, for `where`,
 * their cells) into best. */
static void fold_runs(const pool_job *jb, const pool_span *sp, double *acc, float *best,
                      int32_t *where) {
    float buf[JB * RUN_KW];
    const int64_t n = sp->nr * sp->nj, kw = jb->kw;
    const bool avg = jb->op == MT_OP_AVGPOOL2D;
    for (int64_t dh = 0; dh < jb->kh; dh++) {
        const float *run = gather_run(jb, sp, dh, buf);
        if (avg && dh == 0)
            for (int64_t k = 0; k < n; k++) acc[k] = 0.0;
        if (!avg && dh == 0) {
            for (int64_t k = 0; k < n; k++) best[k] = run[k * kw];
            if (where)
                for (int64_t k = 0; k < n; k++) where[k] = 0;
        }
        int32_t first = (int32_t)(dh * kw);
#define MT_POOL_FOLD(KW)                                                                          \
    (avg ? avg_run(run, n, KW, acc) : max_run(run, n, KW, first, best, where))
        switch (kw) {
        case 1: MT_POOL_FOLD(1); break;
        case 2: MT_POOL_FOLD(2); break;
        case 3: MT_POOL_FOLD(3); break;
        default: MT_POOL_FOLD(4); break;
        }
#undef MT_POOL_FOLD
    }
}

/* The backward's writes of a span by runs: cell row dh of every window built in one run, then
 * copied to its rows of grad_in. */
static void spread_runs(const pool_job *jb, const pool_span *sp, const float *gv,
                        const int32_t *to) {
    float buf[JB * RUN_KW];
    const int64_t n = sp->nr * sp->nj, kw = jb->kw, len = sp->nj * kw;
    for (int64_t dh = 0; dh < jb->kh; dh++) {
        float *run = sp->nr == 1 ? jb->o + span_row_at(jb, sp, jb->os, 0, dh) : buf;
        int32_t first = (int32_t)(dh * kw);
        switch (kw) {
        case 1: spread_run(run, n, 1, gv, to, first); break;
        case 2: spread_run(run, n, 2, gv, to, first); break;
        case 3: spread_run(run, n, 3, gv, to, first); break;
        default: spread_run(run, n, 4, gv, to, first); break;
        }
        if (sp->nr > 1)
            for (int64_t a = 0; a < sp->nr; a++)
                memcpy(jb->o + span_row_at(jb, sp, jb->os, a, dh), buf + a * len,
                       (size_t)len * sizeof(float));
    }
}

/* The windows of one span, by runs (span_fits). */
static void pool_span_run(const pool_job *jb, const pool_span *sp) {
    const int64_t n = sp->nr * sp->nj;
    int64_t oo[JB];
    double acc[JB];
    float best[JB], gv[JB];
    int32_t where[JB];
    const bool backward = jb->op == MT_OP_AVGPOOL2D_BACK || jb->op == MT_OP_MAXPOOL2D_BACK;
    if (jb->op != MT_OP_AVGPOOL2D_BACK)
        fold_runs(jb, sp, acc, best, jb->op == MT_OP_MAXPOOL2D_BACK ? where : NULL);
    if (!backward) {
        span_offsets(jb, sp, jb->os, jb->os[3], oo);
        if (jb->op == MT_OP_AVGPOOL2D) {
            const double area = (double)(jb->kh * jb->kw);
#pragma omp simd
            for (int64_t k = 0; k < n; k++) jb->o[oo[k]] = (float)(acc[k] / area);
        } else {
#pragma omp simd
            for (int64_t k = 0; k < n; k++) jb->o[oo[k]] = best[k];
        }
        return;
    }
    span_offsets(jb, sp, jb->g.s, jb->g.s[3], oo);
    if (jb->op == MT_OP_AVGPOOL2D_BACK) {
        /* every cell of a window contributed 1/(kh*kw) of its mean */
        const double area = (double)(jb->kh * jb->kw);
#pragma omp simd
        for (int64_t k = 0; k < n; k++) gv[k] = (float)((double)jb->g.p[oo[k]] / area);
    } else {
#pragma omp simd
        for (int64_t k = 0; k < n; k++) gv[k] = jb->g.p[oo[k]];
    }
    spread_runs(jb, sp, gv, jb->op == MT_OP_MAXPOOL2D_BACK ? where : NULL);
}

/* Whether the job's short rows go by spans of runs: windows at most RUN_KW wide, and every
 * (B,C,H,W) operand it reads or writes W-contiguous. */
static bool span_fits(const pool_job *jb) {
    bool reads_x = jb->op != MT_OP_AVGPOOL2D_BACK;
    bool writes_big = jb->op == MT_OP_AVGPOOL2D_BACK || jb->op == MT_OP_MAXPOOL2D_BACK;
    return jb->Wo < SHORT_ROW && jb->kw <= RUN_KW && (!reads_x || jb->x.s[3] == 1) &&
           (!writes_big || jb->os[3] == 1);
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

/* Window row r = (b, c, i) of the job, block of windows [j0, j0 + nj): rows of SHORT_ROW windows
 * or more, a vector across one row's windows. */
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

/* Item: window rows [item * rows_per_item, ...) in row-major (b, c, i) order: short rows in spans
 * of as many whole rows as fit, longer ones a block of windows at a time. */
static int pool_item(void *ctx, int64_t item) {
    const pool_job *jb = ctx;
    int64_t rows = jb->B * jb->C * jb->Ho;
    int64_t r0 = item * jb->rows_per_item;
    int64_t r1 = r0 + jb->rows_per_item < rows ? r0 + jb->rows_per_item : rows;
    if (span_fits(jb)) {
        int64_t per = JB / jb->Wo;
        for (int64_t r = r0; r < r1; r += per) {
            pool_span sp = {r, r1 - r < per ? r1 - r : per, 0, jb->Wo};
            pool_span_run(jb, &sp);
        }
        return 0;
    }
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
