#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifdef TR_HAVE_ZLIB
#include <zlib.h>
#endif

bool tr_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool tr_have_zlib(void) {
#ifdef TR_HAVE_ZLIB
    return true;
#else
    return false;
#endif
}

bool tr_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool tr_path(char *out, size_t n, const char *dir, const char *name) {
    int w = snprintf(out, n, "%s/%s", dir, name);
    return w >= 0 && (size_t)w < n;
}

void *tr_buf_get(tr_buf *b, size_t bytes) {
    if (bytes > b->cap) {
        void *bigger = realloc(b->p, bytes);
        if (!bigger) return NULL;
        b->p = bigger;
        b->cap = bytes;
    }
    return b->p;
}

void tr_buf_free(tr_buf *b) {
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

double tr_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool read_plain(FILE *f, const char *path, uint8_t **data, size_t *len, char *err,
                       size_t errlen) {
    if (fseek(f, 0, SEEK_END) != 0) return tr_err(err, errlen, "%s: cannot seek", path);
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        return tr_err(err, errlen, "%s: cannot tell its size", path);
    uint8_t *buf = malloc((size_t)size + 1);
    if (!buf) return tr_err(err, errlen, "%s: out of memory for %ld bytes", path, size);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        return tr_err(err, errlen, "%s: read error", path);
    }
    buf[size] = 0;
    *data = buf;
    *len = (size_t)size;
    return true;
}

#ifdef TR_HAVE_ZLIB
static bool read_gzip(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen) {
    gzFile gz = gzopen(path, "rb");
    if (!gz) return tr_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap + 1);
    bool ok = buf != NULL;
    while (ok) {
        if (n == cap) {
            uint8_t *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                ok = tr_err(err, errlen, "%s: out of memory inflating it", path);
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        unsigned want = (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n);
        int got = gzread(gz, buf + n, want);
        if (got < 0) {
            int code;
            const char *msg = gzerror(gz, &code);
            ok = tr_err(err, errlen, "%s: corrupt or truncated gzip data (%s)", path, msg);
            break;
        }
        if (got == 0) {
            /* gzread returns 0 both at a clean end and on a stream cut short; only gzerror's
             * Z_BUF_ERROR tells the second apart */
            int code;
            const char *msg = gzerror(gz, &code);
            if (code != Z_OK) ok = tr_err(err, errlen, "%s: truncated gzip data (%s)", path, msg);
            break;
        }
        n += (size_t)got;
    }
    gzclose(gz);
    if (!ok) {
        free(buf);
        return false;
    }
    if (!buf) return tr_err(err, errlen, "%s: out of memory", path);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return true;
}
#endif

bool tr_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tr_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[2] = {0, 0};
    size_t m = fread(magic, 1, 2, f);
    bool gz = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gz) {
        bool ok = read_plain(f, path, data, len, err, errlen);
        fclose(f);
        return ok;
    }
    fclose(f);
#ifdef TR_HAVE_ZLIB
    return read_gzip(path, data, len, err, errlen);
#else
    return tr_err(err, errlen,
                  "%s: is gzipped and this build has no zlib (apt-get install zlib1g-dev, then "
                  "rebuild: bash scripts/build.sh)",
                  path);
#endif
}

mt_status tr_backward_step(mt_ctx *scratch, mt_tensor *l, mt_optim *opt, const tr_shard *sh,
                           float *loss, int *correct) {
    if (!l) return mt_last_status() != MT_OK ? mt_last_status() : MT_ERR_STATE;
    mt_status s;
    if ((s = mt_item(l, loss)) != MT_OK) return s;
    if ((s = mt_backward(scratch, l, NULL)) != MT_OK) return s;
    tr_dist *d = sh ? sh->dist : NULL;
    if (d) {
        /* this shard's share of the global mean: its mean loss times count / B, so the ranks'
         * summed gradients are the whole batch's mean-loss gradient; the loss and the count of
         * correct predictions ride in the same buffer (one collective per step) */
        float share = sh->empty ? 0.0f : (float)sh->count / (float)sh->global;
        float extra[2] = {*loss * share, (float)*correct};
        if (!tr_dist_sum_grads(d, opt->params, share, sh->empty, extra, 2)) return MT_ERR_IO;
        *loss = extra[0];
        *correct = (int)extra[1];
    }
    if ((s = mt_optim_step(opt, scratch)) != MT_OK) return s;
    if (d && !tr_dist_after_step(d, opt->params)) return MT_ERR_IO;
    return MT_OK;
}
