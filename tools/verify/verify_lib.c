/* Running the verifier: configuration, the op x backend loop, the summary table and the markdown
 * report. The checks themselves are in verify_checks.c. */
#include "verify_internal.h"

#include "report_files.h"

#include <errno.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *vf_failure_name(vf_failure f) {
    switch (f) {
    case VF_FAIL_UNSUPPORTED: return "UNSUPPORTED";
    case VF_FAIL_ERROR: return "error";
    case VF_FAIL_NAN: return "NaN mismatch";
    case VF_FAIL_INF: return "inf mismatch";
    case VF_FAIL_UNWRITTEN: return "unwritten output";
    case VF_FAIL_VALUE: return "value mismatch";
    case VF_FAIL_CANARY: return "canary overwritten";
    case VF_FAIL_INPUT_WRITE: return "input overwritten";
    case VF_FAIL_NONDETERMINISTIC: return "nondeterministic";
    case VF_FAIL_PROPERTY: return "property violated";
    case VF_FAIL_GRADIENT: return "gradient mismatch";
    case VF_FAIL_GOLDEN_FILE: return "golden file problem";
    case VF_FAIL_COUNT: break;
    }
    return "unknown failure";
}

uint64_t vf_case_seed(uint64_t master, int k) {
    if (k == 0) return master;
    uint64_t z = master + (uint64_t)k * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) & 0xffffffffffull; /* 40 bits: short enough to type back */
}

void vf_config_init(vf_config *c, const char *golden_dir) {
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->cases = 100;
    c->grad_cases = -1;
    c->golden_dir = golden_dir;
}

void vf_emit(vf_session *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->out, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    if (s->log_len + (size_t)n + 1 > s->log_cap) {
        size_t cap = s->log_cap ? s->log_cap : 4096;
        while (cap < s->log_len + (size_t)n + 1) cap *= 2;
        char *grown = realloc(s->log, cap);
        if (!grown) return; /* the report loses text; the terminal output is complete */
        s->log = grown;
        s->log_cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(s->log + s->log_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->log_len += (size_t)n;
}

/* ------------------------------------------------------------------ ops without an entry */
static void unverified_ops(char *buf, size_t len, int *count) {
    size_t n = 0;
    *count = 0;
    buf[0] = '\0';
    for (int op = 0; op < MT_OP_COUNT; op++)
        if (!vf_table_find(mt_op_name((mt_op)op)) && n < len) {
            n += (size_t)snprintf(buf + n, len - n, "%s%s", *count ? ", " : "",
                                  mt_op_name((mt_op)op));
            (*count)++;
        }
}

void vf_print_unverified_ops(FILE *out) {
    char list[1024];
    int count;
    unverified_ops(list, sizeof list, &count);
    if (count == 0) return;
    fprintf(out,
            "FAIL not verified: %d op(s) of the engine have no entry in the verifier's table: %s\n"
            "  HINT: add one to TABLE in tools/verify/verify_ops.c (and golden cases to "
            "golden/gen.py)\n",
            count, list);
}

void vf_list_ops(FILE *out, const char *golden_dir) {
    vf_golden_set set;
    char err[VF_MSG];
    bool loaded = golden_dir && vf_golden_load_dir(golden_dir, &set, err, sizeof err);
    fprintf(out, "%-20s %-10s %-14s %s\n", "op", "family", "golden files", "gradient check");
    for (int i = 0; i < vf_table_size(); i++) {
        const vf_op *op = vf_table_at(i);
        int files = 0;
        for (int k = 0; loaded && op->golden_op && k < set.count; k++)
            files += strcmp(set.cases[k].op, op->golden_op) == 0;
        char golden[64];
        if (!op->golden_op)
            snprintf(golden, sizeof golden, "none");
        else if (strcmp(op->golden_op, vf_op_label(op)) == 0)
            snprintf(golden, sizeof golden, "%d", files);
        else
            snprintf(golden, sizeof golden, "%d (%s's)", files, op->golden_op);
        fprintf(out, "%-20s %-10s %-14s %s\n", vf_op_label(op), op->family->name, golden,
                op->grad ? (op->kinks ? "yes (kinks skipped)" : "yes") : "no");
    }
    if (golden_dir && !loaded) fprintf(out, "(%s)\n", err);
    if (loaded) vf_golden_set_free(&set);
    vf_print_unverified_ops(out);
}

/* ------------------------------------------------------------------ summary table and report */
static void cell_text(const vf_cell *c, bool markdown, char *buf, size_t len) {
    if (c->unsupported)
        snprintf(buf, len, "UNSUPPORTED");
    else if (markdown)
        snprintf(
            buf, len, "%s (%d checks, max abs err %.2g, max rel err %.2g, %.0f%% of the tolerance)",
            c->failures ? "**FAIL**" : "PASS", c->checks, c->max_abs, c->max_rel, 100 * c->worst);
    else
        snprintf(buf, len, "%-4s %6d %8.2g %4.0f%%", c->failures ? "FAIL" : "PASS", c->checks,
                 c->max_abs, 100 * c->worst);
}

static void print_table(vf_session *s, vf_cell *cells, int nops, const mt_backend *const *bs,
                        int nb) {
    vf_emit(s, "\n%-20s", "op");
    for (int b = 0; b < nb; b++) vf_emit(s, " %-28s", mt_backend_name(bs[b]));
    vf_emit(s, "\n%-20s", "");
    for (int b = 0; b < nb; b++) vf_emit(s, " %-4s %6s %8s %5s  ", "", "checks", "max-err", "tol");
    vf_emit(s, "\n");
    for (int o = 0; o < nops; o++) {
        vf_emit(s, "%-20s", vf_op_label(cells[o * nb].op));
        for (int b = 0; b < nb; b++) {
            char t[96];
            cell_text(&cells[o * nb + b], false, t, sizeof t);
            vf_emit(s, " %-28s", t);
        }
        vf_emit(s, "\n");
    }
}

/* Per op and backend, the errors of every comparison with a reference (naive or golden), so a
 * kernel that drifts toward its tolerance shows before it fails. */
static void report_errors(FILE *f, const vf_cell *cells, int nops, const mt_backend *const *bs,
                          int nb) {
    fprintf(f, "\n## Error statistics\n\nOver every element compared with the naive reference or "
               "a golden file (finite expected values): absolute and relative errors, and the "
               "largest error in units in the last place of the expected value as float32.\n\n"
               "| op | backend | elements | max abs | mean abs | max rel | mean rel | max ulp | "
               "tolerance used |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int o = 0; o < nops; o++)
        for (int b = 0; b < nb; b++) {
            const vf_cell *c = &cells[o * nb + b];
            double n = c->stats.count ? (double)c->stats.count : 1;
            fprintf(f, "| %s | %s | %lld | %.3g | %.3g | %.3g | %.3g | %.3g | %.1f%% |\n",
                    vf_op_label(c->op), mt_backend_name(bs[b]), (long long)c->stats.count,
                    c->max_abs, c->stats.sum_abs / n, c->max_rel, c->stats.sum_rel / n,
                    c->stats.max_ulp, 100 * c->worst);
        }
}

/* Written to a temporary file and renamed into place (never over another report, see
 * report_files.h), so a crashed run leaves no half-written report. False when it could not be. */
static bool write_report(vf_session *s, const vf_cell *cells, int nops, const mt_backend *const *bs,
                         int nb, bool passed) {
    const vf_config *cfg = s->cfg;
    char dir[1100], base[300], tmp[1200], stem[320], err[1400];
    const char *slash = strrchr(cfg->report_path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - cfg->report_path) : 1,
             slash ? cfg->report_path : ".");
    const char *file = slash ? slash + 1 : cfg->report_path;
    size_t flen = strlen(file);
    bool md = flen > 3 && strcmp(file + flen - 3, ".md") == 0;
    snprintf(base, sizeof base, "%.*s", (int)(md ? flen - 3 : flen), file);
    FILE *f = rf_open_tmp(dir, tmp, sizeof tmp);
    if (!f) {
        fprintf(s->out, "verify: cannot write the report in %s: %s\n", dir, strerror(errno));
        return false;
    }
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(f, "# Verifier report\n\n");
    fprintf(f, "- result: **%s**\n", passed ? "PASS" : "FAIL");
    fprintf(f, "- date: %s\n", when);
    if (cfg->command_line) fprintf(f, "- command: `%s`\n", cfg->command_line);
    fprintf(f, "- seed %llu, %d random cases per op and backend, golden files from `%s` (%d)\n",
            (unsigned long long)cfg->seed, cfg->cases, cfg->golden_dir, s->golden.count);
    fprintf(f, "- backends verified:");
    for (int b = 0; b < nb; b++) fprintf(f, " %s", mt_backend_name(bs[b]));
    fprintf(f, "\n");
    for (int i = 0; i < cfg->nnot_built; i++) fprintf(f, "- not built: %s\n", cfg->not_built[i]);
    char list[1024];
    int count;
    unverified_ops(list, sizeof list, &count);
    if (count) fprintf(f, "- ops without a verifier entry in this build: %s\n", list);
    fprintf(f, "\n| op |");
    for (int b = 0; b < nb; b++) fprintf(f, " %s |", mt_backend_name(bs[b]));
    fprintf(f, "\n|---|");
    for (int b = 0; b < nb; b++) fprintf(f, "---|");
    fprintf(f, "\n");
    for (int o = 0; o < nops; o++) {
        fprintf(f, "| %s |", vf_op_label(cells[o * nb].op));
        for (int b = 0; b < nb; b++) {
            char t[160];
            cell_text(&cells[o * nb + b], true, t, sizeof t);
            fprintf(f, " %s |", t);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\nChecks per cell: golden files (kernel with contiguous and permuted inputs, "
               "autodiff against golden gradients), random cases against the naive backend "
               "(canaries, untouched inputs, same bits at another thread count), size classes on "
               "both sides of every threshold of the openmp kernels (values of +-1000 and "
               "specials, bits at 1, 2, 3 and 8 threads, across layouts and vector-loop "
               "offsets), autodiff against central differences, op by op and in graphs that "
               "reuse values.\n");
    report_errors(f, cells, nops, bs, nb);
    fprintf(f, "\n## Output\n\n```text\n%s\n```\n", s->log ? s->log : "");
    bool ok = !ferror(f);
    const char *tmps[1] = {tmp}, *suffix[1] = {".md"};
    if (fclose(f) != 0 || !ok) {
        fprintf(s->out, "verify: cannot write the report %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        return false;
    }
    if (rf_publish(dir, base, 1, tmps, suffix, stem, sizeof stem, err, sizeof err) != 0) {
        fprintf(s->out, "verify: %s\n", err);
        unlink(tmp);
        return false;
    }
    fprintf(s->out, "verify: report written to %s/%s.md\n", dir, stem);
    return true;
}

/* ------------------------------------------------------------------ the run */
static bool check_config(const vf_config *cfg, FILE *out) {
    for (int i = 0; i < vf_table_size(); i++)
        for (int j = 0; j < i; j++)
            if (vf_table_at(i)->op == vf_table_at(j)->op) {
                fprintf(out, "verify: the op table lists %s twice\n", vf_op_label(vf_table_at(i)));
                return false;
            }
    for (int i = 0; i < cfg->nops; i++)
        if (!vf_op_known(cfg->ops[i])) {
            fprintf(out, "verify: no op named '%s' in the verifier's table (see --list)\n",
                    cfg->ops[i]);
            return false;
        }
    if (cfg->backends && cfg->nbackends < 1) {
        fprintf(out, "verify: no backend to verify\n");
        return false;
    }
    for (int i = 0; cfg->backends && i < cfg->nbackends; i++)
        if (!cfg->backends[i]) {
            fprintf(out, "verify: backend %d is NULL\n", i);
            return false;
        }
    if (cfg->cases < 0 || !cfg->golden_dir) {
        fprintf(out, "verify: the case count must be >= 0 and a golden directory given\n");
        return false;
    }
    return true;
}

static void load_golden(vf_session *s) {
    char err[VF_MSG];
    s->golden_loaded = vf_golden_load_dir(s->cfg->golden_dir, &s->golden, err, sizeof err);
    if (!s->golden_loaded) {
        s->sum.failures[VF_FAIL_GOLDEN_FILE]++;
        s->golden_problems++;
        vf_emit(s, "\nFAIL golden files: %s\n", err);
        vf_emit(s, "  HINT: generate them with python3 golden/gen.py, or pass --golden-dir "
                   "<repo>/golden/cases\n");
        return;
    }
    for (int i = 0; i < s->golden.nbad; i++) {
        s->sum.failures[VF_FAIL_GOLDEN_FILE]++;
        s->golden_problems++;
        vf_emit(s, "\nFAIL golden file: %s\n", s->golden.bad[i]);
        vf_emit(s, "  HINT: regenerate the golden files: python3 golden/gen.py\n");
    }
    int other = 0;
    for (int i = 0; i < s->golden.count; i++) {
        bool used = false;
        for (int k = 0; k < vf_table_size() && !used; k++)
            used = vf_table_at(k)->golden_op &&
                   strcmp(vf_table_at(k)->golden_op, s->golden.cases[i].op) == 0;
        other += !used;
    }
    if (other)
        vf_emit(s, "note: %d golden file(s) are for ops this build does not verify\n", other);
}

int vf_run(const vf_config *cfg, vf_summary *summary) {
    FILE *out = cfg->out ? cfg->out : stdout;
    if (summary) memset(summary, 0, sizeof *summary);
    if (!check_config(cfg, out)) return 2;
    const mt_backend *all[64];
    const mt_backend *const *bs = cfg->backends;
    int nb = cfg->nbackends;
    /* Every backend by default, except those this process cannot run (a cuda build on a
     * machine without a GPU): they are listed as not run, never counted as passing. */
    static char unavailable[8][400];
    int nunavailable = 0;
    if (!bs) {
        nb = 0;
        for (int i = 0; i < mt_backend_count() && nb < 64; i++) {
            const mt_backend *b = mt_backend_at(i);
            char why[300];
            if (mt_backend_available(b, why, sizeof why)) {
                all[nb++] = b;
            } else if (nunavailable < 8) {
                snprintf(unavailable[nunavailable++], sizeof unavailable[0], "%s: %s",
                         mt_backend_name(b), why);
            }
        }
        bs = all;
    }
    const vf_op *ops[MT_OP_COUNT];
    int nops = 0;
    for (int i = 0; i < vf_table_size(); i++) {
        bool wanted = cfg->nops == 0;
        for (int k = 0; k < cfg->nops && !wanted; k++)
            wanted = strcmp(cfg->ops[k], vf_op_label(vf_table_at(i))) == 0;
        if (wanted) ops[nops++] = vf_table_at(i);
    }

    vf_session s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.out = out;
    if (cfg->golden_dir_given) /* single quotes: the line is pasted into a shell */
        snprintf(s.reproduce_extra, sizeof s.reproduce_extra, " --golden-dir '%s'",
                 cfg->golden_dir);
    vf_emit(&s, "verify: seed %llu, %d random cases per op and backend; golden files in %s\n",
            (unsigned long long)cfg->seed, cfg->cases, cfg->golden_dir);
    vf_emit(&s, "verify: backends:");
    for (int b = 0; b < nb; b++) vf_emit(&s, " %s", mt_backend_name(bs[b]));
    vf_emit(&s, " (each against naive, the reference)\n");
    load_golden(&s);

    vf_cell *cells = calloc((size_t)(nops * nb), sizeof *cells);
    if (!cells) {
        fprintf(out, "verify: out of memory\n");
        vf_golden_set_free(&s.golden);
        free(s.log);
        return 2;
    }
    bool tty = isatty(fileno(out));
    for (int o = 0; o < nops; o++)
        for (int b = 0; b < nb; b++) {
            vf_cell *c = &cells[o * nb + b];
            c->op = ops[o];
            c->b = bs[b];
            if (tty) {
                fprintf(out, "\r[%d/%d] %s on %s ...%-20s", o * nb + b + 1, nops * nb,
                        vf_op_label(ops[o]), mt_backend_name(bs[b]), "");
                fflush(out);
            }
            vf_check_cell(&s, c);
            s.sum.cells++;
            s.sum.failed_cells += c->failures > 0;
        }
    if (tty) fprintf(out, "\r%-70s\r", "");

    print_table(&s, cells, nops, bs, nb);
    for (int i = 0; i < cfg->nnot_built; i++) vf_emit(&s, "not built: %s\n", cfg->not_built[i]);
    for (int i = 0; i < nunavailable; i++)
        vf_emit(&s, "NOT RUN (built, but this machine cannot run it): %s\n", unavailable[i]);
    char unlisted[1024];
    int nunlisted;
    unverified_ops(unlisted, sizeof unlisted, &nunlisted);
    if (nunlisted) { /* a new op cannot slip through unverified */
        s.sum.failures[VF_FAIL_UNSUPPORTED] += nunlisted;
        vf_emit(&s, "\nFAIL not verified: %d op(s) of the engine have no entry in the verifier's "
                    "table: %s\n  HINT: add one to TABLE in tools/verify/verify_ops.c (and golden "
                    "cases to golden/gen.py)\n",
                nunlisted, unlisted);
    }
    bool passed = s.golden_problems == 0 && s.sum.failed_cells == 0 && nunlisted == 0;
    if (passed)
        vf_emit(&s, "verify: PASS (%d ops x %d backend(s), %d checks)\n", nops, nb, s.sum.checks);
    else
        vf_emit(&s,
                "verify: FAIL (%d of %d op x backend cells failed, %d golden-file problem(s); "
                "%d checks)\n",
                s.sum.failed_cells, s.sum.cells, s.golden_problems, s.sum.checks);
    /* a report that was asked for and not written fails the run */
    if (cfg->report_path && !write_report(&s, cells, nops, bs, nb, passed)) passed = false;
    if (summary) *summary = s.sum;
    free(cells);
    vf_golden_set_free(&s.golden);
    free(s.log);
    return passed ? 0 : 1;
}
