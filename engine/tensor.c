/* Tensor data: shapes, strides, broadcasting, constructors and element access. No autodiff here. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t mt_numel(const mt_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

void mt_strides_for_shape(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d];
    }
}

/* Contiguous means row-major with no gaps; size-1 dims may carry any stride. */
bool mt_is_contiguous(const mt_tensor *t) {
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != expect) return false;
        expect *= t->shape[d];
    }
    return true;
}

bool mt_same_shape(const mt_tensor *a, const mt_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

const char *mt_shape_str(int ndim, const int64_t *shape, char *buf, size_t buflen) {
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

static mt_status check_shape(int ndim, const int64_t *shape) {
    if (ndim < 1 || ndim > MT_MAX_DIMS)
        return mt_fail(MT_ERR_SHAPE, "a tensor needs 1 to %d dims, got %d", MT_MAX_DIMS, ndim);
    if (!shape) return mt_fail(MT_ERR_ARG, "NULL shape");
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 1)
            return mt_fail(MT_ERR_SHAPE, "dim %d has size %" PRId64 ", sizes must be >= 1", d,
                           shape[d]);
    return MT_OK;
}

const mt_backend *mt_tensor_backend(const mt_tensor *t) { return t->storage->backend; }

mt_tensor *mt_tensor_alloc(mt_ctx *ctx, const mt_backend *b, int ndim, const int64_t *shape) {
    if (!ctx) return mt_fail_null(MT_ERR_ARG, "NULL context");
    if (check_shape(ndim, shape) != MT_OK) return NULL;
    mt_tensor *t = mt_ctx_alloc(ctx, sizeof *t);
    mt_storage *s = mt_ctx_alloc(ctx, sizeof *s);
    if (!t || !s) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    mt_strides_for_shape(ndim, shape, t->strides);
    t->ctx = ctx;
    s->backend = b;
    s->size = mt_numel(t);
    size_t bytes = (size_t)s->size * sizeof(float);
    s->data = b->storage_alloc ? b->storage_alloc(ctx, bytes) : mt_ctx_alloc(ctx, bytes);
    if (!s->data) return NULL;
    t->storage = s;
    return t;
}

mt_tensor *mt_scalar_on(mt_ctx *ctx, const mt_backend *b, float value) {
    mt_tensor *t = mt_tensor_alloc(ctx, b, 1, (const int64_t[]){1});
    if (!t || mt_copy_from_host(t, &value) != MT_OK) return NULL;
    return t;
}

mt_tensor *mt_tensor_alias(mt_ctx *ctx, const mt_tensor *a) {
    mt_tensor *t = mt_ctx_alloc(ctx, sizeof *t);
    if (!t) return NULL;
    *t = *a;
    t->ctx = ctx;
    t->requires_grad = false;
    t->grad = NULL;
    t->node = NULL;
    t->visit_mark = 0;
    return t;
}

mt_status mt_check_dim(const mt_tensor *t, int *dim) {
    int d = *dim < 0 ? *dim + t->ndim : *dim;
    if (d < 0 || d >= t->ndim)
        return mt_fail(MT_ERR_ARG, "dim %d is out of range for a tensor of %d dims", *dim,
                       t->ndim);
    *dim = d;
    return MT_OK;
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
    if (!ctx) return mt_fail_null(MT_ERR_ARG, "NULL context");
    return mt_tensor_alloc(ctx, mt_ctx_backend(ctx), ndim, shape);
}

/* Constructors build values on the host and upload once; host backends write in place. */
static mt_tensor *from_generator(mt_ctx *ctx, int ndim, const int64_t *shape,
                                 float (*gen)(void *state), void *state) {
    mt_tensor *t = mt_empty(ctx, ndim, shape);
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
mt_tensor *mt_full(mt_ctx *ctx, int ndim, const int64_t *shape, float value) {
    const mt_backend *b = ctx ? mt_ctx_backend(ctx) : NULL;
    if (b && b->fill) { /* device backends fill in place: no host buffer, no transfer */
        mt_tensor *t = mt_empty(ctx, ndim, shape);
        if (!t || b->fill(t->storage->data, (size_t)mt_numel(t), value) != MT_OK) return NULL;
        return t;
    }
    return from_generator(ctx, ndim, shape, gen_const, &value);
}
mt_tensor *mt_zeros(mt_ctx *ctx, int ndim, const int64_t *shape) {
    return mt_full(ctx, ndim, shape, 0.0f);
}
mt_tensor *mt_ones(mt_ctx *ctx, int ndim, const int64_t *shape) {
    return mt_full(ctx, ndim, shape, 1.0f);
}
mt_tensor *mt_scalar(mt_ctx *ctx, float value) { return mt_full(ctx, MT_SHAPE(1), value); }

typedef struct {
    const float *data;
} array_state;
static float gen_array(void *state) { return *((array_state *)state)->data++; }
mt_tensor *mt_from_array(mt_ctx *ctx, int ndim, const int64_t *shape, const float *data) {
    if (!data) return mt_fail_null(MT_ERR_ARG, "mt_from_array: NULL data");
    array_state st = {data};
    return from_generator(ctx, ndim, shape, gen_array, &st);
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
    if (!ctx) return mt_fail_null(MT_ERR_ARG, "NULL context");
    random_state st = {rng ? rng : mt_ctx_rng(ctx), lo, hi};
    return from_generator(ctx, ndim, shape, gen_uniform, &st);
}
mt_tensor *mt_rand_normal(mt_ctx *ctx, int ndim, const int64_t *shape, float mean, float std,
                          mt_rng *rng) {
    if (!ctx) return mt_fail_null(MT_ERR_ARG, "NULL context");
    random_state st = {rng ? rng : mt_ctx_rng(ctx), mean, std};
    return from_generator(ctx, ndim, shape, gen_normal, &st);
}

/* ------------------------------------------------------------------ element access */
static mt_status element_position(const mt_tensor *t, const int64_t *index, int64_t *pos) {
    if (!t || !index) return mt_fail(MT_ERR_ARG, "NULL tensor or index");
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
    MT_TRY(element_position(t, index, &pos));
    const mt_backend *b = mt_tensor_backend(t);
    if (b->download) return b->download(value, t->storage->data + pos, 1);
    *value = t->storage->data[pos];
    return MT_OK;
}

mt_status mt_set(mt_tensor *t, const int64_t *index, float value) {
    int64_t pos;
    MT_TRY(element_position(t, index, &pos));
    const mt_backend *b = mt_tensor_backend(t);
    if (b->upload) return b->upload(t->storage->data + pos, &value, 1);
    t->storage->data[pos] = value;
    return MT_OK;
}

mt_status mt_item(const mt_tensor *t, float *value) {
    if (!t) return mt_fail(MT_ERR_ARG, "mt_item: NULL tensor");
    if (mt_numel(t) != 1) {
        char s[MT_SHAPE_STR_LEN];
        return mt_fail(MT_ERR_SHAPE, "mt_item needs a one-element tensor, got shape %s",
                       mt_shape_str(t->ndim, t->shape, s, sizeof s));
    }
    int64_t zero[MT_MAX_DIMS] = {0};
    return mt_get(t, zero, value);
}

/* Walks t's elements in row-major order calling visit(storage position, ordinal). */
static void for_each_position(const mt_tensor *t, void (*visit)(void *, int64_t, int64_t),
                              void *state) {
    int64_t n = mt_numel(t), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++) {
        mt_ordinal_to_index(i, t->ndim, t->shape, index);
        visit(state, t->offset + mt_index_to_position(t->ndim, index, t->strides), i);
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
    if (!t || !dst) return mt_fail(MT_ERR_ARG, "mt_to_host: NULL argument");
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
    gather_state g = {t->storage->data, dst, 0};
    for_each_position(t, gather, &g);
    return MT_OK;
}

mt_status mt_copy_from_host(mt_tensor *t, const float *src) {
    if (!t || !src) return mt_fail(MT_ERR_ARG, "mt_copy_from_host: NULL argument");
    const mt_backend *b = mt_tensor_backend(t);
    if (b->upload) {
        if (!mt_is_contiguous(t))
            return mt_fail(MT_ERR_ARG, "mt_copy_from_host: device tensors must be contiguous");
        return b->upload(t->storage->data + t->offset, src, (size_t)mt_numel(t));
    }
    scatter_state g = {t->storage->data, src};
    for_each_position(t, scatter, &g);
    return MT_OK;
}

mt_tensor *mt_to(mt_ctx *ctx, const mt_tensor *t, const mt_backend *backend) {
    if (!ctx || !t || !backend) return mt_fail_null(MT_ERR_ARG, "mt_to: NULL argument");
    int64_t n = mt_numel(t);
    float *host = mt_ctx_alloc(ctx, (size_t)n * sizeof(float));
    if (!host || mt_to_host(t, host) != MT_OK) return NULL;
    mt_tensor *out = mt_tensor_alloc(ctx, backend, t->ndim, t->shape);
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
