/* Pieces the trainers share: contexts and optimizer from the options, shuffling. */
#ifndef MT_TRAIN_COMMON_H
#define MT_TRAIN_COMMON_H

#include "minitorch.h"
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

/* Fisher-Yates over idx[0..n) with rng. */
void tr_shuffle(int *idx, int n, mt_rng *rng);

#endif
