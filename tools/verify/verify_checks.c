/* The three checks of one op on one backend: golden files, random cases against the naive
 * reference, and gradients against central differences. A failing random or gradient case is
 * shrunk (smaller sizes, plainer choices, contiguous storage, simpler values) while it keeps
 * failing the same way, then printed with the command that reproduces it. */
#include "verify_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Golden gradients are exact float64 values: only float32 rounding separates them. */
static const vf_tol GOLDEN_GRAD_TOL = {1e-5, 1e-5, 1e-9, VF_SCALE_ONE};
#define SHRINK_BUDGET 250

typedef struct outcome {
    vf_failure failure; /* VF_FAIL_COUNT: passed */
    char msg[VF_MSG];
    double max_abs, max_rel, worst;
} outcome;

static void pass(outcome *o) {
    memset(o, 0, sizeof *o);
    o->failure = VF_FAIL_COUNT;
}

static void failed(outcome *o, vf_failure kind, const char *fmt, ...) MT_PRINTF(3, 4);
static void failed(outcome *o, vf_failure kind, const char *fmt, ...) {
    o->failure = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof o->msg, fmt, ap);
    va_end(ap);
}

/* Records a failure of the cell and prints its first line. */
static void cell_fail(vf_session *s, vf_cell *cell, vf_failure kind, const char *fmt, ...)
    MT_PRINTF(4, 5);
static void cell_fail(vf_session *s, vf_cell *cell, vf_failure kind, const char *fmt, ...) {
    char what[VF_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cell->failures++;
    s->sum.failures[kind]++;
    if (kind == VF_FAIL_UNSUPPORTED) cell->unsupported = true;
    vf_emit(s, "\nFAIL %s on %s: %s %s\n", vf_op_label(cell->op), mt_backend_name(cell->b),
            vf_failure_name(kind), what);
}

static void track(vf_cell *cell, double max_abs, double max_rel, double worst) {
    if (max_abs > cell->max_abs) cell->max_abs = max_abs;
    if (max_rel > cell->max_rel) cell->max_rel = max_rel;
    if (worst > cell->worst) cell->worst = worst;
}

static double *to_double(const float *f, int64_t n) {
    double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; d && i < n; i++) d[i] = f[i];
    return d;
}

/* The error scale of op->tol for these inputs (NULL: 1 everywhere). */
static double *error_scale(const vf_op *op, const vf_problem *p, const vf_data *d) {
    int64_t n = vf_numel(p->out_ndim, p->out_shape);
    if (op->tol.scale == VF_SCALE_ONE) return NULL;
    if (op->tol.scale == VF_SCALE_IN0_MAX) {
        double m = 0;
        for (int64_t i = 0; i < vf_numel(p->ndim[0], p->shape[0]); i++)
            if (isfinite(d->in[0][i]) && fabs(d->in[0][i]) > m) m = fabs(d->in[0][i]);
        double *s = malloc(sizeof(double) * (size_t)n);
        for (int64_t i = 0; s && i < n; i++) s[i] = 1 + m;
        return s;
    }
    /* the naive kernel (or add) on |inputs|: how large the terms being summed were */
    vf_data a;
    memset(&a, 0, sizeof a);
    bool ok = true;
    for (int i = 0; i < p->nin && ok; i++) {
        int64_t m = vf_numel(p->ndim[i], p->shape[i]);
        ok = (a.in[i] = malloc(sizeof(float) * (size_t)m)) != NULL;
        for (int64_t k = 0; ok && k < m; k++) a.in[i][k] = fabsf(d->in[i][k]);
    }
    vf_data_contiguous(p, &a);
    vf_op abs_op = *op;
    if (op->tol.scale == VF_SCALE_SUM_ABS) abs_op.op = MT_OP_ADD;
    float *out = ok ? malloc(sizeof(float) * (size_t)n) : NULL;
    double *s = NULL;
    if (out) {
        vf_result r;
        vf_run_kernel(&abs_op, mt_backend_naive(), p, &a, false, out, &r);
        if (r.failure == VF_FAIL_COUNT) s = to_double(out, n);
    }
    free(out);
    vf_data_free(&a);
    return s;
}

/* ------------------------------------------------------------------ describing cases */
static void layout_str(const vf_layout *l, int ndim, char *buf, size_t len) {
    if (l->kind == VF_L_CONTIGUOUS) {
        snprintf(buf, len, "contiguous");
        return;
    }
    char s[MT_SHAPE_STR_LEN];
    snprintf(buf, len, "strides %s offset %lld (%s)", mt_shape_str(ndim, l->strides, s, sizeof s),
             (long long)l->offset,
             l->kind == VF_L_PERMUTED ? "permuted, padded storage" : "stride-0 broadcast view");
}

static void print_values(vf_session *s, const char *name, const float *v, int64_t n) {
    vf_emit(s, "      %s = [", name);
    for (int64_t i = 0; i < n; i++) vf_emit(s, "%s%.9g", i ? ", " : "", (double)v[i]);
    vf_emit(s, "] (row-major)\n");
}

static void print_case(vf_session *s, const vf_op *op, const vf_case *c, const vf_problem *p,
                       bool gradient) {
    vf_data d;
    if (!vf_data_make(c, p, gradient, &d)) return;
    char sh[MT_SHAPE_STR_LEN], lay[256], params[256];
    int64_t total = 0;
    for (int i = 0; i < p->nin; i++) {
        layout_str(&d.layout[i], p->ndim[i], lay, sizeof lay);
        vf_emit(s, "      in%d %s, %s\n", i, mt_shape_str(p->ndim[i], p->shape[i], sh, sizeof sh),
                lay);
        total += vf_numel(p->ndim[i], p->shape[i]);
    }
    if (!gradient) { /* a gradient case's output is whatever the function returns */
        if (p->in_place)
            snprintf(lay, sizeof lay, "in place (the output is in0)");
        else
            layout_str(&d.out_layout, p->out_ndim, lay, sizeof lay);
        vf_emit(s, "      out %s, %s\n", mt_shape_str(p->out_ndim, p->out_shape, sh, sizeof sh),
                lay);
    }
    vf_params_str(op->family->params_used, &p->params, &p->conv, params, sizeof params);
    if (params[0]) vf_emit(s, "      params: %s\n", params);
    vf_emit(s, "      values: %s\n", vf_range_name(c->range));
    if (total <= 24)
        for (int i = 0; i < p->nin; i++) {
            char name[16];
            snprintf(name, sizeof name, "in%d", i);
            print_values(s, name, d.in[i], vf_numel(p->ndim[i], p->shape[i]));
        }
    vf_data_free(&d);
}

/* ------------------------------------------------------------------ golden files */
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
    vf_emit(s, "  reproduce: ./verify --op %s --backend %s   (golden file %s)\n",
            vf_op_label(cell->op), mt_backend_name(cell->b), g->path);
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

/* A leaf's gradient on the host (zeros when none flowed into it). */
static bool leaf_grad(const mt_tensor *leaf, float *dst) {
    int64_t n = mt_numel(leaf);
    if (!leaf->grad) {
        memset(dst, 0, sizeof(float) * (size_t)n);
        return true;
    }
    return mt_to_host(leaf->grad, dst) == MT_OK;
}

/* The backward half of golden_gradients: seed with r, compare each input's gradient. */
static void golden_backward(const vf_op *op, const vf_golden *g, mt_ctx *ctx, mt_ctx *host,
                            const mt_backend *b, const vf_problem *p, mt_tensor *out,
                            mt_tensor **leaves, outcome *o) {
    (void)op;
    const vf_golden_array *ra = vf_golden_get(g, "r");
    int64_t n = vf_numel(ra->ndim, ra->shape);
    float *rv = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; rv && i < n; i++) rv[i] = (float)ra->data[i];
    mt_tensor *r = rv ? mt_to(ctx, mt_from_array(host, ra->ndim, ra->shape, rv), b) : NULL;
    free(rv);
    if (!r || mt_backward(ctx, out, r) != MT_OK) {
        failed(o, VF_FAIL_ERROR, "backward failed: %s", mt_last_error());
        return;
    }
    for (int i = 0; i < p->nin && o->failure == VF_FAIL_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "grad%d", i);
        const vf_golden_array *ga = vf_golden_get(g, name);
        if (!ga) continue;
        int64_t m = vf_numel(ga->ndim, ga->shape);
        if (m != mt_numel(leaves[i])) {
            failed(o, VF_FAIL_GOLDEN_FILE, "array %s has %lld elements, input %d has %lld", name,
                   (long long)m, i, (long long)mt_numel(leaves[i]));
            return;
        }
        float *got = malloc(sizeof(float) * (size_t)m);
        double *want = rounded(ga), *scale = want ? constant(1 + max_finite_abs(want, m), m) : NULL;
        vf_cmp c = {.failure = VF_FAIL_ERROR};
        if (got && scale && leaf_grad(leaves[i], got))
            vf_compare(got, want, scale, m, &GOLDEN_GRAD_TOL, &c);
        if (c.failure != VF_FAIL_COUNT) {
            char desc[VF_MSG];
            char what[32];
            snprintf(what, sizeof what, "d/d in%d", i);
            vf_cmp_describe(&c, what, ga->ndim, ga->shape, "autodiff", "golden", desc, sizeof desc);
            failed(o, VF_FAIL_GRADIENT, "gradient of sum(out * r): %s", desc);
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
    outcome o;
    pass(&o);
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
        failed(&o, mt_last_status() == MT_ERR_UNSUPPORTED ? VF_FAIL_UNSUPPORTED : VF_FAIL_ERROR,
               "the differentiable function failed: %s", mt_last_error());
    } else if (!(out->ndim == ra->ndim &&
                 memcmp(out->shape, ra->shape, sizeof(int64_t) * (size_t)ra->ndim) == 0)) {
        failed(&o, VF_FAIL_ERROR, "the differentiable function returned shape %s, expected %s",
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
            failed(&o, c.failure, "the differentiable function's output: %s", desc);
        } else {
            golden_backward(op, g, ctx, host, cell->b, p, out, leaves, &o);
        }
    }
    mt_ctx_free(ctx);
    mt_ctx_free(host);
    s->sum.checks++;
    cell->checks++;
    if (o.failure == VF_FAIL_COUNT) return true;
    cell_fail(s, cell, o.failure, "on golden file %s (%s, through autodiff)", g->file,
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
        cell_fail(s, cell, VF_FAIL_GOLDEN_FILE, "in %s", g->path);
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
    double *want = rounded(outa), *scale = error_scale(op, &p, &d);
    float *got = malloc(sizeof(float) * (size_t)n);
    bool ok = want && got;
    for (int variant = 0; variant < 2 && ok; variant++) {
        if (variant == 1) permuted_layouts(&p, 0x601du, &d);
        s->sum.checks++;
        cell->checks++;
        vf_result r;
        vf_run_kernel(op, cell->b, &p, &d, true, got, &r);
        outcome o;
        pass(&o);
        vf_cmp c;
        if (r.failure != VF_FAIL_COUNT) {
            failed(&o, r.failure, "%s", r.msg);
        } else {
            vf_compare(got, want, scale, n, &op->tol, &c);
            track(cell, c.max_abs, c.max_rel, c.worst);
            if (c.failure != VF_FAIL_COUNT) {
                char desc[VF_MSG];
                vf_cmp_describe(&c, "out", p.out_ndim, p.out_shape, mt_backend_name(cell->b),
                                "golden", desc, sizeof desc);
                failed(&o, c.failure, "%s", desc);
            } else if (op->property && !op->property(&p, &d, got, o.msg, sizeof o.msg)) {
                o.failure = VF_FAIL_PROPERTY;
            }
        }
        if (o.failure != VF_FAIL_COUNT) {
            cell_fail(s, cell, o.failure, "on golden file %s (%s)", g->file, VARIANTS[variant]);
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

static void check_golden(vf_session *s, vf_cell *cell) {
    const vf_op *op = cell->op;
    if (!op->golden_op) return;
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
        cell_fail(s, cell, VF_FAIL_GOLDEN_FILE, "(no golden file for op '%s' in %s)", op->golden_op,
                  s->cfg->golden_dir);
        vf_emit(s, "  HINT: generate them: python3 golden/gen.py, or point --golden-dir at "
                   "golden/cases\n");
    }
}

/* ------------------------------------------------------------------ random cases */
/* For maps and zips: the input values that made output element `index` (a shrunk case keeps
 * its value stream, so the offending values may sit deep in a long input). */
static void elementwise_inputs(const vf_op *op, const vf_problem *p, const vf_data *d,
                               int64_t index, char *buf, size_t len) {
    buf[0] = '\0';
    if (index < 0 || (op->family != &VF_FAMILY_MAP && op->family != &VF_FAMILY_ZIP)) return;
    int64_t at[MT_MAX_DIMS];
    mt_ordinal_to_index(index, p->out_ndim, p->out_shape, at);
    size_t n = (size_t)snprintf(buf, len, "; there");
    for (int i = 0; i < p->nin && n < len; i++) {
        /* right-aligned broadcast of the out index onto input i, row-major ordinal */
        int lead = p->out_ndim - p->ndim[i];
        int64_t ord = 0;
        for (int k = 0; k < p->ndim[i]; k++)
            ord = ord * p->shape[i][k] + (p->shape[i][k] > 1 ? at[k + lead] : 0);
        n += (size_t)snprintf(buf + n, len - n, "%s in%d = %.9g", i ? "," : "", i,
                              (double)d->in[i][ord]);
    }
}

typedef void (*case_fn)(const vf_op *op, const mt_backend *b, const vf_case *c, const vf_problem *p,
                        outcome *o);

/* The backend against the naive backend (run on contiguous copies, the simplest path it has),
 * then the same call again for the same bits, then the op's own invariants. */
static void random_case(const vf_op *op, const mt_backend *b, const vf_case *c, const vf_problem *p,
                        outcome *o) {
    pass(o);
    vf_data d;
    int64_t n = vf_numel(p->out_ndim, p->out_shape);
    float *ref = malloc(sizeof(float) * (size_t)n), *got = malloc(sizeof(float) * (size_t)n);
    float *again = malloc(sizeof(float) * (size_t)n);
    double *want = NULL, *scale = NULL;
    if (!ref || !got || !again || !vf_data_make(c, p, false, &d)) {
        failed(o, VF_FAIL_ERROR, "out of memory");
        free(ref);
        free(got);
        free(again);
        return;
    }
    vf_result r;
    vf_run_kernel(op, mt_backend_naive(), p, &d, false, ref, &r);
    if (r.failure != VF_FAIL_COUNT) {
        failed(o, r.failure, "%s%s", b == mt_backend_naive() ? "" : "the naive reference: ", r.msg);
        goto done;
    }
    vf_run_kernel(op, b, p, &d, true, got, &r);
    if (r.failure != VF_FAIL_COUNT) {
        failed(o, r.failure, "%s", r.msg);
        goto done;
    }
    want = to_double(ref, n);
    scale = error_scale(op, p, &d);
    vf_cmp cmp;
    vf_compare(got, want, scale, n, &op->tol, &cmp);
    o->max_abs = cmp.max_abs;
    o->max_rel = cmp.max_rel;
    o->worst = cmp.worst;
    if (cmp.failure != VF_FAIL_COUNT) {
        char desc[VF_MSG], inputs[160] = "";
        vf_cmp_describe(&cmp, "out", p->out_ndim, p->out_shape, mt_backend_name(b),
                        b == mt_backend_naive() ? "naive on contiguous inputs" : "naive", desc,
                        sizeof desc);
        elementwise_inputs(op, p, &d, cmp.index, inputs, sizeof inputs);
        failed(o, cmp.failure, "%s%s", desc, inputs);
        goto done;
    }
    vf_run_kernel(op, b, p, &d, true, again, &r);
    if (r.failure != VF_FAIL_COUNT) {
        failed(o, r.failure, "second run: %s", r.msg);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&got[i], &again[i], sizeof(float)) != 0) {
            failed(o, VF_FAIL_NONDETERMINISTIC,
                   "element %lld was %.9g on the first run and %.9g on the second", (long long)i,
                   (double)got[i], (double)again[i]);
            goto done;
        }
    if (op->property && !op->property(p, &d, got, o->msg, sizeof o->msg))
        o->failure = VF_FAIL_PROPERTY;
done:
    free(ref);
    free(got);
    free(again);
    free(want);
    free(scale);
    vf_data_free(&d);
}

/* ------------------------------------------------------------------ gradients */
/* sum(f(inputs) * r) in double on the host, with f evaluated on the backend without history. */
static bool loss(mt_ctx *probe, const vf_op *op, mt_tensor **leaves, const vf_problem *p,
                 const float *r, int64_t n, float *buf, double *l) {
    mt_ctx_reset(probe);
    bool was = mt_set_grad_enabled(false);
    mt_tensor *out = op->grad(probe, leaves, p);
    mt_set_grad_enabled(was);
    if (!out || mt_numel(out) != n || mt_to_host(out, buf) != MT_OK) return false;
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += (double)buf[i] * r[i];
    *l = acc;
    return true;
}

/* Autodiff on the backend (seeded with r) against central differences of sum(out * r). */
static void gradient_case(const vf_op *op, const mt_backend *b, const vf_case *c,
                          const vf_problem *p, outcome *o) {
    pass(o);
    vf_data d;
    if (!vf_data_make(c, p, true, &d)) {
        failed(o, VF_FAIL_ERROR, "out of memory");
        return;
    }
    mt_ctx *ctx = mt_ctx_new(b), *probe = mt_ctx_new(b);
    mt_tensor *leaves[VF_MAX_IN] = {NULL};
    float *r = NULL, *buf = NULL, *analytic = NULL;
    bool ok = ctx && probe;
    for (int i = 0; i < p->nin && ok; i++) {
        leaves[i] = vf_tensor_on(ctx, b, p->ndim[i], p->shape[i], &d.layout[i], d.in[i]);
        ok = leaves[i] && mt_requires_grad(leaves[i], true) == MT_OK;
    }
    mt_clear_error();
    mt_tensor *out = ok ? op->grad(ctx, leaves, p) : NULL;
    if (!out) {
        failed(o, mt_last_status() == MT_ERR_UNSUPPORTED ? VF_FAIL_UNSUPPORTED : VF_FAIL_ERROR,
               "the differentiable function failed: %s", mt_last_error());
        goto done;
    }
    int64_t n = mt_numel(out);
    r = malloc(sizeof(float) * (size_t)n);
    buf = malloc(sizeof(float) * (size_t)n);
    mt_rng rng;
    mt_rng_seed(&rng, c->seed ^ 0x4a11u);
    if (r) vf_fill_values(VF_R_UNIT, &rng, r, n);
    mt_tensor *rt = r && buf ? mt_from_array(ctx, out->ndim, out->shape, r) : NULL;
    if (!rt || mt_backward(ctx, out, rt) != MT_OK) {
        failed(o, VF_FAIL_ERROR, "backward failed: %s", mt_last_error());
        goto done;
    }
    double l0 = 0;
    if (op->kinks && !loss(probe, op, leaves, p, r, n, buf, &l0)) {
        failed(o, VF_FAIL_ERROR, "forward failed while probing: %s", mt_last_error());
        goto done;
    }
    int64_t checked = 0, skipped = 0;
    for (int i = 0; i < p->nin && o->failure == VF_FAIL_COUNT; i++) {
        int64_t m = vf_numel(p->ndim[i], p->shape[i]), index[MT_MAX_DIMS];
        free(analytic);
        analytic = malloc(sizeof(float) * (size_t)m);
        if (!analytic || !leaf_grad(leaves[i], analytic)) {
            failed(o, VF_FAIL_ERROR, "cannot read the gradient of input %d", i);
            break;
        }
        for (int64_t e = 0; e < m && o->failure == VF_FAIL_COUNT; e++) {
            mt_ordinal_to_index(e, p->ndim[i], p->shape[i], index);
            float x0 = d.in[i][e];
            float xp = (float)(x0 + op->grad_eps), xm = (float)(x0 - op->grad_eps);
            double lp, lm;
            bool probed = mt_set(leaves[i], index, xp) == MT_OK &&
                          loss(probe, op, leaves, p, r, n, buf, &lp) &&
                          mt_set(leaves[i], index, xm) == MT_OK &&
                          loss(probe, op, leaves, p, r, n, buf, &lm);
            if (mt_set(leaves[i], index, x0) != MT_OK || !probed) {
                failed(o, VF_FAIL_ERROR, "forward failed while probing: %s", mt_last_error());
                break;
            }
            double numeric = (lp - lm) / ((double)xp - (double)xm);
            double tol = op->grad_tol * (1 + fabs(numeric));
            if (op->kinks) {
                /* a kink inside [x - eps, x + eps] (relu at 0, a near-tie of a max): the
                 * one-sided slopes disagree and the central difference means nothing */
                double right = (lp - l0) / ((double)xp - x0), left = (l0 - lm) / (x0 - (double)xm);
                if (fabs(right - left) > tol) {
                    skipped++;
                    continue;
                }
            }
            checked++;
            if (!(fabs(numeric - analytic[e]) <= tol)) {
                char at[MT_SHAPE_STR_LEN];
                vf_index_str(p->ndim[i], index, at, sizeof at);
                failed(o, VF_FAIL_GRADIENT,
                       "d sum(out * r) / d in%d%s: autodiff %.7g, central difference %.7g "
                       "(step %g, tolerance %.3g)",
                       i, at, (double)analytic[e], numeric, op->grad_eps, tol);
            }
        }
    }
    if (o->failure == VF_FAIL_COUNT && checked == 0)
        failed(o, VF_FAIL_GRADIENT,
               "every element was skipped as a kink (%lld): the forward is not smooth anywhere",
               (long long)skipped);
done:
    free(r);
    free(buf);
    free(analytic);
    mt_ctx_free(ctx);
    mt_ctx_free(probe);
    vf_data_free(&d);
}

/* ------------------------------------------------------------------ shrinking */
static bool same_problem(const vf_problem *a, const vf_problem *b) {
    if (a->nin != b->nin || a->out_ndim != b->out_ndim || a->in_place != b->in_place ||
        !(a->out_ndim > 0 &&
          memcmp(a->out_shape, b->out_shape, sizeof(int64_t) * (size_t)a->out_ndim) == 0))
        return false;
    for (int i = 0; i < a->nin; i++)
        if (a->ndim[i] != b->ndim[i] ||
            memcmp(a->shape[i], b->shape[i], sizeof(int64_t) * (size_t)a->ndim[i]) != 0)
            return false;
    const mt_op_params *x = &a->params, *y = &b->params;
    return x->dim == y->dim && x->stride[0] == y->stride[0] && x->stride[1] == y->stride[1] &&
           x->pad[0] == y->pad[0] && x->pad[1] == y->pad[1] && x->reverse == y->reverse &&
           x->kernel[0] == y->kernel[0] && x->kernel[1] == y->kernel[1] && x->rate == y->rate &&
           a->conv.pytorch_style == b->conv.pytorch_style;
}

/* Simpler variants of c, most promising first. */
static int candidates(const vf_op *op, const vf_case *c, bool gradient, vf_case *out) {
    static const vf_range simpler[] = {VF_R_ONES, VF_R_INT, VF_R_UNIT};
    unsigned allowed = (gradient ? op->grad_ranges : op->ranges) | VF_BIT(VF_R_ONES);
    int n = 0;
    for (int k = 0; k < 3; k++)
        if (simpler[k] < c->range && (allowed & VF_BIT(simpler[k]))) {
            out[n] = *c;
            out[n++].range = simpler[k];
        }
    for (int i = 0; i <= VF_MAX_IN; i++)
        if (c->layout[i] != VF_L_CONTIGUOUS) {
            out[n] = *c;
            out[n++].layout[i] = VF_L_CONTIGUOUS;
        }
    for (int i = 0; i < VF_MAX_VARS; i++) {
        if (c->choice[i] > 0) {
            out[n] = *c;
            out[n++].choice[i] = 0;
        }
        if (c->choice[i] > 1) {
            out[n] = *c;
            out[n++].choice[i] = c->choice[i] - 1;
        }
    }
    for (int i = 0; i < VF_MAX_VARS; i++) {
        int64_t v = c->size[i], tries[4] = {1, vf_next_smaller_size(v), v / 2, v - 1};
        for (int k = 0; k < 4 && v > 1; k++) {
            bool dup = tries[k] < 1 || tries[k] >= v;
            for (int j = 0; j < k; j++) dup |= tries[j] == tries[k];
            if (dup) continue;
            out[n] = *c;
            out[n++].size[i] = tries[k];
        }
    }
    return n;
}

/* Replaces c/p/o with the simplest variant that still fails the same way; returns the steps. */
static int shrink(const vf_op *op, const mt_backend *b, case_fn fn, bool gradient, vf_case *c,
                  vf_problem *p, outcome *o) {
    vf_case cand[3 + VF_MAX_IN + 1 + 2 * VF_MAX_VARS + 4 * VF_MAX_VARS];
    int steps = 0, budget = SHRINK_BUDGET;
    for (bool improved = true; improved && budget > 0;) {
        improved = false;
        int n = candidates(op, c, gradient, cand);
        for (int i = 0; i < n && budget > 0 && !improved; i++) {
            vf_problem q;
            memset(&q, 0, sizeof q);
            if (!op->family->build(op, &cand[i], &q)) continue;
            if (same_problem(&q, p) && cand[i].range == c->range &&
                memcmp(cand[i].layout, c->layout, sizeof c->layout) == 0)
                continue;
            budget--;
            outcome t;
            fn(op, b, &cand[i], &q, &t);
            if (t.failure == o->failure) {
                *c = cand[i];
                *p = q;
                *o = t;
                improved = true;
                steps++;
            }
        }
    }
    return steps;
}

static void report_case_failure(vf_session *s, vf_cell *cell, const char *kind_of_case, int k,
                                vf_case *c, vf_problem *p, outcome *o, case_fn fn, bool gradient) {
    cell_fail(s, cell, o->failure, "in %s %d (seed %llu)", kind_of_case, k,
              (unsigned long long)c->seed);
    vf_emit(s, "  %s\n", o->msg);
    vf_emit(s, "    case:\n");
    print_case(s, cell->op, c, p, gradient);
    uint64_t seed = c->seed;
    int steps = shrink(cell->op, cell->b, fn, gradient, c, p, o);
    if (steps > 0) {
        vf_emit(s, "    shrunk in %d steps to:\n", steps);
        print_case(s, cell->op, c, p, gradient);
        vf_emit(s, "    where: %s\n", o->msg);
    } else {
        vf_emit(s, "    (no smaller case fails the same way)\n");
    }
    vf_emit(s, "  reproduce: ./verify --op %s --seed %llu --backend %s\n", vf_op_label(cell->op),
            (unsigned long long)seed, mt_backend_name(cell->b));
}

static void check_cases(vf_session *s, vf_cell *cell, bool gradient) {
    const vf_config *cfg = s->cfg;
    int count = cfg->cases;
    if (gradient) /* each probes every input element twice: fewer of them */
        count = cfg->grad_cases >= 0 ? cfg->grad_cases
                : cfg->cases > 16    ? cfg->cases / 8
                : cfg->cases > 0     ? 2
                                     : 0;
    if (gradient && !cell->op->grad) return;
    case_fn fn = gradient ? gradient_case : random_case;
    for (int k = 0; k < count; k++) {
        vf_case c;
        vf_problem p;
        uint64_t seed = vf_case_seed(cfg->seed, k);
        if (!vf_draw_case(cell->op, seed, gradient, &c, &p)) {
            cell_fail(s, cell, VF_FAIL_ERROR, "(no valid case could be drawn from seed %llu)",
                      (unsigned long long)seed);
            return;
        }
        outcome o;
        fn(cell->op, cell->b, &c, &p, &o);
        s->sum.checks++;
        cell->checks++;
        track(cell, o.max_abs, o.max_rel, o.worst);
        if (o.failure != VF_FAIL_COUNT) {
            /* the first failure, shrunk, says more than a list of its relatives */
            report_case_failure(s, cell, gradient ? "gradient case" : "random case", k, &c, &p, &o,
                                fn, gradient);
            return;
        }
    }
}

void vf_check_cell(vf_session *s, vf_cell *cell) {
    const vf_op *op = cell->op;
    if (!mt_backend_supports(mt_backend_naive(), op->op)) {
        cell_fail(s, cell, VF_FAIL_UNSUPPORTED, "(the naive reference has no %s kernel)",
                  vf_op_label(op));
        vf_emit(s, "  nothing can be verified against a reference that lacks the op\n");
        return;
    }
    if (!mt_backend_supports(cell->b, op->op)) {
        cell_fail(s, cell, VF_FAIL_UNSUPPORTED, "(the backend has no %s kernel)", vf_op_label(op));
        vf_emit(s, "  every backend must implement every op; a missing kernel is a failure\n");
        vf_emit(s, "  reproduce: ./verify --op %s --backend %s\n", vf_op_label(op),
                mt_backend_name(cell->b));
        return;
    }
    check_golden(s, cell);
    check_cases(s, cell, false);
    check_cases(s, cell, true);
}
