/* ./bench: Google Benchmark sweeps of the engine's ops on every backend, against OpenBLAS, memcpy
 * and PyTorch baselines, written up as a markdown report with a chart and the raw JSON. */
#include "gbench_shim.h"
#include "cli.h"
#include "harness.h"
#include "report_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MT_BENCH_SOURCE_DIR
#error "MT_BENCH_SOURCE_DIR must name the repository root (bench/CMakeLists.txt sets it)"
#endif

static const bench_sweep *find_sweep(const char *name) {
    static const bench_sweep *const sweeps[] = {
        &bench_sweep_matmul, &bench_sweep_elementwise, &bench_sweep_reduce,
        &bench_sweep_conv1d, &bench_sweep_conv2d, &bench_sweep_nn, &bench_sweep_train_step,
    };
    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++)
        if (strcmp(sweeps[i]->name, name) == 0) return sweeps[i];
    return NULL;
}

static int mkdir_p(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* The command as a shell would re-run it. */
static void quote_command(int argc, char **argv, char *out, size_t len) {
    size_t used = (size_t)snprintf(out, len, "./bench");
    for (int i = 1; i < argc && used < len; i++) {
        const char *a = argv[i];
        bool plain = *a != '\0';
        for (const char *p = a; *p; p++)
            plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%",
                            *p) != NULL;
        if (plain) {
            used += (size_t)snprintf(out + used, len - used, " %s", a);
            continue;
        }
        used += (size_t)snprintf(out + used, len - used, " '");
        for (const char *p = a; *p && used < len; p++)
            used += (size_t)(*p == '\'' ? snprintf(out + used, len - used, "'\\''")
                                        : snprintf(out + used, len - used, "%c", *p));
        if (used < len) used += (size_t)snprintf(out + used, len - used, "'");
    }
}

static int load_shapes(const bench_sweep *sweep, const char *path, bench_run *run) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench: --shapes %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = bench_read_shapes(sweep, f, path, run);
    fclose(f);
    return rc;
}

int main(int argc, char **argv) {
    static bench_cli cli;
    static bench_run run;
    int rc = bench_parse_cli(argc, argv, &cli);
    if (rc >= 0) return rc;
    bench_options *const o = &cli.opts;
    char **gb_argv = cli.gb_argv;
    int gb_argc = cli.gb_argc;
    if (!o->bench) {
        bench_usage(stderr);
        return 2;
    }
    const bench_sweep *sweep = find_sweep(o->bench);
    if (!sweep) {
        fprintf(stderr, "bench: unknown benchmark '%s' (see ./bench --help)\n", o->bench);
        return 2;
    }
    if (o->sweep == (o->shapes_file != NULL)) {
        fprintf(stderr, "bench: give exactly one of --sweep and --shapes FILE\n");
        return 2;
    }

    run.sweep = sweep;
    run.opts = o;
    if (o->shapes_file) {
        if (load_shapes(sweep, o->shapes_file, &run) != 0) return 2;
    } else {
        run.ncases = sweep->builtin(o->quick, run.cases, BENCH_MAX_CASES);
    }
    o->naive_limit = 1e9 * (cli.naive_limit_g >= 0 ? cli.naive_limit_g : o->quick ? 0.05 : 4.0);
    if (bench_select_impls(&run) != 0) return 2;

    if (o->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n > 0 ? (int)n : 1;
    }
    mt_set_num_threads(o->threads);
    bench_openblas_set_threads(o->threads);

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(o->timestamp, sizeof o->timestamp, "%Y%m%d-%H%M%S", &tm);
    quote_command(argc, argv, o->command, sizeof o->command);
    static char out_dir[1024];
    if (!o->out_dir) {
        snprintf(out_dir, sizeof out_dir, "%s/reports", MT_BENCH_SOURCE_DIR);
        o->out_dir = out_dir;
    }
    /* before anything runs: a folder we cannot write would otherwise end the run in Google
     * Benchmark's "invalid file name" or a missing report */
    char probe[1100];
    FILE *pf = mkdir_p(o->out_dir) == 0 ? rf_open_tmp(o->out_dir, probe, sizeof probe) : NULL;
    if (!pf) {
        fprintf(stderr, "bench: --out %s: cannot write reports there: %s\n", o->out_dir,
                strerror(errno));
        return 2;
    }
    fclose(pf);
    unlink(probe);

    static char flag_reps[64], flag_min_time[64], flag_out[1100];
    if (!cli.user_reps) {
        o->repetitions = o->quick ? 3 : 5;
        snprintf(flag_reps, sizeof flag_reps, "--benchmark_repetitions=%d", o->repetitions);
        gb_argv[gb_argc++] = flag_reps;
    }
    if (!cli.user_min_time) {
        o->min_time = o->quick ? 0.01 : 0.2;
        snprintf(flag_min_time, sizeof flag_min_time, "--benchmark_min_time=%g", o->min_time);
        gb_argv[gb_argc++] = flag_min_time;
    }
    /* hidden work files until the report is written: a run that dies leaves no report-like name
     * behind, and one in the same second as another never writes over its files */
    snprintf(o->work_stem, sizeof o->work_stem, ".run-%s-%s-%ld", sweep->name, o->timestamp,
             (long)getpid());
    if (!cli.user_out) {
        o->own_json = true;
        snprintf(o->raw_json, sizeof o->raw_json, "%s/%s.json", o->out_dir, o->work_stem);
        snprintf(flag_out, sizeof flag_out, "--benchmark_out=%s", o->raw_json);
        gb_argv[gb_argc++] = flag_out;
    }
    if (!cli.user_out_format) gb_argv[gb_argc++] = "--benchmark_out_format=json";
    gb_argv[gb_argc] = NULL;
    if (gb_init(&gb_argc, gb_argv) != 0) return 2;

    if (bench_register_all(&run) != 0) return 1;
    if (gb_selected_count() == 0) {
        fprintf(stderr, "bench: no benchmark of this run matches the --benchmark_filter given "
                        "(names are <bench>/<shapes>/<implementation>, e.g. "
                        "matmul/512x512@512x512/naive); nothing was timed, no report written\n");
        return 2;
    }
    if (cli.load > 0 && o->nnotes < 8) {
        static char load_note[160];
        snprintf(load_note, sizeof load_note,
                 "--load %d: %d other process(es) spun on the CPU during the timings", cli.load,
                 cli.load);
        o->notes[o->nnotes++] = load_note;
    }
    run.peak_gflops = bench_fma_peak_gflops();
    fprintf(stderr, "[bench] float32 FMA peak: %.1f GFLOP/s per core (measured; again after the "
                    "timings, the highest kept)\n", run.peak_gflops);
    if (bench_load_start(cli.load) != 0) return 1;
    bench_execute(&run);
    bench_run_torch(&run, MT_BENCH_SOURCE_DIR "/tools/bench");
    bench_load_stop();
    bench_check_plausible(&run);
    int report_rc = bench_write_report(&run);
    gb_shutdown();
    if (report_rc != 0) {
        if (o->own_json) unlink(o->raw_json); /* the hidden work file, never published */
        return 1;
    }
    if (run.failures) {
        fprintf(stderr, "bench: FAILED: %d result(s) did not match the naive backend or did not "
                        "run (see the report)\n", run.failures);
        return 1;
    }
    if (run.implausible) {
        fprintf(stderr, "bench: FAILED: %d result(s) are faster than this machine can be (see "
                        "IMPLAUSIBLE in the report): a measurement error, not a speedup\n",
                run.implausible);
        return 1;
    }
    return 0;
}
