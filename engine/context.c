/* Contexts are arenas (ggml's ggml_context is the precedent): tensors, storage and autodiff records
 * are bump-allocated from large chunks, and reset keeps the chunks so a training loop reuses the
 * same warm pages every step instead of paying first-touch page faults again. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN_BYTES ((size_t)4 << 20)
#define ALIGNMENT ((size_t)64)
#define MAX_BACKEND_STATES 8
#define MAX_CACHED 8

typedef struct chunk {
    struct chunk *next;
    size_t capacity;
    size_t used;
    unsigned char *base; /* ALIGNMENT-aligned */
} chunk;

struct mt_ctx {
    const mt_backend *backend;
    chunk *chunks;  /* newest first */
    chunk *current; /* the chunk allocations go to; after a reset, walks from oldest again */
    size_t bytes_used;
    mt_rng rng;
    struct {
        const mt_backend *backend;
        void *state;
    } states[MAX_BACKEND_STATES];
    struct {
        const mt_backend *backend;
        float value;
        mt_tensor *t;
    } cached[MAX_CACHED];
    int ncached;
};

mt_ctx *mt_ctx_new(const mt_backend *backend) {
    mt_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return mt_fail_null(MT_ERR_OOM, "mt_ctx_new: out of memory");
    ctx->backend = backend ? backend : mt_backend_naive();
    mt_rng_seed(&ctx->rng, 0);
    return ctx;
}

static chunk *chunk_new(size_t min_bytes) {
    size_t cap = min_bytes > CHUNK_MIN_BYTES ? min_bytes : CHUNK_MIN_BYTES;
    chunk *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->base = aligned_alloc(ALIGNMENT, (cap + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
    if (!c->base) {
        free(c);
        return NULL;
    }
    c->capacity = cap;
    c->used = 0;
    c->next = NULL;
    return c;
}

/* Chunks are kept oldest-first in a singly linked list so that after a reset the same allocation
 * sequence lands on the same addresses. */
void *mt_ctx_alloc(mt_ctx *ctx, size_t bytes) {
    if (!ctx) return mt_fail_null(MT_ERR_ARG, "mt_ctx_alloc: NULL context");
    size_t need = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    if (need == 0) need = ALIGNMENT;
    chunk *c = ctx->current;
    while (c && c->capacity - c->used < need) c = c->next;
    if (!c) {
        c = chunk_new(need);
        if (!c) return mt_fail_null(MT_ERR_OOM, "out of memory allocating %zu bytes", bytes);
        /* append at the tail */
        if (!ctx->chunks) {
            ctx->chunks = c;
        } else {
            chunk *tail = ctx->chunks;
            while (tail->next) tail = tail->next;
            tail->next = c;
        }
    }
    ctx->current = c;
    void *p = c->base + c->used;
    c->used += need;
    ctx->bytes_used += need;
    return p;
}

void mt_ctx_reset(mt_ctx *ctx) {
    if (!ctx) return;
    for (chunk *c = ctx->chunks; c; c = c->next) c->used = 0;
    ctx->current = ctx->chunks;
    ctx->bytes_used = 0;
    ctx->ncached = 0; /* they lived in the arena */
    for (int i = 0; i < MAX_BACKEND_STATES; i++)
        if (ctx->states[i].backend && ctx->states[i].backend->ctx_reset)
            ctx->states[i].backend->ctx_reset(ctx->states[i].state);
}

void mt_ctx_free(mt_ctx *ctx) {
    if (!ctx) return;
    for (int i = 0; i < MAX_BACKEND_STATES; i++)
        if (ctx->states[i].backend && ctx->states[i].backend->ctx_release)
            ctx->states[i].backend->ctx_release(ctx->states[i].state);
    chunk *c = ctx->chunks;
    while (c) {
        chunk *next = c->next;
        free(c->base);
        free(c);
        c = next;
    }
    free(ctx);
}

const mt_backend *mt_ctx_backend(const mt_ctx *ctx) { return ctx->backend; }
mt_rng *mt_ctx_rng(mt_ctx *ctx) { return &ctx->rng; }
void mt_ctx_seed(mt_ctx *ctx, uint64_t seed) { mt_rng_seed(&ctx->rng, seed); }
size_t mt_ctx_bytes_used(const mt_ctx *ctx) { return ctx->bytes_used; }

void **mt_ctx_backend_state(mt_ctx *ctx, const mt_backend *b) {
    for (int i = 0; i < MAX_BACKEND_STATES; i++) {
        if (ctx->states[i].backend == b) return &ctx->states[i].state;
        if (!ctx->states[i].backend) {
            ctx->states[i].backend = b;
            return &ctx->states[i].state;
        }
    }
    return NULL;
}

/* Small constants (the zero that mt_zero_grad copies from) are made once per context and backend,
 * so that calling them every step does not grow a long-lived context. */
mt_tensor *mt_ctx_cached_scalar(mt_ctx *ctx, const mt_backend *b, float value) {
    for (int i = 0; i < ctx->ncached; i++)
        if (ctx->cached[i].backend == b && ctx->cached[i].value == value) return ctx->cached[i].t;
    mt_tensor *t = mt_scalar_on(ctx, b, value);
    if (!t) return NULL;
    if (ctx->ncached < MAX_CACHED) {
        ctx->cached[ctx->ncached].backend = b;
        ctx->cached[ctx->ncached].value = value;
        ctx->cached[ctx->ncached].t = t;
        ctx->ncached++;
    }
    return t;
}
