/* Fuzz input -> a command line: argv[0] then one argument per line of the input (at most 32,
 * each a fresh heap string so ASan sees any overrun; the CLIs may write into them). */
#ifndef MT_FUZZ_ARGS_H
#define MT_FUZZ_ARGS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { FUZZ_MAX_ARGS = 32 };

static int fuzz_args(const uint8_t *data, size_t size, const char *prog, char **argv) {
    int argc = 0;
    argv[argc++] = strdup(prog);
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < FUZZ_MAX_ARGS; i++)
        if (i == size || data[i] == '\n') {
            if (i == size && i == start) break;
            char *a = malloc(i - start + 1);
            memcpy(a, data + start, i - start);
            a[i - start] = '\0';
            argv[argc++] = a;
            start = i + 1;
        }
    argv[argc] = NULL;
    return argc;
}

static void fuzz_args_free(int argc, char **argv) {
    for (int i = 0; i < argc; i++) free(argv[i]);
}

#endif
