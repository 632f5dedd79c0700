/* The IDX reader (tools/train/idx.c, MNIST's format) on any bytes; the first byte picks the
 * number of dims asked for (0: any). */
#include "idx.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int want = data[0] % 5;
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1); /* the reader takes ownership */
    memcpy(buf, data + 1, size - 1);
    idx_array a;
    char err[256];
    if (idx_parse("fuzz.idx", buf, size - 1, want, &a, err, sizeof err)) {
        unsigned sum = 0;
        for (int64_t i = 0; i < a.count; i++) sum += a.data[i]; /* every byte it promises */
        if (sum == 0xdeadbeef) abort();
        idx_free(&a);
    }
    return 0;
}
