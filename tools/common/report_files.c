/* Report files: temporary file + link(2) so nothing is half-written or replaced, and the index
 * rebuilt from the directory listing so it links only what exists. */
#include "report_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *rf_open_tmp(const char *dir, char *path, size_t len) {
    if ((size_t)snprintf(path, len, "%s/.tmp-XXXXXX", dir) >= len) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    fchmod(fd, 0644); /* mkstemp's 0600 would hide a report from the machine's other users */
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
    }
    return f;
}

int rf_publish(const char *dir, const char *base, int n, const char *const *tmp,
               const char *const *suffix, char *stem, size_t len, char *err, size_t errlen) {
    char path[2200];
    for (int seq = 1; seq <= 999; seq++) {
        if (seq == 1)
            snprintf(stem, len, "%s", base);
        else
            snprintf(stem, len, "%s-%d", base, seq);
        int k = 0;
        for (; k < n; k++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, stem, suffix[k]);
            if (link(tmp[k], path) != 0) break;
        }
        if (k == n) {
            for (k = 0; k < n; k++) unlink(tmp[k]);
            return 0;
        }
        int why = errno;
        for (int j = 0; j < k; j++) { /* this stem is someone else's: give back what we took */
            snprintf(path, sizeof path, "%s/%s%s", dir, stem, suffix[j]);
            unlink(path);
        }
        if (why != EEXIST) {
            snprintf(err, errlen, "cannot write %s/%s%s: %s", dir, stem, suffix[k], strerror(why));
            return -1;
        }
    }
    snprintf(err, errlen, "%s/%s-*: 999 reports of that name already", dir, base);
    return -1;
}

int rf_commit(const char *tmp, const char *path) {
    if (link(tmp, path) != 0) return -1;
    unlink(tmp);
    return 0;
}

int rf_report_name(const char *name, char *bench, size_t len, char *stamp, int *seq) {
    size_t n = strlen(name);
    if (n < 4 || strcmp(name + n - 3, ".md") != 0) return -1;
    const char *end = name + n - 3; /* past the stamp, or past "-N" */
    *seq = 1;
    const char *p = end;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p > name && p[-1] == '-' && end - p >= 1 && end - p <= 3 && *p != '0' &&
        p - 1 - name >= 17) { /* "-N": a second report in the same second */
        const char *q = p - 1 - 15;
        bool stamp_before = q[-1] == '-' && q[8] == '-';
        for (int k = 0; k < 15 && stamp_before; k++)
            stamp_before = k == 8 || (q[k] >= '0' && q[k] <= '9');
        if (stamp_before) {
            *seq = atoi(p);
            end = p - 1;
        }
    }
    if (end - name < 17) return -1;
    const char *s = end - 15; /* YYYYMMDD-HHMMSS */
    if (s[-1] != '-' || s[8] != '-') return -1;
    for (int k = 0; k < 15; k++)
        if (k != 8 && (s[k] < '0' || s[k] > '9')) return -1;
    snprintf(bench, len, "%.*s", (int)(s - 1 - name), name);
    memcpy(stamp, s, 15);
    stamp[15] = '\0';
    return bench[0] ? 0 : -1;
}

typedef struct entry {
    char *name;
    char bench[128], stamp[16];
    int seq;
} entry;

/* Newest first: by the stamp, then the same-second sequence number, then by name. */
static int cmp_desc(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int c = strcmp(y->stamp, x->stamp);
    if (c) return c;
    if (x->seq != y->seq) return y->seq - x->seq;
    return strcmp(y->name, x->name);
}

/* "[label](file)" when dir/file exists, "-" otherwise: the index links only what was written. */
static void link_if_present(FILE *f, const char *dir, const char *label, const char *stem,
                            const char *ext) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s%s", dir, stem, ext);
    if (access(path, R_OK) == 0)
        fprintf(f, "[%s](%s%s)", label, stem, ext);
    else
        fprintf(f, "-");
}

/* The headline and the command a report wrote about itself (RF_HEADLINE_TAG ... " -->" and
 * "Command: `...`"); each is left as the caller set it when the report has none. */
static void read_headline(const char *dir, const char *name, char *line, size_t len,
                          char *command, size_t cmdlen) {
    char path[1400], text[2200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return;
    /* both sit in the report's first lines; a line longer than text is never one of them */
    for (int k = 0; k < 12 && fgets(text, sizeof text, f); k++) {
        text[strcspn(text, "\n")] = '\0';
        size_t n = strlen(text), t = strlen(RF_HEADLINE_TAG);
        if (strncmp(text, RF_HEADLINE_TAG, t) == 0 && n > t + 4 && strcmp(text + n - 4, " -->") == 0)
            snprintf(line, len, "%.*s", (int)(n - 4 - t), text + t);
        else if (strncmp(text, "Command: `", 10) == 0 && n > 11 && text[n - 1] == '`')
            snprintf(command, cmdlen, "%.*s", (int)(n - 11), text + 10);
    }
    fclose(f);
}

enum { MAX_REPORTS = 4096, MAX_BENCHES = 64 };

int rf_write_index(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    entry *es = calloc(MAX_REPORTS, sizeof *es);
    if (!es) {
        closedir(d);
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_REPORTS)
        if (rf_report_name(e->d_name, es[n].bench, sizeof es[n].bench, es[n].stamp, &es[n].seq) ==
                0 &&
            (es[n].name = strdup(e->d_name)))
            n++;
    closedir(d);
    qsort(es, (size_t)n, sizeof es[0], cmp_desc);
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *f = rf_open_tmp(dir, tmp, sizeof tmp);
    int rc = -1;
    if (!f) goto done;
    fprintf(f, "# Benchmark reports\n\n"
               "Written by `./bench` and `./verify --report` (see `tools/bench/README.md`); this "
               "index is rebuilt from the files in this folder by every run. Each benchmark report "
               "has its SVG chart and the raw Google Benchmark JSON beside it.\n\n");
    /* the first report of a benchmark in newest-first order is its latest */
    int latest[MAX_BENCHES], nlatest = 0;
    for (int k = 0; k < n && nlatest < MAX_BENCHES; k++) {
        bool seen = false;
        for (int j = 0; j < nlatest; j++) seen |= strcmp(es[latest[j]].bench, es[k].bench) == 0;
        if (!seen) latest[nlatest++] = k;
    }
    fprintf(f, "## Headline\n\nEach benchmark's latest report, as that report summarised itself: "
               "the engine's backend against its strongest baseline, the median over the cases of "
               "time(baseline) / time(backend) (above 1 the engine is faster; against memcpy it is "
               "the fraction of copy bandwidth reached). \"-\": the report has no headline (an "
               "older report, a failed or implausible run, or nothing to compare).\n\n"
               "| benchmark | ratio | command |\n|---|---|---|\n");
    for (int j = 0; j < nlatest; j++) {
        const entry *r = &es[latest[j]];
        char line[200] = "-", command[2100] = "";
        read_headline(dir, r->name, line, sizeof line, command, sizeof command);
        fprintf(f, "| %s | %s | ", r->bench, line);
        if (command[0]) {
            fputc('`', f);
            for (const char *p = command; *p; p++) { /* a | would end the table cell */
                if (*p == '|') fputc('\\', f);
                fputc(*p, f);
            }
            fputc('`', f);
        } else {
            fputc('-', f);
        }
        fprintf(f, " |\n");
    }
    fprintf(f, "\n## Latest per benchmark\n\n| benchmark | report | chart | raw JSON |\n"
               "|---|---|---|---|\n");
    for (int j = 0; j < nlatest; j++) {
        const entry *r = &es[latest[j]];
        char stem[300];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(r->name) - 3), r->name);
        fprintf(f, "| %s | [%s](%s) | ", r->bench, r->name, r->name);
        link_if_present(f, dir, "svg", stem, ".svg");
        fprintf(f, " | ");
        link_if_present(f, dir, "json", stem, ".json");
        fprintf(f, " |\n");
    }
    fprintf(f, "\n## All reports, newest first\n\n");
    for (int k = 0; k < n; k++) fprintf(f, "- [%s](%s)\n", es[k].name, es[k].name);
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
        unlink(tmp);
    else
        rc = 0;
done:
    for (int k = 0; k < n; k++) free(es[k].name);
    free(es);
    return rc;
}
