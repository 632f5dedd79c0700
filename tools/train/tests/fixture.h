/* Test helpers: a fresh temporary folder and files written into it. */
#ifndef MT_TRAIN_FIXTURE_H
#define MT_TRAIN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fixture_dir[64];

/* Makes /tmp/mt-train-test-XXXXXX once; exits 1 when it cannot (no test could run). */
static const char *fixture_tmpdir(void) {
    if (!fixture_dir[0]) {
        snprintf(fixture_dir, sizeof fixture_dir, "/tmp/mt-train-test-XXXXXX");
        if (!mkdtemp(fixture_dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return fixture_dir;
}

/* Writes n bytes to <tmpdir>/name; returns the path (valid for the next 31 calls). */
static const char *fixture_write(const char *name, const void *data, size_t n) {
    static char paths[32][160];
    static int next;
    char *p = paths[next++ % 32];
    snprintf(p, sizeof paths[0], "%s/%s", fixture_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
    return p;
}

/* Removes the folder's files and the folder (names known to the caller). */
static void fixture_cleanup(const char *const *names, int n) {
    char p[200];
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s", fixture_tmpdir(), names[i]);
        remove(p);
    }
    rmdir(fixture_tmpdir());
}

#endif
