/* openmp convolutions: conv1d and conv2d, forward and both gradients, as the packed GEMM of
 * openmp_matmul.c (mt_omp_gemm) reading the lowering of a zero-padded band in place
 * (openmp_conv.h). A 1D conv is the 2D one with H = 1, as in the naive reference
 * (engine/naive/naive_conv.c), whose semantics these follow. With KK = KH KW and T = Ho Wo:
 *
 *   forward      out[b] (Cout, T)  = weight (Cout, Cin KK) @ lowering(input[b]) (Cin KK, T)
 *   back_input   gin[b] (Cin, HW)  = weight^T (Cin, Cout KK) @ lowering'(grad_out[b]) (Cout KK, HW)
 *   back_weight  gw^T (Cin KK, Cout) = sum over b of lowering(input[b]) (Cin KK, T) @ grad_out[b]^T
 *
 * Small forward and back_input convolutions whose grid is their source's (stride 1, the output as
 * large as the input: MiniTorch's forms, PyTorch's with "same" padding) run the direct kernel
 * instead (openmp_conv_direct.c: no band copy, no packing, no dropped columns), which computes the
 * same chains, so the same bits. On the same shapes back_weight runs the direct weight kernel
 * (openmp_conv_direct_weight.c), whose sums go in another order (defined there).
 *
 * back_input is a gather: each input element sums what it fed, through the inverse position map,
 * so it is a convolution of grad_out like the forward one and no element is scattered to. For
 * stride s > 1 its source is grad_out dilated by s, and its product spends s^2 times the useful
 * FMAs on those zeros (stride is a PyTorch extra here: MiniTorch's forms have stride 1).
 *
 * Determinism: each output element is computed by one thread, in an order fixed by the shapes:
 * the FMA chain over (c, kh, kw) for forward and back_input; for back_weight a double sum of
 * blocks of positions (weight_item), each block an FMA chain or, with few output channels, the
 * dot kernel's lane sums (openmp_gemm.h), the blocks cut from the bands that plan_bands cuts
 * from the shapes alone; or the direct weight kernel's lanes and tree. Channel chunks and bands split
 * a chain into consecutive calls that continue it (accumulate), the zeros of the padding and of
 * dropped pitch columns add exact zeros, and threads take whole output pieces (forward,
 * back_input: a band of rows of an image, or of whole images; back_weight: a block of gw's rows
 * (c, kh, kw) over the whole sum); so no bit depends on the thread count.
 *
 * Non-finite values: the definition (naive_conv.c) skips a tap that falls outside the source,
 * but the products above multiply it as a zero of the padding (or of a dropped position in
 * back_weight), and 0 * inf is NaN where the definition has inf or a number. So when an operand
 * that meets those zeros holds an inf or a NaN (forward and back_input: the weight; back_weight:
 * the input and grad_out), the op runs the reference loops instead: slow, but only for data that
 * has already overflowed, and it keeps every result the definition gives.
 *
 * Workspaces (openmp.h slots, per thread, kept between calls): the padded band, its row table, the
 * band's product before it is copied into the output (whose pitch has no dropped columns), and
 * for back_weight the band of grad_out laid out on the same pitch and gw^T; the calling thread
 * keeps the weight when it must be rearranged. Bands are sized to PAD_FLOATS and OUT_FLOATS, or
 * to one grid row where a row alone is larger. */
#include "openmp_conv.h"
#include "openmp_gemm.h"
#include "../naive/naive.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define PAD_FLOATS MT_OMP_CONV_PAD_FLOATS /* a padded band: 512 KiB */
#define OUT_FLOATS MT_OMP_CONV_OUT_FLOATS /* a band's product, or its grad_out: 512 KiB */
#define STACK_MAX_POS MT_OMP_CONV_STACK_MAX_POS             /* images up to which several go in one band */
#define DOT_MAX_M MT_OMP_CONV_DOT_MAX_M                  /* back_weight's Cout up to which the dot kernel is used */
#define DOT_KC MT_OMP_CONV_DOT_KC                    /* positions per dot-kernel pass: 4 + 4 rows of 2 KiB */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* This thread's workspace slot as n floats, or n offsets. */
static float *ws_floats(mt_omp_ws_slot slot, int64_t n) {
    return mt_omp_workspace(slot, n * (int64_t)sizeof(float));
}
static int64_t *ws_offsets(mt_omp_ws_slot slot, int64_t n) {
    return mt_omp_workspace(slot, n * (int64_t)sizeof(int64_t));
}

/* ------------------------------------------------------------------ geometry */
/* A tensor as (n0, n1, n2, n3): (B, C, W) as (B, C, 1, W). */
typedef struct view4 {
    float *p;
    int64_t n[4], s[4];
} view4;

static view4 as_view4(const mt_tensor *t) {
    view4 v = {t->storage->data + t->offset, {0}, {0}};
    for (int d = 0, src = 0; d < 4; d++) {
        if (t->ndim == 3 && d == 2) {
            v.n[d] = 1;
            v.s[d] = 0;
            continue;
        }
        v.n[d] = t->shape[src];
        v.s[d] = t->strides[src];
        src++;
    }
    return v;
}

/* The largest |x| of n floats at stride s, as bits: an inf or a NaN is >= 0x7f800000. Integer
 * compares vectorise (float ones with NaN would not), and a whole tensor is scanned per call. */
static uint32_t max_abs_bits(const float *x, int64_t n, int64_t s) {
    uint32_t top = 0;
    if (s == 1) {
#pragma omp simd reduction(max : top)
        for (int64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, x + i, sizeof u);
            u &= 0x7fffffffu;
            top = u > top ? u : top;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, x + i * s, sizeof u);
            u &= 0x7fffffffu;
            top = u > top ? u : top;
        }
    }
    return top;
}

/* Whether any element of v is an inf or a NaN (see the header comment). */
static bool has_nonfinite(const view4 *v) {
    const uint32_t inf = 0x7f800000u;
    if (v->s[3] == 1 && v->s[2] == v->n[3] && v->s[1] == v->n[2] * v->n[3] &&
        v->s[0] == v->n[1] * v->n[2] * v->n[3]) /* contiguous: one run */
        return max_abs_bits(v->p, v->n[0] * v->s[0], 1) >= inf;
    for (int64_t a = 0; a < v->n[0]; a++)
        for (int64_t b = 0; b < v->n[1]; b++)
            for (int64_t c = 0; c < v->n[2]; c++)
                if (max_abs_bits(v->p + a * v->s[0] + b * v->s[1] + c * v->s[2], v->n[3],
                                 v->s[3]) >= inf)
                    return true;
    return false;
}

/* Positions t = y * n3 + x sit at t * s3. */
static bool positions_merge(const view4 *v) { return v->n[2] == 1 || v->s[2] == v->n[3] * v->s[3]; }

/* The forward axes (input position of output position t through tap k) from the op params. */
static void forward_axes(const mt_kernel_args *args, mt_conv_axis *h, mt_conv_axis *w) {
    const mt_op_params *p = &args->params;
    if (p->reverse) {
        *h = *w = (mt_conv_axis){1, -1, 0, 1};
        return;
    }
    bool is_1d = args->out->ndim == 3; /* index 0 is conv1d's only axis, the W axis of (B,C,1,W) */
    *h = is_1d ? (mt_conv_axis){1, 1, 0, 1} : (mt_conv_axis){p->stride[0], 1, -p->pad[0], 1};
    int a = is_1d ? 0 : 1;
    *w = (mt_conv_axis){p->stride[a], 1, -p->pad[a], 1};
}

/* back_input's axis: the grad_out position that reads input position t through tap k. */
static mt_conv_axis inverse_axis(mt_conv_axis f) {
    return (mt_conv_axis){1, -f.kdir, -f.base, f.mul};
}

static mt_conv_plan plan_of(const view4 *src, int64_t KH, int64_t KW, int64_t Th, int64_t Tw,
                            mt_conv_axis ah, mt_conv_axis aw) {
    mt_conv_plan p = {.src = src->p, .sb = src->s[0], .sc = src->s[1], .sy = src->s[2],
                      .sx = src->s[3], .C = src->n[1], .Hs = src->n[2], .Ws = src->n[3],
                      .KH = KH, .KW = KW, .Th = Th, .Tw = Tw, .ah = ah, .aw = aw};
    mt_conv_plan_init(&p);
    return p;
}

/* The lowering is the source itself: a 1x1 kernel whose axes map t to t, over a source whose rows
 * continue one another, so row c of the lowering is channel c of the source at stride sx. */
static bool plan_is_identity(const mt_conv_plan *p) {
    const mt_conv_axis *a[2] = {&p->ah, &p->aw};
    for (int i = 0; i < 2; i++)
        if (a[i]->mul != 1 || a[i]->div != 1 || a[i]->base != 0) return false;
    return p->KH == 1 && p->KW == 1 && (p->Hs == 1 || p->sy == p->Ws * p->sx);
}

/* How a conv's grid is cut into bands: grid rows of one image, or whole images. */
typedef struct band_plan {
    int64_t rows;   /* grid rows per band: Th when bands are whole images */
    int64_t nbands; /* bands per image */
    int64_t imgs;   /* images per band: 1 unless rows == Th */
    int64_t ngroups;
    int64_t cch;    /* channels per padded copy */
} band_plan;

/* The largest bands whose product (m rows) fits OUT_FLOATS and whose padded copy of all channels
 * fits PAD_FLOATS (at least one grid row of one image): for small images (under STACK_MAX_POS
 * positions, where a product per image would cost more in calls than in FMAs) as many whole
 * images as fit, else as many rows of one image (stacked images also compute the KH - 1 rows
 * between them). Then, for `items` > 1, bands cut finer until there are that many. */
static band_plan plan_bands(const mt_conv_plan *p, int64_t m, int64_t B, int64_t items) {
    band_plan bp = {p->Th, 1, 1, B, 1};
    int64_t out_pos = OUT_FLOATS / max64(m, 1), pad_rows = PAD_FLOATS / max64(p->C * p->Wp, 1);
    mt_conv_band one = mt_conv_band_of(p, 0, 1, 0, p->Th), two = mt_conv_band_of(p, 0, 2, 0, p->Th);
    if (one.n > out_pos || one.plane_rows > pad_rows || one.n > STACK_MAX_POS) { /* rows */
        int64_t by_out = (out_pos - p->Tw) / p->Wq + 1;
        int64_t by_pad = (pad_rows - p->KH) / p->ah.mul + 1;
        bp.rows = max64(1, min64(p->Th, min64(by_out, by_pad)));
    } else { /* whole images: image k adds (two.n - one.n) positions and img_rows rows */
        int64_t by_out = (out_pos - one.n) / (two.n - one.n) + 1;
        int64_t by_pad = pad_rows / two.img_rows;
        bp.imgs = max64(1, min64(B, min64(by_out, by_pad)));
    }
    if (items > 1 && cdiv(B, bp.imgs) * cdiv(p->Th, bp.rows) < items) {
        bp.imgs = max64(1, min64(bp.imgs, B / items));
        if (bp.imgs == 1 && B * cdiv(p->Th, bp.rows) < items)
            bp.rows = max64(1, min64(bp.rows, cdiv(p->Th, cdiv(items, max64(B, 1)))));
    }
    bp.nbands = cdiv(p->Th, bp.rows);
    bp.ngroups = cdiv(B, bp.imgs);
    mt_conv_band bd = mt_conv_band_of(p, 0, bp.imgs, 0, bp.rows);
    bp.cch = max64(1, min64(p->C, PAD_FLOATS / (bd.plane_rows * p->Wp)));
    return bp;
}

/* Band q of a plan: group q / nbands of images, band q % nbands of their rows. */
static mt_conv_band band_at(const mt_conv_plan *p, const band_plan *bp, int64_t B, int64_t q) {
    int64_t b0 = q / bp->nbands * bp->imgs, th0 = q % bp->nbands * bp->rows;
    return mt_conv_band_of(p, b0, min64(bp->imgs, B - b0), th0, min64(p->Th, th0 + bp->rows));
}

/* Threads for a conv of this many FMAs: from 1M on (6-8 us on one core, counting the padding and
 * gathers around the FMAs; measured faster on 2 threads than on 1 from ~0.3M on when the team is
 * awake, so the margin covers a team that must be woken). */
static bool want_threads(int64_t fmas) {
    return omp_get_max_threads() > 1 && fmas > MT_OMP_CONV_MIN_PARALLEL_FMAS;
}

/* The weight w (Cout, Cin, KH, KW) as a row-major matrix: (Cout, Cin KK), or with transpose
 * (Cin, Cout KK), the weight back_input applies. Any strides in. */
static void gather_weight(const view4 *w, bool transpose, float *dst) {
    int64_t Cout = w->n[0], Cin = w->n[1], KH = w->n[2], KW = w->n[3], KK = KH * KW;
    for (int64_t o = 0; o < Cout; o++)
        for (int64_t i = 0; i < Cin; i++) {
            float *d = dst + (transpose ? i * Cout + o : o * Cin + i) * KK;
            const float *s = w->p + o * w->s[0] + i * w->s[1];
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    d[kh * KW + kw] = s[kh * w->s[2] + kw * w->s[3]];
        }
}

/* ------------------------------------------------------------------ forward and back_input */
/* out[b] (M, Th Tw) = w (M, C KK) @ lowering(src[b]), for every image b. */
typedef struct band_job {
    mt_conv_plan p;
    const float *w; /* (M, C KK), row stride w_rs */
    int64_t w_rs, M, B;
    view4 out;      /* (B, M, Th, Tw) */
    band_plan bp;
    bool identity;  /* the lowering is the source: no padded copy */
} band_job;

/* Item q: band q (band_at). */
static int band_item(void *ctx, int64_t q) {
    const band_job *j = ctx;
    const mt_conv_plan *p = &j->p;
    mt_conv_band bd = band_at(p, &j->bp, j->B, q);
    mt_conv_band big = mt_conv_band_of(p, 0, j->bp.imgs, 0, j->bp.rows); /* sizes the buffers */
    int64_t KK = p->KH * p->KW, M = j->M, n = bd.n, cch = j->bp.cch;
    /* the product goes to out in place when the band's positions are out's */
    bool direct = bd.nimg == 1 && (bd.th1 - bd.th0 == 1 || p->Wq == p->Tw) &&
                  positions_merge(&j->out);
    bool identity = j->identity && bd.nimg == 1;
    float *P = NULL;      /* (cch, plane_rows, Wp) */
    int64_t *rows = NULL; /* (cch KK) */
    if (!identity && (!(P = ws_floats(MT_OMP_WS_CONV_PAD, cch * big.plane_rows * p->Wp)) ||
                      !(rows = ws_offsets(MT_OMP_WS_CONV_ROWS, cch * KK))))
        return 1;
    float *c; /* (M, n): the band's product */
    int64_t rsc = n, csc = 1;
    if (direct) {
        c = j->out.p + bd.b0 * j->out.s[0] + bd.th0 * p->Tw * j->out.s[3];
        rsc = j->out.s[1];
        csc = j->out.s[3];
    } else if (!(c = ws_floats(MT_OMP_WS_CONV_OUT, M * big.n))) {
        return 1;
    }

    int64_t c0 = 0;
    do { /* once even without channels, so the output is written (zeros) */
        int64_t c1 = min64(p->C, c0 + cch);
        mt_omp_mat a = {j->w + c0 * KK, j->w_rs, 1, NULL}, bm;
        if (identity) {
            bm = (mt_omp_mat){p->src + bd.b0 * p->sb + c0 * p->sc + bd.th0 * p->Tw * p->sx, p->sc,
                              p->sx, NULL};
        } else {
            mt_conv_pad_band(p, &bd, c0, c1, P);
            mt_conv_band_rows(p, &bd, c0, c0 * KK, c1 * KK, rows);
            bm = (mt_omp_mat){P, 0, p->aw.mul, rows};
        }
        if (mt_omp_gemm(M, n, (c1 - c0) * KK, &a, &bm, c, rsc, csc, c0 > 0)) return 1;
        c0 = c1;
    } while (c0 < p->C);

    if (!direct) { /* the grid's rows out of the band's positions */
        const view4 *o = &j->out;
        for (int64_t i = 0; i < bd.nimg; i++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t th = bd.th0; th < bd.th1; th++) {
                    const float *s = c + m * n + mt_conv_band_pos(p, &bd, i, th);
                    float *d = o->p + (bd.b0 + i) * o->s[0] + m * o->s[1] + th * o->s[2];
                    if (o->s[3] == 1)
                        for (int64_t tw = 0; tw < p->Tw; tw++) d[tw] = s[tw];
                    else
                        for (int64_t tw = 0; tw < p->Tw; tw++) d[tw * o->s[3]] = s[tw];
                }
    }
    return 0;
}

/* The geometry the direct kernels take: stride 1, the grid the source's (the output as large as
 * the source), and the source's and the grid tensor's planes contiguous. */
static bool direct_geometry(const mt_conv_plan *p, const view4 *grid) {
    return p->ah.mul == 1 && p->aw.mul == 1 && p->ah.div == 1 && p->aw.div == 1 &&
           p->Th == p->Hs && p->Tw == p->Ws && p->sx == 1 && (p->Hs <= 1 || p->sy == p->Ws) &&
           positions_merge(grid) && grid->s[3] == 1;
}

/* The direct kernel's form of a job, when its grid is its source's (stride 1, the output as large
 * as the source) and both have contiguous planes. */
static bool direct_form(const band_job *j, mt_conv_direct *d) {
    const mt_conv_plan *p = &j->p;
    if (!direct_geometry(p, &j->out)) return false;
    *d = (mt_conv_direct){.src = p->src, .sb = p->sb, .sc = p->sc, .w = j->w, .w_rs = j->w_rs,
                          .out = j->out.p, .ob = j->out.s[0], .oc = j->out.s[1], .B = j->B,
                          .C = p->C, .M = j->M, .H = p->Hs, .W = p->Ws, .KH = p->KH, .KW = p->KW,
                          .dh0 = p->ah.base, .dhk = p->ah.kdir, .dw0 = p->aw.base,
                          .dwk = p->aw.kdir};
    return mt_conv_direct_fits(d);
}

static mt_status run_bands(band_job *j, const char *op) {
    const mt_conv_plan *p = &j->p;
    j->identity = plan_is_identity(p);
    bool parallel = want_threads(j->B * j->M * p->C * p->KH * p->KW * p->Th * p->Tw);
    mt_conv_direct d;
    if (direct_form(j, &d)) {
        if (mt_conv_direct_run(&d, parallel))
            return mt_fail(MT_ERR_OOM, "openmp %s: out of memory for the direct kernel's tables",
                           op);
        return MT_OK;
    }
    j->bp = plan_bands(p, j->M, j->B, parallel ? 2 * (int64_t)omp_get_max_threads() : 1);
    if (mt_omp_for(j->bp.ngroups * j->bp.nbands, parallel, band_item, j))
        return mt_fail(MT_ERR_OOM, "openmp %s: out of memory for the per-thread workspaces", op);
    return MT_OK;
}

mt_status mt_omp_conv(const mt_kernel_args *args) {
    view4 out = as_view4(args->out);   /* (B, Cout, Ho, Wo) */
    view4 in = as_view4(args->src[0]); /* (B, Cin, H, W) */
    view4 w = as_view4(args->src[1]);  /* (Cout, Cin, KH, KW) */
    const char *op = mt_op_name(args->op);
    if (has_nonfinite(&w)) return mt_naive_conv(args);
    int64_t R = w.n[1] * w.n[2] * w.n[3];
    band_job j = {.w = w.p, .w_rs = w.s[0], .M = out.n[1], .B = out.n[0], .out = out};
    if (!mt_is_contiguous(args->src[1])) {
        float *buf = ws_floats(MT_OMP_WS_CONV_WEIGHT, w.n[0] * R);
        if (!buf) return mt_fail(MT_ERR_OOM, "openmp %s: out of memory for the weight", op);
        gather_weight(&w, false, buf);
        j.w = buf;
        j.w_rs = R;
    }
    mt_conv_axis ah, aw;
    forward_axes(args, &ah, &aw);
    j.p = plan_of(&in, w.n[2], w.n[3], out.n[2], out.n[3], ah, aw);
    return run_bands(&j, op);
}

mt_status mt_omp_conv_back_input(const mt_kernel_args *args) {
    view4 gin = as_view4(args->out);  /* (B, Cin, H, W) */
    view4 g = as_view4(args->src[0]); /* (B, Cout, Ho, Wo) */
    view4 w = as_view4(args->src[1]); /* (Cout, Cin, KH, KW) */
    const char *op = mt_op_name(args->op);
    if (has_nonfinite(&w)) return mt_naive_conv_back_input(args);
    int64_t R = w.n[0] * w.n[2] * w.n[3];
    float *wt = ws_floats(MT_OMP_WS_CONV_WEIGHT, w.n[1] * R);
    if (!wt) return mt_fail(MT_ERR_OOM, "openmp %s: out of memory for the weight", op);
    gather_weight(&w, true, wt); /* (Cin, Cout KK) */
    mt_conv_axis fh, fw;
    forward_axes(args, &fh, &fw);
    band_job j = {.w = wt, .w_rs = R, .M = gin.n[1], .B = gin.n[0], .out = gin};
    j.p = plan_of(&g, w.n[2], w.n[3], gin.n[2], gin.n[3], inverse_axis(fh), inverse_axis(fw));
    return run_bands(&j, op);
}

/* ------------------------------------------------------------------ back_weight */
/* gw (M, C KK) as gw^T (C KK, M) = sum over images and bands of lowering(src[b]) @ g[b]^T. */
typedef struct weight_job {
    mt_conv_plan p;
    view4 g;  /* (B, M, Th, Tw) */
    view4 gw; /* (M, C, KH, KW) */
    int64_t B, M, R, npieces;
    band_plan bp; /* fixed by the shapes: the dot kernel's sums depend on the bands */
    bool dot;     /* the dot kernel instead of the GEMM (few output channels) */
} weight_job;

/* ct (nr, M) = lowering rows (nr, kc) @ G (M, kc)^T with the dot kernel, kc <= DOT_KC positions
 * (a tile's rows stay in L1); G's rows are ldg apart. */
static void dot_block(const float *P, const int64_t *rows, int64_t nr, const float *G, int64_t ldg,
                      int64_t M, int64_t kc, float *ct) {
    for (int64_t r = 0; r < nr; r += 4) {
        const float *ar[4], *br[4]; /* rows past the edge repeat the last: dropped */
        for (int i = 0; i < 4; i++) ar[i] = P + rows[min64(r + i, nr - 1)];
        for (int64_t o = 0; o < M; o += 4) {
            for (int i = 0; i < 4; i++) br[i] = G + min64(o + i, M - 1) * ldg;
            float *c = ct + r * M + o;
            if (r + 4 <= nr && o + 4 <= M) {
                mt_omp_dot_kernel(kc, ar, br, c, M, 0);
                continue;
            }
            float tmp[16];
            int mi = (int)min64(4, nr - r), mj = (int)min64(4, M - o);
            mt_omp_dot_kernel(kc, ar, br, tmp, 4, 0);
            for (int i = 0; i < mi; i++)
                for (int q = 0; q < mj; q++) c[i * M + q] = tmp[i * 4 + q];
        }
    }
}

/* G (M, n) <- grad_out at the band's positions, zeros at the dropped ones. */
static void gather_grad(const weight_job *j, const mt_conv_band *bd, float *G) {
    const mt_conv_plan *p = &j->p;
    const view4 *g = &j->g;
    int64_t n = bd->n;
    for (int64_t m = 0; m < j->M; m++) {
        float *row = G + m * n;
        int64_t t = 0; /* positions written so far */
        for (int64_t i = 0; i < bd->nimg; i++)
            for (int64_t th = bd->th0; th < bd->th1; th++) {
                int64_t t0 = mt_conv_band_pos(p, bd, i, th);
                for (; t < t0; t++) row[t] = 0.0f;
                const float *s = g->p + (bd->b0 + i) * g->s[0] + m * g->s[1] + th * g->s[2];
                if (g->s[3] == 1)
                    for (int64_t tw = 0; tw < p->Tw; tw++) row[t0 + tw] = s[tw];
                else
                    for (int64_t tw = 0; tw < p->Tw; tw++) row[t0 + tw] = s[tw * g->s[3]];
                t = t0 + p->Tw;
            }
    }
}

/* Piece q: gw's rows (c, kh, kw) in [r0, r1), whole micro-tiles of the product, over all the
 * images and positions. The sum runs in blocks of consecutive positions of a band
 * (MT_OMP_CONV_WEIGHT_BLOCK for the GEMM, DOT_KC for the dot kernel): each block's product starts
 * from zero in float (ct) and is added into a double accumulator (acc), so the float rounding
 * grows with the block, not with the B Th Tw terms of the whole sum (one FMA chain over
 * (64, 64, 56, 56)'s 200K positions was 20x OpenBLAS's error); gw is acc rounded once. The
 * blocks and their order are fixed by the shapes (plan_bands with one thread), so are the bits. */
static int weight_item(void *ctx, int64_t q) {
    const weight_job *j = ctx;
    const mt_conv_plan *p = &j->p;
    const band_plan *bp = &j->bp;
    int64_t KK = p->KH * p->KW, M = j->M, nb = cdiv(j->R, MT_GEMM_MR);
    int64_t r0 = nb * q / j->npieces * MT_GEMM_MR;
    int64_t r1 = min64(j->R, nb * (q + 1) / j->npieces * MT_GEMM_MR);
    if (r0 >= r1) return 0;
    mt_conv_band big = mt_conv_band_of(p, 0, bp->imgs, 0, bp->rows);
    float *ct = ws_floats(MT_OMP_WS_CONV_OUT, (r1 - r0) * M);
    float *P = ws_floats(MT_OMP_WS_CONV_PAD, bp->cch * big.plane_rows * p->Wp);
    int64_t *rows = ws_offsets(MT_OMP_WS_CONV_ROWS, bp->cch * KK);
    float *G = ws_floats(MT_OMP_WS_CONV_GRAD, M * big.n);
    double *acc = mt_omp_workspace(MT_OMP_WS_CONV_ACC, (r1 - r0) * M * (int64_t)sizeof(double));
    if (!ct || !P || !rows || !G || !acc) return 1;
    memset(acc, 0, sizeof(double) * (size_t)((r1 - r0) * M));
    const int64_t block = j->dot ? DOT_KC : MT_OMP_CONV_WEIGHT_BLOCK;

    for (int64_t c0 = r0 / KK, cend = (r1 - 1) / KK + 1; c0 < cend; c0 += bp->cch) {
        int64_t c1 = min64(cend, c0 + bp->cch);
        int64_t ra = max64(r0, c0 * KK), rb = min64(r1, c1 * KK); /* this chunk's rows */
        float *t = ct + (ra - r0) * M;                            /* (rb - ra, M) */
        double *s = acc + (ra - r0) * M;
        for (int64_t bq = 0; bq < bp->ngroups * bp->nbands; bq++) {
            mt_conv_band bd = band_at(p, bp, j->B, bq);
            mt_conv_pad_band(p, &bd, c0, c1, P);
            mt_conv_band_rows(p, &bd, c0, ra, rb, rows);
            gather_grad(j, &bd, G);
            for (int64_t k0 = 0; k0 < bd.n; k0 += block) {
                int64_t kc = min64(block, bd.n - k0);
                if (j->dot) {
                    dot_block(P + k0, rows, rb - ra, G + k0, bd.n, M, kc, t);
                } else {
                    mt_omp_mat a = {P + k0 * p->aw.mul, 0, p->aw.mul, rows};
                    mt_omp_mat bm = {G + k0, 1, bd.n, NULL};
                    if (mt_omp_gemm(rb - ra, M, kc, &a, &bm, t, M, 1, false)) return 1;
                }
                for (int64_t e = 0; e < (rb - ra) * M; e++) s[e] += t[e];
            }
        }
    }
    for (int64_t r = r0; r < r1; r++) {
        float *d = j->gw.p + r / KK * j->gw.s[1] + r / p->KW % p->KH * j->gw.s[2] +
                   r % p->KW * j->gw.s[3];
        for (int64_t m = 0; m < M; m++) d[m * j->gw.s[0]] = (float)acc[(r - r0) * M + m];
    }
    return 0;
}

/* The direct weight kernel's form of a job, on the direct kernel's geometry (direct_form): stride
 * 1, grad_out's grid the input's, both with contiguous planes. */
static bool direct_weight_form(const weight_job *j, mt_conv_direct_weight *dw) {
    const mt_conv_plan *p = &j->p;
    if (!direct_geometry(p, &j->g)) return false;
    *dw = (mt_conv_direct_weight){
        .d = {.src = p->src, .sb = p->sb, .sc = p->sc, .B = j->B, .C = p->C, .M = j->M,
              .H = p->Hs, .W = p->Ws, .KH = p->KH, .KW = p->KW, .dh0 = p->ah.base,
              .dhk = p->ah.kdir, .dw0 = p->aw.base, .dwk = p->aw.kdir},
        .g = j->g.p, .gb = j->g.s[0], .gc = j->g.s[1], .gw = j->gw.p,
        .gws = {j->gw.s[0], j->gw.s[1], j->gw.s[2], j->gw.s[3]}};
    return mt_conv_direct_weight_fits(dw);
}

mt_status mt_omp_conv_back_weight(const mt_kernel_args *args) {
    view4 gw = as_view4(args->out);    /* (Cout, Cin, KH, KW) */
    view4 in = as_view4(args->src[0]); /* (B, Cin, H, W) */
    view4 g = as_view4(args->src[1]);  /* (B, Cout, Ho, Wo) */
    const char *op = mt_op_name(args->op);
    if (has_nonfinite(&in) || has_nonfinite(&g)) return mt_naive_conv_back_weight(args);
    int64_t B = in.n[0], M = gw.n[0], R = gw.n[1] * gw.n[2] * gw.n[3];
    mt_conv_axis ah, aw;
    forward_axes(args, &ah, &aw);
    weight_job j = {.p = plan_of(&in, gw.n[2], gw.n[3], g.n[2], g.n[3], ah, aw), .g = g, .gw = gw,
                    .B = B, .M = M, .R = R};
    if (B * g.n[2] * g.n[3] == 0) { /* an empty sum */
        for (int64_t m = 0; m < M; m++)
            for (int64_t r = 0; r < R; r++)
                gw.p[m * gw.s[0] + r / (gw.n[2] * gw.n[3]) * gw.s[1] +
                     r / gw.n[3] % gw.n[2] * gw.s[2] + r % gw.n[3] * gw.s[3]] = 0.0f;
        return MT_OK;
    }
    bool parallel = want_threads(B * M * R * j.p.Th * j.p.Tw);
    mt_conv_direct_weight dw;
    if (direct_weight_form(&j, &dw)) {
        if (mt_conv_direct_weight_run(&dw, parallel))
            return mt_fail(MT_ERR_OOM, "openmp %s: out of memory for the direct kernel's tables",
                           op);
        return MT_OK;
    }
    /* bands: their grad_out (M rows) within OUT_FLOATS, as the forward's products */
    j.bp = plan_bands(&j.p, M, B, 1);
    j.dot = j.p.aw.mul == 1 && M <= DOT_MAX_M;
    /* pieces: each one's gw^T within OUT_FLOATS, and one per thread (every piece gathers all of
     * grad_out: more pieces would repeat that pass) */
    int64_t nb = cdiv(R, MT_GEMM_MR);
    int64_t nth = parallel ? omp_get_max_threads() : 1;
    j.npieces = min64(nb, max64(cdiv(R * M, OUT_FLOATS), nth));
    if (mt_omp_for(j.npieces, parallel, weight_item, &j))
        return mt_fail(MT_ERR_OOM, "openmp %s: out of memory for the per-thread workspaces", op);
    return MT_OK;
}
