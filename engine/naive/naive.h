/* The naive backend's kernels (the reference every other backend is verified against). */
#ifndef MT_NAIVE_H
#define MT_NAIVE_H
#include "../internal.h"

mt_status mt_naive_map(const mt_kernel_args *args);
mt_status mt_naive_zip(const mt_kernel_args *args);
mt_status mt_naive_reduce(const mt_kernel_args *args);
mt_status mt_naive_matmul(const mt_kernel_args *args);
/* conv1d and conv2d (the op says which); see naive_conv.c */
mt_status mt_naive_conv(const mt_kernel_args *args);
mt_status mt_naive_conv_back_input(const mt_kernel_args *args);
mt_status mt_naive_conv_back_weight(const mt_kernel_args *args);
/* naive_pool.c: params.kernel = window = stride */
mt_status mt_naive_avgpool2d(const mt_kernel_args *args);
mt_status mt_naive_avgpool2d_back(const mt_kernel_args *args);
mt_status mt_naive_maxpool2d(const mt_kernel_args *args);
mt_status mt_naive_maxpool2d_back(const mt_kernel_args *args);
/* naive_softmax.c: along params.dim; mt_naive_softmax serves softmax and logsoftmax */
mt_status mt_naive_argmax(const mt_kernel_args *args);
mt_status mt_naive_softmax(const mt_kernel_args *args);
/* naive_dropout.c: params.rate, params.seed */
mt_status mt_naive_dropout(const mt_kernel_args *args);

#endif
