/* The engine's thread count: a thin layer over OpenMP's, so a program sets it without including
 * omp.h and a build without OpenMP still links. */
#include "internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef _OPENMP
/* The count before the first mt_set_num_threads call (OMP_NUM_THREADS or every core), per
 * thread as OpenMP keeps it; 0 until then. */
static _Thread_local int default_threads;
#endif

mt_status mt_set_num_threads(int n) {
    if (n < 0) return mt_fail(MT_ERR_ARG, "mt_set_num_threads: the count must be >= 0, got %d", n);
#ifdef _OPENMP
    if (!default_threads) default_threads = omp_get_max_threads();
    omp_set_num_threads(n > 0 ? n : default_threads);
#endif
    return MT_OK;
}

int mt_get_num_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
