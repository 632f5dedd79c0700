/* Size classes: for each op family, cases on both sides of every threshold at which the fast
 * backends change loop shape, block, tile, kernel or thread count. The thresholds come from
 * engine/openmp/openmp_thresholds.h (and openmp_gemm.h's register tile), the header the kernels
 * themselves read, so a threshold that moves moves its cases with it. Random cases stay small
 * (RANDOM_CAPS in verify_families.c); these are the large ones, each a vf_case the family's build
 * turns into a kernel call, run by verify_size_check.c at several thread counts. */
#include "verify_internal.h"

#include "openmp/openmp_gemm.h"
#include "openmp/openmp_thresholds.h"

#include <string.h>

#define PAR MT_OMP_MIN_PARALLEL_WORK

typedef struct builder {
    vf_size_class *out;
    int n, max;
} builder;

/* One class: sizes (nsize of them), choices (nchoice), layouts of in0, in1 and out. */
static void add(builder *b, const char *why, int nsize, const int64_t *size, int nchoice,
                const int *choice, int l0, int l1, int lo) {
    if (b->n >= b->max) return;
    vf_size_class *k = &b->out[b->n++];
    memset(k, 0, sizeof *k);
    k->why = why;
    for (int i = 0; i < VF_MAX_VARS; i++) k->c.size[i] = 1;
    memcpy(k->c.size, size, sizeof(int64_t) * (size_t)nsize);
    memcpy(k->c.choice, choice, sizeof(int) * (size_t)nchoice);
    k->c.layout[0] = l0;
    k->c.layout[1] = l1;
    k->c.layout[VF_MAX_IN] = lo;
}
#define S(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}
#define C(...) (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__}
enum { CO = VF_L_CONTIGUOUS, PE = VF_L_PERMUTED, RE = VF_L_REVERSED, CH = VF_L_CHANNEL };

/* ------------------------------------------------------------------ elementwise */
/* map/zip: choice[0] = ndim - 1, size = out's dims; zip choice[1], [2] = masks of size-1 dims of
 * a and b (map: choice[1]). */
static void elementwise(const vf_op *op, builder *b) {
    int64_t cost = op->op == MT_OP_EXP || op->op == MT_OP_LOG || op->op == MT_OP_SIGMOID ||
                           op->op == MT_OP_SIGMOID_BACK
                       ? MT_OMP_EW_COSTLY
                       : 1;
    int64_t at = PAR / cost, chunks = 2 * MT_OMP_EW_CHUNK + 17, T = MT_OMP_EW_TILE;
    add(b, "one thread: work at the parallel cut-off", S(at), C(0), CO, CO, CO);
    add(b, "the team: work one element past the cut-off", S(at + 1), C(0), PE, PE, CO);
    add(b, "several chunks and a ragged tail", S(chunks > at ? chunks : 2 * at + 17), C(0), CO, CO,
        CO);
    /* 2 * T + 1 rows: full tiles, then a partial band; columns past the parallel cut-off */
    int64_t R = 2 * T + 1, cols = (PAR + R - 1) / R + T + 1;
    add(b, "a transposed input: full and partial 16 x 16 tiles, on the team", S(R, cols), C(1), RE,
        CO, CO);
    add(b, "a transposed output: the tiled walk writing it", S(R, cols), C(1), CO, CO, RE);
    add(b, "a channel slice (planes contiguous, channels strided)", S(2, 3, 33, 65), C(3), CH, CH,
        CO);
    add(b, "a broadcast value per row (a stride-0 run)", S(3, at), C(1, 2), CO, CO, CO);
}

/* ------------------------------------------------------------------ reductions, along a dim */
/* choice[0] = ndim - 1, size = the input's dims, choice[1] = dim (choice[2]: dropout's rate). */
static void reduce(builder *b) {
    int64_t L = MT_OMP_RED_LANES, RB = MT_OMP_RED_BLOCK, TL = MT_OMP_RED_TILE;
    int64_t blocks = MT_OMP_RED_PAR_MIN_BLOCKS * RB, few = MT_OMP_RED_PAR_MAX_OUT;
    add(b, "contiguous rows one short of a full row of lanes", S(5, L - 1), C(1, 1), CO, CO, CO);
    add(b, "contiguous rows one past a row of lanes", S(5, L + 1), C(1, 1), PE, CO, CO);
    add(b, "one block, one element short", S(3, RB - 1), C(1, 1), CO, CO, CO);
    add(b, "exactly one block, on the team", S(9, RB), C(1, 1), CO, CO, CO);
    add(b, "a block and one element, on the team", S(9, RB + 1), C(1, 1), CH, CO, CO);
    add(b, "two blocks and a partial row of lanes", S(3, 2 * RB + L + 1), C(1, 1), CO, CO, CO);
    add(b, "blocks in parallel: few outputs, long rows", S(few - 1, blocks), C(1, 1), CO, CO, CO);
    add(b, "as many outputs as the blocks path takes: outputs in parallel", S(few, blocks), C(1, 1),
        CO, CO, CO);
    add(b, "blocks in parallel, strided rows", S(blocks + 3, 3), C(1, 0), CO, CO, CO);
    add(b, "more blocks than the block buffer", S(1, MT_OMP_RED_MAX_BLOCKS_BUF * RB + 17), C(1, 1),
        CO, CO, CO);
    add(b, "strided rows one output short of a tile of outputs", S(L + 1, MT_OMP_RED_TILED_MIN - 1),
        C(1, 0), CO, CO, CO);
    add(b, "the tiled shape from its smallest width", S(L + 1, MT_OMP_RED_TILED_MIN), C(1, 0), CO,
        CO, CO);
    add(b, "the tiled shape: a block and one row, a tile and one output, on the team",
        S(RB + 1, TL + 1), C(1, 0), CO, CO, CO);
    add(b, "the tiled shape on a middle dim of a channel slice", S(2, RB + 1, 17), C(2, 1), CH, CO,
        CO);
}

static void along_dim(builder *b) {
    int64_t L = MT_OMP_SM_LANES, SEG = MT_OMP_SM_SEG, TL = MT_OMP_SM_TILE;
    add(b, "rows one short of a row of lanes", S(3, L - 1), C(1, 1), CO, CO, CO);
    add(b, "rows one past a row of lanes", S(3, L + 1), C(1, 1), PE, CO, CO);
    add(b, "a segment, one short", S(9, SEG - 1), C(1, 1), CO, CO, CO);
    add(b, "exactly a segment, on the team", S(9, SEG), C(1, 1), CO, CO, CO);
    add(b, "a segment and one, on the team", S(9, SEG + 1), C(1, 1), CH, CO, CO);
    add(b, "two segments and a tail", S(2, 2 * SEG + 17), C(1, 1), CO, CO, CO);
    /* cost 8 per element: rows * length * 8 against the cut-off */
    add(b, "one row at the parallel cut-off", S(1, PAR / 8), C(1, 1), CO, CO, CO);
    add(b, "one row past the parallel cut-off", S(1, PAR / 8 + 1), C(1, 1), CO, CO, CO);
    add(b, "strided rows one short of the tiled shape", S(17, MT_OMP_SM_TILED_MIN - 1), C(1, 0), CO,
        CO, CO);
    add(b, "the tiled shape from its smallest width", S(17, MT_OMP_SM_TILED_MIN), C(1, 0), CO, CO,
        CO);
    add(b, "a tile one row short", S(300, TL - 1), C(1, 0), CO, CO, CO);
    add(b, "a tile and one row, on the team", S(300, TL + 1), C(1, 0), CO, CO, CO);
    add(b, "two tiles and one, a channel slice", S(2, 17, 2 * TL + 1), C(2, 1), CH, CO, CO);
}

static void dropout(builder *b) {
    add(b, "one thread: work at the parallel cut-off", S(PAR / 4), C(0, 0, 2), CO, CO, CO);
    add(b, "the team: one past", S(PAR / 4 + 1), C(0, 0, 2), PE, CO, CO);
    add(b, "two chunks and a tail", S(2 * MT_OMP_DROPOUT_CHUNK + 17), C(0, 0, 1), CO, CO, CO);
    add(b, "a transposed input across chunks", S(33, 1000), C(1, 0, 2), RE, CO, CO);
}

/* ------------------------------------------------------------------ matmul */
/* size: M, K, N, batch sizes; choice[1] = batch dims, [2], [3] = leading batch dims a, b lack. */
static void matmul(builder *b) {
    int64_t DB = MT_OMP_GEMM_DIRECT_MAX_B, KC = MT_OMP_GEMM_KC, ST = 2 * MT_OMP_GEMM_KB_STREAM + 1;
    add(b, "direct (B read in place): B at its largest", S(33, 128, DB / 128), C(0), CO, CO, CO);
    add(b, "packed: B one column of K past the direct path", S(33, 129, DB / 128), C(0), CO, PE,
        CO);
    add(b, "direct, B within L1: rows of tiles", S(40, 64, MT_OMP_GEMM_DIRECT_L1_B / 64), C(0), CO,
        CO, CO);
    add(b, "direct, B past L1: strips", S(40, 64, MT_OMP_GEMM_DIRECT_L1_B / 64 + 1), C(0), CO, CO,
        CO);
    add(b, "B rows 4 KiB apart: packed", S(33, 16, 1024), C(0), CO, CO, CO);
    const int64_t rows[] = {1, MT_GEMM_WIDE_MAX_ROWS, MT_GEMM_WIDE_MAX_ROWS + 1, MT_GEMM_MR,
                            MT_GEMM_MR + 1, 2 * MT_GEMM_MR};
    for (int i = 0; i < 6; i++)
        add(b, "few rows: B streamed in place", S(rows[i], ST, 600), C(0), CO, CO, CO);
    add(b, "few rows past the streamed paths", S(2 * MT_GEMM_MR + 1, ST, 600), C(0), CO, CO, CO);
    add(b, "few rows x a column-major B (x @ w^T), narrow tiles", S(1, 300, 200), C(0), CO, RE, CO);
    add(b, "few rows x a column-major B, wide tiles", S(3, 300, 200), C(0), CO, RE, CO);
    add(b, "few rows x a column-major B, tall tiles", S(MT_GEMM_MR + 1, 300, 200), C(0), CO, RE,
        CO);
    int64_t few = MT_OMP_GEMM_NC_FEW, A = MT_OMP_GEMM_A_ROWS;
    add(b, "one A block x a wide B", S(17, 65, few + 1), C(0), CO, CO, CO);
    add(b, "one A block, full, x a wide B", S(A, 65, few + 1), C(0), PE, CO, CO);
    add(b, "one row past an A block: the general nest", S(A + 1, 65, few + 1), C(0), CO, CO, CO);
    add(b, "a B panel and one column", S(A + 1, 9, MT_OMP_GEMM_NC + 1), C(0), CO, CO, CO);
    add(b, "K one short of a packed panel", S(33, KC - 1, 130), C(0), CO, CO, CO);
    add(b, "K one past a packed panel", S(33, KC + 1, 130), C(0), CO, CO, CO);
    add(b, "a column-major A (packed straight)", S(33, 130, 300), C(0), RE, CO, CO);
    add(b, "one thread: work at the parallel cut-off", S(128, 256, 128), C(0), CO, CO, CO);
    add(b, "the team: work past the cut-off", S(161, 161, 161), C(0), CO, CO, CO);
    add(b, "a batch of rows x one B: one taller product", S(40, 70, 60, 3), C(0, 1, 0, 1), CO, CO,
        CO);
    add(b, "a batch of single rows x one B: one taller product", S(1, 70, 60, 5), C(0, 1, 0, 1),
        CO, CO, CO);
    add(b, "a batch on the team", S(64, 128, 65, 8), C(0, 1), CH, CO, CO);
}

/* ------------------------------------------------------------------ convolutions */
/* conv2d size: B, Cin, Cout, H, W, KH, KW; choice[0] = form (0 MiniTorch, 1 reversed, 2 PyTorch),
 * [1], [2] = strides - 1, [3], [4] = pads. conv1d: B, Cin, Cout, W, K; [1] stride - 1, [2] pad. */
static void conv2d(builder *b) {
    int64_t M = MT_OMP_DIRECT_SMALL_M, MM = MT_OMP_DIRECT_MAX_M;
    /* 2 * 16 * 8 * 2 * 2 * 32 * 32 = 2^20 FMAs exactly */
    add(b, "direct kernel, one thread: FMAs at the cut-off", S(2, 8, M, 32, 32, 2, 2), C(0), CO, CO,
        CO);
    add(b, "direct kernel on the team: a row past the cut-off", S(2, 8, M, 33, 32, 2, 2), C(0), CH,
        CO, CO);
    add(b, "direct, reversed form, past the small-M output channels", S(2, 4, M + 1, 33, 32, 3, 3),
        C(1), CO, CO, CO);
    add(b, "direct at its widest output", S(1, 3, MM, 32, 33, 3, 3), C(0), CO, CO, CO);
    add(b, "past the direct kernel's output channels: bands", S(1, 3, MM + 1, 32, 33, 3, 3), C(0),
        CO, CO, CO);
    int64_t cin = MT_OMP_DIRECT_MAX_R / 4;
    add(b, "direct at its longest chain", S(1, cin, 8, 12, 12, 2, 2), C(0), CO, CO, CO);
    add(b, "one tap past the direct chain: bands", S(1, cin + 1, 8, 12, 12, 2, 2), C(0), CO, CO,
        CO);
    /* 4 channels of 50 x 50 and 5: the source against the direct kernel's L1 budget */
    add(b, "direct: a large source of few channels", S(1, 4, 8, 50, 50, 3, 3), C(0), CO, CO, CO);
    add(b, "a source past the direct kernel's L1 budget: bands",
        S(1, MT_OMP_DIRECT_L1_FLOATS / 2500 + 1, 8, 50, 50, 3, 3), C(0), CO, CO, CO);
    int64_t side = 32; /* side * side = MT_OMP_DIRECT_WEIGHT_MAX_S */
    add(b, "direct weight kernel at its largest image", S(2, 3, 4, side, side, 3, 3), C(0), CO, CO,
        CO);
    add(b, "one image row past the direct weight kernel: the dot kernel",
        S(2, 3, MT_OMP_CONV_DOT_MAX_M, side + 1, side, 3, 3), C(0), CO, CO, CO);
    add(b, "past the dot kernel's output channels: the product",
        S(2, 3, MT_OMP_CONV_DOT_MAX_M + 1, side + 1, side, 3, 3), C(0), CO, CO, CO);
    /* 16 x 16 = MT_OMP_CONV_STACK_MAX_POS positions: images stacked in one band */
    add(b, "no padding (bands): images stacked in a band", S(4, 3, 5, 18, 18, 3, 3), C(2, 0, 0, 0, 0),
        CO, CO, CO);
    add(b, "no padding (bands): an image too large to stack", S(4, 3, 5, 19, 18, 3, 3),
        C(2, 0, 0, 0, 0), CH, CO, CO);
    add(b, "bands of rows: a product past the band buffer, on the team",
        S(1, 2, MT_OMP_DIRECT_SMALL_M + 1, 100, 100, 3, 3), C(2, 0, 0, 0, 0), CO, CO, CO);
    add(b, "stride 2 with padding (back_input through the dilated gradient), on the team",
        S(2, 8, 12, 41, 40, 3, 3), C(2, 1, 1, 1, 1), CO, PE, CO);
    add(b, "a 1x1 kernel: the source is the lowering", S(2, 16, 24, 40, 40, 1, 1), C(2), CO, CO, CO);
}

static void conv1d(builder *b) {
    add(b, "one thread: FMAs at the cut-off", S(2, 16, 16, 512, 4), C(0), CO, CO, CO);
    add(b, "the team: FMAs past the cut-off", S(2, 16, 17, 513, 4), C(0), CH, CO, CO);
    add(b, "direct weight kernel at its longest row",
        S(2, 4, 8, MT_OMP_DIRECT_WEIGHT_MAX_S, 3), C(1), CO, CO, CO);
    add(b, "one position past it", S(2, 4, 8, MT_OMP_DIRECT_WEIGHT_MAX_S + 1, 3), C(1), CO, CO, CO);
    add(b, "stride 2 with padding, on the team", S(4, 16, 20, 700, 5), C(2, 1, 2), CO, PE, CO);
}

/* ------------------------------------------------------------------ pooling */
/* size: B, C, Ho, Wo, kh, kw. */
static void pool(builder *b) {
    int64_t JB = MT_OMP_POOL_JB;
    add(b, "a block of windows one short", S(1, 2, 3, JB - 1, 2, 3), C(0), CO, CO, CO);
    add(b, "exactly a block of windows", S(1, 2, 3, JB, 2, 2), C(0), PE, PE, CO);
    add(b, "one thread: the input at the parallel cut-off", S(1, 1, 64, JB, 2, 1), C(0), CO, CO, CO);
    add(b, "a block and one window, on the team", S(2, 4, 8, JB + 1, 2, 2), C(0), CH, CH, CO);
    add(b, "wide windows, few rows per item", S(2, 3, 4, 2 * JB + 1, 1, 3), C(0), CO, CO, CO);
}

int vf_size_classes(const vf_op *op, vf_size_class *out, int max) {
    builder b = {out, 0, max};
    const vf_family *f = op->family;
    if (f == &VF_FAMILY_MAP || f == &VF_FAMILY_ZIP) elementwise(op, &b);
    else if (f == &VF_FAMILY_REDUCE) reduce(&b);
    else if (f == &VF_FAMILY_ALONG_DIM) along_dim(&b);
    else if (f == &VF_FAMILY_DROPOUT) dropout(&b);
    else if (f == &VF_FAMILY_MATMUL) matmul(&b);
    else if (f == &VF_FAMILY_CONV2D) conv2d(&b);
    else if (f == &VF_FAMILY_CONV1D) conv1d(&b);
    else if (f == &VF_FAMILY_POOL) pool(&b);
    return b.n;
}
