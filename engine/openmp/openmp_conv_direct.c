/* The direct convolution kernel (openmp_conv.h, mt_conv_direct): for small convolutions, whose
 * product through the lowering costs more in band copies, packing and dropped pitch columns than in
 * FMAs, each tile of output is computed straight from the source image, with no padded copy.
 *
 * An image's S = H W positions are taken flat, 16 to a vector: tap (kh, kw) of position t reads the
 * source at t + dh(kh) W + dw(kw), a contiguous run of the unpadded plane, loaded with the mask of
 * the lanes whose tap lands inside the image (row th + dh and column tw + dw both inside): the
 * others load zero, as the padded band of the product holds zeros there. A tile is up to 8 output
 * channels by up to 3 vectors of positions, its accumulators in registers over the whole chain;
 * each step of the chain (c, kh, kw) loads the tile's input runs and FMAs them with the broadcast
 * weights. The masks depend only on the geometry, so a table of them per (tap, vector) is built
 * once per call and shared by the images and the threads, with each vector's first and last tap
 * that reads inside the image: a tap's masks of consecutive vectors lie side by side (one 64-bit
 * load brings a tile's), and a tile steps only over the taps from its vectors' first to their last
 * (the image's top and bottom rows skip the taps above and below it).
 *
 * Bits: each output element is c = 0, then c = fmaf(w[o][r], x_r, c) for r = (c, kh, kw) in order,
 * x_r zero where the tap reads outside: the chain contract of the product path (openmp_conv.c),
 * zeros included, so both paths give the same bits for every shape (tests/test_openmp_conv.c
 * compares them). A tap skipped as all zeros is such an FMA whose product is zero: it leaves the
 * accumulator as it was, the accumulator never being -0 (it starts at +0 and an exact zero sum
 * rounds to +0) and the weights being finite (openmp_conv.c sends the others to the naive loops).
 * Without AVX-512 there is no direct kernel: the product path runs. */
#include "openmp_conv.h"

#include <omp.h>
#include <string.h>

#define PANEL 8 /* output channels per packed weight panel: a tile's most */

#if defined(__AVX512F__)
#include <immintrin.h>

/* The mask table is built per call on the calling thread (a 224 x 224 image with a 7 x 7 kernel
 * takes 150K of its MT_CONV_DIRECT_MAX_MASKS). */
#define DIRECT_L1_FLOATS MT_OMP_DIRECT_L1_FLOATS /* 48 KiB */

/* The zero masks past a mask table row's last vector, so that a 64-bit load at any vector stays
 * in its row. */
#define ROW_PAD 3

typedef struct direct_job {
    const mt_conv_direct *d;
    const float *wp;          /* (npanels, R, PANEL): the weight, zero rows past M */
    const uint16_t *masks;    /* (KK, mrs): row kk the masks of tap kk by vector, zeros past nvec */
    const uint16_t *taps;     /* (nvec, 2): vector v's first tap and one past its last that read
                                 inside the image (KK, 0 when none does) */
    const int64_t *offs;      /* (KK): tap (kh, kw)'s offset dh W + dw */
    int64_t full0, full1; /* vectors [full0, full1) read inside the image at taps 0 and KK - 1 */
    int64_t R, KK, nvec, mrs, chunk, nchunks;
} direct_job;

/* The masks of vectors v..v+3 at mk (16 bits each, vector v + i's at bit 16 i). */
static inline __attribute__((always_inline)) uint64_t load_masks(const uint16_t *mk) {
    uint64_t m;
    memcpy(&m, mk, sizeof m);
    return m;
}

/* Vector i's 16 masks of the 64 loaded. */
static inline __attribute__((always_inline)) __mmask16 mask_of(uint64_t m64, int i) {
#if defined(__AVX512BW__) /* one mask load, shifts within the mask registers (immediates) */
    __mmask64 m = _cvtu64_mask64(m64);
    return (__mmask16)(i == 0   ? _kshiftri_mask64(m, 0)
                       : i == 1 ? _kshiftri_mask64(m, 16)
                                : _kshiftri_mask64(m, 32));
#else
    return (__mmask16)(i == 0 ? m64 : i == 1 ? m64 >> 16 : m64 >> 32);
#endif
}

/* rows output channels x nv vectors at position t0 of one image: img (C planes, stride sc), wp a
 * panel (R, PANEL), mk the mask table at the tile's first vector (row stride mrs), offs (KK), out
 * (rows planes of stride oc) at t0; the chain runs taps [k0, k1) of each channel (one step per
 * (c, tap)); the first nst positions are stored. */
static inline __attribute__((always_inline)) void
tile_body(const direct_job *j, const float *img, const float *wp, const uint16_t *mk, int64_t k0,
          int64_t k1, float *out, int64_t nst, int mr, const int rows, const int nv) {
    const mt_conv_direct *d = j->d;
    const int64_t sc = d->sc, wstride = j->KK * PANEL, mrs = j->mrs, nk = k1 > k0 ? k1 - k0 : 0;
    const int64_t *offs = j->offs + k0;
    mk += k0 * mrs;
    wp += k0 * PANEL;
    __m512 acc[PANEL][3];
    _Pragma("GCC unroll 8") for (int i = 0; i < rows; i++)
        _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (int64_t c = 0; c < d->C; c++, wp += wstride) {
        const float *s = img + c * sc; /* the source plane at t0 */
        const float *w = wp;
        const uint16_t *m = mk;
        for (int64_t k = 0; k < nk; k++, w += PANEL, m += mrs) {
            const float *x = s + offs[k];
            uint64_t m64 = load_masks(m);
            __m512 xv[3];
            _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++)
                xv[v] = _mm512_maskz_loadu_ps(mask_of(m64, v), x + 16 * v);
            _Pragma("GCC unroll 8") for (int i = 0; i < rows; i++) {
                __m512 wb = _mm512_set1_ps(w[i]);
                _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++)
                    acc[i][v] = _mm512_fmadd_ps(wb, xv[v], acc[i][v]);
            }
        }
    }
    _Pragma("GCC unroll 8") for (int i = 0; i < rows; i++) {
        if (i >= mr) break;
        _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++) {
            float *o = out + i * d->oc + 16 * v;
            if (nst >= 16 * (v + 1))
                _mm512_storeu_ps(o, acc[i][v]);
            else
                _mm512_mask_storeu_ps(o, (__mmask16)((1u << (nst - 16 * v)) - 1), acc[i][v]);
        }
    }
}

/* One tile of mr <= PANEL rows and nv <= 3 vectors from vector v: the smallest row count that
 * covers mr. Its steps run over the taps from the first to the last that reads inside the image
 * for one of its vectors: the taps outside that range read zeros only (skipped: the same bits, see
 * the top). */
static void tile(const direct_job *j, const float *img, const float *wp, int64_t v, float *out,
                 int64_t nst, int mr, int nv) {
    const uint16_t *mk = j->masks + v;
    int64_t k0 = 0, k1 = j->KK;
    /* A branch, not the table, for the tiles in the image's middle: their first loads then wait for
     * no table load (measured: 15% of a 1-channel 28 x 28 call). */
    if (v < j->full0 || v + nv > j->full1) {
        const uint16_t *tp = j->taps + 2 * v;
        k0 = tp[0], k1 = tp[1];
        for (int i = 1; i < nv; i++) {
            k0 = k0 < tp[2 * i] ? k0 : tp[2 * i];
            k1 = k1 > tp[2 * i + 1] ? k1 : tp[2 * i + 1];
        }
        if (k1 <= k0) k0 = k1 = 0; /* every tap reads outside: no step */
    }
#define NV_CASES(rows)                                                                          \
    do {                                                                                        \
        if (nv == 3) tile_body(j, img, wp, mk, k0, k1, out, nst, mr, rows, 3);                  \
        else if (nv == 2) tile_body(j, img, wp, mk, k0, k1, out, nst, mr, rows, 2);             \
        else tile_body(j, img, wp, mk, k0, k1, out, nst, mr, rows, 1);                          \
    } while (0)
    if (mr > 4) NV_CASES(8);
    else if (mr > 2) NV_CASES(4);
    else if (mr > 1) NV_CASES(2);
    else NV_CASES(1);
#undef NV_CASES
}

/* Item q: vectors [chunk (q % nchunks), + chunk) of image q / nchunks, every output channel. */
static int direct_item(void *ctx, int64_t q) {
    const direct_job *j = ctx;
    const mt_conv_direct *d = j->d;
    int64_t b = q / j->nchunks, S = d->H * d->W;
    int64_t v0 = q % j->nchunks * j->chunk, v1 = v0 + j->chunk < j->nvec ? v0 + j->chunk : j->nvec;
    const float *img = d->src + b * d->sb; /* (C, S) */
    for (int64_t p = 0; p * PANEL < d->M; p++) {
        int mr = d->M - p * PANEL < PANEL ? (int)(d->M - p * PANEL) : PANEL;
        const float *wp = j->wp + p * j->R * PANEL;
        float *out = d->out + b * d->ob + p * PANEL * d->oc; /* (mr, S) */
        for (int64_t v = v0, nv; v < v1; v += nv) {
            nv = v1 - v == 4 ? 2 : v1 - v < 3 ? v1 - v : 3; /* 4 as 2 + 2, not 3 + 1 */
            int64_t t0 = 16 * v;
            tile(j, img + t0, wp, v, out + t0, S - t0, mr, (int)nv);
        }
    }
    return 0;
}

/* o (16, PANEL) <- the transpose of w (PANEL, 16) at row stride rs: 4 x 4 transposes within the
 * 128-bit lanes of rows 0-3 and 4-7, then the lanes into place. */
static inline void transpose_8x16(const float *w, int64_t rs, float *o) {
    __m512 a[PANEL], t[2][4], p[4], q[4];
    for (int i = 0; i < PANEL; i++) a[i] = _mm512_loadu_ps(w + i * rs);
    for (int g = 0; g < 2; g++) { /* t[g][c] lane L: rows 4g..4g+3 of column 4L + c */
        __m512d l01 = _mm512_castps_pd(_mm512_unpacklo_ps(a[4 * g], a[4 * g + 1]));
        __m512d h01 = _mm512_castps_pd(_mm512_unpackhi_ps(a[4 * g], a[4 * g + 1]));
        __m512d l23 = _mm512_castps_pd(_mm512_unpacklo_ps(a[4 * g + 2], a[4 * g + 3]));
        __m512d h23 = _mm512_castps_pd(_mm512_unpackhi_ps(a[4 * g + 2], a[4 * g + 3]));
        t[g][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(l01, l23));
        t[g][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(l01, l23));
        t[g][2] = _mm512_castpd_ps(_mm512_unpacklo_pd(h01, h23));
        t[g][3] = _mm512_castpd_ps(_mm512_unpackhi_pd(h01, h23));
    }
    for (int c = 0; c < 4; c++) { /* p: lanes 0, 1 of t[0][c] then of t[1][c]; q: lanes 2, 3 */
        p[c] = _mm512_shuffle_f32x4(t[0][c], t[1][c], _MM_SHUFFLE(1, 0, 1, 0));
        q[c] = _mm512_shuffle_f32x4(t[0][c], t[1][c], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c += 2) { /* columns 4L + c and 4L + c + 1, rows 0..7 each */
        _mm512_storeu_ps(o + (0 + c) * PANEL, _mm512_shuffle_f32x4(p[c], p[c + 1], _MM_SHUFFLE(2, 0, 2, 0)));
        _mm512_storeu_ps(o + (4 + c) * PANEL, _mm512_shuffle_f32x4(p[c], p[c + 1], _MM_SHUFFLE(3, 1, 3, 1)));
        _mm512_storeu_ps(o + (8 + c) * PANEL, _mm512_shuffle_f32x4(q[c], q[c + 1], _MM_SHUFFLE(2, 0, 2, 0)));
        _mm512_storeu_ps(o + (12 + c) * PANEL, _mm512_shuffle_f32x4(q[c], q[c + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    }
}

/* wp (npanels, R, PANEL) <- the weight, PANEL rows at a time, a panel's rows past M zero; whole
 * panels 16 columns at a time in registers (a strided copy an element at a time costs as much as
 * a tenth of a small call). */
static void pack_weight(const mt_conv_direct *d, int64_t R, int64_t npanels, float *wp) {
    for (int64_t p = 0; p < npanels; p++) {
        const float *w = d->w + p * PANEL * d->w_rs; /* (PANEL, R) at row stride w_rs */
        float *o = wp + p * R * PANEL;               /* (R, PANEL) */
        int64_t r = 0;
        if ((p + 1) * PANEL <= d->M)
            for (; r + 16 <= R; r += 16) transpose_8x16(w + r, d->w_rs, o + r * PANEL);
        for (; r < R; r++)
            for (int64_t i = 0; i < PANEL; i++)
                o[r * PANEL + i] = p * PANEL + i < d->M ? w[i * d->w_rs + r] : 0.0f;
    }
}

/* The mask table (openmp_conv.h). Lanes carry (th, tw) from vector to vector. */
void mt_conv_direct_masks(const mt_conv_direct *d, int64_t nvec, uint16_t *masks, int64_t vs,
                          int64_t ks) {
    const __m512i W = _mm512_set1_epi32((int)d->W), H = _mm512_set1_epi32((int)d->H);
    const __m512i one = _mm512_set1_epi32(1), step = _mm512_set1_epi32(16);
    __m512i tw = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i th = _mm512_setzero_si512();
    for (int64_t v = 0; v < nvec; v++, tw = _mm512_add_epi32(tw, step)) {
        for (__mmask16 m; (m = _mm512_cmpge_epi32_mask(tw, W));) { /* carry into th */
            tw = _mm512_mask_sub_epi32(tw, m, tw, W);
            th = _mm512_mask_add_epi32(th, m, th, one);
        }
        __mmask16 in = _mm512_cmplt_epi32_mask(th, H); /* lanes past the image's last position */
        for (int64_t kh = 0; kh < d->KH; kh++) {
            /* unsigned: th + dh < H and >= 0 in one compare */
            __m512i y = _mm512_add_epi32(th, _mm512_set1_epi32((int)(d->dh0 + kh * d->dhk)));
            __mmask16 rm = in & _mm512_cmplt_epu32_mask(y, H);
            for (int64_t kw = 0; kw < d->KW; kw++) {
                __m512i x = _mm512_add_epi32(tw, _mm512_set1_epi32((int)(d->dw0 + kw * d->dwk)));
                masks[v * vs + (kh * d->KW + kw) * ks] = rm & _mm512_cmplt_epu32_mask(x, W);
            }
        }
    }
}

/* Where the direct kernel beats the product (measured, one thread): a weight panel of at most
 * DIRECT_MAX_R floats per output channel (it stays in L1 while a tile runs its chain); a source image
 * that stays in L1 while each panel streams it, or few channels (few streams for the prefetcher,
 * as in a 3-channel 224 x 224 input layer); and, past DIRECT_SMALL_M output channels, images that
 * fill at least 7/8 of their vectors' lanes (the product packs short images end to end instead). */
bool mt_conv_direct_fits(const mt_conv_direct *d) {
    int64_t KK = d->KH * d->KW, S = d->H * d->W, nvec = (S + 15) / 16;
    return S < ((int64_t)1 << 30) && nvec * KK <= MT_CONV_DIRECT_MAX_MASKS &&
           d->M <= DIRECT_MAX_M && d->C * KK <= DIRECT_MAX_R && (d->C * S <= DIRECT_L1_FLOATS || d->C <= 4) &&
           (d->M <= DIRECT_SMALL_M || 8 * S >= 7 * 16 * nvec);
}

int mt_conv_direct_run(const mt_conv_direct *d, bool parallel) {
    int64_t KK = d->KH * d->KW, R = d->C * KK, S = d->H * d->W, nvec = (S + 15) / 16;
    int64_t npanels = (d->M + PANEL - 1) / PANEL;
    /* the calling thread's slots, which the direct items (on any thread) do not use */
    float *wp = mt_omp_workspace(MT_OMP_WS_CONV_PAD, npanels * R * PANEL * (int64_t)sizeof(float));
    int64_t mrs = nvec + ROW_PAD;
    uint16_t *masks = mt_omp_workspace(MT_OMP_WS_CONV_OUT, (KK * mrs + 2 * nvec) * (int64_t)sizeof(uint16_t));
    int64_t *offs = mt_omp_workspace(MT_OMP_WS_CONV_ROWS, KK * (int64_t)sizeof(int64_t));
    if (!wp || !masks || !offs) return 1;
    pack_weight(d, R, npanels, wp);
    uint16_t *taps = masks + KK * mrs; /* (nvec, 2) after the (KK, mrs) table */
    mt_conv_direct_masks(d, nvec, masks, 1, mrs);
    for (int64_t v = 0; v < nvec; v++) taps[2 * v] = (uint16_t)KK, taps[2 * v + 1] = 0;
    for (int64_t kk = 0; kk < KK; kk++) {
        uint16_t *row = masks + kk * mrs;
        memset(row + nvec, 0, ROW_PAD * sizeof(uint16_t));
        for (int64_t v = 0; v < nvec; v++)
            if (row[v]) { /* taps rise with kk: the first one seen is the first */
                if (taps[2 * v] == KK) taps[2 * v] = (uint16_t)kk;
                taps[2 * v + 1] = (uint16_t)(kk + 1);
            }
    }
    int64_t full0 = 0, full1 = 0; /* the first run of vectors with every tap, if any */
    while (full0 < nvec && (taps[2 * full0] != 0 || taps[2 * full0 + 1] != KK)) full0++;
    for (full1 = full0; full1 < nvec && taps[2 * full1] == 0 && taps[2 * full1 + 1] == KK;) full1++;
    for (int64_t kh = 0; kh < d->KH; kh++)
        for (int64_t kw = 0; kw < d->KW; kw++)
            offs[kh * d->KW + kw] = (d->dh0 + kh * d->dhk) * d->W + d->dw0 + kw * d->dwk;
    direct_job j = {.d = d, .wp = wp, .masks = masks, .taps = taps, .offs = offs, .full0 = full0,
                    .full1 = full1, .R = R, .KK = KK, .nvec = nvec, .mrs = mrs, .chunk = nvec,
                    .nchunks = 1};
    if (parallel) { /* enough items for the team: split images into runs of whole tiles */
        int64_t want = 2 * (int64_t)omp_get_max_threads();
        if (d->B < want) {
            int64_t tiles = (nvec + 2) / 3, split = (want + d->B - 1) / d->B;
            j.chunk = 3 * ((tiles + split - 1) / split);
            j.nchunks = (nvec + j.chunk - 1) / j.chunk;
        }
    }
    return mt_omp_for(d->B * j.nchunks, parallel, direct_item, &j);
}

#else

bool mt_conv_direct_fits(const mt_conv_direct *d) {
    (void)d;
    return false;
}

int mt_conv_direct_run(const mt_conv_direct *d, bool parallel) {
    (void)d;
    (void)parallel;
    return 1;
}

#endif
