/* The size classes (verify_sizes.c) of one op on one backend: each class with values of
 * +-1000 and with specials (0, -0, +-inf, NaN), against the naive reference, and on a CPU backend
 * at 1, 2, 3 and 8 threads, which must give the same bits (the openmp promise). Where the op's
 * contract says a value depends on its inputs alone (elementwise ops, dropout) or on the row
 * alone in a fixed order (reductions, softmax), the same values stored contiguously must give
 * the same bits as in the class's strided layout, and elementwise ops the same bits when every
 * value moves a few places along the vector loop (body against tail). These cases are large:
 * they are not shrunk, a failure prints the class and the command that reruns it. */
#include "verify_internal.h"

#include <stdlib.h>
#include <string.h>

const int VF_THREAD_COUNTS[VF_NTHREAD_COUNTS] = {1, 2, 3, 8};
#define QUICK_WORK ((int64_t)1 << 17) /* --quick: classes up to this much work */

int vf_set_threads(int n) {
    int was = mt_get_num_threads();
    mt_set_num_threads(n);
    return was;
}

bool vf_backend_threaded(const mt_backend *b) { return mt_backend_get_kind(b) == MT_BACKEND_CPU; }

/* Equal bits, or both NaN (a payload is not a value). */
static int64_t first_bits_diff(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0 && !(a[i] != a[i] && b[i] != b[i])) return i;
    return -1;
}

/* Families whose outputs a layout cannot change (their contracts): the elementwise ones, dropout
 * (a function of the ordinal), reductions and along-dim ops (an order fixed by the length). */
static bool layout_invariant(const vf_op *op) {
    const vf_family *f = op->family;
    return f == &VF_FAMILY_MAP || f == &VF_FAMILY_ZIP || f == &VF_FAMILY_DROPOUT ||
           f == &VF_FAMILY_REDUCE || f == &VF_FAMILY_ALONG_DIM;
}

/* Elementwise, 1-D, every input the output's length: the values moved `shift` places further
 * along the run (the first `shift` filled with the same values) must give the same bits at
 * their new places. */
static void shifted_check(const vf_op *op, const mt_backend *b, const vf_problem *p,
                          const vf_data *d, const float *plain, vf_outcome *o) {
    int64_t n = p->out_shape[0], shift = 1 + (int64_t)(p->work % 15);
    vf_problem q = *p;
    q.out_shape[0] = n + shift;
    q.in_place = false;
    vf_data e;
    memset(&e, 0, sizeof e);
    float *out = malloc(sizeof(float) * (size_t)(n + shift));
    bool ok = out != NULL;
    for (int i = 0; i < p->nin && ok; i++) {
        q.shape[i][0] = n + shift;
        ok = (e.in[i] = malloc(sizeof(float) * (size_t)(n + shift))) != NULL;
        if (!ok) break;
        memcpy(e.in[i], d->in[i], sizeof(float) * (size_t)(shift < n ? shift : n));
        for (int64_t k = n; k < shift; k++) e.in[i][k] = d->in[i][0];
        memcpy(e.in[i] + shift, d->in[i], sizeof(float) * (size_t)n);
    }
    if (ok) {
        vf_data_contiguous(&q, &e);
        vf_result r;
        vf_run_kernel(op, b, &q, &e, false, out, &r);
        if (r.failure != VF_FAIL_COUNT) {
            vf_failed(o, r.failure, "shifted by %lld: %s", (long long)shift, r.msg);
        } else {
            int64_t i = first_bits_diff(plain, out + shift, n);
            if (i >= 0)
                vf_failed(o, VF_FAIL_NONDETERMINISTIC,
                          "element %lld is %.9g, but %.9g when the same values sit %lld places "
                          "further along the run (body against tail of the vector loop): the op "
                          "promises the same bits",
                          (long long)i, (double)plain[i], (double)out[shift + i], (long long)shift);
        }
    }
    free(out);
    vf_data_free(&e);
}

/* One class with one value range. */
static void size_case(const vf_op *op, const mt_backend *b, const vf_case *c, const vf_problem *p,
                      bool quick, vf_outcome *o) {
    bool threaded = vf_backend_threaded(b);
    int saved = vf_set_threads(threaded ? VF_THREAD_COUNTS[0] : 1);
    if (!threaded) vf_set_threads(saved);
    vf_case_run k;
    bool ok = vf_against_naive(op, b, c, p, &k, o);
    vf_set_threads(saved);
    /* the same call at the other thread counts (without threads: once more) */
    for (int t = 1; ok && t < (threaded ? VF_NTHREAD_COUNTS : 2); t++) {
        int nth = threaded ? VF_THREAD_COUNTS[t] : saved;
        if (quick && nth != 3) continue;
        vf_set_threads(nth);
        vf_result r;
        vf_run_kernel(op, b, p, &k.d, true, k.again, &r);
        vf_set_threads(saved);
        int64_t i = r.failure == VF_FAIL_COUNT ? first_bits_diff(k.got, k.again, k.n) : -1;
        if (r.failure != VF_FAIL_COUNT)
            vf_failed(o, r.failure, "at %d thread(s): %s", nth, r.msg);
        else if (i >= 0)
            vf_failed(o, VF_FAIL_NONDETERMINISTIC,
                      "element %lld is %.9g at %d thread(s) and %.9g at %d: the bits must not "
                      "depend on the thread count",
                      (long long)i, (double)k.got[i], threaded ? VF_THREAD_COUNTS[0] : saved,
                      (double)k.again[i], nth);
        ok = o->failure == VF_FAIL_COUNT;
    }
    if (ok && layout_invariant(op)) {
        vf_result r;
        vf_run_kernel(op, b, p, &k.d, false, k.again, &r);
        int64_t i = r.failure == VF_FAIL_COUNT ? first_bits_diff(k.got, k.again, k.n) : -1;
        if (r.failure != VF_FAIL_COUNT)
            vf_failed(o, r.failure, "with contiguous storage: %s", r.msg);
        else if (i >= 0)
            vf_failed(o, VF_FAIL_NONDETERMINISTIC,
                      "element %lld is %.9g in the case's layout and %.9g with the same values "
                      "stored contiguously: the op promises the same bits for any layout",
                      (long long)i, (double)k.got[i], (double)k.again[i]);
        else if ((op->family == &VF_FAMILY_MAP || op->family == &VF_FAMILY_ZIP) &&
                 p->out_ndim == 1 && !p->in_place)
            shifted_check(op, b, p, &k.d, k.again, o);
    }
    vf_case_run_free(&k);
}

/* The value ranges every class runs with: +-1000 and the specials, where the op takes them. */
static int class_ranges(const vf_op *op, vf_range *out) {
    int n = 0;
    if (op->ranges & VF_BIT(VF_R_HUGE)) out[n++] = VF_R_HUGE;
    if (op->ranges & VF_BIT(VF_R_SPECIAL)) out[n++] = VF_R_SPECIAL;
    if (n == 0) out[n++] = VF_R_UNIT;
    return n;
}

void vf_check_sizes(vf_session *s, vf_cell *cell) {
    const vf_op *op = cell->op;
    vf_size_class cls[VF_MAX_SIZE_CLASSES];
    int ncls = vf_size_classes(op, cls, VF_MAX_SIZE_CLASSES);
    vf_range ranges[2];
    int nr = class_ranges(op, ranges);
    for (int k = 0; k < ncls; k++)
        for (int ri = 0; ri < nr; ri++) {
            vf_case c = cls[k].c;
            c.seed = vf_case_seed(s->cfg->seed ^ 0x512eu, k * 2 + ri);
            c.range = ranges[ri];
            vf_problem p;
            memset(&p, 0, sizeof p);
            if (!op->family->build(op, &c, &p)) {
                vf_cell_fail(s, cell, VF_FAIL_ERROR, "(size class %d, %s, is not a valid case)", k,
                             cls[k].why);
                return;
            }
            if (s->cfg->quick && p.work > QUICK_WORK) continue;
            vf_outcome o;
            size_case(op, cell->b, &c, &p, s->cfg->quick, &o);
            s->sum.checks++;
            cell->checks++;
            vf_track(cell, o.max_abs, o.max_rel, o.worst);
            vf_stats_add(&cell->stats, &o.stats);
            if (o.failure == VF_FAIL_COUNT) continue;
            vf_cell_fail(s, cell, o.failure, "in size class %d: %s (values %s, seed %llu)", k,
                         cls[k].why, vf_range_name(c.range), (unsigned long long)c.seed);
            vf_emit(s, "  %s\n    case:\n", o.msg);
            vf_print_case(s, op, &c, &p, false);
            vf_emit(s, "  reproduce: ./verify --op %s --backend %s --seed %llu\n", vf_op_label(op),
                    mt_backend_name(cell->b), (unsigned long long)s->cfg->seed);
            return; /* the first failure says it; the next classes would repeat it */
        }
}
