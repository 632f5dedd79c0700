/* What the bandwidth-bound sweeps (elementwise, reduce, nn) share: an instance holding the inputs
 * on the implementation's backend (made from the case's seeds), a scratch context reset before
 * every run so each run's output lands on the same warm pages, the memcpy column's buffers, and the
 * naive reference over the whole output. Each sweep supplies only how to apply its op. */
#include "internal.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct bw_inst {
    const bench_case *c;
    const bench_impl *impl;
    bench_bw_apply apply;
    const char *out_name;
    mt_ctx *data, *scratch; /* inputs live in data; each run's output in scratch */
    mt_tensor *in[2];       /* c->in[0], c->in[1] (when the case has two) */
    mt_tensor *out;         /* the latest run's output */
    bench_copy copy;        /* memcpy */
} bw_inst;

/* The case's inputs on ctx's backend; 0, or -1 with the reason in err. */
static int make_inputs(mt_ctx *ctx, const bench_case *c, mt_tensor *in[2], char *err,
                       size_t errlen) {
    in[0] = in[1] = NULL;
    for (int i = 0; i < c->nin && i < 2; i++) {
        int64_t n = bench_shape_numel(&c->in[i]);
        float *h = bench_host_floats(n, err, errlen);
        if (!h) return -1;
        bench_fill(h, n, bench_input_seed(c, i));
        in[i] = mt_from_array(ctx, c->in[i].ndim, c->in[i].d, h);
        free(h);
        if (!in[i]) {
            snprintf(err, errlen, "%s", mt_last_error());
            return -1;
        }
    }
    return 0;
}

void bench_bw_release(void *p) {
    bw_inst *m = p;
    if (!m) return;
    mt_ctx_free(m->scratch);
    mt_ctx_free(m->data);
    bench_copy_free(&m->copy);
    free(m);
}

int bench_bw_run(void *p, char *err, size_t errlen) {
    bw_inst *m = p;
    if (m->impl->kind == IMPL_MEMCPY) {
        bench_copy_run(&m->copy);
        return 0;
    }
    mt_ctx_reset(m->scratch);
    m->out = m->apply(m->scratch, m->c, m->in[0], m->in[1]);
    if (!m->out) {
        snprintf(err, errlen, "%s on %s: %s", m->c->what, m->impl->name, mt_last_error());
        return -1;
    }
    return 0;
}

void *bench_bw_setup(const bench_case *c, const bench_impl *impl, bench_bw_apply apply,
                     const char *out_name, char *err, size_t errlen) {
    bw_inst *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->c = c;
    m->impl = impl;
    m->apply = apply;
    m->out_name = out_name;
    if (impl->kind == IMPL_MEMCPY) {
        if (bench_copy_init(&m->copy, c->work, bench_input_seed(c, 0), err, errlen) != 0) {
            bench_bw_release(m);
            return NULL;
        }
    } else {
        m->data = mt_ctx_new(impl->backend);
        m->scratch = mt_ctx_new(impl->backend);
        char why[200] = "";
        if (!m->data || !m->scratch || make_inputs(m->data, c, m->in, why, sizeof why) != 0) {
            snprintf(err, errlen, "making the inputs on %s: %s", impl->name,
                     why[0] ? why : mt_last_error());
            bench_bw_release(m);
            return NULL;
        }
    }
    if (bench_bw_run(m, err, errlen) != 0) { /* warm-up */
        bench_bw_release(m);
        return NULL;
    }
    return m;
}

int bench_bw_outputs(void *p, bench_output *outs, char *err, size_t errlen) {
    bw_inst *m = p;
    if (m->impl->kind == IMPL_MEMCPY) return bench_copy_verify(&m->copy, err, errlen) ? -1 : 0;
    return bench_output_from_tensor(m->out_name, m->out, &outs[0], err, errlen) ? -1 : 1;
}

double bench_bw_naive_work(const bench_case *c) { return c->work; }

int bench_bw_reference(const bench_case *c, bench_bw_apply apply, bench_reference *ref, char *err,
                       size_t errlen) {
    /* a pass over some tens of MB: the naive backend always affords the whole output */
    mt_ctx *ctx = mt_ctx_new(mt_backend_naive());
    mt_tensor *in[2];
    char why[200] = "";
    if (!ctx || make_inputs(ctx, c, in, why, sizeof why) != 0) {
        snprintf(err, errlen, "naive reference inputs: %s", why[0] ? why : mt_last_error());
        mt_ctx_free(ctx);
        return -1;
    }
    mt_tensor *out = apply(ctx, c, in[0], in[1]);
    if (!out) {
        snprintf(err, errlen, "naive reference %s: %s", c->what, mt_last_error());
        mt_ctx_free(ctx);
        return -1;
    }
    int64_t lo[MT_MAX_DIMS] = {0}, hi[MT_MAX_DIMS];
    for (int d = 0; d < out->ndim; d++) hi[d] = out->shape[d];
    int rc = bench_region_from_tensor(ref, 0, out->ndim, lo, hi, out, err, errlen);
    ref->full = rc == 0;
    mt_ctx_free(ctx);
    return rc;
}
