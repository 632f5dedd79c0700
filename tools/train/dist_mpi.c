#include "dist_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_ASK = 7001, TAG_ANSWER = 7002 };
#define CENSUS_SECONDS 2.0 /* how long a timed-out rank waits for the others to answer */

typedef struct mpi_impl {
    MPI_Comm comm;
    int *counts, *displs; /* per rank: its chunk of the flat buffer (floats, offset) */
    float *recv;          /* (size, my chunk): every rank's copy of my chunk */
    size_t recv_cap;
    int64_t chunked_n;    /* the buffer length counts/displs describe */
} mpi_impl;

bool tr_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static bool mpi_fail(tr_dist *d, const char *what, int rc) {
    char s[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, s, &len);
    snprintf(d->err, sizeof d->err, "%s failed: %s", what, s);
    return false;
}

/* Answers every rank that asked whether this one is alive (its step count). */
static void answer_asks(tr_dist *d) {
    mpi_impl *m = d->impl;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, m->comm, &flag, &st) != MPI_SUCCESS || !flag)
            return;
        int ask;
        MPI_Recv(&ask, 1, MPI_INT, st.MPI_SOURCE, TAG_ASK, m->comm, MPI_STATUS_IGNORE);
        int64_t steps = d->steps;
        MPI_Request r;
        MPI_Isend(&steps, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_ANSWER, m->comm, &r);
        MPI_Wait(&r, MPI_STATUS_IGNORE); /* 8 bytes: sent eagerly, does not wait for the asker */
    }
}

/* After a timeout: asks every other rank for its step count and names those that do not answer
 * within CENSUS_SECONDS (dead, stalled, or far behind). */
static bool census(tr_dist *d, const char *what, double waited) {
    mpi_impl *m = d->impl;
    int n = d->size;
    int64_t *steps = calloc((size_t)n, sizeof *steps);
    MPI_Request *req = calloc(2 * (size_t)n, sizeof *req);
    int *got = calloc((size_t)n, sizeof *got);
    int ask = d->rank, off = snprintf(d->err, sizeof d->err,
                                      "%s (after step %lld) waited %.1f s (--mpi-timeout) for "
                                      "the other ranks;", what, (long long)d->steps, waited);
    if (!steps || !req || !got) goto out;
    for (int r = 0; r < n; r++) {
        req[2 * r] = req[2 * r + 1] = MPI_REQUEST_NULL;
        if (r == d->rank) continue;
        MPI_Isend(&ask, 1, MPI_INT, r, TAG_ASK, m->comm, &req[2 * r]);
        MPI_Irecv(&steps[r], 1, MPI_INT64_T, r, TAG_ANSWER, m->comm, &req[2 * r + 1]);
    }
    double t0 = MPI_Wtime();
    int missing = n - 1;
    while (missing > 0 && MPI_Wtime() - t0 < CENSUS_SECONDS) {
        answer_asks(d); /* other ranks may time out at the same moment and ask this one */
        for (int r = 0; r < n; r++) {
            if (r == d->rank || got[r]) continue;
            int flag = 0;
            MPI_Test(&req[2 * r + 1], &flag, MPI_STATUS_IGNORE);
            if (flag) got[r] = 1, missing--;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    for (int r = 0; r < n && off > 0 && (size_t)off < sizeof d->err; r++) {
        if (r == d->rank) continue;
        if (got[r])
            off += snprintf(d->err + off, sizeof d->err - (size_t)off,
                            " rank %d answered (after step %lld);", r, (long long)steps[r]);
        else
            off += snprintf(d->err + off, sizeof d->err - (size_t)off,
                            " rank %d did not answer: it died, stalled or is far behind;", r);
    }
out:
    free(steps);
    free(req); /* the pending requests die with the job: the caller aborts */
    free(got);
    return false;
}

/* Polls req until it completes, a deadline passes (census, then false) or MPI reports an error.
 * Spins for the first millisecond (a step's collective usually completes in it), then sleeps
 * between tests so a waiting rank leaves the cores to the ranks still computing. */
static bool wait_for(tr_dist *d, MPI_Request *req, const char *what) {
    double t0 = MPI_Wtime();
    for (long polls = 0;; polls++) {
        int done = 0;
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(d, what, rc);
        if (done) return true;
        double waited = MPI_Wtime() - t0;
        if (waited > d->timeout) return census(d, what, waited);
        if ((polls & 63) == 0) answer_asks(d);
        if (waited > 1e-3)
            nanosleep(&(struct timespec){0, waited > 0.1 ? 1000000 : 20000}, NULL);
    }
}

/* counts/displs for an n-float buffer: chunk j = [n j / N, n (j+1) / N). */
static bool chunk(tr_dist *d, int64_t n) {
    mpi_impl *m = d->impl;
    if (m->chunked_n == n) return true;
    if (n > (int64_t)d->size * 2147483647LL)
        return mpi_fail(d, "the gradient buffer (too many floats for MPI's int counts)",
                        MPI_ERR_COUNT);
    for (int j = 0; j < d->size; j++) {
        int64_t lo = n * j / d->size, hi = n * (j + 1) / d->size;
        m->displs[j] = (int)lo;
        m->counts[j] = (int)(hi - lo);
    }
    size_t need = (size_t)d->size * (size_t)m->counts[d->rank];
    if (need > m->recv_cap) {
        float *p = realloc(m->recv, (need ? need : 1) * sizeof *p);
        if (!p) return mpi_fail(d, "the receive buffer", MPI_ERR_NO_MEM);
        m->recv = p;
        m->recv_cap = need;
    }
    m->chunked_n = n;
    return true;
}

/* Rank j gets every rank's chunk j (all-to-all), adds them in rank order, and every rank gets
 * every summed chunk back (all-gather): data moves, only this loop adds, so the bits do not
 * depend on the algorithms MPI picks. */
static bool mpi_sum(tr_dist *d, float *buf, int64_t n) {
    mpi_impl *m = d->impl;
    if (d->size == 1) return true;
    if (!chunk(d, n)) return false;
    int me = d->rank, c = m->counts[me], N = d->size;
    int *rcounts = m->counts + N, *rdispls = m->displs + N; /* (N,): c from each, rank-major */
    for (int i = 0; i < N; i++) {
        rcounts[i] = c;
        rdispls[i] = i * c;
    }
    MPI_Request req;
    int rc = MPI_Ialltoallv(buf, m->counts, m->displs, MPI_FLOAT, m->recv, rcounts, rdispls,
                            MPI_FLOAT, m->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, "the gradient sum (all-to-all)", rc);
    if (!wait_for(d, &req, "the gradient sum (all-to-all)")) return false;
    float *acc = buf + m->displs[me]; /* (c,) */
    for (int k = 0; k < c; k++) {
        float s = m->recv[k];
        for (int i = 1; i < N; i++) s += m->recv[(size_t)i * c + k];
        acc[k] = s;
    }
    rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, buf, m->counts, m->displs, MPI_FLOAT, m->comm,
                         &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, "the gradient sum (all-gather)", rc);
    return wait_for(d, &req, "the gradient sum (all-gather)");
}

static bool mpi_bcast(tr_dist *d, void *buf, size_t bytes) {
    mpi_impl *m = d->impl;
    if (bytes > 2147483647u) return mpi_fail(d, "the broadcast (over 2 GiB)", MPI_ERR_COUNT);
    MPI_Request req;
    int rc = MPI_Ibcast(buf, (int)bytes, MPI_BYTE, 0, m->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, "the parameter broadcast", rc);
    return wait_for(d, &req, "the parameter broadcast");
}

static bool mpi_gather_u64(tr_dist *d, uint64_t v, uint64_t *all) {
    mpi_impl *m = d->impl;
    MPI_Request req;
    int rc = MPI_Iallgather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, m->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, "the parameter hash exchange", rc);
    return wait_for(d, &req, "the parameter hash exchange");
}

tr_dist *tr_mpi_open(int *argc, char ***argv, char *err, size_t errlen) {
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        snprintf(err, errlen, "MPI_Init_thread failed");
        return NULL;
    }
    tr_dist *d = calloc(1, sizeof *d);
    mpi_impl *m = calloc(1, sizeof *m);
    if (!d || !m) {
        free(d);
        free(m);
        snprintf(err, errlen, "out of memory starting MPI");
        return NULL;
    }
    d->impl = m;
    m->comm = MPI_COMM_WORLD;
    /* errors come back as codes, so a failed collective gets this program's message */
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &d->rank);
    MPI_Comm_size(m->comm, &d->size);
    m->counts = calloc(2 * (size_t)d->size, sizeof *m->counts);
    m->displs = calloc(2 * (size_t)d->size, sizeof *m->displs);
    m->chunked_n = -1;
    if (!m->counts || !m->displs) {
        snprintf(err, errlen, "out of memory starting MPI");
        return NULL;
    }
    d->timeout = TR_MPI_TIMEOUT_DEFAULT;
    d->sum = mpi_sum;
    d->bcast = mpi_bcast;
    d->gather_u64 = mpi_gather_u64;
    return d;
}

static void dist_free(tr_dist *d) {
    mpi_impl *m = d->impl;
    if (m) {
        free(m->counts);
        free(m->displs);
        free(m->recv);
        free(m);
    }
    free(d->flat);
    free(d);
}

void tr_mpi_close(tr_dist *d) {
    if (!d) return;
    dist_free(d);
    MPI_Finalize();
}

void tr_mpi_abort(tr_dist *d, int code) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(d ? ((mpi_impl *)d->impl)->comm : MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort does not return; this keeps the noreturn promise if it did */
}
