/* Optimizers update parameters in place through the parameters' own backend kernels, so the same
 * code runs on every backend. Temporaries go to the caller's scratch context; optimizer state
 * (momentum, Adam moments) lives in a long-lived state context and is updated in place. The
 * formulas are torch.optim's, spelled out in the header. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A parameter or its gradient from before a reset of their context: the update would write
 * into memory that newer tensors own. Checked here too (the kernels check as well) so that the
 * message names the parameter. */
static mt_status check_param_live(const char *fn, const mt_params *list, int i) {
    const mt_tensor *p = list->items[i];
    if (mt_check_live(fn, p) == MT_OK && mt_check_live(fn, p->grad) == MT_OK) return MT_OK;
    char msg[400];
    snprintf(msg, sizeof msg, "%s", mt_last_error());
    return mt_fail(MT_ERR_STATE, "%s (parameter '%s' or its gradient)", msg,
                   list->names && list->names[i] ? list->names[i] : "?");
}

mt_status mt_sgd_step(mt_ctx *scratch, mt_params *list, float lr) {
    if (!scratch) return mt_null_status("mt_sgd_step", "scratch");
    if (!list) return mt_null_status("mt_sgd_step", "list");
    for (int i = 0; i < list->count; i++) {
        mt_tensor *p = list->items[i];
        if (!p || !p->grad) continue; /* a parameter the loss did not reach */
        MT_TRY(check_param_live("mt_sgd_step", list, i));
        mt_tensor *step = mt_apply_zip(scratch, MT_OP_MUL, p->grad,
                                       mt_ctx_cached_scalar(scratch, mt_tensor_backend(p), -lr));
        if (!step) return mt_last_status();
        MT_TRY(mt_apply_zip_into(p, MT_OP_ADD, p, step));
    }
    return MT_OK;
}

/* ------------------------------------------------------------------ construction */
/* Written as !(in range) so that NaN is rejected too. */
static mt_status check_nonneg(const char *fn, const char *what, float x) {
    if (!(x >= 0.0f))
        return mt_fail(MT_ERR_ARG, "%s: %s must be >= 0, got %g", fn, what, (double)x);
    return MT_OK;
}
static mt_status check_beta(const char *fn, const char *what, float x) {
    if (!(x >= 0.0f && x < 1.0f))
        return mt_fail(MT_ERR_ARG, "%s: %s must be in [0, 1), got %g", fn, what, (double)x);
    return MT_OK;
}

static mt_status init_common(mt_optim *o, const char *fn, mt_ctx *state_ctx, mt_params *params,
                             float lr, float weight_decay) {
    if (!o) return mt_null_status(fn, "optimizer");
    if (!state_ctx) return mt_null_status(fn, "state_ctx");
    if (!params) return mt_null_status(fn, "params");
    MT_TRY(check_nonneg(fn, "lr", lr));
    MT_TRY(check_nonneg(fn, "weight_decay", weight_decay));
    *o = (mt_optim){.params = params, .state_ctx = state_ctx, .lr = lr,
                    .weight_decay = weight_decay};
    return MT_OK;
}

mt_status mt_optim_sgd(mt_optim *o, mt_ctx *state_ctx, mt_params *params, float lr,
                       float momentum, float weight_decay) {
    const char *fn = "mt_optim_sgd";
    MT_TRY(check_nonneg(fn, "momentum", momentum));
    MT_TRY(init_common(o, fn, state_ctx, params, lr, weight_decay));
    o->kind = MT_OPTIM_SGD;
    o->momentum = momentum;
    return MT_OK;
}

mt_status mt_optim_adam(mt_optim *o, mt_ctx *state_ctx, mt_params *params, float lr, float beta1,
                        float beta2, float eps, float weight_decay) {
    const char *fn = "mt_optim_adam";
    MT_TRY(check_beta(fn, "beta1", beta1));
    MT_TRY(check_beta(fn, "beta2", beta2));
    MT_TRY(check_nonneg(fn, "eps", eps));
    MT_TRY(init_common(o, fn, state_ctx, params, lr, weight_decay));
    o->kind = MT_OPTIM_ADAM;
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    return MT_OK;
}

void mt_optim_free(mt_optim *o) {
    if (!o) return;
    free(o->state1);
    free(o->state2);
    *o = (mt_optim){0};
}

/* ------------------------------------------------------------------ state */
/* Grows the per-parameter state arrays to cover parameters appended since the last step. */
static mt_status cover_params(mt_optim *o) {
    int n = o->params->count;
    if (n <= o->nstate) return MT_OK;
    mt_tensor **s1 = realloc(o->state1, sizeof(*s1) * (size_t)n);
    if (!s1) return mt_fail(MT_ERR_OOM, "mt_optim_step: out of memory");
    o->state1 = s1;
    mt_tensor **s2 = realloc(o->state2, sizeof(*s2) * (size_t)n);
    if (!s2) return mt_fail(MT_ERR_OOM, "mt_optim_step: out of memory");
    o->state2 = s2;
    for (int i = o->nstate; i < n; i++) s1[i] = s2[i] = NULL;
    o->nstate = n;
    return MT_OK;
}

/* The state slot *slot for parameter p: made (zeros, p's shape and backend) on first use. */
static mt_tensor *state_for(mt_optim *o, mt_tensor **slot, const mt_tensor *p, mt_tensor *zero) {
    if (*slot) return *slot;
    mt_tensor *s = mt_tensor_alloc(o->state_ctx, mt_tensor_backend(p), p->ndim, p->shape);
    if (!s || mt_apply_map_into(s, MT_OP_ID, zero) != MT_OK) return NULL;
    return *slot = s;
}

/* ------------------------------------------------------------------ one step */
/* The step's one-element constants on one backend, made once per step (and again only if a later
 * parameter lives on another backend). */
typedef struct step_consts {
    const mt_backend *backend;
    mt_tensor *zero, *weight_decay;
    mt_tensor *momentum, *neg_lr;                                  /* SGD */
    mt_tensor *beta1, *one_minus_beta1, *beta2, *one_minus_beta2; /* Adam */
    mt_tensor *inv_sqrt_bc2, *eps, *neg_step_size;
} step_consts;

static mt_tensor *constant(mt_ctx *scratch, const mt_backend *b, double value) {
    return mt_scalar_on(scratch, b, (float)value);
}

static mt_status make_consts(const mt_optim *o, mt_ctx *scratch, const mt_backend *b,
                             step_consts *c) {
    *c = (step_consts){.backend = b};
    c->zero = constant(scratch, b, 0.0);
    c->weight_decay = constant(scratch, b, o->weight_decay);
    bool ok = c->zero && c->weight_decay;
    if (o->kind == MT_OPTIM_SGD) {
        c->momentum = constant(scratch, b, o->momentum);
        c->neg_lr = constant(scratch, b, -(double)o->lr);
        ok = ok && c->momentum && c->neg_lr;
    } else {
        /* bias corrections in double, as torch computes them on the host */
        double t = (double)o->steps;
        double bc1 = 1.0 - pow((double)o->beta1, t), bc2 = 1.0 - pow((double)o->beta2, t);
        c->beta1 = constant(scratch, b, o->beta1);
        c->one_minus_beta1 = constant(scratch, b, 1.0 - (double)o->beta1);
        c->beta2 = constant(scratch, b, o->beta2);
        c->one_minus_beta2 = constant(scratch, b, 1.0 - (double)o->beta2);
        c->inv_sqrt_bc2 = constant(scratch, b, 1.0 / sqrt(bc2));
        c->eps = constant(scratch, b, o->eps);
        c->neg_step_size = constant(scratch, b, -(double)o->lr / bc1);
        ok = ok && c->beta1 && c->one_minus_beta1 && c->beta2 && c->one_minus_beta2 &&
             c->inv_sqrt_bc2 && c->eps && c->neg_step_size;
    }
    return ok ? MT_OK : mt_last_status();
}

/* g + wd p (L2 weight decay), or the gradient itself when wd is 0. */
static mt_tensor *decayed_grad(const mt_optim *o, mt_ctx *scratch, mt_tensor *p,
                               const step_consts *c) {
    if (o->weight_decay == 0.0f) return p->grad;
    mt_tensor *g = mt_apply_zip(scratch, MT_OP_MUL, p, c->weight_decay);
    if (!g || mt_apply_zip_into(g, MT_OP_ADD, g, p->grad) != MT_OK) return NULL;
    return g;
}

/* v = momentum v + g; p -= lr v  (momentum 0: p -= lr g, no state) */
static mt_status sgd_update(mt_optim *o, mt_ctx *scratch, int i, mt_tensor *p, mt_tensor *g,
                            const step_consts *c) {
    if (o->momentum != 0.0f) {
        mt_tensor *v = state_for(o, &o->state1[i], p, c->zero);
        if (!v) return mt_last_status();
        MT_TRY(mt_apply_zip_into(v, MT_OP_MUL, v, c->momentum));
        MT_TRY(mt_apply_zip_into(v, MT_OP_ADD, v, g));
        g = v;
    }
    mt_tensor *step = mt_apply_zip(scratch, MT_OP_MUL, g, c->neg_lr);
    if (!step) return mt_last_status();
    return mt_apply_zip_into(p, MT_OP_ADD, p, step);
}

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 * p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
 * (all through backend kernels, so the update runs wherever the parameters live) */
static mt_status adam_update(mt_optim *o, mt_ctx *scratch, int i, mt_tensor *p, mt_tensor *g,
                             const step_consts *c) {
    mt_tensor *m = state_for(o, &o->state1[i], p, c->zero);
    mt_tensor *v = state_for(o, &o->state2[i], p, c->zero);
    mt_tensor *tmp = mt_apply_zip(scratch, MT_OP_MUL, g, c->one_minus_beta1);
    if (!m || !v || !tmp) return mt_last_status();
    MT_TRY(mt_apply_zip_into(m, MT_OP_MUL, m, c->beta1));
    MT_TRY(mt_apply_zip_into(m, MT_OP_ADD, m, tmp));

    MT_TRY(mt_apply_zip_into(tmp, MT_OP_MUL, g, g));
    MT_TRY(mt_apply_zip_into(tmp, MT_OP_MUL, tmp, c->one_minus_beta2));
    MT_TRY(mt_apply_zip_into(v, MT_OP_MUL, v, c->beta2));
    MT_TRY(mt_apply_zip_into(v, MT_OP_ADD, v, tmp));

    /* tmp = -step_size * m / (sqrt(v) / sqrt(bc2) + eps) */
    MT_TRY(mt_apply_map_into(tmp, MT_OP_SQRT, v));
    MT_TRY(mt_apply_zip_into(tmp, MT_OP_MUL, tmp, c->inv_sqrt_bc2));
    MT_TRY(mt_apply_zip_into(tmp, MT_OP_ADD, tmp, c->eps));
    MT_TRY(mt_apply_map_into(tmp, MT_OP_INV, tmp));
    MT_TRY(mt_apply_zip_into(tmp, MT_OP_MUL, tmp, m));
    MT_TRY(mt_apply_zip_into(tmp, MT_OP_MUL, tmp, c->neg_step_size));
    return mt_apply_zip_into(p, MT_OP_ADD, p, tmp);
}

mt_status mt_optim_step(mt_optim *o, mt_ctx *scratch) {
    if (!o) return mt_null_status("mt_optim_step", "optimizer");
    if (!scratch) return mt_null_status("mt_optim_step", "scratch");
    if (!o->params || !o->state_ctx)
        return mt_fail(MT_ERR_STATE, "mt_optim_step: optimizer not initialised (call "
                                     "mt_optim_sgd or mt_optim_adam first)");
    if (o->kind != MT_OPTIM_SGD && o->kind != MT_OPTIM_ADAM)
        return mt_fail(MT_ERR_ARG, "mt_optim_step: unknown optimizer kind %d", (int)o->kind);
    MT_TRY(cover_params(o));
    o->steps++;
    step_consts c = {0};
    for (int i = 0; i < o->params->count; i++) {
        mt_tensor *p = o->params->items[i];
        if (!p || !p->grad) continue; /* a parameter the loss did not reach */
        MT_TRY(check_param_live("mt_optim_step", o->params, i));
        /* state made in a state_ctx that was reset since: refused, not silently re-zeroed */
        if (i < o->nstate) {
            MT_TRY(mt_check_live("mt_optim_step (optimizer state)", o->state1[i]));
            MT_TRY(mt_check_live("mt_optim_step (optimizer state)", o->state2[i]));
        }
        if (c.backend != mt_tensor_backend(p))
            MT_TRY(make_consts(o, scratch, mt_tensor_backend(p), &c));
        mt_tensor *g = decayed_grad(o, scratch, p, &c);
        if (!g) return mt_last_status();
        MT_TRY(o->kind == MT_OPTIM_SGD ? sgd_update(o, scratch, i, p, g, &c)
                                       : adam_update(o, scratch, i, p, g, &c));
    }
    return MT_OK;
}
