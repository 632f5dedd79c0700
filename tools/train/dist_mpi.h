/* The MPI transport of dist.h (built when CMake finds MPI: TR_HAVE_MPI). Every collective is
 * nonblocking and polled with MPI_Test against a deadline (--mpi-timeout), so a rank that dies or
 * stalls never hangs the others: the first rank to time out asks every other rank who is still
 * there, names the ones that do not answer, and main.c ends the job with MPI_Abort. */
#ifndef MT_TRAIN_DIST_MPI_H
#define MT_TRAIN_DIST_MPI_H

#include "dist.h"

#define TR_MPI_TIMEOUT_DEFAULT 120.0 /* seconds one collective may wait (--mpi-timeout) */

/* Whether mpirun (or another MPI launcher) started this process: OpenMPI's and PMI's rank
 * variables. A plain ./train never initialises MPI. */
bool tr_mpi_launched(void);
/* MPI_Init_thread (funneled: only the main thread calls MPI) and the transport; NULL with err. */
tr_dist *tr_mpi_open(int *argc, char ***argv, char *err, size_t errlen);
/* MPI_Finalize and free: every rank calls it at a clean end. */
void tr_mpi_close(tr_dist *d);
/* Ends every rank with exit status code (MPI_Abort): after a failure only some ranks saw. */
void tr_mpi_abort(tr_dist *d, int code) __attribute__((noreturn));

#endif
