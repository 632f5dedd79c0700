/* The report: reports/<bench>-<timestamp>.md (tables, machine, command, notes), an SVG chart of
 * the rate per case and implementation, and reports/README.md indexing the latest reports. The raw
 * Google Benchmark JSON is written beside them by Google Benchmark itself. */
#include "harness.h"
#include "report_files.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MT_BENCH_COMPILER
#define MT_BENCH_COMPILER "unknown"
#endif
#ifndef MT_BENCH_FLAGS
#define MT_BENCH_FLAGS "unknown"
#endif
#ifndef MT_BENCH_BUILD_TYPE
#define MT_BENCH_BUILD_TYPE "unknown"
#endif

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void cpu_model(char *buf, size_t len) {
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, len, "%s", colon);
        break;
    }
    fclose(f);
}

/* A timed cell whose time may be shown as a speed. */
static bool timed(const bench_run *run, int c, int i) {
    return run->cells[c][i].state == CELL_OK && !run->impls[i].simulated &&
           run->cells[c][i].median_s > 0;
}

/* A row is shown when something ran for it (--benchmark_filter may leave a case out). */
static bool case_shown(const bench_run *run, int c) {
    for (int i = 0; i < run->nimpls; i++)
        if (run->cells[c][i].state == CELL_OK || run->cells[c][i].state == CELL_ERROR) return true;
    return false;
}

static double rate(const bench_run *run, int c, int i) {
    return run->cases[c].work / run->cells[c][i].median_s / 1e9;
}

static void fmt_ms(double s, char *buf, size_t len) {
    double ms = s * 1e3;
    if (ms >= 100)
        snprintf(buf, len, "%.0f", ms);
    else
        snprintf(buf, len, "%.3g", ms);
}

static void cell_time(const bench_run *run, int c, int i, char *buf, size_t len) {
    const bench_cell *cell = &run->cells[c][i];
    char a[32], b[32], m[32];
    switch (cell->state) {
    case CELL_PENDING: snprintf(buf, len, "not run"); return;
    case CELL_NOT_APPLICABLE: snprintf(buf, len, "n/a"); return;
    case CELL_NAIVE_TOO_SLOW: snprintf(buf, len, "skipped"); return;
    case CELL_ERROR: snprintf(buf, len, "**error**"); return;
    case CELL_OK: break;
    }
    if (run->impls[i].simulated) {
        snprintf(buf, len, "simulated");
        return;
    }
    fmt_ms(cell->median_s, m, sizeof m);
    fmt_ms(cell->min_s, a, sizeof a);
    fmt_ms(cell->max_s, b, sizeof b);
    snprintf(buf, len, "%s [%s–%s]", m, a, b);
}

static void ratio(const bench_run *run, int c, int num, int den, char *buf, size_t len) {
    if (timed(run, c, num) && timed(run, c, den))
        snprintf(buf, len, "%.3gx", run->cells[c][num].median_s / run->cells[c][den].median_s);
    else
        snprintf(buf, len, "–");
}

static void case_cols(FILE *f, const bench_run *run, int c) {
    const bench_case *bc = &run->cases[c];
    char a[96], b[96];
    fprintf(f, "| %s | %s | %s |", bench_shape_paren(&bc->in[0], a, sizeof a),
            bc->nin > 1 ? bench_shape_paren(&bc->in[1], b, sizeof b) : "", bc->what);
}

static const char *col_a(const bench_run *run) {
    if (strcmp(run->sweep->name, "matmul") == 0) return "A";
    if (strncmp(run->sweep->name, "conv", 4) == 0) return "input";
    return "shape";
}
static const char *col_b(const bench_run *run) {
    if (strcmp(run->sweep->name, "matmul") == 0) return "B";
    if (strncmp(run->sweep->name, "conv", 4) == 0) return "weight";
    if (strcmp(run->sweep->name, "nn") == 0) return "grad"; /* the pooling backward's second input */
    return "b";
}

static bool is_baseline(const bench_impl *im) { return im->kind != IMPL_BACKEND; }

/* ------------------------------------------------------------------ SVG chart */
static const char *const COLORS[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                     "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

static int write_svg(const bench_run *run, FILE *f) {
    int shown[BENCH_MAX_IMPLS], ns = 0;
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < run->nimpls; i++) {
        bool any = false;
        for (int c = 0; c < run->ncases; c++)
            if (timed(run, c, i)) {
                any = true;
                lo = fmin(lo, rate(run, c, i));
                hi = fmax(hi, rate(run, c, i));
            }
        if (any) shown[ns++] = i;
    }
    if (ns == 0) lo = 0.1, hi = 1;
    double dlo = floor(log10(lo)), dhi = ceil(log10(hi));
    if (dhi <= dlo) dhi = dlo + 1;
    const int bar = 12, gap = 18, left = 70, top = 50, plot_h = 300, bottom = 150;
    int group = ns * bar + gap, nshown = 0;
    for (int c = 0; c < run->ncases; c++) nshown += case_shown(run, c);
    int width = left + nshown * group + 40, height = top + plot_h + bottom;
    if (width < 480) width = 480;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", width, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"14\">%s: %s per case (log scale; taller is "
               "faster)</text>\n", left, run->sweep->name, run->sweep->rate_unit);
    for (double d = dlo; d <= dhi; d++) {
        double y = top + plot_h - (d - dlo) / (dhi - dlo) * plot_h;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left,
                y, width - 20, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left - 6, y + 4,
                pow(10, d));
    }
    fprintf(f, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            top + plot_h / 2, run->sweep->rate_unit);
    for (int k = 0; k < ns; k++) { /* legend */
        int x = left + k * 120;
        fprintf(f, "<rect x=\"%d\" y=\"28\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                   "<text x=\"%d\" y=\"37\">%s</text>\n",
                x, COLORS[k % 10], x + 14, run->impls[shown[k]].name);
    }
    for (int c = 0, col = 0; c < run->ncases; c++) {
        if (!case_shown(run, c)) continue;
        int x0 = left + col++ * group + gap / 2;
        for (int k = 0; k < ns; k++) {
            int i = shown[k];
            if (run->cells[c][i].state == CELL_NAIVE_TOO_SLOW) { /* say so where the bar would be */
                fprintf(f, "<text transform=\"translate(%d,%d) rotate(-90)\" fill=\"#888\" "
                           "font-size=\"9\">not timed</text>\n",
                        x0 + k * bar + bar - 3, top + plot_h - 4);
                continue;
            }
            if (!timed(run, c, i)) continue;
            double v = log10(rate(run, c, i));
            double h = (v - dlo) / (dhi - dlo) * plot_h;
            if (h < 1) h = 1;
            fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">"
                       "<title>%s %s: %.3g %s</title></rect>\n",
                    x0 + k * bar, top + plot_h - h, bar - 1, h, COLORS[k % 10], run->cases[c].id,
                    run->impls[i].name, rate(run, c, i), run->sweep->rate_unit);
        }
        char a[96], b[96], label[256];
        const bench_case *bc = &run->cases[c];
        bench_shape_x(&bc->in[0], a, sizeof a);
        if (strcmp(run->sweep->name, "matmul") == 0)
            snprintf(label, sizeof label, "%s @ %s", a, bench_shape_x(&bc->in[1], b, sizeof b));
        else if (bc->nin > 1 && strcmp(run->sweep->name, "elementwise") != 0)
            snprintf(label, sizeof label, "%s @ %s %s", a, bench_shape_x(&bc->in[1], b, sizeof b),
                     bc->what);
        else
            snprintf(label, sizeof label, "%s %s", a, bc->what);
        double lx = x0 + ns * bar / 2.0, ly = top + plot_h + 12;
        fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-45)\" text-anchor=\"end\">%s"
                   "</text>\n", lx, ly, label);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left,
            top + plot_h, width - 20, top + plot_h);
    fprintf(f, "</svg>\n");
    bool ok = !ferror(f);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* ------------------------------------------------------------------ the headline */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median over the cases both timed of time(den) / time(num) (the speedups table's ratio);
 * returns how many cases it covered, 0 when none. */
static int median_ratio(const bench_run *run, int num, int den, double *out) {
    double r[BENCH_MAX_CASES];
    int n = 0;
    for (int c = 0; c < run->ncases; c++)
        if (timed(run, c, num) && timed(run, c, den))
            r[n++] = run->cells[c][den].median_s / run->cells[c][num].median_s;
    if (n == 0) return 0;
    qsort(r, (size_t)n, sizeof r[0], cmp_double);
    *out = n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
    return n;
}

/* The report's one-line summary, from this run's own cells: the engine's backend (not naive when
 * another real backend ran; among those, the one timed on the most cases, then the fastest median
 * rate) against its strongest baseline (the lowest median ratio, i.e. the one it compares worst
 * with), e.g. "openmp vs openblas 0.92x median over 12 cases". Empty when the run failed or was
 * flagged implausible (its numbers are not to be trusted), or nothing compares. */
static void headline(const bench_run *run, char *buf, size_t len) {
    buf[0] = '\0';
    if (run->failures || run->implausible) return;
    int best = -1, best_n = 0;
    double best_rate = 0;
    for (int pass = 0; pass < 2 && best < 0; pass++) /* pass 0 leaves naive out */
        for (int i = 0; i < run->nimpls; i++) {
            const bench_impl *im = &run->impls[i];
            if (is_baseline(im) || im->simulated || (pass == 0 && im->is_naive)) continue;
            double rates[BENCH_MAX_CASES];
            int n = 0;
            for (int c = 0; c < run->ncases; c++)
                if (timed(run, c, i)) rates[n++] = rate(run, c, i);
            if (n == 0) continue;
            qsort(rates, (size_t)n, sizeof rates[0], cmp_double);
            double med = rates[n / 2];
            if (n > best_n || (n == best_n && med > best_rate)) best = i, best_n = n, best_rate = med;
        }
    if (best < 0) return;
    int strongest = -1, cases = 0;
    double worst = 0;
    for (int j = 0; j < run->nimpls; j++) {
        double r;
        int n = is_baseline(&run->impls[j]) ? median_ratio(run, best, j, &r) : 0;
        if (n > 0 && (strongest < 0 || r < worst)) strongest = j, worst = r, cases = n;
    }
    if (strongest < 0) return;
    snprintf(buf, len, "%s vs %s %.3gx median over %d case%s", run->impls[best].name,
             run->impls[strongest].name, worst, cases, cases == 1 ? "" : "s");
}


/* ------------------------------------------------------------------ the markdown */
/* The chart, the raw JSON and the PyTorch results of this run (hidden work files until now) take
 * their final names under one stem no other report has; then the markdown, which links them. */
static int publish_companions(const bench_run *run, char *svg_tmp) {
    bench_options *o = run->opts;
    const char *tmp[2 + BENCH_MAX_IMPLS], *suffix[2 + BENCH_MAX_IMPLS];
    static char torch_tmp[BENCH_MAX_IMPLS][1100], torch_suffix[BENCH_MAX_IMPLS][64];
    int n = 0;
    tmp[n] = svg_tmp, suffix[n++] = ".svg";
    if (o->own_json) tmp[n] = o->raw_json, suffix[n++] = ".json";
    for (int i = 0; i < run->nimpls; i++) {
        bench_torch_out_path(run, i, torch_tmp[i], sizeof torch_tmp[i]);
        if (run->impls[i].kind != IMPL_TORCH || access(torch_tmp[i], R_OK) != 0) continue;
        snprintf(torch_suffix[i], sizeof torch_suffix[i], ".%s.jsonl", run->impls[i].name);
        tmp[n] = torch_tmp[i], suffix[n] = torch_suffix[i], n++;
    }
    char base[200], err[1400];
    snprintf(base, sizeof base, "%s-%s", run->sweep->name, o->timestamp);
    if (rf_publish(o->out_dir, base, n, tmp, suffix, o->stem, sizeof o->stem, err, sizeof err)) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    if (o->own_json) snprintf(o->raw_json, sizeof o->raw_json, "%s/%s.json", o->out_dir, o->stem);
    return 0;
}

int bench_write_report(const bench_run *run) {
    bench_options *o = run->opts;
    const char *name = run->sweep->name;
    char md[1100], svg_tmp[1100], md_tmp[1100];
    FILE *sf = rf_open_tmp(o->out_dir, svg_tmp, sizeof svg_tmp);
    if (!sf || write_svg(run, sf) != 0) {
        fprintf(stderr, "bench: cannot write the chart in %s: %s\n", o->out_dir, strerror(errno));
        if (sf) unlink(svg_tmp);
        return -1;
    }
    if (publish_companions(run, svg_tmp) != 0) {
        unlink(svg_tmp);
        return -1;
    }
    snprintf(md, sizeof md, "%s/%s.md", o->out_dir, o->stem);
    FILE *f = rf_open_tmp(o->out_dir, md_tmp, sizeof md_tmp);
    if (!f) {
        fprintf(stderr, "bench: cannot write %s: %s\n", md, strerror(errno));
        return -1;
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    struct utsname un;
    uname(&un);
    bool any_cuda = false, any_sim = false;
    for (int i = 0; i < run->nimpls; i++) {
        any_cuda |= run->impls[i].cuda;
        any_sim |= run->impls[i].simulated;
    }

    const char *t = o->timestamp; /* YYYYMMDD-HHMMSS */
    fprintf(f, "# %s benchmark, %.4s-%.2s-%.2s %.2s:%.2s:%.2s UTC\n\n", name, t, t + 4, t + 6,
            t + 9, t + 11, t + 13);
    fprintf(f, "Command: `%s`\n\n", o->command);
    char head[200];
    headline(run, head, sizeof head);
    if (head[0]) /* the machine-readable copy is what reports/README.md's headline table reads */
        fprintf(f, RF_HEADLINE_TAG "%s -->\nHeadline: %s (the median over those cases of "
                   "time(baseline) / time(backend); above 1 the engine is faster).\n\n",
                head, head);
    if (run->failures)
        fprintf(f, "**FAILED: %d result(s) did not match the naive backend or did not run; the "
                   "numbers below are not to be trusted.**\n\n", run->failures);
    if (run->implausible)
        fprintf(f, "**IMPLAUSIBLE: %d result(s) are faster than this machine can be (above their "
                   "threads x the measured FMA peak, or a baseline kept more cores busy than it "
                   "was given): a measurement error, not a speedup. See the notes.**\n\n",
                run->implausible);
    fprintf(f, "## Machine\n\n");
    fprintf(f, "- CPU: %s, %ld online CPUs; %s %s %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), un.sysname,
            un.release, un.machine);
    fprintf(f, "- Threads: %d for every multi-threaded implementation (engine backends via "
               "OpenMP, OpenBLAS, PyTorch); the naive backend is single-threaded\n", o->threads);
    fprintf(f, "- Compiler: %s; build type %s; flags `%s`\n", MT_BENCH_COMPILER,
            MT_BENCH_BUILD_TYPE, MT_BENCH_FLAGS);
    fprintf(f, "- float32 FMA peak: %.1f GFLOP/s per core, measured by a calibrated loop before "
               "and after the timings (the best of 60 windows of about 1 ms each, the highest kept); a result above 1.25 x its threads x this is flagged "
               "IMPLAUSIBLE\n", run->peak_gflops);
    fprintf(f, "- OpenBLAS: %s\n", bench_openblas_config());
    if (run->torch_status[0] && strcmp(run->torch_status, "ok") != 0)
        fprintf(f, "- PyTorch: %s\n", run->torch_status);
    else if (run->torch_version[0])
        fprintf(f, "- PyTorch: %s (CPU), /usr/bin/python3, torch.set_num_threads(%d) and "
                   "OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = %d before import\n",
                run->torch_version, o->threads, o->threads);
    for (int k = 0; k < o->nnotes; k++) fprintf(f, "- Note: %s\n", o->notes[k]);

    fprintf(f, "\n## Times\n\nMedian of %d repetitions in ms, [min–max] across repetitions; "
               "each repetition runs the op as many times as fills %g s (Google Benchmark), "
               "after an untimed warm-up run. Wall-clock time.\n\n",
            o->repetitions, o->min_time);
    fprintf(f, "| %s | %s | case |", col_a(run), col_b(run));
    for (int i = 0; i < run->nimpls; i++) fprintf(f, " %s ms | %s %s |", run->impls[i].name,
                                                 run->impls[i].name, run->sweep->rate_unit);
    fprintf(f, "\n|---|---|---|");
    for (int i = 0; i < run->nimpls; i++) fprintf(f, "---:|---:|");
    fprintf(f, "\n");
    for (int c = 0; c < run->ncases; c++) {
        if (!case_shown(run, c)) continue;
        case_cols(f, run, c);
        for (int i = 0; i < run->nimpls; i++) {
            char t[128];
            cell_time(run, c, i, t, sizeof t);
            if (timed(run, c, i))
                fprintf(f, " %s | %.3g |", t, rate(run, c, i));
            else
                fprintf(f, " %s | – |", t);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n![%s per case](%s.svg)\n", run->sweep->rate_unit, o->stem);

    /* speedups: X/Y = time of Y / time of X, so > 1 means X is faster */
    int naive = -1;
    for (int i = 0; i < run->nimpls; i++)
        if (run->impls[i].is_naive) naive = i;
    fprintf(f, "\n## Speedups\n\nEach column is time(right) / time(left): above 1 the left one is "
               "faster.\n\n");
    fprintf(f, "| %s | %s | case |", col_a(run), col_b(run));
    int ncols = 0;
    int num[64], den[64];
    for (int i = 0; i < run->nimpls && ncols < 60; i++) {
        const bench_impl *x = &run->impls[i];
        if (is_baseline(x) || x->simulated) continue;
        if (naive >= 0 && i != naive) num[ncols] = i, den[ncols++] = naive;
        for (int j = 0; j < run->nimpls && ncols < 60; j++)
            if (is_baseline(&run->impls[j])) num[ncols] = i, den[ncols++] = j;
        if (x->cuda) /* CPU vs CUDA: every CPU backend against this real CUDA backend */
            for (int j = 0; j < run->nimpls && ncols < 60; j++)
                if (!is_baseline(&run->impls[j]) && !run->impls[j].cuda &&
                    !run->impls[j].simulated && j != naive)
                    num[ncols] = i, den[ncols++] = j;
    }
    for (int k = 0; k < ncols; k++)
        fprintf(f, " %s vs %s |", run->impls[num[k]].name, run->impls[den[k]].name);
    fprintf(f, "\n|---|---|---|");
    for (int k = 0; k < ncols; k++) fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int c = 0; c < run->ncases; c++) {
        if (!case_shown(run, c)) continue;
        case_cols(f, run, c);
        for (int k = 0; k < ncols; k++) {
            char r[32];
            /* speedup of num over den = time(den) / time(num) */
            ratio(run, c, den[k], num[k], r, sizeof r);
            fprintf(f, " %s |", r);
        }
        fprintf(f, "\n");
    }
    if (!any_cuda)
        fprintf(f, "\nNo CUDA backend in this build, so there is no CPU-vs-CUDA column.\n");

    fprintf(f, "\n## Check against the naive backend\n\nAfter its timing, each implementation's "
               "output of its last timed iteration is compared with the naive backend's (double "
               "accumulators) on the same inputs; a value off by more than 1e-3 x max(1, |naive|, RMS "
               "of the naive values checked) fails the run. Max |difference|:\n\n");
    fprintf(f, "| %s | %s | case |", col_a(run), col_b(run));
    for (int i = 0; i < run->nimpls; i++)
        if (run->impls[i].kind != IMPL_TORCH) fprintf(f, " %s |", run->impls[i].name);
    fprintf(f, " checked |\n|---|---|---|");
    for (int i = 0; i < run->nimpls; i++)
        if (run->impls[i].kind != IMPL_TORCH) fprintf(f, "---:|");
    fprintf(f, "---|\n");
    for (int c = 0; c < run->ncases; c++) {
        if (!case_shown(run, c)) continue;
        case_cols(f, run, c);
        for (int i = 0; i < run->nimpls; i++) {
            if (run->impls[i].kind == IMPL_TORCH) continue;
            const bench_cell *cell = &run->cells[c][i];
            if (!cell->check.done)
                fprintf(f, " – |");
            else if (!cell->check.ok)
                fprintf(f, " **MISMATCH** |");
            else if (run->impls[i].kind == IMPL_MEMCPY)
                fprintf(f, " copy ok |");
            else
                fprintf(f, " %.2g |", cell->check.max_abs_diff);
        }
        fprintf(f, " %s |\n", run->ref_note[c][0] ? run->ref_note[c] : "every element");
    }

    fprintf(f, "\n## Notes\n\n");
    for (int c = 0; c < run->ncases; c++)
        for (int i = 0; i < run->nimpls; i++)
            if (run->cells[c][i].implausible[0])
                fprintf(f, "- IMPLAUSIBLE %s / %s: %s.\n", run->cases[c].id, run->impls[i].name,
                        run->cells[c][i].implausible);
    fprintf(f, "- Work: %s; %s = work / median time.\n", run->sweep->work_note,
            run->sweep->rate_unit);
    fprintf(f, "- Inputs are uniform in [-1, 1), the same bits for every implementation; buffers "
               "are allocated and written before timing; engine outputs come from an arena reset "
               "every iteration, so they land on the same warm pages.\n");
    bool skipped = false;
    for (int c = 0; c < run->ncases && naive >= 0; c++)
        skipped |= run->cells[c][naive].state == CELL_NAIVE_TOO_SLOW;
    if (skipped)
        fprintf(f, "- \"skipped\": the naive backend is not timed on cases above %g G of work "
                   "(`--naive-limit`); no number is shown for it. Those cases are still checked "
                   "against the naive backend, on the slice the \"checked\" column names.\n",
                o->naive_limit / 1e9);
    for (int c = 0; c < run->ncases; c++)
        for (int i = 0; i < run->nimpls; i++) {
            const bench_cell *cell = &run->cells[c][i];
            if (cell->state == CELL_ERROR)
                fprintf(f, "- Error, %s on %s: %s\n", run->impls[i].name, run->cases[c].id,
                        cell->error);
            if (cell->check.done && !cell->check.ok)
                fprintf(f, "- Mismatch, %s on %s: %s\n", run->impls[i].name, run->cases[c].id,
                        cell->check.message);
        }
    if (any_sim)
        fprintf(f, "- Backends ending in \"-sim\" run device code on a CPU simulator: they are "
                   "checked, never reported as a speed.\n");
    for (int i = 0; i < run->nimpls; i++)
        if (run->impls[i].kind == IMPL_TORCH) {
            fprintf(f, "- PyTorch runs in its own process (`tools/bench/torch_baseline.py`), with the "
                       "same repetitions and minimum time; \"torch\" uses glibc's default malloc "
                       "settings, \"torch-nomm\" MALLOC_MMAP_THRESHOLD_=1073741824 "
                       "MALLOC_TRIM_THRESHOLD_=4294967296 (big blocks are not returned to the OS "
                       "after each op). Its outputs are not compared here; its conv semantics "
                       "(MiniTorch's = PyTorch's after zero-padding K-1 on the right/bottom, the "
                       "padding done before timing) are checked by the script on MiniTorch's "
                       "oracle.\n");
            break;
        }
    if (strncmp(name, "conv", 4) == 0)
        fprintf(f, "- OpenBLAS conv baseline: im2col into a buffer allocated before timing, then "
                   "one cblas_sgemm per image (backward: sgemm for the weight gradient, sgemm + "
                   "col2im for the input gradient).\n");
    /* link the JSON relative to the report when it lies beside it */
    const char *raw = strncmp(o->raw_json, o->out_dir, strlen(o->out_dir)) == 0
                          ? base_name(o->raw_json) : o->raw_json;
    fprintf(f, "\nRaw Google Benchmark JSON: [%s](%s)", base_name(o->raw_json), raw);
    for (int i = 0; i < run->nimpls; i++) {
        bool ran = false;
        for (int c = 0; c < run->ncases; c++) ran |= run->cells[c][i].state != CELL_PENDING;
        if (run->impls[i].kind == IMPL_TORCH && ran)
            fprintf(f, "; PyTorch: [%s.%s.jsonl](%s.%s.jsonl)", o->stem, run->impls[i].name,
                    o->stem, run->impls[i].name);
    }
    fprintf(f, "\n");
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok || rf_commit(md_tmp, md) != 0) {
        fprintf(stderr, "bench: cannot write %s: %s\n", md, strerror(errno));
        unlink(md_tmp);
        return -1;
    }
    if (rf_write_index(o->out_dir) != 0) {
        fprintf(stderr, "bench: cannot write %s/README.md\n", o->out_dir);
        return -1;
    }
    fprintf(stderr, "[bench] report: %s\n", md);
    return 0;
}
