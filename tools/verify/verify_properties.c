/* Invariants an op's output must satisfy on its own, checked on every backend (the naive one
 * included, so they back up the golden files with checks that need no reference). */
#include "verify_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Walks the slices along params.dim of a tensor of the input's shape: calls fn with the
 * positions (row-major ordinals) of each slice's elements. */
typedef bool (*slice_fn)(const float *x, const float *out, const int64_t *pos, int64_t len,
                         char *msg, size_t mlen);
/* Slices whose inputs hold an inf or a NaN are left to the comparison with the reference: the
 * invariants below are those of finite rows. */
static bool finite_slice(const float *x, const int64_t *pos, int64_t len) {
    for (int64_t k = 0; k < len; k++)
        if (!isfinite(x[pos[k]])) return false;
    return true;
}

static bool for_each_slice(const vf_problem *p, const float *x, const float *out, slice_fn fn,
                           char *msg, size_t mlen) {
    int nd = p->ndim[0], dim = p->params.dim;
    int64_t len = p->shape[0][dim], inner = 1;
    for (int d = dim + 1; d < nd; d++) inner *= p->shape[0][d];
    int64_t outer = vf_numel(nd, p->shape[0]) / (len * inner);
    int64_t *pos = malloc(sizeof(int64_t) * (size_t)len);
    bool ok = pos != NULL;
    for (int64_t o = 0; ok && o < outer; o++)
        for (int64_t i = 0; ok && i < inner; i++) {
            for (int64_t k = 0; k < len; k++) pos[k] = (o * len + k) * inner + i;
            ok = !finite_slice(x, pos, len) || fn(x, out, pos, len, msg, mlen);
        }
    free(pos);
    return ok;
}

static bool argmax_slice(const float *x, const float *out, const int64_t *pos, int64_t len,
                         char *msg, size_t mlen) {
    int64_t first = 0;
    for (int64_t k = 1; k < len; k++)
        if (x[pos[k]] > x[pos[first]]) first = k;
    for (int64_t k = 0; k < len; k++) {
        float want = k == first ? 1.0f : 0.0f;
        if (out[pos[k]] != want) {
            snprintf(msg, mlen,
                     "argmax is not the one-hot mask of the first maximum: element %lld of a "
                     "slice is %g, expected %g (first maximum at %lld)",
                     (long long)k, (double)out[pos[k]], (double)want, (long long)first);
            return false;
        }
    }
    return true;
}
bool vf_argmax_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                        size_t len) {
    return for_each_slice(p, d->in[0], out, argmax_slice, msg, len);
}

static bool softmax_slice(const float *x, const float *out, const int64_t *pos, int64_t len,
                          char *msg, size_t mlen) {
    (void)x;
    double sum = 0;
    for (int64_t k = 0; k < len; k++) {
        double v = out[pos[k]];
        if (!(v >= 0 && v <= 1)) {
            snprintf(msg, mlen, "softmax value %g outside [0, 1]", v);
            return false;
        }
        sum += v;
    }
    if (fabs(sum - 1) > 1e-5 * (double)len + 1e-6) {
        snprintf(msg, mlen, "softmax slice of %lld sums to %.9g, not 1", (long long)len, sum);
        return false;
    }
    return true;
}
bool vf_softmax_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                         size_t len) {
    return for_each_slice(p, d->in[0], out, softmax_slice, msg, len);
}

static bool logsoftmax_slice(const float *x, const float *out, const int64_t *pos, int64_t len,
                             char *msg, size_t mlen) {
    (void)x;
    double sum = 0;
    for (int64_t k = 0; k < len; k++) sum += exp((double)out[pos[k]]);
    if (fabs(sum - 1) > 1e-5 * (double)len + 1e-6) {
        snprintf(msg, mlen, "exp(logsoftmax) over a slice of %lld sums to %.9g, not 1",
                 (long long)len, sum);
        return false;
    }
    return true;
}
bool vf_logsoftmax_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                            size_t len) {
    return for_each_slice(p, d->in[0], out, logsoftmax_slice, msg, len);
}

/* Inverted dropout: every output is 0 or x / (1 - rate), and about (1 - rate) of them are kept. */
bool vf_dropout_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                         size_t len) {
    int64_t n = vf_numel(p->ndim[0], p->shape[0]), nonzero = 0, kept = 0;
    double rate = p->params.rate;
    for (int64_t i = 0; i < n; i++) {
        double x = d->in[0][i], y = out[i];
        if (x == 0 || !isfinite(x)) continue; /* inf * scale, NaN: the comparison's business */
        nonzero++;
        if (y == 0) continue;
        kept++;
        double want = x / (1 - rate);
        if (fabs(y - want) > 1e-6 * fabs(want)) {
            snprintf(msg, len, "dropout element %lld is %.9g: neither 0 nor x / (1 - rate) = %.9g",
                     (long long)i, y, want);
            return false;
        }
    }
    if (nonzero >= 200) {
        double expect = (1 - rate) * (double)nonzero;
        double sigma = sqrt((double)nonzero * rate * (1 - rate));
        if (fabs((double)kept - expect) > 6 * sigma + 1) {
            snprintf(msg, len, "dropout kept %lld of %lld elements at rate %g; expected about %.0f",
                     (long long)kept, (long long)nonzero, rate, expect);
            return false;
        }
    }
    return true;
}
