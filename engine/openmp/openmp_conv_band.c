/* The zero-padded bands of the openmp convolutions (see openmp_conv.h). */
#include "openmp_conv.h"


/* The least k * kdir over taps [0, K): P's origin, so that every read is at row and column >= 0. */
static int64_t tap_origin(const mt_conv_axis *a, int64_t K) { return a->kdir < 0 ? -(K - 1) : 0; }

void mt_conv_plan_init(mt_conv_plan *p) {
    int64_t mw = p->aw.mul;
    /* the last position's furthest tap, rounded up so that a grid row is a whole number of
     * strides: Wq * aw.mul = ah.mul * Wp, and Wq >= Tw */
    p->Wp = ((p->Tw - 1) * mw + p->KW + mw - 1) / mw * mw;
    p->Wq = p->ah.mul * p->Wp / mw;
}

/* dst[0 .. n) <- the virtual positions v0, v0 + 1, ... of a source row (Ws elements, stride sx)
 * on axis a: element v / div where div divides v and it is inside, else zero. */
static void pad_row_strided(const float *row, int64_t sx, int64_t Ws, const mt_conv_axis *a,
                            int64_t v0, int64_t n, float *dst) {
    for (int64_t j = 0; j < n; j++) {
        int64_t v = v0 + j;
        dst[j] = v % a->div == 0 && v >= 0 && v / a->div < Ws ? row[v / a->div * sx] : 0.0f;
    }
}

/* The same for div = 1 and a contiguous row: zeros, a copy of [lo, hi), zeros. Rows are short
 * (tens of floats), so plain loops, not libc calls. */
static void pad_row(const float *restrict row, int64_t lo, int64_t hi, int64_t n,
                    float *restrict dst) {
    for (int64_t j = 0; j < lo; j++) dst[j] = 0.0f;
    for (int64_t j = lo; j < hi; j++) dst[j] = row[j];
    for (int64_t j = hi; j < n; j++) dst[j] = 0.0f;
}

mt_conv_band mt_conv_band_of(const mt_conv_plan *p, int64_t b0, int64_t nimg, int64_t th0,
                             int64_t th1) {
    int64_t mh = p->ah.mul, rows = (th1 - th0 - 1) * mh + p->KH; /* the rows the band reads */
    if (nimg > 1) rows = (rows + mh - 1) / mh * mh; /* images start on whole grid rows */
    mt_conv_band bd = {b0, nimg, th0, th1, rows, nimg * rows, 0};
    bd.n = mt_conv_band_pos(p, &bd, nimg - 1, th1 - 1) + p->Tw;
    return bd;
}

void mt_conv_pad_band(const mt_conv_plan *p, const mt_conv_band *bd, int64_t c0, int64_t c1,
                      float *P) {
    int64_t Wp = p->Wp, hb = (bd->th1 - bd->th0 - 1) * p->ah.mul + p->KH;
    int64_t vy0 = bd->th0 * p->ah.mul + p->ah.base + tap_origin(&p->ah, p->KH);
    int64_t vx0 = p->aw.base + tap_origin(&p->aw, p->KW);
    const mt_conv_axis *ah = &p->ah;
    /* for div = 1: the columns of P inside the source row, the same for every row */
    int64_t lo = -vx0 < 0 ? 0 : (-vx0 > Wp ? Wp : -vx0);
    int64_t hi = p->Ws - vx0 > Wp ? Wp : (p->Ws - vx0 < lo ? lo : p->Ws - vx0);
    bool plain = p->aw.div == 1 && p->sx == 1;
    for (int64_t c = c0; c < c1; c++)
        for (int64_t i = 0; i < bd->nimg; i++) {
            const float *plane = p->src + (bd->b0 + i) * p->sb + c * p->sc; /* (Hs, Ws) */
            float *img = P + ((c - c0) * bd->plane_rows + i * bd->img_rows) * Wp;
            for (int64_t py = 0; py < bd->img_rows; py++) {
                float *dst = img + py * Wp;
                int64_t v = vy0 + py;
                if (py >= hb || v % ah->div != 0 || v < 0 || v / ah->div >= p->Hs)
                    for (int64_t j = 0; j < Wp; j++) dst[j] = 0.0f;
                else if (plain) /* row + vx0 is the source row shifted to P's columns */
                    pad_row(plane + v / ah->div * p->sy + vx0, lo, hi, Wp, dst);
                else
                    pad_row_strided(plane + v / ah->div * p->sy, p->sx, p->Ws, &p->aw, vx0, Wp,
                                    dst);
            }
        }
}

void mt_conv_band_rows(const mt_conv_plan *p, const mt_conv_band *bd, int64_t c0, int64_t r0,
                       int64_t r1, int64_t *rows) {
    int64_t KK = p->KH * p->KW, oh = tap_origin(&p->ah, p->KH), ow = tap_origin(&p->aw, p->KW);
    for (int64_t c = r0 / KK, r = c * KK; r < r1; c++) /* r walks (c, kh, kw) in order */
        for (int64_t kh = 0; kh < p->KH; kh++) {
            int64_t row = ((c - c0) * bd->plane_rows + kh * p->ah.kdir - oh) * p->Wp - ow;
            for (int64_t kw = 0; kw < p->KW; kw++, r++)
                if (r >= r0 && r < r1) rows[r - r0] = row + kw * p->aw.kdir;
        }
}
