#include "report.h"

#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool tr_mkdir_p(const char *path, char *err, size_t errlen) {
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
    bool quiet = r->quiet;
    memset(r, 0, sizeof *r);
    if ((r->quiet = quiet)) return true;
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
    if (!tr_mkdir_p(r->dir, err, errlen)) return false;
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
    r->tty = isatty(STDERR_FILENO);
    return true;
}

static void clear_bar(tr_report *r) {
    if (r->bar_shown) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        r->bar_shown = false;
    }
}

void report_progress(tr_report *r, int epoch, int64_t done, int64_t total, double seconds) {
    static double last_draw;
    if (r->quiet || !r->tty || total <= 0) return;
    double now = tr_now();
    if (done < total && now - last_draw < 0.1) return;
    last_draw = now;
    enum { WIDTH = 30 };
    int fill = (int)(WIDTH * done / total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : ' ';
    bar[WIDTH] = 0;
    fprintf(stderr, "\repoch %d [%s] %3d%% %.0f ex/s", epoch, bar, (int)(100 * done / total),
            seconds > 0 ? (double)done / seconds : 0.0);
    fflush(stderr);
    r->bar_shown = true;
}

void report_epoch(tr_report *r, double loss, double acc) {
    if (r->quiet) return;
    if (r->epochs == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        double *l = realloc(r->loss, (size_t)cap * sizeof *l);
        if (l) r->loss = l;
        double *a = realloc(r->acc, (size_t)cap * sizeof *a);
        if (a) r->acc = a;
        if (!l || !a) return; /* the chart only: losing a point must not stop training */
        r->cap = cap;
    }
    r->loss[r->epochs] = loss;
    r->acc[r->epochs] = acc;
    r->epochs++;
}

/* One panel: values ys[0..n) against epochs 1..n, in the box (x0,y0)-(x0+w,y0+h). */
static void svg_panel(FILE *f, double x0, double y0, double w, double h, const double *ys, int n,
                      const char *label, const char *color, bool percent) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(ys[i])) lo = fmin(lo, ys[i]), hi = fmax(hi, ys[i]);
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (percent) { /* a little room around the curve, inside 0..100% */
        lo = fmax(0.0, lo - 0.05);
        hi = fmin(1.0, hi + 0.02);
    }
    if (hi - lo < 1e-9) hi = lo + 1;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#888'/>\n",
            x0, y0, w, h);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13'>%s</text>\n", x0, y0 - 6, label);
    for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4, y = y0 + h - h * t / 4;
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>", x0 - 4, y + 3);
        if (percent) fprintf(f, "%.1f%%</text>\n", 100 * v);
        else fprintf(f, "%.3g</text>\n", v);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='10'>epoch 1</text>\n", x0, y0 + h + 12);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>%d</text>\n", x0 + w,
            y0 + h + 12, n);
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", color);
    for (int i = 0; i < n; i++) {
        if (!isfinite(ys[i])) continue;
        double x = n > 1 ? x0 + w * i / (n - 1) : x0 + w / 2;
        fprintf(f, "%.1f,%.1f ", x, y0 + h - h * (ys[i] - lo) / (hi - lo));
    }
    fprintf(f, "'/>\n");
    for (int i = 0; i < n; i++) /* dots: a one-epoch run still shows its point */
        if (isfinite(ys[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n",
                    n > 1 ? x0 + w * i / (n - 1) : x0 + w / 2,
                    y0 + h - h * (ys[i] - lo) / (hi - lo), color);
}

/* title goes into the SVG unescaped: callers pass their own fixed text (task names) */
bool report_chart(tr_report *r, const char *title, char *err, size_t errlen) {
    if (r->quiet) return true;
    char path[1100];
    snprintf(path, sizeof path, "%s/chart.svg", r->dir);
    FILE *f = fopen(path, "w");
    if (!f) return tr_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='760' height='300' "
               "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n");
    fprintf(f, "<text x='20' y='22' font-size='15'>%s</text>\n", title);
    svg_panel(f, 70, 60, 290, 200, r->loss, r->epochs, "training loss (mean per batch)", "#c0392b",
              false);
    svg_panel(f, 440, 60, 290, 200, r->acc, r->epochs, "validation accuracy", "#2471a3", true);
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) return tr_err(err, errlen, "%s: write error", path);
    return true;
}

void report_log(tr_report *r, const char *fmt, ...) {
    if (r->quiet) return;
    clear_bar(r);
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
    clear_bar(r);
    free(r->loss);
    free(r->acc);
    r->loss = r->acc = NULL;
    r->epochs = r->cap = 0;
    if (r->log) fclose(r->log);
    if (r->csv) fclose(r->csv);
    r->log = r->csv = NULL;
}
