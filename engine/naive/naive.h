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

#endif
