/* ./train's command line (tools/train/main.c, its main renamed) on any arguments: a usage error
 * or a call of a trainer with options in range, never a crash. The trainers are stand-ins that
 * check the options main built. */
#include "fuzz_args.h"
#include "train.h"

#include <stdio.h>

int train_cli_main(int argc, char **argv);

static bool check(const train_opts *o, char *err, size_t errlen) {
    (void)err, (void)errlen;
    if (!o->task || o->epochs < 1 || o->batch < 1 || !(o->lr > 0) || !o->backend ||
        (o->resume && !o->checkpoint_dir) || (o->eval_file && !o->checkpoint_dir))
        __builtin_trap();
    return true;
}
bool train_mnist(const train_opts *o, char *err, size_t errlen) { return check(o, err, errlen); }
bool train_sst2(const train_opts *o, char *err, size_t errlen) { return check(o, err, errlen); }
bool train_toy(const train_opts *o, char *err, size_t errlen) { return check(o, err, errlen); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *argv[FUZZ_MAX_ARGS + 1], *copy[FUZZ_MAX_ARGS + 1];
    int argc = fuzz_args(data, size, "train", argv);
    memcpy(copy, argv, sizeof copy);
    int rc = train_cli_main(argc, copy);
    if (rc < 0 || rc > 2) __builtin_trap();
    fflush(stdout);
    fuzz_args_free(argc, argv);
    return 0;
}
