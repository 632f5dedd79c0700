/* Generated SST-2-shaped data for the training tests (no downloads): sentences whose label is
 * carried by a few cue words among fillers, and a tiny GloVe cache (glove.h's layout) holding
 * the cue words and half the fillers, so the unknown-word rule is exercised too. */
#ifndef MT_TRAIN_SENTENCES_FIXTURE_H
#define MT_TRAIN_SENTENCES_FIXTURE_H

#include "glove.h"
#include "minitorch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENT_DIMS 20

static const char *const POS[] = {"good", "great", "moving", "funny"};
static const char *const NEG[] = {"bad", "dull", "awful", "boring"};
static const char *const FILL[] = {"the", "movie", "film", "is", "a", "story", "of", "and",
                                   "it", "plot", "actors", "with"};

/* A TSV of n sentences: 4 to 10 words, one or two cue words of the label's class. */
static char *make_tsv(int n, mt_rng *rng) {
    size_t cap = (size_t)n * 128 + 32, at = 0;
    char *t = malloc(cap);
    at += (size_t)snprintf(t, cap, "sentence\tlabel\n");
    for (int i = 0; i < n; i++) {
        int label = (int)(mt_rng_next(rng) % 2), len = 4 + (int)(mt_rng_next(rng) % 7);
        int cue1 = (int)(mt_rng_next(rng) % (uint64_t)len);
        int cue2 = mt_rng_next(rng) % 2 ? (int)(mt_rng_next(rng) % (uint64_t)len) : -1;
        for (int k = 0; k < len; k++) {
            const char *w = k == cue1 || k == cue2 ? (label ? POS : NEG)[mt_rng_next(rng) % 4]
                                                   : FILL[mt_rng_next(rng) % 12];
            at += (size_t)snprintf(t + at, cap - at, "%s%s", k ? " " : "", w);
        }
        at += (size_t)snprintf(t + at, cap - at, "\t%d\n", label);
    }
    return t;
}

/* A cache holding the cue words and half the fillers (the rest take the unknown-word rule). */
static uint8_t *make_glove(size_t *len, mt_rng *rng) {
    const char *words[14];
    int n = 0;
    for (int i = 0; i < 4; i++) words[n++] = POS[i], words[n++] = NEG[i];
    for (int i = 0; i < 6; i++) words[n++] = FILL[i];
    size_t wbytes = 0;
    for (int i = 0; i < n; i++) wbytes += 2 + strlen(words[i]);
    wbytes = (wbytes + 3) / 4 * 4;
    *len = 24 + wbytes + (size_t)n * SENT_DIMS * 4;
    uint8_t *b = calloc(1, *len);
    memcpy(b, "MTGLOVE", 8);
    uint32_t hdr[4] = {GLOVE_VERSION, (uint32_t)n, SENT_DIMS, (uint32_t)wbytes};
    memcpy(b + 8, hdr, sizeof hdr); /* little-endian host, as the test's CMake assumes */
    uint8_t *p = b + 24;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(words[i]);
        p[0] = (uint8_t)l;
        memcpy(p + 2, words[i], l);
        p += 2 + l;
    }
    float *v = (float *)(b + 24 + wbytes);
    for (int i = 0; i < n * SENT_DIMS; i++) v[i] = (float)(0.4 * mt_rng_normal(rng));
    return b;
}

#endif
