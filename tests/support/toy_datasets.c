/* The toy data sets, as minitorch/datasets.py builds them. */
#include "toy_datasets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const NAMES[TOY_COUNT] = {"simple", "diag", "split", "xor", "circle", "spiral"};

const char *toy_name(toy_kind kind) {
    return kind >= 0 && kind < TOY_COUNT ? NAMES[kind] : "unknown";
}

toy_kind toy_from_name(const char *name) {
    for (int k = 0; k < TOY_COUNT; k++)
        if (name && strcasecmp(name, NAMES[k]) == 0) return (toy_kind)k;
    return TOY_COUNT;
}

/* The label of a uniform point (every kind but spiral). */
static float label(toy_kind kind, double x1, double x2) {
    switch (kind) {
    case TOY_SIMPLE: return x1 < 0.5;
    case TOY_DIAG: return x1 + x2 < 0.5;
    case TOY_SPLIT: return x1 < 0.2 || x1 > 0.8;
    case TOY_XOR: return (x1 < 0.5 && x2 > 0.5) || (x1 > 0.5 && x2 < 0.5);
    case TOY_CIRCLE: return (x1 - 0.5) * (x1 - 0.5) + (x2 - 0.5) * (x2 - 0.5) > 0.1;
    default: return 0;
    }
}

/* MiniTorch's spiral: x(t) = t cos(t) / 20, y(t) = t sin(t) / 20, shifted by 0.5 into the unit
 * square. For i = 5 .. 5 + half - 1 and t = 10 i / half, class 0 is the point (x(t), y(t)) and
 * class 1 is (y(-t), x(-t)). */
static double spiral_x(double t) { return t * cos(t) / 20.0; }
static double spiral_y(double t) { return t * sin(t) / 20.0; }

static void spiral(int half, float *xs, float *ys) {
    for (int i = 0; i < half; i++) {
        double t = 10.0 * (double)(i + 5) / (double)half;
        xs[2 * i] = (float)(spiral_x(t) + 0.5);
        xs[2 * i + 1] = (float)(spiral_y(t) + 0.5);
        ys[i] = 0.0f;
        xs[2 * (half + i)] = (float)(spiral_y(-t) + 0.5);
        xs[2 * (half + i) + 1] = (float)(spiral_x(-t) + 0.5);
        ys[half + i] = 1.0f;
    }
}

mt_status toy_make(mt_ctx *ctx, toy_kind kind, int n, mt_rng *rng, toy_data *out) {
    if (!ctx || !out || kind < 0 || kind >= TOY_COUNT) return MT_ERR_ARG;
    *out = (toy_data){0};
    int count = kind == TOY_SPIRAL ? 2 * (n / 2) : n;
    if (count < 1) return MT_ERR_ARG;
    float *xs = malloc(sizeof(float) * 2 * (size_t)count);
    float *ys = malloc(sizeof(float) * (size_t)count);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        return MT_ERR_OOM;
    }
    if (kind == TOY_SPIRAL) {
        spiral(count / 2, xs, ys);
    } else {
        if (!rng) rng = mt_ctx_rng(ctx);
        for (int i = 0; i < count; i++) {
            xs[2 * i] = (float)mt_rng_uniform(rng);
            xs[2 * i + 1] = (float)mt_rng_uniform(rng);
            /* labelled from the stored float32 coordinates, so data and labels always agree */
            ys[i] = label(kind, xs[2 * i], xs[2 * i + 1]);
        }
    }
    out->x = mt_from_array(ctx, MT_SHAPE(count, 2), xs);
    out->y = mt_from_array(ctx, MT_SHAPE(count), ys);
    free(xs);
    free(ys);
    if (!out->x || !out->y) return mt_last_status();
    out->n = count;
    return MT_OK;
}
