/* The PyTorch baseline: tools/bench/torch_baseline.py times the same cases in its own process with
 * /usr/bin/python3, once with glibc's default allocator settings and once with mmap and trimming
 * pushed out of the way (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_), since PyTorch's CPU
 * allocator returns big blocks to the OS on every free by default. Its JSON lines are kept beside
 * the report and merged into the table. */
#include "gbench_shim.h"
#include "harness.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PYTHON "/usr/bin/python3"

/* The variables spawn_wait replaces: malloc tuning (set per column) and the thread pools'. Debian's
 * PyTorch does its matmul in OpenBLAS, whose own pool ignores torch.set_num_threads: without
 * OPENBLAS_NUM_THREADS its "1 thread" matmul ran on both cores. */
static const char *const REPLACED[] = {"MALLOC_MMAP_THRESHOLD_=", "MALLOC_TRIM_THRESHOLD_=",
                                       "OMP_NUM_THREADS=", "OPENBLAS_NUM_THREADS=",
                                       "MKL_NUM_THREADS="};

static bool replaced(const char *entry) {
    for (size_t i = 0; i < sizeof REPLACED / sizeof REPLACED[0]; i++)
        if (strncmp(entry, REPLACED[i], strlen(REPLACED[i])) == 0) return true;
    return false;
}

/* Runs argv with environ minus the REPLACED variables, plus `extra` ("K=V K=V"). Returns the exit
 * status, or -1 when it could not start. */
static int spawn_wait(char *const argv[], const char *extra, bool quiet) {
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + 8, sizeof *envp);
    char extra_buf[512];
    if (!envp) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!replaced(environ[i])) envp[k++] = environ[i];
    snprintf(extra_buf, sizeof extra_buf, "%s", extra ? extra : "");
    for (char *save = NULL, *t = strtok_r(extra_buf, " ", &save); t && k < n + 7;
         t = strtok_r(NULL, " ", &save))
        envp[k++] = t;
    envp[k] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    if (rc != 0) return -1;
    int status;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The cases --benchmark_filter selects for this column ("<case id>/<column>"); returns how many
 * or -1. */
static int write_cases(const bench_run *run, const bench_impl *im, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int n = 0;
    for (int c = 0; c < run->ncases; c++) {
        const bench_case *bc = &run->cases[c];
        char name[256];
        snprintf(name, sizeof name, "%s/%s", bc->id, im->name);
        if (!gb_filter_matches(name)) continue;
        n++;
        char a[96], b[96] = "-";
        bench_shape_x(&bc->in[0], a, sizeof a);
        if (bc->nin > 1) bench_shape_x(&bc->in[1], b, sizeof b);
        bool opped = strcmp(run->sweep->name, "elementwise") == 0 ||
                     strcmp(run->sweep->name, "reduce") == 0 || strcmp(run->sweep->name, "nn") == 0;
        fprintf(f, "%s %s %s %s %s %d %d\n", bc->id, run->sweep->name, a, b,
                opped ? mt_op_name((mt_op)bc->op) : "-", bc->dim, bc->backward ? 1 : 0);
    }
    return fclose(f) == 0 ? n : -1;
}

static void read_results(bench_run *run, int impl, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char id[160], msg[256];
        double med, mn, mx;
        int reps;
        int c;
        bool ok = sscanf(line, "{\"id\": \"%159[^\"]\", \"median_s\": %lf, \"min_s\": %lf, "
                               "\"max_s\": %lf, \"repetitions\": %d",
                         id, &med, &mn, &mx, &reps) == 5;
        bool failed = !ok && sscanf(line, "{\"id\": \"%159[^\"]\", \"error\": \"%255[^\"]\"", id,
                                    msg) == 2;
        if (!ok && !failed) {
            sscanf(line, "{\"torch\": \"%31[^\"]\"", run->torch_version);
            continue;
        }
        for (c = 0; c < run->ncases && strcmp(run->cases[c].id, id) != 0; c++) {}
        if (c == run->ncases) continue;
        bench_cell *cell = &run->cells[c][impl];
        if (ok) {
            const char *util = strstr(line, "\"cpu_per_wall\": ");
            cell->cpu_per_wall = util ? atof(util + 16) : 0;
            cell->state = CELL_OK;
            cell->median_s = med;
            cell->min_s = mn;
            cell->max_s = mx;
            cell->repetitions = reps;
        } else {
            cell->state = CELL_ERROR;
            snprintf(cell->error, sizeof cell->error, "%s", msg);
        }
    }
    fclose(f);
}

void bench_torch_out_path(const bench_run *run, int impl, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s.%s.jsonl", run->opts->out_dir, run->opts->work_stem,
             run->impls[impl].name);
}

void bench_run_torch(bench_run *run, const char *script_dir) {
    int first = -1;
    for (int i = 0; i < run->nimpls; i++)
        if (run->impls[i].kind == IMPL_TORCH) {
            first = i;
            break;
        }
    if (first < 0) return;
    char *probe[] = {PYTHON, "-c", "import torch", NULL};
    if (access(PYTHON, X_OK) != 0 || spawn_wait(probe, NULL, true) != 0) {
        snprintf(run->torch_status, sizeof run->torch_status,
                 "PyTorch baseline not run: `%s -c 'import torch'` failed (Debian: apt-get install "
                 "python3-torch)", PYTHON);
        fprintf(stderr, "[bench] %s\n", run->torch_status);
        run->nimpls = first; /* the torch columns are the last ones */
        return;
    }
    const bench_options *o = run->opts;
    char cases_path[1100], script[1100], threads[16], reps[16], min_time[32];
    snprintf(cases_path, sizeof cases_path, "%s/%s.torch-cases.txt", o->out_dir, o->work_stem);
    snprintf(script, sizeof script, "%s/torch_baseline.py", script_dir);
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(reps, sizeof reps, "%d", o->repetitions);
    snprintf(min_time, sizeof min_time, "%g", o->min_time);
    int ran = 0;
    for (int i = first; i < run->nimpls; i++) {
        const bench_impl *im = &run->impls[i];
        int ncases = write_cases(run, im, cases_path);
        if (ncases < 0) {
            snprintf(run->torch_status, sizeof run->torch_status,
                     "PyTorch baseline not run: cannot write %.400s", cases_path);
            break;
        }
        if (ncases == 0) { /* --benchmark_filter leaves nothing for this column */
            ran++;
            continue;
        }
        char out[1100];
        bench_torch_out_path(run, i, out, sizeof out);
        fprintf(stderr, "[bench] PyTorch baseline (%s): %d cases\n",
                im->torch_env ? im->torch_env : "glibc malloc defaults", ncases);
        char *argv[] = {PYTHON,     script,   "--cases",       cases_path, "--threads",
                        threads,    "--repetitions", reps,     "--min-time", min_time,
                        "--out",    out,      NULL};
        char env[400];
        snprintf(env, sizeof env, "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d MKL_NUM_THREADS=%d %s",
                 o->threads, o->threads, o->threads, im->torch_env ? im->torch_env : "");
        int rc = spawn_wait(argv, env, false);
        if (rc != 0) {
            snprintf(run->torch_status, sizeof run->torch_status,
                     "PyTorch baseline failed (%.400s exited with %d); see the messages above", script,
                     rc);
            continue;
        }
        read_results(run, i, out);
        ran++;
    }
    remove(cases_path);
    if (ran == (run->nimpls - first) && !run->torch_status[0])
        snprintf(run->torch_status, sizeof run->torch_status, "ok");
}
