/* Reading golden files (written by golden/gen.py; the format is in golden/README.md):
 *   "MTGOLD", u16 version, op (u16 length + text), params (u16 length + text), u32 array count,
 *   per array: name (u16 length + text), u32 ndim, ndim x i64 shape, float64 data;
 *   then a u64 FNV-1a checksum of everything before it. All little-endian. */
#include "verify_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_VERSION 1
#define MAX_FILE_BYTES (64 << 20)
#define MAX_ARRAY_ELEMENTS (1 << 24)

typedef struct reader {
    const unsigned char *data;
    size_t size, pos;
    char *err;
    size_t errlen;
    const char *path;
} reader;

static bool need(reader *r, size_t n) {
    if (r->size - r->pos >= n) return true;
    snprintf(r->err, r->errlen, "%s: truncated at byte %zu (needed %zu more)", r->path, r->pos, n);
    return false;
}

static uint64_t le(reader *r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->data[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    return v;
}

static bool text(reader *r, char *dst, size_t cap, const char *what) {
    if (!need(r, 2)) return false;
    size_t n = (size_t)le(r, 2);
    if (n >= cap) {
        snprintf(r->err, r->errlen, "%s: %s is %zu bytes, at most %zu allowed", r->path, what, n,
                 cap - 1);
        return false;
    }
    if (!need(r, n)) return false;
    memcpy(dst, r->data + r->pos, n);
    dst[n] = '\0';
    r->pos += n;
    return true;
}

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static bool parse(reader *r, vf_golden *g) {
    if (!need(r, 8)) return false;
    if (memcmp(r->data, "MTGOLD", 6) != 0) {
        snprintf(r->err, r->errlen, "%s: not a golden file (no MTGOLD magic)", r->path);
        return false;
    }
    r->pos = 6;
    unsigned version = (unsigned)le(r, 2);
    if (version != GOLDEN_VERSION) {
        snprintf(r->err, r->errlen, "%s: format version %u, this verifier reads version %d",
                 r->path, version, GOLDEN_VERSION);
        return false;
    }
    if (!text(r, g->op, sizeof g->op, "the op name") ||
        !text(r, g->params, sizeof g->params, "the params text") || !need(r, 4))
        return false;
    uint64_t narrays = le(r, 4);
    if (narrays > VF_GOLDEN_MAX_ARRAYS) {
        snprintf(r->err, r->errlen, "%s: %llu arrays, at most %d allowed", r->path,
                 (unsigned long long)narrays, VF_GOLDEN_MAX_ARRAYS);
        return false;
    }
    for (uint64_t a = 0; a < narrays; a++) {
        vf_golden_array *arr = &g->arrays[g->narrays];
        if (!text(r, arr->name, sizeof arr->name, "an array name") || !need(r, 4)) return false;
        uint64_t ndim = le(r, 4);
        if (ndim < 1 || ndim > MT_MAX_DIMS) {
            snprintf(r->err, r->errlen, "%s: array %s has %llu dims (1 to %d allowed)", r->path,
                     arr->name, (unsigned long long)ndim, MT_MAX_DIMS);
            return false;
        }
        arr->ndim = (int)ndim;
        if (!need(r, 8 * (size_t)ndim)) return false;
        int64_t n = 1;
        for (int d = 0; d < arr->ndim; d++) {
            arr->shape[d] = (int64_t)le(r, 8);
            if (arr->shape[d] < 1 || arr->shape[d] > MAX_ARRAY_ELEMENTS ||
                (n *= arr->shape[d]) > MAX_ARRAY_ELEMENTS) {
                snprintf(r->err, r->errlen, "%s: array %s has a bad shape", r->path, arr->name);
                return false;
            }
        }
        if (!need(r, 8 * (size_t)n)) return false;
        arr->data = malloc(sizeof(double) * (size_t)n);
        if (!arr->data) {
            snprintf(r->err, r->errlen, "%s: out of memory", r->path);
            return false;
        }
        g->narrays++;
        for (int64_t i = 0; i < n; i++) {
            uint64_t bits = le(r, 8);
            memcpy(&arr->data[i], &bits, sizeof bits);
        }
    }
    size_t body = r->pos;
    if (!need(r, 8)) return false;
    if (le(r, 8) != fnv1a64(r->data, body)) {
        snprintf(r->err, r->errlen, "%s: checksum mismatch (the file is corrupt)", r->path);
        return false;
    }
    if (r->pos != r->size) {
        snprintf(r->err, r->errlen, "%s: %zu stray bytes after the checksum", r->path,
                 r->size - r->pos);
        return false;
    }
    return true;
}

bool vf_golden_read(const char *path, vf_golden *g, char *err, size_t len) {
    memset(g, 0, sizeof *g);
    snprintf(g->path, sizeof g->path, "%s", path);
    const char *slash = strrchr(path, '/');
    snprintf(g->file, sizeof g->file, "%s", slash ? slash + 1 : path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, len, "%s: cannot open", path);
        return false;
    }
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (end < 0 || end > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, len, "%s: %s", path, end < 0 ? "cannot read" : "larger than 64 MiB");
        fclose(f);
        return false;
    }
    size_t size = (size_t)end;
    unsigned char *data = malloc(size ? size : 1);
    bool read_all = data && fread(data, 1, size, f) == size;
    fclose(f);
    if (!read_all) {
        snprintf(err, len, "%s: %s", path, data ? "read error" : "out of memory");
        free(data);
        return false;
    }
    bool ok = vf_golden_parse(data, size, g, err, len);
    free(data);
    return ok;
}

bool vf_golden_parse(const unsigned char *data, size_t size, vf_golden *g, char *err, size_t len) {
    g->narrays = 0;
    reader r = {data, size, 0, err, len, g->path};
    bool ok = parse(&r, g);
    if (!ok) vf_golden_free(g);
    return ok;
}

void vf_golden_free(vf_golden *g) {
    for (int i = 0; i < g->narrays; i++) free(g->arrays[i].data);
    g->narrays = 0;
}

const vf_golden_array *vf_golden_get(const vf_golden *g, const char *name) {
    for (int i = 0; name && i < g->narrays; i++)
        if (strcmp(g->arrays[i].name, name) == 0) return &g->arrays[i];
    return NULL;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool vf_golden_load_dir(const char *dir, vf_golden_set *set, char *err, size_t len) {
    memset(set, 0, sizeof *set);
    DIR *dp = opendir(dir);
    if (!dp) {
        snprintf(err, len, "cannot read the golden directory %s", dir);
        return false;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(dp));) {
        size_t l = strlen(e->d_name);
        if (l < 7 || strcmp(e->d_name + l - 7, ".mtgold") != 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, sizeof(char *) * (size_t)cap);
            ok = grown != NULL;
            if (ok) names = grown;
        }
        if (ok) ok = (names[n] = strdup(e->d_name)) != NULL;
        if (ok) n++;
    }
    closedir(dp);
    if (ok && n > 0) qsort(names, (size_t)n, sizeof(char *), by_name);
    if (ok && n > 0) {
        set->cases = calloc((size_t)n, sizeof *set->cases);
        set->bad = calloc((size_t)n, sizeof *set->bad);
        ok = set->cases && set->bad;
    }
    for (int i = 0; ok && i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (vf_golden_read(path, &set->cases[set->count], set->bad[set->nbad], VF_MSG))
            set->count++;
        else
            set->nbad++;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!ok) {
        vf_golden_set_free(set);
        snprintf(err, len, "out of memory listing %s", dir);
    }
    return ok;
}

void vf_golden_set_free(vf_golden_set *set) {
    for (int i = 0; i < set->count; i++) vf_golden_free(&set->cases[i]);
    free(set->cases);
    free(set->bad);
    memset(set, 0, sizeof *set);
}
