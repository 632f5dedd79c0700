/* The trainers behind ./train, called by main.c with parsed options. Each returns false with a
 * message in err (naming the file, or the data/fetch.sh command when data is missing); it prints
 * its log lines to stdout and to the run's folder (report.h). */
#ifndef MT_TRAIN_TRAIN_H
#define MT_TRAIN_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct train_opts {
    const char *task;      /* mnist, fashion-mnist, sst2, toy */
    const char *backend;   /* engine backend name */
    const char *optimizer; /* sgd or adam */
    const char *dataset;   /* toy: simple, diag, split, xor, circle, spiral */
    const char *model;     /* mnist, fashion-mnist: minitorch or lenet (NULL: minitorch) */
    const char *data_dir;  /* --data: where the task's files are (NULL: the defaults) */
    const char *out_dir;   /* --out (NULL: reports/train-<task>-<timestamp>/) */
    const char *root;      /* repository root: data/cache and reports live under it */
    int epochs, batch, threads;
    float lr;
    uint64_t seed;
    int64_t limit; /* training examples to use (0: all) */
    bool preset_minitorch;
    const char *checkpoint_dir; /* --checkpoint: DIR/checkpoint.mtckpt after every epoch */
    bool resume;                /* --resume: continue from the checkpoint in checkpoint_dir */
    const char *eval_file;      /* --eval: score checkpoint_dir's checkpoint on this file */
    struct tr_dist *dist;       /* data-parallel ranks under mpirun (dist.h); NULL: one process */
} train_opts;

bool train_mnist(const train_opts *o, char *err, size_t errlen);
bool train_sst2(const train_opts *o, char *err, size_t errlen);
bool train_toy(const train_opts *o, char *err, size_t errlen);

#endif
