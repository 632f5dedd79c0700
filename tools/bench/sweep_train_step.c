/* The train-step sweep: a whole training step of ./train's two MiniTorch networks, timed as the
 * trainer runs it, because every op being fast alone does not make the step a user waits for fast.
 * The step is the trainer's own (tools/train: mnist_train_step, sentiment_train_step), not a copy:
 * reset the scratch context, zero the gradients, copy the host batch in, forward, loss, backward,
 * SGD (lr 0.01), read the loss and the predictions back.
 *
 * A case's input shape names the network: (B,1,H,W) is the MNIST net (MiniTorch's initial
 * weights, one-hot NLL), (B,D,L) the SST-2 CNN with D-dimensional word vectors, 100 filters of
 * widths 3/4/5, every sentence L tokens long (BCE). Inputs are fixed pseudo-random numbers: images
 * in [0,1), word vectors in [-1,1), labels i mod classes.
 *
 * The check: after the timing (whose steps moved the weights), the weights go back to their
 * initial values and one step runs from a fixed dropout seed; its loss, every parameter's gradient
 * and every parameter after the update are compared with the naive backend's. The reference also
 * records the bits of three consecutive losses from those weights on every CPU backend, in the
 * report's check column, so a speed change that moves any bit of a loss shows there, and the
 * runs at different --threads can be compared. */
#include "bench.h"
#include "mnist_model.h"
#include "sentiment_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_INIT_SEED 20240611u    /* the weights: the same on every backend */
#define TS_DROPOUT_SEED 0xd0d0u   /* the checked step's dropout masks */
#define TS_LR 0.01f               /* ./train's SGD rate for both networks */
#define TS_FILTERS 100            /* MiniTorch's SST-2 CNN */
#define TS_LOSS_STEPS 3           /* losses whose bits the report records */

typedef struct ts_inst {
    const bench_case *c;
    bool mnist;
    int batch;
    mt_ctx *params, *scratch;
    mnist_model mn;
    sentiment_model sa;
    mt_params *list; /* the model's parameters */
    mt_optim opt;
    /* the host batch: images (B,H,W) and labels (MNIST) or a set of B sentences of L tokens with
     * their word vectors (SST-2), as the trainers hold them */
    float *images;
    uint8_t *labels;
    sst2_set set;
    sst2_vectors vec;
    int *idx;
    float *init; /* every parameter's initial values, concatenated */
    int64_t nparams;
    float loss;
} ts_inst;

static bool is_mnist(const bench_case *c) { return c->in[0].ndim == 4; }

/* 2 x multiply-adds of the forward, times 3 for forward + backward (the two backward products of
 * every conv and linear layer); pooling, activations and the loss are left out. */
static double ts_flop(const bench_case *c) {
    const int64_t *d = c->in[0].d;
    if (is_mnist(c)) {
        double hw = (double)d[2] * d[3], flat = 8.0 * (d[2] / 4) * (d[3] / 4);
        double fwd = 2.0 * d[0] * (4 * 1 * 9 * hw + 8 * 4 * 9 * hw + flat * 64 + 64 * 10);
        return 3 * fwd;
    }
    double fwd = 2.0 * d[0] * ((double)TS_FILTERS * d[1] * (3 + 4 + 5) * d[2] + TS_FILTERS);
    return 3 * fwd;
}

static bool ts_case(bench_case *c, bench_shape s) {
    memset(c, 0, sizeof *c);
    char sx[96];
    bench_shape_x(&s, sx, sizeof sx);
    if (s.ndim == 4 && s.d[1] == 1 && s.d[0] >= 1 && s.d[0] <= 4096 && s.d[2] % 4 == 0 &&
        s.d[3] % 4 == 0 && s.d[2] >= 4 && s.d[3] >= 4) {
        snprintf(c->what, sizeof c->what, "MNIST net step");
        snprintf(c->id, sizeof c->id, "train-step/mnist-%s", sx);
    } else if (s.ndim == 3 && s.d[0] >= 1 && s.d[0] <= 4096 && s.d[1] >= 1 && s.d[2] >= 1) {
        snprintf(c->what, sizeof c->what, "SST-2 CNN step");
        snprintf(c->id, sizeof c->id, "train-step/sst2-%s", sx);
    } else {
        fprintf(stderr, "train-step: the input is (B,1,H,W) with H and W divisible by 4 (the MNIST "
                        "net) or (B,D,L) (the SST-2 CNN), B at most 4096\n");
        return false;
    }
    c->in[0] = s;
    c->nin = 1;
    c->backward = true;
    c->work = ts_flop(c);
    return true;
}

static int ts_builtin(bool quick, bench_case *cases, int max) {
    int n = 0;
    if (quick) { /* small, so the naive backend's check is quick too */
        if (n < max) n += ts_case(&cases[n], (bench_shape){4, {2, 1, 8, 8}});
        if (n < max) n += ts_case(&cases[n], (bench_shape){3, {2, 6, 7}});
        return n;
    }
    /* ./train's batches: MNIST 16 images of 28x28; SST-2 10 sentences of 30 GloVe-100 tokens */
    if (n < max) n += ts_case(&cases[n], (bench_shape){4, {16, 1, 28, 28}});
    if (n < max) n += ts_case(&cases[n], (bench_shape){3, {10, 100, 30}});
    return n;
}

/* "SHAPE": (B,1,H,W) or (B,D,L). */
static int ts_parse_line(int ntok, char **tok, bench_case *cases, int max) {
    bench_shape s;
    if (ntok != 1 || bench_shape_parse(tok[0], &s)) {
        fprintf(stderr, "train-step lines are 'SHAPE': Bx1xHxW (the MNIST net) or BxDxL (the SST-2 "
                        "CNN)\n");
        return -1;
    }
    if (max < 1) return 0;
    return ts_case(&cases[0], s) ? 1 : -1;
}

static bool ts_applies(const bench_case *c, const bench_impl *impl) {
    (void)c;
    return impl->kind == IMPL_BACKEND; /* PyTorch is timed by its own process */
}

static void ts_release(void *p) {
    ts_inst *m = p;
    if (!m) return;
    mt_optim_free(&m->opt);
    mnist_model_free(&m->mn);
    sentiment_model_free(&m->sa);
    sst2_vectors_free(&m->vec);
    free(m->set.items);
    free(m->idx);
    free(m->images);
    free(m->labels);
    free(m->init);
    mt_ctx_free(m->scratch);
    mt_ctx_free(m->params);
    free(m);
}

/* The host batch, from the case's seed. */
static int ts_make_batch(ts_inst *m) {
    const int64_t *d = m->c->in[0].d;
    int b = m->batch;
    uint64_t seed = bench_input_seed(m->c, 0);
    if (m->mnist) {
        int64_t n = (int64_t)b * d[2] * d[3];
        m->images = malloc((size_t)n * sizeof *m->images);
        m->labels = malloc((size_t)b);
        if (!m->images || !m->labels) return -1;
        bench_fill(m->images, n, seed);
        for (int64_t i = 0; i < n; i++) m->images[i] = 0.5f * (m->images[i] + 1.0f); /* exact */
        for (int i = 0; i < b; i++) m->labels[i] = (uint8_t)(i % MNIST_CLASSES);
        return 0;
    }
    int dims = (int)d[1], len = (int)d[2];
    m->set.items = calloc((size_t)b, sizeof *m->set.items);
    m->set.n = b;
    m->set.max_tokens = len;
    m->idx = malloc((size_t)b * sizeof *m->idx);
    m->vec.vec = calloc((size_t)b, sizeof *m->vec.vec);
    m->vec.n = b;
    m->vec.dims = dims;
    if (!m->set.items || !m->idx || !m->vec.vec) return -1;
    for (int i = 0; i < b; i++) {
        m->set.items[i].ntokens = len; /* sst2_pack reads the count and label, not the words */
        m->set.items[i].label = i % 2;
        m->idx[i] = i;
        m->vec.vec[i] = malloc((size_t)len * dims * sizeof(float)); /* (L, D) */
        if (!m->vec.vec[i]) return -1;
        bench_fill(m->vec.vec[i], (int64_t)len * dims, seed + (uint64_t)i);
    }
    return 0;
}

/* One training step exactly as ./train runs it. */
static mt_status ts_step(ts_inst *m) {
    int correct;
    if (m->mnist)
        return mnist_train_step(&m->mn, &m->opt, m->scratch, m->images, m->labels, m->batch, NULL,
                                &m->loss, &correct);
    return sentiment_train_step(&m->sa, &m->opt, m->scratch, &m->set, &m->vec, m->idx, m->batch,
                                (int)m->c->in[0].d[2], NULL, &m->loss, &correct);
}

static ts_inst *ts_new(const bench_case *c, const mt_backend *backend, char *err, size_t errlen) {
    ts_inst *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->c = c;
    m->mnist = is_mnist(c);
    m->batch = (int)c->in[0].d[0];
    m->params = mt_ctx_new(backend);
    m->scratch = mt_ctx_new(backend);
    mt_rng rng;
    mt_rng_seed(&rng, TS_INIT_SEED);
    mt_status s = MT_ERR_OOM;
    if (m->params && m->scratch) {
        if (m->mnist) {
            s = mnist_model_init(&m->mn, m->params, MNIST_NET_MINITORCH, (int)c->in[0].d[2],
                                 (int)c->in[0].d[3], true, &rng);
            m->list = &m->mn.params;
        } else {
            s = sentiment_model_init(&m->sa, m->params, (int)c->in[0].d[1], TS_FILTERS, true, &rng);
            m->list = &m->sa.params;
        }
    }
    if (s == MT_OK) s = mt_optim_sgd(&m->opt, m->params, m->list, TS_LR, 0.0f, 0.0f);
    if (s != MT_OK) {
        snprintf(err, errlen, "building the model on %s: %s", mt_backend_name(backend),
                 mt_last_error());
        ts_release(m);
        return NULL;
    }
    for (int i = 0; i < m->list->count; i++) m->nparams += mt_numel(m->list->items[i]);
    m->init = malloc((size_t)m->nparams * sizeof *m->init);
    if (!m->init || ts_make_batch(m) != 0) {
        snprintf(err, errlen, "out of memory for the batch");
        ts_release(m);
        return NULL;
    }
    int64_t at = 0;
    for (int i = 0; i < m->list->count && s == MT_OK; i++) {
        s = mt_to_host(m->list->items[i], m->init + at);
        at += mt_numel(m->list->items[i]);
    }
    if (s != MT_OK) {
        snprintf(err, errlen, "reading the initial weights: %s", mt_last_error());
        ts_release(m);
        return NULL;
    }
    return m;
}

static void *ts_setup(const bench_case *c, const bench_impl *impl, char *err, size_t errlen) {
    ts_inst *m = ts_new(c, impl->backend, err, errlen);
    if (m && ts_step(m) != MT_OK) { /* warm-up: the arenas reach their size */
        snprintf(err, errlen, "%s on %s: %s", c->what, impl->name, mt_last_error());
        ts_release(m);
        return NULL;
    }
    return m;
}

static int ts_run(void *p, char *err, size_t errlen) {
    ts_inst *m = p;
    if (ts_step(m) == MT_OK) return 0;
    snprintf(err, errlen, "%s: %s", m->c->what, mt_last_error());
    return -1;
}

/* Restores the initial weights and reseeds dropout, then runs `steps` steps; losses[i] gets step
 * i's loss; grads and params (nparams each; NULL: not wanted) what the last step left. */
static mt_status ts_checked_steps(ts_inst *m, int steps, float *losses, float *grads,
                                  float *params) {
    mt_status s = MT_OK;
    int64_t at = 0;
    for (int i = 0; i < m->list->count && s == MT_OK; i++) {
        s = mt_copy_from_host(m->list->items[i], m->init + at);
        at += mt_numel(m->list->items[i]);
    }
    mt_ctx_seed(m->scratch, TS_DROPOUT_SEED);
    for (int k = 0; k < steps && s == MT_OK; k++)
        if ((s = ts_step(m)) == MT_OK) losses[k] = m->loss;
    at = 0;
    for (int i = 0; i < m->list->count && s == MT_OK; i++) {
        mt_tensor *t = m->list->items[i];
        if (grads) s = t->grad ? mt_to_host(t->grad, grads + at) : MT_ERR_STATE;
        if (params && s == MT_OK) s = mt_to_host(t, params + at);
        at += mt_numel(t);
    }
    return s;
}

/* loss (1,), the gradients and the parameters after the update (P,): P floats each. */
static int ts_collect(ts_inst *m, bench_output *outs, char *err, size_t errlen) {
    static const char *const names[3] = {"loss", "grads", "params"};
    for (int k = 0; k < 3; k++) {
        outs[k].name = names[k];
        outs[k].shape = (bench_shape){1, {k == 0 ? 1 : m->nparams}};
        outs[k].data = malloc((size_t)outs[k].shape.d[0] * sizeof(float));
        if (!outs[k].data) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (ts_checked_steps(m, 1, outs[0].data, outs[1].data, outs[2].data) != MT_OK) {
        snprintf(err, errlen, "the checked step: %s", mt_last_error());
        return -1;
    }
    return 3;
}

static int ts_outputs(void *p, bench_output *outs, char *err, size_t errlen) {
    return ts_collect(p, outs, err, errlen);
}

/* Appends "NAME 0x........,..." (the bits of TS_LOSS_STEPS losses from the initial weights) for
 * every CPU backend this machine runs. */
static void ts_loss_bits(const bench_case *c, char *note, size_t len) {
    for (int b = 0; b < mt_backend_count(); b++) {
        const mt_backend *be = mt_backend_at(b);
        mt_backend_kind kind = mt_backend_get_kind(be);
        char why[200], err[200];
        if ((kind != MT_BACKEND_REFERENCE && kind != MT_BACKEND_CPU) ||
            !mt_backend_available(be, why, sizeof why))
            continue;
        ts_inst *m = ts_new(c, be, err, sizeof err);
        float losses[TS_LOSS_STEPS];
        size_t used = strlen(note);
        const char *sep = note[used - 1] == ':' ? " " : "; ";
        if (!m || ts_checked_steps(m, TS_LOSS_STEPS, losses, NULL, NULL) != MT_OK) {
            snprintf(note + used, len - used, "%s%s: failed", sep, mt_backend_name(be));
        } else {
            used += (size_t)snprintf(note + used, len - used, "%s%s", sep, mt_backend_name(be));
            for (int k = 0; k < TS_LOSS_STEPS && used < len; k++) {
                uint32_t bits;
                memcpy(&bits, &losses[k], sizeof bits);
                used += (size_t)snprintf(note + used, len - used, "%s0x%08x", k ? "," : " ", bits);
            }
        }
        ts_release(m);
    }
}

static int ts_reference(const bench_case *c, double budget, bench_reference *ref, char *err,
                        size_t errlen) {
    (void)budget; /* one step of these networks is cheap even on the naive backend */
    ts_inst *m = ts_new(c, mt_backend_naive(), err, errlen);
    if (!m) return -1;
    bench_output outs[3];
    memset(outs, 0, sizeof outs);
    int n = ts_collect(m, outs, err, errlen);
    for (int k = 0; k < 3; k++) {
        if (n == 3) {
            bench_region *g = &ref->regions[ref->count++];
            g->output = k;
            g->ndim = 1;
            g->lo[0] = 0;
            g->hi[0] = outs[k].shape.d[0];
            g->ref = outs[k].data;
        } else {
            free(outs[k].data);
        }
    }
    ts_release(m);
    if (n != 3) return -1;
    /* every element is covered; the note is how the report shows what the check was and the bits */
    ref->full = false;
    snprintf(ref->note, sizeof ref->note, "loss, %lld gradients and parameters after one step "
             "from the same weights; bits of %d losses:", (long long)outs[1].shape.d[0],
             TS_LOSS_STEPS);
    ts_loss_bits(c, ref->note, sizeof ref->note);
    return 0;
}

static double ts_naive_work(const bench_case *c) { return c->work; }

const bench_sweep bench_sweep_train_step = {
    .name = "train-step",
    .rate_unit = "GFLOP/s",
    .work_note = "the step's convolution and linear FLOP (2 per multiply-add, forward and the two "
                 "backward products); pooling, activations, loss and SGD are not counted but are "
                 "timed",
    .builtin = ts_builtin,
    .parse_line = ts_parse_line,
    .applies = ts_applies,
    .setup = ts_setup,
    .run = ts_run,
    .outputs = ts_outputs,
    .release = ts_release,
    .reference = ts_reference,
    .naive_work = ts_naive_work,
};
