/* ./verify's command line (tools/verify/main.c) on any arguments: a usage error (exit 2) or a
 * configuration the run accepts, never a crash. The run is a stand-in that checks the
 * configuration main built, so each input costs microseconds. */
#include "fuzz_args.h"
#include "verify_lib.h"

#include <stdio.h>

typedef int (*verify_run_fn)(const vf_config *cfg, vf_summary *summary);
int verify_main(int argc, char **argv, verify_run_fn run);

static int check_config(const vf_config *cfg, vf_summary *summary) {
    (void)summary;
    if (cfg->cases < 0 || cfg->cases > 1000000 || !cfg->golden_dir) __builtin_trap();
    for (int i = 0; i < cfg->nops; i++)
        if (!cfg->ops[i] || !cfg->ops[i][0] || !vf_op_known(cfg->ops[i])) __builtin_trap();
    for (int i = 0; i < cfg->nbackends; i++)
        if (!cfg->backends[i]) __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *argv[FUZZ_MAX_ARGS + 1];
    int argc = fuzz_args(data, size, "verify", argv);
    /* --report would write into the source tree: the harness drives the parser, not the report */
    for (int i = 1; i < argc; i++)
        if (strstr(argv[i], "--report")) {
            fuzz_args_free(argc, argv);
            return 0;
        }
    char *copy[FUZZ_MAX_ARGS + 1];
    memcpy(copy, argv, sizeof copy); /* main may move pointers; free the originals */
    int rc = verify_main(argc, copy, check_config);
    if (rc < 0 || rc > 2) __builtin_trap();
    fflush(stdout);
    fuzz_args_free(argc, argv);
    return 0;
}
