/* Shared by the openmp convolution files: a convolution as products over a zero-padded source.
 *
 * Every conv op here multiplies a weight matrix by the lowering (im2col) of a source image: rows
 * r = (c, kh, kw) over the source's channels and the kernel's taps, columns the positions of a
 * grid, element (r, t) the source value grid position t reads through tap (kh, kw), zero where it
 * reads none:
 *   forward     source = input,     grid = output (Ho, Wo)
 *   back_input  source = grad_out,  grid = input (H, W)   (the inverse map: a gather)
 *   back_weight source = input,     grid = output, multiplied by grad_out.
 * The lowering is never built. A band of the source (some channels, the rows a band of grid rows
 * reads) is copied once into a zero-padded image P whose rows are Wp long, with the grid laid over
 * it at row pitch Wq; then row r of the lowering is the run
 *     lowering[r][t'] = P[rows[r] + t' * aw.mul],   t' = (th - th0) * Wq + tw,
 * a shifted view of P that the GEMM reads in place (mt_omp_mat with a row table). Grid columns
 * tw >= Tw of that pitch are not positions of the grid: products compute them and drop them
 * (forward, back_input) or multiply them by zeros (back_weight). */
#ifndef MT_OPENMP_CONV_H
#define MT_OPENMP_CONV_H
#include "openmp.h"

/* One spatial axis: grid position t reads the virtual source position
 *     v = t * mul + k * kdir + base      through tap k (kdir = 1 or -1),
 * which is source element v / div when div divides v and that lies inside the source, else zero.
 *   forward, PyTorch form:   mul = stride, kdir = 1,  base = -pad, div = 1
 *   forward, reverse form:   mul = 1,      kdir = -1, base = 0,    div = 1
 *   back_input, from forward f: mul = 1, kdir = -f.kdir, base = -f.base, div = f.mul
 * (back_input's virtual source is grad_out dilated by the stride: zeros between its elements). */
typedef struct mt_conv_axis {
    int64_t mul, kdir, base, div;
} mt_conv_axis;

typedef struct mt_conv_plan {
    const float *src;           /* (B, C, Hs, Ws) */
    int64_t sb, sc, sy, sx;     /* its strides */
    int64_t C, Hs, Ws, KH, KW;
    int64_t Th, Tw;             /* the grid */
    mt_conv_axis ah, aw;
    int64_t Wp, Wq;             /* P's row length; the grid's row pitch over it */
} mt_conv_plan;

/* Fills Wp and Wq (the rest set by the caller). */
void mt_conv_plan_init(mt_conv_plan *p);

/* A band: grid rows [th0, th1) of each of the images [b0, b0 + nimg) (several images only with
 * all their rows), copied into P channel by channel. A channel's plane holds plane_rows rows of Wp
 * floats, image i's from row i * img_rows; the band's positions are
 *     t' = (i * img_rows / ah.mul + th - th0) * Wq + tw,
 * up to the last image's last grid row's Tw: the rows between images, like the columns past Tw,
 * are dropped (or zero in back_weight's grad_out). */
typedef struct mt_conv_band {
    int64_t b0, nimg, th0, th1;
    int64_t img_rows;   /* rows of P the band's grid rows read (whole strides with several images) */
    int64_t plane_rows; /* nimg img_rows */
    int64_t n;          /* positions */
} mt_conv_band;

mt_conv_band mt_conv_band_of(const mt_conv_plan *p, int64_t b0, int64_t nimg, int64_t th0,
                             int64_t th1);

/* The position of grid row th of the band's image i (column 0). */
static inline int64_t mt_conv_band_pos(const mt_conv_plan *p, const mt_conv_band *bd, int64_t i,
                                       int64_t th) {
    return (i * (bd->img_rows / p->ah.mul) + th - bd->th0) * p->Wq;
}

/* P (c1 - c0 planes) <- channels [c0, c1) of the band's images, zero-padded. */
void mt_conv_pad_band(const mt_conv_plan *p, const mt_conv_band *bd, int64_t c0, int64_t c1,
                      float *P);

/* rows[r - r0] = offset in P (planes from channel c0) of lowering row r, r in [r0, r1). */
void mt_conv_band_rows(const mt_conv_plan *p, const mt_conv_band *bd, int64_t c0, int64_t r0,
                       int64_t r1, int64_t *rows);

/* A convolution computed directly (openmp_conv_direct.c): output (B, M, H, W) on the source's
 * grid, out[b][o][th][tw] = chain over r = (c, kh, kw) of w[o][r] * src[b][c][th + dh][tw + dw],
 * dh = dh0 + kh dhk, dw = dw0 + kw dwk, zero where that is outside the image: the forward and
 * back_input forms whose grid is the source's (stride 1, the output as large as the source). */
typedef struct mt_conv_direct {
    const float *src; /* (B, C, H W): each plane contiguous */
    int64_t sb, sc;
    const float *w; /* (M, C KH KW), row stride w_rs */
    int64_t w_rs;
    float *out; /* (B, M, H W): each plane contiguous */
    int64_t ob, oc;
    int64_t B, C, M, H, W, KH, KW;
    int64_t dh0, dhk, dw0, dwk;
} mt_conv_direct;

/* The direct kernel's shapes: up to DIRECT_MAX_M output channels and a chain of up to
 * DIRECT_MAX_R taps (mt_conv_direct_fits says the rest). */
#define DIRECT_MAX_M MT_OMP_DIRECT_MAX_M
#define DIRECT_SMALL_M MT_OMP_DIRECT_SMALL_M
#define DIRECT_MAX_R MT_OMP_DIRECT_MAX_R

/* Whether the direct kernel is built (AVX-512) and takes these shapes. */
bool mt_conv_direct_fits(const mt_conv_direct *d);
/* Runs it (on the team with `parallel`); 0, or non-zero when out of memory for its tables. Uses
 * the calling thread's CONV_PAD, CONV_OUT and CONV_ROWS workspace slots. */
int mt_conv_direct_run(const mt_conv_direct *d, bool parallel);

/* The direct weight gradient (openmp_conv_direct_weight.c), on the direct kernel's geometry:
 * gw[o][c][kh][kw] = sum over b and t of g[b][o][t] src[b][c][t + dh W + dw], the taps outside
 * the image skipped (both operands finite). */
typedef struct mt_conv_direct_weight {
    mt_conv_direct d; /* the geometry and src, the input; w and out unused, M = Cout */
    const float *g;   /* (B, M, H W): each plane contiguous */
    int64_t gb, gc;
    float *gw;        /* (M, C, KH, KW) at strides gws */
    int64_t gws[4];
} mt_conv_direct_weight;

/* Whether it is built (AVX-512) and takes these shapes. */
bool mt_conv_direct_weight_fits(const mt_conv_direct_weight *d);
/* Runs it (on the team with `parallel`); 0, or non-zero when out of memory for its tables. Uses
 * the calling thread's CONV_OUT and CONV_ROWS workspace slots. */
int mt_conv_direct_weight_run(const mt_conv_direct_weight *d, bool parallel);

#if defined(__AVX512F__)
/* The bound of the direct kernels' mask table (vectors x taps, 2 bytes each: 512 KiB). The
 * forward's table adds 3 zero entries per tap and a tap range per vector (2 entries), so its slot
 * holds at most nvec KK + 3 KK + 2 nvec entries (KK <= DIRECT_MAX_R): under 1.6 MiB. */
#define MT_CONV_DIRECT_MAX_MASKS ((int64_t)1 << 18)
/* masks by vector and tap, at strides vs and ks: masks[v vs + (kh KW + kw) ks] has lane l set when
 * position t = 16 v + l is in the image and tap (kh, kw) reads inside it (the geometry fields of d
 * only). */
void mt_conv_direct_masks(const mt_conv_direct *d, int64_t nvec, uint16_t *masks, int64_t vs,
                          int64_t ks);
#endif

#endif
