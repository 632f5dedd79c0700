/* The openmp backend on a busy machine: with processes spinning on the cores, regions whose team
 * thread is descheduled make the calling thread run its items alone for a while
 * (openmp_parallel.c). Whichever way each region runs, every result must keep the bits of a
 * one-thread run: convolutions (forward and both gradients) and matmul, at 2 and 3 threads, many
 * times over while the machine is busy. */
#include "check.h"
#include "thread_counts.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

#define NSHAPES 3
static const int64_t X[NSHAPES][4] = {{8, 8, 20, 20}, {16, 4, 28, 28}, {4, 4, 16, 16}};
static const int64_t W[NSHAPES][4] = {{8, 8, 4, 4}, {8, 4, 3, 3}, {4, 4, 5, 5}};

typedef struct result {
    float *out, *gx, *gw, *mm;
    int64_t nout, nx, nw, nmm;
} result;

static float *host(const mt_tensor *t, int64_t *n) {
    *n = mt_numel(t);
    float *p = malloc(sizeof(float) * (size_t)*n);
    CHECK_OK(mt_to_host(t, p));
    return p;
}

/* conv2d forward + backward and a matmul on shape s, inputs from a fixed seed */
static result run(const mt_backend *b, int s) {
    result r;
    mt_ctx *c = mt_ctx_new(b);
    mt_rng rng;
    mt_rng_seed(&rng, 42 + (uint64_t)s);
    mt_tensor *x = mt_rand_uniform(c, 4, X[s], -1, 1, &rng);
    mt_tensor *w = mt_rand_uniform(c, 4, W[s], -1, 1, &rng);
    CHECK_OK(mt_requires_grad(x, true));
    CHECK_OK(mt_requires_grad(w, true));
    mt_tensor *out = mt_conv2d(c, x, w, NULL);
    mt_tensor *g = mt_rand_uniform(c, out->ndim, out->shape, -1, 1, &rng);
    CHECK_OK(mt_backward(c, out, g));
    mt_tensor *a = mt_rand_uniform(c, MT_SHAPE(96, 200), -1, 1, &rng);
    mt_tensor *m = mt_rand_uniform(c, MT_SHAPE(200, 72), -1, 1, &rng);
    r.out = host(out, &r.nout);
    r.gx = host(x->grad, &r.nx);
    r.gw = host(w->grad, &r.nw);
    r.mm = host(mt_matmul(c, a, m), &r.nmm);
    mt_ctx_free(c);
    return r;
}

static bool same(const result *a, const result *b) {
    return !memcmp(a->out, b->out, sizeof(float) * (size_t)a->nout) &&
           !memcmp(a->gx, b->gx, sizeof(float) * (size_t)a->nx) &&
           !memcmp(a->gw, b->gw, sizeof(float) * (size_t)a->nw) &&
           !memcmp(a->mm, b->mm, sizeof(float) * (size_t)a->nmm);
}

static void release(result *r) {
    free(r->out), free(r->gx), free(r->gw), free(r->mm);
}

int main(void) {
#if !defined(_OPENMP)
    printf("SKIP: no OpenMP in this build\n");
    return 77;
#else
    const mt_backend *b = mt_backend_by_name("openmp");
    if (!b) {
        printf("SKIP: no openmp backend in this build\n");
        return 77;
    }
    result ref[NSHAPES];
    omp_set_num_threads(1);
    for (int s = 0; s < NSHAPES; s++) ref[s] = run(b, s);

    /* one spinner per core: every team thread shares its core with one */
    int nspin = omp_get_num_procs();
    pid_t spin[64];
    for (int k = 0; k < nspin && k < 64; k++) {
        spin[k] = fork();
        if (spin[k] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            volatile unsigned long n = 0;
            for (;;) n++;
        }
    }
    for (int i = 0; mt_test_thread_count(i); i++) {
        omp_set_num_threads(mt_test_thread_count(i));
        for (int rep = 0; rep < 30; rep++)
            for (int s = 0; s < NSHAPES; s++) {
                result r = run(b, s);
                CHECK(same(&r, &ref[s]), "shape %d, %d threads, repetition %d under load: not the "
                      "bits of one thread", s, mt_test_thread_count(i), rep);
                release(&r);
            }
    }
    for (int k = 0; k < nspin && k < 64; k++) kill(spin[k], SIGKILL);
    for (int k = 0; k < nspin && k < 64; k++) waitpid(spin[k], NULL, 0);
    for (int s = 0; s < NSHAPES; s++) release(&ref[s]);
    return check_summary("test_openmp_busy");
#endif
}
