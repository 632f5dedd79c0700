/* Reports are never replaced (two in one second get two names), never half-written (the index
 * lists only finished reports), and the index is rebuilt from what is on disk. */
#include "report_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails;
#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            fails++;                                                             \
        }                                                                        \
    } while (0)

static char dir[64];

static void put(const char *name, const char *text) {
    char path[200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *name) {
    char path[200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A finished report under base through a temporary file; its stem goes to stem. */
static int publish(const char *base, const char *text, char *stem, size_t len) {
    char tmp[200], err[300];
    FILE *f = rf_open_tmp(dir, tmp, sizeof tmp);
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    const char *tmps[1] = {tmp}, *suffix[1] = {".md"};
    int rc = rf_publish(dir, base, 1, tmps, suffix, stem, len, err, sizeof err);
    CHECK(access(tmp, F_OK) != 0); /* the temporary name is gone */
    return rc;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_report_files.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char stem[100];

    /* two reports of the same benchmark in the same second: two names, the first kept */
    CHECK(publish("conv2d-20260101-120000", "first\n", stem, sizeof stem) == 0);
    CHECK(strcmp(stem, "conv2d-20260101-120000") == 0);
    CHECK(publish("conv2d-20260101-120000", "second\n", stem, sizeof stem) == 0);
    CHECK(strcmp(stem, "conv2d-20260101-120000-2") == 0);
    CHECK(strcmp(slurp("conv2d-20260101-120000.md"), "first\n") == 0);
    CHECK(strcmp(slurp("conv2d-20260101-120000-2.md"), "second\n") == 0);

    /* a set of files: a stem is free only when none of its files exists */
    put("matmul-20260101-120000.json", "someone else's json\n");
    char t1[200], t2[200], err[300];
    FILE *f = rf_open_tmp(dir, t1, sizeof t1);
    fputs("chart\n", f);
    fclose(f);
    f = rf_open_tmp(dir, t2, sizeof t2);
    fputs("json\n", f);
    fclose(f);
    const char *tmps[2] = {t1, t2}, *suffix[2] = {".svg", ".json"};
    CHECK(rf_publish(dir, "matmul-20260101-120000", 2, tmps, suffix, stem, sizeof stem, err,
                     sizeof err) == 0);
    CHECK(strcmp(stem, "matmul-20260101-120000-2") == 0);
    CHECK(strcmp(slurp("matmul-20260101-120000.json"), "someone else's json\n") == 0);
    CHECK(slurp("matmul-20260101-120000.svg") == NULL); /* the half-taken stem was given back */
    CHECK(strcmp(slurp("matmul-20260101-120000-2.json"), "json\n") == 0);

    /* names */
    char bench[64], stamp[16];
    int seq;
    CHECK(rf_report_name("conv2d-20260101-120000.md", bench, sizeof bench, stamp, &seq) == 0 &&
          strcmp(bench, "conv2d") == 0 && strcmp(stamp, "20260101-120000") == 0 && seq == 1);
    CHECK(rf_report_name("train-speed-20260101-120000-12.md", bench, sizeof bench, stamp, &seq) ==
              0 && strcmp(bench, "train-speed") == 0 && seq == 12);
    CHECK(rf_report_name("README.md", bench, sizeof bench, stamp, &seq) != 0);
    CHECK(rf_report_name("-20260101-120000.md", bench, sizeof bench, stamp, &seq) != 0);
    CHECK(rf_report_name("x-20260101-120000.json", bench, sizeof bench, stamp, &seq) != 0);

    /* the index: rebuilt from the folder, whatever the old one said */
    put("README.md", "- [ghost-20250101-000000.md](ghost-20250101-000000.md)\n");
    put("verify-20251231-235959.md", "# Verifier report\n");
    put(".tmp-abcdef", "a report still being written\n");
    CHECK(rf_write_index(dir) == 0);
    const char *idx = slurp("README.md");
    CHECK(strstr(idx, "ghost") == NULL);
    CHECK(strstr(idx, ".tmp-") == NULL);
    const char *a = strstr(idx, "- [conv2d-20260101-120000-2.md]");
    const char *b = strstr(idx, "- [conv2d-20260101-120000.md]");
    const char *c = strstr(idx, "- [verify-20251231-235959.md]");
    CHECK(a && b && c && a < b && b < c); /* newest first, the second of a second before the first */
    CHECK(strstr(idx, "| matmul | [matmul-20260101-120000-2.md]") == NULL); /* no .md: not a report */
    CHECK(strstr(idx, "[svg](matmul") == NULL);
    CHECK(strstr(idx, "| conv2d | [conv2d-20260101-120000-2.md](conv2d-20260101-120000-2.md) | - | - |"));

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    printf("test_report_files: %d failure(s)\n", fails);
    return fails ? 1 : 0;
}
