#include "dist.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tr_dist_shard(const tr_dist *d, int b, int *first, int *count) {
    if (!d || d->size <= 1) {
        *first = 0;
        *count = b;
        return;
    }
    int64_t lo = (int64_t)b * d->rank / d->size, hi = (int64_t)b * (d->rank + 1) / d->size;
    *first = (int)lo;
    *count = (int)(hi - lo);
}

static bool dist_fail(tr_dist *d, const char *what) {
    snprintf(d->err, sizeof d->err, "%s", what);
    return false;
}

/* d->flat with room for n floats (grown, never shrunk: the size is the same every step). */
static float *flat_of(tr_dist *d, size_t n) {
    if (n > d->cap) {
        float *p = realloc(d->flat, n * sizeof *p);
        if (!p) return NULL;
        d->flat = p;
        d->cap = n;
    }
    return d->flat;
}

bool tr_dist_sum_grads(tr_dist *d, mt_params *list, float share, bool empty, float *extra,
                       int nextra) {
    size_t total = (size_t)mt_params_numel(list) + (size_t)nextra;
    float *flat = flat_of(d, total); /* (numel + nextra,) */
    if (!flat) return dist_fail(d, "out of memory for the gradient buffer");
    size_t off = 0;
    for (int i = 0; i < list->count; i++) {
        mt_tensor *p = list->items[i];
        size_t n = (size_t)mt_numel(p);
        /* a parameter the forward did not reach has no gradient: it adds zeros (the models use
         * every parameter every step, so every rank agrees on which have one) */
        if (empty || !p->grad) {
            memset(flat + off, 0, n * sizeof *flat);
        } else {
            if (mt_to_host(p->grad, flat + off) != MT_OK) return dist_fail(d, mt_last_error());
            /* share is 1 for one rank: then the bits are the one-process gradient's */
            if (share != 1.0f)
                for (size_t k = 0; k < n; k++) flat[off + k] *= share;
        }
        off += n;
    }
    for (int k = 0; k < nextra; k++) flat[off + (size_t)k] = empty ? 0.0f : extra[k];
    double t0 = tr_now();
    if (!d->sum(d, flat, (int64_t)total)) return false;
    d->sum_secs += tr_now() - t0;
    d->sum_bytes = (int64_t)(total * sizeof *flat);
    off = 0;
    for (int i = 0; i < list->count; i++) {
        mt_tensor *p = list->items[i];
        size_t n = (size_t)mt_numel(p);
        if (p->grad && mt_copy_from_host(p->grad, flat + off) != MT_OK)
            return dist_fail(d, mt_last_error());
        off += n;
    }
    for (int k = 0; k < nextra; k++) extra[k] = flat[off + (size_t)k];
    d->steps++;
    return true;
}

bool tr_dist_bcast_params(tr_dist *d, mt_params *list) {
    float *flat = flat_of(d, (size_t)mt_params_numel(list)); /* (numel,) */
    if (!flat) return dist_fail(d, "out of memory for the parameter buffer");
    size_t off = 0;
    for (int i = 0; i < list->count; i++) {
        if (mt_to_host(list->items[i], flat + off) != MT_OK) return dist_fail(d, mt_last_error());
        off += (size_t)mt_numel(list->items[i]);
    }
    if (!d->bcast(d, flat, off * sizeof *flat)) return false;
    off = 0;
    for (int i = 0; i < list->count; i++) {
        if (mt_copy_from_host(list->items[i], flat + off) != MT_OK)
            return dist_fail(d, mt_last_error());
        off += (size_t)mt_numel(list->items[i]);
    }
    return true;
}

uint64_t tr_params_hash(mt_params *list, bool *ok) {
    uint64_t h = 0xcbf29ce484222325ULL;
    *ok = true;
    for (int i = 0; i < list->count; i++) {
        size_t n = (size_t)mt_numel(list->items[i]);
        float *v = malloc((n ? n : 1) * sizeof *v);
        if (!v || mt_to_host(list->items[i], v) != MT_OK) {
            free(v);
            *ok = false;
            return 0;
        }
        const unsigned char *b = (const unsigned char *)v;
        for (size_t k = 0; k < n * sizeof *v; k++) h = (h ^ b[k]) * 0x100000001b3ULL;
        free(v);
    }
    return h;
}

bool tr_dist_check_params(tr_dist *d, mt_params *list, const char *when) {
    bool ok;
    uint64_t h = tr_params_hash(list, &ok);
    if (!ok) return dist_fail(d, mt_last_error());
    uint64_t *all = malloc((size_t)d->size * sizeof *all);
    if (!all) return dist_fail(d, "out of memory for the parameter hashes");
    if (!d->gather_u64(d, h, all)) {
        free(all);
        return false;
    }
    int n = snprintf(d->err, sizeof d->err, "the ranks' parameters drifted apart %s:", when);
    bool same = true;
    for (int r = 1; r < d->size; r++)
        if (all[r] != all[0]) {
            same = false;
            if (n > 0 && (size_t)n < sizeof d->err)
                n += snprintf(d->err + n, sizeof d->err - (size_t)n,
                              " rank %d's hash %016llx differs from rank 0's %016llx;", r,
                              (unsigned long long)all[r], (unsigned long long)all[0]);
        }
    free(all);
    if (same) d->err[0] = 0;
    d->agreed = !same;
    return same;
}

/* The faults the tests plant: a rank that dies, one that hangs, one whose parameters drift. */
static void plant_fault(tr_dist *d, mt_params *list) {
    if (!strcmp(d->fault_kind, "exit")) {
        fprintf(stderr, "train: rank %d: MT_TRAIN_FAULT: exiting after step %lld\n", d->rank,
                (long long)d->steps);
        _Exit(3);
    }
    if (!strcmp(d->fault_kind, "stall")) {
        fprintf(stderr, "train: rank %d: MT_TRAIN_FAULT: stalling after step %lld\n", d->rank,
                (long long)d->steps);
        for (;;) nanosleep(&(struct timespec){1, 0}, NULL);
    }
    if (!strcmp(d->fault_kind, "drift") && list->count > 0) {
        /* one ulp on the first element: the smallest drift there is */
        mt_tensor *p = list->items[0];
        size_t n = (size_t)mt_numel(p);
        float *v = malloc(n * sizeof *v);
        if (v && mt_to_host(p, v) == MT_OK) {
            v[0] = nextafterf(v[0], INFINITY);
            mt_copy_from_host(p, v);
        }
        free(v);
    }
}

bool tr_dist_after_step(tr_dist *d, mt_params *list) {
    if (d->fault_kind[0] && d->rank == d->fault_rank && d->steps == d->fault_step)
        plant_fault(d, list);
    if (d->check_every > 0 && d->steps % d->check_every == 0) {
        char when[64];
        snprintf(when, sizeof when, "after step %lld", (long long)d->steps);
        return tr_dist_check_params(d, list, when);
    }
    return true;
}

const char *tr_step_error(const tr_shard *sh) {
    if (sh && sh->dist && sh->dist->err[0]) return sh->dist->err;
    return mt_last_error();
}
