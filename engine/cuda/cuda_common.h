/* What every engine/cuda source includes: the CUDA runtime (or the simulator in its place), the
 * kernel interface, and the few macros that let one source serve both builds.
 *
 * Each .cu file is compiled twice: by nvcc into the `cuda` backend, and by the host C++ compiler
 * with MT_CUDA_SIM defined into `cuda-sim`. Kernels are static (internal to their file); the entry
 * points the backend table calls are named through MT_CUDA_FN, which prefixes them per build, so
 * both builds link into one library. */
#ifndef MT_CUDA_COMMON_H
#define MT_CUDA_COMMON_H

#ifdef MT_CUDA_SIM
#include "cuda_sim.h"
#define MT_CUDA_BUILD "cuda-sim"
#else
#include <cuda_runtime.h>
#define MT_CUDA_BUILD "cuda"
/* kernel<<<grid, block>>>(args), spelled so the simulator can run it too */
#define MT_LAUNCH(kernel, grid, block) kernel<<<(grid), (block)>>>
#define MT_SHARED(type, name, count) __shared__ type name[(count)]
#endif

#include "../kernel_iface.h"
#include "../scalar_ops.h"
#include "cuda_entry.h"

/* A failed CUDA call becomes an engine error naming the call and where it was made. */
#define MT_CUDA_CHECK(call)                                                                      \
    do {                                                                                         \
        cudaError_t mt_cuda_e_ = (call);                                                         \
        if (mt_cuda_e_ != cudaSuccess)                                                           \
            return mt_fail(MT_ERR_BACKEND, "%s:%d: %s: %s failed: %s", __FILE__, __LINE__,      \
                           MT_CUDA_BUILD, #call, cudaGetErrorString(mt_cuda_e_));                \
    } while (0)

/* After every launch: a bad configuration shows at once; on a GPU, faults inside the kernel show
 * at the next synchronising call (a download, mt_backend_synchronize). */
#define MT_CUDA_CHECK_LAUNCH(what)                                                              \
    do {                                                                                         \
        cudaError_t mt_cuda_e_ = cudaGetLastError();                                             \
        if (mt_cuda_e_ != cudaSuccess)                                                           \
            return mt_fail(MT_ERR_BACKEND, "%s:%d: %s: launching %s failed: %s", __FILE__,       \
                           __LINE__, MT_CUDA_BUILD, what, cudaGetErrorString(mt_cuda_e_));       \
    } while (0)

/* Threads per block for the grid-stride kernels, and the most blocks one launch uses: enough to
 * fill an H100 (132 SMs x 16 blocks), few enough that the simulator's launches stay short. */
#define MT_CUDA_THREADS 256
#define MT_CUDA_MAX_BLOCKS 2048

/* Blocks for n work items at `threads` each, capped: kernels loop over the rest (grid stride). */
static inline unsigned mt_cuda_blocks(int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    return (unsigned)(b > MT_CUDA_MAX_BLOCKS ? MT_CUDA_MAX_BLOCKS : b);
}

/* The global index of this thread and the grid's thread count, for grid-stride loops. */
#define MT_GRID_START() ((int64_t)blockIdx.x * blockDim.x + threadIdx.x)
#define MT_GRID_STRIDE() ((int64_t)gridDim.x * blockDim.x)

#endif
