/* LeNet-5 with ReLU and max pooling, the stronger network of ./train mnist --model lenet:
 *   conv 1->6 5x5 +bias, PyTorch-style zero padding 2 (28x28 stays 28x28), relu, maxpool 2x2
 *   -> (B,6,14,14) -> conv 6->16 5x5 +bias, no padding -> (B,16,10,10), relu, maxpool 2x2
 *   -> (B,16,5,5) -> view (B,400) -> linear 400->120, relu -> linear 120->84, relu
 *   -> linear 84->10 -> logsoftmax; loss: mean NLL (mnist_train_step).
 * LeCun's 1998 net used tanh-like squashing and trainable subsampling; ReLU and max pooling train
 * faster with plain SGD and are what "LeNet" means in today's tutorials. No dropout: the net is
 * small next to 60,000 images.
 * Sized by its input: any H, W divisible by 4 and at least 12 (after the first pool, the 5x5
 * convolution must leave an even size >= 2 for the second pool). The parameters live in the
 * mnist_model struct so mnist_train_step and mnist_evaluate serve both networks. */
#ifndef MT_TRAIN_LENET_MODEL_H
#define MT_TRAIN_LENET_MODEL_H

#include "mnist_model.h"

/* Whether LeNet takes h x w images; when not, why into why. */
bool lenet_fits(int64_t h, int64_t w, char *why, size_t n);
/* Makes conv1, conv2, fc1, fc2, fc3 in ctx (PyTorch's default initialisation from rng) for
 * m->h x m->w images and appends them to m->params. */
mt_status lenet_init(mnist_model *m, mt_ctx *ctx, mt_rng *rng);
/* x (B,1,h,w) -> log-probabilities (B,10). */
mt_tensor *lenet_forward(mt_ctx *ctx, const mnist_model *m, mt_tensor *x);

#endif
