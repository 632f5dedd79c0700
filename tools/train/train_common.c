#include "train_common.h"

#include "util.h"

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

void tr_shuffle(int *idx, int n, mt_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(mt_rng_next(rng) % (uint64_t)(i + 1));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
