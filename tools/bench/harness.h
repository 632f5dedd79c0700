/* The run of one benchmark: options, the implementations, one cell per (case, implementation),
 * registration with Google Benchmark, the checks, the PyTorch baseline. */
#ifndef MT_BENCH_HARNESS_H
#define MT_BENCH_HARNESS_H

#include "bench.h"

struct bench_options {
    const char *bench;       /* "matmul", "conv2d", ... */
    bool sweep;              /* --sweep: the built-in cases */
    bool quick;              /* --quick: a few small cases, short timing */
    const char *backends;    /* --backends a,b (NULL: every backend in the registry) */
    const char *baselines;   /* --baselines a,b or "none" (NULL: every one available) */
    int threads;             /* --threads N */
    const char *shapes_file; /* --shapes FILE */
    const char *out_dir;     /* --out DIR */
    double naive_limit;      /* --naive-limit: most work the naive backend is timed on */
    int repetitions;         /* --benchmark_repetitions (the PyTorch baseline uses it too) */
    double min_time;         /* --benchmark_min_time, seconds per repetition */
    bool plant_wrong_result; /* hidden: corrupts one output element so the check must fail */
    const char *notes[8];    /* --note TEXT: lines for the report (e.g. "the machine was shared") */
    int nnotes;
    char command[2048];      /* the command line, shell-quoted */
    char timestamp[32];      /* UTC, YYYYMMDD-HHMMSS */
    char raw_json[1024];     /* where Google Benchmark writes its JSON */
    bool own_json;           /* raw_json is our hidden work file, renamed beside the report */
    char work_stem[128];     /* out_dir/<work_stem>.*: this run's hidden files until published */
    char stem[200];          /* the report's name without .md, once published */
};
typedef struct bench_options bench_options;

typedef enum bench_cell_state {
    CELL_PENDING,        /* registered, never ran (filtered out by --benchmark_filter) */
    CELL_NOT_APPLICABLE, /* the implementation has no kernel / baseline for this case */
    CELL_NAIVE_TOO_SLOW, /* naive work above --naive-limit: not timed */
    CELL_ERROR,          /* setup, a run or the output copy failed */
    CELL_OK              /* timed (see check for the comparison) */
} bench_cell_state;

typedef struct bench_cell {
    bench_cell_state state;
    double median_s, min_s, max_s;
    int repetitions;
    int64_t iterations;
    bench_check check;
    char error[256];
    double cpu_per_wall;   /* CPU time / wall time of the timed loops, where measured (PyTorch) */
    char implausible[200]; /* why this result cannot be right (faster than the machine), or "" */
} bench_cell;

typedef struct bench_run {
    const bench_sweep *sweep;
    bench_options *opts;
    bench_case cases[BENCH_MAX_CASES];
    int ncases;
    bench_impl impls[BENCH_MAX_IMPLS];
    int nimpls;
    bench_cell cells[BENCH_MAX_CASES][BENCH_MAX_IMPLS];
    char ref_note[BENCH_MAX_CASES][400]; /* what the check covered when not every element */
    char torch_status[512];              /* "ok", or why PyTorch numbers are absent */
    char torch_version[32];
    int failures;                        /* check mismatches and errors */
    double peak_gflops;                  /* one core's float32 FMA peak, measured this run */
    int implausible;                     /* results above the physical limit (peak.c) */
} bench_run;

/* Fills run->impls from the registry and the available baselines; returns 0 or -1 after printing
 * what is wrong (an unknown backend name). */
int bench_select_impls(bench_run *run);
/* Registers one Google Benchmark per (case, implementation) that applies. */
int bench_register_all(bench_run *run);
/* Runs them (Google Benchmark), checking each implementation's outputs once its timing is done,
 * and fills the cells. */
void bench_execute(bench_run *run);
/* Where the PyTorch column impl writes its results during the run (a hidden work file). */
void bench_torch_out_path(const bench_run *run, int impl, char *buf, size_t len);
/* Runs tools/bench/torch_baseline.py for the torch columns when `import torch` works. */
void bench_run_torch(bench_run *run, const char *script_dir);

/* peak.c: one core's float32 FMA throughput in GFLOP/s (a calibrated loop, the best of 60 windows
 * of about 1 ms), and the
 * check that flags every result faster than its threads x that peak, or a baseline that kept more
 * cores busy than it was given; returns how many it flagged (also run->implausible). */
double bench_fma_peak_gflops(void);
int bench_flag_implausible(bench_run *run);
/* What ./bench calls after the timings: bench_flag_implausible with the peak measured again (up to
 * four times while anything is flagged, the highest kept), printing what stays flagged. */
int bench_check_plausible(bench_run *run);

/* load.c: --load N spinning processes during the timings (0: none; -1 when one cannot start),
 * and their stop (also at exit and on SIGINT / SIGTERM / SIGHUP). */
int bench_load_start(int n);
void bench_load_stop(void);

/* The report: reports/<bench>-<timestamp>.md and .svg, and the index README.md. */
int bench_write_report(const bench_run *run);

#endif
