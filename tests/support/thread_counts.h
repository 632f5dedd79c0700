/* The thread counts that the openmp invariance tests compare with one thread. */
#ifndef MT_TEST_THREAD_COUNTS_H
#define MT_TEST_THREAD_COUNTS_H

#if defined(_OPENMP)
#include <omp.h>
#endif

/* The i-th count (i = 0, 1, ...), 0 past the last: 2 and 3 (3 oversubscribes a 2-core machine, so
 * threads also run their items late and out of turn), then every core of a machine with more. */
static inline int mt_test_thread_count(int i) {
    int procs = 1;
#if defined(_OPENMP)
    procs = omp_get_num_procs();
#endif
    if (i < 2) return i + 2;
    if (i == 2 && procs > 3) return procs;
    return 0;
}

#endif
