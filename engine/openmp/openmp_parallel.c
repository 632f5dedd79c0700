/* The one place the openmp backend enters a parallel region (see mt_omp_for in openmp.h). */
#include "openmp.h"

#include <omp.h>

int mt_omp_for(int64_t n, bool parallel, mt_omp_item_fn fn, void *ctx) {
    int failed = 0;
    if (!parallel || n < 2 || omp_get_max_threads() < 2) {
        for (int64_t i = 0; i < n; i++) failed |= fn(ctx, i);
        return failed;
    }
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
    for (int64_t i = 0; i < n; i++) failed |= fn(ctx, i);
    return failed;
}
