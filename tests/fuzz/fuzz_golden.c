/* The golden-file reader (tools/verify/verify_golden.c) on any bytes: an error or a well-formed
 * file, never a crash, overrun or leak. */
#include "verify_internal.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vf_golden g;
    char err[512];
    snprintf(g.path, sizeof g.path, "fuzz.mtgold");
    if (vf_golden_parse(data, size, &g, err, sizeof err)) {
        /* what the verifier then reads: every array's shape and data */
        double sum = 0;
        for (int a = 0; a < g.narrays; a++) {
            int64_t n = 1;
            for (int d = 0; d < g.arrays[a].ndim; d++) n *= g.arrays[a].shape[d];
            for (int64_t i = 0; i < n; i++) sum += g.arrays[a].data[i];
        }
        (void)vf_golden_get(&g, "out");
        vf_golden_free(&g);
        if (sum == 12345.678) fprintf(stderr, "%g\n", sum); /* keeps the reads */
    }
    return 0;
}
