/* Types shared by the verifier's files (not part of verify_lib.h's interface). */
#ifndef MT_VERIFY_INTERNAL_H
#define MT_VERIFY_INTERNAL_H

#include "internal.h" /* the engine's kernel args and backend table: kernels are called directly */
#include "verify_lib.h"

#define VF_MAX_IN 3   /* kernel inputs */
#define VF_MAX_VARS 8 /* sizes (and choices) a random case is made of */
#define VF_MSG 512    /* one failure message */

/* ------------------------------------------------------------------ value ranges */
typedef enum vf_range {
    VF_R_ONES,    /* all 1: the simplest values, tried first when shrinking */
    VF_R_INT,     /* integers in [-3, 3]: exact zeros and ties */
    VF_R_UNIT,    /* [-1, 1) */
    VF_R_WIDE,    /* [-100, 100): exp overflows, sigmoid saturates */
    VF_R_SMALL,   /* [-1e-3, 1e-3) */
    VF_R_POS,     /* [0.1, 10) */
    VF_R_NEAR1,   /* +-[0.8, 1.25): long products stay finite */
    VF_R_AWAY0,   /* +-[0.5, 2): inv without the pole */
    VF_R_HALF2,   /* [0.5, 2): log without the pole */
    VF_R_SHIFTED, /* [95, 105): softmax needs its max shift */
    VF_R_SPECIAL, /* [-1, 1) with 0, -0, +-inf and NaN sprinkled in */
    VF_R_HUGE,    /* [-1000, 1000): exp overflows anywhere a max shift is missing */
    VF_R_COUNT
} vf_range;
#define VF_BIT(r) (1u << (r))
const char *vf_range_name(vf_range r);

/* ------------------------------------------------------------------ storage layouts */
typedef enum vf_layout_kind {
    VF_L_CONTIGUOUS,
    VF_L_PERMUTED, /* dims stored in another order, padded rows, an offset, odd size-1 strides */
    VF_L_EXPANDED, /* one dim of size > 1 has stride 0 (a broadcast view); inputs only */
    VF_L_REVERSED, /* dims stored in reverse order (a transpose), no padding */
    VF_L_CHANNEL,  /* a slice of dim 1 (channels) of a larger tensor: each plane (the dims after
                    * it) contiguous, dim 0 strided past the channels left out, an offset */
    VF_L_COUNT
} vf_layout_kind;

typedef struct vf_layout {
    vf_layout_kind kind;
    int64_t strides[MT_MAX_DIMS];
    int64_t offset;
    int64_t storage; /* elements the storage must hold */
} vf_layout;

/* ------------------------------------------------------------------ cases and problems */
/* A random case in the form the shrinker edits: sizes and discrete choices the op's family turns
 * into a kernel call; values and layout details are re-derived from seed. Smaller is simpler for
 * every field (choice 0 is the plainest option). */
typedef struct vf_case {
    uint64_t seed;
    int64_t size[VF_MAX_VARS];
    int choice[VF_MAX_VARS];
    vf_range range;
    int layout[VF_MAX_IN + 1]; /* vf_layout_kind of each input, then of the output */
} vf_case;

/* One concrete kernel call. */
typedef struct vf_problem {
    int nin;
    int ndim[VF_MAX_IN];
    int64_t shape[VF_MAX_IN][MT_MAX_DIMS];
    int out_ndim;
    int64_t out_shape[MT_MAX_DIMS];
    mt_op_params params;
    mt_conv_opts conv; /* the same convolution, as the public functions take it */
    bool in_place;     /* the output is in0 itself (maps and zips) */
    int64_t work;      /* multiply-adds (or elements): what the size caps bound */
} vf_problem;

/* The host side of a call: logical row-major values and the layout each tensor is stored in. */
typedef struct vf_data {
    float *in[VF_MAX_IN];
    vf_layout layout[VF_MAX_IN];
    vf_layout out_layout;
} vf_data;

/* ------------------------------------------------------------------ the op table */
typedef struct vf_op vf_op;

typedef enum vf_params_used {
    VF_P_NONE = 0,
    VF_P_DIM = 1,
    VF_P_CONV = 2,
    VF_P_KERNEL = 4,
    VF_P_DROPOUT = 8
} vf_params_used;

typedef struct vf_family {
    const char *name;
    unsigned params_used; /* vf_params_used: which mt_op_params fields the family sets */
    bool any_out_layout;  /* its kernels promise to write outputs of any layout (elementwise) */
    /* Draws sizes and choices (sizes from the 1, 2, 3, 17, 33, 133 list, or kernel sizes). */
    void (*draw)(vf_case *c, mt_rng *rng);
    /* The kernel call a case stands for; false when the combination is invalid. */
    bool (*build)(const vf_op *op, const vf_case *c, vf_problem *p);
    /* Whether a call read from a golden file has shapes op's kernel can take. */
    bool (*valid)(const vf_op *op, const vf_problem *p);
} vf_family;

/* How the error bound scales: |got - want| <= atol * scale + rtol * |want|. */
typedef enum vf_scale {
    VF_SCALE_ONE,     /* scale 1 */
    VF_SCALE_SELF,    /* the naive kernel on |inputs|: the sum of |terms| a reduction rounds */
    VF_SCALE_SUM_ABS, /* |a| + |b| (zips whose rounding follows their operands) */
    VF_SCALE_IN0_MAX  /* 1 + max |in0| (logsoftmax subtracts numbers of that size) */
} vf_scale;

typedef struct vf_tol {
    double atol, rtol;
    double nse; /* normalized squared error sum (g-w)^2 / sum w^2 allowed */
    vf_scale scale;
} vf_tol;

/* The op through the public, differentiable API (for gradient checks). */
typedef mt_tensor *(*vf_grad_fn)(mt_ctx *ctx, mt_tensor **in, const vf_problem *p);
/* An invariant of the op's output alone; false + message when it does not hold. */
typedef bool (*vf_property_fn)(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                               size_t len);

struct vf_op {
    mt_op op;
    const vf_family *family;
    int role;        /* which kernel of the family: forward or one of the backward products */
    unsigned ranges; /* VF_BIT(vf_range) the random cases draw values from */
    vf_tol tol;
    /* Golden files: op name in the file, the arrays that feed src[0..] and the expected output.
     * Backward kernels reuse their forward op's files (e.g. relu_back: relu's in0, r -> grad0). */
    const char *golden_op; /* NULL: none, which fails the op (every op needs golden files) */
    const char *golden_in[VF_MAX_IN];
    const char *golden_out;
    vf_grad_fn grad; /* NULL: no gradient check */
    unsigned grad_ranges;
    double grad_eps; /* central-difference step */
    double grad_tol; /* atol = rtol */
    bool kinks;      /* skip elements where the one-sided differences disagree */
    vf_property_fn property;
};

extern const vf_family VF_FAMILY_MAP, VF_FAMILY_ZIP, VF_FAMILY_REDUCE, VF_FAMILY_ALONG_DIM,
    VF_FAMILY_DROPOUT, VF_FAMILY_MATMUL, VF_FAMILY_CONV1D, VF_FAMILY_CONV2D, VF_FAMILY_POOL;

/* Properties (verify_properties.c). */
bool vf_argmax_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                        size_t len);
bool vf_softmax_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                         size_t len);
bool vf_logsoftmax_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                            size_t len);
bool vf_dropout_property(const vf_problem *p, const vf_data *d, const float *out, char *msg,
                         size_t len);

int vf_table_size(void);
const vf_op *vf_table_at(int i);
const vf_op *vf_table_find(const char *name);
const char *vf_op_label(const vf_op *op); /* its engine name */

/* Draws a case for op from seed, shrunk until it fits the caps (work, elements per input). */
bool vf_draw_case(const vf_op *op, uint64_t seed, bool for_gradient, vf_case *c, vf_problem *p);
int64_t vf_numel(int ndim, const int64_t *shape);
/* The next size below v in the 1, 2, 3, 17, 33, 133 list (1 for v <= 2). */
int64_t vf_next_smaller_size(int64_t v);
/* "dim=1", "pytorch=1 reverse=0 stride=2,1 pad=1,0", "kernel=2,2", "rate=0.5 seed=7": the
 * golden files' params syntax. One value for stride/pad (conv1d) leaves axis 1 at 0. */
void vf_params_str(unsigned used, const mt_op_params *params, const mt_conv_opts *conv, char *buf,
                   size_t len);
/* Parses that syntax into params and conv; false + message on an unknown key or bad value. */
bool vf_params_parse(const char *text, mt_op_params *params, mt_conv_opts *conv, char *err,
                     size_t len);

/* ------------------------------------------------------------------ values and layouts */
void vf_fill_values(vf_range r, mt_rng *rng, float *dst, int64_t n);
void vf_layout_make(vf_layout_kind kind, int ndim, const int64_t *shape, mt_rng *rng, vf_layout *l);
/* Makes the logical values of an input consistent with its layout: elements that share storage
 * (stride 0) get the same value, the last one written. */
void vf_layout_normalize(const vf_layout *l, int ndim, const int64_t *shape, float *values);
/* Values and layouts of a case (malloc'd; vf_data_free releases them). */
bool vf_data_make(const vf_case *c, const vf_problem *p, bool contiguous_out, vf_data *d);
/* Contiguous layouts for every tensor of p (values untouched). */
void vf_data_contiguous(const vf_problem *p, vf_data *d);
void vf_data_free(vf_data *d);

/* ------------------------------------------------------------------ running kernels */
/* The result of one kernel call, with every problem the guards found. */
typedef struct vf_result {
    vf_failure failure; /* VF_FAIL_COUNT when the call ran and touched nothing it should not */
    char msg[VF_MSG];
} vf_result;

/* Runs op's kernel on backend b through its kernel table: every tensor in a guarded buffer from
 * the backend's storage path, the output pre-filled with a marker NaN. out receives the logical
 * output (numel floats). layouts=false stores everything contiguous and never in place. */
void vf_run_kernel(const vf_op *op, const mt_backend *b, const vf_problem *p, const vf_data *d,
                   bool layouts, float *out, vf_result *r);
/* A tensor on b holding values in layout l, inside a guarded buffer owned by ctx. */
mt_tensor *vf_tensor_on(mt_ctx *ctx, const mt_backend *b, int ndim, const int64_t *shape,
                        const vf_layout *l, const float *values);
/* The bit pattern the output is pre-filled with: a NaN that says "never written". */
#define VF_UNWRITTEN_BITS 0x7fc0f00du

/* ------------------------------------------------------------------ comparison */
/* Error statistics of the finite elements compared so far (for the report: drift shows before
 * it fails). ulps: |got - want| in units of the last place of want rounded to float32. */
typedef struct vf_stats {
    double sum_abs, sum_rel, max_ulp;
    int64_t count;
} vf_stats;
void vf_stats_add(vf_stats *into, const vf_stats *from);
typedef struct vf_cmp {
    vf_failure failure; /* VF_FAIL_COUNT: within tolerance */
    int64_t index;      /* first offending element */
    double got, want, bound;
    int64_t nbad;
    double max_abs, max_rel, nse;
    double worst; /* largest |got - want| / bound: how much of the tolerance was used */
    vf_stats stats;
} vf_cmp;

/* NaN first, then infinities (with sign), then |got - want| <= atol * scale + rtol * |want| per
 * element and the normalized squared error over all of them. scale may be NULL (1). An exact
 * tolerance (atol = rtol = 0) compares bits, NaN payloads aside: -0 is not +0. */
void vf_compare(const float *got, const double *want, const double *scale, int64_t n,
                const vf_tol *tol, vf_cmp *r);
/* "out[0, 2] = 1.5 (openmp), expected 1.25 (naive): ..."; what names the array ("out"). */
void vf_cmp_describe(const vf_cmp *r, const char *what, int ndim, const int64_t *shape,
                     const char *got_name, const char *want_name, char *buf, size_t len);
/* "[0, 2]": an element's index. */
const char *vf_index_str(int ndim, const int64_t *index, char *buf, size_t len);

/* ------------------------------------------------------------------ golden files */
#define VF_GOLDEN_MAX_ARRAYS 8
typedef struct vf_golden_array {
    char name[32];
    int ndim;
    int64_t shape[MT_MAX_DIMS];
    double *data;
} vf_golden_array;

typedef struct vf_golden {
    char path[512];
    char file[128]; /* name inside the directory */
    char op[64];
    char params[256];
    int narrays;
    vf_golden_array arrays[VF_GOLDEN_MAX_ARRAYS];
} vf_golden;

/* Reads one file; false + message (what is wrong, where) when it is not a valid golden file. */
bool vf_golden_read(const char *path, vf_golden *g, char *err, size_t len);
/* The same from size bytes in memory (g->path names them in messages); the fuzz harness's door. */
bool vf_golden_parse(const unsigned char *data, size_t size, vf_golden *g, char *err, size_t len);
void vf_golden_free(vf_golden *g);
const vf_golden_array *vf_golden_get(const vf_golden *g, const char *name);
/* Every *.mtgold in dir, sorted by name; false + message when dir cannot be read. Files that fail
 * to parse are returned in bad[] (path: reason). */
typedef struct vf_golden_set {
    vf_golden *cases;
    int count;
    char (*bad)[VF_MSG];
    int nbad;
} vf_golden_set;
bool vf_golden_load_dir(const char *dir, vf_golden_set *set, char *err, size_t len);
void vf_golden_set_free(vf_golden_set *set);

/* ------------------------------------------------------------------ a verification run */
typedef struct vf_session {
    const vf_config *cfg;
    FILE *out;
    vf_golden_set golden;
    bool golden_loaded;
    int golden_problems; /* unreadable directory or files, outside any op x backend cell */
    vf_summary sum;
    char *log; /* everything emitted, for the markdown report */
    size_t log_len, log_cap;
    char reproduce_extra[1100]; /* " --golden-dir DIR" when one was given, for reproduce lines */
} vf_session;

/* Prints to the run's output and keeps a copy for the report. */
void vf_emit(vf_session *s, const char *fmt, ...) MT_PRINTF(2, 3);

/* One op on one backend: what ran and how it went. */
typedef struct vf_cell {
    const vf_op *op;
    const mt_backend *b;
    int checks;
    int failures;
    bool unsupported;
    double max_abs, max_rel; /* worst errors of the checks that compare against a reference */
    double worst;            /* largest share of the tolerance used (1 = at the bound) */
    vf_stats stats;          /* means and ulps of the same comparisons */
} vf_cell;

/* Golden files, random cases against naive, gradients (verify_checks.c). */
void vf_check_cell(vf_session *s, vf_cell *cell);

/* A case on one side of a threshold of the fast backends (verify_sizes.c): sizes, choices and
 * layouts set; seed and range are the runner's. */
typedef struct vf_size_class {
    const char *why;
    vf_case c;
} vf_size_class;
#define VF_MAX_SIZE_CLASSES 40
int vf_size_classes(const vf_op *op, vf_size_class *out, int max);
/* Every size class at every thread count (verify_size_check.c). */
void vf_check_sizes(vf_session *s, vf_cell *cell);
/* Graphs that reuse values and chain ops, against central differences (verify_graphs.c). */
void vf_check_graphs(vf_session *s, vf_cell *cell);
/* The thread counts every op runs at on a CPU backend (all must give the same bits). */
#define VF_NTHREAD_COUNTS 4
extern const int VF_THREAD_COUNTS[VF_NTHREAD_COUNTS];
/* Sets the OpenMP thread count; returns the previous one (1 without OpenMP). */
int vf_set_threads(int n);
bool vf_backend_threaded(const mt_backend *b);
void vf_check_golden(vf_session *s, vf_cell *cell);               /* verify_golden_check.c */
void vf_check_cases(vf_session *s, vf_cell *cell, bool gradient); /* verify_cases.c */

/* The result of one check. */
typedef struct vf_outcome {
    vf_failure failure; /* VF_FAIL_COUNT: passed */
    char msg[VF_MSG];
    double max_abs, max_rel, worst;
    vf_stats stats;
} vf_outcome;
void vf_pass(vf_outcome *o);
void vf_failed(vf_outcome *o, vf_failure kind, const char *fmt, ...) MT_PRINTF(3, 4);
/* Records a failure of the cell and prints its first line. */
void vf_cell_fail(vf_session *s, vf_cell *cell, vf_failure kind, const char *fmt, ...)
    MT_PRINTF(4, 5);
void vf_track(vf_cell *cell, double max_abs, double max_rel, double worst);
/* vf_track with a whole comparison's numbers, statistics included. */
void vf_track_cmp(vf_cell *cell, const vf_cmp *c);
void vf_outcome_take(vf_outcome *o, const vf_cmp *c);
double *vf_to_double(const float *f, int64_t n);
/* The error scale of op->tol for these inputs (malloc'd; NULL: 1 everywhere). */
double *vf_error_scale(const vf_op *op, const vf_problem *p, const vf_data *d);
/* A leaf's gradient on the host (zeros when none flowed into it). */
bool vf_leaf_grad(const mt_tensor *leaf, float *dst);
/* Prints a case: shapes, layouts, params, values (all of them when the case is small). */
void vf_print_case(vf_session *s, const vf_op *op, const vf_case *c, const vf_problem *p,
                   bool gradient);

/* One kernel call of a case, the backend against naive (verify_cases.c): the case's data,
 * naive's output on contiguous copies (ref), the backend's on the case's layouts (got), and room
 * for another run (again). */
typedef struct vf_case_run {
    vf_data d;
    float *ref, *got, *again;
    int64_t n;
} vf_case_run;
/* Fills k (free it with vf_case_run_free whatever the result), compares got with ref within
 * op's tolerance (statistics into o) and checks op's invariant; false with o failed. */
bool vf_against_naive(const vf_op *op, const mt_backend *b, const vf_case *c,
                      const vf_problem *p, vf_case_run *k, vf_outcome *o);
void vf_case_run_free(vf_case_run *k);

/* One gradient case: autodiff of op->grad on b against central differences (verify_cases.c). */
void vf_gradient_case(const vf_op *op, const mt_backend *b, const vf_case *c, const vf_problem *p,
                      vf_outcome *o);

#endif
