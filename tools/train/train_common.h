/* Pieces the trainers share: contexts and optimizer from the options, shuffling. */
#ifndef MT_TRAIN_COMMON_H
#define MT_TRAIN_COMMON_H

#include "dist.h"
#include "minitorch.h"
#include "report.h"
#include "train.h"

typedef struct tr_session {
    mt_ctx *params, *state, *scratch; /* parameters, optimizer state, per-step temporaries */
    mt_optim opt;
    bool opt_ready;
    mt_rng rng;
} tr_session;

/* Makes the three contexts on o->backend and seeds rng and the scratch context from o->seed. */
bool tr_session_open(tr_session *s, const train_opts *o, char *err, size_t errlen);
/* Makes o->optimizer (sgd: plain, no momentum; adam: betas 0.9, 0.999) over list. */
bool tr_session_optim(tr_session *s, const train_opts *o, mt_params *list, char *err,
                      size_t errlen);
void tr_session_close(tr_session *s);

/* Data-parallel runs (o->dist; both do nothing for one process and return true):
 * tr_dist_start gives every rank rank 0's parameters, after the model is made or resumed;
 * tr_dist_epoch_end compares the ranks' parameter hashes at the end of epoch `epoch`.
 * False with the message in err. */
bool tr_dist_start(const train_opts *o, mt_params *list, char *err, size_t errlen);
bool tr_dist_epoch_end(const train_opts *o, mt_params *list, int epoch, char *err,
                       size_t errlen);

/* A data-parallel epoch's line in rank 0's log: the seconds its gradient sums took (waiting for
 * the slowest rank included) out of secs, per step, and the bytes each step sums; then starts
 * the next epoch's count. Nothing for one process. */
void tr_dist_log_epoch(tr_dist *d, tr_report *rep, int steps, double secs);

/* Fisher-Yates over idx[0..n) with rng. */
void tr_shuffle(int *idx, int n, mt_rng *rng);

/* Checkpoints: <dir>/checkpoint.mtckpt (mt_checkpoint_save: atomic, checksummed) holds the
 * parameters, the optimizer, both generators (data order, dropout), the epochs done, the data
 * order (shuffled in place each epoch, so it cannot be re-derived from the seed alone) and the
 * settings a resumed run must share to be the same run (seed, batch, preset). */
#define TR_CHECKPOINT_FILE "checkpoint.mtckpt"
/* The checkpoint's path in dir into out (false when it does not fit). */
bool tr_checkpoint_path(char *out, size_t n, const char *dir);
/* Writes the state after `epoch` epochs (makes dir and its parents first). model names the
 * network (minitorch, lenet, sentiment, toy): resume and load refuse another model's file by
 * name before they match parameters. best: the best validation count so far, for a trainer
 * that logs it (sst2; the others pass 0), so a resumed run logs what an uninterrupted one does. */
bool tr_checkpoint_save(tr_session *s, const train_opts *o, const char *model, mt_params *list,
                        int epoch, int64_t best, const int *order, int n, char *err,
                        size_t errlen);
/* Restores what tr_checkpoint_save wrote into list, the optimizer, the generators and order[0..n);
 * *epoch is the epochs it had done and *best (unless NULL) the best count saved. A file from
 * another model, optimizer, data size or setting is an error saying what differs. */
bool tr_checkpoint_resume(tr_session *s, const train_opts *o, const char *model,
                          mt_params *list, int *order, int n, int *epoch, int64_t *best,
                          char *err, size_t errlen);
/* Loads only the parameters of o->checkpoint_dir's checkpoint (for --eval). */
bool tr_checkpoint_load_params(const train_opts *o, const char *model, mt_params *list,
                               char *err, size_t errlen);
/* Prints "accuracy C/N (P%)" and the confusion matrix (rows: true class, columns: predicted)
 * to stdout; counts is classes x classes. */
void tr_print_confusion(const char *title, const int64_t *counts, int classes,
                        const char *const *class_names);

#endif
