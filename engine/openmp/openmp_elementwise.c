/* openmp map and zip: the output is cut into fixed chunks of row-major ordinals, each chunk owned by
 * one thread; inside a chunk the coalesced iterator hands out inner runs, and each run takes the
 * contiguous, scalar-broadcast or strided loop. When an operand is transposed against the others
 * (contiguous() of a transpose), bands of rows are walked in square tiles instead.
 *
 * The maths follows scalar_ops.h. Where float arithmetic gives the same bits as the naive
 * backend's double-then-round (+, *, /, sqrt, comparisons: double has more than 2p+2 bits, so
 * rounding twice is exact) it is done in float; sqrtf vectorises because these files are built with
 * -fno-math-errno (CMakeLists.txt). inv_back and is_close are done in double because their float
 * forms would round an intermediate; log and sigmoid_back use the vectorisable double-precision
 * functions of openmp_vmath.h (within 1 ulp of naive), exp and sigmoid the float32 ones of
 * openmp_vmath_f32.h (exp within 1 ulp, sigmoid within 3), whose runs give the same bits as their
 * scalar forms on every loop shape. Every element's value depends only on its inputs, so the
 * chunking cannot change any bit. */
#include "openmp.h"
#include "../scalar_ops.h"
#include "openmp_iter.h"
#include "openmp_vmath_f32.h"

#include <math.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Ordinals per chunk: large enough to amortise the seek, small enough to balance two threads on
 * a few hundred thousand elements. */
#define EW_CHUNK MT_OMP_EW_CHUNK
/* Tile edge for transposed operands: a 16 x 16 tile touches 16 cache lines per operand (one
 * 16-float vector each, which transpose_tile's shuffles are written for). With power-of-two row
 * strides those lines share one L1 set (12 ways here), so larger tiles evict their own lines; 16
 * measured fastest for a 1024 x 1024 transpose (8: +9%, 32: +30%, 64: x2.6). */
#define EW_TILE MT_OMP_EW_TILE

/* The loop shapes of an inner run for a map; EXPR reads x. */
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
        } else if (so == 1) { /* gathers; out cannot alias a strided a */                  \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                          \
                float x = a[i * sa];                                                       \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                              \
                float x = a[i * sa];                                                       \
                o[i * so] = (EXPR);                                                        \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* The loop shapes of an inner run for a zip; EXPR reads x (from a) and y (from b). */
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
        } else if (so == 1) { /* gathers; out can alias only an operand laid out like it */ \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                          \
                float x = a[i * sa], y = b[i * sb];                                        \
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
    case MT_OP_SIGMOID:
        if (sa == 1 && so == 1) mt_vm_sigmoidf_run(n, a, o);
        else mt_vm_sigmoidf_strided(n, a, sa, o, so);
        break;
    case MT_OP_LOG: MAP_RUN((float)mt_vm_logf_d(x)); break;
    case MT_OP_EXP:
        if (sa == 1 && so == 1) mt_vm_expf_run(n, a, o);
        else mt_vm_expf_strided(n, a, sa, o, so);
        break;
    case MT_OP_SQRT: MAP_RUN(sqrtf(x)); break;
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
    case MT_OP_SIGMOID_BACK: return MT_OMP_EW_COSTLY;
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

/* dst[i ds + c] <- src[c ss + i] for 0 <= i, c < EW_TILE: a tile transposed, as 16 row loads,
 * four rounds of 16 shuffles (pairs of floats, of doubles, then of 128-bit quarters twice) and
 * 16 row stores. */
static void transpose_tile(const float *src, int64_t ss, float *dst, int64_t ds) {
#if defined(__AVX512F__)
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ss);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)
        for (int h = 0; h < 2; h++) {
            __m512d lo = _mm512_castps_pd(t[i + h]), hi = _mm512_castps_pd(t[i + 2 + h]);
            r[i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
            r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
        }
    for (int i = 0; i < 16; i += 8)
        for (int k = 0; k < 4; k++) {
            t[i + k] = _mm512_shuffle_f32x4(r[i + k], r[i + 4 + k], 0x88);
            t[i + 4 + k] = _mm512_shuffle_f32x4(r[i + k], r[i + 4 + k], 0xDD);
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ds, r[i]);
#else
    for (int i = 0; i < EW_TILE; i++)
        for (int c = 0; c < EW_TILE; c++) dst[i * ds + c] = src[c * ss + i];
#endif
}

/* Tile element (i, c) is at t[i rs + c cs]; buf is the tile row-major (EW_TILE x EW_TILE). A
 * tile that steps by 1 down its rows (transposed against the output) moves by transpose_tile. */
static void tile_to_buffer(const float *t, int64_t rs, int64_t cs, float *buf) {
    if (rs == 1 && cs != 0 && cs != 1) {
        transpose_tile(t, cs, buf, EW_TILE);
    } else if (cs == 1) {
        for (int i = 0; i < EW_TILE; i++) memcpy(buf + i * EW_TILE, t + i * rs, EW_TILE * sizeof *t);
    } else {
        for (int i = 0; i < EW_TILE; i++)
            for (int c = 0; c < EW_TILE; c++) buf[i * EW_TILE + c] = t[i * rs + c * cs];
    }
}
static void buffer_to_tile(const float *buf, float *t, int64_t rs, int64_t cs) {
    if (rs == 1 && cs != 1) {
        transpose_tile(buf, EW_TILE, t, cs);
    } else if (cs == 1) {
        for (int i = 0; i < EW_TILE; i++) memcpy(t + i * rs, buf + i * EW_TILE, EW_TILE * sizeof *t);
    } else {
        for (int i = 0; i < EW_TILE; i++)
            for (int c = 0; c < EW_TILE; c++) t[i * rs + c * cs] = buf[i * EW_TILE + c];
    }
}

/* One full EW_TILE x EW_TILE tile: in[k] (k < nin) and o are the tile's first elements, rs and
 * cs their strides down the tile's rows and along them. The operands are moved into row-major
 * buffers (a transposed one by transpose_tile), the op runs once over the 256 contiguous
 * elements, and the result moves out the same way. Run by run instead, a transposed operand
 * touched a new cache line per element and each 16-element run paid a call: a transposed
 * (1024, 1024) copy took 600 us (14 GB/s). The elements and their operations are the same, so
 * are the bits; out may alias an operand laid out like it, as each buffer is filled before the
 * tile is written. */
static void ew_full_tile(mt_op op, int nin, const float *const in[2], const int64_t rs[2],
                         const int64_t cs[2], float *o, int64_t ors, int64_t ocs) {
    float buf[3][EW_TILE * EW_TILE] __attribute__((aligned(64))); /* (EW_TILE, EW_TILE) each */
    for (int k = 0; k < nin; k++) tile_to_buffer(in[k], rs[k], cs[k], buf[k]);
    if (nin == 2) zip_run(op, EW_TILE * EW_TILE, buf[0], 1, buf[1], 1, buf[2], 1);
    else map_run(op, EW_TILE * EW_TILE, buf[0], 1, buf[2], 1);
    buffer_to_tile(buf[2], o, ors, ocs);
}

/* Item w: a band of EW_TILE rows of the last two dims (all columns), walked tile by tile, for
 * operands where one is transposed relative to the others: row by row, its reads (or writes) would
 * touch a new cache line per element. Full tiles go through ew_full_tile; the band's partial
 * tiles run row by row. */
static int ew_band(void *ctx, int64_t w) {
    const ew_job *j = ctx;
    const mt_omp_iter *it = j->it;
    int nd = it->ndim, nin = j->bd ? 2 : 1;
    int64_t R = it->shape[nd - 2], C = it->shape[nd - 1], bands = (R + EW_TILE - 1) / EW_TILE;
    int64_t r0 = w % bands * EW_TILE, nr = R - r0 < EW_TILE ? R - r0 : EW_TILE;
    int64_t index[MT_MAX_DIMS], pos[MT_OMP_ITER_MAX_OPS];
    mt_omp_iter_seek(it, (w / bands * R + r0) * C, index, pos);
    const int64_t *so = it->strides[0], *sa = it->strides[1], *sb = it->strides[2];
    const int64_t rs[2] = {sa[nd - 2], j->bd ? sb[nd - 2] : 0};
    const int64_t cs[2] = {sa[nd - 1], j->bd ? sb[nd - 1] : 0};
    for (int64_t c0 = 0; c0 < C; c0 += EW_TILE) {
        int64_t nc = C - c0 < EW_TILE ? C - c0 : EW_TILE;
        float *ot = j->od + pos[0] + c0 * so[nd - 1];
        const float *in[2] = {j->ad + pos[1] + c0 * cs[0],
                              j->bd ? j->bd + pos[2] + c0 * cs[1] : NULL};
        if (nr == EW_TILE && nc == EW_TILE) {
            ew_full_tile(j->op, nin, in, rs, cs, ot, so[nd - 2], so[nd - 1]);
            continue;
        }
        for (int64_t i = 0; i < nr; i++) {
            if (j->bd)
                zip_run(j->op, nc, in[0] + i * rs[0], cs[0], in[1] + i * rs[1], cs[1],
                        ot + i * so[nd - 2], so[nd - 1]);
            else
                map_run(j->op, nc, in[0] + i * rs[0], cs[0], ot + i * so[nd - 2], so[nd - 1]);
        }
    }
    return 0;
}

/* True when some operand steps by 1 along the second-to-last dim but not along the last. */
static bool has_transposed_operand(const mt_omp_iter *it) {
    int nd = it->ndim;
    if (nd < 2) return false;
    for (int k = 0; k < it->nops; k++) {
        int64_t inner = it->strides[k][nd - 1];
        if (it->strides[k][nd - 2] == 1 && inner != 0 && inner != 1) return true;
    }
    return false;
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
    if (has_transposed_operand(&it)) {
        int64_t R = it.shape[it.ndim - 2], C = it.shape[it.ndim - 1];
        mt_omp_for(job.n / (R * C) * ((R + EW_TILE - 1) / EW_TILE), parallel, ew_band, &job);
    } else {
        mt_omp_for((job.n + EW_CHUNK - 1) / EW_CHUNK, parallel, ew_chunk, &job);
    }
    return MT_OK;
}

mt_status mt_omp_map(const mt_kernel_args *args) {
    if (args->op < MT_OP_NEG || args->op > MT_OP_SQRT)
        return mt_fail(MT_ERR_ARG, "openmp map: '%s' is not a map op", mt_op_name(args->op));
    return elementwise(args, 1);
}

mt_status mt_omp_zip(const mt_kernel_args *args) {
    if (args->op < MT_OP_ADD || args->op > MT_OP_SIGMOID_BACK)
        return mt_fail(MT_ERR_ARG, "openmp zip: '%s' is not a zip op", mt_op_name(args->op));
    return elementwise(args, 2);
}
