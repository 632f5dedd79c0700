/* The plain types every layer shares, kernels included: status codes, the op enum and the
 * largest rank. Compiles as C, C++ and CUDA; the rest of the API is in minitorch.h. */
#ifndef MINITORCH_TYPES_H
#define MINITORCH_TYPES_H

#define MT_MAX_DIMS 8

/* ------------------------------------------------------------------ errors */
typedef enum mt_status {
    MT_OK = 0,
    MT_ERR_SHAPE,       /* shapes do not fit together */
    MT_ERR_ARG,         /* a bad argument: dim out of range, bad permutation, NULL, ... */
    MT_ERR_OOM,         /* allocation failed */
    MT_ERR_BACKEND,     /* tensors on different backends, or a backend failure */
    MT_ERR_UNSUPPORTED, /* the backend has no kernel for this op */
    MT_ERR_IO,          /* file missing, unreadable or corrupt */
    MT_ERR_STATE        /* a call at the wrong time (e.g. backward twice through freed data) */
} mt_status;

/* Every kernel the engine can ask a backend for. MT_OP_NAMES in backend.c must list them in this
 * order (checked at compile time). */
typedef enum mt_op {
    /* map: out = f(a), a broadcast to out's shape */
    MT_OP_NEG,
    MT_OP_ID,
    MT_OP_INV,
    MT_OP_RELU,
    MT_OP_SIGMOID,
    MT_OP_LOG,
    MT_OP_EXP,
    MT_OP_SQRT,
    /* zip: out = f(a, b), both broadcast to out's shape */
    MT_OP_ADD,
    MT_OP_MUL,
    MT_OP_LT,
    MT_OP_EQ,
    MT_OP_IS_CLOSE,
    MT_OP_RELU_BACK,
    MT_OP_LOG_BACK,
    MT_OP_INV_BACK,
    MT_OP_SIGMOID_BACK,
    /* reduce along params.dim; out has that dim as size 1 */
    MT_OP_SUM,
    MT_OP_PROD,
    MT_OP_MAX,
    /* batched matmul, batch dims broadcast: (..., M, K) @ (..., K, N) -> (..., M, N) */
    MT_OP_MATMUL,
    /* convolutions (see mt_conv_opts): forward, d input, d weight */
    MT_OP_CONV1D,             /* out (B,Cout,Wo) <- in (B,Cin,W), w (Cout,Cin,K) */
    MT_OP_CONV1D_BACK_INPUT,  /* grad_in (B,Cin,W) <- grad_out (B,Cout,Wo), w (Cout,Cin,K) */
    MT_OP_CONV1D_BACK_WEIGHT, /* grad_w (Cout,Cin,K) <- in (B,Cin,W), grad_out (B,Cout,Wo) */
    MT_OP_CONV2D,             /* out (B,Cout,Ho,Wo) <- in (B,Cin,H,W), w (Cout,Cin,KH,KW) */
    MT_OP_CONV2D_BACK_INPUT,  /* grad_in (B,Cin,H,W) <- grad_out, w */
    MT_OP_CONV2D_BACK_WEIGHT, /* grad_w (Cout,Cin,KH,KW) <- in, grad_out */
    /* pooling, kernel = stride, no padding: (B,C,H,W) -> (B,C,H/kh,W/kw) */
    MT_OP_AVGPOOL2D,
    MT_OP_AVGPOOL2D_BACK, /* grad_in (B,C,H,W) <- grad_out (B,C,H/kh,W/kw) */
    MT_OP_MAXPOOL2D,
    MT_OP_MAXPOOL2D_BACK, /* grad_in <- in (B,C,H,W), grad_out; to the first max of each window */
    /* along params.dim */
    MT_OP_ARGMAX,     /* one-hot mask of the first maximum, same shape as the input */
    MT_OP_SOFTMAX,    /* max-shifted */
    MT_OP_LOGSOFTMAX, /* x - max - log(sum(exp(x - max))) */
    /* out = x * keep / (1 - rate), keep drawn from a counter-based hash of (seed, element) */
    MT_OP_DROPOUT,
    MT_OP_COUNT
} mt_op;

#endif
