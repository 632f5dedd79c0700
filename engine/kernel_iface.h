/* What a kernel needs and nothing more: views of its tensors, its op's parameters, the index
 * helpers and the error hook. Compiles as C11 (naive, openmp), C++17 (the CUDA simulator) and CUDA,
 * so every backend indexes tensors with the same functions; the autodiff, context and tensor
 * internals stay out of kernel files (internal.h has those). */
#ifndef MT_KERNEL_IFACE_H
#define MT_KERNEL_IFACE_H

#include <stdint.h>

#include "minitorch_types.h"

/* Functions callable from host and device code. Empty in C and in the simulator, where device
 * code is host code. */
#if defined(__CUDACC__)
#define MT_HD __host__ __device__
#else
#define MT_HD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Op parameters. Each op reads only the fields it documents. */
typedef struct mt_op_params {
    int dim;          /* reductions, argmax, softmax, logsoftmax */
    int stride[2];    /* conv: >= 1 (the dispatcher turns mt_conv_opts' 0 into 1) */
    int pad[2];       /* conv: zero padding before the first element (reads outside are zero) */
    int reverse;      /* conv: MiniTorch's right-anchored form, in[t - k] */
    int kernel[2];    /* pooling window = stride */
    float rate;       /* dropout */
    uint64_t seed;    /* dropout */
} mt_op_params;

/* A strided view of one tensor as a kernel sees it: element (i0, ..., in-1) lives at
 * data[offset + sum(i_d * strides[d])]. Passed by value into device kernels. */
typedef struct mt_kview {
    float *data; /* the storage's base address (host or device, per backend) */
    int64_t offset;
    int ndim;
    int64_t shape[MT_MAX_DIMS];
    int64_t strides[MT_MAX_DIMS]; /* elements; 0 on broadcast dims */
} mt_kview;

/* One kernel call as a device backend receives it (mt_kernel_args with views for tensors). */
typedef struct mt_kcall {
    mt_op op;
    mt_kview out;
    mt_kview src[3];
    int nsrc;
    mt_op_params params;
} mt_kcall;

/* Records an error for mt_last_error() and returns s (engine/error.c). */
mt_status mt_fail(mt_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------ index helpers */
/* Row-major unravel of an output ordinal into an index of shape (last dim fastest). */
MT_HD static inline void mt_ordinal_to_index(int64_t ordinal, int ndim, const int64_t *shape,
                                             int64_t *index) {
    for (int d = ndim - 1; d >= 0; d--) {
        index[d] = ordinal % shape[d];
        ordinal /= shape[d];
    }
}

MT_HD static inline int64_t mt_index_to_position(int ndim, const int64_t *index,
                                                 const int64_t *strides) {
    int64_t pos = 0;
    for (int d = 0; d < ndim; d++) pos += index[d] * strides[d];
    return pos;
}

/* Storage position of the element of a tensor (ndim, shape, strides, offset) that an out-shaped
 * index addresses, broadcasting by numpy's right-aligned rules (size-1 dims stay at 0). */
MT_HD static inline int64_t mt_broadcast_position_of(int ndim, const int64_t *shape,
                                                     const int64_t *strides, int64_t offset,
                                                     int out_ndim, const int64_t *out_index) {
    int64_t pos = offset;
    int lead = out_ndim - ndim;
    for (int d = 0; d < ndim; d++)
        if (shape[d] > 1) pos += out_index[d + lead] * strides[d];
    return pos;
}

MT_HD static inline int64_t mt_kview_broadcast_position(const mt_kview *t, int out_ndim,
                                                        const int64_t *out_index) {
    return mt_broadcast_position_of(t->ndim, t->shape, t->strides, t->offset, out_ndim,
                                    out_index);
}

MT_HD static inline int64_t mt_kview_numel(const mt_kview *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

#endif
