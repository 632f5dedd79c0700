/* A thin C API over Google Benchmark, so that benchmark bodies are C.
 *
 *   gb_init(&argc, argv);                      // consumes the --benchmark_* flags
 *   gb_register("matmul/512/naive", body, user, &policy);
 *   gb_run();                                  // runs what --benchmark_filter selects
 *   for (i < gb_result_count()) gb_result_at(i) // median / min / max per benchmark
 *   gb_shutdown();
 *
 * A body is called several times per benchmark (Google Benchmark first probes for an iteration
 * count, then runs each repetition); it times only what runs inside its gb_keep_running() loop:
 *
 *   static void body(gb_state *st, void *user) {
 *       ... set up (excluded from the time) ...
 *       while (gb_keep_running(st)) { ... one iteration ... }
 *   }
 *
 * Times are wall-clock (real) time: the engine's backends run on several threads, and the CPU time
 * of the calling thread would hide that. */
#ifndef MT_GBENCH_SHIM_H
#define MT_GBENCH_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gb_state gb_state; /* a running benchmark (benchmark::State) */

/* One benchmark's outcome, filled once all its repetitions are done. Times are seconds per
 * iteration; with one repetition, median = min = max = that repetition. */
typedef struct gb_result {
    const char *name;
    double median_s, min_s, max_s;
    int repetitions;    /* repetitions measured */
    int64_t iterations; /* iterations per repetition (of the last one) */
    bool error;         /* the body called gb_skip_with_error */
    const char *error_message;
} gb_result;

typedef void (*gb_body_fn)(gb_state *state, void *user);

/* How a benchmark is iterated. Zero fields leave the choice to the command-line flags
 * (--benchmark_min_time, --benchmark_repetitions) or to Google Benchmark. */
typedef struct gb_policy {
    double min_time_s;  /* minimum time per repetition */
    int64_t iterations; /* a fixed iteration count per repetition (slow cases) */
    int repetitions;    /* overrides --benchmark_repetitions for this benchmark */
    /* The body measures each iteration itself and reports it with gb_set_iteration_time (device
     * timers such as CUDA events). */
    bool manual_time;
} gb_policy;

/* Parses and removes the Google Benchmark flags from argv (all of --benchmark_*). Returns 0, or
 * non-zero after printing the arguments it did not recognise. */
int gb_init(int *argc, char **argv);

/* Registers a benchmark; name and policy are copied (policy may be NULL). Returns 0 on success.
 * Benchmarks run one after another in registration order (random interleaving is refused). */
int gb_register(const char *name, gb_body_fn body, void *user, const gb_policy *policy);

/* How many registered benchmarks --benchmark_filter selects (for progress messages). */
int gb_selected_count(void);
/* Whether --benchmark_filter selects this registered benchmark. */
bool gb_is_selected(const char *name);
/* Whether --benchmark_filter would select a wall-clock benchmark of this name (for work timed
 * outside Google Benchmark, such as another process). */
bool gb_filter_matches(const char *name);

/* Runs the selected benchmarks with the display format of --benchmark_format (console, json or
 * csv) and the file of --benchmark_out. Returns how many benchmarks ran. */
int gb_run(void);

int gb_result_count(void);
const gb_result *gb_result_at(int i);
const gb_result *gb_result_find(const char *name); /* NULL when it did not run */

/* Releases Google Benchmark's state and the results. */
void gb_shutdown(void);

/* ---- inside a body */
bool gb_keep_running(gb_state *state);
void gb_pause_timing(gb_state *state);
void gb_resume_timing(gb_state *state);
void gb_set_iteration_time(gb_state *state, double seconds); /* with manual_time */
/* Marks the benchmark failed; the body must return without entering (or leave) its loop. */
void gb_skip_with_error(gb_state *state, const char *message);
bool gb_error_occurred(const gb_state *state);
/* A counter shown with the results: value per second of iteration time when rate is true
 * (e.g. FLOP per iteration -> FLOP/s), else the value as is. */
void gb_set_counter(gb_state *state, const char *name, double value, bool rate);
void gb_set_label(gb_state *state, const char *label);

#ifdef __cplusplus
}
#endif
#endif
