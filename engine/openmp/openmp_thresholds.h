/* The sizes at which the openmp kernels change loop shape, block, tile or thread count, in one
 * place: the kernels use these names, and ./verify (tools/verify/verify_sizes.c) draws shapes on
 * both sides of each, so a threshold that moves takes its verification cases with it.
 * Plain macros (no OpenMP, no engine types) so the verifier can include this file alone. Why each
 * value is what it is stays beside its use. */
#ifndef MT_OPENMP_THRESHOLDS_H
#define MT_OPENMP_THRESHOLDS_H

#include <stdint.h>

/* Work (element-operations, a cheap float op = 1) below which a kernel stays on one thread. */
#define MT_OMP_MIN_PARALLEL_WORK ((int64_t)1 << 15)

/* openmp_elementwise.c: ordinals per chunk; the tile edge for transposed operands; per-element
 * cost of exp, log, sigmoid and sigmoid_back against the parallel threshold. */
#define MT_OMP_EW_CHUNK ((int64_t)1 << 14)
#define MT_OMP_EW_TILE 16
#define MT_OMP_EW_COSTLY 8

/* openmp_reduce.c: lanes of a block, the block length, outputs per tile, block values buffered
 * at once; the tiled shape from this many neighbouring outputs on; blocks run in parallel for
 * fewer outputs than MT_OMP_RED_PAR_MAX_OUT of at least MT_OMP_RED_PAR_MIN_BLOCKS blocks. */
#define MT_OMP_RED_LANES 64
#define MT_OMP_RED_BLOCK ((int64_t)4096)
#define MT_OMP_RED_TILE 128
#define MT_OMP_RED_MAX_BLOCKS_BUF 1024
#define MT_OMP_RED_TILED_MIN 16
#define MT_OMP_RED_PAR_MAX_OUT 16
#define MT_OMP_RED_PAR_MIN_BLOCKS 4

/* openmp_softmax.c: lanes per row, the row segment buffered, rows per tile, row elements per
 * work item; the tiled shape from this many neighbouring rows on. */
#define MT_OMP_SM_LANES 16
#define MT_OMP_SM_SEG 2048
#define MT_OMP_SM_TILE 64
#define MT_OMP_SM_ITEM_WORK ((int64_t)1 << 14)
#define MT_OMP_SM_TILED_MIN 8

/* openmp_pool.c: windows per block; input elements per work item. */
#define MT_OMP_POOL_JB 256
#define MT_OMP_POOL_ITEM_WORK ((int64_t)1 << 14)

/* openmp_dropout.c: ordinals per work item. */
#define MT_OMP_DROPOUT_CHUNK ((int64_t)1 << 14)

/* openmp_matmul.c (MR and NR are in openmp_gemm.h): k steps per packed panel, rows of the A block,
 * columns of a B panel; the small-B direct path (B's floats, and those that fit L1); the few-rows
 * path's B block; the streaming paths' k block, transposed chunk and narrow tile. */
#define MT_OMP_GEMM_KC 256
#define MT_OMP_GEMM_A_ROWS 256
#define MT_OMP_GEMM_NC ((int64_t)4096)
#define MT_OMP_GEMM_DIRECT_MAX_B ((int64_t)32768)
#define MT_OMP_GEMM_DIRECT_L1_B ((int64_t)4096)
#define MT_OMP_GEMM_NC_FEW ((int64_t)512)
#define MT_OMP_GEMM_KB_STREAM 32
#define MT_OMP_GEMM_KT_FLOATS ((int64_t)4096)
#define MT_OMP_GEMM_STREAM_T_NARROW 64

/* openmp_conv.c: FMAs from which a convolution runs on the team; the padded band and a band's
 * product (floats); images up to which several share a band; back_weight's Cout up to which the
 * dot kernel is used, and its positions per pass; positions per block of back_weight's sums
 * (each block's chain starts from zero and is added into a double accumulator). */
#define MT_OMP_CONV_MIN_PARALLEL_FMAS ((int64_t)1 << 20)
#define MT_OMP_CONV_PAD_FLOATS ((int64_t)1 << 17)
#define MT_OMP_CONV_OUT_FLOATS ((int64_t)1 << 17)
#define MT_OMP_CONV_STACK_MAX_POS 256
#define MT_OMP_CONV_DOT_MAX_M 16
#define MT_OMP_CONV_DOT_KC 512
#define MT_OMP_CONV_WEIGHT_BLOCK 256

/* openmp_conv_direct.c, openmp_conv_direct_weight.c: the direct kernels' output channels (and
 * the count past which images must fill their vectors), taps per chain; the direct weight
 * kernel's image size. */
#define MT_OMP_DIRECT_MAX_M 64
#define MT_OMP_DIRECT_SMALL_M 16
#define MT_OMP_DIRECT_MAX_R 256
#define MT_OMP_DIRECT_L1_FLOATS ((int64_t)12288) /* a source (C H W) past it needs C <= 4 */
#define MT_OMP_DIRECT_WEIGHT_MAX_S 1024

#endif
