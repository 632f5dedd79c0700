/* Device memory of the cuda backends: a pool per context, transfers, fill, synchronize.
 *
 * Contract: tensors are bump-allocated from big device blocks owned by their context; reset keeps
 * the blocks for the next step (no cudaMalloc in a training loop), free returns them. Transfers
 * happen only here, through mt_to / the copy helpers; no op moves data behind the user's back.
 * In the simulator every allocation is its own heap block and reset frees it, so ASan reports an
 * overrun of one tensor, and a tensor used after its context's reset reads freed memory. */
#include "cuda_common.h"

#include <stdio.h>
#include <stdlib.h>

namespace {

struct pool_block {
    pool_block *next;
    char *base;
    size_t capacity, used;
};

struct pool {
    pool_block *blocks; /* oldest first, so a reset replays the same addresses */
    pool_block *current;
};

#ifdef MT_CUDA_SIM
constexpr bool kExactBlocks = true;
#else
constexpr bool kExactBlocks = false;
#endif
constexpr size_t kBlockBytes = (size_t)64 << 20;
constexpr size_t kAlign = 256; /* cudaMalloc's own alignment: vector loads stay aligned */

__global__ void fill_kernel(float *dst, int64_t n, float value) {
    // dst (n,)
    for (int64_t i = MT_GRID_START(); i < n; i += MT_GRID_STRIDE()) dst[i] = value;
}

} // namespace

void *MT_CUDA_FN(pool_alloc)(void **state, size_t bytes) {
    if (bytes > SIZE_MAX - kAlign) {
        mt_fail(MT_ERR_OOM, "%s: cannot allocate %zu bytes", MT_CUDA_BUILD, bytes);
        return NULL;
    }
    size_t need = (bytes + kAlign - 1) / kAlign * kAlign;
    if (need == 0) need = kAlign;
    pool *p = static_cast<pool *>(*state);
    if (!p) {
        p = static_cast<pool *>(calloc(1, sizeof *p));
        if (!p) {
            mt_fail(MT_ERR_OOM, "%s: out of host memory for a device pool", MT_CUDA_BUILD);
            return NULL;
        }
        *state = p;
    }
    pool_block *b = p->current;
    while (b && b->capacity - b->used < need) b = b->next;
    if (!b) {
        size_t cap = kExactBlocks ? need : (need > kBlockBytes ? need : kBlockBytes);
        b = static_cast<pool_block *>(calloc(1, sizeof *b));
        void *mem = NULL;
        cudaError_t e = b ? cudaMalloc(&mem, kExactBlocks ? bytes : cap) : cudaErrorMemoryAllocation;
        if (e != cudaSuccess) {
            free(b);
            /* a refused allocation is also the "last error", which the next kernel launch's check
             * would report as its own failure: it is reported here instead */
            (void)cudaGetLastError();
            mt_fail(MT_ERR_OOM, "%s:%d: %s: cudaMalloc of %zu bytes failed: %s", __FILE__, __LINE__,
                    MT_CUDA_BUILD, cap, cudaGetErrorString(e));
            return NULL;
        }
        b->base = static_cast<char *>(mem);
        b->capacity = cap;
        pool_block **tail = &p->blocks;
        while (*tail) tail = &(*tail)->next;
        *tail = b;
    }
    p->current = b;
    void *out = b->base + b->used;
    b->used += need;
    return out;
}

/* Reset and free return nothing, so a failed cudaFree is recorded for mt_last_error() only. */
static void free_blocks(pool *p) {
    pool_block *b = p->blocks;
    while (b) {
        pool_block *next = b->next;
        cudaError_t e = cudaFree(b->base);
        if (e != cudaSuccess)
            mt_fail(MT_ERR_BACKEND, "%s:%d: %s: cudaFree failed: %s", __FILE__, __LINE__,
                    MT_CUDA_BUILD, cudaGetErrorString(e));
        free(b);
        b = next;
    }
    p->blocks = p->current = NULL;
}

void MT_CUDA_FN(pool_reset)(void *state) {
    pool *p = static_cast<pool *>(state);
    if (!p) return;
    if (kExactBlocks) {
        free_blocks(p);
        return;
    }
    for (pool_block *b = p->blocks; b; b = b->next) b->used = 0;
    p->current = p->blocks;
}

void MT_CUDA_FN(pool_release)(void *state) {
    pool *p = static_cast<pool *>(state);
    if (!p) return;
    free_blocks(p);
    free(p);
}

mt_status MT_CUDA_FN(upload)(float *dst_device, const float *src_host, size_t count) {
    MT_CUDA_CHECK(cudaMemcpy(dst_device, src_host, count * sizeof(float), cudaMemcpyHostToDevice));
    return MT_OK;
}

mt_status MT_CUDA_FN(download)(float *dst_host, const float *src_device, size_t count) {
    MT_CUDA_CHECK(cudaMemcpy(dst_host, src_device, count * sizeof(float), cudaMemcpyDeviceToHost));
    return MT_OK;
}

mt_status MT_CUDA_FN(fill)(float *dst_device, size_t count, float value) {
    MT_LAUNCH(fill_kernel, mt_cuda_blocks((int64_t)count, MT_CUDA_THREADS),
              MT_CUDA_THREADS)(dst_device, (int64_t)count, value);
    MT_CUDA_CHECK_LAUNCH("fill_kernel");
    return MT_OK;
}

mt_status MT_CUDA_FN(synchronize)(void) {
    MT_CUDA_CHECK(cudaDeviceSynchronize());
    return MT_OK;
}

bool MT_CUDA_FN(available)(char *reason, size_t len) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(reason, len, "no usable CUDA device (%s)", cudaGetErrorString(e));
        cudaGetLastError(); /* clear it: it must not surface as a later op's error */
        return false;
    }
    if (n == 0) {
        snprintf(reason, len, "no CUDA device in this machine");
        return false;
    }
    return true;
}
