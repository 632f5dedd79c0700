/* Proof that the verifier can fail. Each test builds a test-only backend, a copy of the naive
 * kernel table with one kernel swapped for a plausibly wrong one, runs the verifier library on it
 * and requires a non-zero status, the right kind of failure, and a reproduce line. The unchanged
 * copy must pass, so the failures come from the planted bugs and nothing else.
 * PLANTED_VERBOSE=1 prints the verifier's output for every planted bug (to see what users see). */
#include "check.h"
#include "internal.h"
#include "verify_lib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(_OPENMP)
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
#endif

/* ------------------------------------------------------------------ planted kernels */
/* A loop over out's elements calling f(a, b) with numpy broadcasting, as the naive zip does. */
static void zip_loop(const mt_kernel_args *args, float (*f)(float, float)) {
    mt_tensor *out = args->out;
    const mt_tensor *a = args->src[0], *b = args->src[1];
    int64_t index[MT_MAX_DIMS];
    for (int64_t i = 0; i < mt_numel(out); i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        float x = a->storage->data[mt_broadcast_position(a, out->ndim, index)];
        float y = b ? b->storage->data[mt_broadcast_position(b, out->ndim, index)] : 0.0f;
        out->storage->data[out->offset + mt_index_to_position(out->ndim, index, out->strides)] =
            f(x, y);
    }
}

/* Wrong broadcast: b's dims matched to out's from the left instead of the right (wrapped so it
 * stays in bounds). Right when a and b have the same rank, wrong otherwise. */
static mt_status add_left_aligned(const mt_kernel_args *args) {
    mt_tensor *out = args->out;
    const mt_tensor *a = args->src[0], *b = args->src[1];
    int64_t index[MT_MAX_DIMS];
    for (int64_t i = 0; i < mt_numel(out); i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        int64_t pb = b->offset;
        for (int d = 0; d < b->ndim; d++)
            if (b->shape[d] > 1) pb += (index[d] % b->shape[d]) * b->strides[d];
        float x = a->storage->data[mt_broadcast_position(a, out->ndim, index)];
        out->storage->data[out->offset + mt_index_to_position(out->ndim, index, out->strides)] =
            x + b->storage->data[pb];
    }
    return MT_OK;
}

/* Wrong gradient: d(1/a) = +b/a^2, the sign lost. The forward inv kernel is untouched. */
static float inv_back_sign(float a, float b) { return b / (a * a); }
static mt_status inv_back_wrong_sign(const mt_kernel_args *args) {
    zip_loop(args, inv_back_sign);
    return MT_OK;
}

/* A NaN: the textbook sigmoid e^x / (1 + e^x) in float overflows to inf / inf for x > 88.7. */
static float sigmoid_naive_form(float x, float unused) {
    (void)unused;
    float e = expf(x);
    return e / (1.0f + e);
}
static mt_status sigmoid_unstable(const mt_kernel_args *args) {
    zip_loop(args, sigmoid_naive_form);
    return MT_OK;
}

/* An out-of-bounds write: a tail loop that stores one element too many. */
static mt_status neg_one_past_end(const mt_kernel_args *args) {
    mt_status s = mt_naive_backend.kernels[MT_OP_NEG](args);
    args->out->storage->data[args->out->offset + mt_numel(args->out)] = 0.0f;
    return s;
}

/* An unwritten element: the reduction's outer loop stops one output early. */
static mt_status sum_skips_last(const mt_kernel_args *args) {
    mt_tensor *out = args->out;
    const mt_tensor *a = args->src[0];
    int dim = args->params.dim;
    int64_t index[MT_MAX_DIMS];
    for (int64_t i = 0; i < mt_numel(out) - 1; i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        int64_t base = a->offset + mt_index_to_position(a->ndim, index, a->strides);
        double acc = 0;
        for (int64_t k = 0; k < a->shape[dim]; k++)
            acc += a->storage->data[base + k * a->strides[dim]];
        out->storage->data[out->offset + mt_index_to_position(out->ndim, index, out->strides)] =
            (float)acc;
    }
    return MT_OK;
}

/* Nondeterminism: every other call rounds one element differently (a race, in miniature). The
 * difference is one ulp, inside every tolerance: only the same-bits-twice check can see it. */
static mt_status mul_flaky(const mt_kernel_args *args) {
    static int calls;
    mt_status s = mt_naive_backend.kernels[MT_OP_MUL](args);
    if (++calls % 2 == 0) {
        float *first = &args->out->storage->data[args->out->offset];
        *first = nextafterf(*first, INFINITY);
    }
    return s;
}

/* A write into an input: exp computed "in place" into its source as well. */
static mt_status exp_clobbers_input(const mt_kernel_args *args) {
    mt_status s = mt_naive_backend.kernels[MT_OP_EXP](args);
    const mt_tensor *a = args->src[0];
    a->storage->data[a->offset] = 0.5f;
    return s;
}

/* Off by one in conv1d: the bounds check drops the last input column. */
static mt_status conv1d_off_by_one(const mt_kernel_args *args) {
    mt_tensor *out = args->out;         /* (B, Cout, Wo) */
    const mt_tensor *in = args->src[0]; /* (B, Cin, W) */
    const mt_tensor *w = args->src[1];  /* (Cout, Cin, K) */
    const mt_op_params *p = &args->params;
    int64_t B = out->shape[0], Cout = out->shape[1], Wo = out->shape[2];
    int64_t Cin = in->shape[1], W = in->shape[2], K = w->shape[2];
    const float *id = in->storage->data, *wd = w->storage->data;
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < Cout; o++)
            for (int64_t t = 0; t < Wo; t++) {
                double acc = 0;
                for (int64_t i = 0; i < Cin; i++)
                    for (int64_t k = 0; k < K; k++) {
                        int64_t pos = p->reverse ? t - k : t * p->stride[0] + k - p->pad[0];
                        if (pos < 0 || pos >= W - 1) continue; /* BUG: W - 1 */
                        acc += (double)id[in->offset + b * in->strides[0] + i * in->strides[1] +
                                          pos * in->strides[2]] *
                               wd[w->offset + o * w->strides[0] + i * w->strides[1] +
                                  k * w->strides[2]];
                    }
                out->storage->data[out->offset + b * out->strides[0] + o * out->strides[1] +
                                   t * out->strides[2]] = (float)acc;
            }
    return MT_OK;
}

/* ------------------------------------------------------------------ bugs only the size classes,
 * thread counts, value ranges, layouts, graphs and bit comparisons of issue #16 catch */
/* A one-input kernel's element i: a's value at output ordinal i (a broadcast to out). */
static float in_at(const mt_tensor *a, const mt_tensor *out, int64_t i) {
    int64_t index[MT_MAX_DIMS];
    mt_ordinal_to_index(i, out->ndim, out->shape, index);
    return a->storage->data[mt_broadcast_position(a, out->ndim, index)];
}
static float *out_at(mt_tensor *out, int64_t i) {
    int64_t index[MT_MAX_DIMS];
    mt_ordinal_to_index(i, out->ndim, out->shape, index);
    return &out->storage->data[out->offset + mt_index_to_position(out->ndim, index, out->strides)];
}

/* The sum of one output's L inputs from x at stride sk, in blocks of 4096 (as openmp's), where
 * every block after the first starts one element late: right for any L up to a block. */
#define PLANTED_BLOCK 4096
static mt_status sum_block_off_by_one(const mt_kernel_args *args) {
    mt_tensor *out = args->out;
    const mt_tensor *a = args->src[0];
    int dim = args->params.dim;
    int64_t index[MT_MAX_DIMS], L = a->shape[dim];
    for (int64_t i = 0; i < mt_numel(out); i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        const float *x = a->storage->data + a->offset +
                         mt_index_to_position(a->ndim, index, a->strides);
        double acc = 0;
        for (int64_t k0 = 0; k0 < L; k0 += PLANTED_BLOCK)
            for (int64_t k = k0 + (k0 > 0); k < L && k < k0 + PLANTED_BLOCK; k++) /* BUG */
                acc += x[k * a->strides[dim]];
        *out_at(out, i) = (float)acc;
    }
    return MT_OK;
}

/* A sum whose long rows are cut into one float partial sum per thread: within every tolerance,
 * but its bits follow the thread count (the openmp promise is the same bits at any count). */
static mt_status sum_per_thread(const mt_kernel_args *args) {
    mt_tensor *out = args->out;
    const mt_tensor *a = args->src[0];
    int dim = args->params.dim;
    int64_t index[MT_MAX_DIMS], L = a->shape[dim], parts = L >= 1024 ? omp_get_max_threads() : 1;
    for (int64_t i = 0; i < mt_numel(out); i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        const float *x = a->storage->data + a->offset +
                         mt_index_to_position(a->ndim, index, a->strides);
        float total = 0.0f;
        for (int64_t p = 0; p < parts; p++) {
            float part = 0.0f;
            for (int64_t k = L * p / parts; k < L * (p + 1) / parts; k++)
                part += x[k * a->strides[dim]];
            total += part;
        }
        *out_at(out, i) = total;
    }
    return MT_OK;
}

/* softmax where rows are strided (the tiled form) without the max shift, in double: exact to
 * ~1e-300, so only inputs past 709 overflow it. */
static mt_status softmax_tiled_no_shift(const mt_kernel_args *args) {
    const mt_tensor *a = args->src[0];
    int dim = args->params.dim;
    if (dim == a->ndim - 1) return mt_naive_backend.kernels[MT_OP_SOFTMAX](args);
    mt_tensor *out = args->out;
    int64_t L = a->shape[dim], sk = a->strides[dim], so = out->strides[dim];
    int64_t index[MT_MAX_DIMS];
    for (int64_t i = 0; i < mt_numel(out); i++) {
        mt_ordinal_to_index(i, out->ndim, out->shape, index);
        if (index[dim] != 0) continue; /* one row per first element */
        const float *x = a->storage->data + a->offset +
                         mt_index_to_position(a->ndim, index, a->strides);
        float *o = out_at(out, i);
        double s = 0;
        for (int64_t k = 0; k < L; k++) s += exp((double)x[k * sk]);
        for (int64_t k = 0; k < L; k++) o[k * so] = (float)(exp((double)x[k * sk]) / s);
    }
    return MT_OK;
}

/* A conv2d fast path for inputs whose planes are contiguous (and not a broadcast view) that takes
 * the batch stride from the shape (C H W): right for a whole tensor, wrong for a channel slice
 * x[:, c0:c1]. */
static mt_status conv2d_dense_batch(const mt_kernel_args *args) {
    const mt_tensor *in = args->src[0]; /* (B, Cin, H, W) */
    mt_kernel_args copy = *args;
    mt_tensor view = *in;
    if (in->strides[3] == 1 && in->strides[2] == in->shape[3] &&
        in->strides[1] == in->shape[2] * in->shape[3] && in->strides[0] > 0) /* not a broadcast */
        view.strides[0] = in->shape[1] * in->strides[1]; /* BUG: a slice's is larger */
    copy.src[0] = &view;
    return mt_naive_backend.kernels[MT_OP_CONV2D](&copy);
}

/* A squaring fast path for x * x (both operands the same tensor) that walks storage as if x
 * were contiguous: only a graph that multiplies a strided tensor by itself calls it. */
static float mul_f(float x, float y) { return x * y; }
static mt_status mul_square_contiguous(const mt_kernel_args *args) {
    const mt_tensor *a = args->src[0];
    if (a != args->src[1]) {
        zip_loop(args, mul_f);
        return MT_OK;
    }
    for (int64_t i = 0; i < mt_numel(args->out); i++) {
        float x = a->storage->data[a->offset + i]; /* BUG: ignores a's strides */
        *out_at(args->out, i) = x * x;
    }
    return MT_OK;
}

/* relu as x >= 0 ? x : 0: the right numbers, but -0 for x = -0 (relu is exact: +0). */
static mt_status relu_negative_zero(const mt_kernel_args *args) {
    for (int64_t i = 0; i < mt_numel(args->out); i++) {
        float x = in_at(args->src[0], args->out, i);
        *out_at(args->out, i) = x >= 0 ? x : 0.0f; /* BUG: >= lets -0 through */
    }
    return MT_OK;
}

/* exp whose vector tail (the last n % 16 elements of each inner run) takes another formula,
 * within 2 ulp of the body's: values that move between body and tail change bits. */
static mt_status exp_other_tail(const mt_kernel_args *args) {
    mt_tensor *out = args->out;
    int64_t run = out->ndim ? out->shape[out->ndim - 1] : 1, body = run - run % 16;
    for (int64_t i = 0; i < mt_numel(out); i++) {
        float x = in_at(args->src[0], out, i);
        *out_at(out, i) = i % run < body ? (float)exp((double)x)
                                         : exp2f(x * 1.44269504f); /* BUG: not the body's */
    }
    return MT_OK;
}

/* ------------------------------------------------------------------ running the verifier */
static mt_backend planted(const char *name, mt_op op, mt_kernel_fn kernel) {
    mt_backend b = mt_naive_backend;
    b.name = name;
    if (op != MT_OP_COUNT) b.kernels[op] = kernel;
    return b;
}

typedef struct result {
    int status;
    vf_summary sum;
    char log[1 << 16];
} result;

static void run(const mt_backend *b, const char *op, int grad_cases, result *r) {
    vf_config cfg;
    vf_config_init(&cfg, MT_GOLDEN_DIR);
    const mt_backend *backends[1] = {b};
    const char *ops[1] = {op};
    cfg.backends = backends;
    cfg.nbackends = 1;
    cfg.ops = ops;
    cfg.nops = 1;
    cfg.seed = 7;
    cfg.cases = 30;
    cfg.grad_cases = grad_cases;
    FILE *log = tmpfile();
    cfg.out = log;
    r->status = log ? vf_run(&cfg, &r->sum) : -1;
    memset(r->log, 0, sizeof r->log);
    if (log) {
        rewind(log);
        size_t n = fread(r->log, 1, sizeof r->log - 1, log);
        r->log[n] = '\0';
        fclose(log);
    }
}

/* The planted bug must fail the run, be reported as `kind`, and come with a reproduce line. */
static void expect_caught(const char *bug, const mt_backend *b, const char *op, vf_failure kind,
                          int grad_cases) {
    static result r;
    int failed_before = check_failed;
    run(b, op, grad_cases, &r);
    CHECK(r.status == 1, "%s: the verifier returned %d, expected 1 (failure)", bug, r.status);
    /* wrong numbers may first show as a NaN or an infinity where the reference has a number */
    int seen = r.sum.failures[kind];
    if (kind == VF_FAIL_VALUE) seen += r.sum.failures[VF_FAIL_NAN] + r.sum.failures[VF_FAIL_INF];
    CHECK(seen > 0, "%s: no '%s' failure reported", bug, vf_failure_name(kind));
    CHECK(r.sum.failed_cells == 1, "%s: %d failed cells, expected 1", bug, r.sum.failed_cells);
    CHECK(strstr(r.log, "verify: FAIL") != NULL, "%s: no FAIL summary line", bug);
    char repro[128];
    snprintf(repro, sizeof repro, "./verify --op %s", op);
    CHECK(strstr(r.log, repro) != NULL, "%s: no reproduce line '%s ...'", bug, repro);
    if (getenv("PLANTED_VERBOSE") || check_failed > failed_before)
        fprintf(stderr, "---- verifier output for %s ----\n%s\n", bug, r.log);
}

static void test_unchanged_copy_passes(void) {
    static const char *const ops[] = {"add",  "inv",     "sigmoid", "neg",  "sum",
                                      "mul",  "exp",     "relu",    "softmax", "conv2d"};
    mt_backend copy = planted("naive-copy", MT_OP_COUNT, NULL);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        static result r;
        run(&copy, ops[i], -1, &r);
        CHECK(r.status == 0, "the unchanged naive copy fails %s:\n%s", ops[i], r.log);
    }
}

static void test_wrong_broadcast(void) {
    mt_backend b = planted("planted-broadcast", MT_OP_ADD, add_left_aligned);
    expect_caught("wrong broadcast", &b, "add", VF_FAIL_VALUE, -1);
}

static void test_wrong_gradient(void) {
    /* only inv's gradient checks can see it: the forward kernel is right */
    mt_backend b = planted("planted-gradient", MT_OP_INV_BACK, inv_back_wrong_sign);
    expect_caught("wrong gradient", &b, "inv", VF_FAIL_GRADIENT, -1);
}

static void test_nan(void) {
    mt_backend b = planted("planted-nan", MT_OP_SIGMOID, sigmoid_unstable);
    expect_caught("NaN from an unstable sigmoid", &b, "sigmoid", VF_FAIL_NAN, -1);
}

static void test_out_of_bounds_write(void) {
    /* no gradient cases: autodiff would run the bad kernel on arena memory without guards */
    mt_backend b = planted("planted-oob", MT_OP_NEG, neg_one_past_end);
    expect_caught("out-of-bounds write", &b, "neg", VF_FAIL_CANARY, 0);
}

static void test_unwritten_output(void) {
    mt_backend b = planted("planted-unwritten", MT_OP_SUM, sum_skips_last);
    expect_caught("unwritten output", &b, "sum", VF_FAIL_UNWRITTEN, -1);
}

static void test_nondeterminism(void) {
    mt_backend b = planted("planted-flaky", MT_OP_MUL, mul_flaky);
    expect_caught("nondeterministic kernel", &b, "mul", VF_FAIL_NONDETERMINISTIC, -1);
}

static void test_input_write(void) {
    mt_backend b = planted("planted-clobber", MT_OP_EXP, exp_clobbers_input);
    expect_caught("write into an input", &b, "exp", VF_FAIL_INPUT_WRITE, 0);
}

static void test_missing_kernel(void) {
    mt_backend b = planted("planted-missing", MT_OP_PROD, NULL);
    expect_caught("missing kernel", &b, "prod", VF_FAIL_UNSUPPORTED, -1);
}

static void test_conv_off_by_one(void) {
    mt_backend b = planted("planted-conv", MT_OP_CONV1D, conv1d_off_by_one);
    expect_caught("off-by-one conv1d", &b, "conv1d", VF_FAIL_VALUE, 0);
}

/* A failing random case is shrunk: the broadcast bug needs two operands of different rank, and
 * nothing more, so the shrunk case must be tiny. */
static void test_shrinks(void) {
    static result r;
    mt_backend b = planted("planted-broadcast", MT_OP_ADD, add_left_aligned);
    run(&b, "add", 0, &r);
    const char *shrunk = strstr(r.log, "shrunk in");
    CHECK(shrunk != NULL, "the failing random case was not shrunk:\n%s", r.log);
    CHECK(shrunk && strstr(shrunk, "values: ") != NULL, "the shrunk case is not described");
}

/* A golden file that is corrupt or missing is a failure, never a silent pass. */
/* Each bug below passes every check the verifier had before issue #16 (this file's tests run
 * against that verifier: none of these is caught) and is caught by one of the new ones. */
static void test_block_boundary(void) {
    mt_backend b = planted("planted-block", MT_OP_SUM, sum_block_off_by_one);
    expect_caught("a reduction block boundary off by one (size classes)", &b, "sum", VF_FAIL_VALUE,
                  0);
}

static void test_thread_count(void) {
    mt_backend b = planted("planted-threads", MT_OP_SUM, sum_per_thread);
    b.kind = MT_BACKEND_CPU; /* a CPU backend promises the same bits at any thread count */
    expect_caught("bits that follow the thread count", &b, "sum", VF_FAIL_NONDETERMINISTIC, 0);
}

static void test_missing_max_shift(void) {
    mt_backend b = planted("planted-shift", MT_OP_SOFTMAX, softmax_tiled_no_shift);
    expect_caught("softmax's tiled form without the max shift (+-1000)", &b, "softmax",
                  VF_FAIL_NAN, 0);
}

static void test_channel_slice(void) {
    mt_backend b = planted("planted-slice", MT_OP_CONV2D, conv2d_dense_batch);
    expect_caught("conv2d's batch stride from the shape (a channel slice)", &b, "conv2d",
                  VF_FAIL_VALUE, 0);
}

static void test_square_in_a_graph(void) {
    mt_backend b = planted("planted-square", MT_OP_MUL, mul_square_contiguous);
    expect_caught("x * x ignoring strides (a graph reusing a value)", &b, "mul", VF_FAIL_GRADIENT,
                  -1);
}

static void test_negative_zero(void) {
    mt_backend b = planted("planted-zero", MT_OP_RELU, relu_negative_zero);
    expect_caught("relu giving -0 (bits compared)", &b, "relu", VF_FAIL_VALUE, 0);
}

static void test_body_tail_bits(void) {
    mt_backend b = planted("planted-tail", MT_OP_EXP, exp_other_tail);
    expect_caught("exp's tail off the body's bits (shifted values)", &b, "exp",
                  VF_FAIL_NONDETERMINISTIC, 0);
}

static void test_golden_dir_missing(void) {
    vf_config cfg;
    vf_config_init(&cfg, "/nonexistent/golden");
    const char *ops[1] = {"neg"};
    cfg.ops = ops;
    cfg.nops = 1;
    cfg.cases = 2;
    FILE *log = tmpfile();
    cfg.out = log;
    vf_summary sum;
    int status = vf_run(&cfg, &sum);
    CHECK(status == 1, "a missing golden directory gave status %d, expected 1", status);
    CHECK(sum.failures[VF_FAIL_GOLDEN_FILE] > 0, "no golden-file failure reported");
    if (log) fclose(log);
}

int main(void) {
    test_unchanged_copy_passes();
    test_wrong_broadcast();
    test_wrong_gradient();
    test_nan();
    test_out_of_bounds_write();
    test_unwritten_output();
    test_nondeterminism();
    test_input_write();
    test_missing_kernel();
    test_conv_off_by_one();
    test_shrinks();
    test_block_boundary();
    test_thread_count();
    test_missing_max_shift();
    test_channel_slice();
    test_square_in_a_graph();
    test_negative_zero();
    test_body_tail_bits();
    test_golden_dir_missing();
    return check_summary("test_planted_bugs");
}
