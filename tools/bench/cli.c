/* ./bench's options: ours take "--opt VALUE" or "--opt=VALUE" (as ./verify's do); --benchmark_*
 * flags pass through to Google Benchmark after the ones we read are checked here, so a bad value
 * is our clear usage error, not an exception inside the library or an empty report. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef MT_BENCH_SOURCE_DIR
#define MT_BENCH_SOURCE_DIR "."
#endif

void bench_usage(FILE *f) {
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
"  --load N           start N processes that spin on the CPU during the timings (a busy\n"
"                     machine, reproducibly); stopped at the end, on error and on Ctrl-C\n"
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

static bool has_prefix(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int usage_error(const char *what, const char *value) {
    fprintf(stderr, "bench: %s%s%s' (see ./bench --help)\n", what, value ? ", got '" : "",
            value ? value : "");
    return 2;
}

/* A whole decimal integer in [lo, hi]. */
static bool parse_long(const char *s, long lo, long hi, long *v) {
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return false;
    *v = x;
    return true;
}

int bench_parse_cli(int argc, char **argv, bench_cli *cli) {
    memset(cli, 0, sizeof *cli);
    bench_options *opts = &cli->opts;
    cli->naive_limit_g = -1;
    cli->gb_argv[cli->gb_argc++] = argv[0];
    static const char *const with_value[] = {"--backends", "--baselines", "--threads", "--shapes",
                                             "--out",      "--naive-limit", "--note", "--load"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            bench_usage(stdout);
            return 0;
        } else if (has_prefix(a, "--benchmark_")) {
            const char *v;
            long n;
            if (has_prefix(a, "--benchmark_repetitions")) {
                v = a + strlen("--benchmark_repetitions");
                if (*v != '=' || !parse_long(v + 1, 1, 1000000, &n))
                    return usage_error("--benchmark_repetitions=N needs a count from 1 to 1000000",
                                       *v == '=' ? v + 1 : a);
                cli->user_reps = true;
                opts->repetitions = (int)n;
            }
            if (has_prefix(a, "--benchmark_min_time=")) {
                cli->user_min_time = true;
                opts->min_time = atof(a + strlen("--benchmark_min_time="));
            }
            cli->user_out_format |= has_prefix(a, "--benchmark_out_format");
            if (has_prefix(a, "--benchmark_out=")) {
                cli->user_out = true;
                snprintf(opts->raw_json, sizeof opts->raw_json, "%s",
                         a + strlen("--benchmark_out="));
            }
            if (cli->gb_argc == BENCH_GB_MAX_ARGS) {
                fprintf(stderr, "bench: more than %d --benchmark_* flags\n", BENCH_GB_MAX_ARGS - 1);
                return 2;
            }
            cli->gb_argv[cli->gb_argc++] = argv[i];
        } else if (strcmp(a, "--sweep") == 0) {
            opts->sweep = true;
        } else if (strcmp(a, "--quick") == 0) {
            opts->quick = true;
        } else if (strcmp(a, "--plant-wrong-result") == 0) {
            opts->plant_wrong_result = true; /* hidden: the smoke test proves the check can fail */
        } else if (a[0] == '-') {
            const char *name = NULL, *value = NULL;
            size_t len = strcspn(a, "=");
            for (size_t k = 0; k < sizeof with_value / sizeof with_value[0] && !name; k++)
                if (strlen(with_value[k]) == len && strncmp(a, with_value[k], len) == 0)
                    name = with_value[k];
            if (!name) {
                fprintf(stderr, "bench: unknown option '%s' (see ./bench --help)\n", a);
                return 2;
            }
            if (a[len] == '=') {
                value = a + len + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(stderr, "bench: %s needs a value (see ./bench --help)\n", name);
                return 2;
            }
            long n;
            if (strcmp(name, "--backends") == 0) opts->backends = value;
            if (strcmp(name, "--baselines") == 0) opts->baselines = value;
            if (strcmp(name, "--shapes") == 0) opts->shapes_file = value;
            if (strcmp(name, "--out") == 0) {
                if (!*value) return usage_error("--out needs a folder", value);
                opts->out_dir = value;
            }
            if (strcmp(name, "--note") == 0) {
                if (opts->nnotes == 8) {
                    fprintf(stderr, "bench: at most 8 --note lines\n");
                    return 2;
                }
                opts->notes[opts->nnotes++] = value;
            }
            if (strcmp(name, "--threads") == 0) {
                if (!parse_long(value, 1, 1024, &n))
                    return usage_error("--threads must be a count from 1 to 1024", value);
                opts->threads = (int)n;
            }
            if (strcmp(name, "--load") == 0) {
                if (!parse_long(value, 0, 256, &n))
                    return usage_error("--load must be a count from 0 to 256", value);
                cli->load = (int)n;
            }
            if (strcmp(name, "--naive-limit") == 0) {
                char *end;
                cli->naive_limit_g = strtod(value, &end);
                if (*end || end == value || !(cli->naive_limit_g >= 0) ||
                    cli->naive_limit_g > 1e9)
                    return usage_error("--naive-limit must be a number from 0 to 1e9", value);
            }
        } else if (!opts->bench) {
            opts->bench = a;
        } else {
            fprintf(stderr, "bench: one benchmark per run; got '%s' and '%s'\n", opts->bench, a);
            return 2;
        }
    }
    return -1;
}

int bench_read_shapes(const bench_sweep *sweep, FILE *f, const char *path, bench_run *run) {
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *tok[8];
        int ntok = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
            if (ntok == 8) {
                fprintf(stderr, "%s:%d: too many fields\n", path, lineno);
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
            return -1;
        }
        run->ncases += n;
    }
    if (run->ncases == 0) {
        fprintf(stderr, "bench: --shapes %s has no cases\n", path);
        return -1;
    }
    return 0;
}
