/* The CUDA simulator's runtime: the block scheduler (fibers and barriers), shared memory, launch
 * errors and the memory API on the host. See cuda_sim.h for what it simulates and why. */
#include "cuda_sim.h"


#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda_sim_control.h"

#if defined(__SANITIZE_ADDRESS__)
#define MT_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_SIM_ASAN 1
#endif
#endif
#ifdef MT_SIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* ------------------------------------------------------------------ context switching
 * A thread of a simulated block is a stack and a saved stack pointer. On x86-64 the switch is a
 * few instructions (callee-saved registers and the FP control words pushed, stack pointers
 * swapped): swapcontext would also save the signal mask with a system call on every switch, which
 * made it two thirds of the simulator's time. Elsewhere, or with MT_SIM_UCONTEXT defined,
 * ucontext does the same job more slowly. */
#if defined(__x86_64__) && !defined(MT_SIM_UCONTEXT)
#define MT_SIM_ASM_SWITCH 1
extern "C" void mt_sim_switch(void **save_sp, void *load_sp);
/* Saves rbp, rbx, r12-r15, MXCSR and the x87 control word on the current stack, stores the stack
 * pointer in *save_sp (rdi), continues on load_sp (rsi) by popping the same frame, and returns
 * into whatever that stack was switched away from (or, for a new thread, into its entry). */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl mt_sim_switch\n"
        ".hidden mt_sim_switch\n"
        ".type mt_sim_switch, @function\n"
        "mt_sim_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size mt_sim_switch, .-mt_sim_switch\n");
#else
#include <ucontext.h>
#endif

namespace mt_sim {

thread_local uint3 thread_idx, block_idx;
thread_local dim3 block_dim, grid_dim;

namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kSharedLimit = 48 * 1024;
constexpr unsigned kMaxThreads = 1024;

std::atomic<int> g_order{MT_SIM_ORDER_VARY};
std::atomic<uint64_t> g_seed{0x5eed};
std::atomic<uint64_t> g_launches{0};

/* Whether a kernel has been seen to reach __syncthreads(): 0 unknown, 1 never, 2 yes. */
std::mutex g_barrier_mutex;
std::unordered_map<const void *, int> g_uses_barrier;

enum fiber_state { READY, AT_BARRIER, DONE };

/* Where a suspended thread (or the scheduler) resumes. */
struct context {
#ifdef MT_SIM_ASM_SWITCH
    void *sp;
#else
    ucontext_t uc;
#endif
};

void switch_context(context *from, context *to) {
#ifdef MT_SIM_ASM_SWITCH
    mt_sim_switch(&from->sp, to->sp);
#else
    swapcontext(&from->uc, &to->uc);
#endif
}

struct fiber {
    context ctx;
    fiber_state state;
    uint3 idx;
    int shared_calls; /* how many __shared__ declarations this thread has passed */
#ifdef MT_SIM_ASAN
    void *fake_stack;
#endif
};

struct shared_block {
    void *base;
    size_t bytes;
};

/* Everything about the launch this host thread is running. */
struct launch {
    const char *name;
    void (*body)(void *);
    void *arg;
    bool direct;        /* threads run as plain calls (kernel known to have no barrier) */
    bool hit_barrier;   /* some thread reached __syncthreads() */
    bool failed;
    char message[512];
    std::vector<fiber> fibers;
    fiber *current;
    context scheduler;
    std::vector<shared_block> shared;
    size_t shared_bytes;
    int direct_shared_calls;
#ifdef MT_SIM_ASAN
    const void *sched_stack_bottom;
    size_t sched_stack_size;
#endif
};

thread_local launch *t_launch = nullptr;
thread_local std::vector<char *> t_stacks; /* reused across launches */
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local char t_last_message[600];

struct stack_pool_cleanup {
    ~stack_pool_cleanup() {
        for (char *s : t_stacks) std::free(s);
    }
};
thread_local stack_pool_cleanup t_cleanup;

void set_error(cudaError_t e, const char *message) {
    if (t_last_error != cudaSuccess) return; /* the first error sticks until read */
    t_last_error = e;
    std::snprintf(t_last_message, sizeof t_last_message, "%s", message);
}

uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A permutation of 0..n-1 for one launch's order; salt tells apart blocks and barrier phases. */
void make_order(std::vector<unsigned> &order, unsigned n, int kind, uint64_t seed, uint64_t salt) {
    order.resize(n);
    for (unsigned i = 0; i < n; i++) order[i] = i;
    if (kind == MT_SIM_ORDER_REVERSE) {
        for (unsigned i = 0; i < n; i++) order[i] = n - 1 - i;
    } else if (kind == MT_SIM_ORDER_SHUFFLE) {
        uint64_t s = mix(seed ^ mix(salt));
        for (unsigned i = n; i > 1; i--) {
            s = mix(s);
            unsigned j = (unsigned)(s % i);
            std::swap(order[i - 1], order[j]);
        }
    }
}

uint3 unflatten(unsigned t, dim3 d) {
    return uint3{t % d.x, (t / d.x) % d.y, t / (d.x * d.y)};
}

void switch_to_scheduler(launch *L, fiber *f, bool finished) {
#ifdef MT_SIM_ASAN
    __sanitizer_start_switch_fiber(finished ? nullptr : &f->fake_stack, L->sched_stack_bottom,
                                   L->sched_stack_size);
#endif
    switch_context(&f->ctx, &L->scheduler); /* a finished thread is never resumed */
#ifdef MT_SIM_ASAN
    if (!finished) __sanitizer_finish_switch_fiber(f->fake_stack, nullptr, nullptr);
#else
    (void)finished;
#endif
}

void fiber_entry() {
    launch *L = t_launch;
#ifdef MT_SIM_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &L->sched_stack_bottom, &L->sched_stack_size);
#endif
    L->body(L->arg);
    L->current->state = DONE;
    switch_to_scheduler(L, L->current, true);
}

void resume(launch *L, fiber *f, char *stack) {
    L->current = f;
    thread_idx = f->idx;
#ifdef MT_SIM_ASAN
    void *save = nullptr;
    __sanitizer_start_switch_fiber(&save, stack, kStackBytes);
#else
    (void)stack;
#endif
    switch_context(&L->scheduler, &f->ctx);
#ifdef MT_SIM_ASAN
    __sanitizer_finish_switch_fiber(save, &L->sched_stack_bottom, &L->sched_stack_size);
#endif
}

/* A new thread's context: its first switch enters fiber_entry on its own stack. */
#ifdef MT_SIM_ASM_SWITCH
void init_fiber(fiber *f, unsigned t, char *stack) {
    f->state = READY;
    f->idx = unflatten(t, block_dim);
    /* The frame mt_sim_switch pops, from the top of a 16-byte aligned stack down: a null return
     * address for fiber_entry (which never returns; the call ABI wants rsp = 8 mod 16 at entry),
     * fiber_entry as the address `ret` jumps to, six callee-saved registers, the control words. */
    uintptr_t top = ((uintptr_t)stack + kStackBytes) & ~(uintptr_t)15;
    void **sp = reinterpret_cast<void **>(top);
    *--sp = nullptr;
    *--sp = reinterpret_cast<void *>(&fiber_entry);
    for (int r = 0; r < 6; r++) *--sp = nullptr;
    uint32_t mxcsr;
    uint16_t fpcw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpcw));
    uint64_t words = mxcsr | (uint64_t)fpcw << 32;
    *--sp = reinterpret_cast<void *>(words);
    f->ctx.sp = sp;
}
#else
/* Apart from its caller's loop: getcontext returns twice as far as the compiler knows, which
 * would put the loop's variables at risk. */
__attribute__((noinline)) void init_fiber(fiber *f, unsigned t, char *stack) {
    f->state = READY;
    f->idx = unflatten(t, block_dim);
    getcontext(&f->ctx.uc);
    f->ctx.uc.uc_stack.ss_sp = stack;
    f->ctx.uc.uc_stack.ss_size = kStackBytes;
    f->ctx.uc.uc_link = nullptr;
    makecontext(&f->ctx.uc, fiber_entry, 0);
}
#endif

void free_shared(launch *L) {
    for (auto &s : L->shared) std::free(s.base);
    L->shared.clear();
    L->shared_bytes = 0;
}

/* One block: every thread to completion, phase by phase between barriers. */
void run_block(launch *L, unsigned nthreads, int kind, uint64_t seed, uint64_t block_salt) {
    std::vector<unsigned> order;
    if (L->direct) {
        make_order(order, nthreads, kind, seed, block_salt);
        for (unsigned t : order) {
            thread_idx = unflatten(t, block_dim);
            L->direct_shared_calls = 0;
            L->body(L->arg);
        }
        free_shared(L);
        return;
    }
    while (t_stacks.size() < nthreads) {
        char *s = static_cast<char *>(std::malloc(kStackBytes));
        if (!s) {
            report("out of host memory for the simulator's thread stacks");
            return;
        }
        t_stacks.push_back(s);
    }
    L->fibers.assign(nthreads, fiber{});
    for (unsigned t = 0; t < nthreads; t++) init_fiber(&L->fibers[t], t, t_stacks[t]);
    for (uint64_t phase = 0;; phase++) {
        make_order(order, nthreads, kind, seed, block_salt * 1000003u + phase);
        for (unsigned t : order)
            if (L->fibers[t].state == READY) resume(L, &L->fibers[t], t_stacks[t]);
        unsigned done = 0, waiting = 0;
        for (auto &f : L->fibers) (f.state == DONE ? done : waiting)++;
        if (waiting == 0) break;
        if (done > 0) {
            /* CUDA leaves this undefined; here it is an error, and the waiting fibers are
             * abandoned (their stacks are reused, nothing on them needs destroying) */
            report("__syncthreads() reached by %u threads of the block while %u had returned",
                   waiting, done);
            break;
        }
        for (auto &f : L->fibers) f.state = READY;
    }
    free_shared(L);
}

} // namespace

void report(const char *fmt, ...) {
    launch *L = t_launch;
    if (!L || L->failed) return;
    L->failed = true;
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    std::snprintf(L->message, sizeof L->message,
                  "cuda-sim: kernel %s, block (%u,%u,%u), thread (%u,%u,%u): %s", L->name,
                  block_idx.x, block_idx.y, block_idx.z, thread_idx.x, thread_idx.y, thread_idx.z,
                  what);
}

void syncthreads() {
    launch *L = t_launch;
    if (!L) return;
    L->hit_barrier = true;
    if (L->direct) {
        report("reached __syncthreads() on a path its earlier launches never took (the simulator "
               "ran this launch without fibers); rerun it");
        return;
    }
    fiber *f = L->current;
    f->state = AT_BARRIER;
    switch_to_scheduler(L, f, false);
}

void *block_shared(size_t elem_size, int64_t count, const char *name) {
    launch *L = t_launch;
    static thread_local double fallback[8];
    if (!L || count < 0) return fallback;
    int &calls = L->direct ? L->direct_shared_calls : L->current->shared_calls;
    size_t slot = (size_t)calls++;
    if (slot < L->shared.size()) return L->shared[slot].base;
    size_t bytes = elem_size * (size_t)count;
    if (L->shared_bytes + bytes > kSharedLimit) {
        report("__shared__ '%s' takes the block's static shared memory to %zu bytes (limit %zu)",
               name, L->shared_bytes + bytes, kSharedLimit);
    }
    void *p = std::malloc(bytes ? bytes : 1);
    if (!p) {
        report("out of host memory for __shared__ '%s'", name);
        return fallback;
    }
    std::memset(p, 0xff, bytes); /* NaN until written: reading it before a barrier shows */
    L->shared.push_back(shared_block{p, bytes});
    L->shared_bytes += bytes;
    return p;
}

cudaError_t run_grid(const char *name, const void *key, dim3 grid, dim3 block,
                     void (*body)(void *), void *arg) {
    char msg[300];
    uint64_t nthreads = (uint64_t)block.x * block.y * block.z;
    if (nthreads == 0 || nthreads > kMaxThreads || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.y > 65535 || grid.z > 65535 || block.z > 64) {
        std::snprintf(msg, sizeof msg,
                      "cuda-sim: kernel %s: invalid configuration grid (%u,%u,%u) block (%u,%u,%u)",
                      name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
        set_error(cudaErrorInvalidConfiguration, msg);
        return cudaErrorInvalidConfiguration;
    }
    if (t_launch) {
        set_error(cudaErrorLaunchFailure, "cuda-sim: a kernel launched another kernel");
        return cudaErrorLaunchFailure;
    }
    uint64_t launch_no = g_launches.fetch_add(1);
    int kind = g_order.load();
    uint64_t seed = g_seed.load() ^ mix(launch_no);
    if (kind == MT_SIM_ORDER_VARY) kind = MT_SIM_ORDER_FORWARD + (int)(launch_no % 3);

    int barrier_known;
    {
        std::lock_guard<std::mutex> lock(g_barrier_mutex);
        barrier_known = g_uses_barrier[key];
    }
    launch L{};
    L.name = name;
    L.body = body;
    L.arg = arg;
    L.direct = barrier_known == 1;
    t_launch = &L;
    grid_dim = grid;
    block_dim = block;
    std::vector<unsigned> blocks;
    uint64_t nblocks = (uint64_t)grid.x * grid.y * grid.z;
    make_order(blocks, (unsigned)nblocks, kind, seed, 0);
    for (unsigned b : blocks) {
        block_idx = unflatten(b, grid);
        run_block(&L, (unsigned)nthreads, kind, seed, (uint64_t)b + 1);
        if (L.failed) break;
    }
    t_launch = nullptr;
    {
        std::lock_guard<std::mutex> lock(g_barrier_mutex);
        g_uses_barrier[key] = L.hit_barrier ? 2 : (barrier_known == 0 ? 1 : barrier_known);
    }
    if (L.failed) {
        set_error(cudaErrorLaunchFailure, L.message);
        return cudaErrorLaunchFailure;
    }
    return cudaSuccess;
}

} // namespace mt_sim

extern "C" void mt_cuda_sim_set_order(mt_sim_order order, uint64_t seed) {
    mt_sim::g_order.store(order);
    mt_sim::g_seed.store(seed);
}

extern "C" uint64_t mt_cuda_sim_launches(void) { return mt_sim::g_launches.load(); }

/* ------------------------------------------------------------------ runtime API on the host */
cudaError_t cudaMalloc(void **p, size_t bytes) {
    /* one heap block per allocation, so ASan reports an overrun of any one of them */
    *p = std::malloc(bytes ? bytes : 1);
    if (!*p) {
        mt_sim::set_error(cudaErrorMemoryAllocation, "cuda-sim: out of memory");
        return cudaErrorMemoryAllocation;
    }
    return cudaSuccess;
}

cudaError_t cudaFree(void *p) {
    std::free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind) {
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *dst, int value, size_t bytes) {
    std::memset(dst, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return mt_sim::t_last_error; }

cudaError_t cudaPeekAtLastError() { return mt_sim::t_last_error; }

cudaError_t cudaGetLastError() {
    cudaError_t e = mt_sim::t_last_error;
    mt_sim::t_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaGetDeviceCount(int *count) {
    *count = 1;
    return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t e) {
    /* the detailed message of the latest failure, while it is the error asked about */
    if (e != cudaSuccess && mt_sim::t_last_message[0]) return mt_sim::t_last_message;
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}
