/* Comparing a backend's float32 output with the expected values (the naive backend's output, or
 * a golden file's float64 values): NaN first, then infinities with their sign, then the size of
 * the error element by element and over the whole output. */
#include "verify_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool unwritten(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u == VF_UNWRITTEN_BITS;
}

static void first(vf_cmp *r, vf_failure kind, int64_t i, double got, double want, double bound) {
    if (r->failure == VF_FAIL_COUNT) {
        r->failure = kind;
        r->index = i;
        r->got = got;
        r->want = want;
        r->bound = bound;
    }
    r->nbad++;
}

void vf_compare(const float *got, const double *want, const double *scale, int64_t n,
                const vf_tol *tol, vf_cmp *r) {
    memset(r, 0, sizeof *r);
    r->failure = VF_FAIL_COUNT;
    r->index = -1;
    for (int64_t i = 0; i < n; i++)
        if (unwritten(got[i])) first(r, VF_FAIL_UNWRITTEN, i, got[i], want[i], 0);
    for (int64_t i = 0; i < n && r->failure == VF_FAIL_COUNT; i++)
        if (isnan(got[i]) != isnan(want[i])) first(r, VF_FAIL_NAN, i, got[i], want[i], 0);
    for (int64_t i = 0; i < n && r->failure == VF_FAIL_COUNT; i++) {
        double g = got[i], w = want[i];
        if (isnan(w) || !(isinf(g) || isinf(w))) continue;
        if (g != w) first(r, VF_FAIL_INF, i, g, w, 0);
    }
    if (r->failure != VF_FAIL_COUNT) return;
    bool exact = tol->atol == 0 && tol->rtol == 0;
    double d2 = 0, w2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (exact && !isnan(w) && signbit(g) != signbit(w) && g == w)
            first(r, VF_FAIL_VALUE, i, g, w, -1); /* -0 for +0: bound -1 says so */
        if (!isfinite(w)) continue; /* equal NaN / equal infinities, checked above */
        double err = fabs(g - w), s = scale ? scale[i] : 1.0;
        float wf = fabsf((float)w);
        double ulp = (double)nextafterf(wf, INFINITY) - (double)wf;
        r->stats.sum_abs += err;
        r->stats.sum_rel += w != 0 ? err / fabs(w) : 0;
        r->stats.count++;
        if (ulp > 0 && err / ulp > r->stats.max_ulp) r->stats.max_ulp = err / ulp;
        double bound = tol->atol * s + tol->rtol * fabs(w);
        if (err > r->max_abs) r->max_abs = err;
        if (w != 0 && err / fabs(w) > r->max_rel) r->max_rel = err / fabs(w);
        double used = bound > 0 ? err / bound : err > 0 ? INFINITY : 0;
        if (used > r->worst) r->worst = used;
        if (!(err <= bound)) first(r, VF_FAIL_VALUE, i, g, w, bound);
        d2 += err * err;
        w2 += w * w;
    }
    r->nse = w2 > 0 ? d2 / w2 : 0;
    /* many small errors can stay under each element's bound and still be a bug (a float
     * accumulator where double was promised, a dropped term in a long sum) */
    if (r->failure == VF_FAIL_COUNT && w2 > 0 && r->nse > tol->nse) {
        r->failure = VF_FAIL_VALUE;
        r->index = -1;
    }
}

void vf_stats_add(vf_stats *into, const vf_stats *from) {
    into->sum_abs += from->sum_abs;
    into->sum_rel += from->sum_rel;
    into->count += from->count;
    if (from->max_ulp > into->max_ulp) into->max_ulp = from->max_ulp;
}

const char *vf_index_str(int ndim, const int64_t *index, char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && n < len; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", d ? ", " : "", (long long)index[d]);
    if (n < len) snprintf(buf + n, len - n, "]");
    return buf;
}

void vf_cmp_describe(const vf_cmp *r, const char *what, int ndim, const int64_t *shape,
                     const char *got_name, const char *want_name, char *buf, size_t len) {
    int64_t n = vf_numel(ndim, shape), index[MT_MAX_DIMS];
    char at[MT_SHAPE_STR_LEN + 64] = "";
    if (r->index >= 0) {
        char ix[MT_SHAPE_STR_LEN];
        mt_ordinal_to_index(r->index, ndim, shape, index);
        snprintf(at, sizeof at, "%s%s", what, vf_index_str(ndim, index, ix, sizeof ix));
    }
    switch (r->failure) {
    case VF_FAIL_UNWRITTEN:
        snprintf(buf, len,
                 "%s was never written (still the pre-fill marker NaN); %lld of %lld elements "
                 "unwritten",
                 at, (long long)r->nbad, (long long)n);
        break;
    case VF_FAIL_NAN:
    case VF_FAIL_INF:
        snprintf(buf, len, "%s = %.9g (%s), expected %.9g (%s); %lld of %lld elements differ", at,
                 r->got, got_name, r->want, want_name, (long long)r->nbad, (long long)n);
        break;
    case VF_FAIL_VALUE:
        if (r->index >= 0 && r->bound < 0)
            snprintf(buf, len,
                     "%s = %.9g (%s), expected %.9g (%s): the sign of zero differs, and the op is "
                     "exact (bits are compared); %lld of %lld elements off",
                     at, r->got, got_name, r->want, want_name, (long long)r->nbad, (long long)n);
        else if (r->index >= 0)
            snprintf(buf, len,
                     "%s = %.9g (%s), expected %.9g (%s): |diff| %.3g > bound %.3g; %lld of "
                     "%lld elements off; max abs err %.3g, max rel err %.3g, normalized squared "
                     "error %.3g",
                     at, r->got, got_name, r->want, want_name, fabs(r->got - r->want), r->bound,
                     (long long)r->nbad, (long long)n, r->max_abs, r->max_rel, r->nse);
        else
            snprintf(buf, len,
                     "every element of %s is within its bound, but the normalized squared error "
                     "%.3g is too large (max abs err %.3g, max rel err %.3g over %lld elements)",
                     what, r->nse, r->max_abs, r->max_rel, (long long)n);
        break;
    default: snprintf(buf, len, "within tolerance"); break;
    }
}
