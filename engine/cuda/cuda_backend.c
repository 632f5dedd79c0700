/* The cuda and cuda-sim backends' tables: the same kernels, built by nvcc for a GPU or by the host
 * C++ compiler for the simulator. This file is compiled once per build (cuda_backend_real.c and
 * cuda_backend_sim.c include it with MT_CUDA_SIM unset or set); each copy turns the engine's
 * kernel arguments into views (mt_kcall) and calls its build's entry points. */
#include "../internal.h"
#include "cuda_entry.h"

#ifdef MT_CUDA_SIM
#define MT_CUDA_BACKEND mt_cuda_sim_backend
#else
#define MT_CUDA_BACKEND mt_cuda_backend
#endif

extern const mt_backend MT_CUDA_BACKEND;

static mt_kview view_of(const mt_tensor *t) {
    mt_kview v = {.data = t->storage->data, .offset = t->offset, .ndim = t->ndim};
    for (int d = 0; d < t->ndim; d++) {
        v.shape[d] = t->shape[d];
        v.strides[d] = t->strides[d];
    }
    return v;
}

static mt_kcall call_of(const mt_kernel_args *a) {
    mt_kcall c = {.op = a->op, .out = view_of(a->out), .nsrc = a->nsrc, .params = a->params};
    for (int i = 0; i < a->nsrc; i++) c.src[i] = view_of(a->src[i]);
    return c;
}

/* One table entry per family: the views, then the family's entry point. */
#define FAMILY(family)                                            \
    static mt_status family(const mt_kernel_args *a) {            \
        mt_kcall c = call_of(a);                                  \
        return MT_CUDA_FN(family)(&c);                            \
    }
FAMILY(map)
FAMILY(zip)
FAMILY(reduce)
FAMILY(matmul)
FAMILY(conv)
FAMILY(pool)
FAMILY(along_dim)
FAMILY(dropout)

static void *storage_alloc(mt_ctx *ctx, size_t bytes) {
    /* say why plainly on a machine without a GPU, rather than through a failed cudaMalloc */
    static int usable = -1; /* -1 not asked yet; the answer does not change within a process */
    static char why[300];
    if (usable < 0) usable = MT_CUDA_FN(available)(why, sizeof why);
    if (!usable)
        return mt_fail_null(MT_ERR_BACKEND, "backend %s cannot run here: %s", MT_CUDA_BACKEND.name,
                            why);
    void **state = mt_ctx_backend_state(ctx, &MT_CUDA_BACKEND);
    if (!state) return mt_fail_null(MT_ERR_STATE, "%s: too many backends in one context",
                                    MT_CUDA_BACKEND.name);
    return MT_CUDA_FN(pool_alloc)(state, bytes);
}

const mt_backend MT_CUDA_BACKEND = {
#ifdef MT_CUDA_SIM
    .name = "cuda-sim",
    .description = "the cuda kernels run by the CPU CUDA simulator (fibers, real barriers, "
                   "bounds-checked shared memory, a changing thread order)",
    .kind = MT_BACKEND_SIMULATED,
#else
    .name = "cuda",
    .description = "CUDA kernels on the GPU; data in device memory",
    .kind = MT_BACKEND_GPU,
#endif
    .kernels =
        {
            [MT_OP_NEG] = map,
            [MT_OP_ID] = map,
            [MT_OP_INV] = map,
            [MT_OP_RELU] = map,
            [MT_OP_SIGMOID] = map,
            [MT_OP_LOG] = map,
            [MT_OP_EXP] = map,
            [MT_OP_SQRT] = map,
            [MT_OP_ADD] = zip,
            [MT_OP_MUL] = zip,
            [MT_OP_LT] = zip,
            [MT_OP_EQ] = zip,
            [MT_OP_IS_CLOSE] = zip,
            [MT_OP_RELU_BACK] = zip,
            [MT_OP_LOG_BACK] = zip,
            [MT_OP_INV_BACK] = zip,
            [MT_OP_SIGMOID_BACK] = zip,
            [MT_OP_SUM] = reduce,
            [MT_OP_PROD] = reduce,
            [MT_OP_MAX] = reduce,
            [MT_OP_MATMUL] = matmul,
            [MT_OP_CONV1D] = conv,
            [MT_OP_CONV1D_BACK_INPUT] = conv,
            [MT_OP_CONV1D_BACK_WEIGHT] = conv,
            [MT_OP_CONV2D] = conv,
            [MT_OP_CONV2D_BACK_INPUT] = conv,
            [MT_OP_CONV2D_BACK_WEIGHT] = conv,
            [MT_OP_AVGPOOL2D] = pool,
            [MT_OP_AVGPOOL2D_BACK] = pool,
            [MT_OP_MAXPOOL2D] = pool,
            [MT_OP_MAXPOOL2D_BACK] = pool,
            [MT_OP_ARGMAX] = along_dim,
            [MT_OP_SOFTMAX] = along_dim,
            [MT_OP_LOGSOFTMAX] = along_dim,
            [MT_OP_DROPOUT] = dropout,
        },
    .storage_alloc = storage_alloc,
    .upload = MT_CUDA_FN(upload),
    .download = MT_CUDA_FN(download),
    .ctx_reset = MT_CUDA_FN(pool_reset),
    .ctx_release = MT_CUDA_FN(pool_release),
    .fill = MT_CUDA_FN(fill),
    .synchronize = MT_CUDA_FN(synchronize),
    .available = MT_CUDA_FN(available),
};
