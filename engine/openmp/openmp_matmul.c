/* openmp batched matmul: (..., M, K) @ (..., K, N) -> (..., M, N) with broadcast batch dims, as a
 * packed, cache-blocked GEMM around the register-tiled micro-kernel of openmp_gemm_kernel.c.
 *
 * Loop nest (BLIS's): jc over NC columns of C; pc over KC steps of k, packing the KC x NC panel of
 * B into NR-wide micro-panels (L3-resident); ic over MC rows, packing the MC x KC block of A into
 * MR-high micro-panels (L2-resident); then every MR x NR tile, the inner loop walking A
 * micro-panels against one B micro-panel that stays in L1. Packing copies any strides (transposed,
 * permuted, broadcast operands) into the kernel's layout and zero-pads edge panels, so there is one
 * kernel; edge tiles of C go through a small aligned buffer.
 *
 * Threads take independent pieces of C: whole batch entries, or near-square blocks of rows and
 * columns of one product, each packed and computed by one thread with no barrier (a shared packed
 * panel would need one per k block, and a descheduled thread on a shared machine would stall the
 * whole team at each). Whatever the piece, each C element is the same chain of FMAs over k in
 * order (openmp_gemm.h), so the bits never depend on the thread count or the cut.
 *
 * Shapes the nest serves badly take other paths, each the same FMA chains (openmp_gemm.h): products
 * with a small B read both operands in place (no packing, no buffers); products of at most 2 MR
 * rows stream a row-major B in place, and a column-major B (x @ w^T) through L1-sized chunks
 * transposed in registers; products of one row block pack B in L2-sized blocks.
 *
 * Packing buffers: the calling thread's workspace slots (A block + B panel, openmp.h), allocated on
 * the thread's first product and reused by every later one.
 *
 * mt_omp_gemm is the same product for other kernels (the convolutions): one strided C = A B (+ C)
 * on the calling thread, which those kernels run inside their own parallel pieces. */
#include "openmp.h"
#include "openmp_gemm.h"
#include "openmp_iter.h"

#include <math.h>
#include <omp.h>
#include <stdalign.h>
#include <string.h>

#define MR MT_GEMM_MR
#define NR MT_GEMM_NR
#define KC MT_OMP_GEMM_KC                                  /* k steps per packed panel */
#define A_BUF_FLOATS ((int64_t)KC * MT_OMP_GEMM_A_ROWS)        /* A block: 256 KiB, half of a 1 MiB L2 */
#define NC MT_OMP_GEMM_NC                      /* columns per packed B panel (a multiple of NR) */
#define B_BUF_FLOATS ((int64_t)KC * NC)         /* B panel: 4 MiB, in L3 */
#define GEMM_MIN_PARALLEL_WORK MT_GEMM_MIN_PARALLEL_WORK
#define GEMM_MIN_PIECE_WORK MT_GEMM_MIN_PIECE_WORK

_Static_assert(NC % NR == 0, "B panels hold whole micro-panels");
_Static_assert(A_BUF_FLOATS / KC >= MR, "the A block holds at least one micro-panel");

/* ------------------------------------------------------------------ one product */
typedef struct gemm_args {
    int64_t M, N, K;
    mt_omp_mat a; /* (M, K) */
    mt_omp_mat b; /* (K, N) */
    float *c;     /* (M, N) */
    int64_t cs_m, cs_n;
} gemm_args;

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

static inline const float *row_of(const mt_omp_mat *m, int64_t i) {
    return m->p + (m->rows ? m->rows[i] : i * m->rs);
}

/* A micro-panel: rows [i0, i0 + mr) and k in [p0, p0 + kc) into dst[k][MR], rows past mr zero. */
static void pack_a(const gemm_args *g, int64_t i0, int mr, int64_t p0, int64_t kc, float *dst) {
    int64_t sk = g->a.cs;
    if (!g->a.rows && g->a.rs == 1 && mr == MR) { /* column-major A (a transposed view) */
        const float *src = g->a.p + i0 + p0 * sk;   /* straight copies */
        for (int64_t k = 0; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = src[k * sk + i];
        return;
    }
    const float *rows[MR]; /* rows past mr repeat the last one and are zeroed below */
    for (int i = 0; i < MR; i++) rows[i] = row_of(&g->a, i0 + (i < mr ? i : mr - 1)) + p0 * sk;
    if (sk == 1) { /* row-major A: MR sequential streams */
        for (int64_t k = 0; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = rows[i][k];
    } else {
        for (int64_t k = 0; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = rows[i][k * sk];
    }
    for (int64_t k = 0; mr < MR && k < kc; k++)
        for (int i = mr; i < MR; i++) dst[k * MR + i] = 0.0f;
}

/* A micro-panel of B: k in [p0, p0 + kc), columns [j0, j0 + nr) into dst[k][NR], columns past
 * nr zero. */
static void pack_b(const gemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr, float *dst) {
    int64_t sn = g->b.cs;
    if (!g->b.rows && g->b.rs == 1 && sn != 1) { /* column-major B (x @ w^T): along k */
        mt_omp_gemm_pack_bt(kc, g->b.p + p0 + j0 * sn, sn, nr, NR, dst, NR, 0);
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *src = row_of(&g->b, p0 + k) + j0 * sn;
        float *d = dst + k * NR;
        if (nr == NR && sn == 1) { /* row-major B: NR contiguous floats per k */
            for (int j = 0; j < NR; j++) d[j] = src[j];
            continue;
        }
        for (int j = 0; j < nr; j++) d[j] = src[j * sn];
        for (int j = nr; j < NR; j++) d[j] = 0.0f;
    }
}

/* The kc x nc block of B at (p0, j0) as micro-panels, dst[jr][k][NR]. A row-major B is read row by
 * row, runs of nc floats (not NR floats from each of kc rows, which memory serves far slower), the
 * next row's run prefetched while this one is copied (1.15x on the packing measured). */
#define PACK_PREFETCH_ROWS 2

static void pack_b_block(const gemm_args *g, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                         float *dst) {
    int64_t ps = NR * kc; /* floats per micro-panel */
    int64_t njr = (nc + NR - 1) / NR, full = nc / NR;
    if (g->b.rows || g->b.cs != 1 || full == 0) {
        for (int64_t jr = 0; jr < njr; jr++)
            pack_b(g, p0, kc, j0 + jr * NR, (int)min64(NR, nc - jr * NR), dst + jr * ps);
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *src = g->b.p + (p0 + k) * g->b.rs + j0; /* (nc) */
        for (int64_t j = 0; k + PACK_PREFETCH_ROWS < kc && j < nc; j += 16)
            __builtin_prefetch(src + PACK_PREFETCH_ROWS * g->b.rs + j, 0, 3);
        for (int64_t jr = 0; jr < full; jr++) {
            float *d = dst + jr * ps + k * NR;
            for (int j = 0; j < NR; j++) d[j] = src[jr * NR + j];
        }
    }
    if (full < njr)
        pack_b(g, p0, kc, j0 + full * NR, (int)(nc - full * NR), dst + full * ps);
}

/* Where a tile's operands come from: packed micro-panels, or rows read in place. */
typedef struct tile_src {
    const float *a;            /* packed A micro-panel, or NULL with arows */
    const float *const *arows; /* MR row pointers, at the tile's first k */
    const float *b;            /* packed B micro-panel, or the tile's first column with boff */
    const int64_t *boff;       /* row offsets from b, from the tile's first k */
    int nr;                    /* B's columns inside the product (read in place: only these) */
} tile_src;

static void run_kernel(const tile_src *s, int64_t kc, float *c, int64_t ldc, int accumulate,
                       bool narrow) {
    if (s->arows)
        (narrow ? mt_omp_gemm_kernel_arows_narrow : mt_omp_gemm_kernel_arows)(kc, s->arows, s->b,
                                                                              c, ldc, accumulate);
    else if (s->boff)
        mt_omp_gemm_kernel_brows(kc, s->a, s->b, s->boff, s->nr, c, ldc, accumulate);
    else
        (narrow ? mt_omp_gemm_kernel_narrow : mt_omp_gemm_kernel)(kc, s->a, s->b, c, ldc,
                                                                  accumulate);
}

/* One MR x NR tile of C at (i0, j0), mr x nr of it inside C. */
static void gemm_tile(const gemm_args *g, const tile_src *s, int64_t kc, int64_t i0, int64_t j0,
                      int mr, int nr, int accumulate) {
    float *c = g->c + i0 * g->cs_m + j0 * g->cs_n;
    if (mr == MR && nr == NR && g->cs_n == 1) {
        run_kernel(s, kc, c, g->cs_m, accumulate, false);
        return;
    }
    alignas(64) float tmp[MR * NR];
    if (accumulate) { /* the padding part is computed and dropped; zeros keep it defined */
        memset(tmp, 0, sizeof tmp);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) tmp[i * NR + j] = c[i * g->cs_m + j * g->cs_n];
    }
    run_kernel(s, kc, tmp, NR, accumulate, nr <= MT_GEMM_NR_NARROW);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[i * g->cs_m + j * g->cs_n] = tmp[i * NR + j];
}

/* C = A B (+ C with accumulate) on the calling thread, with its own packing buffers. Operands
 * given by row tables with contiguous rows are read in place (B first: its panel would be packed
 * once per k block, A's block once per k block and row block). */
static void gemm_run(const gemm_args *g, float *abuf, float *bbuf, int accumulate) {
    bool b_direct = g->b.rows && g->b.cs == 1;
    bool a_direct = !b_direct && g->a.rows && g->a.cs == 1;
    for (int64_t jc = 0; jc < g->N; jc += NC) {
        int64_t nc = min64(NC, g->N - jc), njr = (nc + NR - 1) / NR;
        for (int64_t pc = 0; pc < g->K; pc += KC) {
            int64_t kc = min64(KC, g->K - pc);
            for (int64_t jr = 0; !b_direct && jr < njr; jr++)
                pack_b(g, pc, kc, jc + jr * NR, (int)min64(NR, nc - jr * NR), bbuf + jr * NR * kc);
            int64_t mc_max = A_BUF_FLOATS / kc / MR * MR;
            for (int64_t ic = 0; ic < g->M; ic += mc_max) {
                int64_t mc = min64(mc_max, g->M - ic), nir = (mc + MR - 1) / MR;
                for (int64_t ir = 0; !a_direct && ir < nir; ir++)
                    pack_a(g, ic + ir * MR, (int)min64(MR, mc - ir * MR), pc, kc,
                           abuf + ir * MR * kc);
                /* few rows, B in place: wide tiles (the same chains) */
                if (b_direct && g->M <= MT_GEMM_WIDE_MAX_ROWS && g->cs_n == 1) {
                    for (int64_t jw = 0, cols = MT_GEMM_WIDE_COLS(g->M); jw < nc; jw += cols)
                        mt_omp_gemm_kernel_brows_wide(kc, abuf, (int)g->M, g->b.p + jc + jw,
                                                      g->b.rows + pc, (int)min64(cols, nc - jw),
                                                      g->c + jc + jw, g->cs_m,
                                                      accumulate || pc > 0);
                    continue;
                }
                /* the inner loop walks A micro-panels against one B micro-panel held in L1 */
                for (int64_t jr = 0; jr < njr; jr++) {
                    int nr = (int)min64(NR, nc - jr * NR);
                    tile_src s = {.nr = nr};
                    if (b_direct) {
                        s.b = g->b.p + jc + jr * NR;
                        s.boff = g->b.rows + pc;
                    } else {
                        s.b = bbuf + jr * NR * kc;
                    }
                    for (int64_t ir = 0; ir < nir; ir++) {
                        int mr = (int)min64(MR, mc - ir * MR);
                        const float *rows[MR];
                        if (a_direct) { /* rows past mr repeat the last: computed, dropped */
                            for (int i = 0; i < MR; i++)
                                rows[i] = row_of(&g->a, ic + ir * MR + (i < mr ? i : mr - 1)) + pc;
                            s.arows = rows;
                        } else {
                            s.a = abuf + ir * MR * kc;
                        }
                        gemm_tile(g, &s, kc, ic + ir * MR, jc + jr * NR, mr, nr,
                                  accumulate || pc > 0);
                    }
                }
            }
        }
    }
}

/* Products whose B is small run on mt_omp_gemm_kernel_direct, nothing packed: packing both
 * operands, the edge buffer and the workspace lookups cost more than the FMAs of a tiny product
 * (two thirds of a 16x64x10 one's time), and up to 128 KiB of B (L2) they still cost more than the
 * unaligned, strided loads they save (1.1-1.5x on 16..256-row products measured). The exception:
 * B rows a multiple of 4 KiB apart all fall in the same L1 sets and alias stores, and the direct
 * path loses (0.8x at 1024x32x1024). The same chains as the packed path. */
#define DIRECT_MAX_B_FLOATS MT_OMP_GEMM_DIRECT_MAX_B

static bool direct_fits(const gemm_args *g) {
    return !g->a.rows && !g->b.rows && g->b.cs == 1 && g->cs_n == 1 &&
           g->K * g->N <= DIRECT_MAX_B_FLOATS && (g->K == 1 || g->b.rs % 1024 != 0);
}

/* The tile of C at (i0, j0), read in place. */
static void direct_tile(const gemm_args *g, int64_t i0, int64_t j0, int accumulate) {
    mt_omp_gemm_kernel_direct(g->K, g->a.p + i0 * g->a.rs, g->a.rs, g->a.cs,
                              (int)min64(MR, g->M - i0), g->b.p + j0, g->b.rs,
                              (int)min64(NR, g->N - j0), g->c + i0 * g->cs_m + j0, g->cs_m,
                              accumulate);
}

/* B strips of NR columns outer, so each strip is read from memory once and from L1 after. A B that
 * fits L1 whole (DIRECT_L1_B_FLOATS) stays there in any order: then rows of tiles outer, so C is
 * written row after row instead of in NR-wide strips down all M rows (a page per row: an outer
 * product (4096,1) @ (1,4096) took 6.1 ms by strips against 4.6 ms for OpenBLAS). */
#define DIRECT_L1_B_FLOATS MT_OMP_GEMM_DIRECT_L1_B

static void gemm_direct(const gemm_args *g, int accumulate) {
    if (g->K * g->N <= DIRECT_L1_B_FLOATS) {
        for (int64_t i0 = 0; i0 < g->M; i0 += MR)
            for (int64_t j0 = 0; j0 < g->N; j0 += NR) direct_tile(g, i0, j0, accumulate);
        return;
    }
    for (int64_t j0 = 0; j0 < g->N; j0 += NR)
        for (int64_t i0 = 0; i0 < g->M; i0 += MR) direct_tile(g, i0, j0, accumulate);
}

/* Few rows (one A block) times a wide B: each A block is packed once per k block, and B in
 * L2-sized blocks of NC_FEW columns. With one row block a packed B panel serves it once, so a large
 * panel (NC) buys no reuse; it only spills to L3 between its packing and its use (1.2-1.4x on
 * 64x4096x4096 and 256x1024x4096 measured). */
#define NC_FEW MT_OMP_GEMM_NC_FEW

static bool few_rows(const gemm_args *g) {
    return g->M <= A_BUF_FLOATS / KC && g->N > NC_FEW && !g->a.rows && !g->b.rows;
}

static void gemm_run_few_rows(const gemm_args *g, float *abuf, float *bbuf, int accumulate) {
    int64_t nir = (g->M + MR - 1) / MR;
    for (int64_t pc = 0; pc < g->K; pc += KC) {
        int64_t kc = min64(KC, g->K - pc);
        for (int64_t ir = 0; ir < nir; ir++)
            pack_a(g, ir * MR, (int)min64(MR, g->M - ir * MR), pc, kc, abuf + ir * MR * kc);
        for (int64_t jc = 0; jc < g->N; jc += NC_FEW) {
            int64_t nc = min64(NC_FEW, g->N - jc), njr = (nc + NR - 1) / NR;
            pack_b_block(g, pc, kc, jc, nc, bbuf);
            for (int64_t jr = 0; jr < njr; jr++) {
                tile_src s = {.b = bbuf + jr * NR * kc, .nr = (int)min64(NR, nc - jr * NR)};
                for (int64_t ir = 0; ir < nir; ir++) {
                    s.a = abuf + ir * MR * kc;
                    gemm_tile(g, &s, kc, ir * MR, jc + jr * NR, (int)min64(MR, g->M - ir * MR),
                              s.nr, accumulate || pc > 0);
                }
            }
        }
    }
}

/* Very few rows (M <= 2 MR) times a row-major B: B streamed in place, nothing of it packed (packing
 * would write and re-read all of B for a single use of each element: 3.1 ms of packing to 2.1 ms
 * of FMAs at 16x4096x4096). k in blocks of KB_STREAM; for each, every tile across N, each tile
 * holding all M rows (the wide, MR x NR or tall kernel) so each element of B is loaded once. B is
 * thus read as KB_STREAM concurrent row runs, the lines PF_COLS columns ahead prefetched; C,
 * M x N, is reloaded once per k block. 16x4096x4096: 4.2-4.4 ms against 9.3-9.6 ms packed (one
 * thread; 16..64-row k blocks within 10% of each other, 8 rows 1.3x slower; the prefetch gains
 * up to 1.1x). */
#define KB_STREAM MT_OMP_GEMM_KB_STREAM
#define PF_COLS 128

static bool stream_fits(const gemm_args *g) {
    return g->M <= 2 * MR && !g->b.rows && g->b.cs == 1 && g->cs_n == 1;
}

static void gemm_run_stream(const gemm_args *g, float *abuf, int accumulate) {
    int64_t boff[KB_STREAM];
    int mr = (int)g->M;
    /* tile width: the kernel's (wide: few rows, MR x NR, tall) */
    int64_t tw = mr <= MT_GEMM_WIDE_MAX_ROWS ? MT_GEMM_WIDE_COLS(mr)
                 : mr <= MR                  ? NR
                                             : MT_GEMM_TALL_COLS;
    for (int64_t pc = 0; pc < g->K; pc += KB_STREAM) {
        int64_t kc = min64(KB_STREAM, g->K - pc);
        int acc = accumulate || pc > 0;
        for (int64_t ir = 0; ir * MR < g->M; ir++)
            pack_a(g, ir * MR, (int)min64(MR, g->M - ir * MR), pc, kc, abuf + ir * MR * kc);
        for (int64_t k = 0; k < kc; k++) boff[k] = (pc + k) * g->b.rs;
        for (int64_t j0 = 0; j0 < g->N; j0 += tw) {
            int nc = (int)min64(tw, g->N - j0);
            /* the lines a tile width past PF_COLS ahead, so about PF_COLS floats of each row are
             * in flight */
            for (int64_t j = j0 + PF_COLS; j < min64(j0 + tw + PF_COLS, g->N); j += 16)
                for (int64_t k = 0; k < kc; k++) __builtin_prefetch(g->b.p + boff[k] + j, 0, 3);
            if (mr <= MT_GEMM_WIDE_MAX_ROWS) {
                mt_omp_gemm_kernel_brows_wide(kc, abuf, mr, g->b.p + j0, boff, nc, g->c + j0,
                                              g->cs_m, acc);
            } else if (mr <= MR) {
                tile_src s = {.a = abuf, .b = g->b.p + j0, .boff = boff, .nr = nc};
                gemm_tile(g, &s, kc, 0, j0, mr, nc, acc);
            } else {
                mt_omp_gemm_kernel_brows_tall(kc, abuf, mr, g->b.p + j0, boff, nc, g->c + j0,
                                              g->cs_m, acc);
            }
        }
    }
}

/* Very few rows (M <= 2 MR) times a column-major B (B = W^T, W (N,K) stored row-major: a
 * layer's x @ w^T and its grad_x = g @ w^T). W is read once, as tw concurrent row streams: for each
 * tile of tw columns of C (all M rows, the kernel of gemm_run_stream), k in chunks of kt, each
 * chunk of the tile's tw rows of W transposed (mt_omp_gemm_pack_bt, 16 x 16 blocks in registers)
 * into a kt x tw block that stays in L1 and fed to the kernel as B rows in place, the next chunk's
 * lines prefetched while this one is copied. A is packed once per ka k steps (as many as its
 * buffer holds, all of K up to 4096 at 16 rows), chunk by chunk, so the C tile is reloaded only
 * once per chunk from L1. The same FMA chains as every other path. Packing the whole of B instead
 * (the few-rows path) writes and re-reads it for a single use: 16x4096x4096 took 11.8 ms that
 * way, 4.4-4.7 ms this way, against 8.3-8.8 ms for OpenBLAS (one thread, shared machine). One or
 * two rows take 64-column tiles, not the wide kernel's 256 or 128: 64 row streams of four lines
 * per chunk, not 256 of one (1x4096x4096: 3.4 ms against 4.0 ms). */
#define KT_FLOATS MT_OMP_GEMM_KT_FLOATS /* a transposed chunk: kt x tw floats, 16 KiB */
#define STREAM_T_NARROW_COLS MT_OMP_GEMM_STREAM_T_NARROW

static bool stream_t_fits(const gemm_args *g) {
    return g->M <= 2 * MR && !g->b.rows && g->b.rs == 1 && g->cs_n == 1;
}

static void gemm_run_stream_t(const gemm_args *g, float *abuf, float *bbuf, int accumulate) {
    int mr = (int)g->M;
    int64_t tw = mr <= 2                     ? STREAM_T_NARROW_COLS
                 : mr <= MT_GEMM_WIDE_MAX_ROWS ? MT_GEMM_WIDE_COLS(mr)
                 : mr <= MR                  ? NR
                                             : MT_GEMM_TALL_COLS;
    int64_t kt = KT_FLOATS / tw, np = (mr + MR - 1) / MR; /* np: A micro-panels */
    int64_t ka = A_BUF_FLOATS / (np * MR) / kt * kt;
    int64_t boff[KT_FLOATS / 16];
    for (int64_t k = 0; k < kt; k++) boff[k] = k * tw;
    for (int64_t pa = 0; pa < g->K; pa += ka) {
        int64_t kal = min64(ka, g->K - pa);
        /* chunk by chunk: chunk q's micro-panels at abuf + q kt np MR, kc x MR each */
        for (int64_t k0 = 0; k0 < kal; k0 += kt) {
            int64_t kc = min64(kt, kal - k0);
            for (int64_t ir = 0; ir < np; ir++)
                pack_a(g, ir * MR, (int)min64(MR, g->M - ir * MR), pa + k0, kc,
                       abuf + k0 * np * MR + ir * MR * kc);
        }
        for (int64_t j0 = 0; j0 < g->N; j0 += tw) {
            int nc = (int)min64(tw, g->N - j0);
            const float *w = g->b.p + j0 * g->b.cs + pa; /* (nc, kal), rows of b.cs */
            for (int64_t k0 = 0; k0 < kal; k0 += kt) {
                int64_t kc = min64(kt, kal - k0);
                int acc = accumulate || pa + k0 > 0;
                const float *a = abuf + k0 * np * MR;
                mt_omp_gemm_pack_bt(kc, w + k0, g->b.cs, nc, (nc + 15) / 16 * 16, bbuf, tw,
                                    k0 + kt < kal ? kt : 0);
                if (mr <= MT_GEMM_WIDE_MAX_ROWS) {
                    mt_omp_gemm_kernel_brows_wide(kc, a, mr, bbuf, boff, nc, g->c + j0, g->cs_m,
                                                  acc);
                } else if (mr <= MR) {
                    tile_src s = {.a = a, .b = bbuf, .boff = boff, .nr = nc};
                    gemm_tile(g, &s, kc, 0, j0, mr, nc, acc);
                } else {
                    mt_omp_gemm_kernel_brows_tall(kc, a, mr, bbuf, boff, nc, g->c + j0, g->cs_m,
                                                  acc);
                }
            }
        }
    }
}

/* The calling thread's packing buffers; false when out of memory. */
static bool gemm_buffers(float **abuf, float **bbuf) {
    *abuf = mt_omp_workspace(MT_OMP_WS_GEMM_A, A_BUF_FLOATS * (int64_t)sizeof(float));
    *bbuf = mt_omp_workspace(MT_OMP_WS_GEMM_B, B_BUF_FLOATS * (int64_t)sizeof(float));
    return *abuf && *bbuf;
}

/* One product on the calling thread, by the cheapest path that fits it (all give the same bits);
 * returns 0, or non-zero when the packing buffers cannot be allocated. */
static int gemm_product(const gemm_args *g, int accumulate) {
    if (direct_fits(g)) {
        gemm_direct(g, accumulate);
        return 0;
    }
    float *abuf, *bbuf;
    if (!gemm_buffers(&abuf, &bbuf)) return 1;
    if (stream_fits(g))
        gemm_run_stream(g, abuf, accumulate);
    else if (stream_t_fits(g))
        gemm_run_stream_t(g, abuf, bbuf, accumulate);
    else if (few_rows(g))
        gemm_run_few_rows(g, abuf, bbuf, accumulate);
    else
        gemm_run(g, abuf, bbuf, accumulate);
    return 0;
}

int mt_omp_gemm(int64_t M, int64_t N, int64_t K, const mt_omp_mat *a, const mt_omp_mat *b,
                float *c, int64_t rsc, int64_t csc, bool accumulate) {
    if (M <= 0 || N <= 0) return 0;
    if (K <= 0) { /* an empty sum: C keeps its value, or becomes 0 */
        for (int64_t i = 0; i < M && !accumulate; i++)
            for (int64_t j = 0; j < N; j++) c[i * rsc + j * csc] = 0.0f;
        return 0;
    }
    gemm_args g = {.M = M, .N = N, .K = K, .a = *a, .b = *b, .c = c, .cs_m = rsc, .cs_n = csc};
    return gemm_product(&g, accumulate);
}

/* ------------------------------------------------------------------ batches */
/* The batch dims of t (whose last two dims are the matrix) broadcast to out's batch dims. */
static void batch_strides(const mt_tensor *t, int nbatch_dims, int64_t *strides) {
    int lead = nbatch_dims - (t->ndim - 2);
    for (int d = 0; d < nbatch_dims; d++) {
        int td = d - lead;
        strides[d] = (td < 0 || t->shape[td] == 1) ? 0 : t->strides[td];
    }
}

/* The product of batch ordinal p: g's pointers moved to that batch. */
static gemm_args batch_args(const gemm_args *g0, const mt_omp_iter *it, int64_t p) {
    int64_t index[MT_MAX_DIMS], pos[3];
    mt_omp_iter_seek(it, p, index, pos);
    gemm_args g = *g0;
    g.c += pos[0];
    g.a.p += pos[1];
    g.b.p += pos[2];
    return g;
}

typedef struct piece_job {
    const gemm_args *g; /* the whole product of batch entry 0 */
    const mt_omp_iter *it; /* batch offsets */
    int64_t pm, pn;     /* pieces per product: row ranges x column ranges */
} piece_job;

/* Piece q: one block of rows and columns (cut on micro-tile boundaries) of one batch entry. */
static int piece_item(void *ctx, int64_t q) {
    const piece_job *j = ctx;
    const gemm_args *g = j->g;
    int64_t r = q % (j->pm * j->pn), im = r / j->pn, jn = r % j->pn;
    int64_t mb = (g->M + MR - 1) / MR, nb = (g->N + NR - 1) / NR;
    int64_t m0 = mb * im / j->pm * MR, m1 = min64(g->M, mb * (im + 1) / j->pm * MR);
    int64_t n0 = nb * jn / j->pn * NR, n1 = min64(g->N, nb * (jn + 1) / j->pn * NR);
    gemm_args gp = batch_args(g, j->it, q / (j->pm * j->pn));
    gp.a.p += m0 * g->a.rs;
    gp.b.p += n0 * g->b.cs;
    gp.c += m0 * g->cs_m + n0 * g->cs_n;
    gp.M = m1 - m0;
    gp.N = n1 - n0;
    return gp.M > 0 && gp.N > 0 ? gemm_product(&gp, 0) : 0;
}

mt_status mt_omp_matmul(const mt_kernel_args *args) {
    mt_tensor *out = args->out;        /* (..., M, N), batch dims = broadcast of a's and b's */
    const mt_tensor *a = args->src[0]; /* (..., M, K) */
    const mt_tensor *b = args->src[1]; /* (..., K, N) */
    int nd = out->ndim, bd = nd - 2;
    if (nd < 2 || a->ndim < 2 || b->ndim < 2 || a->shape[a->ndim - 1] != b->shape[b->ndim - 2] ||
        a->shape[a->ndim - 2] != out->shape[nd - 2] || b->shape[b->ndim - 1] != out->shape[nd - 1])
        return mt_fail(MT_ERR_SHAPE, "openmp matmul: operand shapes do not fit the output");

    gemm_args g = {
        .M = out->shape[nd - 2], .N = out->shape[nd - 1], .K = a->shape[a->ndim - 1],
        .a = {a->storage->data + a->offset, a->strides[a->ndim - 2], a->strides[a->ndim - 1], NULL},
        .b = {b->storage->data + b->offset, b->strides[b->ndim - 2], b->strides[b->ndim - 1], NULL},
        .c = out->storage->data + out->offset,
        .cs_m = out->strides[nd - 2], .cs_n = out->strides[nd - 1],
    };
    /* batch offsets of out, a, b (pointers above already hold the tensors' offsets) */
    mt_omp_iter it = {.ndim = bd, .nops = 3};
    for (int d = 0; d < bd; d++) {
        it.shape[d] = out->shape[d];
        it.strides[0][d] = out->strides[d];
    }
    batch_strides(a, bd, it.strides[1]);
    batch_strides(b, bd, it.strides[2]);
    mt_omp_iter_coalesce(&it);
    int64_t nbatch = mt_omp_iter_numel(&it);

    /* A batch of rows times one B (x (B,T,K) @ w (K,N)) is one taller product when the batch
     * continues a's and out's row stride: fewer, larger GEMMs, same FMA chains. */
    if (nbatch > 1 && it.ndim == 1 && it.strides[2][0] == 0 &&
        (g.M == 1 || (it.strides[1][0] == g.M * g.a.rs && it.strides[0][0] == g.M * g.cs_m))) {
        if (g.M == 1) {
            g.a.rs = it.strides[1][0];
            g.cs_m = it.strides[0][0];
        }
        g.M *= nbatch;
        nbatch = 1;
        it.shape[0] = 1;
    }

    /* Threads take whole pieces of C (a batch entry, cut into pm x pn blocks of rows and
     * columns), each packing its own operands: no barriers, so a thread that the OS descheduled
     * delays only its own piece, and dynamic scheduling hands the rest to the others. About two
     * pieces per thread, cut near-square because a piece repacks its rows of A and columns of B. */
    int64_t work = g.M * g.N * g.K, nth = omp_get_max_threads();
    bool parallel = nth > 1 && nbatch * work > GEMM_MIN_PARALLEL_WORK;
    int64_t pm = 1, pn = 1;
    if (parallel && nbatch < 2 * nth) {
        int64_t want = (2 * nth + nbatch - 1) / nbatch, most = work / GEMM_MIN_PIECE_WORK;
        want = want < most ? want : (most > 1 ? most : 1);
        int64_t mblocks = (g.M + MR - 1) / MR, nblocks = (g.N + NR - 1) / NR;
        pm = (int64_t)(sqrt((double)want * (double)g.M / (double)g.N) + 0.5);
        pm = pm < 1 ? 1 : pm > want ? want : pm > mblocks ? mblocks : pm;
        pn = (want + pm - 1) / pm;
        pn = pn > nblocks ? nblocks : pn;
    }
    piece_job job = {.g = &g, .it = &it, .pm = pm, .pn = pn};
    int failed = mt_omp_for(nbatch * pm * pn, parallel, piece_item, &job);
    if (failed)
        return mt_fail(MT_ERR_OOM, "openmp matmul: out of memory for the %zu KiB packing buffers",
                       (size_t)(A_BUF_FLOATS + B_BUF_FLOATS) * sizeof(float) / 1024);
    return MT_OK;
}
