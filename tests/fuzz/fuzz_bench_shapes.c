/* ./bench's --shapes parser (tools/bench/cli.c and each sweep's parse_line) on any file; the
 * first byte picks the benchmark. A clear error or cases whose sizes are all within
 * BENCH_MAX_NUMEL, never a crash or an overflowing size. */
#include "cli.h"

#include <stdlib.h>

static const bench_sweep *const sweeps[] = {&bench_sweep_matmul, &bench_sweep_elementwise,
                                            &bench_sweep_reduce, &bench_sweep_conv1d,
                                            &bench_sweep_conv2d, &bench_sweep_nn};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static bench_run run;
    run.ncases = 0;
    const bench_sweep *sweep = sweeps[data[0] % (sizeof sweeps / sizeof sweeps[0])];
    run.sweep = sweep;
    FILE *f = fmemopen((void *)(data + 1), size - 1, "r");
    if (!f) return 0;
    if (bench_read_shapes(sweep, f, "fuzz.shapes", &run) == 0)
        for (int c = 0; c < run.ncases; c++)
            for (int i = 0; i < run.cases[c].nin; i++)
                if (bench_shape_numel(&run.cases[c].in[i]) > BENCH_MAX_NUMEL ||
                    bench_shape_numel(&run.cases[c].in[i]) < 1)
                    abort();
    fclose(f);
    return 0;
}
