/* The trainers' steps give the same bits at every thread count: MiniTorch's MNIST network on a
 * batch of 16 28x28 images (LeNet too) and the SST-2 CNN on 10 sentences of 30 100-dimensional
 * word vectors, the shapes ./bench train-step times, each run for three SGD steps from the same
 * weights and dropout seed at 1, 2 and 3 threads (mt_set_num_threads); every loss and every
 * parameter afterwards must equal the one-thread run's bit for bit. Each op is checked alone in
 * tests/test_openmp*.c; this catches a step whose kernels take another path (and so another
 * summation order) when the thread count changes. */
#include "check.h"
#include "mnist_model.h"
#include "sentiment_model.h"
#include "thread_counts.h"

#include <stdlib.h>
#include <string.h>

#define STEPS 3
#define BATCH_MNIST 16
#define BATCH_SST2 10
#define DIMS 100
#define LEN 30

typedef struct run_result {
    float loss[STEPS];
    float *params; /* every parameter after the steps, concatenated (malloc'd) */
    int64_t n;
} run_result;

static float frac(uint64_t i) { return (float)((i * 2654435761u) % 1000u) / 1000.0f; }

static mt_status collect(const mt_params *list, run_result *r) {
    r->n = mt_params_numel(list);
    r->params = malloc((size_t)r->n * sizeof(float));
    if (!r->params) return MT_ERR_OOM;
    int64_t at = 0;
    for (int i = 0; i < list->count; i++) {
        mt_status s = mt_to_host(list->items[i], r->params + at);
        if (s != MT_OK) return s;
        at += mt_numel(list->items[i]);
    }
    return MT_OK;
}

static mt_status run_mnist(const mt_backend *b, mnist_net net, run_result *r) {
    mt_ctx *params = mt_ctx_new(b), *scratch = mt_ctx_new(b);
    mnist_model m;
    mt_optim opt = {0};
    mt_rng rng;
    mt_rng_seed(&rng, 5);
    float *images = malloc(BATCH_MNIST * 28 * 28 * sizeof(float));
    uint8_t labels[BATCH_MNIST];
    for (int i = 0; i < BATCH_MNIST * 28 * 28; i++) images[i] = frac((uint64_t)i);
    for (int i = 0; i < BATCH_MNIST; i++) labels[i] = (uint8_t)(i % MNIST_CLASSES);
    mt_status s = images ? mnist_model_init(&m, params, net, 28, 28, true, &rng) : MT_ERR_OOM;
    if (s == MT_OK) s = mt_optim_sgd(&opt, params, &m.params, 0.01f, 0.0f, 0.0f);
    mt_ctx_seed(scratch, 9);
    for (int k = 0; k < STEPS && s == MT_OK; k++) {
        int correct;
        s = mnist_train_step(&m, &opt, scratch, images, labels, BATCH_MNIST, NULL, &r->loss[k],
                             &correct);
    }
    if (s == MT_OK) s = collect(&m.params, r);
    mt_optim_free(&opt);
    mnist_model_free(&m);
    free(images);
    mt_ctx_free(scratch);
    mt_ctx_free(params);
    return s;
}

static mt_status run_sst2(const mt_backend *b, run_result *r) {
    mt_ctx *params = mt_ctx_new(b), *scratch = mt_ctx_new(b);
    sentiment_model m;
    mt_optim opt = {0};
    mt_rng rng;
    mt_rng_seed(&rng, 6);
    sst2_example items[BATCH_SST2];
    float *vec[BATCH_SST2];
    int idx[BATCH_SST2];
    memset(items, 0, sizeof items);
    for (int i = 0; i < BATCH_SST2; i++) {
        items[i].ntokens = LEN - 3 * (i % 4); /* padded to LEN: zeros past a sentence's end */
        items[i].label = i % 2;
        idx[i] = i;
        vec[i] = malloc((size_t)LEN * DIMS * sizeof(float));
        for (int k = 0; vec[i] && k < LEN * DIMS; k++)
            vec[i][k] = 2.0f * frac((uint64_t)(i * LEN * DIMS + k)) - 1.0f;
    }
    sst2_set set = {.items = items, .n = BATCH_SST2, .max_tokens = LEN};
    sst2_vectors v = {.vec = vec, .n = BATCH_SST2, .dims = DIMS};
    mt_status s = sentiment_model_init(&m, params, DIMS, 100, true, &rng);
    if (s == MT_OK) s = mt_optim_sgd(&opt, params, &m.params, 0.01f, 0.0f, 0.0f);
    for (int i = 0; i < BATCH_SST2 && s == MT_OK; i++)
        if (!vec[i]) s = MT_ERR_OOM;
    mt_ctx_seed(scratch, 9);
    for (int k = 0; k < STEPS && s == MT_OK; k++) {
        int correct;
        s = sentiment_train_step(&m, &opt, scratch, &set, &v, idx, BATCH_SST2, LEN, NULL,
                                 &r->loss[k], &correct);
    }
    if (s == MT_OK) s = collect(&m.params, r);
    for (int i = 0; i < BATCH_SST2; i++) free(vec[i]);
    mt_optim_free(&opt);
    sentiment_model_free(&m);
    mt_ctx_free(scratch);
    mt_ctx_free(params);
    return s;
}

/* 0 MNIST net, 1 LeNet, 2 SST-2 CNN */
static mt_status run_model(const mt_backend *b, int model, run_result *r) {
    memset(r, 0, sizeof *r);
    if (model == 2) return run_sst2(b, r);
    return run_mnist(b, model == 0 ? MNIST_NET_MINITORCH : MNIST_NET_LENET, r);
}

int main(void) {
    const mt_backend *b = mt_backend_by_name("openmp");
    if (!b) {
        printf("test_train_threads: no openmp backend in this build\n");
        return 77;
    }
    static const char *const names[3] = {"MNIST net", "LeNet", "SST-2 CNN"};
    for (int model = 0; model < 3; model++) {
        run_result one, other;
        CHECK_OK(mt_set_num_threads(1));
        mt_status s = run_model(b, model, &one);
        CHECK(s == MT_OK, "%s at 1 thread: %s", names[model], mt_last_error());
        for (int i = 0; s == MT_OK && mt_test_thread_count(i); i++) {
            int n = mt_test_thread_count(i);
            CHECK_OK(mt_set_num_threads(n));
            mt_status t = run_model(b, model, &other);
            CHECK(t == MT_OK, "%s at %d threads: %s", names[model], n, mt_last_error());
            if (t == MT_OK) {
                CHECK(memcmp(one.loss, other.loss, sizeof one.loss) == 0,
                      "%s: the %d losses at %d threads are the 1-thread run's bits", names[model],
                      STEPS, n);
                CHECK(other.n == one.n &&
                          memcmp(one.params, other.params, (size_t)one.n * sizeof(float)) == 0,
                      "%s: the parameters after %d steps at %d threads are the 1-thread run's bits",
                      names[model], STEPS, n);
            }
            free(other.params);
        }
        free(one.params);
    }
    mt_set_num_threads(0);
    return check_summary("test_train_threads");
}
