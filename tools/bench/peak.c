/* The physical limit a result is checked against: one core's float32 FMA throughput, measured once
 * per run by a calibrated loop, and the check that flags any result faster than the threads it was
 * given can possibly be (a baseline that ignored --threads, a timer that stopped early).
 *
 * This file is built with -O2 -ffp-contract=fast in every build type (see CMakeLists.txt), so
 * `acc * m + c` on the vector types compiles to FMA instructions: the measured rate is the multiply-add peak, the unit
 * GEMM and convolution GFLOP/s are counted in (2 flops per multiply-add). It never runs on anything
 * the verifier checks. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 12 /* independent accumulators: more than FMA latency x units, so none waits */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds for `iters` rounds of CHAINS FMAs on vectors of `bytes`; sink keeps the result alive.
 * The chains are named variables, not an array, so they live in registers; without -ffast-math no
 * round can be folded into another, so every FMA is executed. One definition per vector width,
 * each compiled for the instruction set that has it: the peak is the machine's, whatever the
 * build targets (a portable or Debug build must not report a quarter of the real peak and then
 * flag OpenBLAS, which picks its kernels at run time). */
#define FMA_LOOP(name, bytes, target)                                                            \
    target static double name(long iters, float *sink) {                                         \
        typedef float vec __attribute__((vector_size(bytes)));                                  \
        vec m, c, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;                              \
        for (int l = 0; l < (bytes) / 4; l++) {                                                  \
            m[l] = 0.999999f;                                                                    \
            c[l] = 1e-7f;                                                                        \
            a0[l] = a1[l] = a2[l] = a3[l] = a4[l] = a5[l] = (float)l * 1e-3f;                    \
            a6[l] = a7[l] = a8[l] = a9[l] = a10[l] = a11[l] = (float)l * 2e-3f;                  \
        }                                                                                        \
        double t0 = now_s();                                                                     \
        for (long i = 0; i < iters; i++) {                                                       \
            a0 = a0 * m + c;                                                                     \
            a1 = a1 * m + c;                                                                     \
            a2 = a2 * m + c;                                                                     \
            a3 = a3 * m + c;                                                                     \
            a4 = a4 * m + c;                                                                     \
            a5 = a5 * m + c;                                                                     \
            a6 = a6 * m + c;                                                                     \
            a7 = a7 * m + c;                                                                     \
            a8 = a8 * m + c;                                                                     \
            a9 = a9 * m + c;                                                                     \
            a10 = a10 * m + c;                                                                   \
            a11 = a11 * m + c;                                                                   \
        }                                                                                        \
        double dt = now_s() - t0;                                                                \
        vec sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                   \
        float s = 0;                                                                             \
        for (int l = 0; l < (bytes) / 4; l++) s += sum[l];                                       \
        *sink = s;                                                                               \
        return dt;                                                                               \
    }

FMA_LOOP(fma_loop_128, 16, )
#if defined(__x86_64__) && defined(__GNUC__)
FMA_LOOP(fma_loop_256, 32, __attribute__((target("avx2,fma"))))
FMA_LOOP(fma_loop_512, 64, __attribute__((target("avx512f"))))
#endif

typedef double (*fma_loop_fn)(long, float *);

/* The widest loop this CPU runs, and its vector width in floats. */
static fma_loop_fn pick_loop(int *lanes) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *lanes = 16;
        return fma_loop_512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *lanes = 8;
        return fma_loop_256;
    }
#endif
    *lanes = 4;
    return fma_loop_128;
}

double bench_fma_peak_gflops(void) {
    int lanes;
    fma_loop_fn loop = pick_loop(&lanes);
    float sink = 0;
    long iters = 1 << 10;
    while (loop(iters, &sink) < 1e-3 && iters < (1L << 30)) iters *= 2;
    /* Many windows of about a millisecond, the best kept: on a shared machine a timed benchmark
     * run can fall in a slice where it has the core alone, so the peak must be measured the same
     * way, or honest results look faster than the machine. */
    double best = 0;
    for (int r = 0; r < 60; r++) {
        double dt = loop(iters, &sink);
        double gflops = 2.0 * lanes * CHAINS * (double)iters / dt / 1e9;
        if (gflops > best) best = gflops;
    }
    return isfinite(sink) ? best : 0;
}

/* Threads an implementation ran on: the naive backend is single-threaded, every other one (engine
 * backends, OpenBLAS, PyTorch) was given --threads. */
static int threads_of(const bench_run *run, int i) {
    return run->impls[i].is_naive ? 1 : run->opts->threads;
}

int bench_flag_implausible(bench_run *run) {
    int flagged = 0;
    for (int c = 0; c < run->ncases; c++)
        for (int i = 0; i < run->nimpls; i++) run->cells[c][i].implausible[0] = '\0';
    const bool flops = run->sweep->rate_unit[1] == 'F';
    for (int c = 0; c < run->ncases; c++)
        for (int i = 0; i < run->nimpls; i++) {
            bench_cell *cell = &run->cells[c][i];
            if (cell->state != CELL_OK || cell->median_s <= 0 || run->impls[i].simulated ||
                run->impls[i].cuda)
                continue;
            const int threads = threads_of(run, i);
            const double gflops = run->cases[c].work / cell->median_s / 1e9;
            /* 25% for clock variation between the calibration and the run: the errors this is
             * for (a pool that ignored the thread count, a timer stopped early) are 1.5x and up */
            if (flops && run->peak_gflops > 0 && gflops > 1.25 * threads * run->peak_gflops) {
                snprintf(cell->implausible, sizeof cell->implausible,
                         "%.1f GFLOP/s is above %d thread(s) x the measured peak of %.1f GFLOP/s "
                         "per core",
                         gflops, threads, run->peak_gflops);
            } else if (cell->cpu_per_wall > threads + 0.5) {
                snprintf(cell->implausible, sizeof cell->implausible,
                         "kept %.1f cores busy while given %d thread(s)", cell->cpu_per_wall,
                         threads);
            } else {
                continue;
            }
            flagged++;
        }
    run->implausible = flagged;
    return flagged;
}

int bench_check_plausible(bench_run *run) {
    /* A peak measured while another process had the core would flag honest results: measure
     * again after the timings, and before calling anything implausible, a few times more; the
     * highest figure stands. */
    for (int tries = 0; tries < 4; tries++) {
        double peak = bench_fma_peak_gflops();
        if (peak > run->peak_gflops) run->peak_gflops = peak;
        if (bench_flag_implausible(run) == 0) return 0;
    }
    for (int c = 0; c < run->ncases; c++)
        for (int i = 0; i < run->nimpls; i++)
            if (run->cells[c][i].implausible[0])
                fprintf(stderr, "[bench] IMPLAUSIBLE %s / %s: %s\n", run->cases[c].id,
                        run->impls[i].name, run->cells[c][i].implausible);
    return run->implausible;
}
