/* The openmp backend's kernels and the rules they share.
 *
 * Determinism: every output element is computed by one thread, in an order of operations fixed by
 * the shapes alone (never by the thread count or by which thread got which chunk), so results are
 * bit-identical for any OMP_NUM_THREADS. No atomics, no reductions across threads.
 *
 * Small work runs on the calling thread: waking a team costs a few microseconds, more than a core
 * needs for ~32K elements of a cheap map; mt_omp_for decides. */
#ifndef MT_OPENMP_H
#define MT_OPENMP_H
#include "../internal.h"
#include "openmp_thresholds.h"

/* MT_OMP_MIN_PARALLEL_WORK (openmp_thresholds.h): work below which a kernel stays on one thread. */

/* One item of parallel work; returns 0, or non-zero on failure (out of memory). */
typedef int (*mt_omp_item_fn)(void *ctx, int64_t item);

/* Runs fn(ctx, i) for every i in [0, n) and returns the OR of the results. With `parallel` the
 * items are spread over the OpenMP team (dynamic: a thread the OS deschedules holds back one item,
 * not a static share); without it they run on the calling thread and no parallel construct is
 * entered, because libgomp builds a team even under a false if() clause (a malloc and a futex
 * wake, ~0.3 us: the whole cost of a small op). On a busy machine (a team thread descheduled
 * mid-region, seen as a slice-sized gap between the threads' finishes) the calling thread runs its
 * regions alone for a back-off period (openmp_parallel.c): same items, same bits. */
int mt_omp_for(int64_t n, bool parallel, mt_omp_item_fn fn, void *ctx);

/* Per-thread scratch: this thread's buffer for `slot`, at least `bytes` long, 64-byte aligned,
 * kept for the thread's life (grown, contents lost, when a call asks for more); NULL when out of
 * memory. A kernel uses a slot only within one call: contents never outlive it. */
typedef enum mt_omp_ws_slot {
    MT_OMP_WS_GEMM_A,      /* mt_omp_gemm: packed A block */
    MT_OMP_WS_GEMM_B,      /* mt_omp_gemm: packed B panel */
    MT_OMP_WS_CONV_PAD,    /* conv workers: a zero-padded band of the source image */
    MT_OMP_WS_CONV_ROWS,   /* conv workers: the lowering's row offsets into it */
    MT_OMP_WS_CONV_OUT,    /* conv workers: a product before it is copied into the output */
    MT_OMP_WS_CONV_GRAD,   /* conv workers: a band of grad_out laid out like the padded image */
    MT_OMP_WS_CONV_WEIGHT, /* conv calling thread: the weight rearranged for the product */
    MT_OMP_WS_CONV_ACC,    /* conv workers: back_weight's double sums of its blocks */
    MT_OMP_WS_SLOTS
} mt_omp_ws_slot;
void *mt_omp_workspace(mt_omp_ws_slot slot, int64_t bytes);

mt_status mt_omp_map(const mt_kernel_args *args);
mt_status mt_omp_zip(const mt_kernel_args *args);
mt_status mt_omp_reduce(const mt_kernel_args *args);
mt_status mt_omp_matmul(const mt_kernel_args *args);
mt_status mt_omp_pool(const mt_kernel_args *args);      /* avg/max pool2d and their backward */
mt_status mt_omp_along_dim(const mt_kernel_args *args); /* argmax, softmax, logsoftmax */
mt_status mt_omp_dropout(const mt_kernel_args *args);
mt_status mt_omp_conv(const mt_kernel_args *args);             /* MT_OP_CONV1D, MT_OP_CONV2D */
mt_status mt_omp_conv_back_input(const mt_kernel_args *args);  /* MT_OP_CONV*_BACK_INPUT */
mt_status mt_omp_conv_back_weight(const mt_kernel_args *args); /* MT_OP_CONV*_BACK_WEIGHT */

#endif
