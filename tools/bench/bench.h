/* The benchmark harness: cases, implementations (backends and baselines), the sweep interface each
 * benchmark implements, the checks and the report.
 *
 * A sweep is a list of cases (one report row each: a shape and, for conv, forward or
 * forward+backward). Every case is timed on every implementation:
 *   - each backend of the engine's registry (naive, openmp, ... whatever this build has), through
 *     the public API;
 *   - the baselines: OpenBLAS sgemm (matmul) / im2col + sgemm (conv), memcpy of the same bytes
 *     (elementwise, reduce), and PyTorch in a separate process (tools/bench/torch_baseline.py).
 * After an implementation's timing, its outputs are compared with the naive backend's. */
#ifndef MT_BENCH_H
#define MT_BENCH_H

#include "minitorch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_CASES 128
#define BENCH_MAX_IMPLS 12
#define BENCH_MAX_OUTPUTS 3
#define BENCH_MAX_REGIONS 32

typedef struct bench_shape {
    int ndim;
    int64_t d[MT_MAX_DIMS];
} bench_shape;

int64_t bench_shape_numel(const bench_shape *s);
/* "2x3x4" (filter-friendly, used in benchmark names) and "(2, 3, 4)" (the report). */
const char *bench_shape_x(const bench_shape *s, char *buf, size_t len);
const char *bench_shape_paren(const bench_shape *s, char *buf, size_t len);
/* Parses "2x3x4" or "2,3,4"; returns 0 on success. */
int bench_shape_parse(const char *text, bench_shape *s);
/* malloc of n floats; NULL with "cannot allocate N bytes of host memory (reason)" in err. */
float *bench_host_floats(int64_t n, char *err, size_t errlen);
/* The most elements any tensor of a case may have (2^36 floats: 256 GiB, more than a machine this
 * runs on holds), so sizes computed from shapes never overflow int64 or size_t. */
#define BENCH_MAX_NUMEL (INT64_C(1) << 36)
/* Whether the product of the n factors stays within BENCH_MAX_NUMEL; otherwise prints why, naming
 * what (e.g. "the output"). */
bool bench_numel_ok(const char *what, int n, const int64_t *factors);

/* ------------------------------------------------------------------ implementations */
typedef enum bench_impl_kind {
    IMPL_BACKEND,  /* an engine backend from the registry */
    IMPL_OPENBLAS, /* cblas_sgemm, or im2col + cblas_sgemm for conv */
    IMPL_MEMCPY,   /* memcpy of the bytes the op moves */
    IMPL_TORCH     /* PyTorch, timed by tools/bench/torch_baseline.py in its own process */
} bench_impl_kind;

typedef struct bench_impl {
    bench_impl_kind kind;
    const mt_backend *backend; /* IMPL_BACKEND */
    char name[48];             /* column title */
    bool is_naive;
    /* A simulated backend (MT_BACKEND_SIMULATED) runs device code on a CPU simulator: it is
     * checked but never shown as a speed figure. */
    bool simulated;
    /* A GPU backend (MT_BACKEND_GPU): the report adds CPU-vs-CUDA ratios. */
    bool cuda;
    /* Malloc settings for IMPL_TORCH (NULL: the default glibc allocator). */
    const char *torch_env;
} bench_impl;

/* ------------------------------------------------------------------ cases */
/* What a case computes, for the report. */
typedef struct bench_case {
    char id[160];       /* benchmark-name prefix: "matmul/512x512@512x512" */
    char what[32];      /* "fwd", "fwd+bwd", "add", "sum dim=1", ... */
    bench_shape in[2];  /* (A, B), (input, weight) or (a[, b]) */
    int nin;
    int op;             /* mt_op (elementwise, reduce) */
    int dim;            /* reduce; matmul: which operands are transposed views (sweep_matmul.c) */
    bool backward;      /* conv: forward + backward */
    double work;        /* FLOP (matmul, conv) or bytes moved (elementwise, reduce) */
} bench_case;

/* ------------------------------------------------------------------ checks */
/* A box of one output (row-major, [lo, hi) per dim) with the naive backend's values. Cases too
 * large for the naive backend are checked on boxes it can afford: the first and last rows of a
 * matmul, the first and last images and channels of a conv. */
typedef struct bench_region {
    int output; /* which of the case's outputs */
    int ndim;
    int64_t lo[MT_MAX_DIMS], hi[MT_MAX_DIMS];
    float *ref; /* malloc'd, the box's elements in row-major order */
} bench_region;

typedef struct bench_reference {
    bench_region regions[BENCH_MAX_REGIONS];
    int count;
    bool full; /* the regions cover every output element */
    char note[400]; /* what the regions cover, when not everything */
} bench_reference;
void bench_reference_free(bench_reference *r);
/* Root mean square of a region's finite reference values (the check's tolerance scale). */
double bench_region_rms(const bench_region *g);

/* One output of an implementation, as host floats. */
typedef struct bench_output {
    const char *name; /* "out", "grad_input", "grad_weight" */
    bench_shape shape;
    float *data;      /* malloc'd */
} bench_output;

/* ------------------------------------------------------------------ sweeps */
typedef struct bench_options bench_options;

/* One benchmark (matmul, conv2d, ...): its cases and how to run them on each implementation. */
typedef struct bench_sweep {
    const char *name;
    const char *rate_unit; /* "GFLOP/s" or "GB/s" */
    const char *work_note; /* how work is counted, for the report */
    /* The built-in cases (quick: a few small ones for smoke tests). Returns the count. */
    int (*builtin)(bool quick, bench_case *cases, int max);
    /* Cases from one line of a shapes file (tokens already split); returns how many it added,
     * or -1 after printing what is wrong with the line. */
    int (*parse_line)(int ntok, char **tok, bench_case *cases, int max);
    /* Whether impl can run c (a backend without the kernel, a baseline that does not apply). */
    bool (*applies)(const bench_case *c, const bench_impl *impl);
    /* Builds an instance: inputs made and uploaded, outputs allocated, one untimed warm-up run.
     * Returns NULL with a message in err. */
    void *(*setup)(const bench_case *c, const bench_impl *impl, char *err, size_t errlen);
    /* One timed iteration; returns 0, or non-zero with a message in err. */
    int (*run)(void *inst, char *err, size_t errlen);
    /* The outputs of the latest run, as host copies; returns how many, or -1 with err. */
    int (*outputs)(void *inst, bench_output *outs, char *err, size_t errlen);
    void (*release)(void *inst);
    /* The naive backend's values for c, within budget FLOP (or bytes); 0 or -1 with err. */
    int (*reference)(const bench_case *c, double budget, bench_reference *ref, char *err,
                     size_t errlen);
    /* Work the naive backend would do for c (compared with --naive-limit). */
    double (*naive_work)(const bench_case *c);
} bench_sweep;

extern const bench_sweep bench_sweep_matmul;
extern const bench_sweep bench_sweep_elementwise;
extern const bench_sweep bench_sweep_reduce;
extern const bench_sweep bench_sweep_conv1d;
extern const bench_sweep bench_sweep_conv2d;
extern const bench_sweep bench_sweep_nn;
extern const bench_sweep bench_sweep_train_step;

/* ------------------------------------------------------------------ shared helpers */
/* Deterministic inputs: uniform in [-1, 1) from (seed, stream). */
void bench_fill(float *dst, int64_t n, uint64_t seed);
/* Seeds of a case's inputs, so that every implementation and the reference see the same data. */
uint64_t bench_input_seed(const bench_case *c, int input);
/* A view of t narrowed to [start, start + len) on dim (t's storage, no copy). */
void bench_narrow(const mt_tensor *t, int dim, int64_t start, int64_t len, mt_tensor *view);
/* Copies t to a new malloc'd host buffer and describes it in out. Returns 0 or -1 with err. */
int bench_output_from_tensor(const char *name, const mt_tensor *t, bench_output *out, char *err,
                             size_t errlen);
/* Fills a region covering box [lo, hi) of output `output` from a naive result tensor whose
 * elements are exactly that box. */
int bench_region_from_tensor(bench_reference *ref, int output, int ndim, const int64_t *lo,
                             const int64_t *hi, const mt_tensor *t, char *err, size_t errlen);
/* Splits [0, n) into the ranges a reference covers when it may only afford `keep` indices: all of
 * them, or the first keep/2 and the last keep - keep/2 (tails are where tiled kernels go wrong).
 * Returns the number of ranges (1 or 2). */
int bench_head_tail(int64_t n, int64_t keep, int64_t start[2], int64_t len[2]);

/* The result of comparing an implementation's outputs with the reference. */
typedef struct bench_check {
    bool done;
    bool ok;
    double max_abs_diff;
    double max_rel_diff;
    char message[256]; /* the first mismatch */
} bench_check;
void bench_compare(const bench_reference *ref, const bench_output *outs, int nouts,
                   bench_check *check);

/* The memcpy baseline of the bandwidth-bound sweeps (elementwise, reduce, nn): an op that reads
 * plus writes `work` bytes moves the same traffic as a memcpy of work / 2 bytes. */
typedef struct bench_copy {
    unsigned char *src, *dst;
    size_t bytes;
} bench_copy;
/* Allocates and writes both buffers (every page touched before timing); 0 or -1 with err. */
int bench_copy_init(bench_copy *cp, double work, uint64_t seed, char *err, size_t errlen);
void bench_copy_run(bench_copy *cp);
/* 0 when the destination equals the source, else -1 with err. */
int bench_copy_verify(const bench_copy *cp, char *err, size_t errlen);
void bench_copy_free(bench_copy *cp);

/* sweep_bandwidth.c: the instance the bandwidth-bound sweeps (elementwise, reduce, nn) share. A
 * sweep gives how to apply its op to the case's inputs (b is NULL for one-input cases); the rest
 * (inputs from the case's seeds, a scratch context reset per run, the memcpy column, the naive
 * reference over the whole output) is common. Their .run/.outputs/.release/.naive_work are these
 * functions; .setup and .reference are one-line wrappers passing the sweep's apply. */
typedef mt_tensor *(*bench_bw_apply)(mt_ctx *ctx, const bench_case *c, const mt_tensor *a,
                                     const mt_tensor *b);
void *bench_bw_setup(const bench_case *c, const bench_impl *impl, bench_bw_apply apply,
                     const char *out_name, char *err, size_t errlen);
int bench_bw_run(void *p, char *err, size_t errlen);
int bench_bw_outputs(void *p, bench_output *outs, char *err, size_t errlen);
void bench_bw_release(void *p);
double bench_bw_naive_work(const bench_case *c);
int bench_bw_reference(const bench_case *c, bench_bw_apply apply, bench_reference *ref, char *err,
                       size_t errlen);

/* OpenBLAS baselines (bench/baseline_blas.c). */
void bench_openblas_set_threads(int threads);
const char *bench_openblas_config(void);
/* c (M,N) = a (M,K) @ b (K,N), all row-major contiguous. */
void bench_sgemm(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c);
void bench_sgemm_ex(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                    float *c, int64_t ldc);

#endif
