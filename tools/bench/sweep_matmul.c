/* The matmul sweep: (M,K) @ (K,N) and batched (B,M,K) @ (B or -,K,N) through mt_matmul on every
 * backend, and OpenBLAS cblas_sgemm on the same data. Work = 2 M N K (x batch) FLOP.
 *
 * Either operand may be a transposed view, as a layer's backward products take them (grad_x =
 * g @ W^T, grad_W = x^T @ g): the case's shapes stay the logical (M,K) and (K,N), the tensor is
 * stored as (K,M) or (N,K) and the engine gets mt_transpose of it, OpenBLAS CblasTrans on it and
 * PyTorch .t() of it. bench_case.dim holds which (MM_TRANS_A | MM_TRANS_B). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_TRANS_A 1
#define MM_TRANS_B 2

/* The stored shape of a logical operand: its last two dims swapped when it is a transposed view. */
static bench_shape mm_stored(bench_shape s, bool trans) {
    if (trans) {
        int64_t t = s.d[s.ndim - 2];
        s.d[s.ndim - 2] = s.d[s.ndim - 1];
        s.d[s.ndim - 1] = t;
    }
    return s;
}

static void mm_case_t(bench_case *c, bench_shape a, bench_shape b, int trans) {
    memset(c, 0, sizeof *c);
    char sa[96], sb[96];
    c->in[0] = a;
    c->in[1] = b;
    c->nin = 2;
    c->dim = trans;
    static const char *what[] = {"fwd", "A^T", "B^T", "A^T B^T"};
    static const char *suffix[] = {"", ":at", ":bt", ":atbt"};
    snprintf(c->what, sizeof c->what, "%s", what[trans & 3]);
    snprintf(c->id, sizeof c->id, "matmul/%s@%s%s", bench_shape_x(&a, sa, sizeof sa),
             bench_shape_x(&b, sb, sizeof sb), suffix[trans & 3]);
    int64_t M = a.d[a.ndim - 2], K = a.d[a.ndim - 1], N = b.d[b.ndim - 1];
    int64_t batch = a.ndim == 3 ? a.d[0] : (b.ndim == 3 ? b.d[0] : 1);
    c->work = 2.0 * (double)M * (double)N * (double)K * (double)batch;
}

static void mm_case(bench_case *c, bench_shape a, bench_shape b) { mm_case_t(c, a, b, 0); }

#define S2(x, y) ((bench_shape){2, {x, y}})
#define S3(x, y, z) ((bench_shape){3, {x, y, z}})

static int mm_builtin(bool quick, bench_case *cases, int max) {
    int n = 0;
    if (quick) {
        /* small, with sizes that are not multiples of any tile (33, 9) */
        if (n < max) mm_case(&cases[n++], S2(64, 64), S2(64, 64));
        if (n < max) mm_case(&cases[n++], S2(96, 33), S2(33, 65));
        if (n < max) mm_case(&cases[n++], S3(4, 17, 33), S3(4, 33, 9));
        return n;
    }
    static const int64_t square[] = {256, 512, 1024, 2048};
    for (size_t i = 0; i < sizeof square / sizeof square[0] && n < max; i++)
        mm_case(&cases[n++], S2(square[i], square[i]), S2(square[i], square[i]));
    /* Shapes of training steps: a linear layer's forward on a batch (MNIST 784 -> 256), tall
     * activations times a weight, a weight gradient X^T G whose K is the batch, a skinny output,
     * small-batch inference, and batched attention scores. */
    if (n < max) mm_case(&cases[n++], S2(128, 784), S2(784, 256));
    if (n < max) mm_case(&cases[n++], S2(4096, 512), S2(512, 512));
    if (n < max) mm_case(&cases[n++], S2(512, 4096), S2(4096, 512));
    if (n < max) mm_case(&cases[n++], S2(4096, 1024), S2(1024, 64));
    if (n < max) mm_case(&cases[n++], S2(16, 4096), S2(4096, 4096));
    if (n < max) mm_case(&cases[n++], S3(8, 256, 64), S3(8, 64, 256));
    /* A linear layer's backward: grad_x = g @ W^T (few rows, and a batch of 128), grad_W = x^T @ g
     * (K the batch), each operand the transposed view of a stored tensor. */
    if (n < max) mm_case_t(&cases[n++], S2(16, 4096), S2(4096, 4096), MM_TRANS_B);
    if (n < max) mm_case_t(&cases[n++], S2(128, 256), S2(256, 784), MM_TRANS_B);
    if (n < max) mm_case_t(&cases[n++], S2(784, 128), S2(128, 256), MM_TRANS_A);
    return n;
}

static int mm_parse_line(int ntok, char **tok, bench_case *cases, int max) {
    bench_shape a, b;
    int trans = 0;
    if (ntok == 3)
        trans = strcmp(tok[2], "at") == 0     ? MM_TRANS_A
                : strcmp(tok[2], "bt") == 0   ? MM_TRANS_B
                : strcmp(tok[2], "atbt") == 0 ? MM_TRANS_A | MM_TRANS_B
                                              : -1;
    if (ntok < 2 || ntok > 3 || trans < 0 || bench_shape_parse(tok[0], &a) ||
        bench_shape_parse(tok[1], &b)) {
        fprintf(stderr, "matmul lines are 'A B [at|bt|atbt]', e.g. '512x256 256x128', "
                        "'8x64x32 8x32x16' or '16x4096 4096x4096 bt' (B the transposed view of a "
                        "stored 4096x4096)\n");
        return -1;
    }
    if (a.ndim < 2 || a.ndim > 3 || b.ndim < 2 || b.ndim > 3 || a.d[a.ndim - 1] != b.d[b.ndim - 2] ||
        (a.ndim == 3 && b.ndim == 3 && a.d[0] != b.d[0])) {
        fprintf(stderr, "matmul: A must be (M,K) or (B,M,K) and B (K,N) or (B,K,N) with the same K "
                        "and B\n");
        return -1;
    }
    int64_t out[3] = {a.ndim == 3 ? a.d[0] : b.ndim == 3 ? b.d[0] : 1, a.d[a.ndim - 2],
                      b.d[b.ndim - 1]}; /* (batch, M, N) */
    if (!bench_numel_ok("the product", 3, out)) return -1;
    if (max < 1) return -1;
    mm_case_t(&cases[0], a, b, trans);
    return 1;
}

static bool mm_applies(const bench_case *c, const bench_impl *impl) {
    (void)c;
    if (impl->kind == IMPL_BACKEND) return mt_backend_supports(impl->backend, MT_OP_MATMUL);
    return impl->kind == IMPL_OPENBLAS;
}

/* The case's operands in ctx from host data in stored order: the stored tensors, or their
 * transposed views. Returns 0, or -1 (mt_last_error says why). */
static int mm_tensors(mt_ctx *ctx, const bench_case *c, float *ha, float *hb, mt_tensor **a,
                      mt_tensor **b) {
    bench_shape sa = mm_stored(c->in[0], c->dim & MM_TRANS_A);
    bench_shape sb = mm_stored(c->in[1], c->dim & MM_TRANS_B);
    *a = mt_from_array(ctx, sa.ndim, sa.d, ha);
    *b = mt_from_array(ctx, sb.ndim, sb.d, hb);
    if (*a && (c->dim & MM_TRANS_A)) *a = mt_transpose(ctx, *a);
    if (*b && (c->dim & MM_TRANS_B)) *b = mt_transpose(ctx, *b);
    return *a && *b ? 0 : -1;
}

typedef struct mm_inst {
    const bench_case *c;
    const bench_impl *impl;
    mt_ctx *data, *scratch; /* inputs; the output of the latest iteration */
    mt_tensor *a, *b, *out;
    float *ha, *hb, *hc; /* host inputs (and output for OpenBLAS) */
    int64_t batch, M, N, K;
} mm_inst;

static void mm_release(void *p) {
    mm_inst *m = p;
    if (!m) return;
    mt_ctx_free(m->scratch);
    mt_ctx_free(m->data);
    free(m->ha);
    free(m->hb);
    free(m->hc);
    free(m);
}

static int mm_run(void *p, char *err, size_t errlen) {
    mm_inst *m = p;
    if (m->impl->kind == IMPL_OPENBLAS) {
        int64_t sa = m->c->in[0].ndim == 3 ? m->M * m->K : 0;
        int64_t sb = m->c->in[1].ndim == 3 ? m->K * m->N : 0;
        bool ta = m->c->dim & MM_TRANS_A, tb = m->c->dim & MM_TRANS_B;
        for (int64_t i = 0; i < m->batch; i++)
            bench_sgemm_ex(ta, tb, m->M, m->N, m->K, 1.0f, m->ha + i * sa, ta ? m->M : m->K,
                           m->hb + i * sb, tb ? m->K : m->N, 0.0f, m->hc + i * m->M * m->N, m->N);
        return 0;
    }
    mt_ctx_reset(m->scratch); /* the output lands on the same, already touched pages */
    m->out = mt_matmul(m->scratch, m->a, m->b);
    if (!m->out) {
        snprintf(err, errlen, "mt_matmul on %s: %s", m->impl->name, mt_last_error());
        return -1;
    }
    return 0;
}

static void *mm_setup(const bench_case *c, const bench_impl *impl, char *err, size_t errlen) {
    mm_inst *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->c = c;
    m->impl = impl;
    const bench_shape *sa = &c->in[0], *sb = &c->in[1];
    m->M = sa->d[sa->ndim - 2];
    m->K = sa->d[sa->ndim - 1];
    m->N = sb->d[sb->ndim - 1];
    m->batch = sa->ndim == 3 ? sa->d[0] : (sb->ndim == 3 ? sb->d[0] : 1);
    int64_t na = bench_shape_numel(sa), nb = bench_shape_numel(sb);
    m->ha = malloc((size_t)na * sizeof(float));
    m->hb = malloc((size_t)nb * sizeof(float));
    if (!m->ha || !m->hb) {
        snprintf(err, errlen, "out of memory for the inputs");
        mm_release(m);
        return NULL;
    }
    bench_fill(m->ha, na, bench_input_seed(c, 0));
    bench_fill(m->hb, nb, bench_input_seed(c, 1));
    if (impl->kind == IMPL_OPENBLAS) {
        /* malloc + memset, not calloc: calloc may hand out untouched zero pages */
        m->hc = malloc((size_t)(m->batch * m->M * m->N) * sizeof(float));
        if (!m->hc) {
            snprintf(err, errlen, "out of memory for the output");
            mm_release(m);
            return NULL;
        }
        memset(m->hc, 0, (size_t)(m->batch * m->M * m->N) * sizeof(float));
    } else {
        m->data = mt_ctx_new(impl->backend);
        m->scratch = mt_ctx_new(impl->backend);
        if (!m->data || !m->scratch || mm_tensors(m->data, c, m->ha, m->hb, &m->a, &m->b)) {
            snprintf(err, errlen, "making the inputs on %s: %s", impl->name, mt_last_error());
            mm_release(m);
            return NULL;
        }
    }
    if (mm_run(m, err, errlen) != 0) { /* warm-up: caches, lazy allocations, thread pools */
        mm_release(m);
        return NULL;
    }
    return m;
}

static int mm_outputs(void *p, bench_output *outs, char *err, size_t errlen) {
    mm_inst *m = p;
    if (m->impl->kind != IMPL_OPENBLAS)
        return bench_output_from_tensor("out", m->out, &outs[0], err, errlen) ? -1 : 1;
    outs[0].name = "out";
    outs[0].shape.ndim = m->c->in[0].ndim == 3 || m->c->in[1].ndim == 3 ? 3 : 2;
    int64_t dims3[3] = {m->batch, m->M, m->N};
    memcpy(outs[0].shape.d, dims3 + (outs[0].shape.ndim == 3 ? 0 : 1),
           sizeof(int64_t) * (size_t)outs[0].shape.ndim);
    size_t bytes = (size_t)(m->batch * m->M * m->N) * sizeof(float);
    outs[0].data = malloc(bytes);
    if (!outs[0].data) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(outs[0].data, m->hc, bytes);
    return 1;
}

static double mm_naive_work(const bench_case *c) { return c->work; }

/* The naive backend's product on the first and last batch entries, first and last rows, as many
 * rows as the budget affords (all of them for cases the naive backend is timed on). */
static int mm_reference(const bench_case *c, double budget, bench_reference *ref, char *err,
                        size_t errlen) {
    const bench_shape *sa = &c->in[0], *sb = &c->in[1];
    int64_t M = sa->d[sa->ndim - 2], K = sa->d[sa->ndim - 1], N = sb->d[sb->ndim - 1];
    bool batched = sa->ndim == 3 || sb->ndim == 3;
    int64_t batch = sa->ndim == 3 ? sa->d[0] : (sb->ndim == 3 ? sb->d[0] : 1);
    int rc = -1;
    float *ha = malloc((size_t)bench_shape_numel(sa) * sizeof(float));
    float *hb = malloc((size_t)bench_shape_numel(sb) * sizeof(float));
    mt_ctx *ctx = mt_ctx_new(mt_backend_naive());
    if (!ha || !hb || !ctx) {
        snprintf(err, errlen, "out of memory for the reference");
        goto done;
    }
    bench_fill(ha, bench_shape_numel(sa), bench_input_seed(c, 0));
    bench_fill(hb, bench_shape_numel(sb), bench_input_seed(c, 1));
    mt_tensor *a, *b;
    if (mm_tensors(ctx, c, ha, hb, &a, &b)) {
        snprintf(err, errlen, "naive reference inputs: %s", mt_last_error());
        goto done;
    }
    int64_t bstart[2], blen[2], rstart[2], rlen[2];
    int nbr = bench_head_tail(batch, c->work <= budget ? batch : 2, bstart, blen);
    int64_t nbatches = 0;
    for (int i = 0; i < nbr; i++) nbatches += blen[i];
    double per_row = 2.0 * (double)K * (double)N * (double)nbatches;
    int64_t rows = (int64_t)(budget / per_row);
    int nrr = bench_head_tail(M, rows, rstart, rlen);
    ref->full = nbr == 1 && blen[0] == batch && nrr == 1 && rlen[0] == M;
    for (int bi = 0; bi < nbr; bi++)
        for (int ri = 0; ri < nrr; ri++) {
            mt_tensor va = *a, vb = *b, vr;
            if (sa->ndim == 3) bench_narrow(a, 0, bstart[bi], blen[bi], &va);
            if (sb->ndim == 3) bench_narrow(b, 0, bstart[bi], blen[bi], &vb);
            bench_narrow(&va, va.ndim - 2, rstart[ri], rlen[ri], &vr);
            /* the box of out (batch?, M, N) that this piece gives */
            int nd = batched ? 3 : 2;
            int64_t lo[3] = {bstart[bi], rstart[ri], 0};
            int64_t hi[3] = {bstart[bi] + blen[bi], rstart[ri] + rlen[ri], N};
            if (!batched) {
                lo[0] = lo[1], hi[0] = hi[1];
                lo[1] = 0, hi[1] = N;
            }
            mt_tensor *out = mt_matmul(ctx, &vr, &vb);
            if (bench_region_from_tensor(ref, 0, nd, lo, hi, out, err, errlen)) goto done;
        }
    if (!ref->full) {
        char rows_s[96];
        if (nrr == 2)
            snprintf(rows_s, sizeof rows_s, "rows 0-%lld and %lld-%lld", (long long)rlen[0] - 1,
                     (long long)rstart[1], (long long)M - 1);
        else
            snprintf(rows_s, sizeof rows_s, "all rows");
        if (batched && nbr == 2)
            snprintf(ref->note, sizeof ref->note, "%s of batch entries 0 and %lld", rows_s,
                     (long long)batch - 1);
        else
            snprintf(ref->note, sizeof ref->note, "%s", rows_s);
    }
    rc = 0;
done:
    mt_ctx_free(ctx);
    free(ha);
    free(hb);
    return rc;
}

const bench_sweep bench_sweep_matmul = {
    .name = "matmul",
    .rate_unit = "GFLOP/s",
    .work_note = "2 M N K FLOP per product (times the batch)",
    .builtin = mm_builtin,
    .parse_line = mm_parse_line,
    .applies = mm_applies,
    .setup = mm_setup,
    .run = mm_run,
    .outputs = mm_outputs,
    .release = mm_release,
    .reference = mm_reference,
    .naive_work = mm_naive_work,
};
