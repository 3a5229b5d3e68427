/* Reference-counted storage: owned aligned memory, or memory wrapped from outside. */
#include <stdlib.h>

#include "internal.h"

static int64_t live_bytes;

pa_storage *pa_storage_new(size_t nbytes) {
    pa_storage *s = malloc(sizeof *s);
    void *data = s ? pa_alloc(nbytes) : NULL;
    if (!data) {
        free(s);
        pa_error(PA_ERR_MEMORY, "out of memory allocating %zu bytes", nbytes);
        return NULL;
    }
    *s = (pa_storage){.refcount = 1, .nbytes = nbytes, .data = data};
    __atomic_fetch_add(&live_bytes, (int64_t)nbytes, __ATOMIC_RELAXED);
    return s;
}

void pa_storage_retain(pa_storage *s) { __atomic_fetch_add(&s->refcount, 1, __ATOMIC_RELAXED); }

void pa_storage_release(pa_storage *s) {
    if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
    if (s->release) {
        s->release(s->release_ctx);
    } else {
        pa_free(s->data, s->nbytes);
        __atomic_fetch_sub(&live_bytes, (int64_t)s->nbytes, __ATOMIC_RELAXED);
    }
    free(s);
}

int64_t pa_live_storage_bytes(void) { return __atomic_load_n(&live_bytes, __ATOMIC_RELAXED); }
