/* The image classifiers behind ./train mnist | fashion-mnist. One struct, one training step and
 * one evaluation for every network, so the trainer loop is shared; the net field picks the
 * forward pass.
 *
 * MNIST_NET_MINITORCH, MiniTorch's MNIST network (project/run_mnist_multiclass.py):
 *   conv 1->4 3x3 +bias, relu -> conv 4->8 3x3 +bias, relu (MiniTorch's same-size convolution,
 *   28x28 stays 28x28) -> avgpool 4x4 -> (B,8,7,7) -> view (B,392) -> linear 392->64, relu
 *   -> dropout 0.25 -> linear 64->10 -> logsoftmax; loss: mean NLL.
 * Sized by its input: any HxW divisible by 4 works (the tests use 8x8 images).
 * MNIST_NET_LENET: LeNet-5 with ReLU and max pooling (lenet_model.h). */
#ifndef MT_TRAIN_MNIST_MODEL_H
#define MT_TRAIN_MNIST_MODEL_H

#include "minitorch.h"
#include "util.h"

#define MNIST_CLASSES 10

typedef enum mnist_net { MNIST_NET_MINITORCH, MNIST_NET_LENET, MNIST_NET_COUNT } mnist_net;
/* "minitorch", "lenet": the --model values, also recorded in checkpoints */
const char *mnist_net_name(mnist_net net);
/* The net named s; false when there is none. */
bool mnist_net_parse(const char *s, mnist_net *net);

typedef struct mnist_model {
    mnist_net net;
    mt_conv_layer conv1, conv2;
    mt_linear fc1, fc2, fc3; /* fc3: LeNet only */
    mt_params params;
    int h, w;
    tr_buf host; /* per-batch host arrays: targets, log-probabilities, predictions */
} mnist_model;

/* Makes net's parameters in ctx for h x w images (mnist_net_fits says which sizes work).
 * minitorch_init: MiniTorch's RParam, 0.1 * (U[0,1) - 0.5) for every weight and bias; otherwise
 * the engine's PyTorch default (uniform +-1/sqrt(fan_in)). Returns an engine status (message in
 * mt_last_error()). */
mt_status mnist_model_init(mnist_model *m, mt_ctx *ctx, mnist_net net, int h, int w,
                           bool minitorch_init, mt_rng *rng);
/* Whether net takes h x w images; when not, why into why. */
bool mnist_net_fits(mnist_net net, int64_t h, int64_t w, char *why, size_t n);
void mnist_model_free(mnist_model *m);

/* x (B,1,h,w) -> log-probabilities (B,10); dropout only when training. */
mt_tensor *mnist_model_forward(mt_ctx *ctx, const mnist_model *m, mt_tensor *x, bool training);
/* The same for rows first.. of a larger batch: dropout keeps what the whole batch's forward keeps
 * in those rows (a data-parallel shard draws the one-process masks; first 0 is the forward). */
mt_tensor *mnist_model_forward_at(mt_ctx *ctx, const mnist_model *m, mt_tensor *x, bool training,
                                  int64_t first);

/* One training step on a batch: resets scratch, zeroes the gradients, forward (dropout on), mean
 * NLL against the one-hot labels, backward, optimizer step. images (B,h,w) and labels (B,) are
 * host arrays, copied into scratch. Writes the batch's mean loss and its count of correct argmax
 * predictions (made before the step). With sh (NULL: one process) the images are this rank's
 * shard and the loss, count and gradients are the whole global batch's (dist.h). */
mt_status mnist_train_step(mnist_model *m, mt_optim *opt, mt_ctx *scratch,
                           const float *images, const uint8_t *labels, int batch,
                           const tr_shard *sh, float *loss, int *correct);

/* Count of correct predictions over n images (n,h,w) floats in eval mode (no dropout, no
 * history), in chunks of `chunk`; scratch is reset between chunks. Returns -1 on error. */
int64_t mnist_evaluate(mnist_model *m, mt_ctx *scratch, const float *images,
                       const uint8_t *labels, int64_t n, int chunk);

/* Row-wise argmax of a (B,C) host array into pred (B,). */
void argmax_rows(const float *x, int rows, int cols, int *pred);

#endif
