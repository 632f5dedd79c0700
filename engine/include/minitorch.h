/* MiniTorch-C: the one public header.
 *
 * Layers (data flows down, nothing reaches back up):
 *   errors -> contexts (arenas) -> tensors (shape, strides, broadcasting) -> backends (kernel tables)
 *   -> functions with backward -> autodiff -> nn layers, losses, optimizers.
 *
 * Conventions every function follows:
 *   - float32 storage, row-major, strides counted in elements.
 *   - Every tensor lives in a context (mt_ctx, an arena). Nobody frees a single tensor:
 *     mt_ctx_reset() drops everything a context holds, mt_ctx_free() releases it.
 *   - Functions that make tensors return NULL on error and leave a message in mt_last_error();
 *     functions that do not make tensors return an mt_status.
 *   - NULL arguments, one rule for every function:
 *       * A function that returns a tensor, a pointer or an mt_status fails when a pointer it needs
 *         is NULL (NULL / the status). If an error is already recorded on this thread it is kept,
 *         because that error is what made the NULL (a chain of ops is checked once at the end);
 *         otherwise it records MT_ERR_ARG "<function>: <argument> is NULL". Either way the
 *         status is not MT_OK and the message is not empty. Call mt_clear_error() after handling
 *         an error, or a later NULL is reported as that old error.
 *       * Queries that cannot report an error answer a neutral value for NULL and record nothing:
 *         mt_numel 0, mt_is_contiguous and mt_same_shape false, mt_tensor_backend, mt_ctx_backend
 *         and mt_ctx_rng NULL, mt_ctx_bytes_used and mt_params_numel 0, mt_backend_name
 *         "(null)", mt_shape_str "(null)" (or "" without a buffer), mt_params_is_training false.
 *       * Functions that return nothing (mt_ctx_free, mt_ctx_reset, mt_ctx_seed, mt_optim_free,
 *         mt_params_free, mt_rng_seed, mt_print) do nothing with NULL (mt_print prints "NULL").
 *   - A tensor belongs to its context's current generation: after mt_ctx_reset every op, element
 *     access, backward and optimizer step given a tensor made before the reset fails with
 *     MT_ERR_STATE naming the op (see mt_ctx_reset for the limit).
 *   - Element counts are checked: a shape whose count does not fit int64 is MT_ERR_SHAPE, one whose
 *     bytes cannot be addressed (or allocated) MT_ERR_OOM, each naming the op and the shape.
 *   - Ops take the context that will own their output first (ggml's convention).
 */
#ifndef MINITORCH_H
#define MINITORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes, the op enum and MT_MAX_DIMS live in minitorch_types.h, which kernels include
 * without the rest of the API. */
#include "minitorch_types.h"

/* The message of the latest error on this thread ("" when none). */
const char *mt_last_error(void);
mt_status mt_last_status(void);
void mt_clear_error(void);
const char *mt_status_name(mt_status s);

/* ------------------------------------------------------------------ random numbers */
/* A small, explicit, seedable generator (splitmix64-seeded xoshiro256**): same seed, same stream,
 * on every platform. */
typedef struct mt_rng {
    uint64_t s[4];
} mt_rng;
void mt_rng_seed(mt_rng *r, uint64_t seed);
uint64_t mt_rng_next(mt_rng *r);
double mt_rng_uniform(mt_rng *r); /* [0, 1) with 53 random bits */
double mt_rng_normal(mt_rng *r);  /* standard normal (Box-Muller) */

/* ------------------------------------------------------------------ backends and ops */
typedef struct mt_backend mt_backend;
typedef struct mt_ctx mt_ctx;
typedef struct mt_tensor mt_tensor;


const char *mt_op_name(mt_op op);
/* Looks an op up by name; returns MT_OP_COUNT when none has that name. */
mt_op mt_op_from_name(const char *name);

/* Backends are registered at build time: "naive" always, "openmp", "cuda-sim" and "cuda" when
 * built. The naive backend is the reference the others are verified against. */
int mt_backend_count(void);
const mt_backend *mt_backend_at(int i);
const mt_backend *mt_backend_by_name(const char *name); /* NULL + error when unknown */
const mt_backend *mt_backend_naive(void);
const char *mt_backend_name(const mt_backend *b);
bool mt_backend_supports(const mt_backend *b, mt_op op);
/* What kind of backend b is: tools read this instead of guessing from names (the verifier
 * compares everything with the reference; the benchmark does not time simulators). */
typedef enum mt_backend_kind {
    MT_BACKEND_REFERENCE, /* naive: obviously correct, checked by golden files */
    MT_BACKEND_CPU,       /* fast host kernels (openmp) */
    MT_BACKEND_GPU,       /* kernels on a device; data lives in device memory */
    MT_BACKEND_SIMULATED  /* GPU kernels run by a CPU simulator: for correctness, never timing */
} mt_backend_kind;
mt_backend_kind mt_backend_get_kind(const mt_backend *b);
const char *mt_backend_kind_name(mt_backend_kind k); /* "reference", "cpu", "gpu", "simulated" */
/* Whether this process can run b (a cuda build on a machine without a GPU cannot); when not,
 * reason (if given) says why. */
bool mt_backend_available(const mt_backend *b, char *reason, size_t len);
/* Waits until b has finished the work queued so far and reports any error it hit (a device
 * backend runs kernels asynchronously); MT_OK at once for host backends. */
mt_status mt_backend_synchronize(const mt_backend *b);

/* ------------------------------------------------------------------ contexts */
/* A context is an arena. It owns tensor headers, storage and autodiff records. Constructors make
 * tensors on the context's backend; ops make them on their inputs' backend. */
mt_ctx *mt_ctx_new(const mt_backend *backend);
void mt_ctx_free(mt_ctx *ctx);
/* Drops every tensor made in ctx but keeps its memory for reuse (first-touched pages stay warm).
 * It starts a new generation: tensors made before it are refused with MT_ERR_STATE by ops,
 * element access, backward and optimizers. Tensor handles are raw pointers, so the check is
 * certain for tensors made in the last 3 generations; one kept across 4 or more resets may sit
 * where a newer tensor's header now is. Sanitizer builds also poison the reset memory, so raw
 * reads of a stale tensor's data are reported by ASan. */
void mt_ctx_reset(mt_ctx *ctx);
const mt_backend *mt_ctx_backend(const mt_ctx *ctx);
mt_rng *mt_ctx_rng(mt_ctx *ctx);
void mt_ctx_seed(mt_ctx *ctx, uint64_t seed);
size_t mt_ctx_bytes_used(const mt_ctx *ctx);
/* Raw, 64-byte aligned memory from the arena (NULL + error on failure; MT_ERR_OOM for a size
 * no allocation can hold, SIZE_MAX included). Like tensors, it is invalid after mt_ctx_reset. */
void *mt_ctx_alloc(mt_ctx *ctx, size_t bytes);

/* ------------------------------------------------------------------ tensors */
typedef struct mt_storage {
    float *data;              /* host or device address, per backend */
    int64_t size;             /* elements */
    const mt_backend *backend;
    mt_ctx *ctx;              /* owner of the data; NULL: not tracked (memory the caller owns) */
    uint64_t generation;      /* ctx's generation when the data was allocated */
} mt_storage;

typedef struct mt_node mt_node; /* autodiff record, private */

struct mt_tensor {
    int ndim;
    int64_t shape[MT_MAX_DIMS];
    int64_t strides[MT_MAX_DIMS]; /* elements; 0 on broadcast views */
    int64_t offset;               /* elements into storage */
    mt_storage *storage;
    mt_ctx *ctx;
    bool requires_grad;
    mt_tensor *grad;              /* leaves: accumulated gradient, same shape, in the leaf's context */
    mt_node *node;                /* NULL for leaves and constants */
    uint32_t visit_mark;          /* autodiff bookkeeping */
    uint64_t generation;          /* ctx's generation when this header was made (mt_ctx_reset) */
};

/* Builds the (ndim, shape) argument pair from a literal list: mt_zeros(ctx, MT_SHAPE(2, 3)). */
#define MT_SHAPE(...)                                                                 \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

int64_t mt_numel(const mt_tensor *t);
const mt_backend *mt_tensor_backend(const mt_tensor *t);
/* Row-major contiguous strides: (4,2,2) -> (4,2,1). MT_ERR_SHAPE when the shape's element count
 * does not fit int64 (the strides are then incomplete). */
mt_status mt_strides_for_shape(int ndim, const int64_t *shape, int64_t *strides);
bool mt_is_contiguous(const mt_tensor *t);
bool mt_same_shape(const mt_tensor *a, const mt_tensor *b);
/* numpy rules: right-align, 1 broadcasts, otherwise sizes must match. */
mt_status mt_shape_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
                             int64_t *out);
/* "(2, 3, 4)" into buf; returns buf. */
const char *mt_shape_str(int ndim, const int64_t *shape, char *buf, size_t buflen);
#define MT_SHAPE_STR_LEN (MT_MAX_DIMS * 22 + 4)

/* Constructors (on ctx's backend). */
mt_tensor *mt_empty(mt_ctx *ctx, int ndim, const int64_t *shape);
mt_tensor *mt_zeros(mt_ctx *ctx, int ndim, const int64_t *shape);
mt_tensor *mt_ones(mt_ctx *ctx, int ndim, const int64_t *shape);
mt_tensor *mt_full(mt_ctx *ctx, int ndim, const int64_t *shape, float value);
mt_tensor *mt_scalar(mt_ctx *ctx, float value); /* shape (1,) */
mt_tensor *mt_from_array(mt_ctx *ctx, int ndim, const int64_t *shape, const float *data);
/* Uniform in [lo, hi) from the given generator (ctx's own when rng is NULL). */
mt_tensor *mt_rand_uniform(mt_ctx *ctx, int ndim, const int64_t *shape, float lo, float hi,
                           mt_rng *rng);
mt_tensor *mt_rand_normal(mt_ctx *ctx, int ndim, const int64_t *shape, float mean, float std,
                          mt_rng *rng);

/* Element access by index (bounds-checked, any backend). */
mt_status mt_get(const mt_tensor *t, const int64_t *index, float *value);
mt_status mt_set(mt_tensor *t, const int64_t *index, float value);
/* The value of a one-element tensor. */
mt_status mt_item(const mt_tensor *t, float *value);
/* Copies the elements in row-major order of t's shape into dst (numel floats), any layout. */
mt_status mt_to_host(const mt_tensor *t, float *dst);
/* Copies numel floats, row-major, into t's elements (t's layout respected). */
mt_status mt_copy_from_host(mt_tensor *t, const float *src);
/* A copy of t on another backend, in ctx (which may use another backend). */
mt_tensor *mt_to(mt_ctx *ctx, const mt_tensor *t, const mt_backend *backend);
/* Prints shape and values (truncated) to stdout; for debugging and the examples. */
void mt_print(const char *label, const mt_tensor *t);

/* ------------------------------------------------------------------ ops with autodiff */
/* Differentiable unless noted. Zips broadcast their inputs; gradients are summed back to each
 * input's own shape. */
mt_tensor *mt_neg(mt_ctx *ctx, mt_tensor *a);
mt_tensor *mt_inv(mt_ctx *ctx, mt_tensor *a);
mt_tensor *mt_relu(mt_ctx *ctx, mt_tensor *a);
mt_tensor *mt_sigmoid(mt_ctx *ctx, mt_tensor *a);
mt_tensor *mt_log(mt_ctx *ctx, mt_tensor *a); /* IEEE log: log(0) = -inf (MiniTorch adds 1e-6) */
mt_tensor *mt_exp(mt_ctx *ctx, mt_tensor *a);
mt_tensor *mt_add(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_sub(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_mul(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_div(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_add_scalar(mt_ctx *ctx, mt_tensor *a, float s);
mt_tensor *mt_mul_scalar(mt_ctx *ctx, mt_tensor *a, float s);
/* Comparisons give 0/1 and pass no gradient. is_close: |a-b| < 1e-2, as MiniTorch. */
mt_tensor *mt_lt(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_gt(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_eq(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
mt_tensor *mt_is_close(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
/* Reductions keep the reduced dim as size 1; dim may be negative (counted from the end). */
mt_tensor *mt_sum(mt_ctx *ctx, mt_tensor *a, int dim);
mt_tensor *mt_sum_all(mt_ctx *ctx, mt_tensor *a); /* shape (1,) */
mt_tensor *mt_mean(mt_ctx *ctx, mt_tensor *a, int dim);
mt_tensor *mt_mean_all(mt_ctx *ctx, mt_tensor *a);
mt_tensor *mt_prod(mt_ctx *ctx, mt_tensor *a, int dim); /* no gradient (MiniTorch's All) */
mt_tensor *mt_matmul(mt_ctx *ctx, mt_tensor *a, mt_tensor *b);
/* Views share storage. permute: order is a permutation of 0..ndim-1. view: contiguous input only. */
mt_tensor *mt_permute(mt_ctx *ctx, mt_tensor *a, const int *order);
mt_tensor *mt_transpose(mt_ctx *ctx, mt_tensor *a); /* swaps the last two dims */
mt_tensor *mt_view(mt_ctx *ctx, mt_tensor *a, int ndim, const int64_t *shape);
mt_tensor *mt_contiguous(mt_ctx *ctx, mt_tensor *a); /* always a fresh contiguous copy */

/* ------------------------------------------------------------------ neural-network ops */
/* Convolution options. All-zero (or NULL) is MiniTorch's form: stride 1, output as long as the
 * input, kernel anchored left/top, reads past the right/bottom edge are zero:
 *   out[b,o,t] = sum_i sum_k in[b,i,t+k] * w[o,i,k]
 * reverse anchors right/bottom instead: in[b,i,t-k]. With stride/pad set (PyTorch semantics):
 *   out[b,o,t] = sum_i sum_k in[b,i,t*stride+k-pad] * w[o,i,k],  Wo = (W + 2 pad - K)/stride + 1.
 * Index 0 is the height axis for conv2d and the only axis for conv1d (whose index 1 must be 0).
 * Rules, each reported as an error naming what was given: stride and pad >= 0; stride > 1 and
 * pad > 0 only with pytorch_style (MiniTorch's form keeps the output as long as the input);
 * reverse only without it; in pytorch_style the kernel must fit the padded input (K <= W + 2 pad).
 * conv1d: input (B,Cin,W), weight (Cout,Cin,K); conv2d: input (B,Cin,H,W), weight
 * (Cout,Cin,KH,KW). Gradients flow to both input and weight. */
typedef struct mt_conv_opts {
    int stride[2]; /* 0 means 1; > 1 needs pytorch_style */
    int pad[2];    /* zero padding on both sides; needs pytorch_style */
    bool pytorch_style;
    bool reverse; /* MiniTorch form only */
} mt_conv_opts;
mt_tensor *mt_conv1d(mt_ctx *ctx, mt_tensor *input, mt_tensor *weight, const mt_conv_opts *opts);
mt_tensor *mt_conv2d(mt_ctx *ctx, mt_tensor *input, mt_tensor *weight, const mt_conv_opts *opts);
/* Pooling and tile take (B,C,H,W) and a kernel kh x kw (>= 1) that divides H and W exactly;
 * windows do not overlap (stride = kernel) and there is no padding.
 * tile: (B,C,H,W) -> (B,C,H/kh,W/kw,kh*kw), each window's cells in row-major order (MiniTorch's
 * contiguous/view/permute construction, so it is differentiable through those views). */
mt_tensor *mt_tile(mt_ctx *ctx, mt_tensor *input, int kh, int kw);
/* (B,C,H,W) -> (B,C,H/kh,W/kw): the mean / the maximum of each window. maxpool's gradient goes to
 * the first maximum of each window in row-major window order; a window holding a NaN pools to NaN
 * and its gradient goes to its first NaN. */
mt_tensor *mt_avgpool2d(mt_ctx *ctx, mt_tensor *input, int kh, int kw);
mt_tensor *mt_maxpool2d(mt_ctx *ctx, mt_tensor *input, int kh, int kw);
/* Max along dim (kept as size 1). Its gradient goes to the arg-max element only; on ties, to the
 * first (lowest index) maximum. NaN is the maximum of a row that holds one (numpy's rule). */
mt_tensor *mt_max(mt_ctx *ctx, mt_tensor *a, int dim);
/* One-hot mask of the first maximum along dim, same shape as a (no gradient). Exactly one 1 per
 * row even on ties (MiniTorch's x == max gives several); a row with a NaN marks its first NaN. */
mt_tensor *mt_argmax(mt_ctx *ctx, mt_tensor *a, int dim);
/* Along dim, shifted by the row maximum and computed in double on the naive backend, so large
 * inputs (1000) do not overflow. -inf entries get probability 0; a row holding NaN or +inf, or
 * only -inf, gives NaN, as in PyTorch. */
mt_tensor *mt_softmax(mt_ctx *ctx, mt_tensor *a, int dim);
mt_tensor *mt_logsoftmax(mt_ctx *ctx, mt_tensor *a, int dim); /* x - max - log(sum(exp(x - max))) */
/* Inverted dropout, rate in [0, 1]: out = keep ? x * (1/(1-rate)) : 0, a dropped element exactly 0
 * (whatever x holds); all zeros when rate == 1. When !training or rate == 0 it returns a itself
 * (no copy, no new node). Otherwise each call draws one 64-bit seed from mt_ctx_rng(ctx) and keeps
 * element i (its row-major ordinal) by a counter-based hash of (seed, i) that every backend shares,
 * so a seeded context gives the same mask on every backend; backward applies the same mask. */
mt_tensor *mt_dropout(mt_ctx *ctx, mt_tensor *a, float rate, bool training);
/* mt_dropout whose element i gets the mask element first + i would get in a larger tensor drawn
 * from the same generator state (same seed draw): a data-parallel rank holding rows lo.. of a
 * batch passes first = lo * (elements per row) and keeps exactly what one process keeps. */
mt_tensor *mt_dropout_at(mt_ctx *ctx, mt_tensor *a, float rate, bool training, uint64_t first);

/* ------------------------------------------------------------------ autodiff */
/* Marks a leaf as wanting a gradient. */
mt_status mt_requires_grad(mt_tensor *t, bool on);
/* Back-propagates from out. grad may be NULL only when out has one element (then it is 1).
 * Intermediate gradients are made in ctx; leaves accumulate into t->grad in their own context. */
mt_status mt_backward(mt_ctx *ctx, mt_tensor *out, mt_tensor *grad);
/* Zeroes a leaf's accumulated gradient in place. */
mt_status mt_zero_grad(mt_tensor *t);
/* Turns history recording off (false) or on (true) on this thread; returns the previous setting. */
bool mt_set_grad_enabled(bool enabled);
bool mt_grad_enabled(void);
/* A view of t with no history and requires_grad off. */
mt_tensor *mt_detach(mt_ctx *ctx, mt_tensor *t);

/* ------------------------------------------------------------------ parameters and optimizers */
/* A model is a struct of parameters; a parameter list is what an optimizer walks. */
typedef struct mt_params {
    mt_tensor **items;
    const char **names;
    int count;
    int capacity;
    bool eval; /* the model's mode: false (the zero value) is training, PyTorch's default */
} mt_params;
/* Makes a parameter (requires_grad leaf) in the long-lived ctx and appends it to list. */
mt_tensor *mt_param_new(mt_ctx *ctx, mt_params *list, const char *name, mt_tensor *init);
mt_status mt_params_add(mt_params *list, const char *name, mt_tensor *t);
void mt_params_free(mt_params *list);
int64_t mt_params_numel(const mt_params *list);
mt_status mt_params_zero_grad(mt_params *list);

/* Plain SGD: p -= lr * grad, in place. scratch holds the temporaries. */
mt_status mt_sgd_step(mt_ctx *scratch, mt_params *list, float lr);

/* Optimizers with state (momentum, Adam moments), as torch.optim.SGD (dampening 0, no Nesterov)
 * and torch.optim.Adam (not AdamW: weight decay is L2, added to the gradient):
 *   SGD:  g' = g + wd p;  v = momentum v + g';  p -= lr v      (momentum 0: p -= lr g', no state)
 *   Adam: g' = g + wd p;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;  t = steps
 *         p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * A parameter's state tensors are made in state_ctx, on the parameter's backend, the first time
 * the parameter is stepped, and updated in place afterwards: repeated steps do not grow
 * state_ctx. Parameters without a gradient (grad NULL) are skipped. Parameters appended to the
 * list after the optimizer was made are picked up. `steps` counts mt_optim_step calls and is the
 * t of Adam's bias correction for every parameter (torch counts per parameter; the two differ only
 * for a parameter that first receives a gradient after step 1). Temporaries go to the scratch
 * context passed to mt_optim_step; the caller resets it. */
typedef enum mt_optim_kind { MT_OPTIM_SGD, MT_OPTIM_ADAM } mt_optim_kind;
typedef struct mt_optim {
    mt_optim_kind kind;
    mt_params *params;
    mt_ctx *state_ctx;
    float lr, momentum, weight_decay; /* SGD: v = momentum v + (g + wd p); p -= lr v */
    float beta1, beta2, eps;          /* Adam (weight_decay added to g, as torch.optim.Adam) */
    int64_t steps;
    mt_tensor **state1, **state2; /* per parameter: velocity / first and second moments */
    int nstate;                   /* entries in state1/state2 (malloc'd; mt_optim_free frees) */
} mt_optim;
/* Fill *o (overwriting it: mt_optim_free an optimizer before reusing its struct). Hyperparameters
 * must be lr >= 0, momentum >= 0, weight_decay >= 0, 0 <= beta < 1, eps >= 0 (MT_ERR_ARG else). */
mt_status mt_optim_sgd(mt_optim *o, mt_ctx *state_ctx, mt_params *params, float lr,
                       float momentum, float weight_decay);
mt_status mt_optim_adam(mt_optim *o, mt_ctx *state_ctx, mt_params *params, float lr, float beta1,
                        float beta2, float eps, float weight_decay);
mt_status mt_optim_step(mt_optim *o, mt_ctx *scratch);
/* Frees the optimizer's own arrays; the state tensors stay in state_ctx until it is reset. */
void mt_optim_free(mt_optim *o);

/* ------------------------------------------------------------------ checkpoints */
/* One file holds a training run's state: parameters (name, shape, float32 values), optionally an
 * optimizer (kind, hyperparameters, step counter, every state tensor), named generators and named
 * integer arrays (the epoch, a data order: whatever the caller needs to resume exactly).
 *
 * Format (version MT_CHECKPOINT_VERSION), all little-endian:
 *   magic "MTCKPT\x1a\n", u32 version, u64 file length;
 *   u32 count, per integer array: name (u16 length + bytes), u64 count, count x i64;
 *   u32 count, per generator: name, 4 x u64 (the xoshiro state);
 *   u32 count, per parameter: name, u32 ndim, ndim x i64 shape, numel x f32;
 *   u8 has_optimizer; if 1: u32 kind, f32 lr, momentum, weight_decay, beta1, beta2, eps,
 *     i64 steps, per parameter: u8 flags (1: velocity / first moment, 2: second moment) and
 *     numel x f32 for each flagged tensor;
 *   u64 FNV-1a of every byte before it.
 *
 * save writes a temporary file beside path, fsyncs it and renames it over path: a crash leaves the
 * old file or the new one, never a mix. load checks the file first (a missing, truncated or
 * corrupt file, or another version: MT_ERR_IO naming the file), then the caller's lists against
 * the file: parameter count, names and shapes (MT_ERR_SHAPE, saying what differs); when optim is
 * given, the file must hold an optimizer of the same kind and bit-equal hyperparameters
 * (MT_ERR_ARG otherwise) whose state and step counter then replace the optimizer's (new state
 * tensors are made in its state_ctx). Generators and integer arrays are matched by count, order,
 * name and length when the caller passes any (nrngs / nints > 0) and skipped when it passes none,
 * so an evaluation can load the parameters alone. Nothing is written unless everything matches.
 * Tensors travel through mt_to_host / mt_copy_from_host: any backend, any layout. */
#define MT_CHECKPOINT_VERSION 1
typedef struct mt_ckpt_rng {
    const char *name;
    mt_rng *rng;
} mt_ckpt_rng;
typedef struct mt_ckpt_ints {
    const char *name;
    int64_t *values;
    int64_t count;
} mt_ckpt_ints;
typedef struct mt_checkpoint {
    mt_params *params; /* required */
    mt_optim *optim;   /* NULL: save none / ignore the file's */
    mt_ckpt_rng *rngs;
    int nrngs;
    mt_ckpt_ints *ints;
    int nints;
} mt_checkpoint;
mt_status mt_checkpoint_save(const char *path, const mt_checkpoint *c);
mt_status mt_checkpoint_load(const char *path, const mt_checkpoint *c);
/* Reads the file's integer array `name` alone (after the same file checks as load), so a caller
 * can learn what a file holds, e.g. which model wrote it, before matching its parameters:
 * *count is the array's length in the file (-1 when the file has no such array) and the first
 * min(count, cap) values go to values. */
mt_status mt_checkpoint_read_ints(const char *path, const char *name, int64_t *values,
                                  int64_t cap, int64_t *count);

/* ------------------------------------------------------------------ layers and losses */
/* Weights are drawn from rng (ctx's when NULL) uniform in +-1/sqrt(fan_in), PyTorch's default,
 * weight first, then bias; parameters are made in ctx and appended to list (which may be NULL)
 * under "<name>.weight" / "<name>.bias" (name NULL: "linear"); the names are copied into ctx. */
typedef struct mt_linear {
    mt_tensor *weight; /* (in, out): y = x @ weight + bias. PyTorch's nn.Linear holds (out, in):
                        * transpose when converting a checkpoint either way */
    mt_tensor *bias;   /* (out,) */
} mt_linear;
mt_status mt_linear_init(mt_linear *layer, mt_ctx *ctx, mt_params *list, const char *name,
                         int in_features, int out_features, mt_rng *rng);
mt_tensor *mt_linear_forward(mt_ctx *ctx, const mt_linear *layer, mt_tensor *x); /* (B,in) */

typedef struct mt_conv_layer {
    mt_tensor *weight; /* (Cout,Cin,K) or (Cout,Cin,KH,KW) */
    mt_tensor *bias;   /* (Cout,1) or (Cout,1,1), broadcast over positions */
    mt_conv_opts opts;
} mt_conv_layer;
mt_status mt_conv1d_init(mt_conv_layer *layer, mt_ctx *ctx, mt_params *list, const char *name,
                         int in_channels, int out_channels, int kernel, mt_rng *rng);
mt_status mt_conv2d_init(mt_conv_layer *layer, mt_ctx *ctx, mt_params *list, const char *name,
                         int in_channels, int out_channels, int kh, int kw, mt_rng *rng);
mt_tensor *mt_conv1d_forward(mt_ctx *ctx, const mt_conv_layer *layer, mt_tensor *x);
mt_tensor *mt_conv2d_forward(mt_ctx *ctx, const mt_conv_layer *layer, mt_tensor *x);

/* Mean negative log-likelihood: logprobs (B,C), targets one-hot (B,C). Shape (1,). */
mt_tensor *mt_nll_loss(mt_ctx *ctx, mt_tensor *logprobs, mt_tensor *targets);
/* Mean binary cross-entropy: probs (B,), targets 0/1 (B,); probs clamped to [1e-7, 1-1e-7]
 * (float32: 1 - 2^-23) so a saturated prediction gives a large finite loss. The clamp passes the
 * gradient unchanged inside the range and zero outside it, as torch.clamp. */
mt_tensor *mt_bce_loss(mt_ctx *ctx, mt_tensor *probs, mt_tensor *targets);

/* ------------------------------------------------------------------ joining tensors */
/* tensors[0..count) joined along dim into a new contiguous tensor, as torch.cat / torch.stack;
 * differentiable in every input (a tensor may appear more than once: its gradients add up).
 *   cat:   every tensor has the same ndim and the same sizes except along dim; the output's
 *          size along dim is their sum. dim in [-ndim, ndim).
 *   stack: every tensor has one shape S; the output is S with a new dim of size count inserted
 *          at dim. dim in [-(ndim+1), ndim] (negative counts from the end of the output).
 * Errors: count < 1 or a dim out of range MT_ERR_ARG; shapes that do not fit, or an output with
 * more than MT_MAX_DIMS dims MT_ERR_SHAPE, naming the tensor's index and both shapes; tensors on
 * different backends MT_ERR_BACKEND; a tensor made before its context's reset MT_ERR_STATE; a
 * NULL array or a NULL entry ("tensors[2] is NULL") as every other NULL argument. */
mt_tensor *mt_cat(mt_ctx *ctx, mt_tensor *const *tensors, int count, int dim);
mt_tensor *mt_stack(mt_ctx *ctx, mt_tensor *const *tensors, int count, int dim);

/* ------------------------------------------------------------------ losses from class labels */
/* Mean negative log-likelihood over the batch from class ids, no one-hot built by the caller:
 *   mt_nll_loss_labels: logprobs (B,C)  -> -(1/B) sum_b logprobs[b, labels[b]], shape (1,)
 *   mt_cross_entropy:   logits (B,C)    -> the same of mt_logsoftmax(logits, 1) (max-shifted, so
 *                                          logits of 1000 do not overflow), as F.cross_entropy
 * labels: B class ids on the host (int64, each in 0..C-1), checked on the host; or, in the
 * _tensor forms, a (B,) tensor on the scores' backend holding the ids as floats, checked where
 * it lives (one float is read back per call, so on a GPU the call waits for the device).
 * The gradient flows to the scores only. The one-hot is made on the scores' backend (labels
 * compared with 0..C-1 by the eq kernel), so B + C floats are uploaded, not B x C.
 * Errors: scores not 2-dim, labels not (B,), or C (or the B of a labels tensor) above 2^24 (ids
 * travel as float32) MT_ERR_SHAPE; a label out of 0..C-1 (or not an integer) MT_ERR_ARG naming
 * its index and value ("labels[3] = 10 ..."); a labels tensor on another backend MT_ERR_BACKEND.
 * mt_nll_loss (one-hot targets) stays as it was. */
mt_tensor *mt_nll_loss_labels(mt_ctx *ctx, mt_tensor *logprobs, const int64_t *labels);
mt_tensor *mt_nll_loss_labels_tensor(mt_ctx *ctx, mt_tensor *logprobs, const mt_tensor *labels);
mt_tensor *mt_cross_entropy(mt_ctx *ctx, mt_tensor *logits, const int64_t *labels);
mt_tensor *mt_cross_entropy_tensor(mt_ctx *ctx, mt_tensor *logits, const mt_tensor *labels);

/* ------------------------------------------------------------------ train / eval mode */
/* One switch per model, as PyTorch's model.train() / model.eval() / model.training: the mode is
 * kept in the model's parameter list (mt_params.eval), which every layer of the model is
 * registered in. A list starts in training mode ({0} or after mt_params_free). Only layers that
 * read the mode change: today the dropout layer. */
mt_status mt_params_train(mt_params *list, bool training); /* training false = eval */
mt_status mt_params_eval(mt_params *list);
bool mt_params_is_training(const mt_params *list);

/* A dropout layer that follows its model's mode: mt_dropout(ctx, x, rate, training) with
 * training read from model at every forward, so a model's forward takes no flag. The layer keeps
 * the model pointer: the mt_params must stay where it is (not be copied or moved) while the layer
 * is used. Errors: rate outside [0, 1] (NaN included) MT_ERR_ARG. */
typedef struct mt_dropout_layer {
    float rate;
    const mt_params *model; /* whose mode it follows */
} mt_dropout_layer;
mt_status mt_dropout_init(mt_dropout_layer *layer, const mt_params *model, float rate);
mt_tensor *mt_dropout_forward(mt_ctx *ctx, const mt_dropout_layer *layer, mt_tensor *x);

#ifdef __cplusplus
}
#endif
#endif
