/* The op table: what the verifier knows about each kernel. Adding an op is one entry in TABLE
 * (its family builds the shapes; golden files, gradient function and tolerances are fields);
 * adding a backend needs nothing here, the registry supplies it. */
#include "verify_internal.h"

#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------ differentiable functions */
static mt_tensor *g_neg(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_neg(c, x[0]);
}
static mt_tensor *g_id(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_contiguous(c, x[0]); /* the function that runs the id kernel */
}
static mt_tensor *g_inv(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_inv(c, x[0]);
}
static mt_tensor *g_relu(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_relu(c, x[0]);
}
static mt_tensor *g_sigmoid(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_sigmoid(c, x[0]);
}
static mt_tensor *g_log(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_log(c, x[0]);
}
static mt_tensor *g_exp(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_exp(c, x[0]);
}
static mt_tensor *g_add(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_add(c, x[0], x[1]);
}
static mt_tensor *g_mul(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_mul(c, x[0], x[1]);
}
static mt_tensor *g_sum(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_sum(c, x[0], p->params.dim);
}
static mt_tensor *g_matmul(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    (void)p;
    return mt_matmul(c, x[0], x[1]);
}

/* ------------------------------------------------------------------ tolerances */
/* Bit-exact: comparisons, copies, selections (max, argmax, maxpool, relu). */
#define TOL_EXACT {0, 0, 0, VF_SCALE_ONE}
/* Elementwise maths: a few ulp of the result (float32 ulp is 6e-8 relative). */
#define TOL_MAP {2e-6, 4e-6, 1e-10, VF_SCALE_ONE}
#define TOL_ZIP {2e-6, 4e-6, 1e-10, VF_SCALE_SUM_ABS}
/* Sums in any order: rounding grows with the sum of |terms| the result was made from. */
#define TOL_SUMS {2e-6, 4e-6, 1e-10, VF_SCALE_SELF}
#define TOL_PROD {0, 2e-5, 1e-9, VF_SCALE_ONE}

/* Value ranges: every op sees ones (the shrinker's simplest values) and ties. */
#define R_ANY ((1u << VF_R_COUNT) - 1u)
/* products of +-1000 overflow: the infinities (and their signs) must still agree */
#define R_PROD (VF_BIT(VF_R_ONES) | VF_BIT(VF_R_NEAR1) | VF_BIT(VF_R_HUGE))
#define R_LINEAR                                                                                   \
    (VF_BIT(VF_R_ONES) | VF_BIT(VF_R_INT) | VF_BIT(VF_R_UNIT) | VF_BIT(VF_R_WIDE) |                \
     VF_BIT(VF_R_SMALL) | VF_BIT(VF_R_HUGE) | VF_BIT(VF_R_SPECIAL))

/* Golden arrays: GOLDEN1/2 for forward ops read their own files. */
#define GOLDEN1(name) name, {"in0", NULL, NULL}, "out"
#define GOLDEN2(name) name, {"in0", "in1", NULL}, "out"
#define GOLDEN_FROM(name, a, b, out) name, {a, b, NULL}, out
/* Gradient checks: function, value range, step, tolerance (MiniTorch's 1e-2), kinks. */
#define GRAD(fn, range) fn, VF_BIT(range), 1e-2, 1e-2, false
#define GRAD_KINKS(fn, range) fn, VF_BIT(range), 1e-2, 1e-2, true
#define NO_GRAD NULL, 0, 0, 0, false

/* ------------------------------------------------------------------ nn ops */
static mt_tensor *g_max(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_max(c, x[0], p->params.dim);
}
static mt_tensor *g_conv1d(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_conv1d(c, x[0], x[1], &p->conv);
}
static mt_tensor *g_conv2d(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_conv2d(c, x[0], x[1], &p->conv);
}
static mt_tensor *g_avgpool(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_avgpool2d(c, x[0], p->params.kernel[0], p->params.kernel[1]);
}
static mt_tensor *g_maxpool(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_maxpool2d(c, x[0], p->params.kernel[0], p->params.kernel[1]);
}
static mt_tensor *g_softmax(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_softmax(c, x[0], p->params.dim);
}
static mt_tensor *g_logsoftmax(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    return mt_logsoftmax(c, x[0], p->params.dim);
}
/* The mask comes from ctx's generator: reseeding it makes every evaluation use the same mask,
 * so the function is linear in x and central differences apply. */
static mt_tensor *g_dropout(mt_ctx *c, mt_tensor **x, const vf_problem *p) {
    mt_ctx_seed(c, p->params.seed);
    return mt_dropout(c, x[0], p->params.rate, true);
}

#define TOL_SOFTMAX {2e-6, 3e-5, 1e-9, VF_SCALE_ONE}
#define TOL_LOGSOFTMAX {2e-6, 1e-5, 1e-10, VF_SCALE_IN0_MAX}
#define TOL_DROPOUT {0, 1e-6, 1e-12, VF_SCALE_ONE}
#define R_SOFTMAX (R_LINEAR | VF_BIT(VF_R_SHIFTED))
/* convolutions skip the taps that fall outside the input (no 0 * inf from padding) */
#define R_CONV R_LINEAR
#define R_DROPOUT                                                                                  \
    (VF_BIT(VF_R_ONES) | VF_BIT(VF_R_UNIT) | VF_BIT(VF_R_WIDE) | VF_BIT(VF_R_HUGE) |               \
     VF_BIT(VF_R_SPECIAL))
/* mt_max is an nn function: its gradient check comes with the nn ops */
#define MAX_GRADIENT GRAD_KINKS(g_max, VF_R_UNIT)

/* Fields: op, family, role, value ranges, tolerance, golden arrays, gradient check, property. */
static const vf_op TABLE[] = {
    /* maps: out = f(a), a broadcast to out */
    {MT_OP_NEG, &VF_FAMILY_MAP, 0, R_ANY, TOL_EXACT, GOLDEN1("neg"), GRAD(g_neg, VF_R_UNIT), NULL},
    {MT_OP_ID, &VF_FAMILY_MAP, 0, R_ANY, TOL_EXACT, GOLDEN1("id"), GRAD(g_id, VF_R_UNIT), NULL},
    {MT_OP_INV, &VF_FAMILY_MAP, 0, R_ANY, TOL_MAP, GOLDEN1("inv"), GRAD(g_inv, VF_R_AWAY0), NULL},
    {MT_OP_RELU, &VF_FAMILY_MAP, 0, R_ANY, TOL_EXACT, GOLDEN1("relu"),
     GRAD_KINKS(g_relu, VF_R_UNIT), NULL},
    {MT_OP_SIGMOID, &VF_FAMILY_MAP, 0, R_ANY, TOL_MAP, GOLDEN1("sigmoid"),
     GRAD(g_sigmoid, VF_R_UNIT), NULL},
    {MT_OP_LOG, &VF_FAMILY_MAP, 0, R_ANY, TOL_MAP, GOLDEN1("log"), GRAD(g_log, VF_R_HALF2), NULL},
    {MT_OP_EXP, &VF_FAMILY_MAP, 0, R_ANY, TOL_MAP, GOLDEN1("exp"), GRAD(g_exp, VF_R_UNIT), NULL},
    /* a kernel for the optimizers (Adam), with no differentiable function of its own */
    {MT_OP_SQRT, &VF_FAMILY_MAP, 0, R_ANY, TOL_MAP, GOLDEN1("sqrt"), NO_GRAD, NULL},
    /* zips: out = f(a, b), both broadcast; the *_back ops are checked against the gradients in
     * their forward op's golden files (a = forward input, b = incoming gradient r) */
    {MT_OP_ADD, &VF_FAMILY_ZIP, 0, R_ANY, TOL_ZIP, GOLDEN2("add"), GRAD(g_add, VF_R_UNIT), NULL},
    {MT_OP_MUL, &VF_FAMILY_ZIP, 0, R_ANY, TOL_ZIP, GOLDEN2("mul"), GRAD(g_mul, VF_R_UNIT), NULL},
    {MT_OP_LT, &VF_FAMILY_ZIP, 0, R_ANY, TOL_EXACT, GOLDEN2("lt"), NO_GRAD, NULL},
    {MT_OP_EQ, &VF_FAMILY_ZIP, 0, R_ANY, TOL_EXACT, GOLDEN2("eq"), NO_GRAD, NULL},
    {MT_OP_IS_CLOSE, &VF_FAMILY_ZIP, 0, R_ANY, TOL_EXACT, GOLDEN2("is_close"), NO_GRAD, NULL},
    {MT_OP_RELU_BACK, &VF_FAMILY_ZIP, 0, R_ANY, TOL_EXACT, GOLDEN_FROM("relu", "in0", "r", "grad0"),
     NO_GRAD, NULL},
    {MT_OP_LOG_BACK, &VF_FAMILY_ZIP, 0, R_ANY, TOL_ZIP, GOLDEN_FROM("log", "in0", "r", "grad0"),
     NO_GRAD, NULL},
    {MT_OP_INV_BACK, &VF_FAMILY_ZIP, 0, R_ANY, TOL_ZIP, GOLDEN_FROM("inv", "in0", "r", "grad0"),
     NO_GRAD, NULL},
    {MT_OP_SIGMOID_BACK, &VF_FAMILY_ZIP, 0, R_ANY, TOL_ZIP,
     GOLDEN_FROM("sigmoid", "in0", "r", "grad0"), NO_GRAD, NULL},
    /* reductions along params.dim */
    {MT_OP_SUM, &VF_FAMILY_REDUCE, 0, R_ANY, TOL_SUMS, GOLDEN1("sum"), GRAD(g_sum, VF_R_UNIT),
     NULL},
    {MT_OP_PROD, &VF_FAMILY_REDUCE, 0, R_PROD, TOL_PROD, GOLDEN1("prod"), NO_GRAD, NULL},
    {MT_OP_MAX, &VF_FAMILY_REDUCE, 0, R_ANY, TOL_EXACT, GOLDEN1("max"), MAX_GRADIENT, NULL},
    /* batched matmul, batch dims broadcast */
    {MT_OP_MATMUL, &VF_FAMILY_MATMUL, 0, R_ANY, TOL_SUMS, GOLDEN2("matmul"),
     GRAD(g_matmul, VF_R_UNIT), NULL},
    /* convolutions: the backward products are checked against the forward files' gradients */
    {MT_OP_CONV1D, &VF_FAMILY_CONV1D, 0, R_CONV, TOL_SUMS, GOLDEN2("conv1d"),
     GRAD(g_conv1d, VF_R_UNIT), NULL},
    {MT_OP_CONV1D_BACK_INPUT, &VF_FAMILY_CONV1D, 1, R_CONV, TOL_SUMS,
     GOLDEN_FROM("conv1d", "r", "in1", "grad0"), NO_GRAD, NULL},
    {MT_OP_CONV1D_BACK_WEIGHT, &VF_FAMILY_CONV1D, 2, R_CONV, TOL_SUMS,
     GOLDEN_FROM("conv1d", "in0", "r", "grad1"), NO_GRAD, NULL},
    {MT_OP_CONV2D, &VF_FAMILY_CONV2D, 0, R_CONV, TOL_SUMS, GOLDEN2("conv2d"),
     GRAD(g_conv2d, VF_R_UNIT), NULL},
    {MT_OP_CONV2D_BACK_INPUT, &VF_FAMILY_CONV2D, 1, R_CONV, TOL_SUMS,
     GOLDEN_FROM("conv2d", "r", "in1", "grad0"), NO_GRAD, NULL},
    {MT_OP_CONV2D_BACK_WEIGHT, &VF_FAMILY_CONV2D, 2, R_CONV, TOL_SUMS,
     GOLDEN_FROM("conv2d", "in0", "r", "grad1"), NO_GRAD, NULL},
    /* pooling, window = stride */
    {MT_OP_AVGPOOL2D, &VF_FAMILY_POOL, 0, R_ANY, TOL_SUMS, GOLDEN1("avgpool2d"),
     GRAD(g_avgpool, VF_R_UNIT), NULL},
    {MT_OP_AVGPOOL2D_BACK, &VF_FAMILY_POOL, 1, R_ANY, TOL_SUMS,
     GOLDEN_FROM("avgpool2d", "r", NULL, "grad0"), NO_GRAD, NULL},
    {MT_OP_MAXPOOL2D, &VF_FAMILY_POOL, 0, R_LINEAR, TOL_EXACT, GOLDEN1("maxpool2d"),
     GRAD_KINKS(g_maxpool, VF_R_UNIT), NULL},
    {MT_OP_MAXPOOL2D_BACK, &VF_FAMILY_POOL, 2, R_LINEAR, TOL_EXACT,
     GOLDEN_FROM("maxpool2d", "in0", "r", "grad0"), NO_GRAD, NULL},
    /* along params.dim */
    {MT_OP_ARGMAX, &VF_FAMILY_ALONG_DIM, 1, R_LINEAR, TOL_EXACT, GOLDEN1("argmax"), NO_GRAD,
     vf_argmax_property},
    {MT_OP_SOFTMAX, &VF_FAMILY_ALONG_DIM, 1, R_SOFTMAX, TOL_SOFTMAX, GOLDEN1("softmax"),
     GRAD(g_softmax, VF_R_UNIT), vf_softmax_property},
    {MT_OP_LOGSOFTMAX, &VF_FAMILY_ALONG_DIM, 1, R_SOFTMAX, TOL_LOGSOFTMAX, GOLDEN1("logsoftmax"),
     GRAD(g_logsoftmax, VF_R_UNIT), vf_logsoftmax_property},
    /* golden files at fixed kernel seeds (gen.py has the engine's mask hash) */
    {MT_OP_DROPOUT, &VF_FAMILY_DROPOUT, 2, R_DROPOUT, TOL_DROPOUT, GOLDEN1("dropout"),
     GRAD(g_dropout, VF_R_UNIT), vf_dropout_property},
};

int vf_table_size(void) { return COUNT(TABLE); }
const vf_op *vf_table_at(int i) { return i >= 0 && i < COUNT(TABLE) ? &TABLE[i] : NULL; }
const char *vf_op_label(const vf_op *op) { return mt_op_name(op->op); }

const vf_op *vf_table_find(const char *name) {
    for (int i = 0; i < COUNT(TABLE); i++)
        if (strcmp(mt_op_name(TABLE[i].op), name) == 0) return &TABLE[i];
    return NULL;
}

int vf_op_count(void) { return COUNT(TABLE); }
const char *vf_op_name_at(int i) {
    return i >= 0 && i < COUNT(TABLE) ? mt_op_name(TABLE[i].op) : NULL;
}
bool vf_op_known(const char *name) { return name && vf_table_find(name) != NULL; }
