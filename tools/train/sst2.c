#include "sst2.h"

#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sst2_free(sst2_set *s) {
    free(s->items);
    free(s->text);
    free((void *)s->token_pool);
    memset(s, 0, sizeof *s);
}

/* Cuts the line starting at *p (ending at \n or the buffer's NUL), drops a trailing \r, and moves
 * *p past it. Returns the line, NUL-terminated in place. */
static char *next_line(char **p, char *end) {
    char *line = *p;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    char *stop = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (stop > line && stop[-1] == '\r') stop--;
    *stop = 0;
    return line;
}

/* The message is formatted before the buffer it may quote is freed. */
#define FAIL(...)                                                                               \
    do {                                                                                        \
        tr_err(err, errlen, __VA_ARGS__);                                                       \
        sst2_free(out);                                                                         \
        return false;                                                                           \
    } while (0)

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

bool sst2_parse(const char *name, char *buf, size_t len, sst2_set *out, char *err,
                size_t errlen) {
    memset(out, 0, sizeof *out);
    out->text = buf;
    char *p = buf, *end = buf + len;
    if (len >= 3 && (uint8_t)buf[0] == 0xEF && (uint8_t)buf[1] == 0xBB && (uint8_t)buf[2] == 0xBF)
        p += 3; /* a UTF-8 byte-order mark some editors add */
    if (p >= end) {
        FAIL("%s: empty file (expected a header row)", name);
    }

    /* header: find which column is which */
    char *header = next_line(&p, end);
    int label_col = -1, text_col = -1, ncols = 0;
    for (char *f = header;; ncols++) {
        char *tab = strchr(f, '\t');
        if (tab) *tab = 0;
        if (strcmp(f, "label") == 0) label_col = ncols;
        else if (!strcmp(f, "sentence") || !strcmp(f, "content") || !strcmp(f, "text"))
            text_col = ncols;
        if (!tab) break;
        f = tab + 1;
    }
    ncols++;
    if (label_col < 0 || text_col < 0) {
        FAIL("%s: the header row needs a \"label\" column and a \"sentence\" (or \"content\") "
             "column, tab-separated",
             name);
    }

    /* one row per line; count lines and tokens first so two allocations suffice */
    size_t lines = 0, tokens_upper = 0;
    for (char *q = p; q < end; q++) {
        lines += *q == '\n';
        tokens_upper += is_space(*q);
    }
    lines++;
    tokens_upper += lines;
    out->items = malloc(lines * sizeof *out->items);
    out->token_pool = malloc(tokens_upper * sizeof *out->token_pool);
    if (!out->items || !out->token_pool) {
        FAIL("%s: out of memory", name);
    }
    size_t used_tokens = 0;
    for (int lineno = 2; p < end; lineno++) {
        char *line = next_line(&p, end);
        if (!*line) continue; /* blank lines (a final newline) */
        char *cols[16];
        int nc = 0;
        for (char *f = line; nc < 16;) {
            cols[nc++] = f;
            char *tab = strchr(f, '\t');
            if (!tab) break;
            *tab = 0;
            f = tab + 1;
        }
        if (nc != ncols) {
            FAIL("%s:%d: %d tab-separated columns, the header has %d", name, lineno, nc, ncols);
        }
        const char *lab = cols[label_col];
        if (!((lab[0] == '0' || lab[0] == '1') && lab[1] == 0)) {
            FAIL("%s:%d: label \"%.20s\" is not 0 or 1", name, lineno, lab);
        }
        sst2_example *ex = &out->items[out->n++];
        ex->label = lab[0] - '0';
        ex->tokens = out->token_pool + used_tokens;
        ex->ntokens = 0;
        for (char *t = cols[text_col]; *t;) {
            while (is_space(*t)) t++;
            if (!*t) break;
            char *s = t;
            while (*t && !is_space(*t)) t++;
            if (*t) *t++ = 0;
            /* GloVe has "(" and ")", the PTB-tokenised SST-2 spells them -lrb- / -rrb- */
            const char *tok = !strcmp(s, "-lrb-") ? "(" : !strcmp(s, "-rrb-") ? ")" : s;
            out->token_pool[used_tokens++] = tok;
            ex->ntokens++;
        }
        if (ex->ntokens > out->max_tokens) out->max_tokens = ex->ntokens;
    }
    if (out->n == 0) {
        FAIL("%s: no rows after the header", name);
    }
    return true;
}

bool sst2_read(const char *path, sst2_set *out, char *err, size_t errlen) {
    uint8_t *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!tr_read_file(path, &buf, &len, err, errlen)) return false;
    if (memchr(buf, 0, len)) {
        free(buf);
        return tr_err(err, errlen, "%s: holds NUL bytes: not a text TSV file", path);
    }
    return sst2_parse(path, (char *)buf, len, out, err, errlen);
}
