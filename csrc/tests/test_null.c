/* Every public entry point that takes a tensor or a result pointer, called with NULL
 * in each such position: it must return PA_ERR_VALUE with a message naming the op
 * ("<op>: invalid argument: ..."), never dereference the NULL. */
#include <string.h>

#include "check.h"

/* NULL in a tensor position: an error whose message names the op. */
#define CHECK_NULL(expr, op) CHECK_ERR(expr, PA_ERR_VALUE, op ": invalid argument")

static void test_null_tensors(void) {
    live_counts base = live_now();
    pa_tensor *t = NULL, *out = NULL, *out2 = NULL;
    OK(pa_full(2, (int64_t[]){2, 3}, PA_FLOAT32, 1.0, &t));
    pa_tensor *idx = NULL;
    OK(pa_full(1, (int64_t[]){2}, PA_INT64, 0.0, &idx));
    double d;
    int64_t h;
    int64_t shape[2] = {3, 2}, dims[2] = {1, 0};
    pa_tensor *list[2] = {t, NULL};

    CHECK_NULL(pa_uniform_(NULL, 0, 1), "uniform_");
    CHECK_NULL(pa_normal_(NULL, 0, 1), "normal_");
    CHECK_NULL(pa_fill_(NULL, 1), "fill_");
    CHECK_NULL(pa_copy_(NULL, t), "copy_");
    CHECK_NULL(pa_copy_(t, NULL), "copy_");
    CHECK_NULL(pa_item(NULL, &d), "item");
    CHECK_NULL(pa_item(t, NULL), "item");
    CHECK_NULL(pa_to_contiguous_buffer(NULL, &d, 8), "numpy");
    CHECK_NULL(pa_set_requires_grad(NULL, 1), "set_requires_grad");
    CHECK_NULL(pa_get_grad(NULL, &out), "get_grad");
    CHECK_NULL(pa_get_grad(t, NULL), "get_grad");
    CHECK_NULL(pa_set_grad(NULL, NULL), "set_grad");
    CHECK_NULL(pa_detach(NULL, &out), "detach");
    CHECK_NULL(pa_detach(t, NULL), "detach");
    CHECK_NULL(pa_detach_inplace(NULL), "detach_");
    CHECK_NULL(pa_as_strided(NULL, 1, (int64_t[]){1}, (int64_t[]){1}, 0, &out), "as_strided");
    CHECK_NULL(pa_as_strided(t, 1, (int64_t[]){1}, (int64_t[]){1}, 0, NULL), "as_strided");
    CHECK_NULL(pa_as_strided(t, 1, NULL, (int64_t[]){1}, 0, &out), "as_strided");
    CHECK_NULL(pa_retain_grad(NULL), "retain_grad");
    CHECK_NULL(pa_register_hook(NULL, NULL, NULL, NULL, &h), "register_hook");
    CHECK_NULL(pa_remove_hook(NULL, 1), "remove_hook");
    CHECK_NULL(pa_backward(NULL, NULL, 0), "backward");
    CHECK_NULL(pa_binary(0, NULL, t, &out), "binary");
    CHECK_NULL(pa_binary(0, t, NULL, &out), "binary");
    CHECK_NULL(pa_binary(0, t, t, NULL), "binary");
    CHECK_NULL(pa_binary_scalar(0, NULL, 1, 1, 0, &out), "binary");
    CHECK_NULL(pa_unary(0, NULL, &out), "unary");
    CHECK_NULL(pa_clamp(NULL, 0, 1, 1, 1, &out), "clamp");
    CHECK_NULL(pa_where(NULL, t, t, &out), "where");
    CHECK_NULL(pa_where(t, NULL, t, &out), "where");
    CHECK_NULL(pa_where(t, t, NULL, &out), "where");
    CHECK_NULL(pa_to_dtype(NULL, PA_FLOAT64, &out), "to");
    CHECK_NULL(pa_binary_(0, NULL, t), "binary_");
    CHECK_NULL(pa_binary_(0, t, NULL), "binary_");
    CHECK_NULL(pa_binary_scalar_(0, NULL, 1, 0), "binary_scalar_");
    CHECK_NULL(pa_assign_(NULL, t, "x"), "assign_");
    CHECK_NULL(pa_assign_(t, NULL, "x"), "assign_");
    CHECK_NULL(pa_assign_(t, t, NULL), "assign_");
    CHECK_NULL(pa_sum(NULL, 0, NULL, 0, &out), "sum");
    CHECK_NULL(pa_mean(NULL, 0, NULL, 0, &out), "mean");
    CHECK_NULL(pa_max(NULL, 1, 0, 0, &out, &out2), "max");
    CHECK_NULL(pa_min(NULL, 1, 0, 0, &out, &out2), "min");
    CHECK_NULL(pa_amax(NULL, 0, 0, &out), "amax");
    CHECK_NULL(pa_amin(t, 0, 0, NULL), "amin");
    CHECK_NULL(pa_logsumexp(NULL, 0, NULL, 0, &out), "logsumexp");
    CHECK_NULL(pa_reshape(NULL, 2, shape, &out), "reshape");
    CHECK_NULL(pa_reshape(t, 2, shape, NULL), "reshape");
    CHECK_NULL(pa_view(NULL, 2, shape, &out), "view");
    CHECK_NULL(pa_permute(NULL, 2, dims, &out), "permute");
    CHECK_NULL(pa_transpose(NULL, 0, 1, &out), "transpose");
    CHECK_NULL(pa_transpose(t, 0, 1, NULL), "transpose");
    CHECK_NULL(pa_expand(NULL, 2, shape, &out), "expand");
    CHECK_NULL(pa_slice(NULL, 0, 0, 1, 1, &out), "slice");
    CHECK_NULL(pa_select(NULL, 0, 0, &out), "select");
    CHECK_NULL(pa_unsqueeze(NULL, 0, &out), "unsqueeze");
    CHECK_NULL(pa_squeeze(NULL, 0, 0, &out), "squeeze");
    CHECK_NULL(pa_contiguous(NULL, &out), "contiguous");
    CHECK_NULL(pa_clone(NULL, &out), "clone");
    CHECK_NULL(pa_cat(2, list, 0, &out), "cat");
    CHECK_NULL(pa_stack(2, list, 0, &out), "stack");
    CHECK_NULL(pa_index_select(NULL, 0, idx, &out), "index_select");
    CHECK_NULL(pa_index_select(t, 0, NULL, &out), "index_select");
    CHECK_NULL(pa_gather(NULL, 0, idx, &out), "gather");
    CHECK_NULL(pa_gather(t, 0, NULL, &out), "gather");
    CHECK_NULL(pa_take_along_dim(NULL, 0, idx, 1, &out), "take_along_dim");
    CHECK_NULL(pa_take_along_dim(t, 0, NULL, 1, &out), "take_along_dim");
    CHECK_NULL(pa_take_along_dim(t, 0, idx, 1, NULL), "take_along_dim");
    CHECK_NULL(pa_scatter_reduce(NULL, 0, idx, t, PA_REDUCE_SUM, 1, 0, &out), "scatter_reduce");
    CHECK_NULL(pa_scatter_reduce(t, 0, NULL, t, PA_REDUCE_SUM, 1, 0, &out), "scatter_reduce");
    CHECK_NULL(pa_scatter_reduce(t, 0, idx, NULL, PA_REDUCE_SUM, 1, 0, &out), "scatter_reduce");
    CHECK_NULL(pa_scatter_reduce(t, 0, idx, t, PA_REDUCE_SUM, 1, 0, NULL), "scatter_reduce");
    CHECK_NULL(pa_index_multi(NULL, 1, (int64_t[]){0}, &idx, &out), "index");
    CHECK_NULL(pa_index_multi(t, 1, NULL, &idx, &out), "index");
    CHECK_NULL(pa_index_multi(t, 1, (int64_t[]){0}, NULL, &out), "index");
    CHECK_NULL(pa_index_multi_put(NULL, 1, (int64_t[]){0}, &idx, NULL, 0, PA_SCATTER_FILL), "index_put_");
    CHECK_NULL(pa_index_multi_put(t, 1, NULL, &idx, NULL, 0, PA_SCATTER_FILL), "index_put_");
    CHECK_NULL(pa_gather_rows(2, list, idx, (pa_tensor *[2]){NULL, NULL}), "gather_rows");
    CHECK_NULL(pa_matmul(NULL, t, &out), "matmul");
    CHECK_NULL(pa_linear(NULL, t, NULL, &out), "linear");
    CHECK_NULL(pa_softmax(NULL, 0, &out), "softmax");
    CHECK_NULL(pa_log_softmax(NULL, 0, &out), "log_softmax");
    CHECK_NULL(pa_cross_entropy(NULL, idx, NULL, 1, -100, 0, &out), "cross_entropy");
    CHECK_NULL(pa_cross_entropy(t, NULL, NULL, 1, -100, 0, &out), "cross_entropy");
    CHECK_NULL(pa_nll_loss(NULL, idx, NULL, 1, -100, &out), "nll_loss");
    CHECK_NULL(pa_nll_loss(t, NULL, NULL, 1, -100, &out), "nll_loss");
    CHECK_NULL(pa_dropout(NULL, 0.5, 1, &out), "dropout");
    CHECK_NULL(pa_leaky_relu(NULL, 0.1, &out), "leaky_relu");
    CHECK_NULL(pa_elu(NULL, 1.0, &out), "elu");
    CHECK_NULL(pa_softplus(NULL, 1.0, 20.0, &out), "softplus");
    CHECK_NULL(pa_embedding(NULL, t, 0, 0, &out), "embedding");
    CHECK_NULL(pa_embedding(idx, NULL, 0, 0, &out), "embedding");
    CHECK_NULL(pa_layer_norm(NULL, 1, (int64_t[]){3}, NULL, NULL, 1e-5, &out), "layer_norm");
    CHECK_NULL(pa_batch_norm(NULL, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5, &out), "batch_norm");
    CHECK_NULL(pa_rng_get_state(NULL), "rng_get_state");
    CHECK_NULL(pa_rng_set_state(NULL), "rng_set_state");
    /* queries without a status: a defined answer for NULL */
    CHECK(pa_tensor_is_contiguous(NULL) == 0);
    CHECK(pa_tensor_version(NULL) == -1);
    CHECK(pa_node_name(NULL) != NULL && strcmp(pa_node_name(NULL), "None") == 0);
    pa_tensor_retain(NULL);
    pa_tensor_release(NULL);
    pa_clear_error();
    pa_tensor_release(t);
    pa_tensor_release(idx);
    CHECK_LIVE(base);
}

int main(void) {
    RUN(test_null_tensors);
    return check_finish("test_null");
}
