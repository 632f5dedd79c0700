/* MiniTorch's sentiment CNN (project/run_sentiment.py, CNNSentimentKim):
 *   x (B,D,L) word vectors -> three conv1d D->F (widths 3, 4, 5, +bias), relu -> max over time
 *   -> the three (B,F,1) maps summed (MiniTorch sums; Kim 2014 concatenates) -> view (B,F)
 *   -> linear F->1 -> dropout 0.25 (on the logit, as MiniTorch) -> sigmoid -> (B,); loss: BCE.
 * Positions past a sentence's end hold zero vectors, as MiniTorch pads. */
#ifndef MT_TRAIN_SENTIMENT_MODEL_H
#define MT_TRAIN_SENTIMENT_MODEL_H

#include "glove.h"
#include "minitorch.h"
#include "sst2.h"
#include "util.h"

typedef struct sentiment_model {
    mt_conv_layer conv[3];
    mt_linear fc;
    mt_params params;
    int dims, filters;
    float dropout;
    tr_buf host; /* per-batch host arrays: inputs, labels, probabilities */
} sentiment_model;

mt_status sentiment_model_init(sentiment_model *m, mt_ctx *ctx, int dims, int filters,
                               bool minitorch_init, mt_rng *rng);
void sentiment_model_free(sentiment_model *m);
/* x (B,D,L) -> probabilities (B,) */
mt_tensor *sentiment_model_forward(mt_ctx *ctx, const sentiment_model *m, mt_tensor *x,
                                   bool training);
/* The same for rows first.. of a larger batch: dropout keeps what the whole batch's forward keeps
 * in those rows (a data-parallel shard draws the one-process masks; first 0 is the forward). */
mt_tensor *sentiment_model_forward_at(mt_ctx *ctx, const sentiment_model *m, mt_tensor *x,
                                      bool training, int64_t first);
/* The longest sentence among examples idx[0..b) (at least 1): a batch's padded length. */
int sst2_batch_len(const sst2_set *set, const int *idx, int b);

/* Word vectors for a set, looked up once on the host (frozen, as MiniTorch): vec[i] holds example
 * i's ntokens x dims floats, token-major. */
typedef struct sst2_vectors {
    float **vec;
    int n, dims;
    int64_t tokens, unknown; /* token counts, for the log: how many had no GloVe vector */
} sst2_vectors;
bool sst2_embed(const sst2_set *set, int limit, const glove *g, sst2_vectors *out, char *err,
                size_t errlen);
void sst2_vectors_free(sst2_vectors *v);

/* Packs examples idx[0..b) into x (b,D,L) floats, zero-padded, and their labels into y (b,).
 * Sentences longer than L are cut at L. */
void sst2_pack(const sst2_set *set, const sst2_vectors *v, const int *idx, int b, int len,
               float *x, float *y);

/* One training step on examples idx[0..b): pads to `len` (0: the batch's longest sentence).
 * Writes the mean loss and the count of correct predictions (p > 0.5). With sh (NULL: one
 * process) idx is this rank's shard, len must be the global batch's (padding changes the max
 * over time), and the loss, count and gradients are the whole global batch's (dist.h). */
mt_status sentiment_train_step(sentiment_model *m, mt_optim *opt, mt_ctx *scratch,
                               const sst2_set *set, const sst2_vectors *v, const int *idx, int b,
                               int len, const tr_shard *sh, float *loss, int *correct);
/* Correct predictions over the first n examples of set in eval mode, in chunks; -1 on error.
 * confusion (2x2, rows: true label, columns: predicted; NULL: not wanted) gains the counts. */
int64_t sentiment_evaluate(sentiment_model *m, mt_ctx *scratch, const sst2_set *set,
                           const sst2_vectors *v, int n, int len, int chunk, int64_t *confusion);

#endif
