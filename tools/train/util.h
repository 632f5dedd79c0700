/* Small helpers the trainers share: error messages into a caller's buffer, whole-file reads
 * (gzip-aware when built with zlib), a monotonic clock. Library code here never prints or exits:
 * it fills `err` and returns false; only main.c turns that into a message and an exit code. */
#ifndef MT_TRAIN_UTIL_H
#define MT_TRAIN_UTIL_H

#include "dist.h"
#include "minitorch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_ERR_LEN 512

/* snprintf into err (when err is not NULL); returns false so callers write `return tr_err(...)`. */
bool tr_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads the whole file into a malloc'd buffer (*len bytes, plus a NUL the length does not count,
 * so text parsers may treat it as a string). A file that starts with the gzip magic is inflated
 * when the build has zlib (TR_HAVE_ZLIB), and is an error naming the missing zlib otherwise; a
 * truncated or corrupt gzip stream is an error too. */
bool tr_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);

/* True when the build can read gzipped files. */
bool tr_have_zlib(void);

bool tr_file_exists(const char *path);
/* out = dir/name; false when it does not fit in n bytes. */
bool tr_path(char *out, size_t n, const char *dir, const char *name);

/* A host buffer reused across steps (grows, never shrinks). The trainers keep their per-batch
 * host arrays here rather than in a context's arena, whose memory may one day sit on a device. */
typedef struct tr_buf {
    void *p;
    size_t cap;
} tr_buf;
/* At least `bytes` bytes (contents not kept), or NULL when out of memory. */
void *tr_buf_get(tr_buf *b, size_t bytes);
void tr_buf_free(tr_buf *b);

/* Seconds on a monotonic clock. */
double tr_now(void);

/* The end of every model's training step: backward from the loss l (NULL after a failed forward,
 * whose error it returns), with sh->dist the ranks' gradient sum (dist.h), one optimizer step.
 * *loss: the batch's mean loss; *correct: in, this process's count of correct predictions; out,
 * the whole batch's (the ranks' counts summed). With sh->dist a failure is MT_ERR_IO and
 * tr_step_error(sh) says why. */
mt_status tr_backward_step(mt_ctx *scratch, mt_tensor *l, mt_optim *opt, const tr_shard *sh,
                           float *loss, int *correct);

#endif
