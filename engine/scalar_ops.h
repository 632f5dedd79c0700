/* MiniTorch's operators.py: the scalar definition of every map and zip op. Backends call these so
 * the semantics live in one place; the naive backend evaluates them in double. Callable from
 * device code (MT_HD), so the CUDA kernels evaluate exactly these definitions too. */
#ifndef MT_SCALAR_OPS_H
#define MT_SCALAR_OPS_H

#include <math.h>

#include "kernel_iface.h"

#define MT_IS_CLOSE_TOL 1e-2

MT_HD static inline double mt_sigmoid_d(double x) {
    /* two forms so that exp() never overflows */
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

MT_HD static inline double mt_map_d(int op, double x) {
    switch (op) {
    case MT_OP_NEG: return -x;
    case MT_OP_ID: return x;
    case MT_OP_INV: return 1.0 / x;
    case MT_OP_RELU: return x > 0 ? x : 0.0;
    case MT_OP_SIGMOID: return mt_sigmoid_d(x);
    case MT_OP_LOG: return log(x);
    case MT_OP_EXP: return exp(x);
    case MT_OP_SQRT: return sqrt(x);
    default: return NAN;
    }
}

/* a is the forward input for the *_back ops, b the incoming gradient. */
MT_HD static inline double mt_zip_d(int op, double a, double b) {
    switch (op) {
    case MT_OP_ADD: return a + b;
    case MT_OP_MUL: return a * b;
    case MT_OP_LT: return a < b ? 1.0 : 0.0;
    case MT_OP_EQ: return a == b ? 1.0 : 0.0;
    case MT_OP_IS_CLOSE: return fabs(a - b) < MT_IS_CLOSE_TOL ? 1.0 : 0.0;
    case MT_OP_RELU_BACK: return a > 0 ? b : 0.0;
    case MT_OP_LOG_BACK: return b / a;
    case MT_OP_INV_BACK: return -b / (a * a);
    case MT_OP_SIGMOID_BACK: {
        double s = mt_sigmoid_d(a);
        return s * (1.0 - s) * b;
    }
    default: return NAN;
    }
}

/* The "first maximum" rule of every max-like kernel (argmax, maxpool and their backward): while
 * scanning in order, x replaces the best so far only when strictly greater, or when it is the first
 * NaN. Ties therefore go to the lowest index, and a NaN wins (numpy's argmax), so the element a
 * gradient is routed to is the one whose value the forward produced. */
MT_HD static inline int mt_beats_max(double x, double best) {
    return isnan(x) ? !isnan(best) : x > best;
}

#endif
