/* Checkpoints (engine/checkpoint.c): a save/load round trip restores parameters, optimizer state,
 * step counter, generators and integer arrays bit for bit on every backend, so training continues
 * exactly as if it had never stopped; and every broken or mismatched file is refused with a
 * message that names the file and what differs, leaving the model untouched. */
#include "check.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct run {
    mt_ctx *params, *state, *scratch;
    mt_params list;
    mt_optim opt;
    mt_rng rng;
    int64_t epoch[1], order[5];
} run;

/* Two parameters (a matrix and a vector, like a linear layer) with values from seed. */
static void run_open(run *r, const mt_backend *b, uint64_t seed, bool adam, int nparams) {
    memset(r, 0, sizeof *r);
    r->params = mt_ctx_new(b);
    r->state = mt_ctx_new(b);
    r->scratch = mt_ctx_new(b);
    mt_rng_seed(&r->rng, seed);
    mt_tensor *w = mt_rand_uniform(r->scratch, MT_SHAPE(3, 4), -1, 1, &r->rng);
    mt_tensor *bias = mt_rand_uniform(r->scratch, MT_SHAPE(4), -1, 1, &r->rng);
    CHECK_NOT_NULL(mt_param_new(r->params, &r->list, "fc.weight", w));
    if (nparams > 1) CHECK_NOT_NULL(mt_param_new(r->params, &r->list, "fc.bias", bias));
    if (adam) CHECK_OK(mt_optim_adam(&r->opt, r->state, &r->list, 0.01f, 0.9f, 0.99f, 1e-8f, 0.01f));
    else CHECK_OK(mt_optim_sgd(&r->opt, r->state, &r->list, 0.1f, 0.9f, 0.001f));
    r->epoch[0] = 0;
    for (int i = 0; i < 5; i++) r->order[i] = 4 - i;
    mt_ctx_reset(r->scratch);
}

static void run_close(run *r) {
    mt_optim_free(&r->opt);
    mt_params_free(&r->list);
    mt_ctx_free(r->params);
    mt_ctx_free(r->state);
    mt_ctx_free(r->scratch);
}

/* loss = sum(p^2 * u) over every parameter with fresh u from the run's rng (so the steps depend
 * on the generator too); one optimizer step. */
static void run_step(run *r) {
    mt_ctx_reset(r->scratch);
    CHECK_OK(mt_params_zero_grad(&r->list));
    mt_tensor *total = NULL;
    for (int i = 0; i < r->list.count; i++) {
        mt_tensor *p = r->list.items[i];
        mt_tensor *u = mt_rand_uniform(r->scratch, p->ndim, p->shape, -1, 1, &r->rng);
        mt_tensor *l = mt_sum_all(r->scratch, mt_mul(r->scratch, mt_mul(r->scratch, p, p), u));
        total = total ? mt_add(r->scratch, total, l) : l;
    }
    CHECK_OK(mt_backward(r->scratch, total, NULL));
    CHECK_OK(mt_optim_step(&r->opt, r->scratch));
    r->epoch[0]++;
}

static mt_checkpoint ckpt_of(run *r, mt_ckpt_rng *rng, mt_ckpt_ints *ints) {
    rng[0] = (mt_ckpt_rng){"data", &r->rng};
    rng[1] = (mt_ckpt_rng){"dropout", mt_ctx_rng(r->scratch)};
    ints[0] = (mt_ckpt_ints){"epoch", r->epoch, 1};
    ints[1] = (mt_ckpt_ints){"order", r->order, 5};
    return (mt_checkpoint){&r->list, &r->opt, rng, 2, ints, 2};
}

static bool same_bits(const mt_tensor *a, const mt_tensor *b) {
    if (!a || !b) return a == b;
    if (!mt_same_shape(a, b)) return false;
    int64_t n = mt_numel(a);
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    bool ok = x && y && mt_to_host(a, x) == MT_OK && mt_to_host(b, y) == MT_OK &&
              memcmp(x, y, sizeof(float) * (size_t)n) == 0;
    free(x);
    free(y);
    return ok;
}

static bool same_run(const run *a, const run *b) {
    bool ok = a->list.count == b->list.count && a->opt.steps == b->opt.steps &&
              memcmp(&a->rng, &b->rng, sizeof a->rng) == 0 && a->epoch[0] == b->epoch[0] &&
              memcmp(a->order, b->order, sizeof a->order) == 0;
    for (int i = 0; ok && i < a->list.count; i++) {
        ok = same_bits(a->list.items[i], b->list.items[i]);
        const mt_tensor *sa1 = i < a->opt.nstate ? a->opt.state1[i] : NULL;
        const mt_tensor *sb1 = i < b->opt.nstate ? b->opt.state1[i] : NULL;
        const mt_tensor *sa2 = i < a->opt.nstate ? a->opt.state2[i] : NULL;
        const mt_tensor *sb2 = i < b->opt.nstate ? b->opt.state2[i] : NULL;
        ok = ok && same_bits(sa1, sb1) && same_bits(sa2, sb2);
    }
    return ok;
}

static char dir[256];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static int count_entries(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* ------------------------------------------------------------------ round trips */
static void test_round_trip(const mt_backend *b, bool adam) {
    const char *bn = mt_backend_name(b);
    const char *on = adam ? "adam" : "sgd+momentum";
    char path[512];
    path_in(path, sizeof path, "rt.ckpt");
    run a, c;
    run_open(&a, b, 11, adam, 2);
    run_step(&a);
    run_step(&a);
    mt_ckpt_rng ra[2], rc[2];
    mt_ckpt_ints ia[2], ic[2];
    mt_checkpoint ca = ckpt_of(&a, ra, ia);
    CHECK_OK(mt_checkpoint_save(path, &ca));
    CHECK(count_entries() == 1, "%s %s: only the checkpoint is left in the folder (%d entries)",
          bn, on, count_entries());

    /* a different run: other values, no state yet, other rng */
    run_open(&c, b, 99, adam, 2);
    CHECK(!same_run(&a, &c), "%s %s: the two runs differ before loading", bn, on);
    mt_checkpoint cc = ckpt_of(&c, rc, ic);
    CHECK_OK(mt_checkpoint_load(path, &cc));
    CHECK(same_run(&a, &c), "%s %s: parameters, state, steps, rngs and integers restored bit for "
          "bit", bn, on);
    CHECK(memcmp(mt_ctx_rng(a.scratch), mt_ctx_rng(c.scratch), sizeof(mt_rng)) == 0,
          "%s %s: the context generator restored", bn, on);
    /* the real test: training continues identically */
    for (int k = 0; k < 3; k++) {
        run_step(&a);
        run_step(&c);
    }
    CHECK(same_run(&a, &c), "%s %s: three more steps after the load give the same bits", bn, on);

    /* loading over a run that already has state updates it in place */
    CHECK_OK(mt_checkpoint_save(path, &ca));
    run_step(&c);
    CHECK_OK(mt_checkpoint_load(path, &cc));
    CHECK(same_run(&a, &c), "%s %s: a load over existing state restores it", bn, on);

    /* one integer array alone, before any matching (how a trainer learns which model wrote a
     * file); a name the file lacks reads as count -1 */
    int64_t vals[8] = {0}, cnt = 0;
    CHECK_OK(mt_checkpoint_read_ints(path, "order", vals, 3, &cnt));
    CHECK(cnt == 5 && vals[0] == a.order[0] && vals[2] == a.order[2] && vals[3] == 0,
          "%s %s: read_ints gives the order's length and its first 3 values (count %lld)", bn,
          on, (long long)cnt);
    CHECK_OK(mt_checkpoint_read_ints(path, "no-such-array", vals, 8, &cnt));
    CHECK(cnt == -1, "%s %s: read_ints of an absent array gives count -1 (%lld)", bn, on,
          (long long)cnt);

    /* evaluation: parameters alone */
    run e;
    run_open(&e, b, 5, adam, 2);
    mt_checkpoint ce = {&e.list, NULL, NULL, 0, NULL, 0};
    CHECK_OK(mt_checkpoint_load(path, &ce));
    bool params_same = same_bits(e.list.items[0], a.list.items[0]) &&
                       same_bits(e.list.items[1], a.list.items[1]);
    CHECK(params_same && e.opt.steps == 0 && e.epoch[0] == 0,
          "%s %s: a parameters-only load sets the parameters and nothing else", bn, on);
    run_close(&e);
    run_close(&a);
    run_close(&c);
    unlink(path);
}

/* A parameter the loss never reached has no state; it must round-trip as "no state", and a
 * parameter appended after the last step must be covered. */
static void test_partial_state(void) {
    char path[512];
    path_in(path, sizeof path, "partial.ckpt");
    run a, c;
    run_open(&a, NULL, 3, true, 1);
    run_step(&a);
    mt_tensor *extra = mt_ones(a.scratch, MT_SHAPE(2));
    CHECK_NOT_NULL(mt_param_new(a.params, &a.list, "late", extra));
    mt_ckpt_rng ra[2], rc[2];
    mt_ckpt_ints ia[2], ic[2];
    mt_checkpoint ca = ckpt_of(&a, ra, ia);
    CHECK_OK(mt_checkpoint_save(path, &ca));
    run_open(&c, NULL, 4, true, 1);
    CHECK_NOT_NULL(mt_param_new(c.params, &c.list, "late", mt_zeros(c.scratch, MT_SHAPE(2))));
    mt_checkpoint cc = ckpt_of(&c, rc, ic);
    CHECK_OK(mt_checkpoint_load(path, &cc));
    CHECK(c.opt.nstate == 2 && c.opt.state1[1] == NULL && c.opt.state2[1] == NULL &&
              c.opt.state1[0] != NULL,
          "a parameter without state loads as none (nstate %d)", c.opt.nstate);
    run_step(&a);
    run_step(&c);
    CHECK(same_run(&a, &c), "steps after loading partial state match");
    run_close(&a);
    run_close(&c);
    unlink(path);
}

/* ------------------------------------------------------------------ broken files */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(*n);
    if (d && fread(d, 1, *n, f) != *n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    return d;
}

static void spit(const char *path, const unsigned char *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(d, 1, n, f);
        fclose(f);
    }
}

/* Expects load to fail with status and a message holding both the path and needle, and the run's
 * parameters unchanged. */
static void expect_refused(run *r, const char *path, mt_status status, const char *needle,
                           const char *what) {
    float before[16], after[16];
    mt_to_host(r->list.items[0], before);
    int64_t steps = r->opt.steps;
    mt_ckpt_rng rr[2];
    mt_ckpt_ints ii[2];
    mt_checkpoint c = ckpt_of(r, rr, ii);
    mt_clear_error();
    mt_status st = mt_checkpoint_load(path, &c);
    const char *msg = mt_last_error();
    CHECK(st == status && strstr(msg, path) && strstr(msg, needle),
          "%s: expected %s with \"%s\", got %s: %s", what, mt_status_name(status), needle,
          mt_status_name(st), msg);
    mt_to_host(r->list.items[0], after);
    CHECK(memcmp(before, after, sizeof(float) * 12) == 0 && r->opt.steps == steps,
          "%s: a refused load leaves the model untouched", what);
}

static void test_broken_files(void) {
    char good[512], bad[512];
    path_in(good, sizeof good, "good.ckpt");
    path_in(bad, sizeof bad, "bad.ckpt");
    run a;
    run_open(&a, NULL, 21, true, 2);
    run_step(&a);
    mt_ckpt_rng ra[2];
    mt_ckpt_ints ia[2];
    mt_checkpoint ca = ckpt_of(&a, ra, ia);
    CHECK_OK(mt_checkpoint_save(good, &ca));
    size_t n = 0;
    unsigned char *d = slurp(good, &n);
    CHECK(d && n > 100, "the checkpoint was written (%zu bytes)", n);
    if (!d) return;

    run r;
    run_open(&r, NULL, 22, true, 2);
    char missing[512];
    path_in(missing, sizeof missing, "nope.ckpt");
    expect_refused(&r, missing, MT_ERR_IO, "cannot open", "missing file");

    size_t cuts[] = {0, 5, 19, 27, n / 2, n - 9, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        spit(bad, d, cuts[k]);
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", cuts[k]);
        expect_refused(&r, bad, MT_ERR_IO, cuts[k] < 8 ? "bad magic" : "truncated", what);
    }
    unsigned char *e = malloc(n + 3);
    memcpy(e, d, n);
    memcpy(e + n, "xyz", 3);
    spit(bad, e, n + 3);
    expect_refused(&r, bad, MT_ERR_IO, "trailing", "3 bytes appended");
    /* a flipped bit anywhere in the body, and in the checksum itself */
    size_t flips[] = {30, n / 3, n / 2, n - 20, n - 1};
    for (size_t k = 0; k < sizeof flips / sizeof *flips; k++) {
        memcpy(e, d, n);
        e[flips[k]] ^= 0x10;
        spit(bad, e, n);
        char what[64];
        snprintf(what, sizeof what, "bit flipped at byte %zu", flips[k]);
        expect_refused(&r, bad, MT_ERR_IO, "checksum", what);
    }
    memcpy(e, d, n);
    e[0] = 'X';
    spit(bad, e, n);
    expect_refused(&r, bad, MT_ERR_IO, "bad magic", "bad magic");
    memcpy(e, d, n);
    e[8] = MT_CHECKPOINT_VERSION + 1;
    spit(bad, e, n);
    expect_refused(&r, bad, MT_ERR_IO, "version 2", "a newer version");
    free(e);
    free(d);

    /* the file is fine but the model is not the one saved */
    run m;
    run_open(&m, NULL, 23, true, 1);
    expect_refused(&m, good, MT_ERR_SHAPE, "2 parameters in the file, the model has 1",
                   "parameter count");
    run_close(&m);
    run_open(&m, NULL, 23, true, 2);
    m.list.names[1] = "fc.b";
    expect_refused(&m, good, MT_ERR_SHAPE, "parameter 1 is \"fc.bias\" in the file, \"fc.b\"",
                   "parameter name");
    run_close(&m);
    run_open(&m, NULL, 23, true, 2);
    mt_tensor *wide = mt_zeros(m.params, MT_SHAPE(5));
    wide->requires_grad = true;
    m.list.items[1] = wide;
    expect_refused(&m, good, MT_ERR_SHAPE, "fc.bias has shape (4,) in the file, (5,) in the model",
                   "parameter shape");
    run_close(&m);
    run_open(&m, NULL, 23, false, 2);
    expect_refused(&m, good, MT_ERR_ARG, "the file holds adam state, the optimizer is sgd",
                   "optimizer kind");
    run_close(&m);
    run_open(&m, NULL, 23, true, 2);
    m.opt.lr = 0.02f;
    expect_refused(&m, good, MT_ERR_ARG, "lr is 0.00999999978 in the file, 0.0199999996 here",
                   "learning rate");
    run_close(&m);

    /* generators and integer arrays */
    run_open(&m, NULL, 23, true, 2);
    mt_ckpt_rng rr[2];
    mt_ckpt_ints ii[2];
    mt_checkpoint cm = ckpt_of(&m, rr, ii);
    rr[1].name = "shuffle";
    mt_clear_error();
    CHECK(mt_checkpoint_load(good, &cm) == MT_ERR_SHAPE &&
              strstr(mt_last_error(), "generator 1 is \"dropout\" in the file, \"shuffle\""),
          "generator name mismatch: %s", mt_last_error());
    cm = ckpt_of(&m, rr, ii);
    ii[1].count = 4;
    mt_clear_error();
    CHECK(mt_checkpoint_load(good, &cm) == MT_ERR_SHAPE &&
              strstr(mt_last_error(), "order holds 5 values in the file, 4 expected"),
          "integer array length mismatch: %s", mt_last_error());
    cm = ckpt_of(&m, rr, ii);
    cm.nints = 1;
    mt_clear_error();
    CHECK(mt_checkpoint_load(good, &cm) == MT_ERR_SHAPE &&
              strstr(mt_last_error(), "2 integer arrays in the file, 1 expected"),
          "integer array count mismatch: %s", mt_last_error());
    run_close(&m);

    /* a file saved without an optimizer cannot resume one */
    mt_checkpoint bare = {&a.list, NULL, NULL, 0, NULL, 0};
    CHECK_OK(mt_checkpoint_save(bad, &bare));
    mt_checkpoint want_optim = {&r.list, &r.opt, NULL, 0, NULL, 0};
    mt_clear_error();
    CHECK(mt_checkpoint_load(bad, &want_optim) == MT_ERR_SHAPE &&
              strstr(mt_last_error(), "no optimizer state"),
          "no optimizer in the file: %s", mt_last_error());
    run_close(&r);
    run_close(&a);
    unlink(good);
    unlink(bad);
}

/* A save that cannot happen says so, and leaves the previous checkpoint in place. */
static void test_save_failures(void) {
    run a;
    run_open(&a, NULL, 31, false, 2);
    mt_ckpt_rng ra[2];
    mt_ckpt_ints ia[2];
    mt_checkpoint ca = ckpt_of(&a, ra, ia);
    char path[512];
    path_in(path, sizeof path, "no/such/folder/x.ckpt");
    mt_clear_error();
    CHECK(mt_checkpoint_save(path, &ca) == MT_ERR_IO && strstr(mt_last_error(), path),
          "save into a missing folder: %s", mt_last_error());
    /* the target is a folder: the rename fails, the old "checkpoint" stays, no temp file left */
    path_in(path, sizeof path, "occupied");
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", path);
    CHECK(mkdir(path, 0755) == 0, "mkdir %s", path);
    FILE *f = fopen(inner, "w");
    if (f) fclose(f);
    int before = count_entries();
    mt_clear_error();
    CHECK(mt_checkpoint_save(path, &ca) == MT_ERR_IO && strstr(mt_last_error(), "rename"),
          "save over a folder fails at the rename: %s", mt_last_error());
    CHECK(count_entries() == before, "no temporary file left behind (%d entries, %d before)",
          count_entries(), before);
    unlink(inner);
    rmdir(path);
    run_close(&a);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/mt_ckpt_test_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const mt_backend *backends[CHECK_MAX_BACKENDS];
    int nb = check_runnable_backends(backends, CHECK_MAX_BACKENDS);
    for (int i = 0; i < nb; i++) {
        test_round_trip(backends[i], true);
        test_round_trip(backends[i], false);
    }
    test_partial_state();
    test_broken_files();
    test_save_failures();
    rmdir(dir);
    return check_summary("checkpoint");
}
