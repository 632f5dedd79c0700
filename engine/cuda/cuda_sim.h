/* The CUDA simulator: the subset of CUDA C++ that engine/cuda's kernels use, mapped onto host code
 * so the same .cu sources compile with the host C++ compiler and run on any CPU (the idea of numba's
 * CUDASIM, which MiniTorch uses for its CUDA tests).
 *
 * What it keeps faithful, so that kernel bugs show up here and not only on a GPU:
 *   - A block's threads are cooperative fibers (ucontext), and __syncthreads() is a real barrier:
 *     every thread of the block runs up to it before any thread goes past it. A block whose threads
 *     do not all reach the same barrier (one returned, another waits) is an error.
 *   - The order in which a block's threads run between two barriers, and the order of the blocks,
 *     change from launch to launch (forward, reversed, shuffled by a seed; see cuda_sim_control.h),
 *     so a missing barrier or two threads writing one output give results that change.
 *   - Shared memory (MT_SHARED) is one allocation per block, filled with NaN bytes until written,
 *     and every index is bounds-checked: an out-of-range index fails the launch with the kernel,
 *     array, index, block and thread. Device memory is a heap block per cudaMalloc, so ASan sees
 *     an overrun of a tensor.
 *   - Launch limits are CUDA's: at most 1024 threads a block, 48 KiB of static shared memory, grid
 *     y and z at most 65535. Errors surface through cudaGetLastError() as on a GPU.
 * Not simulated: warps (no warp intrinsics exist here, so kernels may not use them), memory
 * consistency between blocks (blocks run one after another), streams (everything is synchronous).
 *
 * Speed: threads switch with a few instructions on x86-64 (ucontext elsewhere); a kernel whose
 * first launch never reached a barrier runs its threads as plain calls afterwards (still in a
 * changing order); one that later reaches a barrier on that path fails the
 * launch with a message, rather than being run wrongly. */
#ifndef MT_CUDA_SIM_H
#define MT_CUDA_SIM_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* A plain `__shared__ T x[N];` works too: blocks run one after another on a host thread, so a
 * thread-local static is one array per running block, as on a GPU. It is neither bounds-checked
 * nor NaN-filled, so engine kernels declare shared memory with MT_SHARED, which is both. */
#define __shared__ static thread_local
#define __restrict__ __restrict

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorNoDevice = 100,
    cudaErrorLaunchFailure = 719
} cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
};

namespace mt_sim {

/* The running thread's coordinates; the scheduler sets them before it resumes a thread. */
extern thread_local uint3 thread_idx, block_idx;
extern thread_local dim3 block_dim, grid_dim;

void syncthreads();
/* Shared memory: the calling thread's next __shared__ declaration of its block (allocated by the
 * first thread of the block to reach it). Reports a launch error if the block's total exceeds
 * 48 KiB. */
void *block_shared(size_t elem_size, int64_t count, const char *name);
/* Records a launch failure (first one wins) naming the kernel, block and thread. */
void report(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

template <typename T>
class shared_array {
  public:
    shared_array(void *base, int64_t count, const char *name)
        : base_(static_cast<T *>(base)), count_(count), name_(name) {}
    T &operator[](int64_t i) const {
        if (i < 0 || i >= count_) {
            report("shared array '%s' indexed at %lld, outside [0, %lld)", name_, (long long)i,
                   (long long)count_);
            static thread_local T sink;
            return sink;
        }
        return base_[i];
    }

  private:
    T *base_;
    int64_t count_;
    const char *name_;
};

/* Runs body(arg) once per thread of every block of the grid. */
cudaError_t run_grid(const char *name, const void *key, dim3 grid, dim3 block,
                     void (*body)(void *), void *arg);

template <typename... P>
struct launcher {
    void (*kernel)(P...);
    const char *name;
    dim3 grid, block;
    template <typename... A>
    void operator()(A &&...a) const {
        /* each thread gets its own copy of the arguments, as kernel parameters are */
        struct call {
            void (*kernel)(P...);
            std::tuple<std::decay_t<P>...> args;
            static void run(void *p) {
                call *c = static_cast<call *>(p);
                std::tuple<std::decay_t<P>...> copy = c->args;
                std::apply(c->kernel, copy);
            }
        } c{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(a)...)};
        run_grid(name, reinterpret_cast<const void *>(kernel), grid, block, &call::run, &c);
    }
};
template <typename... P>
launcher<P...> make_launcher(void (*kernel)(P...), const char *name, dim3 grid, dim3 block) {
    return launcher<P...>{kernel, name, grid, block};
}

} // namespace mt_sim

#define threadIdx (mt_sim::thread_idx)
#define blockIdx (mt_sim::block_idx)
#define blockDim (mt_sim::block_dim)
#define gridDim (mt_sim::grid_dim)
#define __syncthreads() mt_sim::syncthreads()
#define __threadfence() ((void)0)

/* Atomics: threads are fibers that never interleave inside a statement, so plain read-modify-write
 * is atomic here. */
template <typename T>
inline T atomicAdd(T *p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}
template <typename T>
inline T atomicMax(T *p, T v) {
    T old = *p;
    if (v > old) *p = v;
    return old;
}
template <typename T>
inline T atomicCAS(T *p, T compare, T v) {
    T old = *p;
    if (old == compare) *p = v;
    return old;
}
template <typename T>
inline T atomicExch(T *p, T v) {
    T old = *p;
    *p = v;
    return old;
}

/* The runtime API the backend uses, on host memory. */
cudaError_t cudaMalloc(void **p, size_t bytes);
template <typename T>
inline cudaError_t cudaMalloc(T **p, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void *dst, int value, size_t bytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int *count);
const char *cudaGetErrorString(cudaError_t e);

/* kernel<<<grid, block>>>(args) is written MT_LAUNCH(kernel, grid, block)(args) in both builds. */
#define MT_LAUNCH(kernel, grid, block) mt_sim::make_launcher(kernel, #kernel, grid, block)
#define MT_SHARED(type, name, count)                                                              \
    mt_sim::shared_array<type> name(mt_sim::block_shared(sizeof(type), (count), #name), (count),  \
                                    #name)

#endif
