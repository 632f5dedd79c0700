/* The cuda kernels' determinism promise, checked on the simulator: the same inputs give the same
 * bits whatever order a block's threads and a grid's blocks run in (forward, reversed, shuffled
 * with two seeds). A kernel whose result depends on the schedule (a race, a missing barrier, an
 * atomic summation order) gives different bits under some order. Each op runs on shapes that
 * span several blocks and partial tiles, and through autodiff for the backward kernels. The
 * selection ops on the same inputs (max, argmax, dropout) must also equal the naive backend bit for bit. */
#include "check.h"
#include "cuda/cuda_sim_control.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT 16
#define MAX_FLOATS (1 << 17)

typedef struct {
    int count;
    const char *name[MAX_OUT];
    int64_t n[MAX_OUT];
    float *values[MAX_OUT];
} results;

static void keep(results *r, const char *name, const mt_tensor *t) {
    CHECK(t != NULL, "%s: %s", name, mt_last_error());
    if (!t || r->count == MAX_OUT) return;
    int64_t n = mt_numel(t);
    float *v = malloc((size_t)n * sizeof(float));
    CHECK_OK(mt_to_host(t, v));
    r->name[r->count] = name;
    r->n[r->count] = n;
    r->values[r->count++] = v;
}

static mt_tensor *input(mt_ctx *c, int ndim, const int64_t *shape, uint64_t seed, float lo,
                        float hi, bool ties) {
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    float *v = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        double u = mt_rng_uniform(&rng);
        v[i] = ties ? (float)floor(u * 4.0) : (float)(lo + (hi - lo) * u);
    }
    mt_tensor *t = mt_from_array(c, ndim, shape, v);
    free(v);
    return t;
}

/* Runs every op once on backend b and keeps the outputs (and gradients) on the host. */
static void run_ops(const mt_backend *b, results *r) {
    memset(r, 0, sizeof *r);
    mt_ctx *c = mt_ctx_new(b);
    mt_ctx_seed(c, 11);
    /* long rows take the block-per-row reduction; 300 columns two passes of a 256-thread block */
    mt_tensor *rows = input(c, MT_SHAPE(3, 1000), 1, -1, 1, false);
    keep(r, "sum over 1000", mt_sum(c, rows, 1));
    keep(r, "prod over 1000", mt_prod(c, input(c, MT_SHAPE(2, 1000), 2, 0.999f, 1.001f, false), 1));
    keep(r, "max over 1000 (ties)", mt_max(c, input(c, MT_SHAPE(3, 1000), 3, 0, 1, true), 1));
    mt_tensor *wide = input(c, MT_SHAPE(5, 300), 4, -1000, 1000, false);
    keep(r, "softmax over 300", mt_softmax(c, wide, 1));
    keep(r, "logsoftmax over 300", mt_logsoftmax(c, wide, 1));
    keep(r, "argmax with ties", mt_argmax(c, input(c, MT_SHAPE(7, 300), 5, 0, 1, true), 1));
    /* partial 64x64 tiles, three batches */
    mt_tensor *a = input(c, MT_SHAPE(3, 70, 50), 6, -1, 1, false);
    mt_tensor *bm = input(c, MT_SHAPE(3, 50, 90), 7, -1, 1, false);
    keep(r, "matmul (3,70,50)@(3,50,90)", mt_matmul(c, a, bm));
    /* conv forward and both backward products through autodiff */
    mt_tensor *x = input(c, MT_SHAPE(2, 3, 20, 20), 8, -1, 1, false);
    mt_tensor *w = input(c, MT_SHAPE(5, 3, 3, 3), 9, -1, 1, false);
    mt_requires_grad(x, true);
    mt_requires_grad(w, true);
    mt_conv_opts opts = {.stride = {2, 1}, .pad = {1, 2}, .pytorch_style = true};
    mt_tensor *y = mt_conv2d(c, x, w, &opts);
    keep(r, "conv2d", y);
    mt_tensor *pooled = mt_maxpool2d(c, mt_relu(c, y), 2, 2);
    keep(r, "maxpool2d", pooled);
    mt_tensor *loss = mt_sum(c, mt_view(c, mt_contiguous(c, pooled), MT_SHAPE(mt_numel(pooled))), 0);
    CHECK_OK(mt_backward(c, loss, NULL));
    keep(r, "conv2d grad input", x->grad);
    keep(r, "conv2d grad weight", w->grad);
    keep(r, "dropout", mt_dropout(c, input(c, MT_SHAPE(4, 999), 10, -1, 1, false), 0.3f, true));
    mt_ctx_free(c);
}

static void free_results(results *r) {
    for (int i = 0; i < r->count; i++) free(r->values[i]);
}

static bool same_bits(const results *x, const results *y, int i) {
    return x->n[i] == y->n[i] && memcmp(x->values[i], y->values[i], sizeof(float) * x->n[i]) == 0;
}

int main(void) {
    const mt_backend *sim = mt_backend_by_name("cuda-sim");
    if (!sim) {
        printf("test_cuda_sim_schedule: cuda-sim is not in this build\n");
        return 77;
    }
    results naive, first;
    run_ops(mt_backend_naive(), &naive);
    mt_cuda_sim_set_order(MT_SIM_ORDER_FORWARD, 1);
    uint64_t launches = mt_cuda_sim_launches();
    run_ops(sim, &first);
    CHECK(mt_cuda_sim_launches() > launches + 10, "the ops ran on the simulator");
    CHECK(first.count == naive.count, "every op ran (%d of %d)", first.count, naive.count);

    struct {
        mt_sim_order order;
        uint64_t seed;
        const char *what;
    } schedules[] = {{MT_SIM_ORDER_REVERSE, 1, "reversed"},
                     {MT_SIM_ORDER_SHUFFLE, 2, "shuffled (seed 2)"},
                     {MT_SIM_ORDER_SHUFFLE, 3, "shuffled (seed 3)"}};
    for (size_t s = 0; s < sizeof schedules / sizeof schedules[0]; s++) {
        results other;
        mt_cuda_sim_set_order(schedules[s].order, schedules[s].seed);
        run_ops(sim, &other);
        for (int i = 0; i < first.count && i < other.count; i++)
            CHECK(same_bits(&first, &other, i), "%s: the bits differ between forward and %s order",
                  first.name[i], schedules[s].what);
        free_results(&other);
    }
    mt_cuda_sim_set_order(MT_SIM_ORDER_VARY, 0x5eed);

    /* selections of the same inputs copy values: no rounding, so the bits must be the naive
     * backend's (maxpool's input is a conv output, which rounds differently there) */
    for (int i = 0; i < first.count && i < naive.count; i++) {
        const char *n = first.name[i];
        bool exact = strstr(n, "max over") || strstr(n, "argmax") || strstr(n, "dropout");
        if (exact)
            CHECK(same_bits(&first, &naive, i), "%s: cuda-sim differs from naive", n);
        else
            for (int64_t k = 0; k < first.n[i]; k++) {
                double g = first.values[i][k], want = naive.values[i][k];
                if (!(fabs(g - want) <= 1e-4 * (1.0 + fabs(want)))) {
                    CHECK(false, "%s[%lld] = %.9g on cuda-sim, %.9g on naive", n, (long long)k, g,
                          want);
                    break;
                }
            }
    }
    free_results(&first);
    free_results(&naive);
    return check_summary("test_cuda_sim_schedule");
}
