/* Golden-file checks of one op on one backend: the kernel against NumPy's float64 output (with
 * contiguous and with permuted, padded inputs), then the differentiable function's output and its
 * autodiff gradients against the file's gradients. */
#include "verify_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Golden gradients are exact float64 values: only float32 rounding separates them. */
static const vf_tol GOLDEN_GRAD_TOL = {1e-5, 1e-5, 1e-9, VF_SCALE_ONE};

static bool golden_problem(const vf_op *op, const vf_golden *g, vf_problem *p, float **in,
                           const vf_golden_array **out, char *err, size_t len) {
    memset(p, 0, sizeof *p);
    if (!vf_params_parse(g->params, &p->params, &p->conv, err, len)) return false;
    for (int i = 0; i < VF_MAX_IN && op->golden_in[i]; i++) {
        const vf_golden_array *a = vf_golden_get(g, op->golden_in[i]);
        if (!a) {
            snprintf(err, len, "has no array '%s' (%s reads it as input %d)", op->golden_in[i],
                     vf_op_label(op), i);
            return false;
        }
        p->nin = i + 1;
        p->ndim[i] = a->ndim;
        memcpy(p->shape[i], a->shape, sizeof a->shape);
        int64_t n = vf_numel(a->ndim, a->shape);
        if (!(in[i] = malloc(sizeof(float) * (size_t)n))) {
            snprintf(err, len, "out of memory");
            return false;
        }
        for (int64_t e = 0; e < n; e++) {
            in[i][e] = (float)a->data[e];
            if (!isnan(a->data[e]) && (double)in[i][e] != a->data[e]) {
                snprintf(err, len, "array %s element %lld (%.17g) is not a float32 value", a->name,
                         (long long)e, a->data[e]);
                return false;
            }
        }
    }
    if (!(*out = vf_golden_get(g, op->golden_out))) {
        snprintf(err, len, "has no array '%s' (the expected output of %s)", op->golden_out,
                 vf_op_label(op));
        return false;
    }
    p->out_ndim = (*out)->ndim;
    memcpy(p->out_shape, (*out)->shape, sizeof p->out_shape);
    if (!op->family->valid(op, p)) {
        char params[256];
        vf_params_str(op->family->params_used, &p->params, &p->conv, params, sizeof params);
        snprintf(err, len, "has shapes %s cannot take (params '%s')", vf_op_label(op), params);
        return false;
    }
    return true;
}

/* The engine computes float32: the best it can give is the golden value rounded to float32. */
static double *rounded(const vf_golden_array *a) {
    int64_t n = vf_numel(a->ndim, a->shape);
    double *w = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; w && i < n; i++) w[i] = (double)(float)a->data[i];
    return w;
}

static void golden_hint(vf_session *s, const vf_cell *cell, const vf_golden *g) {
    vf_emit(s, "  reproduce: ./verify --op %s --backend %s%s   (golden file %s)\n",
            vf_op_label(cell->op), mt_backend_name(cell->b), s->reproduce_extra, g->path);
    if (cell->b == mt_backend_naive())
        vf_emit(s, "  HINT: if the engine's semantics changed on purpose, regenerate the golden "
                   "files: python3 golden/gen.py\n");
}

static const char *const VARIANTS[2] = {"contiguous inputs", "permuted, padded inputs"};

static void permuted_layouts(const vf_problem *p, uint64_t seed, vf_data *d) {
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    for (int i = 0; i < p->nin; i++)
        vf_layout_make(VF_L_PERMUTED, p->ndim[i], p->shape[i], &rng, &d->layout[i]);
}

static double *constant(double v, int64_t n) {
    double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; d && i < n; i++) d[i] = v;
    return d;
}

static double max_finite_abs(const double *v, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

/* The backward half of golden_gradients: seed with r, compare each input's gradient. */
static void golden_backward(const vf_op *op, const vf_golden *g, mt_ctx *ctx, mt_ctx *host,
                            const mt_backend *b, const vf_problem *p, mt_tensor *out,
                            mt_tensor **leaves, vf_outcome *o) {
    (void)op;
    const vf_golden_array *ra = vf_golden_get(g, "r");
    int64_t n = vf_numel(ra->ndim, ra->shape);
    float *rv = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; rv && i < n; i++) rv[i] = (float)ra->data[i];
    mt_tensor *r = rv ? mt_to(ctx, mt_from_array(host, ra->ndim, ra->shape, rv), b) : NULL;
    free(rv);
    if (!r || mt_backward(ctx, out, r) != MT_OK) {
        vf_failed(o, VF_FAIL_ERROR, "backward failed: %s", mt_last_error());
        return;
    }
    for (int i = 0; i < p->nin && o->failure == VF_FAIL_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "grad%d", i);
        const vf_golden_array *ga = vf_golden_get(g, name);
        if (!ga) continue;
        int64_t m = vf_numel(ga->ndim, ga->shape);
        if (m != mt_numel(leaves[i])) {
            vf_failed(o, VF_FAIL_GOLDEN_FILE, "array %s has %lld elements, input %d has %lld", name,
                      (long long)m, i, (long long)mt_numel(leaves[i]));
            return;
        }
        float *got = malloc(sizeof(float) * (size_t)m);
        double *want = rounded(ga), *scale = want ? constant(1 + max_finite_abs(want, m), m) : NULL;
        vf_cmp c = {.failure = VF_FAIL_ERROR};
        if (got && scale && vf_leaf_grad(leaves[i], got))
            vf_compare(got, want, scale, m, &GOLDEN_GRAD_TOL, &c);
        if (c.failure != VF_FAIL_COUNT) {
            char desc[VF_MSG];
            char what[32];
            snprintf(what, sizeof what, "d/d in%d", i);
            vf_cmp_describe(&c, what, ga->ndim, ga->shape, "autodiff", "golden", desc, sizeof desc);
            vf_failed(o, VF_FAIL_GRADIENT, "gradient of sum(out * r): %s", desc);
        }
        free(got);
        free(want);
        free(scale);
    }
}

/* Through the public, differentiable function on the backend: its output against the golden
 * output, and autodiff seeded with the golden r against the golden gradients. */
static bool golden_gradients(vf_session *s, vf_cell *cell, const vf_golden *g, const vf_problem *p,
                             float **in, const double *want_out, const double *scale, int variant) {
    const vf_op *op = cell->op;
    const vf_golden_array *ra = vf_golden_get(g, "r");
    if (!ra) return true; /* no gradients in this file (a specials case) */
    vf_outcome o;
    vf_pass(&o);
    mt_ctx *ctx = mt_ctx_new(cell->b), *host = mt_ctx_new(mt_backend_naive());
    mt_tensor *leaves[VF_MAX_IN] = {NULL};
    vf_data d;
    memset(&d, 0, sizeof d);
    permuted_layouts(p, 0x601du, &d);
    bool ok = ctx && host;
    for (int i = 0; i < p->nin && ok; i++) {
        /* the plain variant moves the inputs with mt_to, as a program would */
        leaves[i] = variant == 0
                        ? mt_to(ctx, mt_from_array(host, p->ndim[i], p->shape[i], in[i]), cell->b)
                        : vf_tensor_on(ctx, cell->b, p->ndim[i], p->shape[i], &d.layout[i], in[i]);
        ok = leaves[i] && mt_requires_grad(leaves[i], true) == MT_OK;
    }
    mt_clear_error();
    mt_tensor *out = ok ? op->grad(ctx, leaves, p) : NULL;
    int64_t n = vf_numel(ra->ndim, ra->shape);
    char sa[MT_SHAPE_STR_LEN], sb[MT_SHAPE_STR_LEN];
    if (!out) {
        vf_failed(&o, mt_last_status() == MT_ERR_UNSUPPORTED ? VF_FAIL_UNSUPPORTED : VF_FAIL_ERROR,
                  "the differentiable function failed: %s", mt_last_error());
    } else if (!(out->ndim == ra->ndim &&
                 memcmp(out->shape, ra->shape, sizeof(int64_t) * (size_t)ra->ndim) == 0)) {
        vf_failed(&o, VF_FAIL_ERROR, "the differentiable function returned shape %s, expected %s",
                  mt_shape_str(out->ndim, out->shape, sa, sizeof sa),
                  mt_shape_str(ra->ndim, ra->shape, sb, sizeof sb));
    } else {
        float *vals = malloc(sizeof(float) * (size_t)n);
        vf_cmp c = {.failure = VF_FAIL_ERROR};
        if (vals && mt_to_host(out, vals) == MT_OK)
            vf_compare(vals, want_out, scale, n, &op->tol, &c);
        free(vals);
        if (c.failure != VF_FAIL_COUNT) {
            char desc[VF_MSG];
            vf_cmp_describe(&c, "out", ra->ndim, ra->shape, mt_backend_name(cell->b), "golden",
                            desc, sizeof desc);
            vf_failed(&o, c.failure, "the differentiable function's output: %s", desc);
        } else {
            golden_backward(op, g, ctx, host, cell->b, p, out, leaves, &o);
        }
    }
    mt_ctx_free(ctx);
    mt_ctx_free(host);
    s->sum.checks++;
    cell->checks++;
    if (o.failure == VF_FAIL_COUNT) return true;
    vf_cell_fail(s, cell, o.failure, "on golden file %s (%s, through autodiff)", g->file,
                 VARIANTS[variant]);
    vf_emit(s, "  %s\n", o.msg);
    golden_hint(s, cell, g);
    return false;
}

/* One golden file: the kernel with contiguous and with permuted inputs, then autodiff. */
static void golden_case(vf_session *s, vf_cell *cell, const vf_golden *g) {
    const vf_op *op = cell->op;
    vf_problem p;
    float *in[VF_MAX_IN] = {NULL};
    const vf_golden_array *outa = NULL;
    char err[VF_MSG];
    if (!golden_problem(op, g, &p, in, &outa, err, sizeof err)) {
        vf_cell_fail(s, cell, VF_FAIL_GOLDEN_FILE, "in %s", g->path);
        vf_emit(s, "  the file %s\n", err);
        vf_emit(s, "  HINT: regenerate the golden files: python3 golden/gen.py\n");
        for (int i = 0; i < VF_MAX_IN; i++) free(in[i]);
        return;
    }
    int64_t n = vf_numel(p.out_ndim, p.out_shape);
    vf_data d;
    memset(&d, 0, sizeof d);
    memcpy(d.in, in, sizeof in);
    vf_data_contiguous(&p, &d);
    double *want = rounded(outa), *scale = vf_error_scale(op, &p, &d);
    float *got = malloc(sizeof(float) * (size_t)n);
    bool ok = want && got;
    for (int variant = 0; variant < 2 && ok; variant++) {
        if (variant == 1) permuted_layouts(&p, 0x601du, &d);
        s->sum.checks++;
        cell->checks++;
        vf_result r;
        vf_run_kernel(op, cell->b, &p, &d, true, got, &r);
        vf_outcome o;
        vf_pass(&o);
        vf_cmp c;
        if (r.failure != VF_FAIL_COUNT) {
            vf_failed(&o, r.failure, "%s", r.msg);
        } else {
            vf_compare(got, want, scale, n, &op->tol, &c);
            vf_track_cmp(cell, &c);
            if (c.failure != VF_FAIL_COUNT) {
                char desc[VF_MSG];
                vf_cmp_describe(&c, "out", p.out_ndim, p.out_shape, mt_backend_name(cell->b),
                                "golden", desc, sizeof desc);
                vf_failed(&o, c.failure, "%s", desc);
            } else if (op->property && !op->property(&p, &d, got, o.msg, sizeof o.msg)) {
                o.failure = VF_FAIL_PROPERTY;
            }
        }
        if (o.failure != VF_FAIL_COUNT) {
            vf_cell_fail(s, cell, o.failure, "on golden file %s (%s)", g->file, VARIANTS[variant]);
            vf_emit(s, "  %s\n", o.msg);
            golden_hint(s, cell, g);
            ok = false;
        }
    }
    for (int variant = 0; ok && op->grad && variant < 2; variant++)
        ok = golden_gradients(s, cell, g, &p, in, want, scale, variant);
    free(want);
    free(scale);
    free(got);
    vf_data_free(&d);
}

void vf_check_golden(vf_session *s, vf_cell *cell) {
    const vf_op *op = cell->op;
    if (!op->golden_op) { /* a new op's entry cannot leave the reference unpinned */
        vf_cell_fail(s, cell, VF_FAIL_GOLDEN_FILE, "(the op's table entry names no golden files)");
        vf_emit(s, "  HINT: add its cases to golden/gen.py and name them in TABLE "
                   "(tools/verify/verify_ops.c)\n");
        return;
    }
    int found = 0, skipped = 0;
    for (int i = 0; i < s->golden.count; i++)
        if (strcmp(s->golden.cases[i].op, op->golden_op) == 0) {
            found++;
            /* one broken kernel fails every file the same way: the first one says it */
            if (cell->failures)
                skipped++;
            else
                golden_case(s, cell, &s->golden.cases[i]);
        }
    if (skipped) vf_emit(s, "  (%d more golden file(s) not checked after that failure)\n", skipped);
    if (found == 0) {
        vf_cell_fail(s, cell, VF_FAIL_GOLDEN_FILE, "(no golden file for op '%s' in %s)",
                     op->golden_op, s->cfg->golden_dir);
        vf_emit(s, "  HINT: generate them: python3 golden/gen.py, or point --golden-dir at "
                   "golden/cases\n");
    }
}
