/* ./train: the command line. Parses flags into train_opts, picks the task's defaults, and turns a
 * trainer's error into a message and an exit code: 2 for a bad command line, 1 for anything else
 * (missing data included, with the data/fetch.sh command to run). */
#include "minitorch.h"
#include "train.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TR_HAVE_MPI
#include "dist_mpi.h"
#endif

/* A data-parallel rank other than 0: the command line is the same on every rank, so only rank 0
 * reports its faults (and --help). */
static bool quiet_rank;

static void usage(FILE *f) {
    fprintf(f,
            "usage: ./train TASK [flags]\n"
            "\n"
            "tasks:\n"
            "  mnist           MiniTorch's MNIST network (conv 1->4, conv 4->8, avgpool 4x4, linear\n"
            "                  392->64, dropout 0.25, linear 64->10, logsoftmax, NLL) on MNIST;\n"
            "                  accuracy on the 10,000 test images every epoch\n"
            "  fashion-mnist   the same network on Fashion-MNIST (gzipped IDX: needs zlib)\n"
            "                  (--model lenet: LeNet-5 with ReLU and max pooling instead)\n"
            "  sst2            MiniTorch's sentiment CNN (conv1d 3/4/5 x 100 filters over GloVe\n"
            "                  100-d vectors, max over time, linear, dropout, sigmoid, BCE);\n"
            "                  accuracy on the dev set every epoch\n"
            "  toy             MiniTorch's toy sets with its 2-10-10-1 network (see --dataset)\n"
            "\n"
            "flags (--flag VALUE or --flag=VALUE):\n"
            "  --backend NAME      engine backend: naive, openmp (default: openmp when built)\n"
            "  --epochs N          passes over the training data (default: mnist/sst2 10, toy 500)\n"
            "  --lr X              learning rate (default: mnist/sst2 0.01, toy 0.5)\n"
            "  --batch N           batch size (default: mnist 16, sst2 10; toy is full-batch)\n"
            "  --optimizer NAME    sgd (plain, no momentum; default) or adam\n"
            "  --seed N            seeds initialisation, shuffling and dropout (default 1)\n"
            "  --threads N         OpenMP threads for the openmp backend (default: OpenMP's)\n"
            "  --limit N           train on the first N training examples only\n"
            "  --preset minitorch  the course's setup: mnist trains on images 0..4999, validates on\n"
            "                      images 10000..10015 and logs `Epoch E loss L valid acc C/16`\n"
            "                      every 5 batches; sst2 uses 450 train / 100 dev sentences\n"
            "  --model NAME        mnist, fashion-mnist: minitorch (default: MiniTorch's network)\n"
            "                      or lenet (conv 1->6 5x5 pad 2, maxpool 2, conv 6->16 5x5,\n"
            "                      maxpool 2, linear 400->120->84->10); checkpoints record it\n"
            "  --dataset NAME      toy: simple, diag, split, xor, circle, spiral (default simple)\n"
            "  --data DIR          where the task's files are (default: data/cache/<task>; sst2:\n"
            "                      $MT_SST2_DIR, data/sst2, ../shared/data/sst2)\n"
            "  --out DIR           log.txt and curves.csv go here (default:\n"
            "                      reports/train-<task>-<UTC timestamp>/)\n"
            "  --checkpoint DIR    write DIR/checkpoint.mtckpt after every epoch (atomically:\n"
            "                      a crash leaves the previous one)\n"
            "  --resume            continue from DIR/checkpoint.mtckpt: epoch, parameters,\n"
            "                      optimizer, data order and generators; same losses, bit for bit,\n"
            "                      as an uninterrupted run (needs the same flags; --epochs is the\n"
            "                      total)\n"
            "  --eval FILE         score DIR/checkpoint.mtckpt on FILE and print accuracy and a\n"
            "                      confusion matrix; no training (mnist: an images IDX file, its\n"
            "                      labels beside it with \"labels\" for \"images\" in the name;\n"
            "                      sst2: a TSV)\n"
            "  --help              this text\n"
            "\n"
            "data-parallel (mpirun -np N ./train TASK ...; %s):\n"
            "  every global batch (--batch) is split into N contiguous shards, the ranks' gradients\n"
            "  are summed in a fixed order (same N and seed, same bits), rank 0 prints and writes\n"
            "  logs, reports and checkpoints; --resume takes a checkpoint of any N\n"
            "  --mpi-timeout SEC    end every rank when one collective waits longer (default %g)\n"
            "  --mpi-check K        compare the ranks' parameter hashes every K steps (default 0:\n"
            "                       at the end of every epoch only)\n"
            "\n"
            "data: data/fetch.sh mnist|fashion-mnist|glove|sst2|all (into data/cache/, git-ignored)\n",
#ifdef TR_HAVE_MPI
            "this build has MPI", TR_MPI_TIMEOUT_DEFAULT
#else
            "this build has NO MPI: install libopenmpi-dev and rebuild", 120.0
#endif
    );
}

/* A bad command line: the message, a pointer to --help, and exit status 2. */
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...) {
    if (quiet_rank) return 2;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "train: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n  see ./train --help\n");
    va_end(ap);
    return 2;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* The command line and the run; returns the exit status. err gets a trainer's failure. */
static int run_cli(int argc, char **argv, tr_dist *dist, char *err, size_t errlen) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        if (!quiet_rank) usage(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (!quiet_rank) usage(stderr);
        return 2;
    }
    train_opts o = {0};
    o.dist = dist;
    o.task = argv[1];
    bool image = !strcmp(o.task, "mnist") || !strcmp(o.task, "fashion-mnist");
    bool toy = !strcmp(o.task, "toy"), sst2 = !strcmp(o.task, "sst2");
    if (!image && !toy && !sst2)
        return bad("unknown task \"%s\" (expected mnist, fashion-mnist, sst2 or toy)", o.task);
    /* the fast backend when this build has it */
    o.backend = mt_backend_by_name("openmp") ? "openmp" : "naive";
    mt_clear_error();
    o.optimizer = "sgd";
    o.dataset = "simple";
    o.epochs = toy ? 500 : 10;
    o.lr = toy ? 0.5f : 0.01f;
    o.batch = sst2 ? 10 : 16;
    o.seed = 1;
    const char *root = getenv("MT_ROOT");
    o.root = root && *root ? root : MT_SOURCE_DIR;

    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            if (!quiet_rank) usage(stdout);
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0) return bad("unexpected argument \"%s\"", arg);
        if (!strcmp(arg, "--resume")) { /* the one flag without a value */
            o.resume = true;
            continue;
        }
        char name[64];
        const char *val = NULL, *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name) return bad("unknown flag \"%s\"", arg);
        memcpy(name, arg, nlen);
        name[nlen] = 0;
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        if (!val) return bad("%s needs a value", name);
        int64_t v;
        if (!strcmp(name, "--backend")) {
            o.backend = val;
        } else if (!strcmp(name, "--epochs")) {
            if (!parse_i64(val, 1, 1000000, &v))
                return bad("--epochs \"%s\": expected a whole number from 1 to 1000000", val);
            o.epochs = (int)v;
        } else if (!strcmp(name, "--batch")) {
            if (!parse_i64(val, 1, 65536, &v))
                return bad("--batch \"%s\": expected a whole number from 1 to 65536", val);
            o.batch = (int)v;
        } else if (!strcmp(name, "--threads")) {
            if (!parse_i64(val, 1, 4096, &v))
                return bad("--threads \"%s\": expected a whole number from 1 to 4096", val);
            o.threads = (int)v;
        } else if (!strcmp(name, "--limit")) {
            if (!parse_i64(val, 1, INT32_MAX, &v))
                return bad("--limit \"%s\": expected a positive whole number", val);
            o.limit = v;
        } else if (!strcmp(name, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 10);
            if (errno || *end || !*val || val[0] == '-')
                return bad("--seed \"%s\": expected a whole number >= 0", val);
            o.seed = s;
        } else if (!strcmp(name, "--lr")) {
            char *end;
            errno = 0;
            /* checked as the float it becomes: 1e-300 would train with lr 0, 1e39 with inf */
            float lr = (float)strtod(val, &end);
            if (errno || *end || !*val || !(lr > 0) || !isfinite(lr))
                return bad("--lr \"%s\": expected a positive number a float can hold", val);
            o.lr = lr;
        } else if (!strcmp(name, "--optimizer")) {
            if (strcmp(val, "sgd") && strcmp(val, "adam"))
                return bad("--optimizer \"%s\": expected sgd or adam", val);
            o.optimizer = val;
        } else if (!strcmp(name, "--preset")) {
            if (strcmp(val, "minitorch"))
                return bad("--preset \"%s\": the only preset is minitorch", val);
            if (toy) return bad("--preset minitorch is for mnist, fashion-mnist and sst2");
            o.preset_minitorch = true;
        } else if (!strcmp(name, "--model")) {
            if (!image) return bad("--model is for mnist and fashion-mnist");
            if (strcmp(val, "minitorch") && strcmp(val, "lenet"))
                return bad("--model \"%s\": expected minitorch or lenet", val);
            o.model = val;
        } else if (!strcmp(name, "--dataset")) {
            if (!toy) return bad("--dataset is for the toy task");
            o.dataset = val;
        } else if (!strcmp(name, "--data")) {
            o.data_dir = val;
        } else if (!strcmp(name, "--out")) {
            o.out_dir = val;
        } else if (!strcmp(name, "--checkpoint")) {
            if (!*val) return bad("--checkpoint needs a folder");
            o.checkpoint_dir = val;
        } else if (!strcmp(name, "--eval")) {
            if (toy) return bad("--eval is for mnist, fashion-mnist and sst2");
            o.eval_file = val;
        } else if (!strcmp(name, "--mpi-timeout") || !strcmp(name, "--mpi-check")) {
            if (!dist)
                return bad("%s is for runs under mpirun (mpirun -np N ./train ...)%s", name,
#ifdef TR_HAVE_MPI
                           ""
#else
                           "; this build has no MPI: install libopenmpi-dev and rebuild"
#endif
                );
            char *end;
            errno = 0;
            double x = strtod(val, &end);
            bool timeout = !strcmp(name, "--mpi-timeout");
            if (timeout && (errno || *end || !*val || !(x > 0) || !isfinite(x)))
                return bad("--mpi-timeout \"%s\": expected a positive number of seconds", val);
            if (timeout) dist->timeout = x;
            else if (!parse_i64(val, 0, INT32_MAX, &v))
                return bad("--mpi-check \"%s\": expected a whole number >= 0", val);
            else dist->check_every = (int)v;
        } else {
            return bad("unknown flag \"%s\"", name);
        }
    }
    if (o.resume && !o.checkpoint_dir) return bad("--resume needs --checkpoint DIR");
    if (o.eval_file && !o.checkpoint_dir)
        return bad("--eval needs --checkpoint DIR (the checkpoint to score)");
    if (o.eval_file && o.resume) return bad("--eval scores a checkpoint; --resume trains: pick one");
    if (o.eval_file && dist && dist->size > 1)
        return bad("--eval scores a checkpoint in one process: run it without mpirun");
    /* checked here, before any data is read, so a typo costs nothing */
    if (!mt_backend_by_name(o.backend)) {
        if (!quiet_rank) fprintf(stderr, "train: --backend %s: %s\n", o.backend, mt_last_error());
        return 2;
    }
    if (o.threads > 0) {
#ifdef TR_HAVE_OPENMP
        mt_set_num_threads(o.threads);
#else
        if (!quiet_rank) fprintf(stderr, "train: --threads: this build has no OpenMP\n");
        return 2;
#endif
    }
    bool ok = image ? train_mnist(&o, err, errlen)
              : sst2 ? train_sst2(&o, err, errlen)
                     : train_toy(&o, err, errlen);
    return ok ? 0 : 1;
}

/* The MPI test hook MT_TRAIN_FAULT=RANK:STEP:KIND (dist.h); a malformed value is an error. */
static bool read_fault(tr_dist *d) {
    const char *f = getenv("MT_TRAIN_FAULT");
    if (!f || !*f) return true;
    int rank;
    long long step;
    char kind[16];
    if (sscanf(f, "%d:%lld:%15s", &rank, &step, kind) != 3 ||
        (strcmp(kind, "exit") && strcmp(kind, "stall") && strcmp(kind, "drift")))
        return false;
    d->fault_rank = rank;
    d->fault_step = step;
    snprintf(d->fault_kind, sizeof d->fault_kind, "%s", kind);
    return true;
}

int main(int argc, char **argv) {
    tr_dist *dist = NULL;
    char err[TR_ERR_LEN] = "";
#ifdef TR_HAVE_MPI
    if (tr_mpi_launched()) {
        dist = tr_mpi_open(&argc, &argv, err, sizeof err);
        if (!dist) {
            fprintf(stderr, "train: %s\n", err);
            return 1;
        }
        quiet_rank = dist->rank != 0;
        if (!read_fault(dist)) {
            fprintf(stderr, "train: MT_TRAIN_FAULT \"%s\": expected RANK:STEP:exit|stall|drift\n",
                    getenv("MT_TRAIN_FAULT"));
            tr_mpi_abort(dist, 2);
        }
    }
#else
    (void)read_fault;
#endif
    int rc = run_cli(argc, argv, dist, err, sizeof err);
    if (rc == 1) {
        /* a failure every rank saw alike (the parameter check: every rank compares the same
         * hashes) is told once and ends cleanly; any other may be this rank's alone, with the
         * others waiting in a collective, so it names the rank and ends them all */
        bool agreed = !dist || dist->size == 1 || dist->agreed;
        if (!agreed || tr_dist_is_root(dist)) {
            if (!agreed)
                fprintf(stderr, "train: rank %d of %d: %s\n", dist->rank, dist->size, err);
            else
                fprintf(stderr, "train: %s\n", err);
        }
#ifdef TR_HAVE_MPI
        if (!agreed) tr_mpi_abort(dist, 1);
#endif
    }
#ifdef TR_HAVE_MPI
    tr_mpi_close(dist);
#endif
    return rc;
}
