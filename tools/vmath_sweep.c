/* Every float through the openmp backend's float32 exp and sigmoid (openmp_vmath_f32.h):
 *   - the 16-lane AVX-512 form (where built) against the scalar form, bit for bit;
 *   - the scalar form against the naive backend's double-then-round, as a histogram of ulp
 *     distances.
 * This backs the accuracy statements in openmp_vmath_f32.h; the unit tests check the same bounds
 * on dense sweeps of 2^18 values. About a minute on two cores: `build/vmath_sweep`. Exit status 1
 * if a bound (exp 1 ulp, sigmoid 3) or the bit agreement fails. */
#include "minitorch.h"
#include "openmp/openmp_vmath_f32.h"
#include "scalar_ops.h"

#include <stdio.h>
#include <stdlib.h>

#define HIST 5 /* 0..3 ulp, then "4 or more" */

static int64_t ulp_dist(float a, float b) {
    int32_t ia = (int32_t)mt_vm_bits_f(a), ib = (int32_t)mt_vm_bits_f(b);
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia, ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return oa > ob ? oa - ob : ob - oa;
}

static float reference(int op, float x) {
    return (float)(op == 0 ? exp((double)x) : mt_sigmoid_d((double)x));
}

static float scalar(int op, float x) { return op == 0 ? mt_vm_expf(x) : mt_vm_sigmoidf(x); }

/* outputs of the contiguous run (vector body, where built) for 16 inputs */
static void run16(int op, const float *x, float *o) {
    if (op == 0) mt_vm_expf_run(16, x, o);
    else mt_vm_sigmoidf_run(16, x, o);
}

int main(void) {
    static const char *names[2] = {"exp", "sigmoid"};
    static const int64_t bound[2] = {1, 3};
    int failed = 0;
    for (int op = 0; op < 2; op++) {
        long long hist[HIST] = {0}, mismatch = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : mismatch)
        for (int64_t block = 0; block < (1LL << 16); block++) {
            long long h[HIST] = {0};
            for (int64_t u = block << 16; u < (block + 1) << 16; u += 16) {
                float x[16], v[16];
                for (int i = 0; i < 16; i++) x[i] = mt_vm_from_bits_f((uint32_t)(u + i));
                run16(op, x, v);
                for (int i = 0; i < 16; i++) {
                    if (isnan(x[i])) continue;
                    float s = scalar(op, x[i]);
                    if (mt_vm_bits_f(s) != mt_vm_bits_f(v[i])) mismatch++;
                    int64_t d = ulp_dist(s, reference(op, x[i]));
                    h[d < HIST - 1 ? d : HIST - 1]++;
                }
            }
#pragma omp critical
            for (int i = 0; i < HIST; i++) hist[i] += h[i];
        }
        long long total = 0, worst = 0;
        for (int i = 0; i < HIST; i++) {
            total += hist[i];
            if (hist[i]) worst = i;
        }
        printf("%-8s %lld non-NaN inputs: exact %.4f%%, 1 ulp %lld, 2 ulp %lld, 3 ulp %lld, "
               ">3 ulp %lld; vector != scalar on %lld\n",
               names[op], total, 100.0 * (double)hist[0] / (double)total, hist[1], hist[2],
               hist[3], hist[4], mismatch);
        if (worst > bound[op] || mismatch) {
            printf("%s: FAIL (bound %lld ulp)\n", names[op], (long long)bound[op]);
            failed = 1;
        }
    }
    return failed;
}
