/* One kernel call under guard. Every tensor lives in a fenced buffer allocated through the
 * backend's own storage path: guard words before and after, unused words (padding gaps of strided
 * layouts) filled with the same pattern, the output's elements pre-filled with a marker NaN. After
 * the call the whole buffer is read back (through the backend's download hook on device backends)
 * and every word the kernel had no business writing must hold its old bits. */
#include "verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_WORDS 16         /* 64 bytes each side keeps the data 64-byte aligned */
#define FENCE_BITS 0x7fc0beefu /* a NaN: a kernel that reads a guard or gap poisons its output */

typedef struct fenced {
    const char *what;
    int ndim;
    const int64_t *shape;
    const vf_layout *layout;
    float *base;               /* backend address of the first guard word */
    int64_t words;             /* guards + storage */
    float *expect;             /* host: the bits every word must keep (where !may_change) */
    unsigned char *may_change; /* 1 on the output's elements */
} fenced;

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static mt_status upload(const mt_backend *b, float *dst, const float *src, int64_t n) {
    if (b->upload) return b->upload(dst, src, (size_t)n);
    memcpy(dst, src, sizeof(float) * (size_t)n);
    return MT_OK;
}

static mt_status download(const mt_backend *b, float *dst, const float *src, int64_t n) {
    if (b->download) return b->download(dst, src, (size_t)n);
    memcpy(dst, src, sizeof(float) * (size_t)n);
    return MT_OK;
}

/* Word index (from the buffer's start) of each element, in row-major order. */
static int64_t element_word(const fenced *f, int64_t ordinal) {
    int64_t index[MT_MAX_DIMS];
    mt_ordinal_to_index(ordinal, f->ndim, f->shape, index);
    return GUARD_WORDS + f->layout->offset +
           mt_index_to_position(f->ndim, index, f->layout->strides);
}

/* A tensor of shape/layout l on backend b: values (row-major) for inputs, or NULL for an output
 * (its elements get the unwritten marker and may change). */
static mt_tensor *fenced_tensor(mt_ctx *ctx, const mt_backend *b, int ndim, const int64_t *shape,
                                const vf_layout *l, const float *values, fenced *f) {
    f->ndim = ndim;
    f->shape = shape;
    f->layout = l;
    f->words = l->storage + 2 * GUARD_WORDS;
    size_t bytes = sizeof(float) * (size_t)f->words;
    f->expect = mt_ctx_alloc(ctx, bytes);
    f->may_change = mt_ctx_alloc(ctx, (size_t)f->words);
    if (!f->expect || !f->may_change) return NULL;
    for (int64_t w = 0; w < f->words; w++) f->expect[w] = from_bits(FENCE_BITS);
    memset(f->may_change, 0, (size_t)f->words);
    int64_t n = vf_numel(ndim, shape);
    for (int64_t i = 0; i < n; i++) {
        int64_t w = element_word(f, i);
        f->expect[w] = values ? values[i] : from_bits(VF_UNWRITTEN_BITS);
        if (!values) f->may_change[w] = 1;
    }
    /* the backend's storage path, exactly as mt_tensor_alloc uses it */
    f->base = b->storage_alloc ? b->storage_alloc(ctx, bytes) : mt_ctx_alloc(ctx, bytes);
    mt_storage *s = mt_ctx_alloc(ctx, sizeof *s);
    mt_tensor *t = mt_ctx_alloc(ctx, sizeof *t);
    if (!f->base || !s || !t || upload(b, f->base, f->expect, f->words) != MT_OK) return NULL;
    memset(s, 0, sizeof *s);
    s->data = f->base + GUARD_WORDS;
    s->size = l->storage;
    s->backend = b;
    /* the engine refuses tensors from an older generation of their context */
    s->ctx = ctx;
    s->generation = mt_ctx_generation(ctx);
    memset(t, 0, sizeof *t);
    t->generation = s->generation;
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    memcpy(t->strides, l->strides, sizeof(int64_t) * (size_t)ndim);
    t->offset = l->offset;
    t->storage = s;
    t->ctx = ctx;
    return t;
}

mt_tensor *vf_tensor_on(mt_ctx *ctx, const mt_backend *b, int ndim, const int64_t *shape,
                        const vf_layout *l, const float *values) {
    fenced f = {.what = "tensor"};
    return fenced_tensor(ctx, b, ndim, shape, l, values, &f);
}

/* Where word w of a buffer is, in words a person can act on. */
static void locate(const fenced *f, int64_t w, char *buf, size_t len) {
    int64_t storage = f->words - 2 * GUARD_WORDS;
    if (w < GUARD_WORDS) {
        snprintf(buf, len, "%lld word(s) before the start of its storage",
                 (long long)(GUARD_WORDS - w));
        return;
    }
    if (w >= GUARD_WORDS + storage) {
        snprintf(buf, len, "%lld word(s) past the end of its storage (%lld words)",
                 (long long)(w - GUARD_WORDS - storage + 1), (long long)storage);
        return;
    }
    int64_t n = vf_numel(f->ndim, f->shape), index[MT_MAX_DIMS];
    for (int64_t i = 0; i < n; i++)
        if (element_word(f, i) == w) {
            char s[MT_SHAPE_STR_LEN];
            mt_ordinal_to_index(i, f->ndim, f->shape, index);
            snprintf(buf, len, "its element %s", mt_shape_str(f->ndim, index, s, sizeof s));
            return;
        }
    snprintf(buf, len, "storage word %lld, which no element of its strided layout uses",
             (long long)(w - GUARD_WORDS));
}

/* Reads the buffer back into host (f->words floats) and checks every fenced word. */
static bool fence_intact(const mt_backend *b, const fenced *f, float *host, vf_failure kind,
                         vf_result *r) {
    if (download(b, host, f->base, f->words) != MT_OK) {
        r->failure = VF_FAIL_ERROR;
        snprintf(r->msg, sizeof r->msg, "reading %s back failed: %s", f->what, mt_last_error());
        return false;
    }
    int64_t bad = 0, first = -1;
    for (int64_t w = 0; w < f->words; w++)
        if (!f->may_change[w] && memcmp(&host[w], &f->expect[w], sizeof(float)) != 0) {
            if (first < 0) first = w;
            bad++;
        }
    if (bad == 0) return true;
    char where[160];
    locate(f, first, where, sizeof where);
    uint32_t got, want;
    memcpy(&got, &host[first], sizeof got);
    memcpy(&want, &f->expect[first], sizeof want);
    r->failure = kind;
    snprintf(r->msg, sizeof r->msg,
             "the kernel wrote into %s: %s holds 0x%08x (%g) instead of 0x%08x; %lld word(s) "
             "changed in all",
             f->what, where, (unsigned)got, (double)host[first], (unsigned)want, (long long)bad);
    return false;
}

void vf_run_kernel(const vf_op *op, const mt_backend *b, const vf_problem *p, const vf_data *d,
                   bool layouts, float *out, vf_result *r) {
    static const char *const input_names[VF_MAX_IN] = {"input 0", "input 1", "input 2"};
    r->failure = VF_FAIL_COUNT;
    r->msg[0] = '\0';
    mt_ctx *ctx = mt_ctx_new(b);
    if (!ctx) {
        r->failure = VF_FAIL_ERROR;
        snprintf(r->msg, sizeof r->msg, "cannot make a context: %s", mt_last_error());
        return;
    }
    vf_layout plain[VF_MAX_IN + 1];
    fenced f[VF_MAX_IN + 1];
    mt_kernel_args args = {.op = op->op, .nsrc = p->nin, .params = p->params};
    bool in_place = layouts && p->in_place;
    bool made = true;
    for (int i = 0; i < p->nin && made; i++) {
        vf_layout_make(VF_L_CONTIGUOUS, p->ndim[i], p->shape[i], NULL, &plain[i]);
        f[i].what = input_names[i];
        args.src[i] = fenced_tensor(ctx, b, p->ndim[i], p->shape[i],
                                    layouts ? &d->layout[i] : &plain[i], d->in[i], &f[i]);
        made = args.src[i] != NULL;
    }
    fenced *fo = &f[p->nin];
    if (made && in_place) {
        /* out is input 0 itself: its elements may change, its guards and gaps may not */
        fo = &f[0];
        fo->what = "the output (input 0, in place)";
        for (int64_t i = 0; i < vf_numel(p->out_ndim, p->out_shape); i++)
            fo->may_change[element_word(fo, i)] = 1;
        args.out = (mt_tensor *)args.src[0];
    } else if (made) {
        vf_layout_make(VF_L_CONTIGUOUS, p->out_ndim, p->out_shape, NULL, &plain[p->nin]);
        fo->what = "the output";
        args.out = fenced_tensor(ctx, b, p->out_ndim, p->out_shape,
                                 layouts ? &d->out_layout : &plain[p->nin], NULL, fo);
        made = args.out != NULL;
    }
    if (!made) {
        r->failure = VF_FAIL_ERROR;
        snprintf(r->msg, sizeof r->msg, "cannot allocate the tensors: %s", mt_last_error());
        mt_ctx_free(ctx);
        return;
    }

    mt_clear_error();
    mt_status st = mt_run_kernel(b, &args);
    if (st != MT_OK) {
        r->failure = st == MT_ERR_UNSUPPORTED ? VF_FAIL_UNSUPPORTED : VF_FAIL_ERROR;
        snprintf(r->msg, sizeof r->msg, "the kernel returned %s: %s", mt_status_name(st),
                 mt_last_error());
        mt_ctx_free(ctx);
        return;
    }
    int64_t most = fo->words;
    for (int i = 0; i < p->nin; i++)
        if (f[i].words > most) most = f[i].words;
    float *host = malloc(sizeof(float) * (size_t)most);
    if (!host) {
        r->failure = VF_FAIL_ERROR;
        snprintf(r->msg, sizeof r->msg, "out of memory reading the output back");
        mt_ctx_free(ctx);
        return;
    }
    bool ok = true;
    for (int i = in_place ? 1 : 0; i < p->nin && ok; i++)
        ok = fence_intact(b, &f[i], host, VF_FAIL_INPUT_WRITE, r);
    /* the output last, so host holds it afterwards */
    if (ok) ok = fence_intact(b, fo, host, VF_FAIL_CANARY, r);
    if (ok)
        for (int64_t i = 0; i < vf_numel(p->out_ndim, p->out_shape); i++)
            out[i] = host[element_word(fo, i)];
    free(host);
    mt_ctx_free(ctx);
}
