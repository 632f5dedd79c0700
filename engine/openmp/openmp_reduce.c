/* openmp sum, prod and max along one dim.
 *
 * The order of operations is part of the definition, fixed by the reduced length alone, so that
 * every loop shape below (and any thread count) gives the same bits, whatever the input layout:
 *   - the L inputs of one output are cut into blocks of RB consecutive elements;
 *   - inside a block, lane j (0 <= j < LANES) folds elements j, j+LANES, j+2 LANES, ... in order,
 *     starting from the op's identity; the block's value is lane 0 after a pairwise tree:
 *     for h = LANES/2, ..., 2, 1: lane j <- lane j (+) lane j+h, for j < h. Lanes past the block's
 *     length hold the identity and are skipped, which changes nothing: a lane is never -0.0 for
 *     sum (it starts at +0.0), x * 1 = x, and -inf never wins a max;
 *   - the output folds the identity and the block values in order, and is rounded to float once.
 * Sum and product accumulate in double, like the naive backend, so results differ from it only by
 * the rounding of a different summation order; max is exact in any precision and order, so it
 * compares floats (twice as many per vector). The lanes are what the contiguous loop vectorises
 * over; the blocks are what a long reduction into few outputs parallelises over.
 *
 * Three loop shapes, chosen by layout:
 *   contiguous: the reduced dim has stride 1: per output, LANES-wide vector folds;
 *   tiled: the reduced dim is strided but the outputs' innermost dim is contiguous in the input
 *          (sum over rows of a row-major matrix): TILE neighbouring outputs advance together,
 *          one vector fold per input row (with AVX-512: max folds the rows in plain
 *          order where that provably gives these bits, see "The fast tiled max" below; otherwise
 *          one lane's rows at a time);
 *   strided: anything else, one element at a time in the same lane order. */
#include "openmp.h"
#include "openmp_iter.h"

#include <math.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define LANES MT_OMP_RED_LANES             /* enough independent vector chains to hide the fold's latency */
#define RB MT_OMP_RED_BLOCK   /* block length; a multiple of LANES */
#define TILE MT_OMP_RED_TILE             /* outputs per tile in the tiled shape (LANES x TILE accumulators) */
#define MAX_BLOCKS_BUF MT_OMP_RED_MAX_BLOCKS_BUF  /* block values buffered at once when blocks run in parallel */

/* One block of the definition above, for each op and loop shape:
 *   NAME_contig(x, len):           x[0..len) contiguous (defined after the macro)
 *   NAME_strided(x, sk, len):      x[k * sk]
 *   NAME_tiled(x, sk, len, nt, bt): nt outputs side by side (stride 1), output t reads
 *                                   x[k * sk + t]; block values into bt[0..nt)
 * T is the accumulator type; FOLD(acc, y) gives the new accumulator; the max fold lets NaN win,
 * as numpy and naive do. */
#define DEFINE_BLOCK_KERNELS(NAME, T, INIT, FOLD)                                              \
    /* the pairwise tree over lanes 0..u-1 */                                                  \
    static double NAME##_tree(T *lane, int u) {                                                \
        for (int h = LANES / 2; h >= 1; h /= 2) {                                              \
            int n = u - h < h ? u - h : h;                                                     \
            _Pragma("omp simd") for (int j = 0; j < n; j++) {                                  \
                T acc = lane[j], y = lane[j + h];                                              \
                lane[j] = (FOLD);                                                              \
            }                                                                                  \
        }                                                                                      \
        return lane[0];                                                                        \
    }                                                                                          \
    static double NAME##_strided(const float *x, int64_t sk, int64_t len) {                    \
        T lane[LANES];                                                                         \
        for (int j = 0; j < LANES; j++) lane[j] = (INIT);                                      \
        for (int64_t k = 0; k < len; k++) {                                                    \
            T acc = lane[k % LANES], y = x[k * sk];                                            \
            lane[k % LANES] = (FOLD);                                                          \
        }                                                                                      \
        return NAME##_tree(lane, len < LANES ? (int)len : LANES);                              \
    }

DEFINE_BLOCK_KERNELS(sum, double, 0.0, acc + y)
DEFINE_BLOCK_KERNELS(prod, double, 1.0, acc * y)
DEFINE_BLOCK_KERNELS(max, float, -INFINITY, ((y > acc) | (y != y)) ? y : acc)

#if defined(__AVX512F__)
/* The contiguous block with the LANES lanes in registers: vector q holds lanes q W .. q W + W - 1
 * (W = 8 doubles or 16 floats), so lane j still folds elements j, j + LANES, ...; the last partial
 * row of LANES is a masked load that fills the missing elements with the identity (a no-op fold,
 * as above). The tree's first steps pair whole vectors (lane j with j + h for h >= W), the rest
 * runs inside the last vector, a permute bringing lane j + h under lane j. Same order, same bits
 * as the portable form. */
#define VD (LANES / 8)  /* double vectors */
#define VF (LANES / 16) /* float vectors */
#define DEFINE_CONTIG_DOUBLE(NAME, INIT, VFOLD)                                        \
    static double NAME##_contig(const float *x, int64_t len) {                                \
        __m512d l[VD];                                                                       \
        for (int q = 0; q < VD; q++) l[q] = _mm512_set1_pd(INIT);                             \
        int64_t k = 0;                                                                       \
        for (; k + LANES <= len; k += LANES)                                                 \
            for (int q = 0; q < VD; q++)                                                     \
                l[q] = VFOLD(l[q], _mm512_cvtps_pd(_mm256_loadu_ps(x + k + 8 * q)));         \
        for (int q = 0; q < VD && k + 8 * q < len; q++) {                                    \
            int64_t left = len - k - 8 * q;                                                 \
            __mmask8 m = (__mmask8)(left >= 8 ? 0xFF : (1u << left) - 1u);                   \
            __m256 y = _mm256_mask_loadu_ps(_mm256_set1_ps((float)(INIT)), m, x + k + 8 * q); \
            l[q] = VFOLD(l[q], _mm512_cvtps_pd(y));                                          \
        }                                                                                    \
        for (int h = VD / 2; h >= 1; h /= 2)                                                 \
            for (int q = 0; q < h; q++) l[q] = VFOLD(l[q], l[q + h]);                        \
        /* the last steps (h = 4, 2, 1) in the vector: a permute brings lane j + h under j */ \
        l[0] = VFOLD(l[0], _mm512_shuffle_f64x2(l[0], l[0], _MM_SHUFFLE(3, 2, 3, 2)));       \
        l[0] = VFOLD(l[0], _mm512_shuffle_f64x2(l[0], l[0], _MM_SHUFFLE(1, 1, 1, 1)));       \
        l[0] = VFOLD(l[0], _mm512_shuffle_pd(l[0], l[0], 0xFF));                             \
        return _mm512_cvtsd_f64(l[0]);                                                       \
    }
DEFINE_CONTIG_DOUBLE(sum, 0.0, _mm512_add_pd)
DEFINE_CONTIG_DOUBLE(prod, 1.0, _mm512_mul_pd)

/* The max fold on 16 lanes: y where y > acc or y is NaN, else acc (not vmaxps, which differs on
 * a NaN acc and on signed zeros). */
static inline __m512 max_vfold(__m512 acc, __m512 y) {
    __mmask16 take = _mm512_cmp_ps_mask(y, acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(take, acc, y);
}

/* The tree's last steps (h = 8, 4, 2, 1) inside one vector: a permute brings lane j + h under
 * lane j, so lane j <- fold(lane j, lane j + h) for j < h, as in the stored-lane form; the other
 * lanes fold garbage that no later step reads. */
static float max_lane_tree(__m512 l) {
    l = max_vfold(l, _mm512_shuffle_f32x4(l, l, _MM_SHUFFLE(3, 2, 3, 2))); /* h = 8 */
    l = max_vfold(l, _mm512_shuffle_f32x4(l, l, _MM_SHUFFLE(1, 1, 1, 1))); /* h = 4 */
    l = max_vfold(l, _mm512_shuffle_ps(l, l, _MM_SHUFFLE(3, 2, 3, 2)));    /* h = 2 */
    l = max_vfold(l, _mm512_shuffle_ps(l, l, _MM_SHUFFLE(1, 1, 1, 1)));    /* h = 1 */
    return _mm512_cvtss_f32(l);
}

static double max_contig_exact(const float *x, int64_t len) {
    __m512 l[VF];
    for (int q = 0; q < VF; q++) l[q] = _mm512_set1_ps(-INFINITY);
    int64_t k = 0;
    for (; k + LANES <= len; k += LANES)
        for (int q = 0; q < VF; q++) l[q] = max_vfold(l[q], _mm512_loadu_ps(x + k + 16 * q));
    for (int q = 0; q < VF && k + 16 * q < len; q++) {
        int64_t left = len - k - 16 * q;
        __mmask16 m = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
        l[q] = max_vfold(l[q], _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + k + 16 * q));
    }
    for (int h = VF / 2; h >= 1; h /= 2)
        for (int q = 0; q < h; q++) l[q] = max_vfold(l[q], l[q + h]);
    return max_lane_tree(l[0]);
}
/* The same block, fast when it holds no NaN: vmaxps(y, acc) is y > acc ? y : acc, the fold itself
 * for non-NaN y, in one short-latency operation; a running sum of the elements flags a NaN (or an
 * inf - inf, harmlessly), and such a block is redone by max_contig_exact. */
static double max_contig(const float *x, int64_t len) {
    if (len < LANES) return max_contig_exact(x, len);
    __m512 l[VF], s[VF];
    for (int q = 0; q < VF; q++) l[q] = _mm512_set1_ps(-INFINITY), s[q] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + LANES <= len; k += LANES)
        for (int q = 0; q < VF; q++) {
            __m512 y = _mm512_loadu_ps(x + k + 16 * q);
            l[q] = _mm512_max_ps(y, l[q]);
            s[q] = _mm512_add_ps(s[q], y);
        }
    __mmask16 nan = 0;
    for (int q = 0; q < VF; q++) nan |= _mm512_cmp_ps_mask(s[q], s[q], _CMP_UNORD_Q);
    if (nan || k < len) return max_contig_exact(x, len);
    for (int h = VF / 2; h >= 1; h /= 2)
        for (int q = 0; q < h; q++) l[q] = max_vfold(l[q], l[q + h]);
    return max_lane_tree(l[0]);
}

/* The tiled block lane by lane: lane j's accumulators for the nt outputs (TILE / 8 double or
 * TILE / 16 float vectors) stay in registers while it folds its rows j, j + LANES, ... in order;
 * then they go to the lane array and the tree runs on it. Same order, same bits as the portable
 * form, which walks the rows in order instead and keeps all LANES x TILE accumulators in memory:
 * their loads and stores, not the input, bounded it (a sum over the rows of a (1024, 1024) matrix
 * ran at half memcpy's speed). The outputs past nt are masked off.
 *
 * The (1024, 1024) sum over rows takes 49 to 57 us here, against 31 to 39 us for memcpy of the
 * same traffic (both move from process to process). Measured in microbenchmarks, in us: folding
 * from L1 (row stride 0) costs 37, and only loading this walk's strips costs 47 where loading the
 * same bytes in order costs 32; the two overlap badly, as the folds waiting on L3 fill the
 * scheduler. Tried, same bits, none faster in the engine across processes: lanes outermost
 * (each row then streams whole: 34 us to load, but 52 to 57 with the folds), in passes of 2 to 16
 * rows; copying strips ahead into an L1 ring; a depth-first tree; software prefetches (always
 * slower: the strips share 8 of L1's 64 sets). Orders the definition does not allow (rows in
 * order, lanes of 16 consecutive rows) were no faster either. */
#define TV_D (TILE / 8)
#define DEFINE_TILED_DOUBLE(NAME, INIT, VFOLD)                                                 \
    /* lane j's rows into its accumulators a; full tiles load unmasked (with masks the         \
     * (1024, 1024) sum took 65 us, not 50-57) */                                              \
    static inline __attribute__((always_inline)) void NAME##_fold_lane(                        \
        __m512d *a, const float *x, int64_t sk, int64_t len, int j, const __mmask8 *m,         \
        const bool full) {                                                                     \
        for (int64_t k = j; k < len; k += LANES) {                                             \
            const float *row = x + k * sk; /* (nt) */                                          \
            for (int q = 0; q < TV_D; q++) {                                                   \
                __m256 y = full ? _mm256_loadu_ps(row + 8 * q)                                 \
                                : _mm256_maskz_loadu_ps(m[q], row + 8 * q);                    \
                a[q] = VFOLD(a[q], _mm512_cvtps_pd(y));                                        \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    static void NAME##_tiled_lanes(const float *x, int64_t sk, int64_t len, int nt,            \
                                   double *bt) {                                               \
        static _Thread_local double lane[LANES][TILE] __attribute__((aligned(64)));            \
        __mmask8 m[TV_D];                                                                      \
        for (int q = 0; q < TV_D; q++) {                                                       \
            int left = nt - 8 * q;                                                             \
            m[q] = (__mmask8)(left >= 8 ? 0xFF : left <= 0 ? 0 : (1u << left) - 1u);           \
        }                                                                                      \
        int u = len < LANES ? (int)len : LANES;                                                \
        for (int j = 0; j < u; j++) {                                                          \
            __m512d a[TV_D];                                                                   \
            for (int q = 0; q < TV_D; q++) a[q] = _mm512_set1_pd(INIT);                        \
            if (nt == TILE) NAME##_fold_lane(a, x, sk, len, j, m, true);                       \
            else NAME##_fold_lane(a, x, sk, len, j, m, false);                                 \
            for (int q = 0; q < TV_D; q++) _mm512_store_pd(&lane[j][8 * q], a[q]);            \
        }                                                                                      \
        for (int h = LANES / 2; h >= 1; h /= 2)                                                \
            for (int j = 0; j < h && j + h < u; j++)                                           \
                for (int q = 0; q < TV_D; q++)                                                 \
                    _mm512_store_pd(&lane[j][8 * q],                                           \
                                    VFOLD(_mm512_load_pd(&lane[j][8 * q]),                     \
                                          _mm512_load_pd(&lane[j + h][8 * q])));               \
        for (int t = 0; t < nt; t++) bt[t] = lane[0][t];                                       \
    }
DEFINE_TILED_DOUBLE(sum, 0.0, _mm512_add_pd)
DEFINE_TILED_DOUBLE(prod, 1.0, _mm512_mul_pd)

#define TV_F (TILE / 16)
static void max_tiled_lanes(const float *x, int64_t sk, int64_t len, int nt, double *bt) {
    static _Thread_local float lane[LANES][TILE] __attribute__((aligned(64)));
    __mmask16 m[TV_F];
    for (int q = 0; q < TV_F; q++) {
        int left = nt - 16 * q;
        m[q] = (__mmask16)(left >= 16 ? 0xFFFF : left <= 0 ? 0 : (1u << left) - 1u);
    }
    int u = len < LANES ? (int)len : LANES;
    for (int j = 0; j < u; j++) {
        __m512 a[TV_F];
        for (int q = 0; q < TV_F; q++) a[q] = _mm512_set1_ps(-INFINITY);
        for (int64_t k = j; k < len; k += LANES) {
            const float *row = x + k * sk;
            for (int q = 0; q < TV_F; q++)
                a[q] = max_vfold(a[q], _mm512_maskz_loadu_ps(m[q], row + 16 * q));
        }
        for (int q = 0; q < TV_F; q++) _mm512_store_ps(&lane[j][16 * q], a[q]);
    }
    for (int h = LANES / 2; h >= 1; h /= 2)
        for (int j = 0; j < h && j + h < u; j++)
            for (int q = 0; q < TV_F; q++)
                _mm512_store_ps(&lane[j][16 * q], max_vfold(_mm512_load_ps(&lane[j][16 * q]),
                                                            _mm512_load_ps(&lane[j + h][16 * q])));
    for (int t = 0; t < nt; t++) bt[t] = lane[0][t];
}

/* The fast tiled max: rows folded in plain order, TILE outputs at a time, which streams the input
 * (the lanes form above reads 512-byte strips LANES rows apart), used for an output only where
 * that order provably gives the definition's bits: without NaN the fold's result is an input >=
 * all the others, and inputs that compare equal have the same bits unless they are zeros of
 * opposite sign, so vmaxps in row order gives the definition's result whenever that result is not
 * zero. A NaN shows in a running sum of the inputs (an inf - inf also does, and only costs a
 * redo). The other outputs are redone in the definition's order: one by one with the strided
 * form when they are few, else the whole tile by the lanes form.
 *
 * Sum has no such form. One was measured: the rows in plain order where an exponent-range check
 * proves every partial sum exact in double (then any order gives the exact sum). It ran a
 * (1024, 1024) sum over rows in 48 to 78 us depending on where the input lay in memory and on the
 * tile width: no better than the lanes form, 50 to 57 us once its full tiles load unmasked. */
#define FEW_REDOS 8 /* outputs redone one by one; more and the lanes form redoes the tile */

/* One max pass: the row-order vmaxps and a running sum (NaN flag) of nt <= TILE outputs. */
static inline __attribute__((always_inline)) void
max_rows_pass(const float *x, int64_t sk, int64_t len, int nt, const bool full, float *maxes,
              float *sums) {
    __mmask16 m[TV_F];
    __m512 a[TV_F], s[TV_F];
    for (int q = 0; q < TV_F; q++) {
        int left = nt - 16 * q;
        m[q] = (__mmask16)(left >= 16 ? 0xFFFF : left <= 0 ? 0 : (1u << left) - 1u);
        a[q] = _mm512_set1_ps(-INFINITY);
        s[q] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < len; k++) {
        const float *row = x + k * sk; /* (nt) */
        for (int q = 0; q < TV_F; q++) {
            __m512 y = full ? _mm512_loadu_ps(row + 16 * q) : _mm512_maskz_loadu_ps(m[q], row + 16 * q);
            a[q] = _mm512_max_ps(y, a[q]);
            s[q] = _mm512_add_ps(s[q], y);
        }
    }
    for (int q = 0; q < TV_F; q++) {
        _mm512_storeu_ps(maxes + 16 * q, a[q]);
        _mm512_storeu_ps(sums + 16 * q, s[q]);
    }
}

static void max_tiled_rows(const float *x, int64_t sk, int64_t len, int nt, double *bt) {
    float maxes[TILE], sums[TILE];
    if (nt == TILE) max_rows_pass(x, sk, len, nt, true, maxes, sums);
    else max_rows_pass(x, sk, len, nt, false, maxes, sums);
    int redo[FEW_REDOS], nredo = 0;
    for (int t = 0; t < nt; t++) {
        if (sums[t] != sums[t] || maxes[t] == 0.0f) {
            if (nredo == FEW_REDOS) {
                max_tiled_lanes(x, sk, len, nt, bt);
                return;
            }
            redo[nredo++] = t;
        }
        bt[t] = maxes[t];
    }
    for (int i = 0; i < nredo; i++) bt[redo[i]] = max_strided(x + redo[i], sk, len);
}
#define sum_tiled_fast sum_tiled_lanes
#define prod_tiled_fast prod_tiled_lanes
#define max_tiled_fast max_tiled_rows
#else
/* The tiled block row by row: all LANES x nt accumulators live in memory. */
#define DEFINE_TILED(NAME, T, INIT, FOLD)                                                      \
    static void NAME##_tiled(const float *x, int64_t sk, int64_t len, int nt, double *bt) {    \
        T lane[LANES][TILE];                                                                   \
        int u = len < LANES ? (int)len : LANES;                                                \
        for (int j = 0; j < u; j++)                                                            \
            for (int t = 0; t < nt; t++) lane[j][t] = (INIT);                                  \
        for (int64_t k = 0; k < len; k++) {                                                    \
            T *l = lane[k % LANES];                                                            \
            const float *row = x + k * sk;                                                     \
            _Pragma("omp simd") for (int t = 0; t < nt; t++) {                                 \
                T acc = l[t], y = row[t];                                                      \
                l[t] = (FOLD);                                                                 \
            }                                                                                  \
        }                                                                                      \
        for (int h = LANES / 2; h >= 1; h /= 2)                                                \
            for (int j = 0; j < h && j + h < u; j++)                                           \
                _Pragma("omp simd") for (int t = 0; t < nt; t++) {                             \
                    T acc = lane[j][t], y = lane[j + h][t];                                    \
                    lane[j][t] = (FOLD);                                                       \
                }                                                                              \
        for (int t = 0; t < nt; t++) bt[t] = lane[0][t];                                       \
    }

#define DEFINE_CONTIG(NAME, T, INIT, FOLD)                                                     \
    static double NAME##_contig(const float *x, int64_t len) {                                 \
        T lane[LANES];                                                                         \
        for (int j = 0; j < LANES; j++) lane[j] = (INIT);                                      \
        int64_t k = 0;                                                                         \
        for (; k + LANES <= len; k += LANES) {                                                 \
            _Pragma("omp simd") for (int j = 0; j < LANES; j++) {                              \
                T acc = lane[j], y = x[k + j];                                                 \
                lane[j] = (FOLD);                                                              \
            }                                                                                  \
        }                                                                                      \
        for (int j = 0; k + j < len; j++) {                                                    \
            T acc = lane[j], y = x[k + j];                                                     \
            lane[j] = (FOLD);                                                                  \
        }                                                                                      \
        return NAME##_tree(lane, len < LANES ? (int)len : LANES);                              \
    }
DEFINE_CONTIG(sum, double, 0.0, acc + y)
DEFINE_CONTIG(prod, double, 1.0, acc * y)
DEFINE_CONTIG(max, float, -INFINITY, ((y > acc) | (y != y)) ? y : acc)
DEFINE_TILED(sum, double, 0.0, acc + y)
DEFINE_TILED(prod, double, 1.0, acc * y)
DEFINE_TILED(max, float, -INFINITY, ((y > acc) | (y != y)) ? y : acc)
#define sum_tiled_fast sum_tiled
#define prod_tiled_fast prod_tiled
#define max_tiled_fast max_tiled
#endif

typedef struct reducer {
    double init;
    double (*fold)(double acc, double y);
    double (*contig)(const float *x, int64_t len);
    double (*strided)(const float *x, int64_t sk, int64_t len);
    void (*tiled)(const float *x, int64_t sk, int64_t len, int nt, double *bt);
} reducer;

static double fold_sum(double acc, double y) { return acc + y; }
static double fold_prod(double acc, double y) { return acc * y; }
static double fold_max(double acc, double y) { return (y > acc || isnan(y)) ? y : acc; }

static const reducer REDUCERS[3] = {
    {0.0, fold_sum, sum_contig, sum_strided, sum_tiled_fast},
    {1.0, fold_prod, prod_contig, prod_strided, prod_tiled_fast},
    {-(double)INFINITY, fold_max, max_contig, max_strided, max_tiled_fast},
};

/* One output: its L inputs start at x and step by sk. */
static float reduce_one(const reducer *r, const float *x, int64_t sk, int64_t L) {
    double acc = r->init;
    for (int64_t k0 = 0; k0 < L; k0 += RB) {
        int64_t len = L - k0 < RB ? L - k0 : RB;
        acc = r->fold(acc, sk == 1 ? r->contig(x + k0, len) : r->strided(x + k0 * sk, sk, len));
    }
    return (float)acc;
}

typedef struct reduce_job {
    const reducer *r;
    const mt_omp_iter *it;
    const float *ad;
    float *od;
    int64_t sk, L, n_out;
    /* the shape-specific part */
    const float *x;    /* blocks: the current output's first input */
    int64_t b0;        /* blocks: the first block of this batch */
    double *bt;        /* blocks: their values */
    int64_t per;       /* outputs: outputs per item */
    int64_t tiles_per_row; /* tiles */
} reduce_job;

static int block_item(void *ctx, int64_t b) {
    const reduce_job *j = ctx;
    int64_t k0 = (j->b0 + b) * RB, len = j->L - k0 < RB ? j->L - k0 : RB;
    j->bt[b] = j->sk == 1 ? j->r->contig(j->x + k0, len)
                          : j->r->strided(j->x + k0 * j->sk, j->sk, len);
    return 0;
}

/* Few outputs, each a long reduction: the blocks of one output run in parallel and their values
 * are folded in order by the calling thread. */
static void reduce_blocks_parallel(reduce_job *j) {
    const reducer *r = j->r;
    int64_t index[MT_MAX_DIMS], pos[2];
    int64_t nblocks = (j->L + RB - 1) / RB;
    double bt[MAX_BLOCKS_BUF];
    j->bt = bt;
    mt_omp_iter_seek(j->it, 0, index, pos);
    for (int64_t o = 0; o < j->n_out; o++) {
        j->x = j->ad + pos[1];
        double acc = r->init;
        for (j->b0 = 0; j->b0 < nblocks; j->b0 += MAX_BLOCKS_BUF) {
            int64_t nb = nblocks - j->b0 < MAX_BLOCKS_BUF ? nblocks - j->b0 : MAX_BLOCKS_BUF;
            mt_omp_for(nb, true, block_item, j);
            for (int64_t b = 0; b < nb; b++) acc = r->fold(acc, bt[b]);
        }
        j->od[pos[0]] = (float)acc;
        if (o + 1 < j->n_out) mt_omp_iter_advance(j->it, 1, index, pos);
    }
}

/* Item c: the outputs [c per, (c + 1) per) in row-major order, one at a time. */
static int outputs_item(void *ctx, int64_t c) {
    const reduce_job *j = ctx;
    int64_t start = c * j->per, end = start + j->per < j->n_out ? start + j->per : j->n_out;
    int64_t index[MT_MAX_DIMS], pos[2];
    mt_omp_iter_seek(j->it, start, index, pos);
    for (int64_t o = start; o < end; o++) {
        j->od[pos[0]] = reduce_one(j->r, j->ad + pos[1], j->sk, j->L);
        if (o + 1 < end) mt_omp_iter_advance(j->it, 1, index, pos);
    }
    return 0;
}

/* Item w: TILE neighbouring outputs of one innermost row, whose inputs are contiguous. */
static int tile_item(void *ctx, int64_t w) {
    const reduce_job *j = ctx;
    const reducer *r = j->r;
    const mt_omp_iter *it = j->it;
    int64_t inner = it->shape[it->ndim - 1], sk = j->sk, L = j->L;
    int64_t row = w / j->tiles_per_row, t0 = (w % j->tiles_per_row) * TILE;
    int nt = inner - t0 < TILE ? (int)(inner - t0) : TILE;
    int64_t index[MT_MAX_DIMS], pos[2];
    mt_omp_iter_seek(it, row * inner + t0, index, pos);
    double acc[TILE], bt[TILE];
    for (int t = 0; t < nt; t++) acc[t] = r->init;
    for (int64_t k0 = 0; k0 < L; k0 += RB) {
        int64_t len = L - k0 < RB ? L - k0 : RB;
        r->tiled(j->ad + pos[1] + k0 * sk, sk, len, nt, bt);
        for (int t = 0; t < nt; t++) acc[t] = r->fold(acc[t], bt[t]);
    }
    int64_t so = it->strides[0][it->ndim - 1];
    for (int t = 0; t < nt; t++) j->od[pos[0] + t * so] = (float)acc[t];
    return 0;
}

mt_status mt_omp_reduce(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* a's shape with shape[dim] = 1 */
    const mt_tensor *a = args->src[0]; /* any layout */
    int dim = args->params.dim;
    if (args->op < MT_OP_SUM || args->op > MT_OP_MAX)
        return mt_fail(MT_ERR_ARG, "openmp reduce: '%s' is not a reduction", mt_op_name(args->op));
    if (dim < 0 || dim >= a->ndim || out->ndim != a->ndim)
        return mt_fail(MT_ERR_ARG, "openmp reduce: dim %d of a %d-dim input into a %d-dim output",
                       dim, a->ndim, out->ndim);
    const reducer *r = &REDUCERS[args->op - MT_OP_SUM];
    int64_t L = a->shape[dim], sk = L > 1 ? a->strides[dim] : 1;

    /* The outputs, walked with their first input: out's shape has 1 at dim, so it drops out. */
    mt_omp_iter it = {.ndim = out->ndim, .nops = 2};
    for (int d = 0; d < out->ndim; d++) {
        it.shape[d] = out->shape[d];
        it.strides[0][d] = out->strides[d];
        it.strides[1][d] = a->strides[d];
    }
    it.offset[0] = out->offset;
    it.offset[1] = a->offset;
    mt_omp_iter_coalesce(&it);

    reduce_job j = {.r = r, .it = &it, .ad = a->storage->data, .od = out->storage->data,
                    .sk = sk, .L = L, .n_out = mt_omp_iter_numel(&it)};
    bool parallel = j.n_out * L > MT_OMP_MIN_PARALLEL_WORK && !mt_omp_overlapping(out);
    int last = it.ndim - 1;
    int64_t inner = it.shape[last];

    if (parallel && j.n_out < MT_OMP_RED_PAR_MAX_OUT && L >= MT_OMP_RED_PAR_MIN_BLOCKS * RB) {
        reduce_blocks_parallel(&j);
    } else if (sk != 1 && it.strides[1][last] == 1 && inner >= MT_OMP_RED_TILED_MIN) { /* a vector of outputs */
        j.tiles_per_row = (inner + TILE - 1) / TILE;
        mt_omp_for(j.n_out / inner * j.tiles_per_row, parallel, tile_item, &j);
    } else {
        j.per = L >= ((int64_t)1 << 14) ? 1 : ((int64_t)1 << 14) / L; /* ~16K inputs per item */
        mt_omp_for((j.n_out + j.per - 1) / j.per, parallel, outputs_item, &j);
    }
    return MT_OK;
}
