/* Data-parallel training (mpirun -np N ./train ...): N processes ("ranks") hold the same
 * parameters; each global batch of B examples is cut into N contiguous shards, one per rank; each
 * rank back-propagates its shard's share of the batch's mean loss (its examples' sum / B), the
 * ranks sum their gradients, and every rank takes the same optimizer step.
 *
 * The sum is deterministic (same N and seed, same bits on every run and every rank) because the
 * transport only moves data: the flat buffer is cut into N chunks, rank j receives every rank's
 * chunk j, adds them in rank order 0..N-1, and the summed chunks are gathered back to every rank
 * (tr_dist.sum; dist_mpi.c does it with MPI_Ialltoallv + MPI_Iallgatherv). Each rank sends and
 * receives 2 (N-1)/N of the buffer, what a ring allreduce moves.
 *
 * This file is the transport-free part (sharding, the one flat gradient buffer, parameter
 * broadcast and hash checks); the transport is a table, so it builds without MPI. One process is
 * a NULL tr_dist everywhere. */
#ifndef MT_TRAIN_DIST_H
#define MT_TRAIN_DIST_H

#include "minitorch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tr_dist tr_dist;
struct tr_dist {
    int rank, size;
    double timeout;  /* seconds one collective may wait before the run is ended (--mpi-timeout) */
    int check_every; /* compare parameter hashes every K optimizer steps (0: at epoch ends only) */
    int64_t steps;   /* optimizer steps taken, for the check and for messages */
    double sum_secs; /* seconds in the gradient sum (waiting for the others included) */
    int64_t sum_bytes; /* bytes of one step's flat buffer */
    float *flat;     /* the one gradient buffer: every parameter's gradient, then the extras */
    size_t cap;      /* floats flat holds */
    char err[512];   /* why the last call failed (the trainers' messages quote it) */
    bool agreed;     /* the failure is every rank's (the hash check): no rank waits on another */
    /* a test hook (MT_TRAIN_FAULT=RANK:STEP:KIND, main.c): after optimizer step fault_step,
     * rank fault_rank exits (KIND exit), stops answering (stall) or nudges a parameter (drift) */
    int fault_rank;
    int64_t fault_step;
    char fault_kind[16];
    /* The transport. Each returns false with err filled (naming the rank that failed or that
     * did not answer); after a failure the caller must not call it again (dist_mpi.c's answer to
     * a failure is to end every rank, main.c does that). */
    /* buf[0..n) = the element-wise sum over ranks, added in rank order 0..N-1, on every rank */
    bool (*sum)(tr_dist *d, float *buf, int64_t n);
    /* rank 0's bytes into every rank's buf */
    bool (*bcast)(tr_dist *d, void *buf, size_t bytes);
    /* all[r] = rank r's v, on every rank (all has size entries) */
    bool (*gather_u64)(tr_dist *d, uint64_t v, uint64_t *all);
    void *impl;
};

/* Rank 0, or one process (d NULL): the rank that prints, writes logs, reports and checkpoints. */
static inline bool tr_dist_is_root(const tr_dist *d) { return !d || d->rank == 0; }

/* This process's part of a global batch of b examples: examples [*first, *first + *count) with
 * first = b * rank / N (so shards differ by at most one example; some are empty when b < N). */
void tr_dist_shard(const tr_dist *d, int b, int *first, int *count);

/* What a training step needs to know about the data-parallel run; a step with sh NULL (or
 * sh->dist NULL) is one process's step. */
typedef struct tr_shard {
    tr_dist *dist;
    int first;  /* this rank's first example within the global batch (dropout masks key on it) */
    int count;  /* this rank's examples */
    int global; /* the global batch's size B */
    bool empty; /* this rank has no example: it runs the step on one stand-in example (so its
                 * dropout generator advances like every other rank's) and contributes zeros */
} tr_shard;

/* The data-parallel part of a step, between backward and the optimizer step: packs every
 * parameter's gradient times share (this shard's examples / B) and the extras into the flat
 * buffer (zeros when empty), sums over ranks, and writes the sums back into the gradients and
 * extra[0..nextra). False with d->err on a transport failure. */
bool tr_dist_sum_grads(tr_dist *d, mt_params *list, float share, bool empty, float *extra,
                       int nextra);

/* Rank 0's parameters into every rank's (through the host: the cuda backend's too). */
bool tr_dist_bcast_params(tr_dist *d, mt_params *list);

/* A 64-bit FNV-1a hash of every parameter's bits, in list order. */
uint64_t tr_params_hash(mt_params *list, bool *ok);

/* Compares the ranks' parameter hashes; false with d->err naming every rank whose parameters
 * differ from rank 0's (`when` says where the run is, e.g. "after step 120"). Every rank gets
 * the same answer, so they stop together. */
bool tr_dist_check_params(tr_dist *d, mt_params *list, const char *when);

/* After each optimizer step: the test hook's fault, then the hash check every check_every
 * steps. False with d->err when the parameters drifted or the transport failed. */
bool tr_dist_after_step(tr_dist *d, mt_params *list);

/* The message for a failed training step: d->err when the transport failed, else the engine's. */
const char *tr_step_error(const tr_shard *sh);

#endif
