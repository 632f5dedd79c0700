/* Report files that are never half-written and never replaced, and the reports/README.md index
 * rebuilt from what is on disk. Shared by ./bench and ./verify. */
#ifndef MT_REPORT_FILES_H
#define MT_REPORT_FILES_H

/* The line a report writes about itself for the index: RF_HEADLINE_TAG "text -->" */
#define RF_HEADLINE_TAG "<!-- headline: "

#include <stddef.h>
#include <stdio.h>

/* Opens a new temporary file in dir (a hidden ".tmp-" name the index never lists) for writing;
 * its path goes to path. NULL (errno set) when dir is not writable. */
FILE *rf_open_tmp(const char *dir, char *path, size_t len);

/* Gives the n finished temporary files tmp[k] their final names dir/<stem><suffix[k]>, where stem
 * is base, or base-2, base-3, ... : the first for which no file of the set exists yet. Each name is
 * taken with link(2), which fails rather than replace a file, so a report written by another run
 * in the same second is never overwritten. Put the file the index lists (the .md) last, or commit
 * it afterwards with rf_commit, so it appears only once its companions are in place. The temporary
 * files are removed. Returns 0 with the stem in stem, or -1 with the reason in err. */
int rf_publish(const char *dir, const char *base, int n, const char *const *tmp,
               const char *const *suffix, char *stem, size_t len, char *err, size_t errlen);

/* Gives one finished temporary file its final name, failing (EEXIST) rather than replacing a
 * file there; the temporary name is removed. For a file whose companions rf_publish placed. */
int rf_commit(const char *tmp, const char *path);

/* Parses a report name "<bench>-YYYYMMDD-HHMMSS[-N].md": the benchmark (or "verify") into bench,
 * the 15-character stamp into stamp (16 bytes), N (1 when absent) into seq. */
int rf_report_name(const char *name, char *bench, size_t len, char *stamp, int *seq);

/* Rebuilds dir/README.md from the reports in dir (atomically: a temporary file renamed over it):
 * each benchmark's headline and latest report, then every report, newest first. Links only files
 * that exist. Returns 0 or -1. */
int rf_write_index(const char *dir);

#endif
