/* The one place the openmp backend enters a parallel region (see mt_omp_for in openmp.h).
 *
 * A busy machine: when another process spins on one of our cores, the team thread that shares
 * that core is descheduled for whole scheduler slices (milliseconds) while it holds an item, and
 * the region waits for it: a 0.2 ms convolution took 0.5 ms on 2 threads where 1 thread took
 * 0.2. Dynamic scheduling alone cannot help (the item in the descheduled thread's hands is still
 * late), so each region also watches for it: the threads note when they ran out of items, and when
 * the last one finished far later than the first (more than a slice-sized gap, and several times
 * the mean item's length), a team member was descheduled and the gap is time lost. A machine
 * shared with a spinning process loses about half its time so; one that other programs touch now
 * and then loses a millisecond or two a second, which must not cost the team. So only when the
 * gaps add up to 5 ms within 100 ms does this calling thread run its regions alone, for a back-off
 * period (50 ms, doubling while the machine stays busy, up to 1.6 s; back to 50 ms after 3.2 s
 * without that), and then it tries the team again. Which thread runs an item never changes what it computes
 * (openmp.h), so the results keep their bits; only the speed under load changes. */
#include "openmp.h"

#include <omp.h>
#include <time.h>

#define MAX_WATCHED_THREADS 64
#define GAP_FLOOR_S 250e-6 /* below a scheduler slice: waking a sleeping thread is ~50 us */
#define BACKOFF_MIN_S 0.05
#define BACKOFF_MAX_S 1.6
#define WINDOW_S 0.1     /* lost time is summed over windows of this length */
#define LOST_LIMIT_S 5e-3 /* lost in one window: the machine is busy */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Per calling thread: a program may run ops from several threads of its own. */
static _Thread_local double alone_until; /* run regions alone until this time */
static _Thread_local double backoff_s = BACKOFF_MIN_S;
static _Thread_local double last_busy_at = -1e9; /* when the team was last found too slow */
static _Thread_local double window_start, window_lost;

static int run_alone(int64_t n, mt_omp_item_fn fn, void *ctx) {
    int failed = 0;
    for (int64_t i = 0; i < n; i++) failed |= fn(ctx, i);
    return failed;
}

int mt_omp_for(int64_t n, bool parallel, mt_omp_item_fn fn, void *ctx) {
    if (!parallel || n < 2 || omp_get_max_threads() < 2) return run_alone(n, fn, ctx);
    double t0 = now_s();
    if (t0 < alone_until) return run_alone(n, fn, ctx);
    int failed = 0, nthreads = 1;
    double done[MAX_WATCHED_THREADS]; /* when each thread found no item left */
#pragma omp parallel reduction(| : failed)
    {
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t i = 0; i < n; i++) failed |= fn(ctx, i);
        int me = omp_get_thread_num();
        if (me < MAX_WATCHED_THREADS) done[me] = now_s();
        if (me == 0) nthreads = omp_get_num_threads();
    }
    if (nthreads > MAX_WATCHED_THREADS) nthreads = MAX_WATCHED_THREADS;
    double first = done[0], last = done[0], busy = 0;
    for (int k = 0; k < nthreads; k++) {
        first = done[k] < first ? done[k] : first;
        last = done[k] > last ? done[k] : last;
        busy += done[k] - t0;
    }
    double mean_item = busy / (double)n, gap = last - first;
    if (nthreads < 2 || gap <= GAP_FLOOR_S || gap <= 4 * mean_item) return failed;
    if (last - window_start > WINDOW_S) window_start = t0, window_lost = 0;
    window_lost += gap;
    if (window_lost > LOST_LIMIT_S) {
        /* a machine that stays busy is seen again right after each back-off: doubling it makes
         * the slow probe regions rarer (5 ms lost per 1.6 s at most) */
        if (t0 - last_busy_at > 2 * BACKOFF_MAX_S) backoff_s = BACKOFF_MIN_S; /* a new busy spell */
        alone_until = last + backoff_s;
        last_busy_at = last;
        backoff_s = backoff_s * 2 < BACKOFF_MAX_S ? backoff_s * 2 : BACKOFF_MAX_S;
        window_start = alone_until, window_lost = 0;
    }
    return failed;
}
