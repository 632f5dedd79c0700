/* ./train toy --dataset NAME: MiniTorch's toy sets (tests/support/toy_datasets.h) with its tensor
 * network (project/run_tensor.py): linear 2->10, relu, linear 10->10, relu, linear 10->1, sigmoid,
 * BCE, full batch (--batch is ignored: every step sees all 50 points, as MiniTorch). Logs
 * MiniTorch's `Epoch E loss L correct C` every 10 epochs. */
#include "report.h"
#include "toy_datasets.h"
#include "train_common.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TOY_POINTS 50
#define TOY_HIDDEN 10

typedef struct toy_net {
    mt_linear l1, l2, l3;
} toy_net;

static mt_tensor *toy_forward(mt_ctx *ctx, const toy_net *n, mt_tensor *x) { /* x (N,2) */
    mt_tensor *h = mt_relu(ctx, mt_linear_forward(ctx, &n->l1, x));  /* (N,H) */
    h = mt_relu(ctx, mt_linear_forward(ctx, &n->l2, h));              /* (N,H) */
    mt_tensor *p = mt_sigmoid(ctx, mt_linear_forward(ctx, &n->l3, h)); /* (N,1) */
    return p ? mt_view(ctx, p, MT_SHAPE(p->shape[0])) : NULL;         /* (N,) */
}

bool train_toy(const train_opts *o, char *err, size_t errlen) {
    toy_kind kind = toy_from_name(o->dataset);
    if (kind == TOY_COUNT)
        return tr_err(err, errlen, "unknown toy dataset \"%s\"", o->dataset);
    tr_session sess;
    tr_report rep = {0};
    mt_params list = {0};
    bool ok = false;
    if (!tr_session_open(&sess, o, err, errlen)) return false;
    toy_data d;
    toy_net net;
    if (toy_make(sess.params, kind, TOY_POINTS, &sess.rng, &d) != MT_OK ||
        mt_linear_init(&net.l1, sess.params, &list, "l1", 2, TOY_HIDDEN, &sess.rng) != MT_OK ||
        mt_linear_init(&net.l2, sess.params, &list, "l2", TOY_HIDDEN, TOY_HIDDEN, &sess.rng) !=
            MT_OK ||
        mt_linear_init(&net.l3, sess.params, &list, "l3", TOY_HIDDEN, 1, &sess.rng) != MT_OK) {
        tr_err(err, errlen, "toy: %s", mt_last_error());
        goto done;
    }
    if (!tr_session_optim(&sess, o, &list, err, errlen)) goto done;
    int first = 1;
    if (o->resume) {
        int done_epochs = 0;
        if (!tr_checkpoint_resume(&sess, o, "toy", &list, NULL, 0, &done_epochs, NULL, err,
                                  errlen))
            goto done;
        first = done_epochs + 1;
    }
    if (!tr_dist_start(o, &list, err, errlen)) goto done;
    bool root = tr_dist_is_root(o->dist);
    rep.quiet = !root;
    if (!report_open(&rep, o->out_dir, o->root, "toy", "epoch,loss,correct,total,seconds", err,
                     errlen))
        goto done;
    report_log(&rep, "# toy %s: %d points, backend %s, %s lr %g, seed %llu", toy_name(kind), d.n,
               o->backend, o->optimizer, (double)o->lr, (unsigned long long)o->seed);
    if (o->dist)
        report_log(&rep, "# data-parallel: %d ranks, the %d points split into %d shards",
                   o->dist->size, d.n, o->dist->size);
    if (o->resume)
        report_log(&rep, "# resumed from %s/%s after epoch %d", o->checkpoint_dir,
                   TR_CHECKPOINT_FILE, first - 1);
    float x[TOY_POINTS * 2], y[TOY_POINTS], p[TOY_POINTS];
    if (mt_to_host(d.x, x) != MT_OK || mt_to_host(d.y, y) != MT_OK) {
        tr_err(err, errlen, "toy: %s", mt_last_error());
        goto done;
    }
    /* the full batch is every point; a data-parallel rank takes its contiguous shard of them */
    tr_shard sh = {o->dist, 0, 0, d.n, false};
    tr_dist_shard(o->dist, d.n, &sh.first, &sh.count);
    sh.empty = sh.count == 0;
    int lo = sh.empty ? 0 : sh.first, nb = sh.empty ? 1 : sh.count;
    double t0 = tr_now();
    for (int epoch = first; epoch <= o->epochs; epoch++) {
        mt_ctx_reset(sess.scratch);
        mt_params_zero_grad(&list);
        mt_tensor *xs = mt_from_array(sess.scratch, MT_SHAPE(nb, 2), x + 2 * lo); /* (nb,2) */
        mt_tensor *ys = mt_from_array(sess.scratch, MT_SHAPE(nb), y + lo);        /* (nb,) */
        mt_tensor *prob = toy_forward(sess.scratch, &net, xs);                    /* (nb,) */
        mt_tensor *loss = mt_bce_loss(sess.scratch, prob, ys);                    /* (1,) */
        float lv = NAN;
        int correct = 0;
        mt_status st = prob ? mt_to_host(prob, p) : mt_last_status();
        for (int i = 0; i < nb && st == MT_OK; i++)
            correct += (p[i] > 0.5f) == (y[lo + i] == 1.0f);
        if (st == MT_OK)
            st = tr_backward_step(sess.scratch, loss, &sess.opt, o->dist ? &sh : NULL, &lv,
                                  &correct);
        if (st != MT_OK) {
            tr_err(err, errlen, "epoch %d: %s", epoch, tr_step_error(&sh));
            goto done;
        }
        if (!isfinite(lv)) {
            tr_err(err, errlen, "epoch %d: the loss is %g; stopping", epoch, (double)lv);
            goto done;
        }
        if (o->dist && epoch == o->epochs &&
            !tr_dist_check_params(o->dist, &list, "at the end of the run")) {
            tr_err(err, errlen, "%s", o->dist->err);
            goto done;
        }
        if (!root) continue;
        if (epoch % 10 == 0 || epoch == o->epochs) {
            /* MiniTorch logs the summed loss: mean BCE times the points */
            report_log(&rep, "Epoch %d loss %.6f correct %d", epoch, (double)lv * d.n, correct);
            report_csv(&rep, "%d,%.6f,%d,%d,%.4f", epoch, (double)lv * d.n, correct, d.n,
                       tr_now() - t0);
        }
        if (o->checkpoint_dir &&
            !tr_checkpoint_save(&sess, o, "toy", &list, epoch, 0, NULL, 0, err, errlen))
            goto done;
    }
    report_log(&rep, "# %.3f s for %d epochs; wrote %s/log.txt and %s/curves.csv", tr_now() - t0,
               o->epochs, rep.dir, rep.dir);
    ok = true;
done:
    report_close(&rep);
    mt_params_free(&list);
    tr_session_close(&sess);
    return ok;
}
