/* Frozen word vectors from data/cache/glove100.bin (made once by data/glove_convert.py).
 *
 * Cache layout, integers little-endian:
 *   0   8 bytes  magic "MTGLOVE\0"
 *   8   u32      version (1)
 *   12  u32      word count N
 *   16  u32      dims D
 *   20  u32      bytes W in the word block
 *   24  W bytes  N words, each a u16 length L then L bytes of UTF-8; zero padding to a multiple of 4
 *       N*D float32 vectors, row i for word i
 *
 * Words without a vector (about 8% of SST-2 tokens: "a", "i", "n't", "'s", numbers) get a fixed
 * pseudo-random vector drawn from a hash of the word, uniform in [-0.5, 0.5) per dim (about the
 * spread of real GloVe components). Unlike MiniTorch's one shared random vector for every unknown
 * word, this keeps "n't" apart from "'s" (negation matters to sentiment), needs no state, and gives
 * every run and every machine the same vector for the same word. */
#ifndef MT_TRAIN_GLOVE_H
#define MT_TRAIN_GLOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GLOVE_MAGIC "MTGLOVE"
#define GLOVE_VERSION 1u

typedef struct glove {
    int32_t count, dims;
    const float *vectors; /* (count, dims), inside raw */
    uint8_t *raw;         /* the whole file */
    uint32_t *word_off;   /* count offsets into raw of each word's bytes */
    uint16_t *word_len;
    int32_t *table; /* open addressing: word index or -1; size mask + 1 (a power of two) */
    uint32_t mask;
} glove;

bool glove_load(const char *path, glove *g, char *err, size_t errlen);
/* Parses a cache already in memory (takes ownership of buf on success and failure). */
bool glove_parse(const char *name, uint8_t *buf, size_t len, glove *g, char *err, size_t errlen);
void glove_free(glove *g);

/* The word's row, or -1 when the cache has no vector for it. */
int32_t glove_find(const glove *g, const char *word);
/* Writes the word's dims floats into out: its GloVe vector, else the hashed random vector
 * described above. Returns true when the word was found. */
bool glove_vector(const glove *g, const char *word, float *out);
/* The hashed vector for a word without one (what glove_vector writes for it). */
void glove_oov_vector(const char *word, int dims, float *out);

#endif
