/* Random and gradient cases of one op on one backend. A random case runs the backend against
 * the naive reference, twice (same bits), under guard; a gradient case compares autodiff with
 * central differences. The first failing case is shrunk (smaller sizes, plainer choices,
 * contiguous storage, simpler values) while it keeps failing the same way, then printed with the
 * command that reproduces it. */
#include "verify_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHRINK_BUDGET 250

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
                        vf_outcome *o);

bool vf_against_naive(const vf_op *op, const mt_backend *b, const vf_case *c,
                      const vf_problem *p, vf_case_run *k, vf_outcome *o) {
    vf_pass(o);
    memset(k, 0, sizeof *k);
    k->n = vf_numel(p->out_ndim, p->out_shape);
    k->ref = malloc(sizeof(float) * (size_t)k->n);
    k->got = malloc(sizeof(float) * (size_t)k->n);
    k->again = malloc(sizeof(float) * (size_t)k->n);
    if (!k->ref || !k->got || !k->again || !vf_data_make(c, p, false, &k->d)) {
        vf_failed(o, VF_FAIL_ERROR, "out of memory");
        return false;
    }
    vf_result r;
    vf_run_kernel(op, mt_backend_naive(), p, &k->d, false, k->ref, &r);
    if (r.failure != VF_FAIL_COUNT) {
        vf_failed(o, r.failure, "%s%s", b == mt_backend_naive() ? "" : "the naive reference: ",
                  r.msg);
        return false;
    }
    vf_run_kernel(op, b, p, &k->d, true, k->got, &r);
    if (r.failure != VF_FAIL_COUNT) {
        vf_failed(o, r.failure, "%s", r.msg);
        return false;
    }
    double *want = vf_to_double(k->ref, k->n), *scale = vf_error_scale(op, p, &k->d);
    vf_cmp cmp;
    vf_compare(k->got, want, scale, k->n, &op->tol, &cmp);
    free(want);
    free(scale);
    vf_outcome_take(o, &cmp);
    if (cmp.failure != VF_FAIL_COUNT) {
        char desc[VF_MSG], inputs[160] = "";
        vf_cmp_describe(&cmp, "out", p->out_ndim, p->out_shape, mt_backend_name(b),
                        b == mt_backend_naive() ? "naive on contiguous inputs" : "naive", desc,
                        sizeof desc);
        elementwise_inputs(op, p, &k->d, cmp.index, inputs, sizeof inputs);
        vf_failed(o, cmp.failure, "%s%s", desc, inputs);
        return false;
    }
    if (op->property && !op->property(p, &k->d, k->got, o->msg, sizeof o->msg)) {
        o->failure = VF_FAIL_PROPERTY;
        return false;
    }
    return true;
}

void vf_case_run_free(vf_case_run *k) {
    free(k->ref);
    free(k->got);
    free(k->again);
    vf_data_free(&k->d);
}

/* The backend against the naive backend (run on contiguous copies, the simplest path it has),
 * the op's own invariants, then the same call again for the same bits. */
static void random_case(const vf_op *op, const mt_backend *b, const vf_case *c, const vf_problem *p,
                        vf_outcome *o) {
    vf_case_run k;
    if (vf_against_naive(op, b, c, p, &k, o)) {
        /* the second run at another thread count (cases take turns: 1, 2, 3, 8) */
        int nth = VF_THREAD_COUNTS[c->seed % VF_NTHREAD_COUNTS];
        int saved = vf_backend_threaded(b) ? vf_set_threads(nth) : 0;
        vf_result r;
        vf_run_kernel(op, b, p, &k.d, true, k.again, &r);
        if (saved) vf_set_threads(saved);
        if (r.failure != VF_FAIL_COUNT) vf_failed(o, r.failure, "second run: %s", r.msg);
        for (int64_t i = 0; i < k.n && o->failure == VF_FAIL_COUNT; i++)
            if (memcmp(&k.got[i], &k.again[i], sizeof(float)) != 0)
                vf_failed(o, VF_FAIL_NONDETERMINISTIC,
                          "element %lld was %.9g on the first run and %.9g on the second%s",
                          (long long)i, (double)k.got[i], (double)k.again[i],
                          saved ? " (at another thread count)" : "");
    }
    vf_case_run_free(&k);
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
void vf_gradient_case(const vf_op *op, const mt_backend *b, const vf_case *c,
                          const vf_problem *p, vf_outcome *o) {
    vf_pass(o);
    vf_data d;
    if (!vf_data_make(c, p, true, &d)) {
        vf_failed(o, VF_FAIL_ERROR, "out of memory");
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
        vf_failed(o, mt_last_status() == MT_ERR_UNSUPPORTED ? VF_FAIL_UNSUPPORTED : VF_FAIL_ERROR,
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
        vf_failed(o, VF_FAIL_ERROR, "backward failed: %s", mt_last_error());
        goto done;
    }
    double l0 = 0;
    if (op->kinks && !loss(probe, op, leaves, p, r, n, buf, &l0)) {
        vf_failed(o, VF_FAIL_ERROR, "forward failed while probing: %s", mt_last_error());
        goto done;
    }
    int64_t checked = 0, skipped = 0;
    for (int i = 0; i < p->nin && o->failure == VF_FAIL_COUNT; i++) {
        int64_t m = vf_numel(p->ndim[i], p->shape[i]), index[MT_MAX_DIMS];
        free(analytic);
        analytic = malloc(sizeof(float) * (size_t)m);
        if (!analytic || !vf_leaf_grad(leaves[i], analytic)) {
            vf_failed(o, VF_FAIL_ERROR, "cannot read the gradient of input %d", i);
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
                vf_failed(o, VF_FAIL_ERROR, "forward failed while probing: %s", mt_last_error());
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
                vf_failed(o, VF_FAIL_GRADIENT,
                          "d sum(out * r) / d in%d%s: autodiff %.7g, central difference %.7g "
                          "(step %g, tolerance %.3g)",
                          i, at, (double)analytic[e], numeric, op->grad_eps, tol);
            }
        }
    }
    if (o->failure == VF_FAIL_COUNT && checked == 0)
        vf_failed(o, VF_FAIL_GRADIENT,
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
                  vf_problem *p, vf_outcome *o) {
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
            vf_outcome t;
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
                                vf_case *c, vf_problem *p, vf_outcome *o, case_fn fn,
                                bool gradient) {
    vf_cell_fail(s, cell, o->failure, "in %s %d (seed %llu)", kind_of_case, k,
                 (unsigned long long)c->seed);
    vf_emit(s, "  %s\n", o->msg);
    vf_emit(s, "    case:\n");
    vf_print_case(s, cell->op, c, p, gradient);
    uint64_t seed = c->seed;
    int steps = shrink(cell->op, cell->b, fn, gradient, c, p, o);
    if (steps > 0) {
        vf_emit(s, "    shrunk in %d steps to:\n", steps);
        vf_print_case(s, cell->op, c, p, gradient);
        vf_emit(s, "    where: %s\n", o->msg);
    } else {
        vf_emit(s, "    (no smaller case fails the same way)\n");
    }
    vf_emit(s, "  reproduce: ./verify --op %s --seed %llu --backend %s%s\n", vf_op_label(cell->op),
            (unsigned long long)seed, mt_backend_name(cell->b), s->reproduce_extra);
}

void vf_check_cases(vf_session *s, vf_cell *cell, bool gradient) {
    const vf_config *cfg = s->cfg;
    int count = cfg->cases;
    if (gradient) /* each probes every input element twice: fewer of them */
        count = cfg->grad_cases >= 0 ? cfg->grad_cases
                : cfg->cases > 16    ? cfg->cases / 8
                : cfg->cases > 0     ? 2
                                     : 0;
    if (gradient && !cell->op->grad) return;
    case_fn fn = gradient ? vf_gradient_case : random_case;
    for (int k = 0; k < count; k++) {
        vf_case c;
        vf_problem p;
        uint64_t seed = vf_case_seed(cfg->seed, k);
        if (!vf_draw_case(cell->op, seed, gradient, &c, &p)) {
            vf_cell_fail(s, cell, VF_FAIL_ERROR, "(no valid case could be drawn from seed %llu)",
                         (unsigned long long)seed);
            return;
        }
        vf_outcome o;
        fn(cell->op, cell->b, &c, &p, &o);
        s->sum.checks++;
        cell->checks++;
        vf_track(cell, o.max_abs, o.max_rel, o.worst);
        vf_stats_add(&cell->stats, &o.stats);
        if (o.failure != VF_FAIL_COUNT) {
            /* the first failure, shrunk, says more than a list of its relatives */
            report_case_failure(s, cell, gradient ? "gradient case" : "random case", k, &c, &p, &o,
                                fn, gradient);
            return;
        }
    }
}
