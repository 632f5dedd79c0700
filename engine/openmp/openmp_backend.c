/* The openmp backend's kernel table. Ops it has no kernel for yet stay NULL ("not supported"). */
#include "openmp.h"

const mt_backend mt_openmp_backend = {
    .name = "openmp",
    .description = "multi-threaded CPU kernels (OpenMP), vectorised, bit-identical for any thread count",
    .kernels =
        {
            [MT_OP_NEG] = mt_omp_map,
            [MT_OP_ID] = mt_omp_map,
            [MT_OP_INV] = mt_omp_map,
            [MT_OP_RELU] = mt_omp_map,
            [MT_OP_SIGMOID] = mt_omp_map,
            [MT_OP_LOG] = mt_omp_map,
            [MT_OP_EXP] = mt_omp_map,
            [MT_OP_SQRT] = mt_omp_map,
            [MT_OP_ADD] = mt_omp_zip,
            [MT_OP_MUL] = mt_omp_zip,
            [MT_OP_LT] = mt_omp_zip,
            [MT_OP_EQ] = mt_omp_zip,
            [MT_OP_IS_CLOSE] = mt_omp_zip,
            [MT_OP_RELU_BACK] = mt_omp_zip,
            [MT_OP_LOG_BACK] = mt_omp_zip,
            [MT_OP_INV_BACK] = mt_omp_zip,
            [MT_OP_SIGMOID_BACK] = mt_omp_zip,
            [MT_OP_SUM] = mt_omp_reduce,
            [MT_OP_PROD] = mt_omp_reduce,
            [MT_OP_MAX] = mt_omp_reduce,
            [MT_OP_MATMUL] = mt_omp_matmul,
            [MT_OP_AVGPOOL2D] = mt_omp_pool,
            [MT_OP_AVGPOOL2D_BACK] = mt_omp_pool,
            [MT_OP_MAXPOOL2D] = mt_omp_pool,
            [MT_OP_MAXPOOL2D_BACK] = mt_omp_pool,
            [MT_OP_ARGMAX] = mt_omp_along_dim,
            [MT_OP_SOFTMAX] = mt_omp_along_dim,
            [MT_OP_LOGSOFTMAX] = mt_omp_along_dim,
            [MT_OP_DROPOUT] = mt_omp_dropout,
        },
};
