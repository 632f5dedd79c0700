/* The word-vector cache reader (tools/train/glove.c) on any bytes, then lookups of a few words
 * and of every word the cache lists, as the SST-2 trainer makes them. (The converter that writes
 * the cache, data/glove_convert.py, is Python: no C parser there to fuzz.) */
#include "glove.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* owned by the reader */
    memcpy(buf, data, size);
    glove g;
    char err[256];
    if (!glove_parse("fuzz.glove", buf, size, &g, err, sizeof err)) return 0;
    float *v = malloc(sizeof(float) * (size_t)(g.dims > 0 ? g.dims : 1));
    static const char *const words[] = {"the", "", "a", "movie", "\xff"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) glove_vector(&g, words[k], v);
    char word[70000];
    for (int32_t i = 0; i < g.count && i < 64; i++) { /* each listed word finds its own row */
        memcpy(word, g.raw + g.word_off[i], g.word_len[i]);
        word[g.word_len[i]] = '\0';
        if (strlen(word) == g.word_len[i] && glove_find(&g, word) < 0) abort();
    }
    free(v);
    glove_free(&g);
    return 0;
}
