/* Aligned buffers from a size-bucketed cache.
 *
 * Training allocates the same buffer sizes every step; returning them to malloc (and
 * for large sizes to mmap/munmap, with page faults on the next touch) costs more than
 * the arithmetic of a small step.  Freed buffers are kept in power-of-two buckets and
 * handed out again; the cache holds at most PA_CACHE_LIMIT bytes.  Small buffers (up to
 * 4 KiB) first go to a per-thread cache that needs no lock: a tiny op allocates and
 * frees one every call. */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

enum { BUCKETS = 48, ALIGN = 64 };
#define PA_CACHE_LIMIT ((size_t)512 << 20)

typedef struct cached { struct cached *next; } cached;

static cached *bucket_head[BUCKETS];
static size_t cached_bytes;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

enum { LOCAL_BUCKETS = 7, LOCAL_MAX = 32 };  /* buckets of 64 B .. 4 KiB, 32 each */
static _Thread_local cached *local_head[LOCAL_BUCKETS];
static _Thread_local int local_count[LOCAL_BUCKETS];
static _Thread_local int local_registered;
static pthread_key_t local_key;
static pthread_once_t local_once = PTHREAD_ONCE_INIT;

static void global_free(void *p, int b);

/* At thread exit the thread's small buffers return to the shared cache. */
static void local_flush(void *unused) {
    (void)unused;
    for (int b = 0; b < LOCAL_BUCKETS; b++) {
        while (local_head[b]) {
            cached *c = local_head[b];
            local_head[b] = c->next;
            global_free(c, b);
        }
        local_count[b] = 0;
    }
}

static void local_key_init(void) { pthread_key_create(&local_key, local_flush); }

/* Smallest bucket b with (ALIGN << b) >= nbytes. */
static int bucket_of(size_t nbytes) {
    int b = 0;
    while (((size_t)ALIGN << b) < nbytes) b++;
    return b;
}

void *pa_alloc(size_t nbytes) {
    int b = bucket_of(nbytes ? nbytes : 1);
    if (b >= BUCKETS) return NULL;
    if (b < LOCAL_BUCKETS && local_head[b]) {
        cached *c = local_head[b];
        local_head[b] = c->next;
        local_count[b]--;
        return c;
    }
    size_t size = (size_t)ALIGN << b;
    pthread_mutex_lock(&cache_lock);
    cached *c = bucket_head[b];
    if (c) {
        bucket_head[b] = c->next;
        cached_bytes -= size;
    }
    pthread_mutex_unlock(&cache_lock);
    if (c) return c;
    return aligned_alloc(ALIGN, size);
}

void pa_free(void *p, size_t nbytes) {
    if (!p) return;
    int b = bucket_of(nbytes ? nbytes : 1);
    if (b < LOCAL_BUCKETS && local_count[b] < LOCAL_MAX) {
        if (!local_registered) {  /* so the buffers are handed back when the thread ends */
            pthread_once(&local_once, local_key_init);
            pthread_setspecific(local_key, &local_registered);
            local_registered = 1;
        }
        cached *c = p;
        c->next = local_head[b];
        local_head[b] = c;
        local_count[b]++;
        return;
    }
    global_free(p, b);
}

static void global_free(void *p, int b) {
    size_t size = (size_t)ALIGN << b;
    pthread_mutex_lock(&cache_lock);
    if (cached_bytes + size <= PA_CACHE_LIMIT) {
        cached *c = p;
        c->next = bucket_head[b];
        bucket_head[b] = c;
        cached_bytes += size;
        p = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    free(p);
}
