/* gemm_probe: GFLOP/s of the openmp backend's matmul against OpenBLAS sgemm at one thread count.
 *
 *   ./build/tools/gemm_probe THREADS [SAMPLES [MxKxN[:at|:bt|:atbt] ...]]
 *
 * With shapes given, only those run (e.g. 16x4096x4096 for one product under a profiler). A
 * suffix makes an operand a transposed view, as a layer's backward takes it: :bt, B the transpose
 * of a stored (N,K) (x @ W^T); :at, A of a stored (K,M) (x^T @ g). Ours gets mt_transpose of the
 * stored tensor, OpenBLAS CblasTrans on it.
 * One thread count per process (OpenMP and OpenBLAS both fix their pools early): THREADS goes to
 * omp_set_num_threads and openblas_set_num_threads. For each shape M x K x N, both libraries are
 * timed on the same row-major operands: each sample repeats the product until it has run at least
 * 50 ms, samples of the two alternate, and the median of SAMPLES samples (default 7) of each is
 * reported, because other processes share the cores. Ours goes through the public API (mt_matmul into a scratch context reset after each
 * call), so dispatch and allocation are in its time. The two results are compared so a fast
 * wrong answer cannot pass. Not a test: it prints numbers for people. */
#include "minitorch.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct shape {
    int64_t m, k, n;
    const char *what;
    int trans; /* TRANS_A | TRANS_B: which operands are transposed views */
} shape;

#define TRANS_A 1
#define TRANS_B 2

static const shape SHAPES[] = {
    {256, 256, 256, "square", 0},
    {512, 512, 512, "square", 0},
    {1024, 1024, 1024, "square", 0},
    {2048, 2048, 2048, "square", 0},
    {16, 392, 64, "mnist linear 1 (batch 16)", 0},
    {16, 64, 10, "mnist linear 2 (batch 16)", 0},
    {64, 784, 128, "mnist linear 1 (batch 64)", 0},
    {64, 128, 10, "mnist linear 2 (batch 64)", 0},
    {4096, 64, 64, "tall-skinny", 0},
    {16, 4096, 4096, "few rows, big B", 0},
    {16, 4096, 4096, "x @ W^T, few rows", TRANS_B},
    {1, 4096, 4096, "x @ W^T, one row", TRANS_B},
    {16, 128, 784, "mnist grad_x = g @ W^T", TRANS_B},
    {784, 16, 128, "mnist grad_W = x^T @ g", TRANS_A},
};
#define NSHAPES_MAX 64

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

typedef struct bench {
    const shape *s;
    mt_ctx *scratch;
    mt_tensor *a, *b;       /* openmp tensors */
    const float *ha, *hb;   /* the same values as stored (row-major), for OpenBLAS */
    float *hc;
} bench;

static int run_ours(bench *x) {
    mt_tensor *c = mt_matmul(x->scratch, x->a, x->b);
    int ok = c != NULL;
    mt_ctx_reset(x->scratch);
    return ok;
}

static int run_blas(bench *x) {
    const shape *s = x->s;
    bool ta = s->trans & TRANS_A, tb = s->trans & TRANS_B;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)s->m, (int)s->n, (int)s->k, 1.0f, x->ha, (int)(ta ? s->m : s->k), x->hb,
                (int)(tb ? s->k : s->n), 0.0f, x->hc, (int)s->n);
    return 1;
}

/* Repetitions of fn that run at least 50 ms (this also warms caches, pools and packing buffers);
 * 0 when fn fails. */
static int calibrate(int (*fn)(bench *), bench *x) {
    for (int reps = 1;; reps *= 2) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            if (!fn(x)) return 0;
        if (now() - t0 >= 0.05) return reps;
    }
}

static double sample(int (*fn)(bench *), bench *x, int reps) {
    double t0 = now();
    for (int r = 0; r < reps; r++) fn(x);
    return (now() - t0) / reps;
}

/* Median seconds per call of ours and of OpenBLAS over `samples` samples of >= 50 ms each, the
 * two taken in turns so that a change in the machine's load hits both alike. */
static int time_medians(bench *x, int samples, double *t_ours, double *t_blas) {
    int r_ours = calibrate(run_ours, x), r_blas = calibrate(run_blas, x);
    if (!r_ours || !r_blas) return 0;
    double to[64], tb[64];
    if (samples > 64) samples = 64;
    for (int i = 0; i < samples; i++) {
        to[i] = sample(run_ours, x, r_ours);
        tb[i] = sample(run_blas, x, r_blas);
    }
    qsort(to, (size_t)samples, sizeof to[0], cmp_double);
    qsort(tb, (size_t)samples, sizeof tb[0], cmp_double);
    *t_ours = to[samples / 2];
    *t_blas = tb[samples / 2];
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || atoi(argv[1]) < 1) {
        fprintf(stderr, "usage: %s THREADS [SAMPLES [MxKxN[:at|:bt|:atbt] ...]]\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]), samples = argc > 2 ? atoi(argv[2]) : 7;
    if (samples < 1) samples = 1;
    shape given[NSHAPES_MAX];
    size_t nshapes = 0;
    for (int i = 3; i < argc && nshapes < NSHAPES_MAX; i++) {
        long long m, k, n;
        char suffix[8] = "";
        int got = sscanf(argv[i], "%lldx%lldx%lld:%7s", &m, &k, &n, suffix);
        int trans = !suffix[0]                     ? 0
                    : strcmp(suffix, "at") == 0   ? TRANS_A
                    : strcmp(suffix, "bt") == 0   ? TRANS_B
                    : strcmp(suffix, "atbt") == 0 ? TRANS_A | TRANS_B
                                                  : -1;
        if (got < 3 || trans < 0 || m < 1 || k < 1 || n < 1) {
            fprintf(stderr, "gemm_probe: bad shape '%s' (want MxKxN[:at|:bt|:atbt])\n", argv[i]);
            return 2;
        }
        given[nshapes++] = (shape){m, k, n, "given", trans};
    }
    const shape *shapes = nshapes ? given : SHAPES;
    if (!nshapes) nshapes = sizeof SHAPES / sizeof SHAPES[0];
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    const mt_backend *omp = mt_backend_by_name("openmp");
    if (!omp) {
        fprintf(stderr, "gemm_probe: %s\n", mt_last_error());
        return 1;
    }
    mt_set_grad_enabled(false);
    printf("threads %d, median of %d samples; GFLOP/s = 2 M K N / time\n", threads, samples);
    printf("%-16s %-28s %10s %10s %7s %10s\n", "M x K x N", "", "ours", "openblas", "ratio",
           "max rel");
    int status = 0;
    for (size_t i = 0; i < nshapes; i++) {
        const shape *s = &shapes[i];
        mt_ctx *ctx = mt_ctx_new(omp), *scratch = mt_ctx_new(omp);
        mt_rng rng;
        mt_rng_seed(&rng, 1234 + i);
        bench x = {.s = s, .scratch = scratch};
        bool ta = s->trans & TRANS_A, tb = s->trans & TRANS_B;
        mt_tensor *sa = ta ? mt_rand_uniform(ctx, MT_SHAPE(s->k, s->m), -1.0f, 1.0f, &rng)
                           : mt_rand_uniform(ctx, MT_SHAPE(s->m, s->k), -1.0f, 1.0f, &rng);
        mt_tensor *sb = tb ? mt_rand_uniform(ctx, MT_SHAPE(s->n, s->k), -1.0f, 1.0f, &rng)
                           : mt_rand_uniform(ctx, MT_SHAPE(s->k, s->n), -1.0f, 1.0f, &rng);
        x.a = sa && ta ? mt_transpose(ctx, sa) : sa;
        x.b = sb && tb ? mt_transpose(ctx, sb) : sb;
        float *ha = malloc((size_t)(s->m * s->k) * sizeof(float));
        float *hb = malloc((size_t)(s->k * s->n) * sizeof(float));
        float *hc = malloc((size_t)(s->m * s->n) * sizeof(float));
        float *ours = malloc((size_t)(s->m * s->n) * sizeof(float));
        if (!x.a || !x.b || !ha || !hb || !hc || !ours || mt_to_host(sa, ha) != MT_OK ||
            mt_to_host(sb, hb) != MT_OK) {
            fprintf(stderr, "gemm_probe: setup failed: %s\n", mt_last_error());
            return 1;
        }
        x.ha = ha;
        x.hb = hb;
        x.hc = hc;

        double t_ours, t_blas;
        int timed = time_medians(&x, samples, &t_ours, &t_blas);
        mt_tensor *c = mt_matmul(scratch, x.a, x.b);
        if (!timed || !c || mt_to_host(c, ours) != MT_OK) {
            fprintf(stderr, "gemm_probe: matmul failed: %s\n", mt_last_error());
            return 1;
        }
        /* |ours - blas| relative to sum_k |a||b| (the scale of the rounding error) <= ~K eps,
         * on about 64 rows spread over the result */
        double worst = 0.0;
        int64_t step = s->m > 64 ? s->m / 64 : 1;
        for (int64_t r = 0; r < s->m; r += step)
            for (int64_t q = 0; q < s->n; q++) {
                double scale = 0.0;
                for (int64_t k = 0; k < s->k; k++)
                    scale += fabs((double)ha[ta ? k * s->m + r : r * s->k + k] *
                                  hb[tb ? q * s->k + k : k * s->n + q]);
                double e = fabs((double)ours[r * s->n + q] - hc[r * s->n + q]) / (scale + 1e-30);
                if (e > worst) worst = e;
            }
        if (worst > 1e-5) status = 1;
        char dims[48];
        static const char *suffixes[] = {"", ":at", ":bt", ":atbt"};
        snprintf(dims, sizeof dims, "%lldx%lldx%lld%s", (long long)s->m, (long long)s->k,
                 (long long)s->n, suffixes[s->trans & 3]);
        double flop = 2.0 * (double)s->m * (double)s->k * (double)s->n;
        printf("%-16s %-28s %10.1f %10.1f %7.2f %10.1e%s\n", dims, s->what, flop / t_ours * 1e-9,
               flop / t_blas * 1e-9, t_blas / t_ours, worst, worst > 1e-5 ? "  MISMATCH" : "");
        fflush(stdout);
        free(ha);
        free(hb);
        free(hc);
        free(ours);
        mt_ctx_free(scratch);
        mt_ctx_free(ctx);
    }
    return status;
}
