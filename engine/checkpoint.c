/* Checkpoints: parameters, optimizer state, generators and small integer arrays in one versioned,
 * checksummed little-endian file (layout in the header, next to mt_checkpoint_save).
 *
 * Saving builds the whole file in memory, then writes it to a temporary file in the target's
 * folder, fsyncs it and renames it over the target: rename within one file system is atomic, so a
 * crash leaves either the old checkpoint or the new one, never half of one. The folder is fsync'd
 * too, or the rename itself may not survive a power cut.
 *
 * Loading reads and checks the whole file (length, magic, version, checksum) before it parses, so
 * a truncated or corrupt file is one clear MT_ERR_IO; then it checks everything the caller passed
 * against the file, and only when all of it fits does it write a single value. A failed load
 * leaves the model, optimizer and generators as they were.
 *
 * Tensors go through mt_to_host / mt_copy_from_host only, so any backend (device memory included)
 * and any layout works. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PNG trick: a transfer that rewrites line endings or stops at ^Z breaks the magic. */
static const unsigned char MAGIC[8] = {'M', 'T', 'C', 'K', 'P', 'T', 0x1a, '\n'};
#define HEADER_BYTES 20 /* magic, u32 version, u64 file length */
#define MAX_NAME 255
/* Optimizer state flags per parameter. */
#define HAS_STATE1 1u
#define HAS_STATE2 2u

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* ------------------------------------------------------------------ writing */
typedef struct writer {
    unsigned char *data;
    size_t len, cap;
    bool oom;
} writer;

static unsigned char *w_grow(writer *w, size_t n) {
    if (w->oom) return NULL;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n) cap *= 2;
        unsigned char *d = realloc(w->data, cap);
        if (!d) {
            w->oom = true;
            return NULL;
        }
        w->data = d;
        w->cap = cap;
    }
    unsigned char *p = w->data + w->len;
    w->len += n;
    return p;
}

/* Explicit byte order, so the file is the same on a big-endian host. */
static void w_le(writer *w, uint64_t v, int bytes) {
    unsigned char *p = w_grow(w, (size_t)bytes);
    if (p)
        for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void w_f32(writer *w, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    w_le(w, bits, 4);
}
static void w_name(writer *w, const char *s) {
    size_t n = strlen(s);
    w_le(w, n, 2);
    unsigned char *p = w_grow(w, n);
    if (p) memcpy(p, s, n);
}

static mt_status w_tensor_values(writer *w, const mt_tensor *t, float *host) {
    MT_TRY(mt_to_host(t, host));
    int64_t n = mt_numel(t);
    for (int64_t i = 0; i < n; i++) w_f32(w, host[i]);
    return MT_OK;
}

static mt_status check_name(const char *fn, const char *what, int i, const char *name) {
    if (!name) return mt_fail(MT_ERR_ARG, "%s: %s %d has no name", fn, what, i);
    if (strlen(name) > MAX_NAME)
        return mt_fail(MT_ERR_ARG, "%s: %s name \"%.40s...\" is longer than %d bytes", fn, what,
                       name, MAX_NAME);
    return MT_OK;
}

static mt_status encode(writer *w, const mt_checkpoint *c) {
    const char *fn = "mt_checkpoint_save";
    const mt_params *ps = c->params;
    int64_t most = 1;
    for (int i = 0; i < ps->count; i++) {
        if (!ps->items[i]) return mt_fail(MT_ERR_ARG, "%s: parameter %d is NULL", fn, i);
        MT_TRY(check_name(fn, "parameter", i, ps->names[i]));
        if (mt_numel(ps->items[i]) > most) most = mt_numel(ps->items[i]);
    }
    for (int i = 0; i < c->nrngs; i++) {
        MT_TRY(check_name(fn, "generator", i, c->rngs[i].name));
        if (!c->rngs[i].rng) return mt_fail(MT_ERR_ARG, "%s: generator %d is NULL", fn, i);
    }
    for (int i = 0; i < c->nints; i++) {
        MT_TRY(check_name(fn, "integer array", i, c->ints[i].name));
        if (c->ints[i].count < 0 || (c->ints[i].count > 0 && !c->ints[i].values))
            return mt_fail(MT_ERR_ARG, "%s: integer array %s has no values", fn, c->ints[i].name);
    }
    float *host = malloc(sizeof(float) * (size_t)most);
    if (!host) return mt_fail(MT_ERR_OOM, "%s: out of memory", fn);

    unsigned char *magic = w_grow(w, sizeof MAGIC);
    if (magic) memcpy(magic, MAGIC, sizeof MAGIC);
    w_le(w, MT_CHECKPOINT_VERSION, 4);
    w_le(w, 0, 8); /* the file length, patched below */

    w_le(w, (uint64_t)c->nints, 4);
    for (int i = 0; i < c->nints; i++) {
        w_name(w, c->ints[i].name);
        w_le(w, (uint64_t)c->ints[i].count, 8);
        for (int64_t k = 0; k < c->ints[i].count; k++) w_le(w, (uint64_t)c->ints[i].values[k], 8);
    }
    w_le(w, (uint64_t)c->nrngs, 4);
    for (int i = 0; i < c->nrngs; i++) {
        w_name(w, c->rngs[i].name);
        for (int k = 0; k < 4; k++) w_le(w, c->rngs[i].rng->s[k], 8);
    }
    mt_status st = MT_OK;
    w_le(w, (uint64_t)ps->count, 4);
    for (int i = 0; i < ps->count && st == MT_OK; i++) {
        const mt_tensor *p = ps->items[i];
        w_name(w, ps->names[i]);
        w_le(w, (uint64_t)p->ndim, 4);
        for (int d = 0; d < p->ndim; d++) w_le(w, (uint64_t)p->shape[d], 8);
        st = w_tensor_values(w, p, host);
    }
    const mt_optim *o = c->optim;
    w_le(w, o ? 1 : 0, 1);
    if (o && st == MT_OK) {
        w_le(w, (uint64_t)o->kind, 4);
        const float hyper[6] = {o->lr, o->momentum, o->weight_decay, o->beta1, o->beta2, o->eps};
        for (int k = 0; k < 6; k++) w_f32(w, hyper[k]);
        w_le(w, (uint64_t)o->steps, 8);
        /* one entry per parameter: the state arrays may be shorter than the list (parameters
         * appended since the last step have none yet) */
        for (int i = 0; i < ps->count && st == MT_OK; i++) {
            mt_tensor *s1 = i < o->nstate ? o->state1[i] : NULL;
            mt_tensor *s2 = i < o->nstate ? o->state2[i] : NULL;
            w_le(w, (s1 ? HAS_STATE1 : 0) | (s2 ? HAS_STATE2 : 0), 1);
            if (s1) st = w_tensor_values(w, s1, host);
            if (s2 && st == MT_OK) st = w_tensor_values(w, s2, host);
        }
    }
    free(host);
    if (st != MT_OK) return st;
    if (w->oom) return mt_fail(MT_ERR_OOM, "%s: out of memory", fn);
    uint64_t total = (uint64_t)w->len + 8;
    for (int i = 0; i < 8; i++) w->data[12 + i] = (unsigned char)(total >> (8 * i));
    w_le(w, fnv1a64(w->data, w->len), 8);
    return w->oom ? mt_fail(MT_ERR_OOM, "%s: out of memory", fn) : MT_OK;
}

/* The folder part of path ("." when it has none), for the temporary file and the folder fsync. */
static void dir_of(const char *path, char *dir, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, n, ".");
    else if (slash == path) snprintf(dir, n, "/");
    else snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

static mt_status write_atomically(const char *path, const unsigned char *data, size_t len) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return mt_fail(MT_ERR_OOM, "mt_checkpoint_save: out of memory");
    /* same folder as the target: rename() is only atomic within one file system */
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return mt_fail(MT_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                       strerror(e));
    }
    /* mkstemp makes 0600; a checkpoint is as readable as any other output */
    (void)fchmod(fd, 0644);
    const char *failed = NULL;
    int e = 0;
    for (size_t done = 0; done < len && !failed;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) failed = "write", e = n < 0 ? errno : EIO;
        else done += (size_t)n;
    }
    if (!failed && fsync(fd) != 0) failed = "fsync", e = errno;
    if (close(fd) != 0 && !failed) failed = "close", e = errno;
    if (!failed && rename(tmp, path) != 0) failed = "rename", e = errno;
    if (failed) {
        unlink(tmp);
        free(tmp);
        return mt_fail(MT_ERR_IO, "%s: %s failed: %s (the previous checkpoint, if any, is "
                       "untouched)", path, failed, strerror(e));
    }
    free(tmp);
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        /* some file systems refuse fsync on a folder; the data itself is already synced */
        (void)fsync(dfd);
        close(dfd);
    }
    return MT_OK;
}

mt_status mt_checkpoint_save(const char *path, const mt_checkpoint *c) {
    if (!path || !c || !c->params)
        return mt_fail(MT_ERR_ARG, "mt_checkpoint_save: NULL path, checkpoint or parameters");
    if ((c->nrngs > 0 && !c->rngs) || (c->nints > 0 && !c->ints) || c->nrngs < 0 || c->nints < 0)
        return mt_fail(MT_ERR_ARG, "mt_checkpoint_save: generator or integer lists don't match "
                                   "their counts");
    writer w = {0};
    mt_status st = encode(&w, c);
    if (st == MT_OK) st = write_atomically(path, w.data, w.len);
    free(w.data);
    return st;
}

/* ------------------------------------------------------------------ reading */
typedef struct reader {
    const unsigned char *data;
    size_t size, pos;
    const char *path;
} reader;

/* Only reached when the lengths inside the file disagree with each other (the checksum passed):
 * a file written by another program, or a bug. */
static mt_status r_need(reader *r, size_t n) {
    if (r->size - r->pos >= n) return MT_OK;
    return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: a field at byte %zu runs past the end",
                   r->path, r->pos);
}
static uint64_t r_le(reader *r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->data[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    return v;
}
static mt_status r_name(reader *r, char *dst) {
    MT_TRY(r_need(r, 2));
    size_t n = (size_t)r_le(r, 2);
    if (n > MAX_NAME)
        return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: a %zu-byte name at byte %zu",
                       r->path, n, r->pos - 2);
    MT_TRY(r_need(r, n));
    memcpy(dst, r->data + r->pos, n);
    dst[n] = '\0';
    r->pos += n;
    return MT_OK;
}
/* Skips count float32 values and returns where they start. */
static mt_status r_floats(reader *r, int64_t count, size_t *at) {
    if (count < 0 || (uint64_t)count > (r->size - r->pos) / 4)
        return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: %lld values at byte %zu run past "
                       "the end", r->path, (long long)count, r->pos);
    *at = r->pos;
    r->pos += (size_t)count * 4;
    return MT_OK;
}
static void decode_floats(const unsigned char *p, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                        (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        memcpy(&out[i], &bits, sizeof bits);
    }
}

static mt_status read_whole(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return mt_fail(MT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return mt_fail(MT_ERR_IO, "%s: cannot read (not a regular file?)", path);
    }
    *size = (size_t)end;
    *data = malloc(*size ? *size : 1);
    if (!*data) {
        fclose(f);
        return mt_fail(MT_ERR_OOM, "%s: out of memory reading it", path);
    }
    bool ok = fread(*data, 1, *size, f) == *size;
    fclose(f);
    if (!ok) {
        free(*data);
        *data = NULL;
        return mt_fail(MT_ERR_IO, "%s: read error", path);
    }
    return MT_OK;
}

/* The frame: magic, version, the length the header promises, the checksum. */
static mt_status check_frame(reader *r) {
    const char *path = r->path;
    if (r->size < sizeof MAGIC || memcmp(r->data, MAGIC, sizeof MAGIC) != 0)
        return mt_fail(MT_ERR_IO, "%s: not a MiniTorch checkpoint (bad magic)", path);
    if (r->size < HEADER_BYTES + 8)
        return mt_fail(MT_ERR_IO, "%s: truncated: %zu bytes, not even a header", path, r->size);
    r->pos = sizeof MAGIC;
    uint32_t version = (uint32_t)r_le(r, 4);
    if (version != MT_CHECKPOINT_VERSION)
        return mt_fail(MT_ERR_IO, "%s: checkpoint format version %u, this build reads version %d",
                       path, version, MT_CHECKPOINT_VERSION);
    uint64_t want = r_le(r, 8);
    if (want != r->size)
        return mt_fail(MT_ERR_IO, "%s: %s: %zu bytes, the header says %llu", path,
                       r->size < want ? "truncated" : "trailing bytes", r->size,
                       (unsigned long long)want);
    reader tail = {r->data, r->size, r->size - 8, path};
    if (r_le(&tail, 8) != fnv1a64(r->data, r->size - 8))
        return mt_fail(MT_ERR_IO, "%s: checksum mismatch (the file is corrupt)", path);
    r->size -= 8; /* the body ends at the checksum */
    return MT_OK;
}

static const char *optim_kind_name(uint64_t k) {
    return k == MT_OPTIM_SGD ? "sgd" : k == MT_OPTIM_ADAM ? "adam" : "unknown";
}

/* Where each piece of the file starts, found by one parse that checks everything before the
 * apply step writes anything. */
typedef struct plan {
    size_t *ints_at;   /* per caller's integer array */
    size_t *rngs_at;   /* per caller's generator */
    size_t *params_at; /* per parameter */
    size_t *s1_at, *s2_at; /* per parameter: 0 when the file has no state */
    bool has_optim;
    int64_t steps;
} plan;

static mt_status parse_and_match(reader *r, const mt_checkpoint *c, plan *pl) {
    const char *path = r->path;
    char name[MAX_NAME + 1];
    /* A mismatch in the integer arrays or generators is kept until the parameters are checked:
     * another model's file should say so, not that its data order is a different length. */
    mt_status later = MT_OK;
    char later_msg[512] = "";
#define DEFER(call)                                                                  \
    do {                                                                             \
        if (later == MT_OK) {                                                        \
            later = (call);                                                          \
            snprintf(later_msg, sizeof later_msg, "%s", mt_last_error());            \
        }                                                                            \
    } while (0)
    /* integer arrays */
    MT_TRY(r_need(r, 4));
    uint32_t nints = (uint32_t)r_le(r, 4);
    if (c->nints > 0 && nints != (uint32_t)c->nints)
        DEFER(mt_fail(MT_ERR_SHAPE, "%s: %u integer arrays in the file, %d expected", path,
                      nints, c->nints));
    for (uint32_t i = 0; i < nints; i++) {
        MT_TRY(r_name(r, name));
        MT_TRY(r_need(r, 8));
        uint64_t count = r_le(r, 8);
        if (count > (r->size - r->pos) / 8)
            return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: integer array %s runs past the "
                           "end", path, name);
        if (c->nints > 0 && i < (uint32_t)c->nints) {
            const mt_ckpt_ints *want = &c->ints[i];
            if (strcmp(name, want->name) != 0)
                DEFER(mt_fail(MT_ERR_SHAPE, "%s: integer array %u is \"%s\" in the file, \"%s\" "
                              "expected", path, i, name, want->name));
            else if (count != (uint64_t)want->count)
                DEFER(mt_fail(MT_ERR_SHAPE, "%s: integer array %s holds %llu values in the file, "
                              "%lld expected", path, name, (unsigned long long)count,
                              (long long)want->count));
            pl->ints_at[i] = r->pos;
        }
        r->pos += (size_t)count * 8;
    }
    /* generators */
    MT_TRY(r_need(r, 4));
    uint32_t nrngs = (uint32_t)r_le(r, 4);
    if (c->nrngs > 0 && nrngs != (uint32_t)c->nrngs)
        DEFER(mt_fail(MT_ERR_SHAPE, "%s: %u generators in the file, %d expected", path, nrngs,
                      c->nrngs));
    for (uint32_t i = 0; i < nrngs; i++) {
        MT_TRY(r_name(r, name));
        MT_TRY(r_need(r, 32));
        if (c->nrngs > 0 && i < (uint32_t)c->nrngs) {
            if (strcmp(name, c->rngs[i].name) != 0)
                DEFER(mt_fail(MT_ERR_SHAPE, "%s: generator %u is \"%s\" in the file, \"%s\" "
                              "expected", path, i, name, c->rngs[i].name));
            pl->rngs_at[i] = r->pos;
        }
        r->pos += 32;
    }
    /* parameters: always matched, name by name and shape by shape */
    const mt_params *ps = c->params;
    MT_TRY(r_need(r, 4));
    uint32_t nparams = (uint32_t)r_le(r, 4);
    if (nparams != (uint32_t)ps->count)
        return mt_fail(MT_ERR_SHAPE, "%s: %u parameters in the file, the model has %d", path,
                       nparams, ps->count);
    char got[MT_SHAPE_STR_LEN], want[MT_SHAPE_STR_LEN];
    for (int i = 0; i < ps->count; i++) {
        const mt_tensor *p = ps->items[i];
        MT_TRY(r_name(r, name));
        if (strcmp(name, ps->names[i]) != 0)
            return mt_fail(MT_ERR_SHAPE, "%s: parameter %d is \"%s\" in the file, \"%s\" in the "
                           "model", path, i, name, ps->names[i]);
        MT_TRY(r_need(r, 4));
        uint32_t ndim = (uint32_t)r_le(r, 4);
        if (ndim < 1 || ndim > MT_MAX_DIMS)
            return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: parameter %s has %u dims", path,
                           name, ndim);
        MT_TRY(r_need(r, 8 * (size_t)ndim));
        int64_t shape[MT_MAX_DIMS];
        bool same = (int)ndim == p->ndim;
        for (uint32_t d = 0; d < ndim; d++) {
            shape[d] = (int64_t)r_le(r, 8);
            same = same && shape[d] == p->shape[d];
        }
        if (!same)
            return mt_fail(MT_ERR_SHAPE, "%s: parameter %s has shape %s in the file, %s in the "
                           "model", path, name, mt_shape_str((int)ndim, shape, got, sizeof got),
                           mt_shape_str(p->ndim, p->shape, want, sizeof want));
        MT_TRY(r_floats(r, mt_numel(p), &pl->params_at[i]));
    }
    /* optimizer */
    MT_TRY(r_need(r, 1));
    pl->has_optim = r_le(r, 1) != 0;
    const mt_optim *o = c->optim;
    if (o && !pl->has_optim)
        return mt_fail(MT_ERR_SHAPE, "%s: the file holds no optimizer state", path);
    if (pl->has_optim) {
        MT_TRY(r_need(r, 4 + 6 * 4 + 8));
        uint64_t kind = r_le(r, 4);
        float hyper[6];
        decode_floats(r->data + r->pos, 6, hyper);
        r->pos += 24;
        pl->steps = (int64_t)r_le(r, 8);
        if (o) {
            if (kind != (uint64_t)o->kind)
                return mt_fail(MT_ERR_ARG, "%s: the file holds %s state, the optimizer is %s",
                               path, optim_kind_name(kind), optim_kind_name(o->kind));
            static const char *const names[6] = {"lr", "momentum", "weight_decay",
                                                 "beta1", "beta2", "eps"};
            const float mine[6] = {o->lr, o->momentum, o->weight_decay, o->beta1, o->beta2,
                                   o->eps};
            for (int k = 0; k < 6; k++)
                /* bit equality: a resumed run is only the same run with the same numbers */
                if (memcmp(&hyper[k], &mine[k], sizeof(float)) != 0)
                    return mt_fail(MT_ERR_ARG, "%s: optimizer %s is %.9g in the file, %.9g here",
                                   path, names[k], (double)hyper[k], (double)mine[k]);
            if (pl->steps < 0)
                return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: %lld optimizer steps", path,
                               (long long)pl->steps);
        }
        for (int i = 0; i < ps->count; i++) {
            MT_TRY(r_need(r, 1));
            unsigned flags = (unsigned)r_le(r, 1);
            if (flags & ~(HAS_STATE1 | HAS_STATE2))
                return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: state flags %#x for %s",
                               path, flags, ps->names[i]);
            int64_t n = mt_numel(ps->items[i]);
            pl->s1_at[i] = pl->s2_at[i] = 0;
            if (flags & HAS_STATE1) MT_TRY(r_floats(r, n, &pl->s1_at[i]));
            if (flags & HAS_STATE2) MT_TRY(r_floats(r, n, &pl->s2_at[i]));
        }
    }
    if (r->pos != r->size)
        return mt_fail(MT_ERR_IO, "%s: malformed checkpoint: %zu unread bytes before the "
                       "checksum", path, r->size - r->pos);
    if (later != MT_OK) return mt_fail(later, "%s", later_msg);
    return MT_OK;
#undef DEFER
}

/* Copies count values at data+at into t (on any backend). */
static mt_status load_tensor(const unsigned char *data, size_t at, mt_tensor *t, float *host) {
    decode_floats(data + at, mt_numel(t), host);
    return mt_copy_from_host(t, host);
}

/* Writes a parameter's state slot: into the existing tensor, or a new one in state_ctx; a slot the
 * file does not hold goes back to "not made yet", which the optimizer fills with zeros on its next
 * step, exactly as the saved run would have. */
static mt_status load_state(mt_optim *o, mt_tensor **slot, const mt_tensor *p,
                            const unsigned char *data, size_t at, float *host) {
    if (!at) {
        *slot = NULL;
        return MT_OK;
    }
    if (!*slot) {
        *slot = mt_tensor_alloc(o->state_ctx, mt_tensor_backend(p), p->ndim, p->shape);
        if (!*slot) return mt_last_status();
    }
    return load_tensor(data, at, *slot, host);
}

static mt_status apply(const unsigned char *data, const mt_checkpoint *c, const plan *pl) {
    for (int i = 0; i < c->nints; i++)
        for (int64_t k = 0; k < c->ints[i].count; k++) {
            reader r = {data, SIZE_MAX, pl->ints_at[i] + (size_t)k * 8, NULL};
            c->ints[i].values[k] = (int64_t)r_le(&r, 8);
        }
    for (int i = 0; i < c->nrngs; i++) {
        reader r = {data, SIZE_MAX, pl->rngs_at[i], NULL};
        for (int k = 0; k < 4; k++) c->rngs[i].rng->s[k] = r_le(&r, 8);
    }
    const mt_params *ps = c->params;
    int64_t most = 1;
    for (int i = 0; i < ps->count; i++)
        if (mt_numel(ps->items[i]) > most) most = mt_numel(ps->items[i]);
    float *host = malloc(sizeof(float) * (size_t)most);
    if (!host) return mt_fail(MT_ERR_OOM, "mt_checkpoint_load: out of memory");
    mt_status st = MT_OK;
    mt_optim *o = c->optim;
    if (o && o->nstate < ps->count) {
        /* grow the state arrays to the list, as the optimizer's own first step would */
        mt_tensor **s1 = realloc(o->state1, sizeof(*s1) * (size_t)ps->count);
        if (s1) o->state1 = s1;
        mt_tensor **s2 = s1 ? realloc(o->state2, sizeof(*s2) * (size_t)ps->count) : NULL;
        if (s2) o->state2 = s2;
        if (!s1 || !s2) st = mt_fail(MT_ERR_OOM, "mt_checkpoint_load: out of memory");
        for (int i = o->nstate; st == MT_OK && i < ps->count; i++) s1[i] = s2[i] = NULL;
        if (st == MT_OK) o->nstate = ps->count;
    }
    for (int i = 0; st == MT_OK && i < ps->count; i++)
        st = load_tensor(data, pl->params_at[i], ps->items[i], host);
    if (o && st == MT_OK) {
        o->steps = pl->steps;
        for (int i = 0; st == MT_OK && i < ps->count; i++) {
            st = load_state(o, &o->state1[i], ps->items[i], data, pl->s1_at[i], host);
            if (st == MT_OK)
                st = load_state(o, &o->state2[i], ps->items[i], data, pl->s2_at[i], host);
        }
    }
    free(host);
    return st;
}

mt_status mt_checkpoint_load(const char *path, const mt_checkpoint *c) {
    if (!path || !c || !c->params)
        return mt_fail(MT_ERR_ARG, "mt_checkpoint_load: NULL path, checkpoint or parameters");
    if ((c->nrngs > 0 && !c->rngs) || (c->nints > 0 && !c->ints) || c->nrngs < 0 || c->nints < 0)
        return mt_fail(MT_ERR_ARG, "mt_checkpoint_load: generator or integer lists don't match "
                                   "their counts");
    for (int i = 0; i < c->nints; i++)
        if (!c->ints[i].name || c->ints[i].count < 0 || (c->ints[i].count && !c->ints[i].values))
            return mt_fail(MT_ERR_ARG, "mt_checkpoint_load: integer array %d has no name or "
                           "buffer", i);
    for (int i = 0; i < c->nrngs; i++)
        if (!c->rngs[i].name || !c->rngs[i].rng)
            return mt_fail(MT_ERR_ARG, "mt_checkpoint_load: generator %d has no name or state",
                           i);
    unsigned char *data = NULL;
    size_t size = 0;
    MT_TRY(read_whole(path, &data, &size));
    reader r = {data, size, 0, path};
    int n = c->params->count;
    plan pl = {0};
    size_t nslots = (size_t)c->nints + (size_t)c->nrngs + 3 * (size_t)n + 1;
    size_t *slots = calloc(nslots, sizeof *slots);
    mt_status st = slots ? check_frame(&r) : mt_fail(MT_ERR_OOM, "%s: out of memory", path);
    if (st == MT_OK) {
        pl.ints_at = slots;
        pl.rngs_at = pl.ints_at + c->nints;
        pl.params_at = pl.rngs_at + c->nrngs;
        pl.s1_at = pl.params_at + n;
        pl.s2_at = pl.s1_at + n;
        st = parse_and_match(&r, c, &pl);
    }
    if (st == MT_OK) st = apply(data, c, &pl);
    free(slots);
    free(data);
    return st;
}

mt_status mt_checkpoint_read_ints(const char *path, const char *name, int64_t *values,
                                  int64_t cap, int64_t *count) {
    if (!path || !name || !count || cap < 0 || (cap > 0 && !values))
        return mt_fail(MT_ERR_ARG, "mt_checkpoint_read_ints: NULL path, name, count or buffer");
    *count = -1;
    unsigned char *data = NULL;
    size_t size = 0;
    MT_TRY(read_whole(path, &data, &size));
    reader r = {data, size, 0, path};
    mt_status st = check_frame(&r);
    uint32_t nints = 0;
    if (st == MT_OK && (st = r_need(&r, 4)) == MT_OK) nints = (uint32_t)r_le(&r, 4);
    char got[MAX_NAME + 1];
    for (uint32_t i = 0; st == MT_OK && i < nints; i++) {
        if ((st = r_name(&r, got)) != MT_OK || (st = r_need(&r, 8)) != MT_OK) break;
        uint64_t n = r_le(&r, 8);
        if (n > (r.size - r.pos) / 8) {
            st = mt_fail(MT_ERR_IO, "%s: malformed checkpoint: integer array %s runs past the "
                         "end", path, got);
            break;
        }
        if (strcmp(got, name) == 0) {
            for (uint64_t k = 0; k < n && (int64_t)k < cap; k++) values[k] = (int64_t)r_le(&r, 8);
            *count = (int64_t)n;
            break;
        }
        r.pos += (size_t)n * 8;
    }
    free(data);
    return st;
}
