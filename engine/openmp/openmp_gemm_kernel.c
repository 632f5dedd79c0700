/* The GEMM micro-kernels (contract in openmp_gemm.h), chosen at build time: AVX-512 intrinsics where
 * the compiler targets AVX-512, else portable C whose inner loop the compiler vectorises (fmaf
 * becomes a vector FMA where the target has one, a libm call where it does not: slow, never
 * different).
 *
 * One body serves every variant: A from a packed micro-panel or read in place through MR row
 * pointers, B from a packed micro-panel or read in place through a row offset per k. The variants
 * are that body with constant flags, so each compiles to its own loop; they differ only in where
 * the operands are loaded from, never in the arithmetic. */
#include "openmp_gemm.h"

#include <math.h>
#include <stdbool.h>
#include <stdalign.h>
#include <stddef.h>

#define MR MT_GEMM_MR
#define NR MT_GEMM_NR

#if defined(__AVX512F__)
#include <immintrin.h>

/* The first n of 16 lanes (all for n >= 16, none for n <= 0). */
static inline __mmask16 lane_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* MR rows x nv 16-float vectors: MR nv accumulators live in zmm registers for the whole k loop;
 * each k step is nv loads of b, MR broadcasts of a and MR nv FMAs. */
static inline __attribute__((always_inline)) void
tile_body(int64_t kc, const float *a, const float *const *arows, const float *b,
          const int64_t *boff, int nr, float *c, int64_t ldc, int accumulate, const int nv,
          const bool a_direct, const bool b_direct) {
    __m512 acc[MR][2];
    const float *ar[MR];
    /* B in place: the columns past nr are not read (masked loads give zeros) */
    __mmask16 bm[2] = {lane_mask(nr), lane_mask(nr - 16)};
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {
        ar[i] = a_direct ? arows[i] : a;
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            acc[i][v] = accumulate ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
    }
    /* packed panels advance by pointer (indexing by k compiles to a measurably slower loop) */
    _Pragma("GCC unroll 4") for (int64_t k = 0; k < kc; k++) {
        const float *bk = b_direct ? b + boff[k] : b;
        __m512 bv[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            bv[v] = b_direct ? _mm512_maskz_loadu_ps(bm[v], bk + 16 * v)
                             : _mm512_load_ps(bk + 16 * v);
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a_direct ? ar[i][k] : a[i]);
            _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        if (!a_direct) a += MR;
        if (!b_direct) b += NR;
    }
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}

/* Wide tiles for products of few rows: rows x nv vectors (rows nv = MR NR / 16 accumulators, as
 * the MR x NR tile), B read in place, A from a packed micro-panel of which only the first rows
 * are used; rows past mr are computed and not stored, columns past nc neither read nor written. */
static inline __attribute__((always_inline)) void
wide_body(int64_t kc, const float *a, int mr, const float *b, const int64_t *boff, int nc,
          float *c, int64_t ldc, int accumulate, const int rows, const int nv) {
    __m512 acc[4][16];
    __mmask16 m[16];
    _Pragma("GCC unroll 16") for (int v = 0; v < nv; v++) m[v] = lane_mask(nc - 16 * v);
    _Pragma("GCC unroll 4") for (int i = 0; i < rows; i++)
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; v++)
            acc[i][v] = accumulate && i < mr ? _mm512_maskz_loadu_ps(m[v], c + i * ldc + 16 * v)
                                             : _mm512_setzero_ps();
    _Pragma("GCC unroll 2") for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + boff[k];
        __m512 ai[4];
        _Pragma("GCC unroll 4") for (int i = 0; i < rows; i++) ai[i] = _mm512_set1_ps(a[i]);
        a += MR;
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; v++) {
            __m512 bv = _mm512_maskz_loadu_ps(m[v], bk + 16 * v);
            _Pragma("GCC unroll 4") for (int i = 0; i < rows; i++)
                acc[i][v] = _mm512_fmadd_ps(ai[i], bv, acc[i][v]);
        }
    }
    _Pragma("GCC unroll 4") for (int i = 0; i < rows; i++)
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; v++)
            if (i < mr) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, m[v], acc[i][v]);
}

void mt_omp_gemm_kernel_brows_wide(int64_t kc, const float *a, int mr, const float *b,
                                   const int64_t *boff, int nc, float *c, int64_t ldc,
                                   int accumulate) {
    /* whole tiles without masks (16 of them would not fit the 8 mask registers) */
    bool full = nc == MT_GEMM_WIDE_COLS(mr);
    /* a narrow product or edge: four vectors, not 16 mostly masked (1x10x64 with a transposed B:
     * 181 -> 157 ns) */
    if (mr <= 2 && nc <= 64)
        mr == 1 ? wide_body(kc, a, mr, b, boff, nc, c, ldc, accumulate, 1, 4)
                : wide_body(kc, a, mr, b, boff, nc, c, ldc, accumulate, 2, 4);
    else if (mr == 1)
        full ? wide_body(kc, a, mr, b, boff, 256, c, ldc, accumulate, 1, 16)
             : wide_body(kc, a, mr, b, boff, nc, c, ldc, accumulate, 1, 16);
    else if (mr == 2)
        full ? wide_body(kc, a, mr, b, boff, 128, c, ldc, accumulate, 2, 8)
             : wide_body(kc, a, mr, b, boff, nc, c, ldc, accumulate, 2, 8);
    else
        full ? wide_body(kc, a, mr, b, boff, 64, c, ldc, accumulate, 4, 4)
             : wide_body(kc, a, mr, b, boff, nc, c, ldc, accumulate, 4, 4);
}

/* Both operands read in place, for products too small to pay for packing: a tile of mr <= MR rows
 * by nr <= nv * 16 columns, element (i, k) of A at a[i * ars + k * acs], row k of B the nr floats
 * at b + k * ldb. Rows past mr re-read row mr - 1 (computed, not stored); columns past nr are
 * neither read nor written, so C needs no edge buffer. */
static inline __attribute__((always_inline)) void
direct_body(int64_t kc, const float *a, int64_t ars, int64_t acs, int mr, const float *b,
            int64_t ldb, int nr, float *c, int64_t ldc, int accumulate, const int nv) {
    __m512 acc[MR][2];
    const float *ar[MR];
    __mmask16 m[2] = {lane_mask(nr), lane_mask(nr - 16)};
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {
        ar[i] = a + (i < mr ? i : mr - 1) * ars;
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            acc[i][v] = accumulate && i < mr ? _mm512_maskz_loadu_ps(m[v], c + i * ldc + 16 * v)
                                             : _mm512_setzero_ps();
    }
    _Pragma("GCC unroll 4") for (int64_t k = 0; k < kc; k++) {
        __m512 bv[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            bv[v] = _mm512_maskz_loadu_ps(m[v], b + 16 * v);
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(*ar[i]);
            ar[i] += acs;
            _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        b += ldb;
    }
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)
            if (i < mr) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, m[v], acc[i][v]);
}

void mt_omp_gemm_kernel_direct(int64_t kc, const float *a, int64_t ars, int64_t acs, int mr,
                               const float *b, int64_t ldb, int nr, float *c, int64_t ldc,
                               int accumulate) {
    if (nr <= 16)
        direct_body(kc, a, ars, acs, mr, b, ldb, nr, c, ldc, accumulate, 1);
    else
        direct_body(kc, a, ars, acs, mr, b, ldb, nr, c, ldc, accumulate, 2);
}

/* Tall tiles for products of MR < mr <= 2 MR rows: 2 MR rows x 16 columns (MT_GEMM_TALL_COLS; 16
 * accumulators, as the MR x NR tile), so each row of B is loaded once for all rows. A from two
 * packed micro-panels. */
static inline __attribute__((always_inline)) void
tall_body(int64_t kc, const float *a, int mr, const float *b, const int64_t *boff, int nc,
          float *c, int64_t ldc, int accumulate) {
    __m512 acc[2 * MR];
    __mmask16 m = lane_mask(nc);
    const float *a0 = a, *a1 = a + kc * MR;
    _Pragma("GCC unroll 16") for (int i = 0; i < 2 * MR; i++)
        acc[i] = accumulate && i < mr ? _mm512_maskz_loadu_ps(m, c + i * ldc) : _mm512_setzero_ps();
    _Pragma("GCC unroll 2") for (int64_t k = 0; k < kc; k++) {
        __m512 bv = _mm512_maskz_loadu_ps(m, b + boff[k]);
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a0[i]), bv, acc[i]);
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)
            acc[MR + i] = _mm512_fmadd_ps(_mm512_set1_ps(a1[i]), bv, acc[MR + i]);
        a0 += MR;
        a1 += MR;
    }
    _Pragma("GCC unroll 16") for (int i = 0; i < 2 * MR; i++)
        if (i < mr) _mm512_mask_storeu_ps(c + i * ldc, m, acc[i]);
}

void mt_omp_gemm_kernel_brows_tall(int64_t kc, const float *a, int mr, const float *b,
                                   const int64_t *boff, int nc, float *c, int64_t ldc,
                                   int accumulate) {
    _Static_assert(MT_GEMM_TALL_COLS == 16, "a tall tile is one vector wide");
    if (nc == 16 && mr == 2 * MR) /* whole tiles: the masks and row tests fold away */
        tall_body(kc, a, 2 * MR, b, boff, 16, c, ldc, accumulate);
    else
        tall_body(kc, a, mr, b, boff, nc, c, ldc, accumulate);
}

/* The dot kernel's 16 accumulators v[4 i + j] (16 lanes each) reduced by the halving tree, lane l
 * += lane l + h for h = 8, 4, 2, 1, four vectors at a time: after the last stage lane 4 j + i holds
 * the sum of v[4 i + j]. Each stage pairs vectors X, Y holding groups of 2h lanes and leaves groups
 * of h: X's groups' halves added, then Y's. */
static inline __attribute__((always_inline)) __m512 halve(__m512 x, __m512 y, int stage) {
    switch (stage) {
    case 0: /* groups of 16 -> 8: 256-bit halves */
        return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xEE));
    case 1: /* 8 -> 4: 128-bit quarters */
        return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x88), _mm512_shuffle_f32x4(x, y, 0xDD));
    case 2: /* 4 -> 2, within 128-bit lanes */
        return _mm512_add_ps(_mm512_shuffle_ps(x, y, 0x44), _mm512_shuffle_ps(x, y, 0xEE));
    default: /* 2 -> 1 */
        return _mm512_add_ps(_mm512_shuffle_ps(x, y, 0x88), _mm512_shuffle_ps(x, y, 0xDD));
    }
}

void mt_omp_dot_kernel(int64_t kc, const float *const *a, const float *const *b, float *c,
                       int64_t ldc, int accumulate) {
    __m512 v[16]; /* every loop over v fully unrolled, so v lives in registers */
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) v[i] = _mm512_setzero_ps();
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    const float *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];
    /* whole blocks of 16 k, then the tail with zeros past kc (0 * 0 adds nothing) */
    for (int64_t k = 0; k < kc; k += 16) {
        __mmask16 m = kc - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (kc - k)) - 1);
        __m512 av[4], bv[4];
        if (m == 0xFFFF) {
            av[0] = _mm512_loadu_ps(a0 + k), av[1] = _mm512_loadu_ps(a1 + k);
            av[2] = _mm512_loadu_ps(a2 + k), av[3] = _mm512_loadu_ps(a3 + k);
            bv[0] = _mm512_loadu_ps(b0 + k), bv[1] = _mm512_loadu_ps(b1 + k);
            bv[2] = _mm512_loadu_ps(b2 + k), bv[3] = _mm512_loadu_ps(b3 + k);
        } else {
            av[0] = _mm512_maskz_loadu_ps(m, a0 + k), av[1] = _mm512_maskz_loadu_ps(m, a1 + k);
            av[2] = _mm512_maskz_loadu_ps(m, a2 + k), av[3] = _mm512_maskz_loadu_ps(m, a3 + k);
            bv[0] = _mm512_maskz_loadu_ps(m, b0 + k), bv[1] = _mm512_maskz_loadu_ps(m, b1 + k);
            bv[2] = _mm512_maskz_loadu_ps(m, b2 + k), bv[3] = _mm512_maskz_loadu_ps(m, b3 + k);
        }
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++)
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++)
                v[4 * i + j] = _mm512_fmadd_ps(av[i], bv[j], v[4 * i + j]);
    }
    __m512 s[8];
    _Pragma("GCC unroll 8") for (int q = 0; q < 8; q++) s[q] = halve(v[2 * q], v[2 * q + 1], 0);
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) s[q] = halve(s[2 * q], s[2 * q + 1], 1);
    _Pragma("GCC unroll 2") for (int q = 0; q < 2; q++) s[q] = halve(s[2 * q], s[2 * q + 1], 2);
    alignas(64) float r[16];
    _mm512_store_ps(r, halve(s[0], s[1], 3));
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + r[4 * j + i] : r[4 * j + i];
}

/* 16 rows of 16 floats transposed in registers: r[i] lane j becomes r[j] lane i. Four stages of
 * 16 shuffles: pairs of floats (unpack_ps), pairs of pairs (unpack_pd), then 128-bit quarters
 * twice (shuffle_f32x4). */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* t[4q + 0..3]: rows 4q..4q+3 as pairs; now quads: r[4q + e] holds, in 128-bit quarter l,
     * rows 4q..4q+3 of k = 4l + e */
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
        __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 1]);
        __m512d c = _mm512_castps_pd(t[4 * q + 2]), d = _mm512_castps_pd(t[4 * q + 3]);
        r[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* quarters: t[8h + e] (h: row groups 0-7 / 8-15) = quarters (k = e, e + 8) of rows 8h..8h+7;
     * t[8h + 4 + e] the same for k = e + 4, e + 12 */
    _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++)
        _Pragma("GCC unroll 4") for (int e = 0; e < 4; e++) {
            t[8 * h + e] = _mm512_shuffle_f32x4(r[8 * h + e], r[8 * h + 4 + e], 0x88);
            t[8 * h + 4 + e] = _mm512_shuffle_f32x4(r[8 * h + e], r[8 * h + 4 + e], 0xDD);
        }
    /* t[e'] (e' = 0..7, k = e' and e' + 8 across rows 0-7) with t[8 + e'] (rows 8-15) */
    _Pragma("GCC unroll 8") for (int e = 0; e < 8; e++) {
        r[e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0x88);
        r[8 + e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0xDD);
    }
}

/* One 16 x 16 block of mt_omp_gemm_pack_bt: rows (columns of B) past `rows` and k past kc read
 * as zeros; full blocks compile without masks. */
static inline __attribute__((always_inline)) void
pack_bt_block(const float *src, int64_t lds, int rows, int kc, float *dst, int64_t ldd,
              int64_t pf, const bool full) {
    __m512 r[16];
    __mmask16 km = full ? (__mmask16)0xFFFF : lane_mask(kc);
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) {
        if (full) {
            r[i] = _mm512_loadu_ps(src + i * lds);
        } else {
            r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + i * lds) : _mm512_setzero_ps();
        }
        if (pf && (full || i < rows)) __builtin_prefetch(src + i * lds + pf, 0, 3);
    }
    transpose16(r);
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++)
        if (full || i < kc) _mm512_storeu_ps(dst + i * ldd, r[i]);
}

void mt_omp_gemm_pack_bt(int64_t kc, const float *src, int64_t lds, int nr, int w, float *dst,
                         int64_t ldd, int64_t pf) {
    for (int j0 = 0; j0 < w; j0 += 16) {
        int rows = nr - j0 < 16 ? (nr - j0 > 0 ? nr - j0 : 0) : 16;
        const float *s = src + (int64_t)(rows > 0 ? j0 : 0) * lds; /* (rows, kc), rows of lds */
        for (int64_t k0 = 0; k0 < kc; k0 += 16) {
            int kb = kc - k0 < 16 ? (int)(kc - k0) : 16;
            if (rows == 16 && kb == 16)
                pack_bt_block(s + k0, lds, 16, 16, dst + k0 * ldd + j0, ldd, pf, true);
            else
                pack_bt_block(s + k0, lds, rows, kb, dst + k0 * ldd + j0, ldd, pf, false);
        }
    }
}

#define NV_WIDE (NR / 16)
#define NV_NARROW (MT_GEMM_NR_NARROW / 16)

#else

/* The portable body: the same chains, MR x NR scalars the compiler keeps in vector registers.
 * B in place: columns past nr are not read (they stay zero). */
static inline void tile_body(int64_t kc, const float *a, const float *const *arows,
                             const float *b, const int64_t *boff, int nr, float *c, int64_t ldc,
                             int accumulate, const int ncols, const bool a_direct,
                             const bool b_direct) {
    float acc[MR][NR];
    int nb = b_direct ? nr : NR;
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = accumulate && j < ncols ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b_direct ? b + boff[k] : b + k * NR;
        for (int i = 0; i < MR; i++) {
            float ai = a_direct ? arows[i][k] : a[k * MR + i];
#pragma omp simd
            for (int j = 0; j < nb; j++) acc[i][j] = fmaf(ai, bk[j], acc[i][j]);
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < ncols; j++) c[i * ldc + j] = acc[i][j];
}

void mt_omp_gemm_kernel_brows_wide(int64_t kc, const float *a, int mr, const float *b,
                                   const int64_t *boff, int nc, float *c, int64_t ldc,
                                   int accumulate) {
    int rows = mr == 1 ? 1 : 2;
    float acc[2][MR * NR];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < nc; j++) acc[i][j] = accumulate && i < mr ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + boff[k];
        for (int i = 0; i < rows; i++) {
            float ai = a[k * MR + i];
#pragma omp simd
            for (int j = 0; j < nc; j++) acc[i][j] = fmaf(ai, bk[j], acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nc; j++) c[i * ldc + j] = acc[i][j];
}

/* Tall tiles (see the AVX-512 version): the same chains, 2 MR rows by nc <= 16 columns. */
void mt_omp_gemm_kernel_brows_tall(int64_t kc, const float *a, int mr, const float *b,
                                   const int64_t *boff, int nc, float *c, int64_t ldc,
                                   int accumulate) {
    float acc[2 * MR][MT_GEMM_TALL_COLS];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nc; j++) acc[i][j] = accumulate ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + boff[k];
        for (int i = 0; i < mr; i++) {
            float ai = a[(i / MR) * kc * MR + k * MR + i % MR];
#pragma omp simd
            for (int j = 0; j < nc; j++) acc[i][j] = fmaf(ai, bk[j], acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nc; j++) c[i * ldc + j] = acc[i][j];
}

/* Both operands read in place (see the AVX-512 version): the same chains, only mr x nr of them. */
void mt_omp_gemm_kernel_direct(int64_t kc, const float *a, int64_t ars, int64_t acs, int mr,
                               const float *b, int64_t ldb, int nr, float *c, int64_t ldc,
                               int accumulate) {
    float acc[MR][NR];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) acc[i][j] = accumulate ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        for (int i = 0; i < mr; i++) {
            float ai = a[i * ars + k * acs];
#pragma omp simd
            for (int j = 0; j < nr; j++) acc[i][j] = fmaf(ai, bk[j], acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[i * ldc + j] = acc[i][j];
}

/* The dot kernel with the same order: lane l of each of the 16 sums takes k = l, l + 16, ... */
void mt_omp_dot_kernel(int64_t kc, const float *const *a, const float *const *b, float *c,
                       int64_t ldc, int accumulate) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float lane[16] = {0};
            for (int64_t k = 0; k < kc; k++) lane[k % 16] = fmaf(a[i][k], b[j][k], lane[k % 16]);
            for (int h = 8; h >= 1; h /= 2)
                for (int l = 0; l < h; l++) lane[l] += lane[l + h];
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + lane[0] : lane[0];
        }
}

/* The transposed copy (see openmp_gemm.h): a plain copy, the same values as the AVX-512 one. */
void mt_omp_gemm_pack_bt(int64_t kc, const float *src, int64_t lds, int nr, int w, float *dst,
                         int64_t ldd, int64_t pf) {
    (void)pf;
    for (int64_t k = 0; k < kc; k++)
        for (int j = 0; j < w; j++) dst[k * ldd + j] = j < nr ? src[j * lds + k] : 0.0f;
}

/* The portable body is not tuned for narrow tiles: it computes the whole tile width, and writes
 * (and, accumulating, reads) only the columns asked for. */
#define NV_WIDE NR
#define NV_NARROW MT_GEMM_NR_NARROW

#endif

void mt_omp_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int accumulate) {
    tile_body(kc, a, NULL, b, NULL, NR, c, ldc, accumulate, NV_WIDE, false, false);
}

void mt_omp_gemm_kernel_narrow(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               int accumulate) {
    tile_body(kc, a, NULL, b, NULL, NR, c, ldc, accumulate, NV_NARROW, false, false);
}

void mt_omp_gemm_kernel_brows(int64_t kc, const float *a, const float *b, const int64_t *boff,
                              int nr, float *c, int64_t ldc, int accumulate) {
    if (nr == NR) /* a constant nr: the masks fold away */
        tile_body(kc, a, NULL, b, boff, NR, c, ldc, accumulate, NV_WIDE, false, true);
    else
        tile_body(kc, a, NULL, b, boff, nr, c, ldc, accumulate, NV_WIDE, false, true);
}

void mt_omp_gemm_kernel_arows(int64_t kc, const float *const *arows, const float *b, float *c,
                              int64_t ldc, int accumulate) {
    tile_body(kc, NULL, arows, b, NULL, NR, c, ldc, accumulate, NV_WIDE, true, false);
}

void mt_omp_gemm_kernel_arows_narrow(int64_t kc, const float *const *arows, const float *b,
                                     float *c, int64_t ldc, int accumulate) {
    tile_body(kc, NULL, arows, b, NULL, NR, c, ldc, accumulate, NV_NARROW, true, false);
}
