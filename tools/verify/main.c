/* ./verify: every backend against the NumPy golden files and against the naive reference,
 * autodiff against numerical gradients. Exit status 0 only when everything passed; 1 on any
 * failure; 2 on a usage error. */
#include "verify_build_info.h"
#include "verify_lib.h"

#include "report_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_LIST 64

static const char USAGE[] =
    "usage: ./verify [options]\n"
    "\n"
    "Checks every op of every backend: against the golden files (NumPy, float64), against the\n"
    "naive reference on random cases (shapes, broadcasting, strided inputs, canaries), and\n"
    "autodiff against central differences. Exit status 0 only if everything passed.\n"
    "\n"
    "  --all-backends        verify every backend in this build (the default)\n"
    "  --backend B           verify backend B (repeatable, or a comma list: naive,openmp)\n"
    "  --op NAME             only this op (repeatable, or a comma list); see --list\n"
    "  --seed S              master seed (default 1); a failing case prints its own seed\n"
    "  --cases N             random cases per op and backend (default 100)\n"
    "  --grad-cases N        gradient cases per op and backend (default: cases / 8)\n"
    "  --golden-dir DIR      golden files (default: golden/cases of the source tree)\n"
    "  --report              also write a markdown report to reports/verify-<timestamp>.md\n"
    "                        (and rebuild the reports/README.md index)\n"
    "  --report-dir DIR      the same, in DIR instead of reports/\n"
    "  --quick               a smoke test: only the small size classes, at 1 and 3 threads\n"
    "  --list                list the ops and the backends (built and not built), then exit\n"
    "  -h, --help            this text\n"
    "\n"
    "A failure prints the shrunk case and a reproduce line, e.g.\n"
    "  ./verify --op conv2d --seed 1234 --backend openmp\n";

/* Backends this project knows of; the ones missing from the registry are reported with the
 * reason the build configuration gave. */
static const char *const KNOWN_BACKENDS[] = {"naive", "openmp", "cuda-sim", "cuda"};
#define NKNOWN ((int)(sizeof KNOWN_BACKENDS / sizeof KNOWN_BACKENDS[0]))

static int usage_error(const char *fmt, const char *arg) __attribute__((format(printf, 1, 0)));
static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "verify: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nrun ./verify --help for the options\n");
    return 2;
}

static bool built(const char *name) {
    for (int i = 0; i < mt_backend_count(); i++)
        if (strcmp(mt_backend_name(mt_backend_at(i)), name) == 0) return true;
    return false;
}

static bool mentions(const char *line, size_t len, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && (line[i + k] | 0x20) == (name[k] | 0x20)) k++;
        if (k == n) return true;
    }
    return false;
}

/* "cuda: <the configure summary's lines about it>" */
static void not_built_reason(const char *name, char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "%s: ", name);
    bool any = false;
    for (const char *line = MT_VERIFY_BUILD_SUMMARY; *line && n < len;) {
        const char *end = strchr(line, '\n');
        size_t l = end ? (size_t)(end - line) : strlen(line);
        if (l && mentions(line, l, strncmp(name, "cuda", 4) == 0 ? "cuda" : name)) {
            n += (size_t)snprintf(buf + n, len - n, "%s%.*s", any ? "; " : "", (int)l, line);
            any = true;
        }
        line += l + (end ? 1 : 0);
    }
    if (!any)
        snprintf(buf + n, len - n, "no sources for it in this tree, so it is not in the build");
}

static void list_backends(FILE *out) {
    fprintf(out, "\nbackends in this build:\n");
    for (int i = 0; i < mt_backend_count(); i++)
        fprintf(out, "  %-10s built\n", mt_backend_name(mt_backend_at(i)));
    char reason[512];
    for (int i = 0; i < NKNOWN; i++)
        if (!built(KNOWN_BACKENDS[i])) {
            not_built_reason(KNOWN_BACKENDS[i], reason, sizeof reason);
            fprintf(out, "  %-10s NOT BUILT (%s)\n", KNOWN_BACKENDS[i],
                    reason + strlen(KNOWN_BACKENDS[i]) + 2);
        }
}

/* Splits "a,b" (or one name) into list. An empty name ("", ",", "a,,b") is an error, not "every
 * op": a typo must not quietly widen the run. Returns 2 after printing what is wrong, else 0. */
static int add_names(const char *flag, char *arg, const char **list, int *n) {
    char *p = arg;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (*p == '\0')
            return usage_error("%s needs names separated by commas, none of them empty", flag);
        if (*n == MAX_LIST) return usage_error("too many names (%s)", p);
        list[(*n)++] = p;
        if (!comma) return 0;
        p = comma + 1;
    }
}

static bool parse_int(const char *s, long long lo, long long hi, long long *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return false;
    *v = x;
    return true;
}

static bool parse_seed(const char *s, uint64_t *v) {
    char *end;
    errno = 0;
    if (*s == '-') return false;
    unsigned long long x = strtoull(s, &end, 10); /* decimal: 010 is ten, 08 is eight */
    if (errno || end == s || *end) return false;
    *v = (uint64_t)x;
    return true;
}

static const char *report_path(const char *dir, char *buf, size_t len) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return NULL;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    snprintf(buf, len, "%s/verify-%s.md", dir, stamp);
    return buf;
}

/* Everything main does, with the run itself a parameter: the fuzz harness of the command line
 * (tests/fuzz) passes a stand-in that only checks the configuration it was given. */
typedef int (*verify_run_fn)(const vf_config *cfg, vf_summary *summary);
int verify_main(int argc, char **argv, verify_run_fn run);

int verify_main(int argc, char **argv, verify_run_fn run) {
    char command[2048] = "./verify"; /* for the report, before parsing edits argv */
    size_t used = strlen(command);
    for (int i = 1; i < argc && used < sizeof command; i++)
        used += (size_t)snprintf(command + used, sizeof command - used, " %s", argv[i]);
    vf_config cfg;
    vf_config_init(&cfg, MT_VERIFY_SOURCE_DIR "/golden/cases");
    const char *backend_names[MAX_LIST], *op_names[MAX_LIST];
    int nbackend_names = 0, nop_names = 0;
    bool all = false, list = false, report = false;
    const char *report_dir = MT_VERIFY_SOURCE_DIR "/reports";
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *value = NULL;
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq) { /* --flag=value */
            *eq = '\0';
            value = eq + 1;
        }
        bool takes = strcmp(a, "--backend") == 0 || strcmp(a, "--op") == 0 ||
                     strcmp(a, "--seed") == 0 || strcmp(a, "--cases") == 0 ||
                     strcmp(a, "--grad-cases") == 0 || strcmp(a, "--golden-dir") == 0 ||
                     strcmp(a, "--report-dir") == 0;
        if (takes && !value) {
            if (i + 1 >= argc) return usage_error("%s needs a value", a);
            value = argv[++i];
        } else if (!takes && value) {
            return usage_error("%s takes no value", a);
        }
        long long n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--all-backends") == 0) {
            all = true;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "--report") == 0) {
            report = true;
        } else if (strcmp(a, "--report-dir") == 0) {
            report = true;
            report_dir = value;
        } else if (strcmp(a, "--quick") == 0) {
            cfg.quick = true;
        } else if (strcmp(a, "--backend") == 0) {
            if (add_names(a, value, backend_names, &nbackend_names)) return 2;
        } else if (strcmp(a, "--op") == 0) {
            if (add_names(a, value, op_names, &nop_names)) return 2;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_seed(value, &cfg.seed))
                return usage_error("--seed needs a non-negative integer, got '%s'", value);
        } else if (strcmp(a, "--cases") == 0 || strcmp(a, "--grad-cases") == 0) {
            if (!parse_int(value, 0, 1000000, &n))
                return usage_error("--cases and --grad-cases need a count from 0 to 1000000, "
                                   "got '%s'",
                                   value);
            if (strcmp(a, "--cases") == 0)
                cfg.cases = (int)n;
            else
                cfg.grad_cases = (int)n;
        } else if (strcmp(a, "--golden-dir") == 0) {
            DIR *d = opendir(value);
            if (!d) {
                fprintf(stderr, "verify: --golden-dir %s: %s\n", value, strerror(errno));
                return 2;
            }
            closedir(d);
            cfg.golden_dir = value;
            cfg.golden_dir_given = true;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (all && nbackend_names)
        return usage_error("%s", "--all-backends and --backend do not go together");

    if (list) {
        vf_list_ops(stdout, cfg.golden_dir);
        list_backends(stdout);
        return 0;
    }

    const mt_backend *backends[MAX_LIST];
    char reason[512];
    for (int i = 0; i < nbackend_names; i++) {
        backends[i] = mt_backend_by_name(backend_names[i]);
        if (!backends[i]) {
            for (int k = 0; k < NKNOWN; k++)
                if (strcmp(KNOWN_BACKENDS[k], backend_names[i]) == 0) {
                    not_built_reason(backend_names[i], reason, sizeof reason);
                    fprintf(stderr, "verify: backend %s is not built: %s\n", backend_names[i],
                            reason + strlen(backend_names[i]) + 2);
                    return 2;
                }
            fprintf(stderr, "verify: unknown backend '%s' (built:", backend_names[i]);
            for (int k = 0; k < mt_backend_count(); k++)
                fprintf(stderr, " %s", mt_backend_name(mt_backend_at(k)));
            fprintf(stderr, ")\n");
            return 2;
        }
    }
    for (int i = 0; i < nbackend_names; i++) {
        char why[300];
        if (!mt_backend_available(backends[i], why, sizeof why)) {
            fprintf(stderr, "verify: backend %s is built but cannot run here: %s\n",
                    backend_names[i], why);
            return 2;
        }
    }
    for (int i = 0; i < nop_names; i++)
        if (!vf_op_known(op_names[i])) {
            if (mt_op_from_name(op_names[i]) != MT_OP_COUNT)
                fprintf(stderr,
                        "verify: %s is an engine op, but this build's verifier has no "
                        "entry for it; the ops it verifies are:\n",
                        op_names[i]);
            else
                fprintf(stderr, "verify: no op named '%s'; the ops are:\n", op_names[i]);
            for (int k = 0; k < vf_op_count(); k++)
                fprintf(stderr, "%s%s", k ? " " : "  ", vf_op_name_at(k));
            fprintf(stderr, "\n");
            vf_print_unverified_ops(stderr);
            return 2;
        }

    /* the backends this build lacks, and why (from the configure summary) */
    static char reasons[NKNOWN][512];
    const char *not_built[NKNOWN];
    int nnot_built = 0;
    for (int i = 0; i < NKNOWN && nbackend_names == 0; i++)
        if (!built(KNOWN_BACKENDS[i])) {
            not_built_reason(KNOWN_BACKENDS[i], reasons[nnot_built], sizeof reasons[0]);
            not_built[nnot_built] = reasons[nnot_built];
            nnot_built++;
        }

    char path[1200];
    if (report && !report_path(report_dir, path, sizeof path)) {
        fprintf(stderr, "verify: cannot create %s: %s\n", report_dir, strerror(errno));
        return 2;
    }

    cfg.backends = nbackend_names ? backends : NULL; /* NULL: every backend in the registry */
    cfg.nbackends = nbackend_names;
    cfg.ops = nop_names ? op_names : NULL;
    cfg.nops = nop_names;
    cfg.not_built = not_built;
    cfg.nnot_built = nnot_built;
    cfg.report_path = report ? path : NULL;
    cfg.command_line = command;
    int rc = run(&cfg, NULL);
    if (report && rf_write_index(report_dir) != 0) {
        fprintf(stderr, "verify: cannot rebuild %s/README.md: %s\n", report_dir, strerror(errno));
        return rc ? rc : 1;
    }
    return rc;
}

#ifndef VERIFY_NO_MAIN
int main(int argc, char **argv) { return verify_main(argc, argv, vf_run); }
#endif
