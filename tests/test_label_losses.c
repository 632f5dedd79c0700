/* Cross-entropy and NLL from class labels on every runnable backend: loss and gradient against
 * torch.nn.functional.cross_entropy (float64, printed once and pasted below), large logits,
 * agreement with the one-hot mt_nll_loss and between host and tensor labels, central
 * differences, every error (out-of-range and non-integer labels named), and the same bits for
 * any openmp thread count. */
#include "check.h"
#include "gradcheck.h"
#include "tensor_compare.h"
#include "thread_invariance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* torch.nn.functional.cross_entropy(LOGITS, LABELS) in float64 and its gradient:
 *   x = torch.tensor(LOGITS, dtype=torch.float64, requires_grad=True)
 *   l = F.cross_entropy(x, torch.tensor([2, 0, 3])); l.backward() */
static const float LOGITS[12] = {0.5f, -1.0f, 2.0f, 0.25f, 3.0f, 0.0f, -2.0f, 1.0f,
                                 -0.75f, 1.5f, 0.0f, -3.0f};
static const int64_t LABELS[3] = {2, 0, 3};
static const double TORCH_LOSS = 1.7790646912892827;
static const float TORCH_GRAD[12] = {
    0.05141160842805407f,  0.011471480422040069f, -0.10292248975282306f, 0.04003940090272894f,
    -0.053658497512489335f, 0.013924190171783486f, 0.001884434220738777f, 0.037849873119967084f,
    0.026225789993573435f, 0.2488233675588395f,   0.05551999785207548f,  -0.3305691554044884f};

static mt_tensor *labels_tensor(mt_ctx *ctx, int64_t n, const float *ids) {
    return mt_from_array(ctx, 1, (const int64_t[]){n}, ids);
}

static float item(const mt_tensor *t) {
    float v = NAN;
    if (!t || mt_item(t, &v) != MT_OK) return NAN;
    return v;
}

/* ------------------------------------------------------------------ values */
static void test_against_torch(const mt_backend *be) {
    const char *bn = mt_backend_name(be);
    char what[96];
    mt_ctx *ctx = mt_ctx_new(be);
    mt_tensor *x = mt_from_array(ctx, MT_SHAPE(3, 4), LOGITS);
    mt_requires_grad(x, true);
    mt_tensor *loss = mt_cross_entropy(ctx, x, LABELS);
    CHECK(loss && loss->ndim == 1 && loss->shape[0] == 1, "%s: the loss is (1,)", bn);
    CHECK_CLOSE(item(loss), TORCH_LOSS, 1e-6);
    CHECK_OK(mt_backward(ctx, loss, NULL));
    snprintf(what, sizeof what, "%s d logits of cross_entropy", bn);
    check_values(x->grad, TORCH_GRAD, 1e-7, what);

    /* the tensor form: same bits for the loss and the gradient */
    mt_tensor *g_host = mt_contiguous(ctx, x->grad);
    mt_zero_grad(x);
    mt_tensor *lt = labels_tensor(ctx, 3, (const float[]){2, 0, 3});
    mt_tensor *loss_t = mt_cross_entropy_tensor(ctx, x, lt);
    CHECK_OK(mt_backward(ctx, loss_t, NULL));
    snprintf(what, sizeof what, "%s cross_entropy_tensor vs host labels", bn);
    compare_bits(what, loss_t, loss);
    snprintf(what, sizeof what, "%s gradient, tensor vs host labels", bn);
    compare_bits(what, x->grad, g_host);

    /* NLL from labels is the one-hot mt_nll_loss of the same log-probs, bit for bit */
    mt_tensor *lp = mt_logsoftmax(ctx, x, 1);
    float onehot[12] = {0};
    for (int b = 0; b < 3; b++) onehot[b * 4 + LABELS[b]] = 1.0f;
    mt_tensor *want = mt_nll_loss(ctx, lp, mt_from_array(ctx, MT_SHAPE(3, 4), onehot));
    snprintf(what, sizeof what, "%s nll_loss_labels vs one-hot nll_loss", bn);
    compare_bits(what, mt_nll_loss_labels(ctx, lp, LABELS), want);
    snprintf(what, sizeof what, "%s nll_loss_labels_tensor vs one-hot nll_loss", bn);
    compare_bits(what, mt_nll_loss_labels_tensor(ctx, lp, lt), want);
    snprintf(what, sizeof what, "%s cross_entropy vs nll of logsoftmax", bn);
    compare_bits(what, loss, want);

    /* a permuted (non-contiguous) logits tensor and labels read through a stride */
    mt_tensor *xt = mt_transpose(ctx, mt_contiguous(ctx, mt_transpose(ctx, x)));
    mt_tensor *spread = labels_tensor(ctx, 6, (const float[]){2, -1, 0, -1, 3, -1});
    mt_tensor every_other = *spread; /* (3,) with stride 2 */
    every_other.shape[0] = 3;
    every_other.strides[0] = 2;
    CHECK(xt && !mt_is_contiguous(xt), "%s: transposed logits", bn);
    CHECK_CLOSE(item(mt_cross_entropy_tensor(ctx, xt, &every_other)), TORCH_LOSS, 1e-6);

    /* large logits: the log-softmax inside shifts by the row maximum */
    mt_tensor *big = mt_from_array(ctx, MT_SHAPE(2, 2), (const float[]){1000, 1000, 1001, -1000});
    /* row 0: log 2; row 1: 2001 (torch: 1000.84657359028) */
    CHECK_CLOSE(item(mt_cross_entropy(ctx, big, (const int64_t[]){0, 1})), 1000.84657359028, 1e-3);
    CHECK_CLOSE(item(mt_cross_entropy(ctx, big, (const int64_t[]){1, 0})), log(2.0) / 2, 1e-6);
    mt_ctx_free(ctx);
}

static mt_tensor *ce_fn(mt_ctx *ctx, mt_tensor **in, void *user) {
    return mt_cross_entropy(ctx, in[0], user);
}

static void test_gradcheck(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    mt_rng rng;
    mt_rng_seed(&rng, 3);
    mt_tensor *x = make_tensor(ctx, MT_SHAPE(5, 7), -3, 3, &rng, 1);
    mt_requires_grad(x, true);
    int64_t labels[5] = {6, 0, 3, 3, 1};
    CHECK(gradcheck("cross_entropy", ce_fn, &x, 1, labels, 4, NULL) == 0,
          "%s: cross_entropy gradient matches central differences", mt_backend_name(be));
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ errors */
static void test_errors(const mt_backend *be) {
    mt_ctx *ctx = mt_ctx_new(be);
    mt_tensor *x = mt_zeros(ctx, MT_SHAPE(3, 10));
    mt_clear_error();
    CHECK_ERROR(mt_cross_entropy(ctx, x, (const int64_t[]){1, 10, 2}), MT_ERR_ARG,
                "mt_cross_entropy: labels[1] = 10 is not a class of the 10 in the scores "
                "(expected 0..9)");
    CHECK_ERROR(mt_nll_loss_labels(ctx, x, (const int64_t[]){-1, 0, 0}), MT_ERR_ARG,
                "mt_nll_loss_labels: labels[0] = -1 is not a class");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, labels_tensor(ctx, 3, (const float[]){0, 9, 10})),
                MT_ERR_ARG, "mt_cross_entropy_tensor: labels[2] = 10 is not a class id in 0..9");
    CHECK_ERROR(mt_nll_loss_labels_tensor(ctx, x,
                                          labels_tensor(ctx, 3, (const float[]){0, 2.5f, 1})),
                MT_ERR_ARG, "labels[1] = 2.5 is not a class id");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, labels_tensor(ctx, 3, (const float[]){NAN, 0, 1})),
                MT_ERR_ARG, "labels[0] = nan is not a class id");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, labels_tensor(ctx, 3, (const float[]){0, -1, 1})),
                MT_ERR_ARG, "labels[1] = -1 is not a class id");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, labels_tensor(ctx, 2, (const float[]){0, 1})),
                MT_ERR_SHAPE, "expected labels (3,) for scores (3, 10), got (2,)");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, mt_zeros(ctx, MT_SHAPE(3, 1))), MT_ERR_SHAPE,
                "expected labels (3,) for scores (3, 10), got (3, 1)");
    CHECK_ERROR(mt_cross_entropy(ctx, mt_zeros(ctx, MT_SHAPE(30)), (const int64_t[]){0}),
                MT_ERR_SHAPE, "mt_cross_entropy: expected logits (B, C), got (30,)");
    CHECK_ERROR(mt_nll_loss_labels(ctx, mt_zeros(ctx, MT_SHAPE(1, 3, 10)), (const int64_t[]){0}),
                MT_ERR_SHAPE, "expected logprobs (B, C), got (1, 3, 10)");
    CHECK_ERROR(mt_cross_entropy(ctx, x, NULL), MT_ERR_ARG, "mt_cross_entropy: labels is NULL");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, NULL), MT_ERR_ARG, "labels is NULL");
    CHECK_ERROR(mt_cross_entropy(ctx, NULL, LABELS), MT_ERR_ARG, "logits is NULL");
    CHECK_ERROR(mt_nll_loss_labels(NULL, x, LABELS), MT_ERR_ARG, "ctx is NULL");
    mt_ctx *other = mt_ctx_new(be);
    mt_tensor *old = mt_zeros(other, MT_SHAPE(3, 10));
    mt_tensor *old_labels = labels_tensor(other, 3, (const float[]){0, 1, 2});
    mt_ctx_reset(other);
    CHECK_ERROR(mt_cross_entropy(ctx, old, LABELS), MT_ERR_STATE,
                "mt_cross_entropy: a tensor of shape (3, 10) was made before its context");
    CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, old_labels), MT_ERR_STATE,
                "a tensor of shape (3,) was made before its context");
    mt_ctx_free(other);
    if (be != mt_backend_naive()) {
        mt_ctx *nctx = mt_ctx_new(mt_backend_naive());
        mt_tensor *elsewhere = labels_tensor(nctx, 3, (const float[]){0, 1, 2});
        CHECK_ERROR(mt_cross_entropy_tensor(ctx, x, elsewhere),
                    MT_ERR_BACKEND, "inputs are on different backends");
        mt_ctx_free(nctx);
    }
    mt_ctx_free(ctx);
}

/* ------------------------------------------------------------------ openmp thread counts */
/* cross-entropy of (300, 1001) permuted logits and its gradient. */
static int loss_and_grad(mt_ctx *ctx, void *user, mt_tensor **outs) {
    (void)user;
    enum { B = 300, C = 1001 };
    mt_rng rng;
    mt_rng_seed(&rng, 21);
    mt_tensor *x = make_tensor(ctx, MT_SHAPE(B, C), -8, 8, &rng, 1);
    mt_requires_grad(x, true);
    int64_t labels[B];
    for (int b = 0; b < B; b++) labels[b] = (int64_t)(mt_rng_next(&rng) % C);
    mt_tensor *loss = mt_cross_entropy(ctx, x, labels);
    if (!loss || mt_backward(ctx, loss, NULL) != MT_OK) return -1;
    outs[0] = loss;
    outs[1] = x->grad;
    return 2;
}

int main(void) {
    const mt_backend *backends[CHECK_MAX_BACKENDS];
    int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
    for (int i = 0; i < nb; i++) {
        test_against_torch(backends[i]);
        test_gradcheck(backends[i]);
        test_errors(backends[i]);
    }
    check_thread_invariance("openmp cross_entropy and d logits", loss_and_grad, NULL);
    return check_summary("test_label_losses");
}
