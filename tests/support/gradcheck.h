/* Autodiff against central differences: L = sum(f(inputs) * r) for a random r; every input
 * element is nudged by +-eps and (L+ - L-) / 2eps compared with the analytic gradient. */
#ifndef MT_GRADCHECK_H
#define MT_GRADCHECK_H

#include "minitorch.h"

typedef mt_tensor *(*gradcheck_fn)(mt_ctx *ctx, mt_tensor **inputs, void *user);

typedef struct gradcheck_opts {
    double eps;  /* finite-difference step (default 1e-2, float32 inputs) */
    double atol; /* default 1e-2, as MiniTorch's derivative checks */
    double rtol; /* default 1e-2 */
    /* Elements where the function has a kink (relu at 0, max ties) are skipped when the one-sided
     * differences disagree by more than this factor of atol (0 = never skip). */
    double kink_skip;
} gradcheck_opts;

/* Returns the number of mismatching elements (0 = pass); prints the first few. inputs must be
 * leaves with requires_grad set. */
int gradcheck(const char *name, gradcheck_fn f, mt_tensor **inputs, int ninputs, void *user,
              uint64_t seed, const gradcheck_opts *opts);

#endif
