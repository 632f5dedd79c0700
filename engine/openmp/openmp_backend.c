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
            [MT_OP_CONV1D] = mt_omp_conv,
            [MT_OP_CONV1D_BACK_INPUT] = mt_omp_conv_back_input,
            [MT_OP_CONV1D_BACK_WEIGHT] = mt_omp_conv_back_weight,
            [MT_OP_CONV2D] = mt_omp_conv,
            [MT_OP_CONV2D_BACK_INPUT] = mt_omp_conv_back_input,
            [MT_OP_CONV2D_BACK_WEIGHT] = mt_omp_conv_back_weight,
        },
};
