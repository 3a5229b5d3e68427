/* embedding: rows of a (num_embeddings, embedding_dim) weight picked by int64 indices of
 * any shape, forward and backward side by side.  Every index is range-checked before
 * anything is read; the padding_idx row receives no gradient. */
#include <stdlib.h>

#include "../kernels/parallel.h"
#include "layer_util.h"

int pa_embedding(pa_tensor *indices, pa_tensor *weight, int has_padding_idx, int64_t padding_idx,
                 pa_tensor **out) {
    PA_REQUIRE("embedding", indices && weight && out, "NULL tensor or result pointer");
    char b1[128];
    TRY(pa_layer_check_float("embedding", "weight", weight, -1));
    if (weight->ndim != 2)
        return pa_error(PA_ERR_VALUE, "embedding: weight must be 2-d (num_embeddings, embedding_dim), "
                        "got shape %s", PA_SHAPE_STR(weight, b1));
    if (indices->dtype != PA_INT64)
        return pa_error(PA_ERR_TYPE, "embedding: expected int64 indices, got %s",
                        pa_dtype_name(indices->dtype));
    if (indices->ndim >= PA_MAX_DIMS)
        return pa_error(PA_ERR_VALUE, "embedding: indices of shape %s have too many dims (at most %d)",
                        PA_SHAPE_STR(indices, b1), PA_MAX_DIMS - 1);
    int64_t v = weight->shape[0], d = weight->shape[1];
    if (has_padding_idx && (padding_idx < 0 || padding_idx >= v))
        return pa_error(PA_ERR_VALUE, "embedding: padding_idx %lld must be within num_embeddings %lld",
                        (long long)padding_idx, (long long)v);
    pa_tensor *idx = pa_contiguous_nograd(indices);
    PA_CHECK_OOM(idx);
    const int64_t *is = (const int64_t *)idx->data;
    for (int64_t i = 0; i < idx->numel; i++)
        if (is[i] < 0 || is[i] >= v) {
            int64_t bad = is[i];
            pa_tensor_release(idx);
            return pa_error(PA_ERR_INDEX, "embedding: index %lld is out of range for %lld embeddings "
                            "(at flat position %lld)", (long long)bad, (long long)v, (long long)i);
        }
    int64_t shape[PA_MAX_DIMS];
    memcpy(shape, indices->shape, (size_t)indices->ndim * sizeof shape[0]);
    shape[indices->ndim] = d;
    pa_tensor *y = pa_tensor_new(indices->ndim + 1, shape, weight->dtype);
    if (!y) {
        pa_tensor_release(idx);
        return PA_ERR_MEMORY;
    }
    size_t isz = pa_dtype_size(weight->dtype);
    int64_t rs = weight->strides[0], cs = weight->strides[1];
    int nt = pa_threads_for_elements(idx->numel * d);
    PA_PARALLEL_FOR(nt, for (int64_t i = 0; i < idx->numel; i++) {
        char *dst = y->data + i * d * (int64_t)isz;
        const char *src = weight->data + is[i] * rs * (int64_t)isz;
        if (cs == 1) memcpy(dst, src, (size_t)d * isz);
        else
            for (int64_t j = 0; j < d; j++) memcpy(dst + j * (int64_t)isz, src + j * cs * (int64_t)isz, isz);
    });
    *out = y;
    int rc = PA_OK;
    if (pa_needs_grad(1, &weight)) {
        pa_node *node = pa_node_new(PA_OP_EMBEDDING, 1, &weight, y);
        rc = node ? pa_node_save(node, 0, idx) : PA_ERR_MEMORY;
        if (node) {
            node->iarg[0] = has_padding_idx;
            node->iarg[1] = padding_idx;
        }
    }
    pa_tensor_release(idx);
    return rc ? pa_layer_fail(rc, out) : PA_OK;
}

/* dW[idx[i]] += g[i] for every position i in order.  Threads split the embedding
 * columns, so each element's additions run in the same order on one thread. */
int pa_backward_EMBEDDING(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    const pa_meta *mw = &node->next[0].meta;
    pa_tensor *idx = node->saved[0], *gy, *gw = pa_tensor_zeros(2, mw->shape, mw->dtype);
    TRY(pa_contiguous_with(grad, gw, &gy));
    int64_t d = mw->shape[1], n = idx->numel, pad = node->iarg[0] ? node->iarg[1] : -1;
    const int64_t *is = (const int64_t *)idx->data;
    enum { BLOCK = 16 };
    int64_t blocks = (d + BLOCK - 1) / BLOCK;
    int nt = pa_threads_for_elements(n * d);
    if (nt > blocks) nt = (int)blocks;
    PA_DISPATCH_FLOAT(mw->dtype, T, {
        const T *gs = (const T *)gy->data;
        T *ws = (T *)gw->data;
        PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t j0 = blk * BLOCK, j1 = j0 + BLOCK < d ? j0 + BLOCK : d;
            for (int64_t i = 0; i < n; i++) {
                if (is[i] == pad) continue;
                T *row = ws + is[i] * d;
                const T *g = gs + i * d;
                for (int64_t j = j0; j < j1; j++) row[j] += g[j];
            }
        });
    });
    pa_tensor_release(gy);
    grads[0] = gw;
    return PA_OK;
}
