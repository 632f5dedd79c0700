/* The entry points of the CUDA kernels, as the backend table (cuda_backend.c, plain C) calls them.
 * MT_CUDA_FN gives each build its own prefix (mt_cuda_ or mt_cudasim_). Every function returns
 * MT_OK or an engine error (mt_last_error() has file:line and the CUDA message). */
#ifndef MT_CUDA_ENTRY_H
#define MT_CUDA_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "../kernel_iface.h"

#ifdef MT_CUDA_SIM
#define MT_CUDA_FN(name) mt_cudasim_##name
#else
#define MT_CUDA_FN(name) mt_cuda_##name
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* cuda_memory.cu: the device pool of one context (big blocks, bump allocation), transfers. */
void *MT_CUDA_FN(pool_alloc)(void **state, size_t bytes); /* NULL + error on failure */
void MT_CUDA_FN(pool_reset)(void *state);
void MT_CUDA_FN(pool_release)(void *state);
mt_status MT_CUDA_FN(upload)(float *dst_device, const float *src_host, size_t count);
mt_status MT_CUDA_FN(download)(float *dst_host, const float *src_device, size_t count);
mt_status MT_CUDA_FN(fill)(float *dst_device, size_t count, float value);
mt_status MT_CUDA_FN(synchronize)(void);
bool MT_CUDA_FN(available)(char *reason, size_t len);

/* One per kernel family. */
mt_status MT_CUDA_FN(map)(const mt_kcall *c);      /* cuda_elementwise.cu */
mt_status MT_CUDA_FN(zip)(const mt_kcall *c);
mt_status MT_CUDA_FN(reduce)(const mt_kcall *c);   /* cuda_reduce.cu */
mt_status MT_CUDA_FN(matmul)(const mt_kcall *c);   /* cuda_matmul.cu */
mt_status MT_CUDA_FN(conv)(const mt_kcall *c);     /* cuda_conv.cu: forward, back_input, back_weight */
mt_status MT_CUDA_FN(pool)(const mt_kcall *c);     /* cuda_pool.cu: avg/max and their backward */
mt_status MT_CUDA_FN(along_dim)(const mt_kcall *c); /* cuda_softmax.cu: argmax, softmax, logsoftmax */
mt_status MT_CUDA_FN(dropout)(const mt_kcall *c);  /* cuda_dropout.cu */

#ifdef __cplusplus
}
#endif

#endif
