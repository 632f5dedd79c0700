/* The GloVe cache reader on tiny caches this test writes in the documented layout (glove.h):
 * lookups by hash table, the hashed vectors for unknown words (fixed, distinct, in range), and
 * the faults it must name: bad magic, another version, truncation, a corrupt word block. */
#include "check.h"
#include "fixture.h"
#include "glove.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define DIMS 3

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* Builds a cache of `n` words; word i's vector is (i, i + 0.5, -i). Returns the length. */
static size_t make_cache(uint8_t *out, const char *const *words, int n, uint32_t version) {
    memcpy(out, "MTGLOVE", 8);
    uint8_t *w = out + 24;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(words[i]);
        w[0] = (uint8_t)l, w[1] = (uint8_t)(l >> 8);
        memcpy(w + 2, words[i], l);
        w += 2 + l;
    }
    while ((w - (out + 24)) % 4) *w++ = 0;
    uint32_t wbytes = (uint32_t)(w - (out + 24));
    put_u32(out + 8, version);
    put_u32(out + 12, (uint32_t)n);
    put_u32(out + 16, DIMS);
    put_u32(out + 20, wbytes);
    for (int i = 0; i < n; i++) {
        float v[DIMS] = {(float)i, (float)i + 0.5f, -(float)i};
        memcpy(w, v, sizeof v); /* the test runs on little-endian hosts, as the cache is */
        w += sizeof v;
    }
    return (size_t)(w - out);
}

static void expect_fail(const char *name, const uint8_t *data, size_t n, const char *needle) {
    glove g;
    char err[TR_ERR_LEN] = "";
    bool ok = glove_load(fixture_write(name, data, n), &g, err, sizeof err);
    CHECK(!ok, "%s: must fail", name);
    CHECK(strstr(err, needle) && strstr(err, name), "%s: \"%s\" names the file and \"%s\"", name,
          err, needle);
    if (ok) glove_free(&g);
}

int main(void) {
    const char *const words[] = {"the", ",", "movie", "(", "café", "good", "bad"};
    const int n = 7;
    uint8_t buf[512];
    size_t len = make_cache(buf, words, n, GLOVE_VERSION);
    glove g;
    char err[TR_ERR_LEN] = "";
    CHECK(glove_load(fixture_write("g.bin", buf, len), &g, err, sizeof err), "loads: %s", err);
    CHECK(g.count == n && g.dims == DIMS, "7 words x 3 dims, got %d x %d", g.count, g.dims);
    for (int i = 0; i < n; i++)
        CHECK(glove_find(&g, words[i]) == i, "\"%s\" is row %d, got %d", words[i], i,
              glove_find(&g, words[i]));
    CHECK(glove_find(&g, "movies") == -1 && glove_find(&g, "Movie") == -1 &&
              glove_find(&g, "") == -1 && glove_find(&g, "th") == -1,
          "near misses are not found");
    float v[DIMS], u1[DIMS], u2[DIMS], u3[DIMS];
    CHECK(glove_vector(&g, "movie", v) && v[0] == 2.0f && v[1] == 2.5f && v[2] == -2.0f,
          "movie's vector is (2, 2.5, -2)");
    CHECK(!glove_vector(&g, "n't", u1), "n't is unknown");
    glove_vector(&g, "n't", u2);
    glove_vector(&g, "'s", u3);
    CHECK(memcmp(u1, u2, sizeof u1) == 0, "an unknown word gets the same vector every time");
    CHECK(memcmp(u1, u3, sizeof u1) != 0, "two unknown words get different vectors");
    int in_range = 0;
    for (int k = 0; k < DIMS; k++) in_range += u1[k] >= -0.5f && u1[k] < 0.5f && u3[k] >= -0.5f;
    CHECK(in_range == DIMS, "unknown vectors lie in [-0.5, 0.5)");
    /* the rule's spread over many words: mean near 0, variance near 1/12 */
    double sum = 0, sq = 0;
    float big[64];
    char word[16];
    for (int w = 0; w < 200; w++) {
        snprintf(word, sizeof word, "w%d", w);
        glove_oov_vector(word, 64, big);
        for (int k = 0; k < 64; k++) sum += big[k], sq += (double)big[k] * big[k];
    }
    double mean = sum / 12800, var = sq / 12800 - mean * mean;
    CHECK(fabs(mean) < 0.01 && fabs(var - 1.0 / 12) < 0.005, "oov mean %g, variance %g", mean,
          var);
    glove_free(&g);

    expect_fail("magic.bin", (const uint8_t *)"MTGLOVX\0\1\0\0\0\1\0\0\0\3\0\0\0\4\0\0\0", 24,
                "bad magic");
    uint8_t other[512];
    size_t olen = make_cache(other, words, n, 2);
    expect_fail("version.bin", other, olen, "version 2");
    expect_fail("trunc.bin", buf, len - 4, "truncated");
    uint8_t more[520];
    memcpy(more, buf, len);
    memset(more + len, 0, 4);
    expect_fail("trail.bin", more, len + 4, "trailing bytes");
    /* word 0 claims 200 bytes: past the word block */
    memcpy(more, buf, len);
    more[24] = 200;
    expect_fail("words.bin", more, len, "word 0 has a bad length 200");
    const char *files[] = {"g.bin", "magic.bin", "version.bin", "trunc.bin", "trail.bin",
                           "words.bin"};
    fixture_cleanup(files, 6);
    return check_summary("test_train_glove");
}
