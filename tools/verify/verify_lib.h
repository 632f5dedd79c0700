/* The verifier as a library: tools/verify/main.c (the `./verify` CLI) and the planted-bug tests
 * drive it.
 *
 * For every op in the table (verify_ops.c) and every backend given, it checks:
 *   1. golden files (the .mtgold files in golden/cases, NumPy float64): the backend's kernel
 *      output, and the gradients autodiff computes on that backend;
 *   2. random cases (shapes of 1-4 dims with sizes 1, 2, 3, 17, 33, 133, broadcast pairs,
 *      permuted / padded / stride-0 storage, several value ranges): the backend against the naive
 *      reference, canary words around every buffer, inputs left untouched, the same bits twice;
 *   3. gradients: autodiff on the backend against central differences of sum(out * r).
 * A failing random case is shrunk and printed with a one-line reproduce command. */
#ifndef MT_VERIFY_LIB_H
#define MT_VERIFY_LIB_H

#include "minitorch.h"

#include <stdio.h>

/* What went wrong, in the order the comparison looks for it. */
typedef enum vf_failure {
    VF_FAIL_UNSUPPORTED,      /* the backend has no kernel for the op (a failure, never a skip) */
    VF_FAIL_ERROR,            /* a kernel or function returned an error */
    VF_FAIL_NAN,              /* NaN where the reference has a number, or the reverse */
    VF_FAIL_INF,              /* an infinity missing, extra, or of the wrong sign */
    VF_FAIL_UNWRITTEN,        /* an output element the kernel never wrote */
    VF_FAIL_VALUE,            /* numbers differ beyond the op's tolerance */
    VF_FAIL_CANARY,           /* a write outside the output's elements (guards, gaps) */
    VF_FAIL_INPUT_WRITE,      /* a write into an input's storage */
    VF_FAIL_NONDETERMINISTIC, /* two runs of the same call gave different bits */
    VF_FAIL_PROPERTY,         /* an op invariant (softmax sums to 1, dropout scaling, ...) */
    VF_FAIL_GRADIENT,         /* autodiff disagrees with golden or numerical gradients */
    VF_FAIL_GOLDEN_FILE,      /* golden files missing, unreadable or corrupt */
    VF_FAIL_COUNT
} vf_failure;

const char *vf_failure_name(vf_failure f);

typedef struct vf_config {
    const mt_backend *const *backends; /* each is verified against the naive backend */
    int nbackends;
    const char *const *ops; /* op names to check; NULL = every op in the table */
    int nops;
    uint64_t seed;  /* master seed; random case k uses vf_case_seed(seed, k) */
    int cases;      /* random cases per op and backend */
    int grad_cases; /* gradient cases per op and backend; < 0: cases / 8, at least 2 */
    /* a smoke test: only the size classes up to a small work, at 1 and 3 threads */
    bool quick;
    const char *golden_dir;
    bool golden_dir_given;    /* --golden-dir was given: reproduce lines repeat it */
    FILE *out;                /* failures, notes and the summary table; NULL: stdout */
    const char *report_path;  /* also write a markdown report here (dir/name-2.md, -3, ... when
                               * name.md exists: never over another report); NULL: none */
    const char *command_line; /* shown in the report */
    /* "name: reason" lines about backends this build lacks, printed with the summary */
    const char *const *not_built;
    int nnot_built;
} vf_config;

typedef struct vf_summary {
    int checks;                  /* golden, random and gradient cases run */
    int cells;                   /* op x backend pairs checked */
    int failed_cells;            /* pairs that did not pass */
    int failures[VF_FAIL_COUNT]; /* failing checks by kind (global golden problems included) */
} vf_summary;

/* Defaults: every backend in the registry, every op, seed 1, 100 cases, golden files at `dir`. */
void vf_config_init(vf_config *c, const char *golden_dir);

/* Runs every check. Returns 0 when everything passed, 1 when anything failed (an unsupported op
 * included), 2 when the configuration is unusable (unknown op, no backend). summary may be NULL. */
int vf_run(const vf_config *c, vf_summary *summary);

/* Case k of a run with master seed s. Case 0 uses s itself, so the seed printed with a failing
 * case, given back with --seed, makes that case the first one run. */
uint64_t vf_case_seed(uint64_t master, int k);

/* The op table: names are the engine's op names (mt_op_name). */
int vf_op_count(void);
const char *vf_op_name_at(int i);
bool vf_op_known(const char *name);
/* Ops of the engine's enum that have no entry in this build's table (and why). */
void vf_print_unverified_ops(FILE *out);
/* Lists the ops (family, golden files found in golden_dir, gradient check) for --list. */
void vf_list_ops(FILE *out, const char *golden_dir);

#endif
