/* Proof that the CUDA simulator can fail: three kernel bugs that a GPU may hide for a while,
 * each planted in a small kernel written the way engine/cuda writes them, each beside its correct
 * twin. The correct kernels must give the right answer under every thread order; each planted bug
 * must be caught:
 *   (a) a tiled kernel missing the barrier between filling a shared tile and reading it: wrong
 *       results (reads of unwritten, NaN-filled shared memory) under some order;
 *   (b) a shared-memory index one past the end: the launch fails with the array and the index;
 *   (c) two threads writing one output: the result changes with the thread order;
 *   (d) end to end: a copy of the cuda-sim backend whose sum kernel lacks the barrier in its tree
 *       fails ./verify's library, while the unchanged cuda-sim backend passes it.
 * Compiled against the simulator header (MT_CUDA_SIM), as the cuda-sim backend's kernels are. */
#define MT_CUDA_SIM 1
#include "../../engine/cuda/cuda_common.h"
#include "../../engine/cuda/cuda_sim_control.h"
#include "../../engine/internal.h"
extern "C" {
#include "verify_lib.h"
extern const mt_backend mt_cuda_sim_backend;
}

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

static int failures = 0;
#define EXPECT(cond, ...)                                                                         \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::printf("FAIL %s:%d: ", __FILE__, __LINE__);                                      \
            std::printf(__VA_ARGS__);                                                             \
            std::printf("\n");                                                                    \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

constexpr int kB = 64; /* threads per block and tile width */

/* Block sums by a shared-memory tree; `barrier` false plants bug (a). */
__global__ void block_sum(const float *in, float *out, bool barrier) {
    // in (gridDim.x * kB,), out (gridDim.x,)
    MT_SHARED(float, tile, kB);
    const int t = (int)threadIdx.x;
    tile[t] = in[blockIdx.x * kB + t];
    if (barrier) __syncthreads();
    for (int s = kB / 2; s > 0; s /= 2) {
        if (t < s) tile[t] += tile[t + s];
        if (barrier) __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = tile[0];
}

/* Each thread reads its right neighbour from a shared tile; `off_by_one` plants bug (b) by
 * letting the last thread read one past the tile instead of wrapping. */
__global__ void neighbour(const float *in, float *out, bool off_by_one) {
    // in (kB,), out (kB,)
    MT_SHARED(float, tile, kB);
    const int t = (int)threadIdx.x;
    tile[t] = in[t];
    __syncthreads();
    out[t] = tile[off_by_one ? t + 1 : (t + 1) % kB];
}

/* A block's sum written by thread 0 only, or, planting bug (c), by every thread (each writes its
 * own partial after the tree: only thread 0's is the total). */
__global__ void block_total(const float *in, float *out, bool every_thread_writes) {
    // in (kB,), out (1,)
    MT_SHARED(float, tile, kB);
    const int t = (int)threadIdx.x;
    tile[t] = in[t];
    __syncthreads();
    for (int s = kB / 2; s > 0; s /= 2) {
        if (t < s) tile[t] += tile[t + s];
        __syncthreads();
    }
    if (every_thread_writes || t == 0) out[0] = tile[t];
}

static const mt_sim_order kOrders[] = {MT_SIM_ORDER_FORWARD, MT_SIM_ORDER_REVERSE,
                                       MT_SIM_ORDER_SHUFFLE};

static void test_missing_barrier() {
    const int blocks = 3;
    std::vector<float> in(blocks * kB), want(blocks, 0.0f);
    for (int i = 0; i < blocks * kB; i++) {
        in[i] = (float)(i % 7) - 2.0f; /* small integers: every order sums them exactly */
        want[i / kB] += in[i];
    }
    for (int planted = 0; planted < 2; planted++) {
        int wrong_orders = 0;
        for (mt_sim_order order : kOrders) {
            mt_cuda_sim_set_order(order, 42);
            std::vector<float> out(blocks, -1.0f);
            MT_LAUNCH(block_sum, blocks, kB)(in.data(), out.data(), planted == 0);
            EXPECT(cudaGetLastError() == cudaSuccess, "block_sum launch failed");
            bool right = std::memcmp(out.data(), want.data(), sizeof(float) * blocks) == 0;
            if (!planted) EXPECT(right, "the correct block_sum is wrong under order %d", order);
            wrong_orders += !right;
        }
        if (planted)
            EXPECT(wrong_orders > 0, "(a) a missing __syncthreads() gave right sums in every order");
    }
}

static void test_shared_out_of_range() {
    std::vector<float> in(kB), out(kB);
    for (int i = 0; i < kB; i++) in[i] = (float)i;
    mt_cuda_sim_set_order(MT_SIM_ORDER_VARY, 7);
    MT_LAUNCH(neighbour, 1, kB)(in.data(), out.data(), false);
    EXPECT(cudaGetLastError() == cudaSuccess, "the correct neighbour kernel failed");
    EXPECT(out[kB - 1] == 0.0f && out[0] == 1.0f, "the correct neighbour kernel is wrong");

    MT_LAUNCH(neighbour, 1, kB)(in.data(), out.data(), true);
    cudaError_t e = cudaGetLastError();
    EXPECT(e != cudaSuccess, "(b) reading shared memory one past the end was not reported");
    const char *msg = cudaGetErrorString(e);
    EXPECT(std::strstr(msg, "'tile'") && std::strstr(msg, "64"),
           "(b) the message should name the array and the index: %s", msg);
    EXPECT(cudaGetLastError() == cudaSuccess, "the error is cleared once read");
}

static void test_two_writers() {
    std::vector<float> in(kB);
    float want = 0.0f;
    for (int i = 0; i < kB; i++) {
        in[i] = (float)(i % 5);
        want += in[i];
    }
    for (int planted = 0; planted < 2; planted++) {
        std::vector<float> seen;
        for (mt_sim_order order : kOrders) {
            mt_cuda_sim_set_order(order, 3);
            float out = -1.0f;
            MT_LAUNCH(block_total, 1, kB)(in.data(), &out, planted == 1);
            EXPECT(cudaGetLastError() == cudaSuccess, "block_total launch failed");
            seen.push_back(out);
            if (!planted) EXPECT(out == want, "the correct block_total gave %g, want %g", out, want);
        }
        bool all_right = true;
        for (float v : seen) all_right = all_right && v == want;
        if (planted)
            EXPECT(!all_right, "(c) two threads writing one output gave the same, right result "
                               "in every order");
    }
}

/* sum along dim, one block per output cell, the tree missing its barrier (planted bug (d)). */
__global__ void sum_without_tree_barrier(mt_kview out, mt_kview a, int dim, int64_t cells) {
    // out (a.shape with shape[dim] = 1), a (any layout)
    MT_SHARED(double, partial, kB);
    const int t = (int)threadIdx.x;
    for (int64_t n = blockIdx.x; n < cells; n += gridDim.x) {
        int64_t index[MT_MAX_DIMS];
        mt_ordinal_to_index(n, out.ndim, out.shape, index);
        const int64_t pa = a.offset + mt_index_to_position(a.ndim, index, a.strides);
        double acc = 0.0;
        for (int64_t k = t; k < a.shape[dim]; k += kB) acc += a.data[pa + k * a.strides[dim]];
        partial[t] = acc;
        __syncthreads();
        for (int s = kB / 2; s > 0; s /= 2)
            if (t < s) partial[t] += partial[t + s]; /* planted: no __syncthreads() here */
        if (t == 0)
            out.data[out.offset + mt_index_to_position(out.ndim, index, out.strides)] =
                (float)partial[0];
        __syncthreads();
    }
}

static mt_kview view_of(const mt_tensor *t) {
    mt_kview v{};
    v.data = t->storage->data;
    v.offset = t->offset;
    v.ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) {
        v.shape[d] = t->shape[d];
        v.strides[d] = t->strides[d];
    }
    return v;
}

static mt_status planted_sum(const mt_kernel_args *args) {
    if (args->op != MT_OP_SUM) return mt_cuda_sim_backend.kernels[args->op](args);
    mt_kview out = view_of(args->out);
    int64_t cells = mt_kview_numel(&out);
    MT_LAUNCH(sum_without_tree_barrier, mt_cuda_blocks(cells, 1), kB)(
        out, view_of(args->src[0]), args->params.dim, cells);
    MT_CUDA_CHECK_LAUNCH("sum_without_tree_barrier");
    return MT_OK;
}

static int verify_sum(const mt_backend *b, vf_summary *sum) {
    vf_config cfg;
    vf_config_init(&cfg, MT_GOLDEN_DIR);
    const mt_backend *backends[1] = {b};
    const char *ops[1] = {"sum"};
    cfg.backends = backends;
    cfg.nbackends = 1;
    cfg.ops = ops;
    cfg.nops = 1;
    cfg.seed = 5;
    cfg.cases = 20;
    cfg.out = std::tmpfile();
    int status = cfg.out ? vf_run(&cfg, sum) : -1;
    if (cfg.out) std::fclose(cfg.out);
    return status;
}

static void test_verifier_catches_planted_sim_kernel() {
    mt_cuda_sim_set_order(MT_SIM_ORDER_VARY, 0x5eed);
    vf_summary sum;
    EXPECT(verify_sum(&mt_cuda_sim_backend, &sum) == 0, "the unchanged cuda-sim sum fails ./verify");
    mt_backend planted = mt_cuda_sim_backend;
    planted.name = "cuda-sim-planted";
    planted.kernels[MT_OP_SUM] = planted_sum;
    int status = verify_sum(&planted, &sum);
    EXPECT(status == 1 && sum.failed_cells == 1,
           "(d) ./verify passed a cuda-sim sum without its tree barrier (status %d)", status);
}

int main() {
    test_missing_barrier();
    test_shared_out_of_range();
    test_two_writers();
    test_verifier_catches_planted_sim_kernel();
    mt_cuda_sim_set_order(MT_SIM_ORDER_VARY, 0x5eed);
    if (failures) {
        std::printf("test_cuda_sim_planted: %d failure(s)\n", failures);
        return 1;
    }
    std::printf("test_cuda_sim_planted: all planted simulator bugs caught, correct twins pass\n");
    return 0;
}
