/* ./bench's command line: parsed into options and the arguments for Google Benchmark, apart from
 * main so the fuzz harness (tests/fuzz) can drive it. */
#ifndef MT_BENCH_CLI_H
#define MT_BENCH_CLI_H

#include "harness.h"

#include <stdio.h>

enum { BENCH_GB_MAX_ARGS = 64 };

typedef struct bench_cli {
    bench_options opts;
    /* Google Benchmark's arguments, plus the defaults main injects (at most 4) and a NULL */
    char *gb_argv[BENCH_GB_MAX_ARGS + 6];
    int gb_argc;
    bool user_reps, user_min_time, user_out, user_out_format;
    double naive_limit_g; /* --naive-limit, or -1 */
    int load;             /* --load N: spinning processes for the run */
} bench_cli;

/* Parses argv into cli (argv's strings are kept, not copied). Returns -1 when the run goes on,
 * otherwise the exit status: 0 after --help, 2 after printing a usage error. */
int bench_parse_cli(int argc, char **argv, bench_cli *cli);
void bench_usage(FILE *f);
/* Reads a --shapes file (one case per line, '#' comments; path names it in messages) into
 * run->cases through sweep->parse_line; 0, or -1 after printing which line is wrong. */
int bench_read_shapes(const bench_sweep *sweep, FILE *f, const char *path, bench_run *run);

#endif
