/* Shapes, deterministic inputs, views, and the comparison with the naive backend's values. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t bench_shape_numel(const bench_shape *s) {
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= s->d[d];
    return n;
}

const char *bench_shape_x(const bench_shape *s, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < s->ndim && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, d ? "x%" PRId64 : "%" PRId64, s->d[d]);
    return buf;
}

const char *bench_shape_paren(const bench_shape *s, char *buf, size_t len) {
    return mt_shape_str(s->ndim, s->d, buf, len);
}

float *bench_host_floats(int64_t n, char *err, size_t errlen) {
    size_t bytes = (size_t)n * sizeof(float); /* n <= BENCH_MAX_NUMEL: no wrap */
    float *p = malloc(bytes);
    if (!p)
        snprintf(err, errlen, "cannot allocate %zu bytes of host memory (%s)", bytes,
                 strerror(errno ? errno : ENOMEM));
    return p;
}

bool bench_numel_ok(const char *what, int n, const int64_t *factors) {
    int64_t p = 1;
    for (int k = 0; k < n; k++)
        if (factors[k] < 1 || __builtin_mul_overflow(p, factors[k], &p) || p > BENCH_MAX_NUMEL) {
            fprintf(stderr, "%s would have more than 2^36 elements (the most a case may have)\n",
                    what);
            return false;
        }
    return true;
}

int bench_shape_parse(const char *text, bench_shape *s) {
    memset(s, 0, sizeof *s);
    const char *p = text;
    if (*p == '(') p++;
    while (*p && *p != ')') {
        if (s->ndim == MT_MAX_DIMS) return -1;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v <= 0) return -1;
        s->d[s->ndim++] = v;
        p = end;
        while (*p == ' ') p++;
        if (*p == 'x' || *p == ',') p++;
        else if (*p && *p != ')') return -1;
        while (*p == ' ') p++;
    }
    if (s->ndim == 0) return -1;
    char what[160];
    snprintf(what, sizeof what, "shape %s", text);
    return bench_numel_ok(what, s->ndim, s->d) ? 0 : -1;
}

/* splitmix64: a tiny, well-mixed generator; inputs must be the same bits for every implementation
 * and every run. */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void bench_fill(float *dst, int64_t n, uint64_t seed) {
    uint64_t x = seed;
    for (int64_t i = 0; i < n; i++) /* 24 random bits: exact in float */
        dst[i] = (float)((double)(splitmix64(&x) >> 40) / (double)(1 << 23) - 1.0);
}

uint64_t bench_input_seed(const bench_case *c, int input) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the case id */
    for (const char *p = c->id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h + 0x1000u * (uint64_t)(input + 1);
}

void bench_narrow(const mt_tensor *t, int dim, int64_t start, int64_t len, mt_tensor *view) {
    *view = *t;
    view->offset = t->offset + start * t->strides[dim];
    view->shape[dim] = len;
    view->requires_grad = false;
    view->grad = NULL;
    view->node = NULL;
}

int bench_output_from_tensor(const char *name, const mt_tensor *t, bench_output *out, char *err,
                             size_t errlen) {
    out->name = name;
    out->shape.ndim = t->ndim;
    memcpy(out->shape.d, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    out->data = malloc((size_t)mt_numel(t) * sizeof(float));
    if (!out->data) {
        snprintf(err, errlen, "out of memory copying %s", name);
        return -1;
    }
    if (mt_to_host(t, out->data) != MT_OK) {
        snprintf(err, errlen, "copying %s to the host: %s", name, mt_last_error());
        return -1;
    }
    return 0;
}

int bench_region_from_tensor(bench_reference *ref, int output, int ndim, const int64_t *lo,
                             const int64_t *hi, const mt_tensor *t, char *err, size_t errlen) {
    if (!t) {
        snprintf(err, errlen, "naive reference: %s", mt_last_error());
        return -1;
    }
    if (ref->count == BENCH_MAX_REGIONS) {
        snprintf(err, errlen, "too many reference regions");
        return -1;
    }
    bench_region *g = &ref->regions[ref->count];
    memset(g, 0, sizeof *g);
    g->output = output;
    g->ndim = ndim;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        g->lo[d] = lo[d];
        g->hi[d] = hi[d];
        n *= hi[d] - lo[d];
    }
    if (n != mt_numel(t)) {
        snprintf(err, errlen, "naive reference: region of %" PRId64 " elements from a tensor of %"
                 PRId64, n, mt_numel(t));
        return -1;
    }
    g->ref = malloc((size_t)n * sizeof(float));
    if (!g->ref) {
        snprintf(err, errlen, "out of memory for the reference");
        return -1;
    }
    ref->count++;
    if (mt_to_host(t, g->ref) != MT_OK) {
        snprintf(err, errlen, "naive reference to host: %s", mt_last_error());
        return -1;
    }
    return 0;
}

int bench_head_tail(int64_t n, int64_t keep, int64_t start[2], int64_t len[2]) {
    if (keep >= n || n < 2) {
        start[0] = 0;
        len[0] = n;
        return 1;
    }
    if (keep < 2) keep = 2;
    start[0] = 0;
    len[0] = keep / 2;
    start[1] = n - (keep - keep / 2);
    len[1] = keep - keep / 2;
    return 2;
}

void bench_reference_free(bench_reference *r) {
    for (int i = 0; i < r->count; i++) free(r->regions[i].ref);
    memset(r, 0, sizeof *r);
}

/* Float32 kernels may sum in another order than the naive backend's double accumulator, and the
 * rounding error of a long sum grows with the size of its terms, not of its result: an element may
 * be near 0 while the sum that made it ran over values in the hundreds (a weight gradient summed
 * over 400k positions). So the tolerance is 1e-3 x max(1, |reference|, RMS of the region's
 * reference values): far above rounding (about 1e-6 relative here) and far below an indexing or
 * tiling bug, which moves whole values. NaN and inf must match exactly. */
#define BENCH_TOL 1e-3

double bench_region_rms(const bench_region *g) {
    int64_t n = 1;
    for (int d = 0; d < g->ndim; d++) n *= g->hi[d] - g->lo[d];
    double s = 0;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(g->ref[i])) s += (double)g->ref[i] * g->ref[i], finite++;
    return finite ? sqrt(s / (double)finite) : 0;
}

void bench_compare(const bench_reference *ref, const bench_output *outs, int nouts,
                   bench_check *check) {
    check->done = true;
    check->ok = true;
    check->max_abs_diff = 0;
    check->max_rel_diff = 0;
    check->message[0] = '\0';
    for (int r = 0; r < ref->count; r++) {
        const bench_region *g = &ref->regions[r];
        if (g->output >= nouts) {
            check->ok = false;
            snprintf(check->message, sizeof check->message, "output %d is missing", g->output);
            return;
        }
        const bench_output *o = &outs[g->output];
        double scale = fmax(1.0, bench_region_rms(g));
        int64_t idx[MT_MAX_DIMS], k = 0;
        for (int d = 0; d < g->ndim; d++) idx[d] = g->lo[d];
        bool empty = false;
        for (int d = 0; d < g->ndim; d++) empty |= g->hi[d] <= g->lo[d];
        while (!empty) {
            int64_t flat = 0;
            for (int d = 0; d < g->ndim; d++) flat = flat * o->shape.d[d] + idx[d];
            double got = o->data[flat], want = g->ref[k++];
            double diff = fabs(got - want);
            bool bad;
            if (!isfinite(want) || !isfinite(got)) {
                bad = !(isnan(want) && isnan(got)) && got != want;
                diff = bad ? INFINITY : 0;
            } else {
                bad = diff > BENCH_TOL * fmax(scale, fabs(want));
                if (want != 0 && diff / fabs(want) > check->max_rel_diff)
                    check->max_rel_diff = diff / fabs(want);
            }
            if (diff > check->max_abs_diff) check->max_abs_diff = diff;
            if (bad && check->ok) {
                check->ok = false;
                char at[MT_SHAPE_STR_LEN];
                snprintf(check->message, sizeof check->message,
                         "%s%s = %.9g, naive backend gives %.9g (tolerance %.3g)", o->name,
                         mt_shape_str(g->ndim, idx, at, sizeof at), got, want,
                         BENCH_TOL * fmax(scale, fabs(want)));
            }
            int d = g->ndim - 1;
            while (d >= 0 && ++idx[d] == g->hi[d]) idx[d] = g->lo[d], d--;
            if (d < 0) break;
        }
    }
}

int bench_copy_init(bench_copy *cp, double work, uint64_t seed, char *err, size_t errlen) {
    cp->bytes = (size_t)(work / 2) / sizeof(float) * sizeof(float);
    cp->src = malloc(cp->bytes);
    cp->dst = malloc(cp->bytes);
    if (!cp->src || !cp->dst) {
        snprintf(err, errlen, "out of memory for %zu bytes", cp->bytes);
        bench_copy_free(cp);
        return -1;
    }
    bench_fill((float *)cp->src, (int64_t)(cp->bytes / sizeof(float)), seed);
    memset(cp->dst, 0, cp->bytes); /* touch every page before timing */
    return 0;
}

void bench_copy_run(bench_copy *cp) { memcpy(cp->dst, cp->src, cp->bytes); }

int bench_copy_verify(const bench_copy *cp, char *err, size_t errlen) {
    if (memcmp(cp->src, cp->dst, cp->bytes) == 0) return 0;
    snprintf(err, errlen, "memcpy's destination differs from its source");
    return -1;
}

void bench_copy_free(bench_copy *cp) {
    free(cp->src);
    free(cp->dst);
    cp->src = cp->dst = NULL;
}
