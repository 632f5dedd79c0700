/* Per-thread scratch buffers of the openmp backend (contract in openmp.h). One pthread key holds a
 * table of slots per thread; the key's destructor frees the table when the thread exits. Slots
 * grow to the largest request seen and never shrink, so a training loop's steady state allocates
 * and first-touches nothing. */
#include "openmp.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct ws_table {
    void *buf[MT_OMP_WS_SLOTS];
    int64_t cap[MT_OMP_WS_SLOTS]; /* bytes */
} ws_table;

static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static int ws_key_ok;

static void ws_free(void *p) {
    ws_table *t = p;
    if (!t) return;
    for (int s = 0; s < MT_OMP_WS_SLOTS; s++) free(t->buf[s]);
    free(t);
}

static void ws_make_key(void) { ws_key_ok = pthread_key_create(&ws_key, ws_free) == 0; }

void *mt_omp_workspace(mt_omp_ws_slot slot, int64_t bytes) {
    pthread_once(&ws_once, ws_make_key);
    if (!ws_key_ok || slot < 0 || slot >= MT_OMP_WS_SLOTS || bytes < 0) return NULL;
    ws_table *t = pthread_getspecific(ws_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) return NULL;
        if (pthread_setspecific(ws_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    if (t->cap[slot] >= bytes && t->buf[slot]) return t->buf[slot];
    free(t->buf[slot]);
    t->cap[slot] = 0;
    /* aligned_alloc wants a multiple of the alignment */
    int64_t n = bytes > 0 ? (bytes + 63) / 64 * 64 : 64;
    t->buf[slot] = aligned_alloc(64, (size_t)n);
    if (!t->buf[slot]) return NULL;
    t->cap[slot] = n;
    return t->buf[slot];
}
