/* The checkpoint reader (engine/checkpoint.c) on any file: mt_checkpoint_load into a model of
 * two parameters with Adam's state, an rng and two integer arrays (what ./train saves), and
 * mt_checkpoint_read_ints. An error naming the file, or a load, never a crash. The bytes reach
 * the reader as a file (a memfd: no disk), as a real checkpoint would. The first byte is a mode:
 * odd, the harness writes the frame's length and checksum for the rest (as a writer that means
 * harm would), so mutations reach the parser behind the checksum; even, the rest goes as it is. */
#define _GNU_SOURCE
#include "minitorch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mt_ctx *params, *state;
    static mt_params list;
    static mt_optim opt;
    static mt_rng rng;
    if (!params) { /* one model for the whole run: the reader is what is fuzzed */
        params = mt_ctx_new(mt_backend_naive());
        state = mt_ctx_new(mt_backend_naive());
        mt_param_new(params, &list, "fc.weight", mt_zeros(params, MT_SHAPE(3, 4)));
        mt_param_new(params, &list, "fc.bias", mt_zeros(params, MT_SHAPE(4)));
        if (mt_optim_adam(&opt, state, &list, 0.01f, 0.9f, 0.99f, 1e-8f, 0.0f) != MT_OK) abort();
    }
    if (size < 1) return 0;
    bool repair = data[0] & 1;
    data++, size--;
    uint8_t *file = malloc(size ? size : 1);
    memcpy(file, data, size);
    if (repair && size >= 28) { /* magic(8) version(4) length(8) ... fnv1a64(8) */
        for (int k = 0; k < 8; k++) file[12 + k] = (uint8_t)((uint64_t)size >> (8 * k));
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i + 8 < size; i++) h = (h ^ file[i]) * 0x100000001b3ull;
        for (int k = 0; k < 8; k++) file[size - 8 + (size_t)k] = (uint8_t)(h >> (8 * k));
    }
    int fd = memfd_create("fuzz.mtckpt", 0);
    bool written = fd >= 0 && write(fd, file, size) == (ssize_t)size;
    free(file);
    if (!written) {
        if (fd >= 0) close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int64_t epoch[1], order[5], count = 0, values[8];
    mt_ckpt_ints ints[2] = {{"epoch", epoch, 1}, {"order", order, 5}};
    mt_ckpt_rng rngs[1] = {{"rng", &rng}};
    mt_checkpoint c = {&list, &opt, rngs, 1, ints, 2};
    (void)mt_checkpoint_load(path, &c);
    (void)mt_checkpoint_read_ints(path, "model", values, 8, &count);
    if (count > 8 && values[7] == 0x5eed) fprintf(stderr, "x\n"); /* keeps the reads */
    close(fd);
    return 0;
}
