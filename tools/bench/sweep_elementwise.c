/* The bandwidth-bound sweeps: elementwise map/zip and reductions on contiguous tensors, through
 * the kernel-level mt_apply_map / mt_apply_zip / mt_apply_reduce (no autodiff bookkeeping), with a
 * memcpy of the same bytes as the baseline: memcpy reads and writes X bytes, so it copies half
 * the bytes the op reads plus writes. Work = bytes read + bytes written. */
#include "internal.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_zip(int op) { return op >= MT_OP_ADD && op <= MT_OP_SIGMOID_BACK; }
static bool is_reduce(int op) { return op == MT_OP_SUM || op == MT_OP_PROD || op == MT_OP_MAX; }

static int64_t out_numel(const bench_case *c) {
    int64_t n = bench_shape_numel(&c->in[0]);
    if (!is_reduce(c->op)) return n;
    int dim = c->dim < 0 ? c->dim + c->in[0].ndim : c->dim;
    return n / c->in[0].d[dim];
}

static void ew_case(bench_case *c, bench_shape s, int op, int dim) {
    memset(c, 0, sizeof *c);
    char sx[96];
    c->in[0] = s;
    c->nin = is_zip(op) ? 2 : 1;
    if (is_zip(op)) c->in[1] = s;
    c->op = op;
    c->dim = dim;
    bench_shape_x(&s, sx, sizeof sx);
    if (is_reduce(op)) {
        snprintf(c->what, sizeof c->what, "%s dim=%d", mt_op_name((mt_op)op), dim);
        snprintf(c->id, sizeof c->id, "reduce/%s/%s-dim%d", sx, mt_op_name((mt_op)op), dim);
    } else {
        snprintf(c->what, sizeof c->what, "%s", mt_op_name((mt_op)op));
        snprintf(c->id, sizeof c->id, "elementwise/%s/%s", sx, mt_op_name((mt_op)op));
    }
    int64_t n = bench_shape_numel(&s);
    c->work = 4.0 * (double)(n * c->nin + out_numel(c));
}

/* Parses "add,mul" into ops that pass `ok`; returns the count or -1. */
static int parse_ops(const char *list, bool (*ok)(int), int *ops, int max) {
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        mt_op op = mt_op_from_name(t);
        if (op == MT_OP_COUNT || !ok((int)op) || n == max) {
            fprintf(stderr, "'%s' is not an op this benchmark times\n", t);
            return -1;
        }
        ops[n++] = (int)op;
    }
    return n;
}

static bool is_elementwise(int op) { return op >= MT_OP_NEG && op <= MT_OP_SIGMOID_BACK; }

static const int EW_DEFAULT_OPS[] = {MT_OP_NEG, MT_OP_RELU, MT_OP_EXP, MT_OP_SIGMOID, MT_OP_ADD,
                                     MT_OP_MUL};
static const int RED_DEFAULT_OPS[] = {MT_OP_SUM, MT_OP_MAX};

static int ew_builtin(bool quick, bench_case *cases, int max) {
    int n = 0;
    bench_shape s = quick ? (bench_shape){1, {65537}} : (bench_shape){1, {1 << 20}};
    if (quick) {
        if (n < max) ew_case(&cases[n++], s, MT_OP_NEG, 0);
        if (n < max) ew_case(&cases[n++], s, MT_OP_ADD, 0);
        return n;
    }
    for (size_t i = 0; i < sizeof EW_DEFAULT_OPS / sizeof EW_DEFAULT_OPS[0] && n < max; i++)
        ew_case(&cases[n++], s, EW_DEFAULT_OPS[i], 0);
    return n;
}

static int ew_parse_line(int ntok, char **tok, bench_case *cases, int max) {
    bench_shape s;
    int ops[16], nops = 0;
    if (ntok < 1 || ntok > 2 || bench_shape_parse(tok[0], &s)) {
        fprintf(stderr, "elementwise lines are 'SHAPE [OPS]', e.g. '1048576 add,exp'\n");
        return -1;
    }
    if (ntok == 2) {
        if ((nops = parse_ops(tok[1], is_elementwise, ops, 16)) < 0) return -1;
    } else {
        nops = (int)(sizeof EW_DEFAULT_OPS / sizeof EW_DEFAULT_OPS[0]);
        memcpy(ops, EW_DEFAULT_OPS, sizeof EW_DEFAULT_OPS);
    }
    if (nops > max) return -1;
    for (int i = 0; i < nops; i++) ew_case(&cases[i], s, ops[i], 0);
    return nops;
}

static int red_builtin(bool quick, bench_case *cases, int max) {
    int n = 0;
    if (quick) {
        bench_shape s = {2, {257, 129}};
        if (n < max) ew_case(&cases[n++], s, MT_OP_SUM, -1);
        if (n < max) ew_case(&cases[n++], s, MT_OP_SUM, 0);
        return n;
    }
    /* 1M elements: along the contiguous dim, across rows (strided), and all of a vector */
    bench_shape sq = {2, {1024, 1024}}, vec = {1, {1 << 20}};
    for (size_t i = 0; i < sizeof RED_DEFAULT_OPS / sizeof RED_DEFAULT_OPS[0]; i++) {
        if (n < max) ew_case(&cases[n++], sq, RED_DEFAULT_OPS[i], -1);
        if (n < max) ew_case(&cases[n++], sq, RED_DEFAULT_OPS[i], 0);
        if (n < max) ew_case(&cases[n++], vec, RED_DEFAULT_OPS[i], 0);
    }
    return n;
}

static int red_parse_line(int ntok, char **tok, bench_case *cases, int max) {
    bench_shape s;
    int ops[8], nops, dim = -1;
    char *end = NULL;
    if (ntok < 1 || ntok > 3 || bench_shape_parse(tok[0], &s) ||
        (ntok >= 2 && ((dim = (int)strtol(tok[1], &end, 10)), *end != '\0'))) {
        fprintf(stderr, "reduce lines are 'SHAPE [DIM [OPS]]', e.g. '1024x1024 0 sum,max'\n");
        return -1;
    }
    if (dim < -s.ndim || dim >= s.ndim) {
        fprintf(stderr, "reduce: dim %d is out of range for %d dims\n", dim, s.ndim);
        return -1;
    }
    if (ntok == 3) {
        if ((nops = parse_ops(tok[2], is_reduce, ops, 8)) < 0) return -1;
    } else {
        nops = (int)(sizeof RED_DEFAULT_OPS / sizeof RED_DEFAULT_OPS[0]);
        memcpy(ops, RED_DEFAULT_OPS, sizeof RED_DEFAULT_OPS);
    }
    if (nops > max) return -1;
    for (int i = 0; i < nops; i++) ew_case(&cases[i], s, ops[i], dim);
    return nops;
}

static bool ew_applies(const bench_case *c, const bench_impl *impl) {
    if (impl->kind == IMPL_BACKEND) return mt_backend_supports(impl->backend, (mt_op)c->op);
    return impl->kind == IMPL_MEMCPY;
}

static mt_tensor *ew_apply(mt_ctx *ctx, const bench_case *c, const mt_tensor *a,
                           const mt_tensor *b) {
    if (is_reduce(c->op)) return mt_apply_reduce(ctx, (mt_op)c->op, a, c->dim);
    if (is_zip(c->op)) return mt_apply_zip(ctx, (mt_op)c->op, a, b);
    return mt_apply_map(ctx, (mt_op)c->op, a);
}

static void *ew_setup(const bench_case *c, const bench_impl *impl, char *err, size_t errlen) {
    return bench_bw_setup(c, impl, ew_apply, "out", err, errlen);
}

static int ew_reference(const bench_case *c, double budget, bench_reference *ref, char *err,
                        size_t errlen) {
    (void)budget; /* a pass over a few MB is always affordable */
    return bench_bw_reference(c, ew_apply, ref, err, errlen);
}

const bench_sweep bench_sweep_elementwise = {
    .name = "elementwise",
    .rate_unit = "GB/s",
    .work_note = "bytes read + bytes written (float32); memcpy copies half that many bytes, so it "
                 "moves the same traffic",
    .builtin = ew_builtin,
    .parse_line = ew_parse_line,
    .applies = ew_applies,
    .setup = ew_setup,
    .run = bench_bw_run,
    .outputs = bench_bw_outputs,
    .release = bench_bw_release,
    .reference = ew_reference,
    .naive_work = bench_bw_naive_work,
};

const bench_sweep bench_sweep_reduce = {
    .name = "reduce",
    .rate_unit = "GB/s",
    .work_note = "bytes read + bytes written (float32); memcpy copies half that many bytes, so it "
                 "moves the same traffic",
    .builtin = red_builtin,
    .parse_line = red_parse_line,
    .applies = ew_applies,
    .setup = ew_setup,
    .run = bench_bw_run,
    .outputs = bench_bw_outputs,
    .release = bench_bw_release,
    .reference = ew_reference,
    .naive_work = bench_bw_naive_work,
};
