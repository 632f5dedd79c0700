/* The physical-limit guard (peak.c): the measured FMA peak is a sane number, a result faster than
 * its threads x that peak is flagged, a slower one is not, the naive backend counts as one thread,
 * and a baseline that kept more cores busy than it was given is flagged even when its rate looks
 * possible (Debian's PyTorch matmul on OpenBLAS's own pool at --threads 1). */
#include "check.h"
#include "harness.h"

#include <string.h>

static bench_run run; /* large: static storage */
static bench_options opts;
static bench_sweep sweep;

int main(void) {
    double peak = bench_fma_peak_gflops();
    /* a 2020s core does 10-400 GFLOP/s of float32 FMA; outside that the loop is broken */
    CHECK(peak > 5 && peak < 1000, "measured FMA peak %.1f GFLOP/s per core", peak);

    sweep.rate_unit = "GFLOP/s";
    opts.threads = 2;
    run.sweep = &sweep;
    run.opts = &opts;
    run.peak_gflops = 100;
    run.ncases = 1;
    run.nimpls = 3;
    snprintf(run.cases[0].id, sizeof run.cases[0].id, "matmul/1024");
    run.cases[0].work = 2e9; /* 2 GFLOP */
    snprintf(run.impls[0].name, sizeof run.impls[0].name, "naive");
    run.impls[0].is_naive = true;
    snprintf(run.impls[1].name, sizeof run.impls[1].name, "openmp");
    snprintf(run.impls[2].name, sizeof run.impls[2].name, "torch");
    for (int i = 0; i < 3; i++) run.cells[0][i].state = CELL_OK;
    run.cells[0][0].median_s = 2e9 / 150e9; /* naive at 150 GFLOP/s: above 1 x 100 */
    run.cells[0][1].median_s = 2e9 / 150e9; /* openmp at 150: below 2 threads x 100 */
    run.cells[0][2].median_s = 2e9 / 120e9; /* torch at 120: possible on 2 threads... */
    run.cells[0][2].cpu_per_wall = 2.0;     /* ...and it used 2 cores: fine */
    CHECK(bench_flag_implausible(&run) == 1, "one implausible result, got %d", run.implausible);
    CHECK(run.cells[0][0].implausible[0] != 0, "naive above 1 x peak is flagged");
    CHECK(strstr(run.cells[0][0].implausible, "1 thread") != NULL, "the reason names 1 thread: %s",
          run.cells[0][0].implausible);
    CHECK(run.cells[0][1].implausible[0] == 0, "openmp within 2 x peak is not flagged");

    memset(run.cells[0][0].implausible, 0, sizeof run.cells[0][0].implausible);
    run.cells[0][0].median_s = 2e9 / 50e9;
    opts.threads = 1;
    run.cells[0][1].median_s = 2e9 / 90e9;  /* openmp at 90 on one thread: fine */
    run.cells[0][2].median_s = 2e9 / 95e9;  /* torch at 95 GFLOP/s looks possible on one thread, */
    run.cells[0][2].cpu_per_wall = 1.97;    /* but it kept two cores busy */
    CHECK(bench_flag_implausible(&run) == 1, "one implausible result, got %d", run.implausible);
    CHECK(strstr(run.cells[0][2].implausible, "cores busy") != NULL,
          "the thread-count violation is flagged: '%s'", run.cells[0][2].implausible);
    return check_summary("test_bench_peak");
}
