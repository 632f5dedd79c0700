#include "glove.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 24

void glove_free(glove *g) {
    free(g->raw);
    free(g->word_off);
    free(g->word_len);
    free(g->table);
    memset(g, 0, sizeof *g);
}

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* FNV-1a, 64-bit: cheap, and good enough to spread words over the table and seed OOV vectors */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

bool glove_parse(const char *name, uint8_t *buf, size_t len, glove *g, char *err,
                 size_t errlen) {
    memset(g, 0, sizeof *g);
    g->raw = buf;
    if (len < HEADER_BYTES || memcmp(buf, GLOVE_MAGIC "\0", 8) != 0) {
        glove_free(g);
        return tr_err(err, errlen,
                      "%s: not a GloVe cache (bad magic or shorter than its %d-byte header); "
                      "delete it and run data/fetch.sh glove",
                      name, HEADER_BYTES);
    }
    uint32_t version = rd_u32(buf + 8), count = rd_u32(buf + 12), dims = rd_u32(buf + 16),
             wbytes = rd_u32(buf + 20);
    if (version != GLOVE_VERSION) {
        glove_free(g);
        return tr_err(err, errlen,
                      "%s: cache version %u, this build reads version %u; delete it and run "
                      "data/fetch.sh glove",
                      name, version, GLOVE_VERSION);
    }
    if (count == 0 || count > INT32_MAX / 2 || dims == 0 || dims > 4096 || wbytes % 4 != 0) {
        glove_free(g);
        return tr_err(err, errlen, "%s: corrupt header (%u words, %u dims, %u word bytes)", name,
                      count, dims, wbytes);
    }
    uint64_t want = (uint64_t)HEADER_BYTES + wbytes + (uint64_t)count * dims * sizeof(float);
    if ((uint64_t)len != want) {
        glove_free(g);
        return tr_err(err, errlen, "%s: %s: the header needs %llu bytes, the file has %zu", name,
                      (uint64_t)len < want ? "truncated" : "trailing bytes",
                      (unsigned long long)want, len);
    }
    g->count = (int32_t)count;
    g->dims = (int32_t)dims;
    g->vectors = (const float *)(buf + HEADER_BYTES + wbytes); /* 4-byte aligned: wbytes % 4 == 0 */
    if (!host_is_little_endian()) {
        uint8_t *v = buf + HEADER_BYTES + wbytes;
        for (uint64_t i = 0; i < (uint64_t)count * dims; i++, v += 4) {
            uint8_t t0 = v[0], t1 = v[1];
            v[0] = v[3], v[1] = v[2], v[2] = t1, v[3] = t0;
        }
    }

    uint32_t cap = 1;
    while (cap < 2 * count) cap <<= 1; /* load factor <= 1/2 keeps probes short */
    g->mask = cap - 1;
    g->word_off = malloc(count * sizeof *g->word_off);
    g->word_len = malloc(count * sizeof *g->word_len);
    g->table = malloc(cap * sizeof *g->table);
    if (!g->word_off || !g->word_len || !g->table) {
        glove_free(g);
        return tr_err(err, errlen, "%s: out of memory for %u words", name, count);
    }
    memset(g->table, 0xff, cap * sizeof *g->table); /* every slot -1 */
    const uint8_t *p = buf + HEADER_BYTES, *wend = p + wbytes;
    for (uint32_t i = 0; i < count; i++) {
        if (wend - p < 2) {
            glove_free(g);
            return tr_err(err, errlen, "%s: word block ends before word %u of %u", name, i, count);
        }
        uint16_t n = (uint16_t)(p[0] | p[1] << 8);
        p += 2;
        if (n == 0 || wend - p < n) {
            glove_free(g);
            return tr_err(err, errlen, "%s: word %u has a bad length %u", name, i, n);
        }
        g->word_off[i] = (uint32_t)(p - buf);
        g->word_len[i] = n;
        const char *w = (const char *)p;
        uint32_t slot = (uint32_t)hash_bytes(w, n) & g->mask;
        for (;; slot = (slot + 1) & g->mask) {
            int32_t e = g->table[slot];
            if (e < 0) {
                g->table[slot] = (int32_t)i;
                break;
            }
            /* a repeated word keeps its first (more frequent) row */
            if (g->word_len[e] == n && !memcmp(buf + g->word_off[e], w, n)) break;
        }
        p += n;
    }
    for (; p < wend; p++) {
        if (*p) {
            glove_free(g);
            return tr_err(err, errlen, "%s: non-zero bytes after the last word", name);
        }
    }
    return true;
}

bool glove_load(const char *path, glove *g, char *err, size_t errlen) {
    uint8_t *buf;
    size_t len;
    memset(g, 0, sizeof *g);
    if (!tr_read_file(path, &buf, &len, err, errlen)) return false;
    return glove_parse(path, buf, len, g, err, errlen);
}

int32_t glove_find(const glove *g, const char *word) {
    size_t n = strlen(word);
    if (!g->table || n == 0 || n > UINT16_MAX) return -1;
    for (uint32_t slot = (uint32_t)hash_bytes(word, n) & g->mask;; slot = (slot + 1) & g->mask) {
        int32_t e = g->table[slot];
        if (e < 0) return -1;
        if (g->word_len[e] == n && !memcmp(g->raw + g->word_off[e], word, n)) return e;
    }
}

void glove_oov_vector(const char *word, int dims, float *out) {
    /* splitmix64 stream seeded by the word's hash: each word its own fixed vector */
    uint64_t s = hash_bytes(word, strlen(word));
    for (int d = 0; d < dims; d++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        out[d] = (float)((double)(z >> 40) / (double)(1u << 24) - 0.5); /* 24 bits: exact */
    }
}

bool glove_vector(const glove *g, const char *word, float *out) {
    int32_t row = glove_find(g, word);
    if (row >= 0) {
        memcpy(out, g->vectors + (size_t)row * g->dims, (size_t)g->dims * sizeof(float));
        return true;
    }
    glove_oov_vector(word, g->dims, out);
    return false;
}
