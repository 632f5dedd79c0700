/* The SST-2 TSV reader (tools/train/sst2.c) on any bytes. */
#include "sst2.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1); /* len bytes plus a NUL, owned by the reader */
    memcpy(buf, data, size);
    buf[size] = '\0';
    sst2_set s;
    char err[256];
    if (sst2_parse("fuzz.tsv", buf, size, &s, err, sizeof err)) {
        size_t total = 0;
        for (int i = 0; i < s.n; i++) {
            if (s.items[i].ntokens > s.max_tokens) abort();
            for (int k = 0; k < s.items[i].ntokens; k++) total += strlen(s.items[i].tokens[k]);
        }
        if (total == (size_t)-1) abort();
        sst2_free(&s);
    }
    return 0;
}
