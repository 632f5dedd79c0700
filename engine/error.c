/* Error reporting: a thread-local status and message, set by the library, read by the CLIs. */
#include "internal.h"

#include <stdio.h>

static _Thread_local mt_status last_status = MT_OK;
static _Thread_local char last_message[512];

const char *mt_last_error(void) { return last_message; }
mt_status mt_last_status(void) { return last_status; }

void mt_clear_error(void) {
    last_status = MT_OK;
    last_message[0] = '\0';
}

const char *mt_status_name(mt_status s) {
    switch (s) {
    case MT_OK: return "ok";
    case MT_ERR_SHAPE: return "shape error";
    case MT_ERR_ARG: return "bad argument";
    case MT_ERR_OOM: return "out of memory";
    case MT_ERR_BACKEND: return "backend error";
    case MT_ERR_UNSUPPORTED: return "unsupported";
    case MT_ERR_IO: return "i/o error";
    case MT_ERR_STATE: return "bad state";
    }
    return "unknown status";
}

static void record(mt_status s, const char *fmt, va_list ap) {
    last_status = s;
    vsnprintf(last_message, sizeof last_message, fmt, ap);
}

mt_status mt_fail(mt_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record(s, fmt, ap);
    va_end(ap);
    return s;
}

void *mt_fail_null(mt_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record(s, fmt, ap);
    va_end(ap);
    return NULL;
}

void *mt_null_arg(const char *fn, const char *arg) {
    mt_null_status(fn, arg);
    return NULL;
}

mt_status mt_null_status(const char *fn, const char *arg) {
    if (last_status == MT_OK) mt_fail(MT_ERR_ARG, "%s: %s is NULL", fn, arg);
    return last_status;
}
