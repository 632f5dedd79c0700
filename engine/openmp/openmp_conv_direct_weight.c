/* The direct weight gradient (openmp_conv.h, mt_conv_direct_weight): for the small convolutions
 * the direct kernel takes (openmp_conv_direct.c: stride 1, the grid the source's, contiguous
 * planes), back_weight straight from the input and grad_out, with no band copy, no lowering and no
 * product, which cost more than the FMAs at these sizes:
 *     gw[o][c][kh][kw] = sum over images b and positions t of g[b][o][t] x[b][c][t + dh W + dw],
 * the taps that read outside the image skipped.
 *
 * An image's S positions are taken flat, 16 to a vector, as in the direct kernel: tap k = (kh, kw)
 * of the vector at t0 is the run x + t0 + dh W + dw loaded with the mask table's mask (zero where
 * the tap reads outside, or the position is past the image), grad_out's run at t0 loaded with the
 * image's tail mask on its last vector only (a masked load costs more). A block of gw is up to 4
 * output channels by up to 16 flat taps r = (c, kh, kw), one accumulator vector each, held in
 * registers over the whole sum: each step (b, vector) loads the block's grad_out runs and shifted
 * input runs and FMAs every pair.
 *
 * Bits: each gw element is the sum of 16 lanes; lane l keeps a total from +0 and, in blocks of
 * whole images of at least FLUSH_VECS vectors together (the last block what is left), a chain
 * from +0 per block:
 *     acc_l = fmaf(g[b][o][t], x_r(t), acc_l)   for t = 16 v + l, v = 0 .. nvec - 1,
 * b over the block's images (images outer, vectors inner), then total_l = total_l + acc_l: so the
 * rounding grows with a block (about 1024 positions), not with all B S positions (a chain over
 * B = 256 MNIST images would be 12544 terms). x_r(t) = 0 where tap r reads outside (or
 * t >= S, where g loads 0 too): a term that adds exactly nothing, since g is finite there
 * (openmp_conv.c sends inf and NaN operands to the reference loops) and a sum that starts at +0 is
 * never -0. Then the lanes are summed by a fixed tree: s1[i] = l[i] + l[i + 8] (i < 8),
 * s2[i] = s1[i] + s1[i + 4] (i < 4), s3[i] = s2[i] + s2[i + 2] (i < 2), gw = s3[0] + s3[1].
 * The order depends on S and B alone, not on the register blocking, nor on the threads: each
 * register block, all of its sum, is one item of one thread.
 * The step's masks are read at fixed offsets from a table by flat tap (built once per call from the
 * direct kernel's table by (kh, kw)) and its input runs from one pointer plus per-tap offsets, so
 * the inner loop holds no spilled pointers or mask indices: ~215-235 GFLOP/s on one core, the
 * forward's speed. Measured and left: building each shifted run from two aligned lines with a
 * permute (vpermt2ps) instead of a load across a cache line. A micro-benchmark of the 4 x 6 step
 * ran 175-200 GFLOP/s with the permutes against 245-275 with masked unaligned loads: on this core
 * the permute takes issue slots the FMAs need, and a masked load across a line costs little.
 * These are not the product path's bits (a double sum of blocks of positions); both
 * are within the float rounding of a sum of B S terms of the definition (tests/test_openmp_conv.c).
 * Without AVX-512 there is no direct weight kernel: the product path runs, whose bits differ in
 * the last places from this kernel's on the shapes it takes (both thread-invariant). */
#include "openmp_conv.h"

#include <omp.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>

#define MO_MAX 4  /* output channels per block */
/* vectors of positions per summed block: 1024 positions; the flush (an add per accumulator)
 * then costs about 1/64 of a step's FMAs */
#define FLUSH_VECS (MT_OMP_CONV_WEIGHT_BLOCK * 4 / 16)
#define NT_MAX 16 /* flat taps per block (with one output channel; MO NT <= 24, ntmax) */

typedef struct weight_job {
    const mt_conv_direct_weight *d;
    const uint16_t *masks; /* (nvec, R): flat tap r's mask (the mask table's of its (kh, kw)) */
    const int64_t *taps;   /* (2, R): flat tap r's offset in an image of x (c sc + dh W + dw),
                            * its offset in gw from an output channel's */
    int64_t KK, R, S, nvec, nob, nrb;
} weight_job;

/* Taps per block for mo output channels: the most whose accumulators, with the mo grad_out runs
 * and the input run, fit the 32 vector registers. */
static int ntmax(int mo) {
    static const int nt[MO_MAX + 1] = {0, 16, 12, 9, 6};
    return nt[mo];
}

/* The sum of a vector's lanes by the fixed tree of the header comment. */
static inline float lane_sum(__m512 a) {
    a = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, 0x4E));   /* lane i + lane i + 8 */
    a = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, 0xB1));   /* + i + 4 */
    a = _mm512_add_ps(a, _mm512_permute_ps(a, 0x4E));         /* + i + 2 */
    return _mm_cvtss_f32(_mm512_castps512_ps128(_mm512_add_ps(a, _mm512_permute_ps(a, 0xB1))));
}

/* One step of a block: the MO grad_out runs at g (row stride gc) times the NT taps' input runs
 * at x + xo[q] (masks mk[q]), into acc; `tail`: g's last vector, masked by gmask. */
static inline __attribute__((always_inline)) void
step(__m512 acc[MO_MAX][NT_MAX], const float *g, int64_t gc, const float *x, const int64_t *xo,
     const uint16_t *mk, __mmask16 gmask, const int MO, const int NT, const bool tail) {
    __m512 gv[MO_MAX]; /* a masked load only where needed: it costs more */
    _Pragma("GCC unroll 8") for (int i = 0; i < MO; i++)
        gv[i] = tail ? _mm512_maskz_loadu_ps(gmask, g + i * gc) : _mm512_loadu_ps(g + i * gc);
    _Pragma("GCC unroll 16") for (int q = 0; q < NT; q++) {
        __m512 xv = _mm512_maskz_loadu_ps(mk[q], x + xo[q]);
        _Pragma("GCC unroll 8") for (int i = 0; i < MO; i++)
            acc[i][q] = _mm512_fmadd_ps(gv[i], xv, acc[i][q]);
    }
}

/* The block of output channels [o0, o0 + MO) by flat taps [r0, r0 + NT). */
static inline __attribute__((always_inline)) void block_body(const weight_job *j, int64_t o0,
                                                              int64_t r0, const int MO,
                                                              const int NT) {
    const mt_conv_direct_weight *d = j->d;
    const int64_t R = j->R, gc = d->gc;
    const int64_t nfull = j->S / 16; /* vectors of positions all in the image */
    const __mmask16 gmask = (__mmask16)((1u << (j->S % 16)) - 1);
    const int64_t *gwo = j->taps + R + r0;
    int64_t xo[NT_MAX]; /* a copy the compiler may keep in registers */
    _Pragma("GCC unroll 16") for (int q = 0; q < NT; q++) xo[q] = j->taps[r0 + q];
    __m512 acc[MO_MAX][NT_MAX], total[MO_MAX][NT_MAX];
    _Pragma("GCC unroll 8") for (int i = 0; i < MO; i++)
        _Pragma("GCC unroll 16") for (int q = 0; q < NT; q++) acc[i][q] = total[i][q] =
            _mm512_setzero_ps();
    int64_t since = 0; /* vectors in the current block */
    for (int64_t b = 0; b < d->d.B; b++) {
        const float *g = d->g + b * d->gb + o0 * gc; /* (MO, S) */
        const float *x = d->d.src + b * d->d.sb;     /* (C, S) */
        const uint16_t *mk = j->masks + r0;          /* (nvec, NT) at row stride R */
        int64_t v = 0;
        for (; v < nfull; v++, mk += R, g += 16, x += 16)
            step(acc, g, gc, x, xo, mk, gmask, MO, NT, false);
        if (v < j->nvec) step(acc, g, gc, x, xo, mk, gmask, MO, NT, true);
        since += j->nvec;
        if (since < FLUSH_VECS && b + 1 < d->d.B) continue;
        since = 0;
        _Pragma("GCC unroll 8") for (int i = 0; i < MO; i++)
            _Pragma("GCC unroll 16") for (int q = 0; q < NT; q++) {
                total[i][q] = _mm512_add_ps(total[i][q], acc[i][q]);
                acc[i][q] = _mm512_setzero_ps();
            }
    }
    _Pragma("GCC unroll 8") for (int i = 0; i < MO; i++)
        _Pragma("GCC unroll 16") for (int q = 0; q < NT; q++)
            d->gw[(o0 + i) * d->gws[0] + gwo[q]] = lane_sum(total[i][q]);
}

#define ntmax_c(mo) ((mo) == 1 ? 16 : (mo) == 2 ? 12 : (mo) == 3 ? 9 : 6)
#define NT_CASE(MO, NT)                                                                         \
    case NT:                                                                                    \
        if (NT <= ntmax_c(MO)) block_body(j, o0, r0, MO, NT);                       \
        break;
#define NT_SWITCH(MO)                                                                           \
    switch (nt) {                                                                               \
        NT_CASE(MO, 1) NT_CASE(MO, 2) NT_CASE(MO, 3) NT_CASE(MO, 4) NT_CASE(MO, 5)              \
        NT_CASE(MO, 6) NT_CASE(MO, 7) NT_CASE(MO, 8) NT_CASE(MO, 9) NT_CASE(MO, 10)             \
        NT_CASE(MO, 11) NT_CASE(MO, 12) NT_CASE(MO, 13) NT_CASE(MO, 14) NT_CASE(MO, 15)         \
        NT_CASE(MO, 16)                                                                         \
    }

/* Item q: output-channel block q / nrb, tap block q % nrb (none when that block has fewer). The
 * blocks split M and R evenly: sizes differ by at most one. */
static int weight_item(void *ctx, int64_t q) {
    const weight_job *j = ctx;
    int64_t M = j->d->d.M, ob = q / j->nrb, rb = q % j->nrb;
    int64_t o0 = M * ob / j->nob, o1 = M * (ob + 1) / j->nob;
    int mo = (int)(o1 - o0);
    int64_t nrb = (j->R + ntmax(mo) - 1) / ntmax(mo);
    if (rb >= nrb) return 0;
    int64_t r0 = j->R * rb / nrb, r1 = j->R * (rb + 1) / nrb;
    int nt = (int)(r1 - r0);
    switch (mo) {
    case 1: NT_SWITCH(1); break;
    case 2: NT_SWITCH(2); break;
    case 3: NT_SWITCH(3); break;
    default: NT_SWITCH(4); break;
    }
    return 0;
}

/* Where it beats the product path (measured, one thread): the direct kernel's shapes with images
 * of up to MAX_S positions. Each block streams its grad_out and input planes over all the images;
 * past that (a 40 x 40 image: 5% slower, 64 x 64: 7%, 224 x 224: 20%) they come from L2 and the
 * product's bands win; at 32 x 32 both are even. Nor where a quarter of the lanes would be past
 * the image (conv1d (16,8,20) / (8,8,7): 5% slower). */
#define MAX_S MT_OMP_DIRECT_WEIGHT_MAX_S
bool mt_conv_direct_weight_fits(const mt_conv_direct_weight *d) {
    int64_t S = d->d.H * d->d.W, nvec = (S + 15) / 16;
    return S <= MAX_S && 4 * S >= 3 * 16 * nvec && mt_conv_direct_fits(&d->d);
}

int mt_conv_direct_weight_run(const mt_conv_direct_weight *d, bool parallel) {
    int64_t KK = d->d.KH * d->d.KW, S = d->d.H * d->d.W, nvec = (S + 15) / 16;
    /* the calling thread's slots, which the items (on any thread) do not use */
    int64_t R = d->d.C * KK;
    uint16_t *masks =
        mt_omp_workspace(MT_OMP_WS_CONV_OUT, nvec * (R + KK) * (int64_t)sizeof(uint16_t));
    int64_t *taps = mt_omp_workspace(MT_OMP_WS_CONV_ROWS, 2 * R * (int64_t)sizeof(int64_t));
    if (!masks || !taps) return 1;
    /* the table by (kh, kw) after the one by flat tap, which a block reads at fixed offsets */
    uint16_t *mkk = masks + nvec * R; /* (nvec, KK) */
    mt_conv_direct_masks(&d->d, nvec, mkk, KK, 1);
    for (int64_t v = 0; v < nvec; v++)
        for (int64_t c = 0; c < d->d.C; c++)
            memcpy(masks + v * R + c * KK, mkk + v * KK, (size_t)KK * sizeof(uint16_t));
    for (int64_t c = 0, r = 0; c < d->d.C; c++)
        for (int64_t kh = 0; kh < d->d.KH; kh++)
            for (int64_t kw = 0; kw < d->d.KW; kw++, r++) {
                taps[r] = c * d->d.sc + (d->d.dh0 + kh * d->d.dhk) * d->d.W + d->d.dw0 +
                          kw * d->d.dwk;
                taps[R + r] = c * d->gws[1] + kh * d->gws[2] + kw * d->gws[3];
            }
    weight_job j = {.d = d, .masks = masks, .taps = taps, .KK = KK, .R = R, .S = S,
                    .nvec = nvec, .nob = (d->d.M + MO_MAX - 1) / MO_MAX};
    /* the most tap blocks of any output-channel block: that of the widest */
    int mo_wide = (int)((d->d.M + j.nob - 1) / j.nob);
    j.nrb = (j.R + ntmax(mo_wide) - 1) / ntmax(mo_wide);
    return mt_omp_for(j.nob * j.nrb, parallel, weight_item, &j);
}

#else

bool mt_conv_direct_weight_fits(const mt_conv_direct_weight *d) {
    (void)d;
    return false;
}

int mt_conv_direct_weight_run(const mt_conv_direct_weight *d, bool parallel) {
    (void)d;
    (void)parallel;
    return 1;
}

#endif
