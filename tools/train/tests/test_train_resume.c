/* --checkpoint / --resume / --eval through the trainers themselves: a run of N epochs and a run of
 * k epochs resumed for the rest end with byte-identical checkpoints (parameters, optimizer state,
 * generators, data order) and the same per-epoch losses, bit for bit; broken and mismatched
 * checkpoints are refused with the file named; --eval scores a checkpoint. Small generated
 * MNIST-shaped data (8x8 and 12x12 images) and SST-2-shaped data (TSVs and a 20-d word-vector
 * cache written here), so it runs in a second. */
#include "check.h"
#include "fixture.h"
#include "report.h"
#include "sentences_fixture.h"
#include "train.h"
#include "train_common.h"
#include "util.h"

#include <string.h>


/* An IDX file of unsigned bytes: 0 0 0x08 ndim, big-endian dims, the bytes. */
static const char *write_idx(const char *name, int ndim, const int *dims, const uint8_t *v) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)dims[d];
    uint8_t *buf = malloc(4 + 4 * (size_t)ndim + n);
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++)
        for (int k = 0; k < 4; k++) buf[4 + 4 * d + k] = (uint8_t)(dims[d] >> (24 - 8 * k));
    memcpy(buf + 4 + 4 * ndim, v, n);
    const char *p = fixture_write(name, buf, 4 + 4 * (size_t)ndim + n);
    free(buf);
    return p;
}

/* side x side images whose label is which quadrant is bright, plus noise: learnable, not
 * trivial. 8x8 for MiniTorch's network; LeNet needs at least 12x12. */
static void write_set(const char *prefix, int n, uint64_t seed, int side) {
    mt_rng r;
    mt_rng_seed(&r, seed);
    uint8_t *img = malloc((size_t)n * side * side), *lab = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        lab[i] = (uint8_t)(mt_rng_next(&r) % 4);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int q = (y >= side / 2) * 2 + (x >= side / 2);
                int v = (q == lab[i] ? 160 : 20) + (int)(mt_rng_next(&r) % 90);
                img[(size_t)i * side * side + y * side + x] = (uint8_t)v;
            }
    }
    char name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    write_idx(name, 3, (int[]){n, side, side}, img);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    write_idx(name, 1, (int[]){n}, lab);
    free(img);
    free(lab);
}

static char *slurp(const char *path, size_t *n) {
    uint8_t *d = NULL;
    char err[TR_ERR_LEN];
    if (!tr_read_file(path, &d, n, err, sizeof err)) return NULL;
    return (char *)d;
}

static bool same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Column col (0-based) of the CSV row for epoch `epoch`, as text, into out. */
static bool csv_field(const char *dir, int epoch, int col, char *out, size_t n) {
    char path[300];
    snprintf(path, sizeof path, "%s/curves.csv", dir);
    size_t len;
    char *text = slurp(path, &len);
    bool found = false;
    for (char *line = text ? strtok(text, "\n") : NULL; line && !found; line = strtok(NULL, "\n")) {
        if (atoi(line) != epoch || line[0] < '0' || line[0] > '9') continue;
        char *f = line;
        for (int c = 0; c < col && f; c++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
        if (f) {
            size_t k = strcspn(f, ",");
            snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), f);
            found = true;
        }
    }
    free(text);
    return found;
}

static train_opts base_opts(const char *task, const char *sub) {
    static char outs[16][200];
    static int next;
    char *out = outs[next++ % 16];
    snprintf(out, sizeof outs[0], "%s/out-%s", fixture_tmpdir(), sub);
    train_opts o = {0};
    o.task = task;
    o.backend = mt_backend_by_name("openmp") ? "openmp" : "naive";
    mt_clear_error();
    o.optimizer = "sgd";
    o.dataset = "xor";
    o.epochs = 3;
    o.lr = 0.05f;
    o.batch = 8;
    o.seed = 7;
    o.root = fixture_tmpdir();
    o.data_dir = fixture_tmpdir();
    o.out_dir = out;
    return o;
}

static void ckpt_dir(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", fixture_tmpdir(), name);
}

static void test_mnist_resume(const char *optimizer) {
    char full[200], part[200], a[300], b[300], err[TR_ERR_LEN] = "";
    char sub_full[32], sub_part[32], sub_res[32];
    snprintf(sub_full, sizeof sub_full, "full-%s", optimizer);
    snprintf(sub_part, sizeof sub_part, "part-%s", optimizer);
    snprintf(sub_res, sizeof sub_res, "res-%s", optimizer);
    ckpt_dir(full, sizeof full, sub_full);
    ckpt_dir(part, sizeof part, sub_part);
    tr_checkpoint_path(a, sizeof a, full);
    tr_checkpoint_path(b, sizeof b, part);

    train_opts o = base_opts("mnist", sub_full);
    o.optimizer = optimizer;
    if (!strcmp(optimizer, "adam")) o.lr = 0.003f;
    o.checkpoint_dir = full;
    CHECK(train_mnist(&o, err, sizeof err), "mnist %s: 3 epochs: %s", optimizer, err);

    train_opts p = base_opts("mnist", sub_part);
    p.optimizer = o.optimizer;
    p.lr = o.lr;
    p.checkpoint_dir = part;
    p.epochs = 1;
    CHECK(train_mnist(&p, err, sizeof err), "mnist %s: 1 epoch: %s", optimizer, err);
    CHECK(!same_file(a, b), "mnist %s: after 1 and 3 epochs the checkpoints differ", optimizer);
    train_opts r = p;
    r.out_dir = base_opts("mnist", sub_res).out_dir;
    r.epochs = 3;
    r.resume = true;
    CHECK(train_mnist(&r, err, sizeof err), "mnist %s: resume for 2 more: %s", optimizer, err);
    CHECK(same_file(a, b), "mnist %s: 3 epochs and 1 + resumed 2 end in byte-identical "
          "checkpoints", optimizer);
    for (int epoch = 2; epoch <= 3; epoch++) {
        char l1[64] = "", l2[64] = "";
        bool f1 = csv_field(o.out_dir, epoch, 2, l1, sizeof l1);
        bool f2 = csv_field(r.out_dir, epoch, 2, l2, sizeof l2);
        CHECK(f1 && f2 && strcmp(l1, l2) == 0, "mnist %s epoch %d: loss %s uninterrupted, %s "
              "resumed (bit for bit)", optimizer, epoch, l1, l2);
    }
    char l1[64] = "";
    CHECK(!csv_field(r.out_dir, 1, 2, l1, sizeof l1), "mnist %s: the resumed run starts at "
          "epoch 2", optimizer);
}

static void expect_fail(bool ok, const char *err, const char *n1, const char *n2,
                        const char *what) {
    CHECK(!ok && strstr(err, n1) && (!n2 || strstr(err, n2)), "%s: expected an error with "
          "\"%s\"%s%s, got %s", what, n1, n2 ? " and " : "", n2 ? n2 : "", ok ? "success" : err);
}

static void test_mnist_refusals(void) {
    char part[200], path[300], err[TR_ERR_LEN] = "";
    ckpt_dir(part, sizeof part, "part-sgd");
    tr_checkpoint_path(path, sizeof path, part);
    train_opts r = base_opts("mnist", "refused");
    r.checkpoint_dir = part;
    r.resume = true;
    r.epochs = 4;

    train_opts x = r;
    x.batch = 4;
    expect_fail(train_mnist(&x, err, sizeof err), err, "--batch 8, this run has 4", path,
                "another --batch");
    x = r;
    x.optimizer = "adam";
    expect_fail(train_mnist(&x, err, sizeof err), err, "adam", path, "another optimizer");
    x = r;
    x.lr = 0.5f;
    expect_fail(train_mnist(&x, err, sizeof err), err, "lr is", path, "another --lr");
    x = r;
    x.limit = 20;
    expect_fail(train_mnist(&x, err, sizeof err), err, "--limit", path, "another --limit");
    char empty[200];
    ckpt_dir(empty, sizeof empty, "nothing-here");
    x = r;
    x.checkpoint_dir = empty;
    expect_fail(train_mnist(&x, err, sizeof err), err, "cannot open", empty, "no checkpoint");

    size_t n;
    char *d = slurp(path, &n);
    CHECK(d != NULL, "read %s", path);
    if (!d) return;
    char cut[200], cutpath[300];
    ckpt_dir(cut, sizeof cut, "cut");
    tr_checkpoint_path(cutpath, sizeof cutpath, cut);
    tr_mkdir_p(cut, err, sizeof err);
    FILE *f = fopen(cutpath, "wb");
    fwrite(d, 1, n - 100, f);
    fclose(f);
    x = r;
    x.checkpoint_dir = cut;
    expect_fail(train_mnist(&x, err, sizeof err), err, "truncated", cutpath, "truncated");
    d[n / 2] ^= 1;
    f = fopen(cutpath, "wb");
    fwrite(d, 1, n, f);
    fclose(f);
    expect_fail(train_mnist(&x, err, sizeof err), err, "checksum", cutpath, "corrupt");
    free(d);

    /* the toy network's checkpoint is not an MNIST network's, and says so by name */
    char toy[200];
    ckpt_dir(toy, sizeof toy, "toy-full");
    x = r;
    x.checkpoint_dir = toy;
    expect_fail(train_mnist(&x, err, sizeof err), err, "checkpoint of the toy model", NULL,
                "another model");
}

static void test_toy_resume(void) {
    char full[200], part[200], a[300], b[300], err[TR_ERR_LEN] = "";
    ckpt_dir(full, sizeof full, "toy-full");
    ckpt_dir(part, sizeof part, "toy-part");
    tr_checkpoint_path(a, sizeof a, full);
    tr_checkpoint_path(b, sizeof b, part);
    train_opts o = base_opts("toy", "toy-full");
    o.optimizer = "adam";
    o.epochs = 30;
    o.checkpoint_dir = full;
    CHECK(train_toy(&o, err, sizeof err), "toy 30 epochs: %s", err);
    train_opts p = base_opts("toy", "toy-part");
    p.optimizer = "adam";
    p.epochs = 13;
    p.checkpoint_dir = part;
    CHECK(train_toy(&p, err, sizeof err), "toy 13 epochs: %s", err);
    p.out_dir = base_opts("toy", "toy-res").out_dir;
    p.epochs = 30;
    p.resume = true;
    CHECK(train_toy(&p, err, sizeof err), "toy resume to 30: %s", err);
    CHECK(same_file(a, b), "toy: 30 epochs and 13 + resumed 17 end in byte-identical checkpoints");
    char l1[64] = "", l2[64] = "";
    CHECK(csv_field(o.out_dir, 30, 1, l1, sizeof l1) && csv_field(p.out_dir, 30, 1, l2, sizeof l2) &&
              strcmp(l1, l2) == 0,
          "toy: epoch 30 loss %s and %s", l1, l2);
}

static void test_mnist_eval(void) {
    char part[200], err[TR_ERR_LEN] = "", images[300];
    ckpt_dir(part, sizeof part, "full-sgd");
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte", fixture_tmpdir());
    train_opts e = base_opts("mnist", "eval");
    e.checkpoint_dir = part;
    e.eval_file = images;
    CHECK(train_mnist(&e, err, sizeof err), "--eval on the test file: %s", err);
    e.eval_file = fixture_write("odd-name", "x", 1);
    expect_fail(train_mnist(&e, err, sizeof err), err, "\"images\"", NULL, "eval: not images");
    /* 12x12 images make fc1 (72,64) where the checkpoint has (32,64) */
    mt_rng r;
    mt_rng_seed(&r, 1);
    uint8_t img[4 * 144], lab[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4 * 144; i++) img[i] = (uint8_t)mt_rng_next(&r);
    write_idx("big-images-idx3-ubyte", 3, (int[]){4, 12, 12}, img);
    write_idx("big-labels-idx1-ubyte", 1, (int[]){4}, lab);
    snprintf(images, sizeof images, "%s/big-images-idx3-ubyte", fixture_tmpdir());
    e.eval_file = images;
    expect_fail(train_mnist(&e, err, sizeof err), err, "fc1.weight has shape (32, 64) in the file",
                "(72, 64) in the model", "eval: other image size");
}

/* --model lenet: trains, resumes and evaluates through the same loop; a LeNet checkpoint and a
 * MiniTorch-network checkpoint refuse each other by model name (not by a parameter shape), and
 * LeNet refuses images too small for its two pools. */
static void test_lenet(void) {
    char dir[200], ck[200], path[300], err[TR_ERR_LEN] = "";
    ckpt_dir(dir, sizeof dir, "lenet-data");
    tr_mkdir_p(dir, err, sizeof err);
    write_set("lenet-data/train", 32, 3, 12);
    write_set("lenet-data/t10k", 16, 4, 12);
    ckpt_dir(ck, sizeof ck, "lenet-ckpt");
    tr_checkpoint_path(path, sizeof path, ck);

    train_opts o = base_opts("mnist", "lenet");
    o.model = "lenet";
    o.data_dir = dir;
    o.epochs = 1;
    o.checkpoint_dir = ck;
    CHECK(train_mnist(&o, err, sizeof err), "lenet: 1 epoch on 12x12 images: %s", err);
    train_opts r = o;
    r.out_dir = base_opts("mnist", "lenet-res").out_dir;
    r.epochs = 2;
    r.resume = true;
    CHECK(train_mnist(&r, err, sizeof err), "lenet: resume for 1 more: %s", err);
    train_opts e = o;
    char images[300];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte", dir);
    e.eval_file = images;
    CHECK(train_mnist(&e, err, sizeof err), "lenet: --eval its own checkpoint: %s", err);

    /* the minitorch network (the default) against LeNet's checkpoint, and back */
    train_opts m = r;
    m.model = NULL;
    expect_fail(train_mnist(&m, err, sizeof err), err, "checkpoint of the lenet model, this run "
                "builds the minitorch model", "--model lenet", "resume lenet as minitorch");
    m = e;
    m.model = "minitorch";
    expect_fail(train_mnist(&m, err, sizeof err), err, "checkpoint of the lenet model", path,
                "eval lenet as minitorch");
    char part[200];
    ckpt_dir(part, sizeof part, "part-sgd");
    m = r;
    m.checkpoint_dir = part;
    expect_fail(train_mnist(&m, err, sizeof err), err, "checkpoint of the minitorch model, this "
                "run builds the lenet model", "--model minitorch", "resume minitorch as lenet");
    m = base_opts("mnist", "lenet-small");
    m.model = "lenet";
    expect_fail(train_mnist(&m, err, sizeof err), err, "images are 8x8", "at least 12",
                "lenet on 8x8 images");
    m.model = "resnet";
    expect_fail(train_mnist(&m, err, sizeof err), err, "--model resnet", NULL, "unknown model");
}

/* Runs train_sst2 with stdout in a file, which it returns (for --eval's printed matrix). */
static char *sst2_stdout(const train_opts *o, bool *ok, char *err, size_t errlen) {
    char path[300];
    snprintf(path, sizeof path, "%s/eval-stdout.txt", fixture_tmpdir());
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(path, "w");
    if (saved < 0 || !f) {
        *ok = false;
        return NULL;
    }
    dup2(fileno(f), 1);
    *ok = train_sst2(o, err, errlen);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    size_t n;
    return slurp(path, &n);
}

/* The two counts of the confusion-matrix row named `name` in text (the header row names the
 * classes too, but no counts follow there). */
static bool matrix_row(const char *text, const char *name, long long *a, long long *b) {
    char fmt[64];
    snprintf(fmt, sizeof fmt, "%s %%lld %%lld", name);
    for (const char *p = text; p && (p = strstr(p, name)); p += strlen(name))
        if (sscanf(p, fmt, a, b) == 2) return true;
    return false;
}

/* sst2: --checkpoint, --resume (bit-identical losses and checkpoints, the best dev accuracy
 * carried over) and --eval (accuracy and a 2x2 confusion matrix) on generated sentences. */
static void test_sst2(void) {
    char dir[200], cache[200], err[TR_ERR_LEN] = "";
    ckpt_dir(dir, sizeof dir, "sst2");
    ckpt_dir(cache, sizeof cache, "data/cache");
    CHECK(tr_mkdir_p(dir, err, sizeof err) && tr_mkdir_p(cache, err, sizeof err), "%s", err);
    mt_rng r;
    mt_rng_seed(&r, 9);
    char *tsv = make_tsv(60, &r);
    fixture_write("sst2/train.tsv", tsv, strlen(tsv));
    free(tsv);
    tsv = make_tsv(30, &r);
    const char *dev = fixture_write("sst2/dev.tsv", tsv, strlen(tsv));
    free(tsv);
    size_t glen;
    uint8_t *gbuf = make_glove(&glen, &r);
    fixture_write("data/cache/glove100.bin", gbuf, glen);
    free(gbuf);

    char full[200], part[200], a[300], b[300];
    ckpt_dir(full, sizeof full, "sst2-full");
    ckpt_dir(part, sizeof part, "sst2-part");
    tr_checkpoint_path(a, sizeof a, full);
    tr_checkpoint_path(b, sizeof b, part);
    train_opts o = base_opts("sst2", "sst2-full");
    o.data_dir = dir;
    o.checkpoint_dir = full;
    CHECK(train_sst2(&o, err, sizeof err), "sst2: 3 epochs: %s", err);
    train_opts p = o;
    p.out_dir = base_opts("sst2", "sst2-part").out_dir;
    p.checkpoint_dir = part;
    p.epochs = 1;
    CHECK(train_sst2(&p, err, sizeof err), "sst2: 1 epoch: %s", err);
    CHECK(!same_file(a, b), "sst2: after 1 and 3 epochs the checkpoints differ");
    train_opts res = p;
    res.out_dir = base_opts("sst2", "sst2-res").out_dir;
    res.epochs = 3;
    res.resume = true;
    CHECK(train_sst2(&res, err, sizeof err), "sst2: resume for 2 more: %s", err);
    CHECK(same_file(a, b), "sst2: 3 epochs and 1 + resumed 2 end in byte-identical checkpoints");
    /* columns: 2 summed loss, 3 mean loss, 8 best dev accuracy */
    static const int cols[3] = {2, 3, 8};
    for (int epoch = 2; epoch <= 3; epoch++)
        for (int c = 0; c < 3; c++) {
            char l1[64] = "", l2[64] = "";
            bool f1 = csv_field(o.out_dir, epoch, cols[c], l1, sizeof l1);
            bool f2 = csv_field(res.out_dir, epoch, cols[c], l2, sizeof l2);
            CHECK(f1 && f2 && strcmp(l1, l2) == 0, "sst2 epoch %d column %d: %s uninterrupted, "
                  "%s resumed (bit for bit)", epoch, cols[c], l1, l2);
        }
    char l1[64] = "";
    CHECK(!csv_field(res.out_dir, 1, 2, l1, sizeof l1), "sst2: the resumed run starts at epoch 2");

    /* --eval: every dev sentence lands in the 2x2 matrix, and the accuracy is the CSV's */
    train_opts e = o;
    e.eval_file = dev;
    bool ok = false;
    char *text = sst2_stdout(&e, &ok, err, sizeof err);
    CHECK(ok && text, "sst2 --eval: %s", err);
    char want[96] = "", acc[64] = "";
    csv_field(o.out_dir, 3, 5, acc, sizeof acc);
    snprintf(want, sizeof want, "accuracy %s/30 (", acc);
    long long nn = 0, np = 0, pn = 0, pp = 0;
    bool rows = matrix_row(text, "negative", &nn, &np) && matrix_row(text, "positive", &pn, &pp);
    CHECK(text && strstr(text, want), "sst2 --eval prints \"%s\" (the last epoch's dev count): "
          "%s", want, text ? text : "(nothing)");
    CHECK(rows && nn + np + pn + pp == 30 && acc[0] && nn + pp == atoll(acc),
          "sst2 --eval: a 2x2 matrix of the 30 sentences whose diagonal is the hits (%lld %lld / "
          "%lld %lld)", nn, np, pn, pp);
    free(text);

    /* another model's checkpoint either way, and another --batch */
    char mn[200];
    ckpt_dir(mn, sizeof mn, "part-sgd");
    train_opts x = res;
    x.checkpoint_dir = mn;
    expect_fail(train_sst2(&x, err, sizeof err), err, "checkpoint of the minitorch model, this run "
                "builds the sentiment model", NULL, "sst2 resuming an mnist checkpoint");
    x = base_opts("mnist", "sst2-as-mnist");
    x.checkpoint_dir = full;
    x.resume = true;
    expect_fail(train_mnist(&x, err, sizeof err), err, "checkpoint of the sentiment model", a,
                "mnist resuming an sst2 checkpoint");
    CHECK(!strstr(err, "--model"), "no --model hint when --model cannot help: %s", err);
    x = res;
    x.batch = 5;
    expect_fail(train_sst2(&x, err, sizeof err), err, "--batch 8, this run has 5", b,
                "sst2 with another --batch");
}

int main(void) {
    write_set("train", 48, 1, 8);
    write_set("t10k", 24, 2, 8);
    test_toy_resume();
    test_mnist_resume("sgd");
    test_mnist_resume("adam");
    test_mnist_refusals();
    test_mnist_eval();
    test_lenet();
    test_sst2();
    /* leave nothing behind: the fixture folder holds folders of run outputs */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", fixture_tmpdir());
    if (system(cmd) != 0) fprintf(stderr, "could not empty %s\n", fixture_tmpdir());
    fixture_cleanup(NULL, 0);
    return check_summary("train_resume");
}
