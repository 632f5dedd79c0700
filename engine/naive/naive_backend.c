/* The naive backend's kernel table. */
#include "naive.h"

const mt_backend mt_naive_backend = {
    .name = "naive",
    .description = "reference loops over output ordinals, double accumulators",
    .kernels =
        {
            [MT_OP_NEG] = mt_naive_map,
            [MT_OP_ID] = mt_naive_map,
            [MT_OP_INV] = mt_naive_map,
            [MT_OP_RELU] = mt_naive_map,
            [MT_OP_SIGMOID] = mt_naive_map,
            [MT_OP_LOG] = mt_naive_map,
            [MT_OP_EXP] = mt_naive_map,
            [MT_OP_ADD] = mt_naive_zip,
            [MT_OP_MUL] = mt_naive_zip,
            [MT_OP_LT] = mt_naive_zip,
            [MT_OP_EQ] = mt_naive_zip,
            [MT_OP_IS_CLOSE] = mt_naive_zip,
            [MT_OP_RELU_BACK] = mt_naive_zip,
            [MT_OP_LOG_BACK] = mt_naive_zip,
            [MT_OP_INV_BACK] = mt_naive_zip,
            [MT_OP_SIGMOID_BACK] = mt_naive_zip,
            [MT_OP_SUM] = mt_naive_reduce,
            [MT_OP_PROD] = mt_naive_reduce,
            [MT_OP_MAX] = mt_naive_reduce,
            [MT_OP_MATMUL] = mt_naive_matmul,
            [MT_OP_AVGPOOL2D] = mt_naive_avgpool2d,
            [MT_OP_AVGPOOL2D_BACK] = mt_naive_avgpool2d_back,
            [MT_OP_MAXPOOL2D] = mt_naive_maxpool2d,
            [MT_OP_MAXPOOL2D_BACK] = mt_naive_maxpool2d_back,
            [MT_OP_ARGMAX] = mt_naive_argmax,
            [MT_OP_SOFTMAX] = mt_naive_softmax,
            [MT_OP_LOGSOFTMAX] = mt_naive_softmax,
            [MT_OP_DROPOUT] = mt_naive_dropout,
        },
};
