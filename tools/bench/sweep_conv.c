/* The conv1d and conv2d sweeps, forward and forward + backward, through the public mt_conv1d /
 * mt_conv2d and mt_backward, against im2col + OpenBLAS sgemm. MiniTorch's form: stride 1, output
 * as large as the input, zeros past the right/bottom edge.
 *
 * Work: 2 B Cout Cin K H W FLOP for the forward (every output position runs the whole kernel),
 * three times that for forward + backward (the input and weight gradients are one such product
 * each). */

#include "baseline_im2col.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which sweep a case belongs to: by rank, 3 for conv1d, 4 for conv2d. */
static bool is_conv2d(const bench_case *c) { return c->in[0].ndim == 4; }

static bench_conv_dims dims_of(const bench_case *c) {
    const bench_shape *x = &c->in[0], *w = &c->in[1];
    bench_conv_dims d = {x->d[0], x->d[1], 1, 0, w->d[0], 1, 0};
    if (is_conv2d(c)) {
        d.H = x->d[2], d.W = x->d[3], d.KH = w->d[2], d.KW = w->d[3];
    } else {
        d.W = x->d[2], d.KW = w->d[2];
    }
    return d;
}

static double forward_flop(const bench_case *c) {
    bench_conv_dims d = dims_of(c);
    return 2.0 * (double)(d.B * d.Cout * d.Cin * d.KH * d.KW * d.H * d.W);
}

static void conv_case(bench_case *c, const char *bench, bench_shape x, bench_shape w,
                      bool backward) {
    memset(c, 0, sizeof *c);
    char sx[96], sw[96];
    c->in[0] = x;
    c->in[1] = w;
    c->nin = 2;
    c->backward = backward;
    snprintf(c->what, sizeof c->what, backward ? "fwd+bwd" : "fwd");
    snprintf(c->id, sizeof c->id, "%s/%s@%s/%s", bench, bench_shape_x(&x, sx, sizeof sx),
             bench_shape_x(&w, sw, sizeof sw), backward ? "fwdbwd" : "fwd");
    c->work = forward_flop(c) * (backward ? 3 : 1);
}

/* Forward and forward + backward rows for each shape pair. */
static int add_pairs(const char *bench, const int64_t (*x)[4], const int64_t (*w)[4], int npairs,
                     int rank, bench_case *cases, int max) {
    int n = 0;
    for (int p = 0; p < npairs; p++)
        for (int bwd = 0; bwd < 2 && n < max; bwd++) {
            bench_shape sx = {rank, {0}}, sw = {rank, {0}};
            memcpy(sx.d, x[p], sizeof(int64_t) * (size_t)rank);
            memcpy(sw.d, w[p], sizeof(int64_t) * (size_t)rank);
            conv_case(&cases[n++], bench, sx, sw, bwd);
        }
    return n;
}

static int conv1d_builtin(bool quick, bench_case *cases, int max) {
    /* the MiniTorch README's table, then a sentiment CNN layer (GloVe 50-d vectors, 100 filters
     * of widths 3 and 5, MiniTorch's SST-2 model) */
    static const int64_t x[][4] = {{1, 1, 8}, {2, 2, 10}, {4, 3, 12}, {8, 4, 16}, {16, 8, 20},
                                   {16, 50, 64}, {16, 50, 64}};
    static const int64_t w[][4] = {{1, 1, 3}, {2, 2, 4}, {3, 3, 5}, {4, 4, 6}, {8, 8, 7},
                                   {100, 50, 3}, {100, 50, 5}};
    if (quick) return add_pairs("conv1d", x + 1, w + 1, 2, 3, cases, max);
    return add_pairs("conv1d", x, w, (int)(sizeof x / sizeof x[0]), 3, cases, max);
}

static int conv2d_builtin(bool quick, bench_case *cases, int max) {
    /* the MiniTorch README's table; MiniTorch's MNIST network's two layers (batch 16); a middle
     * ResNet-style layer at two sizes and a first ImageNet layer (7x7, 3 -> 64 channels) */
    static const int64_t x[][4] = {{1, 1, 8, 8},       {2, 2, 12, 12},    {4, 4, 16, 16},
                                   {8, 8, 20, 20},     {16, 16, 24, 24},  {16, 1, 28, 28},
                                   {16, 4, 28, 28},    {32, 128, 28, 28}, {64, 64, 56, 56},
                                   {8, 3, 224, 224}};
    static const int64_t w[][4] = {{1, 1, 3, 3},    {2, 2, 4, 4},     {4, 4, 5, 5},
                                   {8, 8, 4, 4},    {16, 16, 3, 3},   {4, 1, 3, 3},
                                   {8, 4, 3, 3},    {128, 128, 3, 3}, {64, 64, 3, 3},
                                   {64, 3, 7, 7}};
    if (quick) return add_pairs("conv2d", x + 1, w + 1, 2, 4, cases, max);
    return add_pairs("conv2d", x, w, (int)(sizeof x / sizeof x[0]), 4, cases, max);
}

static int conv_parse(const char *bench, int rank, int ntok, char **tok, bench_case *cases,
                      int max) {
    bench_shape x, w;
    if (ntok != 2 || bench_shape_parse(tok[0], &x) || bench_shape_parse(tok[1], &w) ||
        x.ndim != rank || w.ndim != rank || x.d[1] != w.d[1]) {
        fprintf(stderr, "%s lines are 'INPUT WEIGHT' of %d dims with the same Cin, e.g. %s\n",
                bench, rank, rank == 3 ? "'16x4x32 8x4x5'" : "'16x1x28x28 4x1x3x3'");
        return -1;
    }
    /* the output (B,Cout,H[,W]) and the OpenBLAS baseline's im2col (Cin*K.., H[,W]) */
    int64_t out[4] = {x.d[0], w.d[0], x.d[2], rank == 4 ? x.d[3] : 1};
    int64_t col[5] = {x.d[1], w.d[2], rank == 4 ? w.d[3] : 1, x.d[2], rank == 4 ? x.d[3] : 1};
    if (!bench_numel_ok("the output", 4, out) || !bench_numel_ok("the im2col buffer", 5, col))
        return -1;
    if (max < 2) return -1;
    conv_case(&cases[0], bench, x, w, false);
    conv_case(&cases[1], bench, x, w, true);
    return 2;
}
static int conv1d_parse(int ntok, char **tok, bench_case *cases, int max) {
    return conv_parse("conv1d", 3, ntok, tok, cases, max);
}
static int conv2d_parse(int ntok, char **tok, bench_case *cases, int max) {
    return conv_parse("conv2d", 4, ntok, tok, cases, max);
}

static bool conv_applies(const bench_case *c, const bench_impl *impl) {
    if (impl->kind == IMPL_OPENBLAS) return true;
    if (impl->kind != IMPL_BACKEND) return false;
    mt_op f = is_conv2d(c) ? MT_OP_CONV2D : MT_OP_CONV1D;
    if (!mt_backend_supports(impl->backend, f)) return false;
    mt_op back_input = is_conv2d(c) ? MT_OP_CONV2D_BACK_INPUT : MT_OP_CONV1D_BACK_INPUT;
    mt_op back_weight = is_conv2d(c) ? MT_OP_CONV2D_BACK_WEIGHT : MT_OP_CONV1D_BACK_WEIGHT;
    return !c->backward || (mt_backend_supports(impl->backend, back_input) &&
                            mt_backend_supports(impl->backend, back_weight));
}

static mt_tensor *conv(mt_ctx *ctx, const bench_case *c, mt_tensor *x, mt_tensor *w) {
    return is_conv2d(c) ? mt_conv2d(ctx, x, w, NULL) : mt_conv1d(ctx, x, w, NULL);
}

typedef struct conv_inst {
    const bench_case *c;
    const bench_impl *impl;
    mt_ctx *data, *scratch;
    mt_tensor *x, *w, *g;         /* inputs and the incoming gradient (data) */
    mt_tensor *out, *gx, *gw;     /* the latest iteration's results (scratch) */
    float *hx, *hw, *hg;          /* host inputs */
    float *hout, *hgx, *hgw, *col, *gcol; /* OpenBLAS results and workspaces */
    bench_conv_dims d;
} conv_inst;

static void conv_release(void *p) {
    conv_inst *m = p;
    if (!m) return;
    mt_ctx_free(m->scratch);
    mt_ctx_free(m->data);
    float *bufs[] = {m->hx, m->hw, m->hg, m->hout, m->hgx, m->hgw, m->col, m->gcol};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(m);
}

static int conv_run(void *p, char *err, size_t errlen) {
    conv_inst *m = p;
    if (m->impl->kind == IMPL_OPENBLAS) {
        bench_im2col_conv(&m->d, m->hx, m->hw, m->c->backward ? m->hg : NULL, m->hout, m->hgx,
                          m->hgw, m->col, m->gcol);
        return 0;
    }
    mt_ctx_reset(m->scratch);
    if (!m->c->backward) {
        m->out = conv(m->scratch, m->c, m->x, m->w);
        if (!m->out) goto fail;
        return 0;
    }
    /* fresh leaves each iteration, so the gradients are written, not accumulated */
    mt_tensor *x = mt_detach(m->scratch, m->x), *w = mt_detach(m->scratch, m->w);
    if (!x || !w || mt_requires_grad(x, true) || mt_requires_grad(w, true)) goto fail;
    m->out = conv(m->scratch, m->c, x, w);
    if (!m->out || mt_backward(m->scratch, m->out, m->g) != MT_OK) goto fail;
    m->gx = x->grad;
    m->gw = w->grad;
    return 0;
fail:
    snprintf(err, errlen, "%s on %s: %s", m->c->id, m->impl->name, mt_last_error());
    return -1;
}

static float *host_buffer(int64_t n, uint64_t seed, bool fill, char *err, size_t errlen) {
    float *p = bench_host_floats(n, err, errlen);
    if (!p) return NULL;
    if (fill)
        bench_fill(p, n, seed);
    else
        memset(p, 0, (size_t)n * sizeof(float)); /* touch every page before timing */
    return p;
}

static void *conv_setup(const bench_case *c, const bench_impl *impl, char *err, size_t errlen) {
    conv_inst *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->c = c;
    m->impl = impl;
    m->d = dims_of(c);
    const bench_conv_dims *d = &m->d;
    int64_t nx = d->B * d->Cin * d->H * d->W, nw = d->Cout * d->Cin * d->KH * d->KW;
    int64_t ng = d->B * d->Cout * d->H * d->W;
    bench_shape gshape = c->in[0];
    gshape.d[1] = d->Cout;
    char why[200] = "";
    m->hx = host_buffer(nx, bench_input_seed(c, 0), true, why, sizeof why);
    m->hw = host_buffer(nw, bench_input_seed(c, 1), true, why, sizeof why);
    m->hg = host_buffer(ng, bench_input_seed(c, 2), true, why, sizeof why);
    bool ok = m->hx && m->hw && m->hg;
    if (ok && impl->kind == IMPL_OPENBLAS) {
        int64_t ncol = d->Cin * d->KH * d->KW * d->H * d->W;
        ok = (m->hout = host_buffer(ng, 0, false, why, sizeof why)) &&
             (m->col = host_buffer(ncol, 0, false, why, sizeof why));
        if (ok && c->backward)
            ok = (m->hgx = host_buffer(nx, 0, false, why, sizeof why)) &&
                 (m->hgw = host_buffer(nw, 0, false, why, sizeof why)) &&
                 (m->gcol = host_buffer(ncol, 0, false, why, sizeof why));
    } else if (ok) {
        m->data = mt_ctx_new(impl->backend);
        m->scratch = mt_ctx_new(impl->backend);
        ok = m->data && m->scratch &&
             (m->x = mt_from_array(m->data, c->in[0].ndim, c->in[0].d, m->hx)) &&
             (m->w = mt_from_array(m->data, c->in[1].ndim, c->in[1].d, m->hw)) &&
             (m->g = mt_from_array(m->data, gshape.ndim, gshape.d, m->hg));
    }
    if (!ok) {
        snprintf(err, errlen, "making the inputs for %s on %s: %s", c->id, impl->name,
                 why[0] ? why : mt_last_error());
        conv_release(m);
        return NULL;
    }
    if (conv_run(m, err, errlen) != 0) { /* warm-up */
        conv_release(m);
        return NULL;
    }
    return m;
}

static void host_output(bench_output *o, const char *name, const bench_shape *s, const float *src,
                        char *err, size_t errlen, int *rc) {
    o->name = name;
    o->shape = *s;
    size_t bytes = (size_t)bench_shape_numel(s) * sizeof(float);
    if (!(o->data = malloc(bytes))) {
        snprintf(err, errlen, "out of memory");
        *rc = -1;
        return;
    }
    memcpy(o->data, src, bytes);
}

static int conv_outputs(void *p, bench_output *outs, char *err, size_t errlen) {
    conv_inst *m = p;
    const bench_case *c = m->c;
    int n = c->backward ? 3 : 1;
    if (m->impl->kind == IMPL_OPENBLAS) {
        bench_shape oshape = c->in[0];
        oshape.d[1] = m->d.Cout;
        int rc = n;
        host_output(&outs[0], "out", &oshape, m->hout, err, errlen, &rc);
        if (c->backward) {
            host_output(&outs[1], "grad_input", &c->in[0], m->hgx, err, errlen, &rc);
            host_output(&outs[2], "grad_weight", &c->in[1], m->hgw, err, errlen, &rc);
        }
        return rc;
    }
    if (bench_output_from_tensor("out", m->out, &outs[0], err, errlen)) return -1;
    if (c->backward && (bench_output_from_tensor("grad_input", m->gx, &outs[1], err, errlen) ||
                        bench_output_from_tensor("grad_weight", m->gw, &outs[2], err, errlen)))
        return -1;
    return n;
}

static double conv_naive_work(const bench_case *c) { return c->work; }

/* Index ranges of two dims (n1, n2) the reference can afford at `cost` per (1, 1) cell: all of
 * both, or a head and a tail of each. */
static void choose(int64_t n1, int64_t n2, double cost, double budget, int64_t *keep1,
                   int64_t *keep2) {
    if (cost * (double)n1 * (double)n2 <= budget) {
        *keep1 = n1, *keep2 = n2;
        return;
    }
    *keep1 = n1 < 2 ? n1 : 2;
    *keep2 = (int64_t)(budget / (cost * (double)*keep1));
    if (*keep2 >= n2) {
        *keep2 = n2;
        *keep1 = (int64_t)(budget / (cost * (double)n2));
        if (*keep1 < 1) *keep1 = 1;
    }
    if (*keep2 < 1) *keep2 = 1;
}

/* One naive piece: x[b], w[o][:, i], g[b, o] narrowed; returns the regions it yields. */
typedef struct piece {
    int64_t b0, bl, o0, ol, i0, il;
} piece;

static int run_piece(mt_ctx *ctx, const bench_case *c, mt_tensor *x, mt_tensor *w, mt_tensor *g,
                     const piece *p, int which, bench_reference *ref, char *err, size_t errlen) {
    mt_tensor xb, xv, wo, wv, gb, gv;
    bench_narrow(x, 0, p->b0, p->bl, &xb);
    bench_narrow(&xb, 1, p->i0, p->il, &xv);
    bench_narrow(w, 0, p->o0, p->ol, &wo);
    bench_narrow(&wo, 1, p->i0, p->il, &wv);
    bench_narrow(g, 0, p->b0, p->bl, &gb);
    bench_narrow(&gb, 1, p->o0, p->ol, &gv);
    if (which == 1) mt_requires_grad(&xv, true);
    if (which == 2) mt_requires_grad(&wv, true);
    mt_tensor *out = conv(ctx, c, &xv, &wv);
    int nd = c->in[0].ndim;
    int64_t lo[4] = {0}, hi[4];
    if (which == 0) { /* out[b, o] */
        memcpy(hi, out ? out->shape : c->in[0].d, sizeof hi);
        lo[0] = p->b0, hi[0] = p->b0 + p->bl, lo[1] = p->o0, hi[1] = p->o0 + p->ol;
        return bench_region_from_tensor(ref, 0, nd, lo, hi, out, err, errlen);
    }
    if (!out || mt_backward(ctx, out, &gv) != MT_OK) {
        snprintf(err, errlen, "naive reference backward: %s", mt_last_error());
        return -1;
    }
    if (which == 1) { /* grad_in[b, i] */
        memcpy(hi, c->in[0].d, sizeof hi);
        lo[0] = p->b0, hi[0] = p->b0 + p->bl, lo[1] = p->i0, hi[1] = p->i0 + p->il;
        return bench_region_from_tensor(ref, 1, nd, lo, hi, xv.grad, err, errlen);
    }
    memcpy(hi, c->in[1].d, sizeof hi); /* grad_w[o, i] */
    lo[0] = p->o0, hi[0] = p->o0 + p->ol, lo[1] = p->i0, hi[1] = p->i0 + p->il;
    return bench_region_from_tensor(ref, 2, nd, lo, hi, wv.grad, err, errlen);
}

static void describe(char *buf, size_t len, const char *what, const char *d1, int64_t n1,
                     int64_t k1, const char *d2, int64_t n2, int64_t k2) {
    if (k1 >= n1 && k2 >= n2) return;
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s: %s %s of %lld, %s %s of %lld", used ? "; " : "",
             what, k1 >= n1 ? "all" : "first+last", d1, (long long)n1,
             k2 >= n2 ? "all" : "first+last", d2, (long long)n2);
}

/* Sliced so the naive backend stays within budget: out on (images, output channels), grad_input
 * on (images, input channels), grad_weight on (output, input channels), heads and tails. */
static int conv_reference(const bench_case *c, double budget, bench_reference *ref, char *err,
                          size_t errlen) {
    bench_conv_dims d = dims_of(c);
    double F = forward_flop(c);
    int rc = -1;
    mt_ctx *ctx = mt_ctx_new(mt_backend_naive()), *work = mt_ctx_new(mt_backend_naive());
    bench_shape gshape = c->in[0];
    gshape.d[1] = d.Cout;
    char why[200] = "";
    float *hx = host_buffer(bench_shape_numel(&c->in[0]), bench_input_seed(c, 0), true, why,
                            sizeof why);
    float *hw = host_buffer(bench_shape_numel(&c->in[1]), bench_input_seed(c, 1), true, why,
                            sizeof why);
    float *hg = host_buffer(bench_shape_numel(&gshape), bench_input_seed(c, 2), true, why,
                            sizeof why);
    mt_tensor *x, *w, *g;
    if (!ctx || !work || !hx || !hw || !hg ||
        !(x = mt_from_array(ctx, c->in[0].ndim, c->in[0].d, hx)) ||
        !(w = mt_from_array(ctx, c->in[1].ndim, c->in[1].d, hw)) ||
        !(g = mt_from_array(ctx, gshape.ndim, gshape.d, hg))) {
        snprintf(err, errlen, "naive reference inputs: %s", why[0] ? why : mt_last_error());
        goto done;
    }
    /* per-cell costs: a forward restricted to one (b, o) pair, a forward + backward to one (b, i)
     * or (o, i) pair */
    double cost[3] = {F / (double)(d.B * d.Cout), 2 * F / (double)(d.B * d.Cin),
                      2 * F / (double)(d.Cout * d.Cin)};
    int64_t n1[3] = {d.B, d.B, d.Cout}, n2[3] = {d.Cout, d.Cin, d.Cin};
    const char *names1[3] = {"images", "images", "output channels"};
    const char *names2[3] = {"output channels", "input channels", "input channels"};
    const char *what[3] = {"out", "grad_input", "grad_weight"};
    ref->full = true;
    ref->note[0] = '\0';
    for (int which = 0; which < (c->backward ? 3 : 1); which++) {
        int64_t k1, k2, s1[2], l1[2], s2[2], l2[2];
        choose(n1[which], n2[which], cost[which], budget, &k1, &k2);
        int r1 = bench_head_tail(n1[which], k1, s1, l1), r2 = bench_head_tail(n2[which], k2, s2, l2);
        if (k1 < n1[which] || k2 < n2[which]) ref->full = false;
        describe(ref->note, sizeof ref->note, what[which], names1[which], n1[which], k1,
                 names2[which], n2[which], k2);
        for (int a = 0; a < r1; a++)
            for (int b = 0; b < r2; b++) {
                piece p = {0, d.B, 0, d.Cout, 0, d.Cin};
                if (which == 0) p.b0 = s1[a], p.bl = l1[a], p.o0 = s2[b], p.ol = l2[b];
                if (which == 1) p.b0 = s1[a], p.bl = l1[a], p.i0 = s2[b], p.il = l2[b];
                if (which == 2) p.o0 = s1[a], p.ol = l1[a], p.i0 = s2[b], p.il = l2[b];
                if (run_piece(work, c, x, w, g, &p, which, ref, err, errlen) != 0) goto done;
                mt_ctx_reset(work); /* the region holds its copy; leaf gradients live in ctx */
            }
    }
    rc = 0;
done:
    mt_ctx_free(work);
    mt_ctx_free(ctx);
    free(hx);
    free(hw);
    free(hg);
    return rc;
}

const bench_sweep bench_sweep_conv1d = {
    .name = "conv1d",
    .rate_unit = "GFLOP/s",
    .work_note = "2 B Cout Cin K W FLOP for the forward, 3 times that for forward+backward",
    .builtin = conv1d_builtin,
    .parse_line = conv1d_parse,
    .applies = conv_applies,
    .setup = conv_setup,
    .run = conv_run,
    .outputs = conv_outputs,
    .release = conv_release,
    .reference = conv_reference,
    .naive_work = conv_naive_work,
};

const bench_sweep bench_sweep_conv2d = {
    .name = "conv2d",
    .rate_unit = "GFLOP/s",
    .work_note = "2 B Cout Cin KH KW H W FLOP for the forward, 3 times that for forward+backward",
    .builtin = conv2d_builtin,
    .parse_line = conv2d_parse,
    .applies = conv_applies,
    .setup = conv_setup,
    .run = conv_run,
    .outputs = conv_outputs,
    .release = conv_release,
    .reference = conv_reference,
    .naive_work = conv_naive_work,
};

