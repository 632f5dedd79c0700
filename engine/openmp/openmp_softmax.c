/* openmp argmax, softmax and logsoftmax: the kernels that see a whole row along params.dim.
 * Each row is computed by one thread; work items are groups of rows.
 *
 * Every value is defined by the row alone, in an order fixed by the row length, so the loop shapes
 * below and any thread count give the same bits (and a permuted view gives its contiguous copy's):
 *   m    the row maximum by mt_beats_max (a NaN wins). Any scan order finds the same value, up to
 *        the sign of a zero maximum, which no output depends on (x - (+-0) = x, and the maximum
 *        itself gives x - x = +0 either way), and the payload of a NaN, which only picks which NaN
 *        a NaN row's outputs are;
 *   e_k  exp(x_k - m) in double (openmp_vmath.h, within ~1e-13 of exp), taken as 0 below -708:
 *        naive's value there is under 1e-307, which changes neither s >= 1 nor any float output;
 *   s    lane j (0 <= j < LANES) sums e_k for k = j, j + LANES, ... in order from 0.0, then the
 *        lanes are added pairwise (lane j += lane j + h for h = LANES/2, ..., 1); naive sums in
 *        order, so the two differ by double rounding only;
 *   softmax = (float)(e_k / s), logsoftmax = (float)((x_k - m) - log(s)), as naive_softmax.c
 *        (a NaN in a row, or an infinite maximum, makes the row NaN);
 *   argmax = one-hot at the first k with x_k == m (the first NaN when m is NaN): where naive's
 *        strictly-greater scan ends up, so the mask is naive's bit for bit.
 *
 * Loop shapes, chosen by layout:
 *   rows:  a row at a time, vectorised along it; the dim's stride is passed as a literal 1 when
 *          the row is contiguous and as a variable otherwise (gathers);
 *   tiled: the dim is strided but neighbouring rows are adjacent in memory (softmax over the
 *          channels of (B,C,H,W), or over dim 0 of a matrix): TILE rows advance together,
 *          vectorised across them. */
#include "openmp.h"
#include "openmp_iter.h"
#include "openmp_vmath.h"

#include <math.h>

#define LANES MT_OMP_SM_LANES                      /* partial sums per row; a multiple of the vector width */
#define SEG MT_OMP_SM_SEG                      /* e_k buffered per row segment (a multiple of LANES) */
#define TILE MT_OMP_SM_TILE                       /* rows per tile in the tiled shape */
#define ITEM_WORK MT_OMP_SM_ITEM_WORK  /* row elements per work item */

/* The fold of the maximum (NaN wins). */
static inline float max_fold(float acc, float y) { return ((y > acc) | (y != y)) ? y : acc; }

/* e_k of a shifted input d = x_k - m <= 0 (or NaN, which propagates). */
static inline double shifted_exp(double d) {
    double e = mt_vm_exp_d(mt_vm_select_d(d < -708.0, -708.0, d));
    return mt_vm_select_d(d < -708.0, 0.0, e);
}

/* The pairwise tree over the LANES partial sums. */
static inline double lanes_total(double *lane) {
    for (int h = LANES / 2; h >= 1; h /= 2)
        for (int j = 0; j < h; j++) lane[j] += lane[j + h];
    return lane[0];
}

/* ------------------------------------------------------------------ rows */
static inline float row_max(const float *x, int64_t sk, int64_t L) {
    float lane[LANES];
    for (int j = 0; j < LANES; j++) lane[j] = -INFINITY;
    int64_t k = 0;
    for (; k + LANES <= L; k += LANES) {
#pragma omp simd
        for (int j = 0; j < LANES; j++) lane[j] = max_fold(lane[j], x[(k + j) * sk]);
    }
    for (int j = 0; k + j < L; j++) lane[j] = max_fold(lane[j], x[(k + j) * sk]);
    float m = lane[0];
    for (int j = 1; j < LANES; j++) m = max_fold(m, lane[j]);
    return m;
}

static inline void argmax_row(const float *x, int64_t sk, int64_t L, float *o, int64_t ok) {
    float m = row_max(x, sk, L);
    int64_t at = 0;
    if (m != m)
        while (x[at * sk] == x[at * sk]) at++;
    else
        while (x[at * sk] != m) at++;
#pragma omp simd
    for (int64_t k = 0; k < L; k++) o[k * ok] = k == at ? 1.0f : 0.0f;
}

/* e[0..n) <- e_k of x[0..n) (stride sk). */
static inline void exp_segment(const float *x, int64_t sk, int64_t n, double m, double *e) {
#pragma omp simd
    for (int64_t k = 0; k < n; k++) e[k] = shifted_exp((double)x[k * sk] - m);
}

static inline void softmax_row(const float *x, int64_t sk, int64_t L, float *o, int64_t ok,
                               bool log_form) {
    double e[SEG], lane[LANES];
    const double m = row_max(x, sk, L);
    for (int j = 0; j < LANES; j++) lane[j] = 0.0;
    for (int64_t k0 = 0; k0 < L; k0 += SEG) { /* SEG is a multiple of LANES: lane = k % LANES */
        int64_t n = L - k0 < SEG ? L - k0 : SEG, k = 0;
        exp_segment(x + k0 * sk, sk, n, m, e);
        for (; k + LANES <= n; k += LANES) {
#pragma omp simd
            for (int j = 0; j < LANES; j++) lane[j] += e[k + j];
        }
        for (int j = 0; k + j < n; j++) lane[j] += e[k + j];
    }
    const double s = lanes_total(lane);
    if (log_form) {
        const double log_s = log(s);
#pragma omp simd
        for (int64_t k = 0; k < L; k++) o[k * ok] = (float)(((double)x[k * sk] - m) - log_s);
        return;
    }
    for (int64_t k0 = 0; k0 < L; k0 += SEG) {
        int64_t n = L - k0 < SEG ? L - k0 : SEG;
        if (L > SEG) exp_segment(x + k0 * sk, sk, n, m, e); /* else e still holds the row */
        float *os = o + k0 * ok;
#pragma omp simd
        for (int64_t k = 0; k < n; k++) os[k * ok] = (float)(e[k] / s);
    }
}

/* One row: the dim's input stride as a literal 1 where it is, so that copy is unit-stride. */
static void along_row(mt_op op, const float *x, int64_t sk, int64_t L, float *o, int64_t ok) {
    bool lf = op == MT_OP_LOGSOFTMAX;
    if (op == MT_OP_ARGMAX) {
        if (sk == 1)
            argmax_row(x, 1, L, o, ok);
        else
            argmax_row(x, sk, L, o, ok);
    } else if (sk == 1) {
        softmax_row(x, 1, L, o, ok, lf);
    } else {
        softmax_row(x, sk, L, o, ok, lf);
    }
}

/* ------------------------------------------------------------------ tiled */
/* nt <= TILE rows side by side: row t's element k is x[k * sk + t], its output
 * o[k * ok + t * ot]. */
static void argmax_tile(const float *x, int64_t sk, int64_t L, int nt, float *o, int64_t ok,
                        int64_t ot) {
    float best[TILE];
    int64_t at[TILE];
    for (int t = 0; t < nt; t++) {
        best[t] = x[t];
        at[t] = 0;
    }
    for (int64_t k = 1; k < L; k++) {
        const float *r = x + k * sk;
#pragma omp simd
        for (int t = 0; t < nt; t++) { /* mt_beats_max */
            float y = r[t], b = best[t];
            int beats = (y > b) | ((y != y) & (b == b));
            best[t] = beats ? y : b;
            at[t] = beats ? k : at[t];
        }
    }
    for (int64_t k = 0; k < L; k++) {
        float *r = o + k * ok;
#pragma omp simd
        for (int t = 0; t < nt; t++) r[t * ot] = at[t] == k ? 1.0f : 0.0f;
    }
}

static void softmax_tile(const float *x, int64_t sk, int64_t L, int nt, float *o, int64_t ok,
                         int64_t ot, bool log_form) {
    float mf[TILE];
    double m[TILE], lane[LANES][TILE], s[TILE]; /* s: the sum, or its log for logsoftmax */
    for (int t = 0; t < nt; t++) mf[t] = -INFINITY;
    for (int64_t k = 0; k < L; k++) {
        const float *r = x + k * sk;
#pragma omp simd
        for (int t = 0; t < nt; t++) mf[t] = max_fold(mf[t], r[t]);
    }
    for (int t = 0; t < nt; t++) m[t] = mf[t];
    for (int j = 0; j < LANES; j++)
        for (int t = 0; t < nt; t++) lane[j][t] = 0.0;
    for (int64_t k = 0; k < L; k++) {
        const float *r = x + k * sk;
        double *l = lane[k % LANES];
#pragma omp simd
        for (int t = 0; t < nt; t++) l[t] += shifted_exp((double)r[t] - m[t]);
    }
    for (int h = LANES / 2; h >= 1; h /= 2) /* lanes_total, for each row of the tile */
        for (int j = 0; j < h; j++) {
#pragma omp simd
            for (int t = 0; t < nt; t++) lane[j][t] += lane[j + h][t];
        }
    for (int t = 0; t < nt; t++) s[t] = log_form ? log(lane[0][t]) : lane[0][t];
    for (int64_t k = 0; k < L; k++) {
        const float *r = x + k * sk;
        float *w = o + k * ok;
        if (log_form) {
#pragma omp simd
            for (int t = 0; t < nt; t++) w[t * ot] = (float)(((double)r[t] - m[t]) - s[t]);
        } else {
#pragma omp simd
            for (int t = 0; t < nt; t++)
                w[t * ot] = (float)(shifted_exp((double)r[t] - m[t]) / s[t]);
        }
    }
}

/* ------------------------------------------------------------------ dispatch */
typedef struct along_job {
    mt_op op;
    const mt_omp_iter *it; /* the rows: each one's first element in out (0) and in (1) */
    const float *ad;
    float *od;
    int64_t L, sk, ok, n_rows;
    int64_t per;           /* rows per item, or tiles per item */
    int64_t tiles_per_row; /* tiled: tiles per innermost row of rows */
} along_job;

static int rows_item(void *ctx, int64_t c) {
    const along_job *j = ctx;
    int64_t start = c * j->per, end = start + j->per < j->n_rows ? start + j->per : j->n_rows;
    int64_t index[MT_MAX_DIMS], pos[2];
    mt_omp_iter_seek(j->it, start, index, pos);
    for (int64_t r = start; r < end; r++) {
        along_row(j->op, j->ad + pos[1], j->sk, j->L, j->od + pos[0], j->ok);
        if (r + 1 < end) mt_omp_iter_advance(j->it, 1, index, pos);
    }
    return 0;
}

/* Tile w: TILE neighbouring rows of one innermost row of rows. */
static void one_tile(const along_job *j, int64_t w) {
    const mt_omp_iter *it = j->it;
    int64_t inner = it->shape[it->ndim - 1];
    int64_t row = w / j->tiles_per_row, t0 = (w % j->tiles_per_row) * TILE;
    int nt = inner - t0 < TILE ? (int)(inner - t0) : TILE;
    int64_t index[MT_MAX_DIMS], pos[2];
    mt_omp_iter_seek(it, row * inner + t0, index, pos);
    const float *x = j->ad + pos[1];
    float *o = j->od + pos[0];
    int64_t ot = it->strides[0][it->ndim - 1];
    if (j->op == MT_OP_ARGMAX)
        argmax_tile(x, j->sk, j->L, nt, o, j->ok, ot);
    else if (ot == 1)
        softmax_tile(x, j->sk, j->L, nt, o, j->ok, 1, j->op == MT_OP_LOGSOFTMAX);
    else
        softmax_tile(x, j->sk, j->L, nt, o, j->ok, ot, j->op == MT_OP_LOGSOFTMAX);
}

static int tiles_item(void *ctx, int64_t c) {
    const along_job *j = ctx;
    int64_t n = j->n_rows / j->it->shape[j->it->ndim - 1] * j->tiles_per_row;
    for (int64_t w = c * j->per; w < n && w < (c + 1) * j->per; w++) one_tile(j, w);
    return 0;
}

mt_status mt_omp_along_dim(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape */
    const mt_tensor *a = args->src[0]; /* any layout */
    const int dim = args->params.dim;
    if (args->op < MT_OP_ARGMAX || args->op > MT_OP_LOGSOFTMAX)
        return mt_fail(MT_ERR_ARG, "openmp along-dim: '%s' is not argmax, softmax or logsoftmax",
                       mt_op_name(args->op));
    if (dim < 0 || dim >= a->ndim || out->ndim != a->ndim)
        return mt_fail(MT_ERR_ARG, "openmp %s: dim %d of a %d-dim input into a %d-dim output",
                       mt_op_name(args->op), dim, a->ndim, out->ndim);
    const int64_t L = a->shape[dim];

    /* The rows, walked by their first element: shape[dim] = 1 drops dim from the iterator. */
    mt_omp_iter it = {.ndim = a->ndim, .nops = 2};
    for (int d = 0; d < a->ndim; d++) {
        it.shape[d] = d == dim ? 1 : a->shape[d];
        it.strides[0][d] = out->strides[d];
        it.strides[1][d] = a->strides[d];
    }
    it.offset[0] = out->offset;
    it.offset[1] = a->offset;
    mt_omp_iter_coalesce(&it);

    along_job j = {.op = args->op, .it = &it, .ad = a->storage->data, .od = out->storage->data,
                   .L = L, .sk = L > 1 ? a->strides[dim] : 1, .ok = L > 1 ? out->strides[dim] : 1,
                   .n_rows = mt_omp_iter_numel(&it)};
    int64_t cost = args->op == MT_OP_ARGMAX ? 2 : 8; /* per element: exp dominates softmax */
    bool parallel = j.n_rows * L * cost > MT_OMP_MIN_PARALLEL_WORK && !mt_omp_overlapping(out);
    int last = it.ndim - 1;
    int64_t inner = it.shape[last];
    if (j.sk != 1 && it.strides[1][last] == 1 && inner >= MT_OMP_SM_TILED_MIN) {
        j.tiles_per_row = (inner + TILE - 1) / TILE;
        int64_t tiles = j.n_rows / inner * j.tiles_per_row;
        j.per = TILE * L >= ITEM_WORK ? 1 : ITEM_WORK / (TILE * L);
        mt_omp_for((tiles + j.per - 1) / j.per, parallel, tiles_item, &j);
    } else {
        j.per = L >= ITEM_WORK ? 1 : ITEM_WORK / L;
        mt_omp_for((j.n_rows + j.per - 1) / j.per, parallel, rows_item, &j);
    }
    return MT_OK;
}
