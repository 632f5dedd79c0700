/* ./train sst2: MiniTorch's sentiment CNN (sentiment_model.h) on GLUE SST-2 with frozen GloVe
 * 100-d vectors (data/cache/glove100.bin; words without one: glove.h).
 *
 * The TSVs are looked for in --data DIR, $MT_SST2_DIR, data/sst2, then ../shared/data/sst2.
 * Default: every training sentence (or --limit N), shuffled each epoch, each batch padded to its
 * longest sentence; accuracy on all dev sentences after each epoch.
 * --preset minitorch: the course's run (project/run_sentiment.py): the first 450 training and the
 * first 100 dev sentences, in order, every sentence padded to the longest of the two whole files,
 * RParam initialisation, and its three log lines per epoch (loss = sum of the batch losses).
 * --checkpoint / --resume / --eval as for mnist (train_common.h); --eval scores a labelled TSV. */
#include "glove.h"
#include "report.h"
#include "sentiment_model.h"
#include "sst2.h"
#include "train_common.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool find_sst2(const train_opts *o, char *dir, size_t n) {
    const char *env = getenv("MT_SST2_DIR");
    char cands[4][1024];
    int k = 0;
    if (o->data_dir) snprintf(cands[k++], sizeof cands[0], "%s", o->data_dir);
    if (env && *env) snprintf(cands[k++], sizeof cands[0], "%s", env);
    snprintf(cands[k++], sizeof cands[0], "%s/data/sst2", o->root);
    snprintf(cands[k++], sizeof cands[0], "%s/../shared/data/sst2", o->root);
    /* --data names the one place to look: falling through would hide a typo */
    int tries = o->data_dir ? 1 : k;
    for (int i = 0; i < tries; i++) {
        char t[1100], d[1100];
        if (tr_path(t, sizeof t, cands[i], "train.tsv") && tr_path(d, sizeof d, cands[i], "dev.tsv") &&
            tr_file_exists(t) && tr_file_exists(d) && strlen(cands[i]) < n) {
            memcpy(dir, cands[i], strlen(cands[i]) + 1);
            return true;
        }
    }
    return false;
}

/* The GloVe cache's path into gpath; false with the fetch command when it is missing. */
static bool find_glove(const train_opts *o, char *gpath, size_t n, char *err, size_t errlen) {
    snprintf(gpath, n, "%s/data/cache/glove100.bin", o->root);
    if (tr_file_exists(gpath)) return true;
    return tr_err(err, errlen, "word vectors not found: no %s\n  fetch them with: "
                  "data/fetch.sh glove", gpath);
}

/* The sentiment CNN as the trainer builds it: 100 filters per width over the vectors' dims. */
#define SST2_FILTERS 100
#define SST2_MODEL "sentiment"

/* --eval FILE: the checkpoint's parameters on FILE (a labelled TSV of either column order), in
 * eval mode (no dropout), each chunk of 100 sentences padded to its longest, as the trainer
 * validates. */
static bool eval_sst2(const train_opts *o, char *err, size_t errlen) {
    char gpath[1100];
    sst2_set set = {0};
    glove g = {0};
    sst2_vectors v = {0};
    sentiment_model model = {0};
    tr_session sess = {0};
    bool ok = false;
    int64_t counts[4] = {0};
    if (!find_glove(o, gpath, sizeof gpath, err, errlen) ||
        !sst2_read(o->eval_file, &set, err, errlen) || !glove_load(gpath, &g, err, errlen) ||
        !sst2_embed(&set, 0, &g, &v, err, errlen) || !tr_session_open(&sess, o, err, errlen))
        goto done;
    if (sentiment_model_init(&model, sess.params, g.dims, SST2_FILTERS, false, &sess.rng) !=
        MT_OK) {
        tr_err(err, errlen, "model: %s", mt_last_error());
        goto done;
    }
    if (!tr_checkpoint_load_params(o, SST2_MODEL, &model.params, err, errlen)) goto done;
    if (sentiment_evaluate(&model, sess.scratch, &set, &v, set.n, 0, 100, counts) < 0) {
        tr_err(err, errlen, "evaluation: %s", mt_last_error());
        goto done;
    }
    static const char *const names[2] = {"negative", "positive"};
    char title[1400];
    snprintf(title, sizeof title, "%s/%s on %s (%d sentences)", o->checkpoint_dir,
             TR_CHECKPOINT_FILE, o->eval_file, set.n);
    tr_print_confusion(title, counts, 2, names);
    ok = true;
done:
    sentiment_model_free(&model);
    tr_session_close(&sess);
    sst2_vectors_free(&v);
    glove_free(&g);
    sst2_free(&set);
    return ok;
}

bool train_sst2(const train_opts *o, char *err, size_t errlen) {
    if (o->eval_file) return eval_sst2(o, err, errlen);
    char dir[1024], path[1100], gpath[1100];
    if (!find_sst2(o, dir, sizeof dir))
        return tr_err(err, errlen,
                      "SST-2 data not found (train.tsv and dev.tsv in %s)\n  check with: "
                      "data/fetch.sh sst2 (it says where it looks)",
                      o->data_dir ? o->data_dir : "$MT_SST2_DIR, data/sst2 or ../shared/data/sst2");
    if (!find_glove(o, gpath, sizeof gpath, err, errlen)) return false;

    sst2_set train = {0}, dev = {0};
    glove g = {0};
    sst2_vectors vtrain = {0}, vdev = {0};
    sentiment_model model = {0};
    tr_session sess = {0};
    tr_report rep = {0};
    int *order = NULL;
    bool ok = false;
    snprintf(path, sizeof path, "%s/train.tsv", dir);
    if (!sst2_read(path, &train, err, errlen)) goto done;
    snprintf(path, sizeof path, "%s/dev.tsv", dir);
    if (!sst2_read(path, &dev, err, errlen)) goto done;
    double tg = tr_now();
    if (!glove_load(gpath, &g, err, errlen)) goto done;

    bool preset = o->preset_minitorch;
    int ntrain = preset ? 450 : train.n, ndev = preset ? 100 : dev.n;
    if (o->limit > 0 && o->limit < ntrain) ntrain = (int)o->limit;
    if (ntrain > train.n) ntrain = train.n;
    if (ndev > dev.n) ndev = dev.n;
    /* MiniTorch pads every sentence to the longest in both whole files */
    int pad = preset ? (train.max_tokens > dev.max_tokens ? train.max_tokens : dev.max_tokens) : 0;
    if (!sst2_embed(&train, ntrain, &g, &vtrain, err, errlen) ||
        !sst2_embed(&dev, ndev, &g, &vdev, err, errlen))
        goto done;
    double embed_secs = tr_now() - tg;

    if (!tr_session_open(&sess, o, err, errlen)) goto done;
    if (sentiment_model_init(&model, sess.params, g.dims, SST2_FILTERS, preset, &sess.rng) !=
        MT_OK) {
        tr_err(err, errlen, "model: %s", mt_last_error());
        goto done;
    }
    if (!tr_session_optim(&sess, o, &model.params, err, errlen)) goto done;
    order = malloc((size_t)ntrain * sizeof *order);
    if (!order) {
        tr_err(err, errlen, "out of memory");
        goto done;
    }
    for (int i = 0; i < ntrain; i++) order[i] = i;
    /* the best dev count so far: the log's "Best Valid accuracy" must survive a resume */
    int64_t best = 0;
    int first = 1;
    if (o->resume) {
        int done_epochs = 0;
        if (!tr_checkpoint_resume(&sess, o, SST2_MODEL, &model.params, order, ntrain,
                                  &done_epochs, &best, err, errlen))
            goto done;
        first = done_epochs + 1;
    }
    if (!tr_dist_start(o, &model.params, err, errlen)) goto done;
    bool root = tr_dist_is_root(o->dist);
    rep.quiet = !root;
    if (!report_open(&rep, o->out_dir, o->root, o->task,
                     "epoch,batches,train_loss_sum,train_loss_mean,train_acc,valid_correct,"
                     "valid_total,valid_acc,best_valid_acc,train_seconds,examples_per_second",
                     err, errlen))
        goto done;
    int64_t unk = vtrain.unknown + vdev.unknown, tok = vtrain.tokens + vdev.tokens;
    report_log(&rep, "# sst2 from %s: %d training, %d dev sentences; %u GloVe words, %lld of "
               "%lld tokens (%.1f%%) without a vector get a hashed random one (%.2f s to load); "
               "backend %s, %s lr %g, batch %d, seed %llu%s", dir, ntrain, ndev,
               (unsigned)g.count, (long long)unk, (long long)tok,
               tok ? 100.0 * (double)unk / (double)tok : 0.0, embed_secs, o->backend,
               o->optimizer, (double)o->lr, o->batch, (unsigned long long)o->seed,
               preset ? ", preset minitorch" : "");
    if (o->dist)
        report_log(&rep, "# data-parallel: %d ranks, each global batch of %d split into %d shards",
                   o->dist->size, o->batch, o->dist->size);
    if (o->resume)
        report_log(&rep, "# resumed from %s/%s after epoch %d", o->checkpoint_dir,
                   TR_CHECKPOINT_FILE, first - 1);
    glove_free(&g); /* the vectors are copied out: 140 MB less for the rest of the run */

    int B = o->batch;
    for (int epoch = first; epoch <= o->epochs; epoch++) {
        if (!preset) tr_shuffle(order, ntrain, &sess.rng);
        double t0 = tr_now(), loss_sum = 0;
        int64_t hits = 0, seen = 0;
        int batches = 0;
        for (int start = 0; start < ntrain; start += B) {
            int b = ntrain - start < B ? ntrain - start : B;
            float loss;
            int correct;
            /* this rank's shard (dist.h), padded to the whole batch's longest sentence: a
             * shorter padding would change the max over time and so the one-process result */
            tr_shard sh = {o->dist, 0, 0, b, false};
            tr_dist_shard(o->dist, b, &sh.first, &sh.count);
            sh.empty = sh.count == 0;
            int len = pad > 0 ? pad : sst2_batch_len(&train, order + start, b);
            mt_status st = sentiment_train_step(
                &model, &sess.opt, sess.scratch, &train, &vtrain,
                order + start + (sh.empty ? 0 : sh.first), sh.empty ? 1 : sh.count, len,
                o->dist ? &sh : NULL, &loss, &correct);
            if (st != MT_OK) {
                tr_err(err, errlen, "epoch %d batch %d: %s", epoch, batches, tr_step_error(&sh));
                goto done;
            }
            if (!isfinite(loss)) {
                tr_err(err, errlen, "epoch %d batch %d: the loss is %g; stopping (try a "
                       "smaller --lr)", epoch, batches, (double)loss);
                goto done;
            }
            loss_sum += loss;
            hits += correct;
            seen += b;
            batches++;
            report_progress(&rep, epoch, start + b, ntrain, tr_now() - t0);
        }
        double secs = tr_now() - t0;
        if (!tr_dist_epoch_end(o, &model.params, epoch, err, errlen)) goto done;
        /* only rank 0 reports: the others go on to the next epoch's first collective */
        if (!root) continue;
        int64_t vc = sentiment_evaluate(&model, sess.scratch, &dev, &vdev, ndev, pad, 100,
                                        NULL);
        if (vc < 0) {
            tr_err(err, errlen, "validation: %s", mt_last_error());
            goto done;
        }
        if (vc > best) best = vc;
        double vacc = (double)vc / ndev, tacc = (double)hits / (double)seen;
        double best_acc = (double)best / ndev;
        if (preset) {
            report_log(&rep, "Epoch %d, loss %.16g, train accuracy: %.2f%%", epoch, loss_sum,
                       100 * tacc);
        } else {
            report_log(&rep, "Epoch %d, loss %.6f (mean of %d batches), train accuracy: %.2f%%",
                       epoch, loss_sum / batches, batches, 100 * tacc);
        }
        report_log(&rep, "Validation accuracy: %.2f%%", 100 * vacc);
        report_log(&rep, "Best Valid accuracy: %.2f%%", 100 * best_acc);
        report_log(&rep, "# epoch %d: %.2f s/epoch, %.0f examples/s, valid %lld/%d", epoch, secs,
                   (double)seen / secs, (long long)vc, ndev);
        /* %.17g: the exact double, so a resumed run can be compared with an uninterrupted one */
        report_csv(&rep, "%d,%d,%.17g,%.17g,%.6f,%lld,%d,%.6f,%.6f,%.3f,%.1f", epoch, batches,
                   loss_sum, loss_sum / batches, tacc, (long long)vc, ndev, vacc, best_acc, secs,
                   (double)seen / secs);
        report_epoch(&rep, loss_sum / batches, vacc);
        tr_dist_log_epoch(o->dist, &rep, batches, secs);
        if (o->checkpoint_dir && !tr_checkpoint_save(&sess, o, SST2_MODEL, &model.params, epoch,
                                                     best, order, ntrain, err, errlen))
            goto done;
    }
    if (!report_chart(&rep, "sst2", err, errlen)) goto done;
    report_log(&rep, "# wrote log.txt, curves.csv and chart.svg in %s", rep.dir);
    ok = true;
done:
    report_close(&rep);
    sentiment_model_free(&model);
    tr_session_close(&sess);
    free(order);
    sst2_vectors_free(&vtrain);
    sst2_vectors_free(&vdev);
    glove_free(&g);
    sst2_free(&train);
    sst2_free(&dev);
    return ok;
}
