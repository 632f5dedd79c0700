/* ./train mnist | fashion-mnist: MiniTorch's network, or LeNet with --model lenet (mnist_model.h),
 * on the IDX files.
 *
 * Default: every training image (or --limit N), shuffled each epoch, pixels scaled to [0,1],
 * accuracy on the whole test set after each epoch; one log line per epoch.
 * --preset minitorch: the course's run (project/run_mnist_multiclass.py): training images 0..4999
 * in order, raw 0..255 pixels, RParam initialisation, batches whose start leaves <= BATCH images
 * skipped (312 batches), and every 5th batch the line `Epoch E loss L valid acc C/16` where L sums
 * the batch losses since the previous line and C counts hits on training images 10000..10015. */
#include "idx.h"
#include "mnist_model.h"
#include "report.h"
#include "train_common.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const FILES[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* dir/name, or dir/name.gz when only that exists; false when neither does. */
static bool find_idx(const char *dir, const char *name, char *path, size_t n) {
    snprintf(path, n, "%s/%s", dir, name);
    if (tr_file_exists(path)) return true;
    snprintf(path, n, "%s/%s.gz", dir, name);
    return tr_file_exists(path);
}

/* Images (n,h,w) as floats: scaled to [0,1], or raw 0..255 for MiniTorch's preset. */
static float *to_float(const idx_dataset *d, int64_t first, int64_t n, bool raw) {
    size_t px = (size_t)d->rows * d->cols;
    float *out = malloc((size_t)n * px * sizeof *out);
    if (!out) return NULL;
    const uint8_t *src = d->images + (size_t)first * px;
    float scale = raw ? 1.0f : 1.0f / 255.0f;
    for (size_t i = 0; i < (size_t)n * px; i++) out[i] = (float)src[i] * scale;
    return out;
}

/* The labels file beside an images file: MNIST's names differ in "images"/"labels" and
 * "idx3"/"idx1" (train-images-idx3-ubyte, train-labels-idx1-ubyte). */
static bool labels_beside(const char *images, char *out, size_t n) {
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *at = strstr(base, "images");
    if (!at || strlen(images) >= n) return false;
    snprintf(out, n, "%s", images);
    memcpy(out + (at - images), "labels", 6);
    char *idx3 = strstr(out + (base - images), "idx3");
    if (idx3) idx3[3] = '1';
    return true;
}

/* --model NAME (NULL: minitorch) into net; false with a message for an unknown name (main.c
 * checks it too; this guards callers that fill train_opts themselves, like the tests). */
static bool pick_net(const train_opts *o, mnist_net *net, char *err, size_t errlen) {
    *net = MNIST_NET_MINITORCH;
    if (!o->model || mnist_net_parse(o->model, net)) return true;
    return tr_err(err, errlen, "--model %s: expected minitorch or lenet", o->model);
}

/* Whether net takes path's h x w images, with a message naming the file when not. */
static bool check_size(mnist_net net, const char *path, int64_t h, int64_t w, char *err,
                       size_t errlen) {
    char why[160];
    if (mnist_net_fits(net, h, w, why, sizeof why)) return true;
    return tr_err(err, errlen, "%s: images are %lldx%lld; %s", path, (long long)h, (long long)w,
                  why);
}

/* --eval FILE: the checkpoint's parameters on FILE's images, in eval mode (no dropout). */
static bool eval_mnist(const train_opts *o, char *err, size_t errlen) {
    mnist_net net;
    if (!pick_net(o, &net, err, errlen)) return false;
    char labels[1200];
    if (!labels_beside(o->eval_file, labels, sizeof labels))
        return tr_err(err, errlen, "--eval %s: expected an images IDX file with \"images\" in "
                      "its name (its labels file has \"labels\" there instead)", o->eval_file);
    if (!tr_file_exists(labels))
        return tr_err(err, errlen, "--eval %s: no labels file %s beside it", o->eval_file, labels);
    idx_dataset set = {0};
    mnist_model model = {0};
    tr_session sess = {0};
    float *x = NULL, *logp = NULL;
    bool ok = false;
    if (!idx_load_dataset(o->eval_file, labels, MNIST_CLASSES, &set, err, errlen) ||
        !check_size(net, o->eval_file, set.rows, set.cols, err, errlen) ||
        !tr_session_open(&sess, o, err, errlen))
        goto done;
    if (mnist_model_init(&model, sess.params, net, (int)set.rows, (int)set.cols, false,
                         &sess.rng) != MT_OK) {
        tr_err(err, errlen, "model: %s", mt_last_error());
        goto done;
    }
    if (!tr_checkpoint_load_params(o, mnist_net_name(net), &model.params, err, errlen))
        goto done;
    /* pixels as the default run scales them, raw for a --preset minitorch checkpoint */
    int h = (int)set.rows, w = (int)set.cols, chunk = 500;
    x = to_float(&set, 0, set.n, o->preset_minitorch);
    logp = malloc(sizeof(float) * (size_t)chunk * MNIST_CLASSES);
    int64_t counts[MNIST_CLASSES * MNIST_CLASSES] = {0};
    int pred[500];
    if (!x || !logp) {
        tr_err(err, errlen, "out of memory for %lld images", (long long)set.n);
        goto done;
    }
    bool was = mt_set_grad_enabled(false);
    for (int64_t at = 0; at < set.n; at += chunk) {
        int b = (int)(set.n - at < chunk ? set.n - at : chunk);
        mt_ctx_reset(sess.scratch);
        mt_tensor *in = mt_from_array(sess.scratch, MT_SHAPE(b, 1, h, w),
                                      x + (size_t)at * h * w);                    /* (b,1,h,w) */
        mt_tensor *out = mnist_model_forward(sess.scratch, &model, in, false);    /* (b,10) */
        if (!out || mt_to_host(out, logp) != MT_OK) {
            mt_set_grad_enabled(was);
            tr_err(err, errlen, "evaluation: %s", mt_last_error());
            goto done;
        }
        argmax_rows(logp, b, MNIST_CLASSES, pred);
        for (int i = 0; i < b; i++) counts[set.labels[at + i] * MNIST_CLASSES + pred[i]]++;
    }
    mt_set_grad_enabled(was);
    static const char *const names[MNIST_CLASSES] = {"0", "1", "2", "3", "4",
                                                     "5", "6", "7", "8", "9"};
    char title[1400];
    snprintf(title, sizeof title, "%s/%s on %s (%lld images)", o->checkpoint_dir,
             TR_CHECKPOINT_FILE, o->eval_file, (long long)set.n);
    tr_print_confusion(title, counts, MNIST_CLASSES, names);
    ok = true;
done:
    free(x);
    free(logp);
    mnist_model_free(&model);
    tr_session_close(&sess);
    idx_dataset_free(&set);
    return ok;
}

bool train_mnist(const train_opts *o, char *err, size_t errlen) {
    if (o->eval_file) return eval_mnist(o, err, errlen);
    mnist_net net;
    if (!pick_net(o, &net, err, errlen)) return false;
    char dir[1024], paths[4][1100];
    if (o->data_dir) snprintf(dir, sizeof dir, "%s", o->data_dir);
    else snprintf(dir, sizeof dir, "%s/data/cache/%s", o->root, o->task);
    for (int i = 0; i < 4; i++)
        if (!find_idx(dir, FILES[i], paths[i], sizeof paths[i]))
            return tr_err(err, errlen, "%s data not found: no %s[.gz] in %s\n  fetch it with: "
                          "data/fetch.sh %s",
                          o->task, FILES[i], dir, o->task);

    idx_dataset train = {0}, test = {0};
    float *xtrain = NULL, *xval = NULL;
    int *order = NULL;
    uint8_t *ybatch = NULL;
    float *xbatch = NULL;
    mnist_model model = {0};
    tr_session sess = {0};
    tr_report rep = {0};
    bool ok = false;
    if (!idx_load_dataset(paths[0], paths[1], MNIST_CLASSES, &train, err, errlen) ||
        !idx_load_dataset(paths[2], paths[3], MNIST_CLASSES, &test, err, errlen))
        goto done;
    if (train.rows != test.rows || train.cols != test.cols) {
        tr_err(err, errlen, "%s: images are %lldx%lld, the test set's %lldx%lld; the network "
               "needs equal sizes", paths[0], (long long)train.rows, (long long)train.cols,
               (long long)test.rows, (long long)test.cols);
        goto done;
    }
    if (!check_size(net, paths[0], train.rows, train.cols, err, errlen)) goto done;

    /* which images train and which validate */
    bool preset = o->preset_minitorch;
    int64_t ntrain = preset ? 5000 : train.n;
    if (o->limit > 0 && o->limit < ntrain) ntrain = o->limit;
    if (ntrain > train.n) ntrain = train.n;
    const idx_dataset *vset = preset ? &train : &test;
    int64_t vfirst = preset ? 10000 : 0, nval = preset ? 16 : test.n;
    if (vfirst + nval > vset->n) {
        tr_err(err, errlen, "%s: %lld images, the preset validates on images 10000..10015",
               paths[0], (long long)vset->n);
        goto done;
    }
    xtrain = to_float(&train, 0, ntrain, preset);
    xval = to_float(vset, vfirst, nval, preset);
    const uint8_t *yval = vset->labels + vfirst;
    int h = (int)train.rows, w = (int)train.cols, B = o->batch;
    order = malloc((size_t)ntrain * sizeof *order);
    xbatch = malloc((size_t)B * h * w * sizeof *xbatch);
    ybatch = malloc((size_t)B);
    if (!xtrain || !xval || !order || !xbatch || !ybatch) {
        tr_err(err, errlen, "out of memory for %lld images", (long long)ntrain);
        goto done;
    }
    for (int64_t i = 0; i < ntrain; i++) order[i] = (int)i;

    if (!tr_session_open(&sess, o, err, errlen)) goto done;
    if (mnist_model_init(&model, sess.params, net, h, w, preset, &sess.rng) != MT_OK) {
        tr_err(err, errlen, "model: %s", mt_last_error());
        goto done;
    }
    if (!tr_session_optim(&sess, o, &model.params, err, errlen)) goto done;
    int first = 1;
    if (o->resume) {
        int done_epochs = 0;
        if (!tr_checkpoint_resume(&sess, o, mnist_net_name(net), &model.params, order,
                                  (int)ntrain, &done_epochs, NULL, err, errlen))
            goto done;
        first = done_epochs + 1;
    }
    if (!tr_dist_start(o, &model.params, err, errlen)) goto done;
    bool root = tr_dist_is_root(o->dist);
    rep.quiet = !root;
    if (!report_open(&rep, o->out_dir, o->root, o->task,
                     "epoch,batches,train_loss,train_acc,valid_correct,valid_total,valid_acc,"
                     "train_seconds,examples_per_second,eval_seconds",
                     err, errlen))
        goto done;
    report_log(&rep, "# %s, %s network: %lld training images, %lld validation images (%s), "
               "backend %s, %s lr %g, batch %d, seed %llu%s", o->task, mnist_net_name(net),
               (long long)ntrain, (long long)nval,
               preset ? "training images 10000..10015" : "the test set", o->backend, o->optimizer,
               (double)o->lr, B, (unsigned long long)o->seed,
               preset ? ", preset minitorch" : "");
    if (o->dist)
        report_log(&rep, "# data-parallel: %d ranks, each global batch of %d split into %d shards",
                   o->dist->size, B, o->dist->size);
    if (o->resume)
        report_log(&rep, "# resumed from %s/%s after epoch %d", o->checkpoint_dir,
                   TR_CHECKPOINT_FILE, first - 1);

    for (int epoch = first; epoch <= o->epochs; epoch++) {
        if (!preset) tr_shuffle(order, (int)ntrain, &sess.rng);
        double t0 = tr_now(), eval_secs = 0, epoch_loss = 0, log_loss = 0;
        int64_t seen = 0, hits = 0;
        int batches = 0;
        for (int64_t start = 0, bnum = 0; start < ntrain; start += B, bnum++) {
            /* MiniTorch skips the batches that would start within BATCH of the end */
            if (preset && ntrain - start <= B) continue;
            int b = (int)(ntrain - start < B ? ntrain - start : B);
            /* this rank's shard of the global batch (all of it for one process); an empty
             * shard steps on a stand-in example and contributes zeros (dist.h) */
            tr_shard sh = {o->dist, 0, 0, b, false};
            tr_dist_shard(o->dist, b, &sh.first, &sh.count);
            sh.empty = sh.count == 0;
            int nb = sh.empty ? 1 : sh.count;
            for (int i = 0; i < nb; i++) {
                int k = order[start + (sh.empty ? 0 : sh.first + i)];
                memcpy(xbatch + (size_t)i * h * w, xtrain + (size_t)k * h * w,
                       (size_t)h * w * sizeof *xbatch);
                ybatch[i] = train.labels[k];
            }
            float loss;
            int correct;
            mt_status st = mnist_train_step(&model, &sess.opt, sess.scratch, xbatch, ybatch, nb,
                                            o->dist ? &sh : NULL, &loss, &correct);
            if (st != MT_OK) {
                tr_err(err, errlen, "epoch %d batch %lld: %s", epoch, (long long)bnum,
                       tr_step_error(&sh));
                goto done;
            }
            if (!isfinite(loss)) {
                tr_err(err, errlen, "epoch %d batch %lld: the loss is %g; stopping (try a "
                       "smaller --lr)", epoch, (long long)bnum, (double)loss);
                goto done;
            }
            epoch_loss += loss;
            log_loss += loss;
            hits += correct;
            seen += b;
            batches++;
            report_progress(&rep, epoch, start + b, ntrain, tr_now() - t0 - eval_secs);
            if (preset && bnum % 5 == 0 && root) {
                double te = tr_now();
                int64_t vc = mnist_evaluate(&model, sess.scratch, xval, yval, nval, (int)nval);
                eval_secs += tr_now() - te;
                if (vc < 0) {
                    tr_err(err, errlen, "validation: %s", mt_last_error());
                    goto done;
                }
                report_log(&rep, "Epoch %d loss %.16g valid acc %lld/%lld", epoch, log_loss,
                           (long long)vc, (long long)nval);
                log_loss = 0;
            }
        }
        double train_secs = tr_now() - t0 - eval_secs;
        if (!tr_dist_epoch_end(o, &model.params, epoch, err, errlen)) goto done;
        /* only rank 0 reports: the others go on to the next epoch's first collective */
        if (!root) continue;
        double te = tr_now();
        int64_t vc = mnist_evaluate(&model, sess.scratch, xval, yval, nval, 500);
        eval_secs += tr_now() - te;
        if (vc < 0) {
            tr_err(err, errlen, "validation: %s", mt_last_error());
            goto done;
        }
        double mean_loss = batches ? epoch_loss / batches : 0.0;
        double vacc = (double)vc / (double)nval, tacc = seen ? (double)hits / (double)seen : 0;
        if (preset)
            report_log(&rep, "# epoch %d: mean batch loss %.4f, train acc %.2f%%, valid acc "
                       "%lld/%lld, %.2f s/epoch (%.0f examples/s)", epoch, mean_loss, 100 * tacc,
                       (long long)vc, (long long)nval, train_secs, (double)seen / train_secs);
        else
            report_log(&rep, "Epoch %d loss %.6f valid acc %lld/%lld (%.2f%%) train acc %.2f%% "
                       "time %.2f s/epoch %.0f examples/s (eval %.2f s)", epoch, mean_loss,
                       (long long)vc, (long long)nval, 100 * vacc, 100 * tacc, train_secs,
                       (double)seen / train_secs, eval_secs);
        /* %.17g: the exact double, so a resumed run can be compared with an uninterrupted one */
        report_csv(&rep, "%d,%d,%.17g,%.6f,%lld,%lld,%.6f,%.3f,%.1f,%.3f", epoch, batches,
                   mean_loss, tacc, (long long)vc, (long long)nval, vacc, train_secs,
                   (double)seen / train_secs, eval_secs);
        report_epoch(&rep, mean_loss, vacc);
        tr_dist_log_epoch(o->dist, &rep, batches, train_secs);
        if (o->checkpoint_dir && !tr_checkpoint_save(&sess, o, mnist_net_name(net),
                                                     &model.params, epoch, 0, order,
                                                     (int)ntrain, err, errlen))
            goto done;
    }
    if (!report_chart(&rep, o->task, err, errlen)) goto done;
    report_log(&rep, "# wrote log.txt, curves.csv and chart.svg in %s", rep.dir);
    ok = true;
done:
    report_close(&rep);
    mnist_model_free(&model);
    tr_session_close(&sess);
    free(order);
    free(xbatch);
    free(ybatch);
    free(xtrain);
    free(xval);
    idx_dataset_free(&train);
    idx_dataset_free(&test);
    return ok;
}
