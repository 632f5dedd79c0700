/* Engine-private declarations shared by the engine's files and the backends. */
#ifndef MT_INTERNAL_H
#define MT_INTERNAL_H

#include "kernel_iface.h"
#include "minitorch.h"

#include <stdarg.h>

/* ------------------------------------------------------------------ errors */
#if defined(__GNUC__)
#define MT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MT_PRINTF(f, a)
#endif
/* mt_fail (kernel_iface.h) records the error for mt_last_error() and returns s, so callers write
 * `return mt_fail(...)`; mt_fail_null is the same for functions that return a tensor. */
void *mt_fail_null(mt_status s, const char *fmt, ...) MT_PRINTF(2, 3);
/* The API's rule for a NULL argument (minitorch.h): the call fails, keeping the error already
 * recorded on this thread (the one that produced the NULL) or, when there is none, recording
 * MT_ERR_ARG "<fn>: <arg> is NULL". mt_null_arg returns NULL, mt_null_status the recorded status. */
void *mt_null_arg(const char *fn, const char *arg);
mt_status mt_null_status(const char *fn, const char *arg);

#define MT_TRY(expr)                      \
    do {                                  \
        mt_status mt_try_s_ = (expr);     \
        if (mt_try_s_ != MT_OK) return mt_try_s_; \
    } while (0)

/* ------------------------------------------------------------------ kernels and backends */
/* mt_op_params (what each op reads) is in kernel_iface.h. */

/* One kernel call: the output is allocated by the caller with its final shape (contiguous unless
 * the caller says otherwise) and every element must be written. Inputs are arbitrary strided views.
 * Elementwise kernels allow out to alias an input with the identical layout. */
typedef struct mt_kernel_args {
    mt_op op;
    mt_tensor *out;
    const mt_tensor *src[3];
    int nsrc;
    mt_op_params params;
} mt_kernel_args;

typedef mt_status (*mt_kernel_fn)(const mt_kernel_args *args);

struct mt_backend {
    const char *name;
    const char *description;
    mt_backend_kind kind; /* what the tools do with it: reference, compare, time, skip timing */
    /* Indexed by mt_op; NULL means "not supported", which callers report, never crash on. */
    mt_kernel_fn kernels[MT_OP_COUNT];
    /* Storage memory. NULL hooks mean host memory from the context's arena. */
    void *(*storage_alloc)(mt_ctx *ctx, size_t bytes);
    mt_status (*upload)(float *dst_device, const float *src_host, size_t count);
    mt_status (*download)(float *dst_host, const float *src_device, size_t count);
    /* Per-context state (a device pool): called on mt_ctx_reset / mt_ctx_free. */
    void (*ctx_reset)(void *state);
    void (*ctx_release)(void *state);
    /* Device backends: fill count floats at dst with value on the device (mt_full without an
     * upload); wait for queued work (timing, error checks); say whether this process can use the
     * backend (a cuda build on a machine without a GPU cannot). NULL: host memory, synchronous,
     * always available. */
    mt_status (*fill)(float *dst_device, size_t count, float value);
    mt_status (*synchronize)(void);
    bool (*available)(char *reason, size_t len);
};

/* The registry: backend.c fills it from the backends that are built. */
extern const mt_backend mt_naive_backend;

/* Runs the backend kernel for args->op, or reports that the backend does not support it. */
mt_status mt_run_kernel(const mt_backend *b, const mt_kernel_args *args);

/* ------------------------------------------------------------------ contexts */
/* Memory for tensor and storage headers: kept intact for a few resets after its generation so
 * that a stale tensor can still be recognised (context.c explains the rotation). */
void *mt_ctx_alloc_header(mt_ctx *ctx, size_t bytes);
/* How many times ctx has been reset; tensors and storage record it when made (0 for NULL). */
uint64_t mt_ctx_generation(const mt_ctx *ctx);
void **mt_ctx_backend_state(mt_ctx *ctx, const mt_backend *b);
/* A one-element constant on backend b, made once per context (until its reset). */
mt_tensor *mt_ctx_cached_scalar(mt_ctx *ctx, const mt_backend *b, float value);

/* ------------------------------------------------------------------ tensors */
/* A contiguous tensor of this shape on backend b, owned by ctx; storage uninitialised. */
mt_tensor *mt_tensor_alloc(mt_ctx *ctx, const mt_backend *b, int ndim, const int64_t *shape);
/* The same, with errors (a shape too large to count or to hold) naming the op that wanted it. */
mt_tensor *mt_tensor_alloc_for(const char *opname, mt_ctx *ctx, const mt_backend *b, int ndim,
                               const int64_t *shape);
/* MT_ERR_STATE naming opname when t (its header or its storage) was made before a reset of the
 * context that owns it: its memory now belongs to newer tensors. */
mt_status mt_check_live(const char *opname, const mt_tensor *t);
/* A one-element tensor holding value on backend b (scalar operands, optimizer constants). */
mt_tensor *mt_scalar_on(mt_ctx *ctx, const mt_backend *b, float value);
/* A header sharing a's storage (shape/strides copied), owned by ctx. */
mt_tensor *mt_tensor_alias(mt_ctx *ctx, const mt_tensor *a);
/* Both tensors on one backend, else an error naming both. */
mt_status mt_check_same_backend(const char *opname, const mt_tensor *a, const mt_tensor *b);
/* A view of a with the given shape: must broadcast to it (stride 0 on expanded dims). */
mt_status mt_broadcast_view(const mt_tensor *a, int ndim, const int64_t *shape, mt_tensor *view);

/* ------------------------------------------------------------------ index helpers for kernels */
/* mt_ordinal_to_index and mt_index_to_position are in kernel_iface.h. */

/* Storage position of the element of t that the out-shaped index addresses, broadcasting t to the
 * out shape by numpy's right-aligned rules (size-1 dims of t stay at 0). */
static inline int64_t mt_broadcast_position(const mt_tensor *t, int out_ndim,
                                            const int64_t *out_index) {
    return mt_broadcast_position_of(t->ndim, t->shape, t->strides, t->offset, out_ndim, out_index);
}

/* ------------------------------------------------------------------ autodiff */
/* What a differentiable function records: how to compute its inputs' gradients from the output's. */
typedef struct mt_function {
    const char *name;
    /* grads[i] may be left NULL for inputs that need no gradient. Shapes may be broadcast shapes:
     * the autodiff engine sums them back to each input's shape. */
    mt_status (*backward)(mt_ctx *ctx, const mt_node *node, mt_tensor *grad_out,
                          mt_tensor **grads);
} mt_function;

#define MT_NODE_MAX_INPUTS 3 /* held in the node itself; more (cat, stack) go in the arena */
#define MT_NODE_MAX_SAVED 3
struct mt_node {
    const mt_function *fn;
    mt_tensor **inputs; /* ninputs entries: inline_inputs, or ctx memory when there are more */
    int ninputs;
    mt_tensor *inline_inputs[MT_NODE_MAX_INPUTS];
    mt_tensor *saved[MT_NODE_MAX_SAVED]; /* forward values the backward needs */
    int iparams[MT_MAX_DIMS];            /* dims, permutation orders, ... */
    float fparams[2];
    mt_tensor *grad_accum;               /* gradient flowing into this node during backward */
};

/* Attaches a history node to out when grad mode is on and an input requires a gradient.
 * Returns out, or NULL on allocation failure. */
mt_tensor *mt_record(mt_ctx *ctx, mt_tensor *out, const mt_function *fn, mt_tensor *const *inputs,
                     int ninputs, mt_node **node_out);

/* Sums g over the dims where shape was broadcast, giving a tensor of exactly (ndim, shape). */
mt_tensor *mt_unbroadcast(mt_ctx *ctx, mt_tensor *g, int ndim, const int64_t *shape);

/* Kernel-level helpers without autodiff, used by forward and backward formulas alike. */
mt_tensor *mt_apply_map(mt_ctx *ctx, mt_op op, const mt_tensor *a);
mt_tensor *mt_apply_zip(mt_ctx *ctx, mt_op op, const mt_tensor *a, const mt_tensor *b);
mt_tensor *mt_apply_reduce(mt_ctx *ctx, mt_op op, const mt_tensor *a, int dim);
mt_tensor *mt_apply_matmul(mt_ctx *ctx, const mt_tensor *a, const mt_tensor *b);
/* Ops whose output has a's shape and whose kernel reads whole rows along params.dim (argmax,
 * softmax, logsoftmax). dim may be negative; errors name the op. */
mt_tensor *mt_apply_along_dim(mt_ctx *ctx, mt_op op, const mt_tensor *a, int dim);
/* Normalises a (possibly negative) dim of t; MT_ERR_ARG naming the op and t's shape otherwise. */
mt_status mt_check_dim_for(const char *opname, const mt_tensor *t, int *dim);
/* out (existing, any layout) <- elementwise op of a (and b), broadcast to out's shape. */
mt_status mt_apply_map_into(mt_tensor *out, mt_op op, const mt_tensor *a);
mt_status mt_apply_zip_into(mt_tensor *out, mt_op op, const mt_tensor *a, const mt_tensor *b);

#endif
