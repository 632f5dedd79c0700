/* The op name table and the backend registry. Adding a backend means adding one line to
 * `registry`; every tool that iterates backends (verify, bench, train) picks it up from here. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char *const MT_OP_NAMES[] = {
    "neg",      "id",        "inv",      "relu",     "sigmoid",      "log",      "exp",      "sqrt",
    "add",      "mul",       "lt",       "eq",       "is_close",     "relu_back", "log_back",
    "inv_back", "sigmoid_back", "sum",   "prod",     "max",          "matmul",
    "conv1d", "conv1d_back_input", "conv1d_back_weight",
    "conv2d", "conv2d_back_input", "conv2d_back_weight",
    "avgpool2d", "avgpool2d_back", "maxpool2d", "maxpool2d_back",
    "argmax", "softmax", "logsoftmax", "dropout",
};
_Static_assert(sizeof MT_OP_NAMES / sizeof MT_OP_NAMES[0] == MT_OP_COUNT,
               "MT_OP_NAMES must name every mt_op, in enum order");

const char *mt_op_name(mt_op op) {
    return (op >= 0 && op < MT_OP_COUNT) ? MT_OP_NAMES[op] : "unknown-op";
}

mt_op mt_op_from_name(const char *name) {
    for (int i = 0; i < MT_OP_COUNT; i++)
        if (name && strcmp(MT_OP_NAMES[i], name) == 0) return (mt_op)i;
    return MT_OP_COUNT;
}

#ifdef MT_HAVE_OPENMP_BACKEND
extern const mt_backend mt_openmp_backend;
#endif
#ifdef MT_HAVE_CUDA_SIM_BACKEND
extern const mt_backend mt_cuda_sim_backend;
#endif
#ifdef MT_HAVE_CUDA_BACKEND
extern const mt_backend mt_cuda_backend;
#endif

static const mt_backend *const registry[] = {
    &mt_naive_backend,
#ifdef MT_HAVE_OPENMP_BACKEND
    &mt_openmp_backend,
#endif
#ifdef MT_HAVE_CUDA_SIM_BACKEND
    &mt_cuda_sim_backend,
#endif
#ifdef MT_HAVE_CUDA_BACKEND
    &mt_cuda_backend,
#endif
};

int mt_backend_count(void) { return (int)(sizeof registry / sizeof registry[0]); }

const mt_backend *mt_backend_at(int i) {
    return (i >= 0 && i < mt_backend_count()) ? registry[i] : NULL;
}

const mt_backend *mt_backend_by_name(const char *name) {
    if (!name) return mt_null_arg("mt_backend_by_name", "name");
    for (int i = 0; i < mt_backend_count(); i++)
        if (name && strcmp(registry[i]->name, name) == 0) return registry[i];
    return mt_fail_null(MT_ERR_ARG, "no backend named '%s' in this build", name ? name : "(null)");
}

const mt_backend *mt_backend_naive(void) { return &mt_naive_backend; }
const char *mt_backend_name(const mt_backend *b) { return b ? b->name : "(null)"; }

mt_backend_kind mt_backend_get_kind(const mt_backend *b) {
    return b ? b->kind : MT_BACKEND_REFERENCE;
}

const char *mt_backend_kind_name(mt_backend_kind k) {
    switch (k) {
    case MT_BACKEND_REFERENCE: return "reference";
    case MT_BACKEND_CPU: return "cpu";
    case MT_BACKEND_GPU: return "gpu";
    case MT_BACKEND_SIMULATED: return "simulated";
    }
    return "unknown";
}

bool mt_backend_available(const mt_backend *b, char *reason, size_t len) {
    if (!b) {
        if (reason && len) snprintf(reason, len, "no backend");
        return false;
    }
    if (!b->available) return true;
    char scratch[8];
    return b->available(reason && len ? reason : scratch, reason && len ? len : sizeof scratch);
}

mt_status mt_backend_synchronize(const mt_backend *b) {
    if (!b) return mt_null_status("mt_backend_synchronize", "backend");
    return b->synchronize ? b->synchronize() : MT_OK;
}

bool mt_backend_supports(const mt_backend *b, mt_op op) {
    return b && op >= 0 && op < MT_OP_COUNT && b->kernels[op] != NULL;
}

/* Every kernel call of every op, forward, backward and optimizer update, passes here with all of
 * its tensors: the one place where a tensor from before a context reset is sure to be seen before
 * its memory is read or written. */
mt_status mt_run_kernel(const mt_backend *b, const mt_kernel_args *args) {
    if (!args) return mt_null_status("mt_run_kernel", "args");
    const char *op = mt_op_name(args->op);
    if (!args->out) return mt_null_status(op, "output tensor");
    MT_TRY(mt_check_live(op, args->out));
    for (int i = 0; i < args->nsrc && i < 3; i++) MT_TRY(mt_check_live(op, args->src[i]));
    if (!mt_backend_supports(b, args->op))
        return mt_fail(MT_ERR_UNSUPPORTED, "backend '%s' does not support op '%s'",
                       mt_backend_name(b), mt_op_name(args->op));
    return b->kernels[args->op](args);
}
