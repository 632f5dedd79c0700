#include "mnist_model.h"

#include "lenet_model.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NET_NAMES[MNIST_NET_COUNT] = {"minitorch", "lenet"};

const char *mnist_net_name(mnist_net net) {
    return net >= 0 && net < MNIST_NET_COUNT ? NET_NAMES[net] : "unknown";
}

bool mnist_net_parse(const char *s, mnist_net *net) {
    for (int i = 0; i < MNIST_NET_COUNT; i++)
        if (!strcmp(s, NET_NAMES[i])) {
            *net = (mnist_net)i;
            return true;
        }
    return false;
}

bool mnist_net_fits(mnist_net net, int64_t h, int64_t w, char *why, size_t n) {
    if (net == MNIST_NET_LENET) return lenet_fits(h, w, why, n);
    if (h >= 4 && w >= 4 && h % 4 == 0 && w % 4 == 0) return true;
    snprintf(why, n, "the minitorch network pools 4x4 windows: it needs sizes divisible by 4");
    return false;
}

/* Overwrites every parameter with MiniTorch's RParam values, 0.1 * (U[0,1) - 0.5). */
static mt_status minitorch_reinit(mt_params *list, mt_rng *rng) {
    for (int i = 0; i < list->count; i++) {
        mt_tensor *p = list->items[i];
        int64_t n = mt_numel(p);
        float *v = malloc((size_t)n * sizeof *v);
        if (!v) return MT_ERR_OOM;
        for (int64_t k = 0; k < n; k++) v[k] = (float)(0.1 * (mt_rng_uniform(rng) - 0.5));
        mt_status s = mt_copy_from_host(p, v);
        free(v);
        if (s != MT_OK) return s;
    }
    return MT_OK;
}

mt_status mnist_model_init(mnist_model *m, mt_ctx *ctx, mnist_net net, int h, int w,
                           bool minitorch_init, mt_rng *rng) {
    memset(m, 0, sizeof *m);
    char why[160];
    /* the trainer checks the size first, with a message (the engine's error slot is its own) */
    if (net < 0 || net >= MNIST_NET_COUNT || !mnist_net_fits(net, h, w, why, sizeof why))
        return MT_ERR_ARG;
    m->net = net;
    m->h = h;
    m->w = w;
    int flat = 8 * (h / 4) * (w / 4); /* 392 for 28x28 */
    mt_status s;
    if (net == MNIST_NET_LENET) s = lenet_init(m, ctx, rng);
    else if ((s = mt_conv2d_init(&m->conv1, ctx, &m->params, "conv1", 1, 4, 3, 3, rng)) != MT_OK ||
        (s = mt_conv2d_init(&m->conv2, ctx, &m->params, "conv2", 4, 8, 3, 3, rng)) != MT_OK ||
        (s = mt_linear_init(&m->fc1, ctx, &m->params, "fc1", flat, 64, rng)) != MT_OK ||
        (s = mt_linear_init(&m->fc2, ctx, &m->params, "fc2", 64, MNIST_CLASSES, rng)) != MT_OK)
        return s;
    if (s != MT_OK) return s;
    if (minitorch_init) {
        mt_rng local;
        if (!rng) mt_rng_seed(rng = &local, 0);
        return minitorch_reinit(&m->params, rng);
    }
    return MT_OK;
}

void mnist_model_free(mnist_model *m) {
    mt_params_free(&m->params);
    tr_buf_free(&m->host);
}

mt_tensor *mnist_model_forward(mt_ctx *ctx, const mnist_model *m, mt_tensor *x, bool training) {
    return mnist_model_forward_at(ctx, m, x, training, 0);
}

mt_tensor *mnist_model_forward_at(mt_ctx *ctx, const mnist_model *m, mt_tensor *x, bool training,
                                  int64_t first) {
    if (!x) return NULL;
    if (m->net == MNIST_NET_LENET) return lenet_forward(ctx, m, x);
    int64_t b = x->shape[0];
    mt_tensor *h1 = mt_relu(ctx, mt_conv2d_forward(ctx, &m->conv1, x)); /* (B,4,h,w) */
    mt_tensor *h2 = mt_relu(ctx, mt_conv2d_forward(ctx, &m->conv2, h1)); /* (B,8,h,w) */
    mt_tensor *p = mt_avgpool2d(ctx, h2, 4, 4);                          /* (B,8,h/4,w/4) */
    if (p && !mt_is_contiguous(p)) p = mt_contiguous(ctx, p);
    int64_t flat = 8 * (int64_t)(m->h / 4) * (m->w / 4);
    mt_tensor *f = mt_view(ctx, p, MT_SHAPE(b, flat));                      /* (B,392) */
    mt_tensor *h3 = mt_relu(ctx, mt_linear_forward(ctx, &m->fc1, f));      /* (B,64) */
    mt_tensor *d = mt_dropout_at(ctx, h3, 0.25f, training, (uint64_t)first * 64); /* (B,64) */
    return mt_logsoftmax(ctx, mt_linear_forward(ctx, &m->fc2, d), 1);      /* (B,10) */
}

void argmax_rows(const float *x, int rows, int cols, int *pred) {
    for (int r = 0; r < rows; r++) {
        int best = 0;
        for (int c = 1; c < cols; c++)
            if (x[r * cols + c] > x[r * cols + best]) best = c;
        pred[r] = best;
    }
}

mt_status mnist_train_step(mnist_model *m, mt_optim *opt, mt_ctx *scratch,
                           const float *images, const uint8_t *labels, int batch,
                           const tr_shard *sh, float *loss, int *correct) {
    mt_ctx_reset(scratch);
    mt_status s = mt_params_zero_grad(&m->params);
    if (s != MT_OK) return s;
    size_t nf = (size_t)batch * MNIST_CLASSES;
    float *onehot = tr_buf_get(&m->host, 2 * nf * sizeof(float) + (size_t)batch * sizeof(int));
    if (!onehot) return MT_ERR_OOM;
    float *logp = onehot + nf;
    int *pred = (int *)(logp + nf);
    memset(onehot, 0, (size_t)batch * MNIST_CLASSES * sizeof *onehot);
    for (int i = 0; i < batch; i++) onehot[i * MNIST_CLASSES + labels[i]] = 1.0f;
    mt_tensor *x = mt_from_array(scratch, MT_SHAPE(batch, 1, m->h, m->w), images); /* (B,1,h,w) */
    mt_tensor *y = mt_from_array(scratch, MT_SHAPE(batch, MNIST_CLASSES), onehot); /* (B,10) */
    mt_tensor *out = mnist_model_forward_at(scratch, m, x, true, sh ? sh->first : 0); /* (B,10) */
    mt_tensor *l = mt_nll_loss(scratch, out, y);                                  /* (1,) */
    if (!l) return tr_backward_step(scratch, l, opt, sh, loss, correct);
    /* the predictions first: a data-parallel step sums the counts with the gradients */
    if ((s = mt_to_host(out, logp)) != MT_OK) return s;
    argmax_rows(logp, batch, MNIST_CLASSES, pred);
    *correct = 0;
    for (int i = 0; i < batch; i++) *correct += pred[i] == labels[i];
    return tr_backward_step(scratch, l, opt, sh, loss, correct);
}

int64_t mnist_evaluate(mnist_model *m, mt_ctx *scratch, const float *images,
                       const uint8_t *labels, int64_t n, int chunk) {
    size_t nf = (size_t)chunk * MNIST_CLASSES;
    float *logp = tr_buf_get(&m->host, nf * sizeof(float) + (size_t)chunk * sizeof(int));
    int *pred = logp ? (int *)(logp + nf) : NULL;
    int64_t correct = 0;
    bool was = mt_set_grad_enabled(false);
    for (int64_t at = 0; at < n && correct >= 0 && logp && pred; at += chunk) {
        int b = (int)(n - at < chunk ? n - at : chunk);
        mt_ctx_reset(scratch);
        const float *img = images + (size_t)at * m->h * m->w;
        mt_tensor *x = mt_from_array(scratch, MT_SHAPE(b, 1, m->h, m->w), img); /* (b,1,h,w) */
        mt_tensor *out = mnist_model_forward(scratch, m, x, false);            /* (b,10) */
        if (!out || mt_to_host(out, logp) != MT_OK) {
            correct = -1;
            break;
        }
        argmax_rows(logp, b, MNIST_CLASSES, pred);
        for (int i = 0; i < b; i++) correct += pred[i] == labels[at + i];
    }
    mt_set_grad_enabled(was);
    mt_ctx_reset(scratch);
    if (!logp) correct = -1;
    return correct;
}
