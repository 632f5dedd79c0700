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
 * Packing buffers: one workspace per thread (A block + B panel, 64-byte aligned), allocated on the
 * thread's first product, reused by every later one, freed when the thread exits. */
#include "openmp.h"
#include "openmp_gemm.h"
#include "openmp_iter.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define MR MT_GEMM_MR
#define NR MT_GEMM_NR
#define KC 256                                  /* k steps per packed panel */
#define A_BUF_FLOATS ((int64_t)KC * 256)        /* A block: 256 KiB, half of a 1 MiB L2 */
#define NC ((int64_t)4096)                      /* columns per packed B panel (a multiple of NR) */
#define B_BUF_FLOATS ((int64_t)KC * NC)         /* B panel: 4 MiB, in L3 */
/* FMAs below which a product runs on the calling thread (waking a thread costs ~5-10 us, ~1M FMAs
 * of this kernel), and the least work a thread's piece gets. */
#define GEMM_MIN_PARALLEL_WORK ((int64_t)1 << 22)
#define GEMM_MIN_PIECE_WORK ((int64_t)1 << 20)

_Static_assert(NC % NR == 0, "B panels hold whole micro-panels");
_Static_assert(A_BUF_FLOATS / KC >= MR, "the A block holds at least one micro-panel");

/* ------------------------------------------------------------------ per-thread workspace */
typedef struct gemm_ws {
    float *a; /* A_BUF_FLOATS */
    float *b; /* B_BUF_FLOATS */
} gemm_ws;

static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static int ws_key_ok;

static void ws_free(void *p) {
    gemm_ws *w = p;
    if (!w) return;
    free(w->a);
    free(w->b);
    free(w);
}

static void ws_make_key(void) { ws_key_ok = pthread_key_create(&ws_key, ws_free) == 0; }

/* This thread's workspace, made on first use; NULL when out of memory. */
static gemm_ws *ws_get(void) {
    pthread_once(&ws_once, ws_make_key);
    if (!ws_key_ok) return NULL;
    gemm_ws *w = pthread_getspecific(ws_key);
    if (w) return w;
    w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->a = aligned_alloc(64, (size_t)A_BUF_FLOATS * sizeof(float));
    w->b = aligned_alloc(64, (size_t)B_BUF_FLOATS * sizeof(float));
    if (!w->a || !w->b || pthread_setspecific(ws_key, w) != 0) {
        ws_free(w);
        return NULL;
    }
    return w;
}

/* ------------------------------------------------------------------ one product */
typedef struct gemm_args {
    int64_t M, N, K;
    const float *a; /* (M, K) */
    int64_t as_m, as_k;
    const float *b; /* (K, N) */
    int64_t bs_k, bs_n;
    float *c; /* (M, N) */
    int64_t cs_m, cs_n;
} gemm_args;

/* A micro-panel: rows [i0, i0 + mr) and k in [p0, p0 + kc) into dst[k][MR], rows past mr zero. */
static void pack_a(const gemm_args *g, int64_t i0, int mr, int64_t p0, int64_t kc, float *dst) {
    const float *src = g->a + i0 * g->as_m + p0 * g->as_k; /* (mr, kc) */
    int64_t sm = g->as_m, sk = g->as_k;
    if (mr == MR && sk == 1) { /* row-major A: MR sequential streams */
        for (int64_t k = 0; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = src[i * sm + k];
    } else if (mr == MR && sm == 1) { /* column-major A (a transposed view): straight copies */
        for (int64_t k = 0; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = src[k * sk + i];
    } else {
        for (int64_t k = 0; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = i < mr ? src[i * sm + k * sk] : 0.0f;
    }
}

/* A micro-panel of B: k in [p0, p0 + kc), columns [j0, j0 + nr) into dst[k][NR], columns past
 * nr zero. */
static void pack_b(const gemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr, float *dst) {
    const float *src = g->b + p0 * g->bs_k + j0 * g->bs_n; /* (kc, nr) */
    int64_t sk = g->bs_k, sn = g->bs_n;
    if (nr == NR && sn == 1) { /* row-major B: NR contiguous floats per k */
        for (int64_t k = 0; k < kc; k++)
            for (int j = 0; j < NR; j++) dst[k * NR + j] = src[k * sk + j];
    } else if (sn == 1) { /* the right edge of a row-major B */
        for (int64_t k = 0; k < kc; k++) {
            for (int j = 0; j < nr; j++) dst[k * NR + j] = src[k * sk + j];
            for (int j = nr; j < NR; j++) dst[k * NR + j] = 0.0f;
        }
    } else if (sk == 1) { /* column-major B (x @ w^T): read each column along k */
        for (int j = 0; j < NR; j++)
            for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = j < nr ? src[j * sn + k] : 0.0f;
    } else {
        for (int64_t k = 0; k < kc; k++)
            for (int j = 0; j < NR; j++) dst[k * NR + j] = j < nr ? src[k * sk + j * sn] : 0.0f;
    }
}

/* One MR x NR tile of C at (i0, j0), mr x nr of it inside C. */
static void gemm_tile(const gemm_args *g, const float *ap, const float *bp, int64_t kc, int64_t i0,
                      int64_t j0, int mr, int nr, int accumulate) {
    float *c = g->c + i0 * g->cs_m + j0 * g->cs_n;
    if (mr == MR && nr == NR && g->cs_n == 1) {
        mt_omp_gemm_kernel(kc, ap, bp, c, g->cs_m, accumulate);
        return;
    }
    alignas(64) float tmp[MR * NR];
    if (accumulate) { /* the padding part is computed and dropped; zeros keep it defined */
        memset(tmp, 0, sizeof tmp);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) tmp[i * NR + j] = c[i * g->cs_m + j * g->cs_n];
    }
    if (nr <= MT_GEMM_NR_NARROW)
        mt_omp_gemm_kernel_narrow(kc, ap, bp, tmp, NR, accumulate);
    else
        mt_omp_gemm_kernel(kc, ap, bp, tmp, NR, accumulate);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[i * g->cs_m + j * g->cs_n] = tmp[i * NR + j];
}

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

/* C = A B on the calling thread, with its own packing buffers. */
static void gemm_run(const gemm_args *g, float *abuf, float *bbuf) {
    for (int64_t jc = 0; jc < g->N; jc += NC) {
        int64_t nc = min64(NC, g->N - jc), njr = (nc + NR - 1) / NR;
        for (int64_t pc = 0; pc < g->K; pc += KC) {
            int64_t kc = min64(KC, g->K - pc);
            for (int64_t jr = 0; jr < njr; jr++)
                pack_b(g, pc, kc, jc + jr * NR, (int)min64(NR, nc - jr * NR), bbuf + jr * NR * kc);
            int64_t mc_max = A_BUF_FLOATS / kc / MR * MR;
            for (int64_t ic = 0; ic < g->M; ic += mc_max) {
                int64_t mc = min64(mc_max, g->M - ic), nir = (mc + MR - 1) / MR;
                for (int64_t ir = 0; ir < nir; ir++)
                    pack_a(g, ic + ir * MR, (int)min64(MR, mc - ir * MR), pc, kc,
                           abuf + ir * MR * kc);
                /* the inner loop walks A micro-panels against one B micro-panel held in L1 */
                for (int64_t jr = 0; jr < njr; jr++)
                    for (int64_t ir = 0; ir < nir; ir++)
                        gemm_tile(g, abuf + ir * MR * kc, bbuf + jr * NR * kc, kc, ic + ir * MR,
                                  jc + jr * NR, (int)min64(MR, mc - ir * MR),
                                  (int)min64(NR, nc - jr * NR), pc > 0);
            }
        }
    }
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
    g.a += pos[1];
    g.b += pos[2];
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
    gemm_ws *w = ws_get();
    if (!w) return 1;
    const gemm_args *g = j->g;
    int64_t r = q % (j->pm * j->pn), im = r / j->pn, jn = r % j->pn;
    int64_t mb = (g->M + MR - 1) / MR, nb = (g->N + NR - 1) / NR;
    int64_t m0 = mb * im / j->pm * MR, m1 = min64(g->M, mb * (im + 1) / j->pm * MR);
    int64_t n0 = nb * jn / j->pn * NR, n1 = min64(g->N, nb * (jn + 1) / j->pn * NR);
    gemm_args gp = batch_args(g, j->it, q / (j->pm * j->pn));
    gp.a += m0 * g->as_m;
    gp.b += n0 * g->bs_n;
    gp.c += m0 * g->cs_m + n0 * g->cs_n;
    gp.M = m1 - m0;
    gp.N = n1 - n0;
    if (gp.M > 0 && gp.N > 0) gemm_run(&gp, w->a, w->b);
    return 0;
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
        .a = a->storage->data + a->offset,
        .as_m = a->strides[a->ndim - 2], .as_k = a->strides[a->ndim - 1],
        .b = b->storage->data + b->offset,
        .bs_k = b->strides[b->ndim - 2], .bs_n = b->strides[b->ndim - 1],
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
        (g.M == 1 || (it.strides[1][0] == g.M * g.as_m && it.strides[0][0] == g.M * g.cs_m))) {
        if (g.M == 1) {
            g.as_m = it.strides[1][0];
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
