/* Same bits at any openmp thread count, for a whole computation (forward and backward through the
 * public API), not a single kernel. */
#ifndef MT_THREAD_INVARIANCE_H
#define MT_THREAD_INVARIANCE_H

#include "minitorch.h"

#define THREAD_RUN_MAX_OUTPUTS 4

/* Makes up to THREAD_RUN_MAX_OUTPUTS tensors in ctx (a fresh or freshly reset openmp context)
 * into outs and returns how many, or -1 on error (the message in mt_last_error()). */
typedef int (*thread_run_fn)(mt_ctx *ctx, void *user, mt_tensor **outs);

/* Runs f at 1 thread, then at 2, 3 and every core (thread_counts.h), and records one check per
 * output and thread count that its bits equal the 1-thread run's. Without an openmp backend in
 * the build it records nothing and says so. */
void check_thread_invariance(const char *what, thread_run_fn f, void *user);

#endif
