/* Input values and storage layouts of a case. Everything derives from the case seed through
 * separate streams (values of input i, layout of input i, ...), so shrinking a shape keeps the
 * other choices, and two backends see bit-identical inputs. */
#include "verify_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const RANGE_NAMES[VF_R_COUNT] = {
    "ones",
    "integers in [-3, 3]",
    "uniform [-1, 1)",
    "uniform [-100, 100)",
    "uniform [-1e-3, 1e-3)",
    "uniform [0.1, 10)",
    "+-[0.8, 1.25)",
    "+-[0.5, 2)",
    "uniform [0.5, 2)",
    "uniform [95, 105)",
    "[-1, 1) with 0, -0, +-inf, NaN",
    "uniform [-1000, 1000)",
};

const char *vf_range_name(vf_range r) {
    return r >= 0 && r < VF_R_COUNT ? RANGE_NAMES[r] : "unknown range";
}

/* An independent stream per purpose: seed and tag through splitmix64 (inside mt_rng_seed). */
static void stream(mt_rng *rng, uint64_t seed, uint64_t tag) {
    mt_rng_seed(rng, seed ^ (tag * 0x9e3779b97f4a7c15ull));
}

static double uniform(mt_rng *rng, double lo, double hi) {
    return lo + (hi - lo) * mt_rng_uniform(rng);
}
static double sign(mt_rng *rng) { return (mt_rng_next(rng) >> 63) ? 1.0 : -1.0; }

void vf_fill_values(vf_range r, mt_rng *rng, float *dst, int64_t n) {
    static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN};
    for (int64_t i = 0; i < n; i++) {
        double v;
        switch (r) {
        case VF_R_ONES: v = 1; break;
        case VF_R_INT: v = (double)(int)(mt_rng_next(rng) % 7) - 3; break;
        case VF_R_WIDE: v = uniform(rng, -100, 100); break;
        case VF_R_SMALL: v = uniform(rng, -1e-3, 1e-3); break;
        case VF_R_POS: v = uniform(rng, 0.1, 10); break;
        case VF_R_NEAR1: v = sign(rng) * uniform(rng, 0.8, 1.25); break;
        case VF_R_AWAY0: v = sign(rng) * uniform(rng, 0.5, 2); break;
        case VF_R_HALF2: v = uniform(rng, 0.5, 2); break;
        case VF_R_SHIFTED: v = uniform(rng, 95, 105); break;
        case VF_R_HUGE: v = uniform(rng, -1000, 1000); break;
        case VF_R_SPECIAL:
            if (mt_rng_next(rng) % 8 == 0) {
                dst[i] = specials[mt_rng_next(rng) % 5];
                continue;
            }
            v = uniform(rng, -1, 1);
            break;
        case VF_R_UNIT:
        default: v = uniform(rng, -1, 1); break;
        }
        dst[i] = (float)v;
    }
}

/* ------------------------------------------------------------------ layouts */
static void contiguous(int ndim, const int64_t *shape, vf_layout *l) {
    mt_strides_for_shape(ndim, shape, l->strides);
    l->offset = 0;
}

void vf_layout_make(vf_layout_kind kind, int ndim, const int64_t *shape, mt_rng *rng,
                    vf_layout *l) {
    memset(l, 0, sizeof *l);
    l->kind = kind;
    if (kind == VF_L_PERMUTED) {
        /* dims stored in a random order, the innermost stored row padded by 0-2 unused words,
         * an offset of 0-3, and size-1 dims given strides no kernel should use */
        int order[MT_MAX_DIMS];
        for (int d = 0; d < ndim; d++) order[d] = d;
        for (int d = ndim - 1; d > 0; d--) {
            int j = (int)(mt_rng_next(rng) % (uint64_t)(d + 1)), t = order[d];
            order[d] = order[j];
            order[j] = t;
        }
        int64_t gap = (int64_t)(mt_rng_next(rng) % 3), running = 1;
        bool innermost = true;
        for (int j = ndim - 1; j >= 0; j--) {
            int d = order[j];
            if (shape[d] == 1) {
                l->strides[d] = (int64_t)(mt_rng_next(rng) % 5);
                continue;
            }
            l->strides[d] = running;
            running *= shape[d] + (innermost ? gap : 0);
            innermost = false;
        }
        l->offset = (int64_t)(mt_rng_next(rng) % 4);
    } else if (kind == VF_L_EXPANDED) {
        /* a broadcast view: one dim of size > 1 reads the same storage for every index */
        contiguous(ndim, shape, l);
        int candidates[MT_MAX_DIMS], n = 0;
        for (int d = 0; d < ndim; d++)
            if (shape[d] > 1) candidates[n++] = d;
        if (n > 0) {
            int z = candidates[mt_rng_next(rng) % (uint64_t)n];
            int64_t compact[MT_MAX_DIMS], s = 1;
            for (int d = ndim - 1; d >= 0; d--) {
                compact[d] = d == z ? 0 : s;
                if (d != z) s *= shape[d];
            }
            memcpy(l->strides, compact, sizeof(int64_t) * (size_t)ndim);
        }
        l->offset = (int64_t)(mt_rng_next(rng) % 3);
    } else if (kind == VF_L_REVERSED) {
        int64_t running = 1;
        for (int d = 0; d < ndim; d++) {
            l->strides[d] = running;
            running *= shape[d];
        }
    } else if (kind == VF_L_CHANNEL) {
        /* x[:, c0:c0+C] of (B, C + extra, ...): 1-3 channels before, 0-2 after */
        contiguous(ndim, shape, l);
        int64_t plane = 1;
        for (int d = 2; d < ndim; d++) plane *= shape[d];
        int64_t before = 1 + (int64_t)(mt_rng_next(rng) % 3), after = (int64_t)(mt_rng_next(rng) % 3);
        if (ndim >= 2) l->strides[0] = (shape[1] + before + after) * plane;
        l->offset = before * plane;
    } else {
        contiguous(ndim, shape, l);
    }
    int64_t last = l->offset;
    for (int d = 0; d < ndim; d++)
        if (shape[d] > 1) last += (shape[d] - 1) * l->strides[d];
    l->storage = last + 1;
}

void vf_layout_normalize(const vf_layout *l, int ndim, const int64_t *shape, float *values) {
    if (l->kind != VF_L_EXPANDED) return; /* every element has its own storage word */
    int64_t n = vf_numel(ndim, shape), index[MT_MAX_DIMS];
    float *storage = calloc((size_t)l->storage, sizeof(float));
    if (!storage) return;
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < n; i++) {
            mt_ordinal_to_index(i, ndim, shape, index);
            int64_t pos = l->offset + mt_index_to_position(ndim, index, l->strides);
            if (pass == 0)
                storage[pos] = values[i]; /* the last write wins, as it would in memory */
            else
                values[i] = storage[pos];
        }
    free(storage);
}

bool vf_data_make(const vf_case *c, const vf_problem *p, bool contiguous_out, vf_data *d) {
    memset(d, 0, sizeof *d);
    for (int i = 0; i < p->nin; i++) {
        int64_t n = vf_numel(p->ndim[i], p->shape[i]);
        d->in[i] = malloc(sizeof(float) * (size_t)n);
        if (!d->in[i]) {
            vf_data_free(d);
            return false;
        }
        mt_rng rng;
        stream(&rng, c->seed, 100 + (uint64_t)i);
        vf_fill_values(c->range, &rng, d->in[i], n);
        stream(&rng, c->seed, 200 + (uint64_t)i);
        vf_layout_make((vf_layout_kind)c->layout[i], p->ndim[i], p->shape[i], &rng, &d->layout[i]);
        vf_layout_normalize(&d->layout[i], p->ndim[i], p->shape[i], d->in[i]);
    }
    mt_rng rng;
    stream(&rng, c->seed, 300);
    vf_layout_make(contiguous_out ? VF_L_CONTIGUOUS : (vf_layout_kind)c->layout[VF_MAX_IN],
                   p->out_ndim, p->out_shape, &rng, &d->out_layout);
    return true;
}

void vf_data_contiguous(const vf_problem *p, vf_data *d) {
    for (int i = 0; i < p->nin; i++)
        vf_layout_make(VF_L_CONTIGUOUS, p->ndim[i], p->shape[i], NULL, &d->layout[i]);
    vf_layout_make(VF_L_CONTIGUOUS, p->out_ndim, p->out_shape, NULL, &d->out_layout);
}

void vf_data_free(vf_data *d) {
    for (int i = 0; i < VF_MAX_IN; i++) {
        free(d->in[i]);
        d->in[i] = NULL;
    }
}
