/* Contexts are arenas (ggml's ggml_context is the precedent): tensors, storage and autodiff records
 * are bump-allocated from large chunks, and reset keeps the chunks so a training loop reuses the
 * same warm pages every step instead of paying first-touch page faults again. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

#define CHUNK_MIN_BYTES ((size_t)4 << 20)
#define META_CHUNK_MIN_BYTES ((size_t)64 << 10)
#define ALIGNMENT ((size_t)64)
#define MAX_BACKEND_STATES 8
#define MAX_CACHED 8
/* Tensor and storage headers rotate through this many arenas, one per generation, so the headers
 * of the last META_GENERATIONS - 1 generations stay intact after a reset and a stale tensor can
 * still be recognised by the generation it carries (see mt_ctx_reset). */
#define META_GENERATIONS 4

typedef struct chunk {
    struct chunk *next;
    size_t capacity;
    size_t used;
    unsigned char *base; /* ALIGNMENT-aligned */
} chunk;

typedef struct arena {
    chunk *chunks;  /* oldest first */
    chunk *current; /* the chunk allocations go to; after a reset, walks from oldest again */
    size_t min_chunk;
} arena;

struct mt_ctx {
    const mt_backend *backend;
    arena data;                    /* storage, autodiff records, raw mt_ctx_alloc memory */
    arena meta[META_GENERATIONS];  /* tensor and storage headers, meta[generation % N] */
    uint64_t generation;           /* bumped by every reset; tensors record it when made */
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
    ctx->data.min_chunk = CHUNK_MIN_BYTES;
    for (int i = 0; i < META_GENERATIONS; i++) ctx->meta[i].min_chunk = META_CHUNK_MIN_BYTES;
    mt_rng_seed(&ctx->rng, 0);
    return ctx;
}

/* need is a multiple of ALIGNMENT that the caller has checked cannot wrap. */
static chunk *chunk_new(size_t need, size_t min_bytes) {
    size_t cap = need > min_bytes ? need : min_bytes;
    chunk *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->base = aligned_alloc(ALIGNMENT, cap);
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
static void *arena_alloc(arena *a, size_t need) {
    chunk *c = a->current;
    while (c && c->capacity - c->used < need) c = c->next;
    if (!c) {
        c = chunk_new(need, a->min_chunk);
        if (!c) return NULL;
        if (!a->chunks) {
            a->chunks = c;
        } else {
            chunk *tail = a->chunks;
            while (tail->next) tail = tail->next;
            tail->next = c;
        }
    }
    a->current = c;
    void *p = c->base + c->used;
    c->used += need;
    ASAN_UNPOISON_MEMORY_REGION(p, need);
    return p;
}

/* What was handed out is poisoned, so that in sanitizer builds any raw read or write through a
 * pointer from before the reset is reported where it happens. */
static void arena_reset(arena *a) {
    for (chunk *c = a->chunks; c; c = c->next) {
        ASAN_POISON_MEMORY_REGION(c->base, c->used);
        c->used = 0;
    }
    a->current = a->chunks;
}

static void arena_free(arena *a) {
    chunk *c = a->chunks;
    while (c) {
        chunk *next = c->next;
        ASAN_UNPOISON_MEMORY_REGION(c->base, c->capacity); /* free() may reuse it unpoisoned */
        free(c->base);
        free(c);
        c = next;
    }
    *a = (arena){0};
}

/* Rounds bytes up to the alignment; false when that (or the arena's bookkeeping) cannot hold it.
 * PTRDIFF_MAX bounds every object C can address, so nothing larger is ever attempted. */
static bool round_up(size_t bytes, size_t *need) {
    if (bytes > (size_t)PTRDIFF_MAX - ALIGNMENT) return false;
    *need = bytes == 0 ? ALIGNMENT : (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    return true;
}

static void *ctx_alloc(mt_ctx *ctx, arena *a, size_t bytes, const char *what) {
    size_t need;
    if (!round_up(bytes, &need))
        return mt_fail_null(MT_ERR_OOM, "%s: %zu bytes is more than any allocation can hold",
                            what, bytes);
    void *p = arena_alloc(a, need);
    if (!p) return mt_fail_null(MT_ERR_OOM, "%s: out of memory allocating %zu bytes", what, bytes);
    ctx->bytes_used += need;
    return p;
}

void *mt_ctx_alloc(mt_ctx *ctx, size_t bytes) {
    if (!ctx) return mt_null_arg("mt_ctx_alloc", "ctx");
    return ctx_alloc(ctx, &ctx->data, bytes, "mt_ctx_alloc");
}

void *mt_ctx_alloc_header(mt_ctx *ctx, size_t bytes) {
    if (!ctx) return mt_null_arg("mt_ctx_alloc_header", "ctx");
    return ctx_alloc(ctx, &ctx->meta[ctx->generation % META_GENERATIONS], bytes, "tensor header");
}

uint64_t mt_ctx_generation(const mt_ctx *ctx) { return ctx ? ctx->generation : 0; }

/* A reset bumps the generation and reuses the oldest header arena: tensors made in the previous
 * META_GENERATIONS - 1 generations keep intact headers that say they are stale. One kept across
 * more resets may share its address with a newer header, which no check on a raw pointer can tell
 * apart (ASan builds still report it when nothing new was placed there). */
void mt_ctx_reset(mt_ctx *ctx) {
    if (!ctx) return;
    arena_reset(&ctx->data);
    ctx->generation++;
    arena_reset(&ctx->meta[ctx->generation % META_GENERATIONS]);
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
    arena_free(&ctx->data);
    for (int i = 0; i < META_GENERATIONS; i++) arena_free(&ctx->meta[i]);
    free(ctx);
}

/* Queries answer a neutral value for NULL (the API's rule, minitorch.h). */
const mt_backend *mt_ctx_backend(const mt_ctx *ctx) { return ctx ? ctx->backend : NULL; }
mt_rng *mt_ctx_rng(mt_ctx *ctx) { return ctx ? &ctx->rng : NULL; }
void mt_ctx_seed(mt_ctx *ctx, uint64_t seed) {
    if (ctx) mt_rng_seed(&ctx->rng, seed);
}
size_t mt_ctx_bytes_used(const mt_ctx *ctx) { return ctx ? ctx->bytes_used : 0; }

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
