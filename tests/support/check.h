/* A minimal test harness: CHECK* record failures with file:line and keep going; each test binary
 * ends with check_summary(), which prints "N passed, N failed" and gives the exit code. */
#ifndef MT_CHECK_H
#define MT_CHECK_H

#include "minitorch.h"

#include <stdio.h>

extern int check_passed, check_failed;

void check_record(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int check_summary(const char *suite);

#define CHECK(cond, ...) check_record(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_CLOSE(got, want, tol)                                                             \
    check_record(fabs((double)(got) - (double)(want)) <= (tol), __FILE__, __LINE__,             \
                 "%s = %.9g, expected %.9g (tol %g)", #got, (double)(got), (double)(want),      \
                 (double)(tol))
/* Expects a NULL / error result and a message that mentions `needle`. */
#define CHECK_ERROR(expr, status, needle)                                                      \
    check_error_impl((expr) == 0, (status), (needle), #expr, __FILE__, __LINE__)
void check_error_impl(int returned_error, mt_status status, const char *needle, const char *expr,
                      const char *file, int line);
#define CHECK_OK(expr)                                                                          \
    do {                                                                                        \
        mt_status check_ok_s_ = (expr);                                                         \
        check_record(check_ok_s_ == MT_OK, __FILE__, __LINE__, "%s failed: %s", #expr,        \
                     mt_last_error());                                                          \
    } while (0)
#define CHECK_NOT_NULL(expr)                                                                    \
    check_record((expr) != NULL, __FILE__, __LINE__, "%s returned NULL: %s", #expr,            \
                 mt_last_error())

/* The backends this build and machine can run into out[0..max) (in table order), printing why
 * each other one is skipped (a cuda build without a GPU); returns how many. */
#define CHECK_MAX_BACKENDS 16
int check_runnable_backends(const mt_backend **out, int max);

/* Compares every element of t with want (row-major) within tol. */
void check_values(const mt_tensor *t, const float *want, double tol, const char *what);

/* A tensor with values uniform in [lo, hi) whose storage is laid out permuted (a non-contiguous
 * view, like MiniTorch's hypothesis strategies build) when `permuted` is true. */
mt_tensor *make_tensor(mt_ctx *ctx, int ndim, const int64_t *shape, float lo, float hi,
                       mt_rng *rng, int permuted);

#endif
