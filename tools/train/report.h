/* A run's output folder: log.txt (every line also printed to stdout) and curves.csv. */
#ifndef MT_TRAIN_REPORT_H
#define MT_TRAIN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct tr_report {
    char dir[1024];
    FILE *log, *csv;
} tr_report;

/* Makes the folder (and its parents): `dir`, or <root>/reports/train-<task>-<timestamp> when dir
 * is NULL; opens log.txt and curves.csv and writes the CSV header. */
bool report_open(tr_report *r, const char *dir, const char *root, const char *task,
                 const char *csv_header, char *err, size_t errlen);
void report_log(tr_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_csv(tr_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_close(tr_report *r);

#endif
