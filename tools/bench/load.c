/* --load N: N processes that spin on the CPU while the benchmarks run, so anyone can reproduce
 * "a busy machine" (a browser, a build, another job sharing the cores). They are stopped when the
 * timings end, at exit, on Ctrl-C or SIGTERM, and by the kernel if ./bench itself dies
 * (PR_SET_PDEATHSIG), so none outlives the run. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LOAD 256

static pid_t spinners[MAX_LOAD];
static volatile sig_atomic_t nspinners;

void bench_load_stop(void) {
    int n = nspinners;
    nspinners = 0;
    for (int k = 0; k < n; k++) kill(spinners[k], SIGKILL);
    for (int k = 0; k < n; k++) waitpid(spinners[k], NULL, 0);
}

static void on_signal(int sig) {
    for (int k = 0; k < nspinners; k++) kill(spinners[k], SIGKILL); /* async-signal-safe */
    nspinners = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

int bench_load_start(int n) {
    if (n <= 0) return 0;
    if (n > MAX_LOAD) n = MAX_LOAD;
    static bool hooked;
    if (!hooked) {
        atexit(bench_load_stop);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        hooked = true;
    }
    pid_t parent = getpid();
    for (int k = 0; k < n; k++) {
        fflush(NULL); /* the child must not flush the parent's buffered output again */
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "bench: --load: cannot start a spinning process: %s\n",
                    strerror(errno));
            bench_load_stop();
            return -1;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0); /* the parent died before prctl */
            signal(SIGINT, SIG_IGN); /* Ctrl-C goes to the parent, which stops us */
            volatile unsigned long spin = 0;
            for (;;) spin++;
        }
        spinners[k] = pid;
        nspinners = k + 1;
    }
    fprintf(stderr, "[bench] --load %d: %d spinning process(es) started for the timings\n", n, n);
    return 0;
}
