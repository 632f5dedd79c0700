/* Gradients of graphs, not just of single ops: a value used twice (x * x, f(x) + f(x), y + y),
 * one tensor feeding two branches, and chains of several ops, each checked like an op's gradient
 * case (autodiff on the backend against central differences of sum(out * r)). Autodiff must
 * accumulate into a node every path that reaches it, and an op's backward must not overwrite a
 * gradient another path already left there: single-op checks with fresh leaves never see either.
 * Each graph rides with the op it leans on most, so `./verify --op mul` runs x * x. */
#include "verify_internal.h"

#include <string.h>

static mt_tensor *x_times_x(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_mul(c, x[0], x[0]);
}
static mt_tensor *f_plus_f(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_add(c, mt_sigmoid(c, x[0]), mt_sigmoid(c, x[0]));
}
static mt_tensor *y_plus_y(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    mt_tensor *y = mt_exp(c, x[0]);
    return mt_add(c, y, y);
}
static mt_tensor *sum_times_x(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p; /* sum's broadcast backward meets mul's on the same leaf */
    return mt_mul(c, mt_sum(c, x[0], 1), x[0]);
}
static mt_tensor *branches(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p; /* h feeds sigmoid and the product */
    mt_tensor *h = mt_matmul(c, x[0], x[1]);
    return mt_mul(c, mt_sigmoid(c, h), h);
}
static mt_tensor *softmax_entropy(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p; /* x feeds softmax and logsoftmax, then a reduction */
    return mt_sum(c, mt_mul(c, mt_softmax(c, x[0], 1), mt_logsoftmax(c, x[0], 1)), 1);
}
static mt_tensor *conv_chain(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    mt_tensor *h = mt_sigmoid(c, mt_conv2d(c, x[0], x[1], &p->conv));
    return mt_logsoftmax(c, mt_avgpool2d(c, h, 2, 2), 1);
}
static mt_tensor *conv1d_squared(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    mt_tensor *y = mt_conv1d(c, x[0], x[1], &p->conv);
    return mt_mul(c, y, mt_add(c, y, x[0]));
}

typedef struct graph {
    mt_op op; /* the cell it runs in */
    const char *name;
    vf_grad_fn fn;
    int nin;
    int ndim[2];
    int64_t shape[2][MT_MAX_DIMS];
} graph;

static const graph GRAPHS[] = {
    {MT_OP_MUL, "x * x", x_times_x, 1, {2}, {{3, 17}}},
    {MT_OP_ADD, "sigmoid(x) + sigmoid(x)", f_plus_f, 1, {2}, {{4, 5}}},
    {MT_OP_ADD, "y + y, y = exp(x)", y_plus_y, 1, {3}, {{2, 3, 4}}},
    {MT_OP_SUM, "sum(x, 1) * x", sum_times_x, 1, {2}, {{3, 7}}},
    {MT_OP_MATMUL, "h = x @ w; sigmoid(h) * h", branches, 2, {2, 2}, {{4, 5}, {5, 3}}},
    {MT_OP_SOFTMAX, "sum(softmax(x) * logsoftmax(x), 1)", softmax_entropy, 1, {2}, {{3, 6}}},
    {MT_OP_CONV2D, "logsoftmax(avgpool(sigmoid(conv2d(x, w))), 1)", conv_chain, 2, {4, 4},
     {{2, 2, 6, 6}, {3, 2, 3, 3}}},
    {MT_OP_CONV1D, "y = conv1d(x, w); y * (y + x)", conv1d_squared, 2, {3, 3},
     {{2, 3, 9}, {3, 3, 4}}},
};

void vf_check_graphs(vf_session *s, vf_cell *cell) {
    for (size_t g = 0; g < sizeof GRAPHS / sizeof GRAPHS[0]; g++) {
        const graph *gr = &GRAPHS[g];
        if (gr->op != cell->op->op) continue;
        vf_op op = *cell->op;
        op.grad = gr->fn;
        op.kinks = false;
        if (op.grad_eps == 0) op.grad_eps = op.grad_tol = 1e-2;
        vf_problem p;
        memset(&p, 0, sizeof p);
        p.nin = gr->nin;
        for (int i = 0; i < gr->nin; i++) {
            p.ndim[i] = gr->ndim[i];
            memcpy(p.shape[i], gr->shape[i], sizeof p.shape[i]);
        }
        p.params.stride[0] = p.params.stride[1] = 1; /* MiniTorch's conv form: opts all zero */
        vf_case c;
        memset(&c, 0, sizeof c);
        c.seed = vf_case_seed(s->cfg->seed ^ 0x6a4fu, (int)g);
        c.range = VF_R_UNIT;
        c.layout[0] = VF_L_REVERSED; /* a transposed leaf: its gradient is written contiguous */
        vf_outcome o;
        vf_gradient_case(&op, cell->b, &c, &p, &o);
        s->sum.checks++;
        cell->checks++;
        if (o.failure == VF_FAIL_COUNT) continue;
        vf_cell_fail(s, cell, o.failure, "in the graph %s (seed %llu)", gr->name,
                     (unsigned long long)c.seed);
        vf_emit(s, "  %s\n", o.msg);
        vf_emit(s, "  reproduce: ./verify --op %s --backend %s --seed %llu\n",
                vf_op_label(cell->op), mt_backend_name(cell->b),
                (unsigned long long)s->cfg->seed);
    }
}
