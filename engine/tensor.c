/* Tensor data: shapes, strides, broadcasting, constructors and element access. No autodiff here. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every tensor's element count fits int64 (shape_numel checks it when the tensor is made), so
 * the product here cannot wrap. */
int64_t mt_numel(const mt_tensor *t) {
    if (!t) return 0;
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* The element count of a shape of sizes >= 1, false when it does not fit int64. */
static bool shape_numel(int ndim, const int64_t *shape, int64_t *numel) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        if (__builtin_mul_overflow(n, shape[d], &n)) return false;
    *numel = n;
    return true;
}

mt_status mt_strides_for_shape(int ndim, const int64_t *shape, int64_t *strides) {
    if (!shape || !strides) return mt_null_status("mt_strides_for_shape", "shape or strides");
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        /* the product past dim 0 is the element count, which must fit too */
        if (__builtin_mul_overflow(s, shape[d], &s)) {
            char buf[MT_SHAPE_STR_LEN];
            return mt_fail(MT_ERR_SHAPE,
                           "mt_strides_for_shape: shape %s has more than %" PRId64 " elements",
                           mt_shape_str(ndim, shape, buf, sizeof buf), INT64_MAX);
        }
    }
    return MT_OK;
}

/* Contiguous means row-major with no gaps; size-1 dims may carry any stride. */
bool mt_is_contiguous(const mt_tensor *t) {
    if (!t) return false;
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != expect) return false;
        expect *= t->shape[d];
    }
    return true;
}

bool mt_same_shape(const mt_tensor *a, const mt_tensor *b) {
    if (!a || !b) return false;
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

const char *mt_shape_str(int ndim, const int64_t *shape, char *buf, size_t buflen) {
    if (!buf || buflen == 0) return "";
    if (!shape) {
        snprintf(buf, buflen, "(null)");
        return buf;
    }
    size_t n = 0;
    n += (size_t)snprintf(buf + n, buflen - n, "(");
    for (int d = 0; d < ndim && n < buflen; d++)
        n += (size_t)snprintf(buf + n, buflen - n, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (ndim == 1 && n < buflen) n += (size_t)snprintf(buf + n, buflen - n, ",");
    if (n < buflen) snprintf(buf + n, buflen - n, ")");
    return buf;
}

mt_status mt_shape_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
                             int64_t *out) {
    if (!a || !b || !nout || !out) return mt_null_status("mt_shape_broadcast", "an argument");
    int n = na > nb ? na : nb;
    if (n > MT_MAX_DIMS) return mt_fail(MT_ERR_SHAPE, "broadcast: more than %d dims", MT_MAX_DIMS);
    int64_t res[MT_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        /* right-aligned: missing leading dims count as 1 */
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1) {
            res[i] = da;
        } else if (da == 1) {
            res[i] = db;
        } else {
            char sa[MT_SHAPE_STR_LEN], sb[MT_SHAPE_STR_LEN];
            return mt_fail(MT_ERR_SHAPE,
                           "cannot broadcast shapes %s and %s: dim %d has sizes %" PRId64
                           " and %" PRId64 " (each must match or be 1)",
                           mt_shape_str(na, a, sa, sizeof sa), mt_shape_str(nb, b, sb, sizeof sb),
                           i, da, db);
        }
    }
    *nout = n;
    memcpy(out, res, sizeof(int64_t) * (size_t)n);
    return MT_OK;
}

/* Checks a shape for a new tensor and gives its element count. Sizes are only bounded below, so
 * their product is checked: a count that wraps would allocate a few floats for a huge shape. */
static mt_status check_shape(const char *opname, int ndim, const int64_t *shape, int64_t *numel) {
    if (ndim < 1 || ndim > MT_MAX_DIMS)
        return mt_fail(MT_ERR_SHAPE, "%s: a tensor needs 1 to %d dims, got %d", opname,
                       MT_MAX_DIMS, ndim);
    if (!shape) return mt_null_status(opname, "shape");
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 1)
            return mt_fail(MT_ERR_SHAPE, "%s: dim %d has size %" PRId64 ", sizes must be >= 1",
                           opname, d, shape[d]);
    char s[MT_SHAPE_STR_LEN];
    if (!shape_numel(ndim, shape, numel))
        return mt_fail(MT_ERR_SHAPE, "%s: shape %s has more than %" PRId64 " elements", opname,
                       mt_shape_str(ndim, shape, s, sizeof s), INT64_MAX);
    if (*numel > (int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float)))
        return mt_fail(MT_ERR_OOM,
                       "%s: shape %s has %" PRId64 " elements, more bytes than memory can "
                       "address",
                       opname, mt_shape_str(ndim, shape, s, sizeof s), *numel);
    return MT_OK;
}

const mt_backend *mt_tensor_backend(const mt_tensor *t) {
    return t && t->storage ? t->storage->backend : NULL;
}

mt_tensor *mt_tensor_alloc_for(const char *opname, mt_ctx *ctx, const mt_backend *b, int ndim,
                               const int64_t *shape) {
    if (!ctx) return mt_null_arg(opname, "ctx");
    if (!b) return mt_null_arg(opname, "backend");
    int64_t numel = 0;
    if (check_shape(opname, ndim, shape, &numel) != MT_OK) return NULL;
    mt_tensor *t = mt_ctx_alloc_header(ctx, sizeof *t);
    mt_storage *s = mt_ctx_alloc_header(ctx, sizeof *s);
    if (!t || !s) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    mt_strides_for_shape(ndim, shape, t->strides);
    t->ctx = ctx;
    t->generation = mt_ctx_generation(ctx);
    s->backend = b;
    s->size = numel;
    s->ctx = ctx;
    s->generation = t->generation;
    size_t bytes = (size_t)numel * sizeof(float);
    s->data = b->storage_alloc ? b->storage_alloc(ctx, bytes) : mt_ctx_alloc(ctx, bytes);
    if (!s->data) {
        char sh[MT_SHAPE_STR_LEN], msg[400];
        snprintf(msg, sizeof msg, "%s", mt_last_error());
        return mt_fail_null(mt_last_status() == MT_OK ? MT_ERR_OOM : mt_last_status(),
                            "%s: cannot allocate shape %s (%zu bytes): %s", opname,
                            mt_shape_str(ndim, shape, sh, sizeof sh), bytes, msg);
    }
    t->storage = s;
    return t;
}

mt_tensor *mt_tensor_alloc(mt_ctx *ctx, const mt_backend *b, int ndim, const int64_t *shape) {
    return mt_tensor_alloc_for("tensor", ctx, b, ndim, shape);
}

mt_status mt_check_live(const char *opname, const mt_tensor *t) {
    if (!t) return MT_OK;
    const mt_storage *s = t->storage;
    bool header_stale = t->ctx && t->generation != mt_ctx_generation(t->ctx);
    bool storage_stale = s && s->ctx && s->generation != mt_ctx_generation(s->ctx);
    if (!header_stale && !storage_stale) return MT_OK;
    char sh[MT_SHAPE_STR_LEN];
    return mt_fail(MT_ERR_STATE,
                   "%s: a tensor of shape %s was made before its context was reset (generation "
                   "%" PRIu64 ", now %" PRIu64 "); tensors do not survive mt_ctx_reset",
                   opname, mt_shape_str(t->ndim, t->shape, sh, sizeof sh),
                   header_stale ? t->generation : s->generation,
                   mt_ctx_generation(header_stale ? t->ctx : s->ctx));
}

mt_tensor *mt_scalar_on(mt_ctx *ctx, const mt_backend *b, float value) {
    mt_tensor *t = mt_tensor_alloc(ctx, b, 1, (const int64_t[]){1});
    if (!t || mt_copy_from_host(t, &value) != MT_OK) return NULL;
    return t;
}

mt_tensor *mt_tensor_alias(mt_ctx *ctx, const mt_tensor *a) {
    if (!a) return mt_null_arg("alias", "tensor");
    mt_tensor *t = mt_ctx_alloc_header(ctx, sizeof *t);
    if (!t) return NULL;
    *t = *a;
    t->ctx = ctx;
    t->generation = mt_ctx_generation(ctx);
    t->requires_grad = false;
    t->grad = NULL;
    t->node = NULL;
    t->visit_mark = 0;
    return t;
}

mt_status mt_check_same_backend(const char *opname, const mt_tensor *a, const mt_tensor *b) {
    if (mt_tensor_backend(a) != mt_tensor_backend(b))
        return mt_fail(MT_ERR_BACKEND,
                       "%s: inputs are on different backends (%s and %s); move one with mt_to()",
                       opname, mt_tensor_backend(a)->name, mt_tensor_backend(b)->name);
    return MT_OK;
}

mt_status mt_broadcast_view(const mt_tensor *a, int ndim, const int64_t *shape, mt_tensor *view) {
    int n;
    int64_t bshape[MT_MAX_DIMS];
    MT_TRY(mt_shape_broadcast(a->ndim, a->shape, ndim, shape, &n, bshape));
    if (n != ndim || memcmp(bshape, shape, sizeof(int64_t) * (size_t)n) != 0) {
        char sa[MT_SHAPE_STR_LEN], sb[MT_SHAPE_STR_LEN];
        return mt_fail(MT_ERR_SHAPE, "shape %s does not broadcast to %s",
                       mt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                       mt_shape_str(ndim, shape, sb, sizeof sb));
    }
    *view = *a;
    view->ndim = ndim;
    int lead = ndim - a->ndim;
    for (int d = 0; d < ndim; d++) {
        view->shape[d] = shape[d];
        int src = d - lead;
        view->strides[d] = (src >= 0 && a->shape[src] == shape[d]) ? a->strides[src] : 0;
    }
    return MT_OK;
}

/* ------------------------------------------------------------------ constructors */
mt_tensor *mt_empty(mt_ctx *ctx, int ndim, const int64_t *shape) {
    return mt_tensor_alloc_for("mt_empty", ctx, mt_ctx_backend(ctx), ndim, shape);
}

/* Constructors build values on the host and upload once; host backends write in place. */
static mt_tensor *from_generator(const char *name, mt_ctx *ctx, int ndim, const int64_t *shape,
                                 float (*gen)(void *state), void *state) {
    mt_tensor *t = mt_tensor_alloc_for(name, ctx, mt_ctx_backend(ctx), ndim, shape);
    if (!t) return NULL;
    const mt_backend *b = mt_tensor_backend(t);
    int64_t n = mt_numel(t);
    if (!b->upload) {
        for (int64_t i = 0; i < n; i++) t->storage->data[i] = gen(state);
        return t;
    }
    /* a staging buffer that does not outlive the upload (the arena would keep it until reset) */
    float *tmp = malloc((size_t)n * sizeof(float));
    if (!tmp) return mt_fail_null(MT_ERR_OOM, "out of host memory staging %lld floats", (long long)n);
    for (int64_t i = 0; i < n; i++) tmp[i] = gen(state);
    mt_status s = b->upload(t->storage->data, tmp, (size_t)n);
    free(tmp);
    return s == MT_OK ? t : NULL;
}

static float gen_const(void *state) { return *(const float *)state; }
static mt_tensor *full(const char *name, mt_ctx *ctx, int ndim, const int64_t *shape,
                       float value) {
    const mt_backend *b = mt_ctx_backend(ctx);
    if (b && b->fill) { /* device backends fill in place: no host buffer, no transfer */
        mt_tensor *t = mt_tensor_alloc_for(name, ctx, b, ndim, shape);
        if (!t || b->fill(t->storage->data, (size_t)mt_numel(t), value) != MT_OK) return NULL;
        return t;
    }
    return from_generator(name, ctx, ndim, shape, gen_const, &value);
}
mt_tensor *mt_full(mt_ctx *ctx, int ndim, const int64_t *shape, float value) {
    return full("mt_full", ctx, ndim, shape, value);
}
mt_tensor *mt_zeros(mt_ctx *ctx, int ndim, const int64_t *shape) {
    return full("mt_zeros", ctx, ndim, shape, 0.0f);
}
mt_tensor *mt_ones(mt_ctx *ctx, int ndim, const int64_t *shape) {
    return full("mt_ones", ctx, ndim, shape, 1.0f);
}
mt_tensor *mt_scalar(mt_ctx *ctx, float value) {
    return full("mt_scalar", ctx, MT_SHAPE(1), value);
}

typedef struct {
    const float *data;
} array_state;
static float gen_array(void *state) { return *((array_state *)state)->data++; }
mt_tensor *mt_from_array(mt_ctx *ctx, int ndim, const int64_t *shape, const float *data) {
    if (!data) return mt_null_arg("mt_from_array", "data");
    array_state st = {data};
    return from_generator("mt_from_array", ctx, ndim, shape, gen_array, &st);
}

typedef struct {
    mt_rng *rng;
    float a, b;
} random_state;
static float gen_uniform(void *state) {
    random_state *s = state;
    return s->a + (s->b - s->a) * (float)mt_rng_uniform(s->rng);
}
static float gen_normal(void *state) {
    random_state *s = state;
    return s->a + s->b * (float)mt_rng_normal(s->rng);
}
mt_tensor *mt_rand_uniform(mt_ctx *ctx, int ndim, const int64_t *shape, float lo, float hi,
                           mt_rng *rng) {
    if (!ctx) return mt_null_arg("mt_rand_uniform", "ctx");
    random_state st = {rng ? rng : mt_ctx_rng(ctx), lo, hi};
    return from_generator("mt_rand_uniform", ctx, ndim, shape, gen_uniform, &st);
}
mt_tensor *mt_rand_normal(mt_ctx *ctx, int ndim, const int64_t *shape, float mean, float std,
                          mt_rng *rng) {
    if (!ctx) return mt_null_arg("mt_rand_normal", "ctx");
    random_state st = {rng ? rng : mt_ctx_rng(ctx), mean, std};
    return from_generator("mt_rand_normal", ctx, ndim, shape, gen_normal, &st);
}

/* ------------------------------------------------------------------ element access */
static mt_status element_position(const char *fn, const mt_tensor *t, const int64_t *index,
                                  int64_t *pos) {
    if (!t) return mt_null_status(fn, "tensor");
    if (!index) return mt_null_status(fn, "index");
    MT_TRY(mt_check_live(fn, t));
    int64_t p = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        if (index[d] < 0 || index[d] >= t->shape[d]) {
            char s[MT_SHAPE_STR_LEN];
            return mt_fail(MT_ERR_ARG, "index %" PRId64 " is out of range for dim %d of shape %s",
                           index[d], d, mt_shape_str(t->ndim, t->shape, s, sizeof s));
        }
        p += index[d] * t->strides[d];
    }
    *pos = p;
    return MT_OK;
}

mt_status mt_get(const mt_tensor *t, const int64_t *index, float *value) {
    int64_t pos;
    if (!value) return mt_null_status("mt_get", "value");
    MT_TRY(element_position("mt_get", t, index, &pos));
    const mt_backend *b = mt_tensor_backend(t);
    if (b->download) return b->download(value, t->storage->data + pos, 1);
    *value = t->storage->data[pos];
    return MT_OK;
}

mt_status mt_set(mt_tensor *t, const int64_t *index, float value) {
    int64_t pos;
    MT_TRY(element_position("mt_set", t, index, &pos));
    const mt_backend *b = mt_tensor_backend(t);
    if (b->upload) return b->upload(t->storage->data + pos, &value, 1);
    t->storage->data[pos] = value;
    return MT_OK;
}

mt_status mt_item(const mt_tensor *t, float *value) {
    if (!t) return mt_null_status("mt_item", "tensor");
    if (!value) return mt_null_status("mt_item", "value");
    if (mt_numel(t) != 1) {
        char s[MT_SHAPE_STR_LEN];
        return mt_fail(MT_ERR_SHAPE, "mt_item needs a one-element tensor, got shape %s",
                       mt_shape_str(t->ndim, t->shape, s, sizeof s));
    }
    int64_t zero[MT_MAX_DIMS] = {0};
    return mt_get(t, zero, value);
}

/* Visits t's storage positions in row-major order of its shape, walking the index like an
 * odometer (one add per element; recomputing each position from its ordinal cost ~26 ns an
 * element, a third of a small training step when a batch was copied in); visit gets the
 * storage position and the ordinal. */
static void for_each_position(const mt_tensor *t, void (*visit)(void *, int64_t, int64_t),
                              void *state) {
    int64_t n = mt_numel(t), index[MT_MAX_DIMS] = {0}, pos = t->offset;
    for (int64_t i = 0; i < n; i++) {
        visit(state, pos, i);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++index[d] < t->shape[d]) {
                pos += t->strides[d];
                break;
            }
            pos -= (t->shape[d] - 1) * t->strides[d];
            index[d] = 0;
        }
    }
}

typedef struct {
    const float *storage; /* holds storage positions base, base + 1, ... */
    float *dst;
    int64_t base;
} gather_state;
static void gather(void *s, int64_t pos, int64_t i) {
    gather_state *g = s;
    g->dst[i] = g->storage[pos - g->base];
}
typedef struct {
    float *storage;
    const float *src;
} scatter_state;
static void scatter(void *s, int64_t pos, int64_t i) {
    scatter_state *g = s;
    g->storage[pos] = g->src[i];
}

mt_status mt_to_host(const mt_tensor *t, float *dst) {
    if (!t) return mt_null_status("mt_to_host", "tensor");
    if (!dst) return mt_null_status("mt_to_host", "dst");
    MT_TRY(mt_check_live("mt_to_host", t));
    const mt_backend *b = mt_tensor_backend(t);
    if (b->download) {
        int64_t n = mt_numel(t);
        if (mt_is_contiguous(t)) return b->download(dst, t->storage->data + t->offset, (size_t)n);
        /* A strided view: one transfer of the storage span it covers, then a gather on the host
         * (no device temporaries, no context made per read). */
        int64_t lo = t->offset, hi = t->offset;
        for (int d = 0; d < t->ndim; d++) {
            int64_t reach = (t->shape[d] - 1) * t->strides[d];
            if (reach < 0) lo += reach; else hi += reach;
        }
        float *span = malloc((size_t)(hi - lo + 1) * sizeof(float));
        if (!span) return mt_fail(MT_ERR_OOM, "mt_to_host: out of host memory");
        mt_status s = b->download(span, t->storage->data + lo, (size_t)(hi - lo + 1));
        if (s == MT_OK) {
            gather_state g = {span, dst, lo};
            for_each_position(t, gather, &g);
        }
        free(span);
        return s;
    }
    /* host memory, contiguous: one copy (a data-parallel step moves every gradient this way) */
    if (mt_is_contiguous(t)) {
        memcpy(dst, t->storage->data + t->offset, (size_t)mt_numel(t) * sizeof(float));
        return MT_OK;
    }
    gather_state g = {t->storage->data, dst, 0};
    for_each_position(t, gather, &g);
    return MT_OK;
}

mt_status mt_copy_from_host(mt_tensor *t, const float *src) {
    if (!t) return mt_null_status("mt_copy_from_host", "tensor");
    if (!src) return mt_null_status("mt_copy_from_host", "src");
    MT_TRY(mt_check_live("mt_copy_from_host", t));
    const mt_backend *b = mt_tensor_backend(t);
    if (b->upload) {
        if (!mt_is_contiguous(t))
            return mt_fail(MT_ERR_ARG, "mt_copy_from_host: device tensors must be contiguous");
        return b->upload(t->storage->data + t->offset, src, (size_t)mt_numel(t));
    }
    if (mt_is_contiguous(t)) {
        memcpy(t->storage->data + t->offset, src, (size_t)mt_numel(t) * sizeof(float));
        return MT_OK;
    }
    scatter_state g = {t->storage->data, src};
    for_each_position(t, scatter, &g);
    return MT_OK;
}

mt_tensor *mt_to(mt_ctx *ctx, const mt_tensor *t, const mt_backend *backend) {
    if (!t) return mt_null_arg("mt_to", "tensor");
    if (!ctx) return mt_null_arg("mt_to", "ctx");
    if (!backend) return mt_null_arg("mt_to", "backend");
    int64_t n = mt_numel(t);
    float *host = mt_ctx_alloc(ctx, (size_t)n * sizeof(float));
    if (!host || mt_to_host(t, host) != MT_OK) return NULL;
    mt_tensor *out = mt_tensor_alloc_for("mt_to", ctx, backend, t->ndim, t->shape);
    if (!out || mt_copy_from_host(out, host) != MT_OK) return NULL;
    return out;
}

void mt_print(const char *label, const mt_tensor *t) {
    char s[MT_SHAPE_STR_LEN];
    if (!t) {
        printf("%s: NULL\n", label ? label : "tensor");
        return;
    }
    printf("%s %s [%s]:", label ? label : "tensor", mt_shape_str(t->ndim, t->shape, s, sizeof s),
           mt_tensor_backend(t)->name);
    int64_t n = mt_numel(t), shown = n < 16 ? n : 16;
    float vals[16];
    int64_t index[MT_MAX_DIMS];
    for (int64_t i = 0; i < shown; i++) {
        mt_ordinal_to_index(i, t->ndim, t->shape, index);
        if (mt_get(t, index, &vals[i]) != MT_OK) vals[i] = NAN;
        printf(" %g", (double)vals[i]);
    }
    printf("%s\n", n > shown ? " ..." : "");
}
