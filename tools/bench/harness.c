/* Registration, timing and checking of one benchmark.
 *
 * Each (case, implementation) is one Google Benchmark. Its instance (inputs, outputs) is built the
 * first time its body is called, with one untimed warm-up run, and kept while Google Benchmark
 * probes the iteration count and runs the repetitions. When the next benchmark starts (or the
 * run ends), the finished instance's outputs of its last timed iteration are compared with the
 * naive backend's and the instance is released, so only one instance holds memory at a time. */
#include "harness.h"

#include "gbench_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    bench_run *run;
    int c, i;
    void *inst;
    bool setup_failed;
    char name[256];
} slot;

static slot slots[BENCH_MAX_CASES][BENCH_MAX_IMPLS];
static slot *active;           /* the instance alive now */
static int ref_case = -1;      /* the case whose reference is cached */
static bench_reference ref;    /* the naive backend's values for ref_case */
static bool ref_failed;
static char ref_error[256];
static int started, selected;  /* progress */

static bool list_has(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static void add_backend(bench_run *run, const mt_backend *b) {
    bench_impl *im = &run->impls[run->nimpls++];
    memset(im, 0, sizeof *im);
    im->kind = IMPL_BACKEND;
    im->backend = b;
    snprintf(im->name, sizeof im->name, "%s", mt_backend_name(b));
    im->is_naive = b == mt_backend_naive();
    im->simulated = mt_backend_get_kind(b) == MT_BACKEND_SIMULATED;
    im->cuda = mt_backend_get_kind(b) == MT_BACKEND_GPU;
}

static void add_baseline(bench_run *run, bench_impl_kind kind, const char *name, const char *env) {
    bench_impl *im = &run->impls[run->nimpls++];
    memset(im, 0, sizeof *im);
    im->kind = kind;
    snprintf(im->name, sizeof im->name, "%s", name);
    im->torch_env = env;
}

/* The baselines each benchmark knows: OpenBLAS for the GEMM-shaped ops, memcpy for the
 * bandwidth-bound ones, PyTorch for all. */
static bool sweep_uses_blas(const bench_run *run) {
    return strcmp(run->sweep->name, "matmul") == 0 || strncmp(run->sweep->name, "conv", 4) == 0;
}

int bench_select_impls(bench_run *run) {
    const bench_options *o = run->opts;
    run->nimpls = 0;
    /* naive first: it is the reference, and its column leads the table */
    if (!o->backends || list_has(o->backends, "naive")) add_backend(run, mt_backend_naive());
    if (o->backends) {
        /* every name must be a backend of this build */
        for (const char *p = o->backends; *p;) {
            const char *end = strchr(p, ',');
            char name[64];
            size_t len = end ? (size_t)(end - p) : strlen(p);
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            if (!mt_backend_by_name(name)) {
                fprintf(stderr, "bench: --backends: no backend named '%s' in this build; built:",
                        name);
                for (int i = 0; i < mt_backend_count(); i++)
                    fprintf(stderr, " %s", mt_backend_name(mt_backend_at(i)));
                fprintf(stderr, "\n");
                return -1;
            }
            if (!end) break;
            p = end + 1;
        }
    }
    for (int i = 0; i < mt_backend_count() && run->nimpls < BENCH_MAX_IMPLS - 3; i++) {
        const mt_backend *b = mt_backend_at(i);
        if (b == mt_backend_naive()) continue;
        char why[300];
        bool named = o->backends && list_has(o->backends, mt_backend_name(b));
        if (!mt_backend_available(b, why, sizeof why)) {
            if (named) {
                fprintf(stderr, "bench: --backends: %s is built but cannot run here: %s\n",
                        mt_backend_name(b), why);
                return -1;
            }
            continue;
        }
        /* a simulator's times say nothing about the kernels' speed: only when named */
        if (named || (!o->backends && mt_backend_get_kind(b) != MT_BACKEND_SIMULATED))
            add_backend(run, b);
    }

    const char *want = o->baselines;
    bool none = want && strcmp(want, "none") == 0;
    if (want && !none) {
        for (const char *p = want; *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (!((len == 8 && strncmp(p, "openblas", 8) == 0) ||
                  (len == 6 && strncmp(p, "memcpy", 6) == 0) ||
                  (len == 5 && strncmp(p, "torch", 5) == 0))) {
                fprintf(stderr, "bench: --baselines: unknown baseline '%.*s' (known: openblas, "
                                "memcpy, torch, or none)\n", (int)len, p);
                return -1;
            }
            if (!end) break;
            p = end + 1;
        }
    }
    if (!none && sweep_uses_blas(run) && (!want || list_has(want, "openblas")))
        add_baseline(run, IMPL_OPENBLAS, "openblas", NULL);
    /* memcpy: the traffic of a bandwidth-bound op (GB/s sweeps) */
    if (!none && run->sweep->rate_unit[1] == 'B' && (!want || list_has(want, "memcpy")))
        add_baseline(run, IMPL_MEMCPY, "memcpy", NULL);
    if (!none && (!want || list_has(want, "torch"))) {
        add_baseline(run, IMPL_TORCH, "torch", NULL);
        add_baseline(run, IMPL_TORCH, "torch-nomm",
                     "MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296");
    }
    if (run->nimpls == 0) {
        fprintf(stderr, "bench: nothing to run (no backend and no baseline selected)\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the benchmark body */
static void describe_case(const bench_case *c, char *buf, size_t len) {
    char a[96], b[96];
    bench_shape_paren(&c->in[0], a, sizeof a);
    if (c->nin > 1)
        snprintf(buf, len, "%s %s %s", a, bench_shape_paren(&c->in[1], b, sizeof b), c->what);
    else
        snprintf(buf, len, "%s %s", a, c->what);
}

static void drop_reference(void) {
    bench_reference_free(&ref);
    ref_case = -1;
    ref_failed = false;
}

static const bench_reference *case_reference(bench_run *run, int c) {
    if (ref_case == c) return ref_failed ? NULL : &ref;
    drop_reference();
    ref_case = c;
    memset(&ref, 0, sizeof ref);
    if (run->sweep->reference(&run->cases[c], run->opts->naive_limit, &ref, ref_error,
                              sizeof ref_error) != 0) {
        ref_failed = true;
        return NULL;
    }
    if (!ref.full) snprintf(run->ref_note[c], sizeof run->ref_note[c], "%s", ref.note);
    return &ref;
}

/* Moves the first element the reference covers by 1 + the RMS of its region, far outside the
 * tolerance: what a kernel that computes one wrong value looks like. Used only by the smoke test,
 * to prove the check fails. */
static void plant_wrong_value(const bench_reference *r, bench_output *outs, int nouts) {
    const bench_region *g = &r->regions[0];
    if (g->output >= nouts) return;
    bench_output *o = &outs[g->output];
    int64_t flat = 0;
    for (int d = 0; d < o->shape.ndim; d++) flat = flat * o->shape.d[d] + g->lo[d];
    o->data[flat] += (float)(1.0 + bench_region_rms(g));
}

/* Checks the active instance's last outputs against the naive backend's and releases it. */
static void finish_active(void) {
    slot *s = active;
    if (!s) return;
    active = NULL;
    bench_run *run = s->run;
    bench_cell *cell = &run->cells[s->c][s->i];
    if (!s->inst) return;
    if (cell->error[0]) { /* a timed run failed: there is no output to check */
        run->sweep->release(s->inst);
        s->inst = NULL;
        return;
    }
    bench_output outs[BENCH_MAX_OUTPUTS];
    memset(outs, 0, sizeof outs);
    char err[256] = "";
    int n = run->sweep->outputs(s->inst, outs, err, sizeof err);
    cell->check.done = true;
    if (n < 0) {
        cell->check.ok = false;
        snprintf(cell->check.message, sizeof cell->check.message, "reading the outputs failed: %.200s",
                 err);
    } else if (n == 0) {
        cell->check.ok = true; /* memcpy: the sweep verified the copy itself */
        snprintf(cell->check.message, sizeof cell->check.message, "copy verified");
    } else {
        const bench_reference *r = case_reference(run, s->c);
        if (!r) {
            cell->check.ok = false;
            snprintf(cell->check.message, sizeof cell->check.message,
                     "the naive reference failed: %.200s", ref_error);
        } else {
            if (run->opts->plant_wrong_result) plant_wrong_value(r, outs, n);
            bench_compare(r, outs, n, &cell->check);
        }
    }
    for (int k = 0; k < BENCH_MAX_OUTPUTS; k++) free(outs[k].data);
    run->sweep->release(s->inst);
    s->inst = NULL;
    if (!cell->check.ok)
        fprintf(stderr, "[bench] CHECK FAILED %s: %s\n", s->name, cell->check.message);
}

static void activate(slot *s) {
    finish_active();
    bench_run *run = s->run;
    if (ref_case != s->c) drop_reference();
    active = s;
    char what[256];
    describe_case(&run->cases[s->c], what, sizeof what);
    started++;
    fprintf(stderr, "[bench] %s %d/%d (%d left): %s on %s\n", run->sweep->name, started,
            selected, selected - started, what, run->impls[s->i].name);
    char err[256] = "";
    s->inst = run->sweep->setup(&run->cases[s->c], &run->impls[s->i], err, sizeof err);
    if (!s->inst) {
        s->setup_failed = true;
        snprintf(run->cells[s->c][s->i].error, sizeof run->cells[s->c][s->i].error, "%s", err);
        fprintf(stderr, "[bench] setup failed for %s: %s\n", s->name, err);
    }
}

static void body(gb_state *st, void *user) {
    slot *s = user;
    if (active != s && !s->setup_failed) activate(s);
    bench_run *run = s->run;
    bench_cell *cell = &run->cells[s->c][s->i];
    if (!s->inst) {
        gb_skip_with_error(st, cell->error[0] ? cell->error : "setup failed");
        return;
    }
    gb_set_counter(st, run->sweep->rate_unit[1] == 'F' ? "FLOP" : "bytes",
                   run->cases[s->c].work, true);
    /* Host backends finish their work before run() returns, so wall-clock time around it is
     * honest. The hook for a CUDA backend: register it with gb_policy.manual_time and report each
     * iteration's device time measured by CUDA events (gb_set_iteration_time), and register an
     * end-to-end variant whose run() includes the uploads and downloads, as its own column. */
    char err[256];
    const mt_backend *device = run->impls[s->i].cuda ? run->impls[s->i].backend : NULL;
    while (gb_keep_running(st)) {
        /* until the GPU columns time with events, a device run ends only when the device has
         * finished it (kernels are asynchronous) */
        if (run->sweep->run(s->inst, err, sizeof err) != 0 ||
            (device && mt_backend_synchronize(device) != MT_OK &&
             snprintf(err, sizeof err, "%s", mt_last_error()) >= 0)) {
            snprintf(cell->error, sizeof cell->error, "%s", err);
            gb_skip_with_error(st, cell->error);
            break;
        }
    }
}

int bench_register_all(bench_run *run) {
    const bench_options *o = run->opts;
    for (int c = 0; c < run->ncases; c++) {
        const bench_case *bc = &run->cases[c];
        for (int i = 0; i < run->nimpls; i++) {
            const bench_impl *im = &run->impls[i];
            bench_cell *cell = &run->cells[c][i];
            memset(cell, 0, sizeof *cell);
            if (im->kind == IMPL_TORCH) continue; /* timed by its own process */
            if (!run->sweep->applies(bc, im)) {
                cell->state = CELL_NOT_APPLICABLE;
                continue;
            }
            if (im->is_naive && run->sweep->naive_work(bc) > o->naive_limit) {
                cell->state = CELL_NAIVE_TOO_SLOW;
                continue;
            }
            slot *s = &slots[c][i];
            memset(s, 0, sizeof *s);
            s->run = run;
            s->c = c;
            s->i = i;
            snprintf(s->name, sizeof s->name, "%s/%s", bc->id, im->name);
            /* Simulated device code is checked, never timed as a speed: one iteration. */
            gb_policy policy = {0, 0, 0, false};
            if (im->simulated) policy.iterations = 1, policy.repetitions = 1;
            if (gb_register(s->name, body, s, &policy) != 0) {
                fprintf(stderr, "bench: could not register %s\n", s->name);
                return -1;
            }
        }
    }
    return 0;
}

void bench_execute(bench_run *run) {
    selected = gb_selected_count();
    started = 0;
    fprintf(stderr, "[bench] %s: %d benchmarks selected\n", run->sweep->name, selected);
    gb_run();
    finish_active();
    drop_reference();
    for (int c = 0; c < run->ncases; c++)
        for (int i = 0; i < run->nimpls; i++) {
            bench_cell *cell = &run->cells[c][i];
            if (run->impls[i].kind == IMPL_TORCH) continue;
            if (cell->state == CELL_NOT_APPLICABLE || cell->state == CELL_NAIVE_TOO_SLOW) continue;
            const gb_result *r = gb_result_find(slots[c][i].name);
            if (!r) continue; /* not selected by --benchmark_filter */
            if (r->error) {
                cell->state = CELL_ERROR;
                if (!cell->error[0])
                    snprintf(cell->error, sizeof cell->error, "%s", r->error_message);
            } else {
                cell->state = CELL_OK;
                cell->median_s = r->median_s;
                cell->min_s = r->min_s;
                cell->max_s = r->max_s;
                cell->repetitions = r->repetitions;
                cell->iterations = r->iterations;
            }
            if (cell->state == CELL_ERROR || (cell->check.done && !cell->check.ok))
                run->failures++;
        }
}
