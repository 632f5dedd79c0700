/* ./bench's command line (tools/bench/cli.c) on any arguments: a usage error, --help, or options
 * in range; never a crash. */
#include "cli.h"
#include "fuzz_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bench_cli cli;
    char *argv[FUZZ_MAX_ARGS + 1];
    int argc = fuzz_args(data, size, "bench", argv);
    int rc = bench_parse_cli(argc, argv, &cli);
    if (rc == -1 && (cli.opts.threads < 0 || cli.opts.threads > 1024 || cli.load < 0 ||
                     cli.load > 256 || cli.gb_argc > BENCH_GB_MAX_ARGS ||
                     (cli.user_reps && cli.opts.repetitions < 1)))
        __builtin_trap();
    if (rc != -1 && rc != 0 && rc != 2) __builtin_trap();
    fflush(stdout);
    fuzz_args_free(argc, argv);
    return 0;
}
