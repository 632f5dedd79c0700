/* A run's output folder: log.txt (every line also printed to stdout), curves.csv and chart.svg;
 * and a progress bar on stderr while it is a terminal. */
#ifndef MT_TRAIN_REPORT_H
#define MT_TRAIN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tr_report {
    char dir[1024];
    FILE *log, *csv;
    bool tty;          /* stderr is a terminal: draw the progress bar */
    bool bar_shown;    /* a bar is on the current line and must be cleared before a log line */
    double *loss, *acc; /* per epoch, for chart.svg */
    int epochs, cap;
    bool quiet; /* a data-parallel rank other than 0: set before report_open; writes nothing */
} tr_report;

/* With r->quiet set (by the caller, before) it makes nothing and every call below does nothing:
 * only rank 0 of a data-parallel run prints and writes files. Otherwise: makes the folder (and its parents): `dir`, or <root>/reports/train-<task>-<timestamp> when dir
 * is NULL; opens log.txt and curves.csv and writes the CSV header. */
bool report_open(tr_report *r, const char *dir, const char *root, const char *task,
                 const char *csv_header, char *err, size_t errlen);
void report_log(tr_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_csv(tr_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Redraws "epoch E [####    ] 45% 12345 ex/s" on stderr when it is a terminal (plain logs stay
 * clean when it is not); cheap enough to call every batch: it draws at most 10 times a second. */
void report_progress(tr_report *r, int epoch, int64_t done, int64_t total, double seconds);
/* Records an epoch's mean training loss and validation accuracy (0..1) for the chart. */
void report_epoch(tr_report *r, double loss, double acc);
/* Writes chart.svg (loss and accuracy per epoch, two panels) from what report_epoch recorded;
 * returns false with err when the file cannot be written. */
bool report_chart(tr_report *r, const char *title, char *err, size_t errlen);
void report_close(tr_report *r);
/* mkdir -p: makes path and its missing parents. */
bool tr_mkdir_p(const char *path, char *err, size_t errlen);

#endif
