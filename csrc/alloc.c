/* Aligned buffers from a size-bucketed cache.
 *
 * Training allocates the same buffer sizes every step; returning them to malloc (and
 * for large sizes to mmap/munmap, with page faults on the next touch) costs more than
 * the arithmetic of a small step.  Freed buffers are kept in power-of-two buckets and
 * handed out again; the cache holds at most PA_CACHE_LIMIT bytes. */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

enum { BUCKETS = 48, ALIGN = 64 };
#define PA_CACHE_LIMIT ((size_t)512 << 20)

typedef struct cached { struct cached *next; } cached;

static cached *bucket_head[BUCKETS];
static size_t cached_bytes;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Smallest bucket b with (ALIGN << b) >= nbytes. */
static int bucket_of(size_t nbytes) {
    int b = 0;
    while (((size_t)ALIGN << b) < nbytes) b++;
    return b;
}

void *pa_alloc(size_t nbytes) {
    int b = bucket_of(nbytes ? nbytes : 1);
    if (b >= BUCKETS) return NULL;
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
