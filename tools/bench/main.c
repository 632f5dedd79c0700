/* ./bench: Google Benchmark sweeps of the engine's ops on every backend, against OpenBLAS, memcpy
 * and PyTorch baselines, written up as a markdown report with a chart and the raw JSON. */
#include "gbench_shim.h"
#include "harness.h"

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

static void usage(FILE *f) {
    fprintf(f,
"usage: ./bench BENCH (--sweep | --shapes FILE) [options] [--benchmark_* flags]\n"
"\n"
"BENCH is one of: matmul, elementwise, reduce"
", conv1d, conv2d, nn, train-step"
".\n"
"Times every case on every selected backend and baseline (Google Benchmark: warm-up excluded,\n"
"median of repetitions with min/max, wall-clock time), re-checks each output against the naive\n"
"backend, and writes reports/<bench>-<timestamp>.md with an SVG chart and the raw JSON.\n"
"\n"
"options:\n"
"  --sweep            run the built-in shapes (the MiniTorch README table, MNIST and realistic\n"
"                     layers for conv; square and training shapes, with a layer's backward\n"
"                     products on transposed views, for matmul; 1M elements for\n"
"                     elementwise and reduce; softmax, logsoftmax, argmax, pooling and its\n"
"                     backward, dropout on 1M-element and training shapes for nn; ./train's\n"
"                     MNIST net at batch 16 and SST-2 CNN at batch 10 for train-step)\n"
"  --shapes FILE      run the cases in FILE instead (format below)\n"
"  --quick            a few small cases and short timing (smoke tests)\n"
"  --backends LIST    comma-separated backends (default: every backend this machine can run,\n"
"                     simulators only when named; built:");
    for (int i = 0; i < mt_backend_count(); i++)
        fprintf(f, " %s", mt_backend_name(mt_backend_at(i)));
    fprintf(f, ")\n"
"  --baselines LIST   openblas, memcpy, torch, or none (default: those that apply)\n"
"  --threads N        threads for the engine, OpenBLAS and PyTorch alike (default: online CPUs)\n"
"  --out DIR          where reports go (default: %s/reports)\n"
"  --naive-limit G    largest case timed on the naive backend, in GFLOP (matmul, conv) or GB\n"
"                     moved (elementwise, reduce, nn); larger ones are skipped and say so, and\n"
"                     are checked on a slice (default 4, with --quick 0.05)\n"
"  --note TEXT        a line for the report's machine section (repeatable), e.g. that the\n"
"                     machine was shared with other jobs\n"
"  --help             this text\n"
"\n"
"Google Benchmark flags pass through, e.g. --benchmark_filter=REGEX, --benchmark_repetitions=N\n"
"(default 5, --quick 3), --benchmark_min_time=S (default 0.2, --quick 0.01),\n"
"--benchmark_format=console|json|csv, --benchmark_out=FILE (default: beside the report).\n"
"Benchmark names are <bench>/<shapes>/<implementation>, e.g. matmul/512x512@512x512/naive\n"
"(transposed operands: matmul/16x4096@4096x4096:bt/openmp).\n"
"\n"
"Shapes file: one case per line, '#' starts a comment, dims joined by 'x' or ','.\n"
"  matmul:       A B [at|bt|atbt]  512x256 256x128   or batched 8x64x32 8x32x16; at / bt: that\n"
"                operand is a transposed view (A given as the transpose of a stored (K,M), B of\n"
"                a stored (N,K): 16x4096 4096x4096 bt is x @ W^T, as a layer's backward takes\n"
"                it), run as mt_transpose / CblasTrans / .t(); the case reads A^T or B^T\n"
"  conv1d/2d:    INPUT WEIGHT    16x1x28x28 4x1x3x3   (forward and forward+backward rows)\n"
"  elementwise:  SHAPE [OPS]     1048576 add,mul,neg   (default ops: neg,relu,exp,sigmoid,add,mul)\n"
"  reduce:       SHAPE [DIM [OPS]]  1024x1024 1 sum,max   (default: dim -1, ops sum,prod,max)\n"
"  nn:           SHAPE OP [DIM|WINDOW|RATE%%]  1024x1024 softmax 0, 16x8x28x28 maxpool2d_back 4,\n"
"                1048576 dropout 25   (default: dim -1, window 2, rate 25%%)\n"
"  train-step:   SHAPE           16x1x28x28 (the MNIST net) or 10x100x30 (the SST-2 CNN)\n"
"\n"
"Exit status: 0 when every output matched the naive backend, 1 on a mismatch or a failed run,\n"
"2 on a usage error.\n", MT_BENCH_SOURCE_DIR);
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
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *tok[8];
        int ntok = 0;
        for (char *t = strtok(line, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) {
            if (ntok == 8) {
                fprintf(stderr, "%s:%d: too many fields\n", path, lineno);
                fclose(f);
                return -1;
            }
            tok[ntok++] = t;
        }
        if (ntok == 0) continue;
        int n = sweep->parse_line(ntok, tok, run->cases + run->ncases,
                                  BENCH_MAX_CASES - run->ncases);
        if (n < 0) {
            fprintf(stderr, "%s:%d: cannot use this line for %s (see ./bench --help)\n", path,
                    lineno, sweep->name);
            fclose(f);
            return -1;
        }
        run->ncases += n;
    }
    fclose(f);
    if (run->ncases == 0) {
        fprintf(stderr, "bench: --shapes %s has no cases\n", path);
        return -1;
    }
    return 0;
}

static bool has_prefix(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int main(int argc, char **argv) {
    static bench_options opts;
    static bench_run run;
    /* Google Benchmark's arguments, plus the defaults we inject (at most 4) and a NULL. */
    enum { GB_MAX_ARGS = 64 };
    static char *gb_argv[GB_MAX_ARGS + 6];
    int gb_argc = 0;
    gb_argv[gb_argc++] = argv[0];
    bool user_reps = false, user_min_time = false, user_out = false, user_out_format = false;
    double naive_limit_g = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (has_prefix(a, "--benchmark_")) {
            if (has_prefix(a, "--benchmark_repetitions=")) {
                user_reps = true;
                opts.repetitions = atoi(a + strlen("--benchmark_repetitions="));
            }
            if (has_prefix(a, "--benchmark_min_time=")) {
                user_min_time = true;
                opts.min_time = atof(a + strlen("--benchmark_min_time="));
            }
            user_out_format |= has_prefix(a, "--benchmark_out_format");
            if (has_prefix(a, "--benchmark_out=")) {
                user_out = true;
                snprintf(opts.raw_json, sizeof opts.raw_json, "%s", a + strlen("--benchmark_out="));
            }
            if (gb_argc == GB_MAX_ARGS) {
                fprintf(stderr, "bench: more than %d --benchmark_* flags\n", GB_MAX_ARGS - 1);
                return 2;
            }
            gb_argv[gb_argc++] = argv[i];
        } else if (strcmp(a, "--sweep") == 0) {
            opts.sweep = true;
        } else if (strcmp(a, "--quick") == 0) {
            opts.quick = true;
        } else if (strcmp(a, "--plant-wrong-result") == 0) {
            opts.plant_wrong_result = true; /* hidden: the smoke test proves the check can fail */
        } else if ((strcmp(a, "--backends") == 0 || strcmp(a, "--baselines") == 0 ||
                    strcmp(a, "--threads") == 0 || strcmp(a, "--shapes") == 0 ||
                    strcmp(a, "--out") == 0 || strcmp(a, "--naive-limit") == 0 ||
                    strcmp(a, "--note") == 0)) {
            if (!next) {
                fprintf(stderr, "bench: %s needs a value (see ./bench --help)\n", a);
                return 2;
            }
            i++;
            if (strcmp(a, "--backends") == 0) opts.backends = next;
            if (strcmp(a, "--baselines") == 0) opts.baselines = next;
            if (strcmp(a, "--shapes") == 0) opts.shapes_file = next;
            if (strcmp(a, "--out") == 0) opts.out_dir = next;
            if (strcmp(a, "--note") == 0) {
                if (opts.nnotes == 8) {
                    fprintf(stderr, "bench: at most 8 --note lines\n");
                    return 2;
                }
                opts.notes[opts.nnotes++] = next;
            }
            if (strcmp(a, "--threads") == 0) {
                char *end;
                long v = strtol(next, &end, 10);
                if (*end || v < 1 || v > 1024) {
                    fprintf(stderr, "bench: --threads must be a count from 1 to 1024, got '%s'\n",
                            next);
                    return 2;
                }
                opts.threads = (int)v;
            }
            if (strcmp(a, "--naive-limit") == 0) {
                char *end;
                naive_limit_g = strtod(next, &end);
                if (*end || !(naive_limit_g >= 0)) {
                    fprintf(stderr, "bench: --naive-limit must be a number >= 0, got '%s'\n", next);
                    return 2;
                }
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "bench: unknown option '%s' (see ./bench --help)\n", a);
            return 2;
        } else if (!opts.bench) {
            opts.bench = a;
        } else {
            fprintf(stderr, "bench: one benchmark per run; got '%s' and '%s'\n", opts.bench, a);
            return 2;
        }
    }
    if (!opts.bench) {
        usage(stderr);
        return 2;
    }
    const bench_sweep *sweep = find_sweep(opts.bench);
    if (!sweep) {
        fprintf(stderr, "bench: unknown benchmark '%s' (see ./bench --help)\n", opts.bench);
        return 2;
    }
    if (opts.sweep == (opts.shapes_file != NULL)) {
        fprintf(stderr, "bench: give exactly one of --sweep and --shapes FILE\n");
        return 2;
    }

    run.sweep = sweep;
    run.opts = &opts;
    if (opts.shapes_file) {
        if (load_shapes(sweep, opts.shapes_file, &run) != 0) return 2;
    } else {
        run.ncases = sweep->builtin(opts.quick, run.cases, BENCH_MAX_CASES);
    }
    opts.naive_limit = 1e9 * (naive_limit_g >= 0 ? naive_limit_g : opts.quick ? 0.05 : 4.0);
    if (bench_select_impls(&run) != 0) return 2;

    if (opts.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        opts.threads = n > 0 ? (int)n : 1;
    }
    mt_set_num_threads(opts.threads);
    bench_openblas_set_threads(opts.threads);

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(opts.timestamp, sizeof opts.timestamp, "%Y%m%d-%H%M%S", &tm);
    quote_command(argc, argv, opts.command, sizeof opts.command);
    static char out_dir[1024];
    if (!opts.out_dir) {
        snprintf(out_dir, sizeof out_dir, "%s/reports", MT_BENCH_SOURCE_DIR);
        opts.out_dir = out_dir;
    }
    if (mkdir_p(opts.out_dir) != 0) {
        fprintf(stderr, "bench: cannot create %s: %s\n", opts.out_dir, strerror(errno));
        return 1;
    }

    static char flag_reps[64], flag_min_time[64], flag_out[1100];
    if (!user_reps) {
        opts.repetitions = opts.quick ? 3 : 5;
        snprintf(flag_reps, sizeof flag_reps, "--benchmark_repetitions=%d", opts.repetitions);
        gb_argv[gb_argc++] = flag_reps;
    }
    if (!user_min_time) {
        opts.min_time = opts.quick ? 0.01 : 0.2;
        snprintf(flag_min_time, sizeof flag_min_time, "--benchmark_min_time=%g", opts.min_time);
        gb_argv[gb_argc++] = flag_min_time;
    }
    if (!user_out) {
        snprintf(opts.raw_json, sizeof opts.raw_json, "%s/%s-%s.json", opts.out_dir, sweep->name,
                 opts.timestamp);
        snprintf(flag_out, sizeof flag_out, "--benchmark_out=%s", opts.raw_json);
        gb_argv[gb_argc++] = flag_out;
    }
    if (!user_out_format) gb_argv[gb_argc++] = "--benchmark_out_format=json";
    gb_argv[gb_argc] = NULL;
    if (gb_init(&gb_argc, gb_argv) != 0) return 2;

    if (bench_register_all(&run) != 0) return 1;
    run.peak_gflops = bench_fma_peak_gflops();
    fprintf(stderr, "[bench] float32 FMA peak: %.1f GFLOP/s per core (measured; again after the "
                    "timings, the highest kept)\n", run.peak_gflops);
    bench_execute(&run);
    bench_run_torch(&run, MT_BENCH_SOURCE_DIR "/tools/bench");
    bench_check_plausible(&run);
    int rc = bench_write_report(&run);
    gb_shutdown();
    if (rc != 0) return 1;
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
