/* Iteration over the elements of up to four same-shaped strided operands.
 *
 * Dims of size 1 are dropped and neighbouring dims that are contiguous in every
 * operand are merged, so that most loops become one long inner loop.  The work is then
 * "rows" (every index but the last) of `inner` elements each. */
#ifndef PA_ITER_H
#define PA_ITER_H

#include <stdint.h>

enum { PA_ITER_MAX_OPS = 4 };

typedef struct {
    int ndim;                                   /* >= 1 */
    int nops;
    int64_t shape[8];
    int64_t strides[PA_ITER_MAX_OPS][8];        /* in elements */
    int64_t rows;                               /* product of shape[0 .. ndim-2] */
    int64_t inner;                              /* shape[ndim-1] */
} pa_iter;

static inline void pa_iter_init(pa_iter *it, int ndim, const int64_t *shape, int nops,
                                const int64_t *const *strides) {
    it->nops = nops;
    int n = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        if (n > 0) {
            int merge = 1;
            for (int o = 0; o < nops; o++)
                if (it->strides[o][n - 1] != strides[o][d] * shape[d]) merge = 0;
            if (merge) {
                it->shape[n - 1] *= shape[d];
                for (int o = 0; o < nops; o++) it->strides[o][n - 1] = strides[o][d];
                continue;
            }
        }
        it->shape[n] = shape[d];
        for (int o = 0; o < nops; o++) it->strides[o][n] = strides[o][d];
        n++;
    }
    if (n == 0) {
        it->shape[0] = 1;
        for (int o = 0; o < nops; o++) it->strides[o][0] = 0;
        n = 1;
    }
    it->ndim = n;
    it->inner = it->shape[n - 1];
    it->rows = 1;
    for (int d = 0; d < n - 1; d++) it->rows *= it->shape[d];
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0) it->rows = 0;
}

/* Row `row`'s index (idx[d] for d < ndim - 1) and every operand's element offset at its
 * start; pa_iter_next_row then walks on row by row without a division per row. */
static inline void pa_iter_start(const pa_iter *it, int64_t row, int64_t *idx, int64_t *offs) {
    for (int o = 0; o < it->nops; o++) offs[o] = 0;
    for (int d = it->ndim - 2; d >= 0; d--) {
        idx[d] = row % it->shape[d];
        row /= it->shape[d];
        for (int o = 0; o < it->nops; o++) offs[o] += idx[d] * it->strides[o][d];
    }
}

/* Advances idx and offs (from pa_iter_start) to the next row. */
static inline void pa_iter_next_row(const pa_iter *it, int64_t *idx, int64_t *offs) {
    for (int d = it->ndim - 2; d >= 0; d--) {
        for (int o = 0; o < it->nops; o++) offs[o] += it->strides[o][d];
        if (++idx[d] < it->shape[d]) return;
        idx[d] = 0;
        for (int o = 0; o < it->nops; o++) offs[o] -= it->strides[o][d] * it->shape[d];
    }
}

/* Element offsets of every operand at the start of row `row`. */
static inline void pa_iter_offsets(const pa_iter *it, int64_t row, int64_t *offs) {
    for (int o = 0; o < it->nops; o++) offs[o] = 0;
    for (int d = it->ndim - 2; d >= 0; d--) {
        int64_t i = row % it->shape[d];
        row /= it->shape[d];
        for (int o = 0; o < it->nops; o++) offs[o] += i * it->strides[o][d];
    }
}

#endif
