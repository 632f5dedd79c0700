/* What the golden and case checks share: recording failures, the error scale of a comparison,
 * describing a case; and the entry point that runs all checks of one op on one backend. */
#include "verify_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void vf_pass(vf_outcome *o) {
    memset(o, 0, sizeof *o);
    o->failure = VF_FAIL_COUNT;
}

void vf_failed(vf_outcome *o, vf_failure kind, const char *fmt, ...) {
    o->failure = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof o->msg, fmt, ap);
    va_end(ap);
}

/* Records a failure of the cell and prints its first line. */
void vf_cell_fail(vf_session *s, vf_cell *cell, vf_failure kind, const char *fmt, ...) {
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

void vf_track(vf_cell *cell, double max_abs, double max_rel, double worst) {
    if (max_abs > cell->max_abs) cell->max_abs = max_abs;
    if (max_rel > cell->max_rel) cell->max_rel = max_rel;
    if (worst > cell->worst) cell->worst = worst;
}

void vf_track_cmp(vf_cell *cell, const vf_cmp *c) {
    vf_track(cell, c->max_abs, c->max_rel, c->worst);
    vf_stats_add(&cell->stats, &c->stats);
}

void vf_outcome_take(vf_outcome *o, const vf_cmp *c) {
    o->max_abs = c->max_abs;
    o->max_rel = c->max_rel;
    o->worst = c->worst;
    o->stats = c->stats;
}

double *vf_to_double(const float *f, int64_t n) {
    double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; d && i < n; i++) d[i] = f[i];
    return d;
}

/* The error scale of op->tol for these inputs (NULL: 1 everywhere). */
double *vf_error_scale(const vf_op *op, const vf_problem *p, const vf_data *d) {
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
        if (r.failure == VF_FAIL_COUNT) s = vf_to_double(out, n);
    }
    free(out);
    vf_data_free(&a);
    return s;
}

/* A leaf's gradient on the host (zeros when none flowed into it). */
bool vf_leaf_grad(const mt_tensor *leaf, float *dst) {
    int64_t n = mt_numel(leaf);
    if (!leaf->grad) {
        memset(dst, 0, sizeof(float) * (size_t)n);
        return true;
    }
    return mt_to_host(leaf->grad, dst) == MT_OK;
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
             l->kind == VF_L_PERMUTED   ? "permuted, padded storage"
             : l->kind == VF_L_REVERSED ? "dims stored in reverse order"
             : l->kind == VF_L_CHANNEL  ? "a channel slice of a larger tensor"
                                        : "stride-0 broadcast view");
}

static void print_values(vf_session *s, const char *name, const float *v, int64_t n) {
    vf_emit(s, "      %s = [", name);
    for (int64_t i = 0; i < n; i++) vf_emit(s, "%s%.9g", i ? ", " : "", (double)v[i]);
    vf_emit(s, "] (row-major)\n");
}

void vf_print_case(vf_session *s, const vf_op *op, const vf_case *c, const vf_problem *p,
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

void vf_check_cell(vf_session *s, vf_cell *cell) {
    const vf_op *op = cell->op;
    if (!mt_backend_supports(mt_backend_naive(), op->op)) {
        vf_cell_fail(s, cell, VF_FAIL_UNSUPPORTED, "(the naive reference has no %s kernel)",
                     vf_op_label(op));
        vf_emit(s, "  nothing can be verified against a reference that lacks the op\n");
        return;
    }
    if (!mt_backend_supports(cell->b, op->op)) {
        vf_cell_fail(s, cell, VF_FAIL_UNSUPPORTED, "(the backend has no %s kernel)",
                     vf_op_label(op));
        vf_emit(s, "  every backend must implement every op; a missing kernel is a failure\n");
        vf_emit(s, "  reproduce: ./verify --op %s --backend %s%s\n", vf_op_label(op),
                mt_backend_name(cell->b), s->reproduce_extra);
        return;
    }
    vf_check_golden(s, cell);
    vf_check_cases(s, cell, false);
    if (!cell->failures) vf_check_sizes(s, cell); /* large: after the small ones pass */
    vf_check_cases(s, cell, true);
    if (!cell->failures) vf_check_graphs(s, cell);
}
