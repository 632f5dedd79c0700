/* The nn sweep: the ops every training step runs besides matmul and conv, never timed before:
 * softmax, logsoftmax and argmax along a dim, avgpool2d / maxpool2d and their backward kernels,
 * and dropout. All bandwidth-bound, so they are timed like the elementwise sweep: through the
 * kernel-level dispatch (mt_apply_along_dim, or mt_run_kernel on an output allocated here, as
 * engine/pooling.c and engine/dropout.c do) so that no autodiff bookkeeping is timed, with
 * work = bytes read + bytes written and a memcpy of the same traffic as the baseline.
 *
 * A case's `dim` carries its one parameter: the dim for softmax / logsoftmax / argmax, the square
 * window (= stride) for pooling, the rate in percent for dropout. The PyTorch baseline reads it
 * from the cases file the same way. For pooling, in[0] is always the pooled layer's input
 * (B,C,H,W); the backward cases add in[1], the gradient (B,C,H/k,W/k). */
#include "internal.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fixed dropout seed: the mask is a pure function of (seed, element), so every backend and the
 * naive reference drop the same elements and the check compares them exactly. */
#define NN_DROPOUT_SEED 0x5eed0fd20u

static bool is_along_dim(int op) {
    return op == MT_OP_SOFTMAX || op == MT_OP_LOGSOFTMAX || op == MT_OP_ARGMAX;
}
static bool is_pool(int op) { return op >= MT_OP_AVGPOOL2D && op <= MT_OP_MAXPOOL2D_BACK; }
static bool is_pool_back(int op) { return op == MT_OP_AVGPOOL2D_BACK || op == MT_OP_MAXPOOL2D_BACK; }
static bool is_nn_op(int op) { return is_along_dim(op) || is_pool(op) || op == MT_OP_DROPOUT; }

/* What each case reads and writes, in elements: pooling moves the layer's input (N elements) one
 * way and its pooled output (N / k^2) the other; maxpool2d_back also reads the input again to find
 * each window's maximum. Every other op reads its input once and writes as many elements. */
static double nn_work(const bench_case *c) {
    double n = (double)bench_shape_numel(&c->in[0]);
    if (!is_pool(c->op)) return 4.0 * 2.0 * n;
    double pooled = n / ((double)c->dim * c->dim);
    double elems = n + pooled + (c->op == MT_OP_MAXPOOL2D_BACK ? n : 0.0);
    return 4.0 * elems;
}

/* Fills c; returns false (after saying why) when the parameter does not fit the shape. */
static bool nn_case(bench_case *c, bench_shape s, int op, int param) {
    memset(c, 0, sizeof *c);
    char sx[96];
    c->in[0] = s;
    c->nin = 1;
    c->op = op;
    c->dim = param;
    bench_shape_x(&s, sx, sizeof sx);
    const char *name = mt_op_name((mt_op)op);
    if (is_along_dim(op)) {
        if (param < -s.ndim || param >= s.ndim) {
            fprintf(stderr, "nn: dim %d is out of range for %d dims\n", param, s.ndim);
            return false;
        }
        snprintf(c->what, sizeof c->what, "%s dim=%d", name, param);
        snprintf(c->id, sizeof c->id, "nn/%s/%s-dim%d", sx, name, param);
    } else if (is_pool(op)) {
        if (s.ndim != 4 || param < 1 || s.d[2] % param != 0 || s.d[3] % param != 0) {
            fprintf(stderr, "nn: %s needs a (B,C,H,W) shape whose H and W the window %d divides\n",
                    name, param);
            return false;
        }
        if (is_pool_back(op)) { /* the gradient arriving from the pooled output */
            c->nin = 2;
            c->in[1] = (bench_shape){4, {s.d[0], s.d[1], s.d[2] / param, s.d[3] / param}};
        }
        snprintf(c->what, sizeof c->what, "%s %dx%d", name, param, param);
        snprintf(c->id, sizeof c->id, "nn/%s/%s-%dx%d", sx, name, param, param);
    } else {
        if (param < 0 || param >= 100) {
            fprintf(stderr, "nn: the dropout rate is in percent, 0 to 99, got %d\n", param);
            return false;
        }
        snprintf(c->what, sizeof c->what, "%s p=%.2f", name, param / 100.0);
        snprintf(c->id, sizeof c->id, "nn/%s/%s-p%d", sx, name, param);
    }
    c->work = nn_work(c);
    return true;
}

static int nn_builtin(bool quick, bench_case *cases, int max) {
    int n = 0;
    if (quick) { /* a strided softmax and a two-input pooling backward: the trickiest dispatch */
        if (n < max) n += nn_case(&cases[n], (bench_shape){2, {257, 129}}, MT_OP_SOFTMAX, 0);
        if (n < max)
            n += nn_case(&cases[n], (bench_shape){4, {2, 3, 12, 12}}, MT_OP_MAXPOOL2D_BACK, 2);
        return n;
    }
    /* 1M elements along the contiguous dim and across rows, and a training batch of 16 logits
     * over 10 classes (MNIST's classifier head) */
    const bench_shape rows[] = {{2, {1024, 1024}}, {2, {16, 10}}};
    const int along[] = {MT_OP_SOFTMAX, MT_OP_LOGSOFTMAX, MT_OP_ARGMAX};
    for (size_t o = 0; o < sizeof along / sizeof along[0]; o++)
        for (size_t s = 0; s < sizeof rows / sizeof rows[0]; s++) {
            if (n < max) n += nn_case(&cases[n], rows[s], along[o], -1);
            if (n < max) n += nn_case(&cases[n], rows[s], along[o], 0);
        }
    /* an MNIST-sized activation and a realistic mid-network one */
    const bench_shape maps[] = {{4, {16, 8, 28, 28}}, {4, {32, 64, 56, 56}}};
    const int pools[] = {MT_OP_AVGPOOL2D, MT_OP_AVGPOOL2D_BACK, MT_OP_MAXPOOL2D,
                         MT_OP_MAXPOOL2D_BACK};
    const int windows[] = {4, 2};
    for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++)
        for (size_t s = 0; s < sizeof maps / sizeof maps[0]; s++)
            for (size_t k = 0; k < sizeof windows / sizeof windows[0]; k++)
                if (n < max) n += nn_case(&cases[n], maps[s], pools[p], windows[k]);
    if (n < max) n += nn_case(&cases[n], (bench_shape){1, {1 << 20}}, MT_OP_DROPOUT, 25);
    return n;
}

/* "SHAPE OP [PARAM]" with PARAM defaulting to dim -1, window 2, or rate 25 (percent). */
static int nn_parse_line(int ntok, char **tok, bench_case *cases, int max) {
    bench_shape s;
    mt_op op = ntok >= 2 ? mt_op_from_name(tok[1]) : MT_OP_COUNT;
    char *end = NULL;
    if (ntok < 2 || ntok > 3 || bench_shape_parse(tok[0], &s) || op == MT_OP_COUNT ||
        !is_nn_op((int)op)) {
        fprintf(stderr, "nn lines are 'SHAPE OP [DIM|WINDOW|RATE%%]' with OP one of softmax, "
                        "logsoftmax, argmax, avgpool2d, avgpool2d_back, maxpool2d, maxpool2d_back, "
                        "dropout; e.g. '16x8x28x28 maxpool2d_back 4'\n");
        return -1;
    }
    int param = is_along_dim((int)op) ? -1 : is_pool((int)op) ? 2 : 25;
    if (ntok == 3 && ((param = (int)strtol(tok[2], &end, 10)), *end != '\0')) {
        fprintf(stderr, "nn: '%s' is not an integer\n", tok[2]);
        return -1;
    }
    if (max < 1 || !nn_case(&cases[0], s, (int)op, param)) return -1;
    return 1;
}

static bool nn_applies(const bench_case *c, const bench_impl *impl) {
    if (impl->kind == IMPL_BACKEND) return mt_backend_supports(impl->backend, (mt_op)c->op);
    return impl->kind == IMPL_MEMCPY;
}

/* The op on ctx's backend: a (in[0]) and, for the pooling backward, g (in[1]). avgpool2d_back
 * reads only g; maxpool2d_back reads a to find each window's first maximum again. */
static mt_tensor *nn_apply(mt_ctx *ctx, const bench_case *c, const mt_tensor *a,
                           const mt_tensor *g) {
    if (is_along_dim(c->op)) return mt_apply_along_dim(ctx, (mt_op)c->op, a, c->dim);
    const bench_shape *os = &c->in[0]; /* dropout, pooling backward: the input's shape */
    bench_shape pooled;
    if (c->op == MT_OP_AVGPOOL2D || c->op == MT_OP_MAXPOOL2D) {
        pooled = (bench_shape){4, {os->d[0], os->d[1], os->d[2] / c->dim, os->d[3] / c->dim}};
        os = &pooled;
    }
    mt_tensor *out = mt_tensor_alloc_for(mt_op_name((mt_op)c->op), ctx, mt_tensor_backend(a),
                                         os->ndim, os->d);
    if (!out) return NULL;
    mt_kernel_args args = {.op = (mt_op)c->op, .out = out, .src = {a, NULL, NULL}, .nsrc = 1};
    if (c->op == MT_OP_AVGPOOL2D_BACK) {
        args.src[0] = g;
    } else if (c->op == MT_OP_MAXPOOL2D_BACK) {
        args.src[1] = g;
        args.nsrc = 2;
    }
    if (is_pool(c->op)) {
        args.params.kernel[0] = args.params.kernel[1] = c->dim;
    } else {
        args.params.rate = (float)c->dim / 100.0f;
        args.params.seed = NN_DROPOUT_SEED;
    }
    return mt_run_kernel(mt_tensor_backend(out), &args) == MT_OK ? out : NULL;
}

static void *nn_setup(const bench_case *c, const bench_impl *impl, char *err, size_t errlen) {
    return bench_bw_setup(c, impl, nn_apply, is_pool_back(c->op) ? "grad_input" : "out", err,
                          errlen);
}

static int nn_reference(const bench_case *c, double budget, bench_reference *ref, char *err,
                        size_t errlen) {
    (void)budget; /* the largest case moves about 60 MB: the naive backend always affords it */
    return bench_bw_reference(c, nn_apply, ref, err, errlen);
}

const bench_sweep bench_sweep_nn = {
    .name = "nn",
    .rate_unit = "GB/s",
    .work_note = "bytes read + bytes written (float32): softmax, logsoftmax, argmax and dropout "
                 "read and write the input's size once; pooling reads the input and writes the "
                 "pooled output (backward: the reverse), maxpool2d_back also reads the input to "
                 "find each window's maximum; memcpy copies half that many bytes, so it moves the "
                 "same traffic",
    .builtin = nn_builtin,
    .parse_line = nn_parse_line,
    .applies = nn_applies,
    .setup = nn_setup,
    .run = bench_bw_run,
    .outputs = bench_bw_outputs,
    .release = bench_bw_release,
    .reference = nn_reference,
    .naive_work = bench_bw_naive_work,
};
