/* MiniTorch's toy 2-D classification data sets (minitorch/datasets.py): N points in [0,1]^2 with
 * labels 0/1, for training tests and examples. */
#ifndef MT_TOY_DATASETS_H
#define MT_TOY_DATASETS_H

#include "minitorch.h"

typedef enum toy_kind {
    TOY_SIMPLE, /* 1 when x1 < 0.5 */
    TOY_DIAG,   /* 1 when x1 + x2 < 0.5 */
    TOY_SPLIT,  /* 1 when x1 < 0.2 or x1 > 0.8 */
    TOY_XOR,    /* 1 when exactly one of x1, x2 is past 0.5 */
    TOY_CIRCLE, /* 1 when (x1 - 0.5)^2 + (x2 - 0.5)^2 > 0.1 */
    TOY_SPIRAL, /* two interleaved spirals; deterministic, no random points */
    TOY_COUNT
} toy_kind;

typedef struct toy_data {
    int n;        /* points */
    mt_tensor *x; /* (n, 2) */
    mt_tensor *y; /* (n,), 0 or 1 */
} toy_data;

/* "simple", "diag", "split", "xor", "circle", "spiral" (MiniTorch capitalises them; case is
 * ignored). toy_from_name returns TOY_COUNT for an unknown name. */
const char *toy_name(toy_kind kind);
toy_kind toy_from_name(const char *name);

/* Makes the data set's tensors in ctx. Points are drawn (x1 then x2, per point) uniform in [0,1)
 * from rng (ctx's generator when NULL). As in MiniTorch, spiral makes n/2 points per class, so an
 * odd n gives n - 1 points; out->n is the count made. */
mt_status toy_make(mt_ctx *ctx, toy_kind kind, int n, mt_rng *rng, toy_data *out);

#endif
