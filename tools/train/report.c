#include "report.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static bool mkdir_p(const char *path, char *err, size_t errlen) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return tr_err(err, errlen, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return tr_err(err, errlen, "%s: cannot create: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return true;
}

bool report_open(tr_report *r, const char *dir, const char *root, const char *task,
                 const char *csv_header, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (dir) {
        snprintf(r->dir, sizeof r->dir, "%s", dir);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(r->dir, sizeof r->dir, "%s/reports/train-%s-%s", root, task, stamp);
    }
    if (!mkdir_p(r->dir, err, errlen)) return false;
    char path[1100];
    snprintf(path, sizeof path, "%s/log.txt", r->dir);
    r->log = fopen(path, "w");
    snprintf(path, sizeof path, "%s/curves.csv", r->dir);
    r->csv = fopen(path, "w");
    if (!r->log || !r->csv) {
        report_close(r);
        return tr_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    }
    fprintf(r->csv, "%s\n", csv_header);
    return true;
}

void report_log(tr_report *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout); /* a log piped to a file shows progress as it comes */
    if (r->log) {
        va_start(ap, fmt);
        vfprintf(r->log, fmt, ap);
        va_end(ap);
        fputc('\n', r->log);
        fflush(r->log);
    }
}

void report_csv(tr_report *r, const char *fmt, ...) {
    if (!r->csv) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->csv, fmt, ap);
    va_end(ap);
    fputc('\n', r->csv);
    fflush(r->csv);
}

void report_close(tr_report *r) {
    if (r->log) fclose(r->log);
    if (r->csv) fclose(r->csv);
    r->log = r->csv = NULL;
}
