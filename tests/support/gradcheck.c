#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* L = sum(out * r), summed in double on the host so the difference quotient is not drowned by
 * float32 rounding of the sum itself. */
static int eval_loss(mt_ctx *ctx, gradcheck_fn f, mt_tensor **inputs, void *user, const float *r,
                     int64_t rn, double *loss) {
    mt_ctx_reset(ctx); /* a probe context: nothing from the last probe is needed */
    bool was = mt_set_grad_enabled(false);
    mt_tensor *out = f(ctx, inputs, user);
    mt_set_grad_enabled(was);
    if (!out || mt_numel(out) != rn) return -1;
    float *vals = malloc(sizeof(float) * (size_t)rn);
    if (!vals || mt_to_host(out, vals) != MT_OK) {
        free(vals);
        return -1;
    }
    double acc = 0;
    for (int64_t i = 0; i < rn; i++) acc += (double)vals[i] * r[i];
    free(vals);
    *loss = acc;
    return 0;
}

int gradcheck(const char *name, gradcheck_fn f, mt_tensor **inputs, int ninputs, void *user,
              uint64_t seed, const gradcheck_opts *opts) {
    gradcheck_opts o = opts ? *opts : (gradcheck_opts){0};
    if (o.eps == 0) o.eps = 1e-2;
    if (o.atol == 0) o.atol = 1e-2;
    if (o.rtol == 0) o.rtol = 1e-2;
    mt_ctx *ctx = mt_ctx_new(mt_tensor_backend(inputs[0]));
    mt_ctx *probe = mt_ctx_new(mt_tensor_backend(inputs[0]));
    mt_rng rng;
    mt_rng_seed(&rng, seed);
    for (int i = 0; i < ninputs; i++) mt_zero_grad(inputs[i]);

    mt_tensor *out = f(ctx, inputs, user);
    if (!out) {
        fprintf(stderr, "gradcheck %s: forward failed: %s\n", name, mt_last_error());
        mt_ctx_free(ctx);
    mt_ctx_free(probe);
        return 1;
    }
    int64_t rn = mt_numel(out);
    mt_tensor *r = mt_rand_uniform(ctx, out->ndim, out->shape, -1.0f, 1.0f, &rng);
    float *rh = malloc(sizeof(float) * (size_t)rn);
    mt_to_host(r, rh);
    mt_tensor *loss = mt_sum_all(ctx, mt_mul(ctx, out, r));
    if (!loss || mt_backward(ctx, loss, NULL) != MT_OK) {
        fprintf(stderr, "gradcheck %s: backward failed: %s\n", name, mt_last_error());
        free(rh);
        mt_ctx_free(ctx);
    mt_ctx_free(probe);
        return 1;
    }

    int bad = 0;
    for (int i = 0; i < ninputs; i++) {
        mt_tensor *x = inputs[i];
        int64_t n = mt_numel(x), index[MT_MAX_DIMS];
        for (int64_t e = 0; e < n; e++) {
            int64_t ord = e;
            for (int d = x->ndim - 1; d >= 0; d--) {
                index[d] = ord % x->shape[d];
                ord /= x->shape[d];
            }
            float x0, analytic = 0.0f;
            mt_get(x, index, &x0);
            if (x->grad) mt_get(x->grad, index, &analytic);
            double lp, lm, l0;
            mt_set(x, index, (float)(x0 + o.eps));
            int e1 = eval_loss(probe, f, inputs, user, rh, rn, &lp);
            mt_set(x, index, (float)(x0 - o.eps));
            int e2 = eval_loss(probe, f, inputs, user, rh, rn, &lm);
            mt_set(x, index, x0);
            int e3 = eval_loss(probe, f, inputs, user, rh, rn, &l0);
            if (e1 || e2 || e3) {
                fprintf(stderr, "gradcheck %s: forward failed while probing\n", name);
                bad++;
                continue;
            }
            double numeric = (lp - lm) / (2 * o.eps);
            if (o.kink_skip > 0) {
                double right = (lp - l0) / o.eps, left = (l0 - lm) / o.eps;
                if (fabs(right - left) > o.kink_skip * o.atol) continue;
            }
            double tol = o.atol + o.rtol * fabs(numeric);
            if (!(fabs(numeric - (double)analytic) <= tol)) {
                if (bad < 5)
                    fprintf(stderr,
                            "gradcheck %s: input %d element %lld: autodiff %.6g, central "
                            "difference %.6g\n",
                            name, i, (long long)e, (double)analytic, numeric);
                bad++;
            }
        }
    }
    free(rh);
    mt_ctx_free(ctx);
    mt_ctx_free(probe);
    return bad;
}
