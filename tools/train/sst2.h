/* SST-2 TSV files (GLUE): a header row, then one sentence and a 0/1 label per row.
 *
 * The column order comes from the header: the column named "label" holds the label, the one named
 * "sentence", "content" or "text" the sentence, in either order (GLUE ships `sentence<TAB>label`,
 * the shared copy `label<TAB>sentence`/`label<TAB>content`). CRLF and LF line endings both work.
 * Sentences are split on whitespace into tokens, and the PTB bracket tokens -lrb- / -rrb- become
 * ( and ), as GloVe spells them. */
#ifndef MT_TRAIN_SST2_H
#define MT_TRAIN_SST2_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sst2_example {
    const char **tokens; /* ntokens NUL-terminated strings inside the set's text buffer */
    int ntokens;
    int label; /* 0 negative, 1 positive */
} sst2_example;

typedef struct sst2_set {
    sst2_example *items;
    int n;
    int max_tokens; /* the longest sentence */
    char *text;     /* the file's bytes, tokens NUL-split in place */
    const char **token_pool;
} sst2_set;

bool sst2_read(const char *path, sst2_set *out, char *err, size_t errlen);
/* Parses a TSV already in memory (takes ownership of buf, len bytes plus a NUL, on success and
 * failure); `name` is used in messages. */
bool sst2_parse(const char *name, char *buf, size_t len, sst2_set *out, char *err, size_t errlen);
void sst2_free(sst2_set *s);

#endif
