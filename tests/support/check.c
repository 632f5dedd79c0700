#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

int check_passed, check_failed;

void check_record(int ok, const char *file, int line, const char *fmt, ...) {
    if (ok) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void check_error_impl(int returned_error, mt_status status, const char *needle, const char *expr,
                      const char *file, int line) {
    check_record(returned_error, file, line, "%s should have failed", expr);
    if (!returned_error) return;
    check_record(mt_last_status() == status, file, line, "%s: status %s, expected %s", expr,
                 mt_status_name(mt_last_status()), mt_status_name(status));
    check_record(strstr(mt_last_error(), needle) != NULL, file, line,
                 "%s: message \"%s\" should mention \"%s\"", expr, mt_last_error(), needle);
    mt_clear_error();
}

int check_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

void check_values(const mt_tensor *t, const float *want, double tol, const char *what) {
    if (!t) {
        check_record(0, __FILE__, __LINE__, "%s: tensor is NULL (%s)", what, mt_last_error());
        return;
    }
    int64_t n = mt_numel(t);
    float got[4096];
    if (n > 4096 || mt_to_host(t, got) != MT_OK) {
        check_record(0, __FILE__, __LINE__, "%s: cannot read tensor", what);
        return;
    }
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - (double)want[i]) <= tol)) {
            if (bad++ < 5)
                fprintf(stderr, "  %s[%lld] = %.9g, expected %.9g\n", what, (long long)i,
                        (double)got[i], (double)want[i]);
        }
    check_record(bad == 0, __FILE__, __LINE__, "%s: %d of %lld elements differ", what, bad,
                 (long long)n);
}

mt_tensor *make_tensor(mt_ctx *ctx, int ndim, const int64_t *shape, float lo, float hi,
                       mt_rng *rng, int permuted) {
    if (!permuted || ndim < 2) return mt_rand_uniform(ctx, ndim, shape, lo, hi, rng);
    /* store reversed, then permute back: same logical shape, reversed strides */
    int64_t rev[MT_MAX_DIMS];
    int order[MT_MAX_DIMS];
    for (int d = 0; d < ndim; d++) {
        rev[d] = shape[ndim - 1 - d];
        order[d] = ndim - 1 - d;
    }
    mt_tensor *base = mt_rand_uniform(ctx, ndim, rev, lo, hi, rng);
    return mt_permute(ctx, base, order);
}

int check_runnable_backends(const mt_backend **out, int max) {
    int n = 0;
    for (int i = 0; i < mt_backend_count() && n < max; i++) {
        const mt_backend *b = mt_backend_at(i);
        char why[300];
        if (mt_backend_available(b, why, sizeof why)) out[n++] = b;
        else printf("skip backend %s: %s\n", mt_backend_name(b), why);
    }
    return n;
}
