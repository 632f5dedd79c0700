#include "train_common.h"

#include "mnist_model.h"
#include "report.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool tr_session_open(tr_session *s, const train_opts *o, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    const mt_backend *b = mt_backend_by_name(o->backend);
    if (!b) return tr_err(err, errlen, "%s", mt_last_error());
    s->params = mt_ctx_new(b);
    s->state = mt_ctx_new(b);
    s->scratch = mt_ctx_new(b);
    if (!s->params || !s->state || !s->scratch) {
        tr_session_close(s);
        return tr_err(err, errlen, "cannot make contexts: %s", mt_last_error());
    }
    mt_rng_seed(&s->rng, o->seed);
    /* dropout draws its masks from the scratch context's generator: seeding it makes runs
     * repeatable (reset keeps the generator's state, so masks differ step to step) */
    mt_ctx_seed(s->scratch, o->seed ^ 0x5eed5eed5eedull);
    return true;
}

bool tr_session_optim(tr_session *s, const train_opts *o, mt_params *list, char *err,
                      size_t errlen) {
    mt_status st = strcmp(o->optimizer, "adam") == 0
                       ? mt_optim_adam(&s->opt, s->state, list, o->lr, 0.9f, 0.999f, 1e-8f, 0.0f)
                       : mt_optim_sgd(&s->opt, s->state, list, o->lr, 0.0f, 0.0f);
    if (st != MT_OK) return tr_err(err, errlen, "optimizer: %s", mt_last_error());
    s->opt_ready = true;
    return true;
}

void tr_session_close(tr_session *s) {
    if (s->opt_ready) mt_optim_free(&s->opt);
    if (s->scratch) mt_ctx_free(s->scratch);
    if (s->state) mt_ctx_free(s->state);
    if (s->params) mt_ctx_free(s->params);
    memset(s, 0, sizeof *s);
}

bool tr_dist_start(const train_opts *o, mt_params *list, char *err, size_t errlen) {
    /* every rank made (or loaded) the same parameters from the same seed; rank 0's copy makes
     * sure of it */
    if (o->dist && !tr_dist_bcast_params(o->dist, list))
        return tr_err(err, errlen, "%s", o->dist->err);
    return true;
}

bool tr_dist_epoch_end(const train_opts *o, mt_params *list, int epoch, char *err,
                       size_t errlen) {
    if (!o->dist) return true;
    char when[48];
    snprintf(when, sizeof when, "at the end of epoch %d", epoch);
    if (!tr_dist_check_params(o->dist, list, when))
        return tr_err(err, errlen, "%s", o->dist->err);
    return true;
}

void tr_dist_log_epoch(tr_dist *d, tr_report *rep, int steps, double secs) {
    if (!d) return;
    report_log(rep, "# data-parallel: %d ranks, gradient sums %.3f s of the epoch's %.3f s "
               "(%.1f us per step, %lld bytes summed per step)", d->size, d->sum_secs, secs,
               steps ? 1e6 * d->sum_secs / steps : 0.0, (long long)d->sum_bytes);
    d->sum_secs = 0;
}

void tr_shuffle(int *idx, int n, mt_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(mt_rng_next(rng) % (uint64_t)(i + 1));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* ------------------------------------------------------------------ checkpoints */
enum { CFG_SEED, CFG_BATCH, CFG_PRESET, CFG_COUNT };
static const char *const CFG_NAMES[CFG_COUNT] = {"--seed", "--batch", "--preset minitorch"};

bool tr_checkpoint_path(char *out, size_t n, const char *dir) {
    return tr_path(out, n, dir, TR_CHECKPOINT_FILE);
}

/* The model's name, one character per value: the format has no strings besides names, and the
 * text keeps a refusal readable for any pair of models. */
#define TR_MODEL_ARRAY "model"
#define TR_MODEL_MAX 64
/* The checkpoint's lists, pointing at the session's generators and the given buffers. */
static void describe(tr_session *s, mt_params *list, int64_t *epoch, int64_t *cfg,
                     int64_t *order64, int n, int64_t *model64, int model_len, int64_t *best,
                     mt_ckpt_rng *rngs, mt_ckpt_ints *ints, mt_checkpoint *c) {
    rngs[0] = (mt_ckpt_rng){"data", &s->rng};
    rngs[1] = (mt_ckpt_rng){"dropout", mt_ctx_rng(s->scratch)};
    ints[0] = (mt_ckpt_ints){"epoch", epoch, 1};
    ints[1] = (mt_ckpt_ints){"config", cfg, CFG_COUNT};
    ints[2] = (mt_ckpt_ints){"order", order64, n};
    ints[3] = (mt_ckpt_ints){TR_MODEL_ARRAY, model64, model_len};
    ints[4] = (mt_ckpt_ints){"best", best, 1};
    *c = (mt_checkpoint){list, &s->opt, rngs, 2, ints, 5};
}

static int model_code(const char *model, int64_t *out) {
    int n = 0;
    for (; model[n] && n < TR_MODEL_MAX; n++) out[n] = (unsigned char)model[n];
    return n;
}

/* Refuses a checkpoint another model wrote, before its parameters are matched: their count or
 * shapes would differ too, but "fc1.weight has shape ..." does not tell the user to change
 * --model. A file without the array (none written before it existed) is left to that match. */
static bool check_model(const char *path, const train_opts *o, const char *model,
                        const char *flag, char *err, size_t errlen) {
    int64_t code[TR_MODEL_MAX], count = 0;
    if (mt_checkpoint_read_ints(path, TR_MODEL_ARRAY, code, TR_MODEL_MAX, &count) != MT_OK)
        return tr_err(err, errlen, "%s: %s", flag, mt_last_error());
    if (count < 0) return true;
    char got[TR_MODEL_MAX + 1];
    int n = count < TR_MODEL_MAX ? (int)count : TR_MODEL_MAX;
    for (int i = 0; i < n; i++)
        got[i] = code[i] > 31 && code[i] < 127 ? (char)code[i] : '?';
    got[n] = 0;
    if (count == (int64_t)strlen(model) && strcmp(got, model) == 0) return true;
    /* --model can fix it only when both are image networks */
    mnist_net net;
    bool hint = (!strcmp(o->task, "mnist") || !strcmp(o->task, "fashion-mnist")) &&
                mnist_net_parse(got, &net);
    return tr_err(err, errlen, "%s: %s holds a checkpoint of the %s model, this run builds the "
                  "%s model%s%s", flag, path, got, model,
                  hint ? "; pick the checkpoint's with --model " : "", hint ? got : "");
}

static void config_of(const train_opts *o, int64_t *cfg) {
    cfg[CFG_SEED] = (int64_t)o->seed;
    cfg[CFG_BATCH] = o->batch;
    cfg[CFG_PRESET] = o->preset_minitorch;
}

bool tr_checkpoint_save(tr_session *s, const train_opts *o, const char *model, mt_params *list,
                        int epoch, int64_t best, const int *order, int n, char *err,
                        size_t errlen) {
    char path[1200];
    if (!tr_checkpoint_path(path, sizeof path, o->checkpoint_dir))
        return tr_err(err, errlen, "--checkpoint %s: path too long", o->checkpoint_dir);
    if (!tr_mkdir_p(o->checkpoint_dir, err, errlen)) return false;
    int64_t *order64 = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!order64) return tr_err(err, errlen, "out of memory saving %s", path);
    for (int i = 0; i < n; i++) order64[i] = order[i];
    int64_t ep = epoch, cfg[CFG_COUNT];
    config_of(o, cfg);
    int64_t model64[TR_MODEL_MAX];
    int model_len = model_code(model, model64);
    mt_ckpt_rng rngs[2];
    mt_ckpt_ints ints[5];
    mt_checkpoint c;
    describe(s, list, &ep, cfg, order64, n, model64, model_len, &best, rngs, ints, &c);
    mt_status st = mt_checkpoint_save(path, &c);
    free(order64);
    if (st != MT_OK) return tr_err(err, errlen, "checkpoint: %s", mt_last_error());
    return true;
}

bool tr_checkpoint_resume(tr_session *s, const train_opts *o, const char *model,
                          mt_params *list, int *order, int n, int *epoch, int64_t *best,
                          char *err, size_t errlen) {
    char path[1200];
    if (!tr_checkpoint_path(path, sizeof path, o->checkpoint_dir))
        return tr_err(err, errlen, "--checkpoint %s: path too long", o->checkpoint_dir);
    if (!check_model(path, o, model, "--resume", err, errlen)) return false;
    int64_t *order64 = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!order64) return tr_err(err, errlen, "out of memory loading %s", path);
    int64_t ep = 0, cfg[CFG_COUNT] = {0}, want[CFG_COUNT];
    config_of(o, want);
    int64_t model64[TR_MODEL_MAX];
    int model_len = model_code(model, model64);
    int64_t best_in = 0;
    mt_ckpt_rng rngs[2];
    mt_ckpt_ints ints[5];
    mt_checkpoint c;
    /* the generators load into copies that the run adopts only once the settings match (the
     * caller stops on an error, so parameters loaded before the check do no harm) */
    describe(s, list, &ep, cfg, order64, n, model64, model_len, &best_in, rngs, ints, &c);
    mt_rng data = s->rng, dropout = *mt_ctx_rng(s->scratch);
    rngs[0].rng = &data;
    rngs[1].rng = &dropout;
    mt_status st = mt_checkpoint_load(path, &c);
    if (st != MT_OK) {
        free(order64);
        if (st == MT_ERR_SHAPE && strstr(mt_last_error(), "integer array order holds"))
            return tr_err(err, errlen, "--resume: %s (a different --limit or data set?)",
                          mt_last_error());
        return tr_err(err, errlen, "--resume: %s", mt_last_error());
    }
    for (int k = 0; k < CFG_COUNT; k++)
        if (cfg[k] != want[k]) {
            free(order64);
            return tr_err(err, errlen, "--resume: %s was written with %s %lld, this run has "
                          "%lld; resume with the same settings", path, CFG_NAMES[k],
                          (long long)cfg[k], (long long)want[k]);
        }
    bool bad = ep < 0 || ep > 1000000;
    for (int i = 0; i < n && !bad; i++) bad = order64[i] < 0 || order64[i] >= n;
    if (!bad)
        for (int i = 0; i < n; i++) order[i] = (int)order64[i];
    free(order64);
    if (bad) return tr_err(err, errlen, "--resume: %s holds an impossible epoch or data order", path);
    s->rng = data;
    *mt_ctx_rng(s->scratch) = dropout;
    *epoch = (int)ep;
    if (best) *best = best_in;
    return true;
}

bool tr_checkpoint_load_params(const train_opts *o, const char *model, mt_params *list,
                               char *err, size_t errlen) {
    const char *dir = o->checkpoint_dir;
    char path[1200];
    if (!tr_checkpoint_path(path, sizeof path, dir))
        return tr_err(err, errlen, "--checkpoint %s: path too long", dir);
    if (!check_model(path, o, model, "--eval", err, errlen)) return false;
    mt_checkpoint c = {list, NULL, NULL, 0, NULL, 0};
    if (mt_checkpoint_load(path, &c) != MT_OK)
        return tr_err(err, errlen, "--eval: %s", mt_last_error());
    return true;
}

void tr_print_confusion(const char *title, const int64_t *counts, int classes,
                        const char *const *class_names) {
    int64_t total = 0, hits = 0;
    for (int t = 0; t < classes; t++)
        for (int p = 0; p < classes; p++) {
            total += counts[t * classes + p];
            if (t == p) hits += counts[t * classes + p];
        }
    printf("%s: accuracy %lld/%lld (%.2f%%)\n", title, (long long)hits, (long long)total,
           total ? 100.0 * (double)hits / (double)total : 0.0);
    /* columns as wide as the longest class name ("positive"), at least 7 */
    int wd = 7;
    for (int c = 0; c < classes; c++)
        if ((int)strlen(class_names[c]) > wd) wd = (int)strlen(class_names[c]);
    printf("confusion matrix (rows: true class, columns: predicted)\n%*s", wd + 1, "");
    for (int p = 0; p < classes; p++) printf(" %*s", wd, class_names[p]);
    printf(" %7s\n", "recall");
    for (int t = 0; t < classes; t++) {
        int64_t row = 0;
        printf("%*s", wd + 1, class_names[t]);
        for (int p = 0; p < classes; p++) {
            printf(" %*lld", wd, (long long)counts[t * classes + p]);
            row += counts[t * classes + p];
        }
        if (row) printf(" %6.2f%%\n", 100.0 * (double)counts[t * classes + t] / (double)row);
        else printf(" %7s\n", "-");
    }
}
