/* C tests of autograd: gradients of small graphs against hand-derived values,
 * accumulation and retain_graph, the second-backward and in-place error paths,
 * autograd.grad, hooks, custom functions, a few layers, and a small training loop
 * (linear + relu + cross-entropy + SGD) whose loss goes down.  The live counters of
 * tensors, nodes and storage bytes come back to where they started. */
#include "check.h"

/* A float64 leaf that requires grad. */
static pa_tensor *leaf(int ndim, const int64_t *shape, const double *v) {
    pa_tensor *t = make(ndim, shape, PA_FLOAT64, v);
    OK(pa_set_requires_grad(t, 1));
    return t;
}

/* Checks t.grad's values (t.grad must exist). */
#define CHECK_GRAD(t, expect, tol)                                                       \
    do {                                                                                 \
        pa_tensor *g_ = NULL;                                                            \
        OK(pa_get_grad((t), &g_));                                                       \
        CHECK(g_ != NULL);                                                               \
        if (g_) {                                                                        \
            CHECK_TENSOR(g_, (t)->ndim, (t)->shape, (expect), (tol));                    \
            pa_tensor_release(g_);                                                       \
        }                                                                                \
    } while (0)

/* L = sum(tanh(w @ x + b)^2) + mean(x^2), x (3,), w (2, 3), b (2,):
 *   dL/dh = 2 y (1 - y^2), dL/db = dL/dh, dL/dw = dL/dh x^T, dL/dx = w^T dL/dh + 2x/3. */
static void test_graph(void) {
    live_counts base = live_now();
    double xv[3] = {0.5, -1, 2}, wv[6] = {0.1, 0.2, -0.3, 0.4, -0.5, 0.6}, bv[2] = {0.05, -0.1};
    pa_tensor *x = leaf(1, (int64_t[]){3}, xv), *w = leaf(2, (int64_t[]){2, 3}, wv);
    pa_tensor *b = leaf(1, (int64_t[]){2}, bv);
    pa_tensor *wx = NULL, *h = NULL, *y = NULL, *y2 = NULL, *s1 = NULL, *x2 = NULL, *s2 = NULL, *L = NULL;
    OK(pa_matmul(w, x, &wx));
    OK(pa_binary(PA_BIN_ADD, wx, b, &h));
    OK(pa_unary(PA_UN_TANH, h, &y));
    OK(pa_binary(PA_BIN_MUL, y, y, &y2));
    OK(pa_sum(y2, 0, NULL, 0, &s1));
    OK(pa_binary_scalar(PA_BIN_POW, x, 2, 1, 0, &x2));
    OK(pa_mean(x2, 0, NULL, 0, &s2));
    OK(pa_binary(PA_BIN_ADD, s1, s2, &L));
    CHECK(pa_live_nodes() == base.nodes + 8);
    CHECK(L->requires_grad && L->grad_fn && !x->grad_fn);
    CHECK(strcmp(pa_node_name(L->grad_fn), "AddBackward") == 0);
    CHECK(strcmp(pa_node_name(wx->grad_fn), "MmBackward") == 0);
    CHECK(strcmp(pa_node_name(y->grad_fn), "UnaryBackward") == 0);
    CHECK(strcmp(pa_node_name(NULL), "None") == 0);

    /* Forward values and gradients by hand. */
    double hv[2], yv[2], dh[2], gx[3], gw[6], want = 0;
    for (int i = 0; i < 2; i++) {
        hv[i] = bv[i];
        for (int j = 0; j < 3; j++) hv[i] += wv[i * 3 + j] * xv[j];
        yv[i] = tanh(hv[i]);
        dh[i] = 2 * yv[i] * (1 - yv[i] * yv[i]);
        want += yv[i] * yv[i];
        for (int j = 0; j < 3; j++) gw[i * 3 + j] = dh[i] * xv[j];
    }
    for (int j = 0; j < 3; j++) {
        want += xv[j] * xv[j] / 3;
        gx[j] = 2 * xv[j] / 3;
        for (int i = 0; i < 2; i++) gx[j] += wv[i * 3 + j] * dh[i];
    }
    CHECK_NEAR(item(L), want, 1e-14);
    OK(pa_retain_grad(h));
    OK(pa_backward(L, NULL, 0));
    CHECK_GRAD(x, gx, 1e-14);
    CHECK_GRAD(w, gw, 1e-14);
    CHECK_GRAD(b, dh, 1e-14);
    CHECK_GRAD(h, dh, 1e-14);  /* retain_grad on a non-leaf */
    pa_tensor *g = NULL;
    OK(pa_get_grad(y, &g));
    CHECK(g == NULL);  /* other non-leaves keep no gradient */

    /* A second backward through the freed graph is an error, not a crash. */
    CHECK_ERR(pa_backward(L, NULL, 0), PA_ERR_RUNTIME, "backward through the graph a second time");
    CHECK_GRAD(x, gx, 1e-14);  /* untouched by the failed call */

    pa_tensor *all[] = {wx, h, y, y2, s1, x2, s2, L};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) pa_tensor_release(all[i]);
    CHECK(pa_live_nodes() == base.nodes);  /* the graph dies with its last tensor */
    pa_tensor_release(x);
    pa_tensor_release(w);
    pa_tensor_release(b);
    CHECK_LIVE(base);
}

/* retain_graph keeps the saved values: gradients accumulate over backward calls. */
static void test_retain_graph(void) {
    live_counts base = live_now();
    /* L = sum(a * c) with a (2, 3), c (3,): dL/da = c broadcast, dL/dc = column sums of a. */
    double av[6] = {1, 2, 3, 4, 5, 6}, cv[3] = {-1, 0.5, 2};
    pa_tensor *a = leaf(2, (int64_t[]){2, 3}, av), *c = leaf(1, (int64_t[]){3}, cv);
    pa_tensor *p = NULL, *L = NULL;
    OK(pa_binary(PA_BIN_MUL, a, c, &p));
    OK(pa_sum(p, 0, NULL, 0, &L));
    CHECK(item(L) == -1 + 1 + 6 - 4 + 2.5 + 12);
    double ga[6] = {-1, 0.5, 2, -1, 0.5, 2}, gc[3] = {5, 7, 9};
    OK(pa_backward(L, NULL, 1));
    CHECK_GRAD(a, ga, 0);
    CHECK_GRAD(c, gc, 0);
    OK(pa_backward(L, NULL, 1));
    for (int i = 0; i < 6; i++) ga[i] *= 2;
    for (int i = 0; i < 3; i++) gc[i] *= 2;
    CHECK_GRAD(a, ga, 0);
    CHECK_GRAD(c, gc, 0);
    /* The last backward may free the graph; one after it fails. */
    OK(pa_backward(L, NULL, 0));
    CHECK_ERR(pa_backward(L, NULL, 1), PA_ERR_RUNTIME, "Specify retain_graph=True");
    for (int i = 0; i < 6; i++) ga[i] = ga[i] / 2 * 3;
    CHECK_GRAD(a, ga, 0);
    /* Clearing a gradient. */
    OK(pa_set_grad(a, NULL));
    pa_tensor *g = NULL;
    OK(pa_get_grad(a, &g));
    CHECK(g == NULL);

    /* An explicit gradient for a non-scalar root. */
    pa_tensor *gp = make(2, (int64_t[]){2, 3}, PA_FLOAT64, (double[]){1, 0, 0, 0, 0, 2});
    pa_tensor *p2 = NULL;
    OK(pa_binary(PA_BIN_MUL, a, c, &p2));
    OK(pa_backward(p2, gp, 0));
    CHECK_GRAD(a, ((double[]){-1, 0, 0, 0, 0, 4}), 0);
    pa_tensor *bad = make(1, (int64_t[]){2}, PA_FLOAT64, (double[]){1, 1});
    pa_tensor *p3 = NULL;
    OK(pa_binary(PA_BIN_MUL, a, c, &p3));
    CHECK_ERR(pa_backward(p3, bad, 0), PA_ERR_VALUE, "does not match the output's shape (2, 3)");
    pa_tensor_release(bad);
    pa_tensor_release(p3);
    pa_tensor_release(p2);
    pa_tensor_release(gp);
    pa_tensor_release(L);
    pa_tensor_release(p);
    pa_tensor_release(a);
    pa_tensor_release(c);
    CHECK_LIVE(base);
}

/* Views: L = 3 * sum(x^T[1:3][:, 0]) picks x[0, 1] and x[0, 2]. */
static void test_view_grads(void) {
    live_counts base = live_now();
    pa_tensor *x = leaf(2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
    pa_tensor *t = NULL, *s = NULL, *c = NULL, *m = NULL, *L = NULL;
    OK(pa_transpose(x, 0, 1, &t));
    OK(pa_slice(t, 0, 1, 3, 1, &s));
    OK(pa_select(s, 1, 0, &c));
    CHECK_TENSOR(c, 1, ((int64_t[]){2}), ((double[]){2, 3}), 0);
    OK(pa_binary_scalar(PA_BIN_MUL, c, 3, 1, 0, &m));
    OK(pa_sum(m, 0, NULL, 0, &L));
    OK(pa_backward(L, NULL, 0));
    CHECK_GRAD(x, ((double[]){0, 3, 3, 0, 0, 0}), 0);
    pa_tensor_release(t); pa_tensor_release(s); pa_tensor_release(c);
    pa_tensor_release(m); pa_tensor_release(L);

    /* expand + reshape + cat + index_select (a repeated index accumulates). */
    pa_tensor *v = leaf(1, (int64_t[]){2}, (double[]){1, 2}), *u = NULL, *e = NULL, *r = NULL;
    pa_tensor *k = NULL, *idx = make(1, (int64_t[]){3}, PA_INT64, (double[]){0, 0, 2});
    OK(pa_unsqueeze(v, 0, &u));
    OK(pa_expand(u, 2, (int64_t[]){3, 2}, &e));
    OK(pa_reshape(e, 1, (int64_t[]){6}, &r));
    pa_tensor *parts[2] = {r, v};
    OK(pa_cat(2, parts, 0, &c));
    OK(pa_index_select(c, 0, idx, &k));
    OK(pa_sum(k, 0, NULL, 0, &L));
    CHECK(item(L) == 1 + 1 + 1);
    OK(pa_backward(L, NULL, 0));
    CHECK_GRAD(v, ((double[]){3, 0}), 0);
    pa_tensor *free_list[] = {u, e, r, c, k, L, idx, v, x};
    for (size_t i = 0; i < sizeof free_list / sizeof free_list[0]; i++) pa_tensor_release(free_list[i]);
    CHECK_LIVE(base);
}

/* autograd.grad leaves .grad alone; unused inputs are an error unless allowed. */
static void test_autograd_grad(void) {
    live_counts base = live_now();
    pa_tensor *x = leaf(1, (int64_t[]){2}, (double[]){3, -2}), *z = leaf(0, NULL, (double[]){1});
    pa_tensor *e = NULL, *L = NULL, *out[2] = {NULL, NULL};
    OK(pa_unary(PA_UN_EXP, x, &e));
    OK(pa_sum(e, 0, NULL, 0, &L));
    pa_tensor *ins[2] = {x, z};
    CHECK_ERR(pa_grad(1, &L, NULL, 2, ins, 1, 0, out), PA_ERR_RUNTIME,
              "input 1) appears to not have been used");
    CHECK(out[0] == NULL && out[1] == NULL);
    OK(pa_grad(1, &L, NULL, 2, ins, 1, 1, out));
    CHECK(out[1] == NULL);
    CHECK_TENSOR(out[0], 1, ((int64_t[]){2}), ((double[]){exp(3), exp(-2)}), 1e-15);
    pa_tensor_release(out[0]);
    pa_tensor *g = NULL;
    OK(pa_get_grad(x, &g));
    CHECK(g == NULL);
    /* Backward ran with grad mode off: the gradient has no graph of its own, so there
     * is nothing to differentiate twice. */
    OK(pa_grad(1, &L, NULL, 1, &x, 0, 0, out));
    CHECK(!out[0]->requires_grad && out[0]->grad_fn == NULL);
    CHECK_ERR(pa_backward(out[0], NULL, 0), PA_ERR_RUNTIME, "does not require grad");
    pa_tensor_release(out[0]);
    CHECK_ERR(pa_grad(1, &L, NULL, 1, &x, 0, 0, out), PA_ERR_RUNTIME, "second time");
    CHECK(pa_is_grad_enabled());
    pa_tensor_release(e);
    pa_tensor_release(L);
    pa_tensor_release(x);
    pa_tensor_release(z);
    CHECK_LIVE(base);
}

/* In-place changes to a saved value, no_grad, detach. */
static void test_versions_and_modes(void) {
    live_counts base = live_now();
    pa_tensor *x = leaf(1, (int64_t[]){3}, (double[]){0, 1, 2}), *y = NULL, *L = NULL;
    OK(pa_unary(PA_UN_EXP, x, &y));  /* saves its output */
    OK(pa_sum(y, 0, NULL, 0, &L));
    CHECK_ERR(pa_binary_scalar_(PA_BIN_ADD, y, 1, 0), PA_ERR_RUNTIME, "in-place");
    pa_set_grad_enabled(0);
    CHECK(!pa_is_grad_enabled());
    OK(pa_binary_scalar_(PA_BIN_ADD, y, 1, 0));
    pa_tensor *n = NULL;
    OK(pa_binary(PA_BIN_MUL, x, x, &n));
    CHECK(!n->requires_grad && n->grad_fn == NULL);
    pa_tensor_release(n);
    pa_set_grad_enabled(1);
    CHECK_ERR(pa_backward(L, NULL, 0), PA_ERR_RUNTIME, "modified by an inplace operation");
    pa_tensor_release(L);
    pa_tensor_release(y);

    pa_tensor *d = NULL;
    OK(pa_detach(x, &d));
    CHECK(d->storage == x->storage && !d->requires_grad && !d->grad_fn);
    OK(pa_binary(PA_BIN_MUL, d, d, &n));
    CHECK(!n->requires_grad);
    pa_tensor_release(n);
    pa_tensor_release(d);
    OK(pa_unary(PA_UN_SIN, x, &y));
    CHECK_ERR(pa_set_requires_grad(y, 0), PA_ERR_RUNTIME, "only change requires_grad flags of leaf");
    pa_tensor_release(y);
    pa_tensor_release(x);
    CHECK_LIVE(base);
}

/* Hooks and custom functions: callbacks run, contexts are released exactly once. */
typedef struct {
    int calls, releases;
    double scale;
} callback_ctx;

static int scale_hook(void *ctx, pa_tensor *grad, pa_tensor **replacement) {
    callback_ctx *c = ctx;
    c->calls++;
    return pa_binary_scalar(PA_BIN_MUL, grad, c->scale, 1, 0, replacement);
}

static void count_release(void *ctx) { ((callback_ctx *)ctx)->releases++; }

static int triple_backward(void *ctx, pa_tensor *grad_output, int n_inputs, pa_tensor **grad_inputs) {
    callback_ctx *c = ctx;
    c->calls++;
    CHECK(n_inputs == 1);
    return pa_binary_scalar(PA_BIN_MUL, grad_output, c->scale, 1, 0, &grad_inputs[0]);
}

static void test_callbacks(void) {
    live_counts base = live_now();
    callback_ctx hc = {0, 0, 10}, fc = {0, 0, 3};
    pa_tensor *x = leaf(1, (int64_t[]){2}, (double[]){1, 2}), *y = NULL, *L = NULL;
    int64_t handle = 0, h2 = 0;
    OK(pa_register_hook(x, scale_hook, count_release, &hc, &handle));
    OK(pa_register_hook(x, scale_hook, count_release, &hc, &h2));
    OK(pa_remove_hook(x, h2));
    OK(pa_remove_hook(x, h2));  /* twice is fine */
    CHECK(hc.releases == 1);
    /* y = custom(x) with the value 2x but a backward of 3 * grad. */
    OK(pa_binary_scalar(PA_BIN_MUL, x, 2, 1, 0, &y));
    pa_tensor *yd = NULL;
    OK(pa_detach(y, &yd));
    pa_tensor_release(y);
    OK(pa_custom_function(1, &x, yd, triple_backward, count_release, &fc));
    CHECK(yd->requires_grad && strcmp(pa_node_name(yd->grad_fn), "CustomFunctionBackward") == 0);
    OK(pa_sum(yd, 0, NULL, 0, &L));
    OK(pa_backward(L, NULL, 0));
    CHECK(fc.calls == 1 && hc.calls == 1);
    CHECK_GRAD(x, ((double[]){30, 30}), 0);
    pa_tensor_release(L);
    CHECK(fc.releases == 0);
    pa_tensor_release(yd);
    CHECK(fc.releases == 1);
    CHECK_ERR(pa_custom_function(1, &x, x, triple_backward, count_release, &fc), PA_ERR_RUNTIME,
              "must be a new tensor");
    CHECK(fc.releases == 2);  /* released on the error path too */
    CHECK(hc.releases == 1);
    pa_tensor_release(x);
    CHECK(hc.releases == 2);  /* the hook dies with its tensor */
    pa_tensor *i = make(1, (int64_t[]){1}, PA_FLOAT64, (double[]){1});
    CHECK_ERR(pa_register_hook(i, scale_hook, NULL, &hc, &handle), PA_ERR_RUNTIME,
              "doesn't require gradient");
    pa_tensor_release(i);
    CHECK_LIVE(base);
}

/* A chain of 100000 nodes is freed without recursion. */
static void test_long_chain(void) {
    live_counts base = live_now();
    pa_tensor *x = leaf(0, NULL, (double[]){1}), *y = x;
    pa_tensor_retain(y);
    for (int i = 0; i < 100000; i++) {
        pa_tensor *z = NULL;
        OK(pa_binary_scalar(PA_BIN_ADD, y, 1, 1, 0, &z));
        pa_tensor_release(y);
        y = z;
    }
    CHECK(item(y) == 100001);
    CHECK(pa_live_nodes() == base.nodes + 100000);
    OK(pa_backward(y, NULL, 0));
    CHECK_GRAD(x, ((double[]){1}), 0);
    pa_tensor_release(y);
    pa_tensor_release(x);
    CHECK_LIVE(base);
}

/* Layers, forward and backward: conv2d against a direct sum, the rest for their gradient
 * identities (sum of softmax is 1, batch-normalised values have zero mean, ...). */
static void test_layers(void) {
    live_counts base = live_now();
    pa_manual_seed(5);
    pa_tensor *x = NULL, *w = NULL, *b = NULL, *y = NULL, *L = NULL;
    OK(pa_randn(4, (int64_t[]){2, 3, 5, 4}, PA_FLOAT64, &x));
    OK(pa_randn(4, (int64_t[]){4, 3, 3, 2}, PA_FLOAT64, &w));
    OK(pa_randn(1, (int64_t[]){4}, PA_FLOAT64, &b));
    OK(pa_set_requires_grad(x, 1));
    OK(pa_set_requires_grad(w, 1));
    OK(pa_set_requires_grad(b, 1));
    OK(pa_conv2d(x, w, b, 1, 2, 1, 0, 1, 1, 1, &y));  /* out (2, 4, 5, 2) */
    CHECK(y->ndim == 4 && y->shape[0] == 2 && y->shape[1] == 4 && y->shape[2] == 5 && y->shape[3] == 2);
    double xv[120], wv[72], bv[4], yv[80], want[80];
    values(x, xv);
    values(w, wv);
    values(b, bv);
    values(y, yv);
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 4; o++)
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 2; j++) {
                    double s = bv[o];
                    for (int c = 0; c < 3; c++)
                        for (int p = 0; p < 3; p++)
                            for (int q = 0; q < 2; q++) {
                                int r = i - 1 + p, col = 2 * j + q;
                                if (r >= 0 && r < 5 && col >= 0 && col < 4)
                                    s += xv[((n * 3 + c) * 5 + r) * 4 + col] * wv[((o * 3 + c) * 3 + p) * 2 + q];
                            }
                    want[((n * 4 + o) * 5 + i) * 2 + j] = s;
                }
    CHECK_TENSOR(y, 4, y->shape, want, 1e-13);
    /* Through pooling, normalisation, dropout and the losses, then back. */
    pa_tensor *pm = NULL, *pa = NULL, *ad = NULL, *bn = NULL, *ln = NULL, *dr = NULL, *lr = NULL;
    pa_tensor *rm = NULL, *rv = NULL, *s1 = NULL, *s2 = NULL, *s3 = NULL, *t = NULL;
    OK(pa_max_pool2d(y, 2, 2, 1, 1, 0, 0, 1, 1, 0, &pm, NULL));
    OK(pa_avg_pool2d(y, 2, 1, 2, 1, 1, 0, 1, 1, 0, &pa));
    OK(pa_adaptive_avg_pool2d(y, 1, 1, &ad));
    OK(pa_full(1, (int64_t[]){4}, PA_FLOAT64, 0, &rm));
    OK(pa_full(1, (int64_t[]){4}, PA_FLOAT64, 1, &rv));
    OK(pa_batch_norm(y, rm, rv, NULL, NULL, 1, 0.1, 1e-5, &bn));
    OK(pa_mean(bn, 3, (int64_t[]){0, 2, 3}, 0, &t));
    CHECK_TENSOR(t, 1, ((int64_t[]){4}), ((double[]){0, 0, 0, 0}), 1e-12);
    pa_tensor_release(t);
    OK(pa_layer_norm(y, 2, (int64_t[]){5, 2}, NULL, NULL, 1e-5, &ln));
    OK(pa_dropout(ln, 0.5, 1, &dr));
    OK(pa_leaky_relu(dr, 0.1, &lr));
    OK(pa_sum(pm, 0, NULL, 0, &s1));
    OK(pa_sum(pa, 0, NULL, 0, &s2));
    OK(pa_binary(PA_BIN_ADD, s1, s2, &t));
    pa_tensor_release(s1);
    OK(pa_sum(lr, 0, NULL, 0, &s3));
    OK(pa_binary(PA_BIN_ADD, t, s3, &s1));
    pa_tensor_release(t);
    pa_tensor_release(s3);
    OK(pa_sum(ad, 0, NULL, 0, &s3));
    OK(pa_binary(PA_BIN_ADD, s1, s3, &L));
    OK(pa_backward(L, NULL, 0));
    pa_tensor *g = NULL;
    OK(pa_get_grad(b, &g));
    CHECK(g && g->numel == 4);
    pa_tensor_release(g);
    pa_tensor *tmp[] = {pm, pa, ad, bn, ln, dr, lr, rm, rv, s1, s2, s3, L, y};
    for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) pa_tensor_release(tmp[i]);

    /* Embedding: rows of the table; the gradient lands on the rows used. */
    pa_tensor *table = leaf(2, (int64_t[]){3, 2}, (double[]){1, 2, 3, 4, 5, 6});
    pa_tensor *idx = make(2, (int64_t[]){2, 2}, PA_INT64, (double[]){2, 0, 2, 1}), *e = NULL;
    OK(pa_embedding(idx, table, 1, 1, &e));
    CHECK_TENSOR(e, 3, ((int64_t[]){2, 2, 2}), ((double[]){5, 6, 1, 2, 5, 6, 3, 4}), 0);
    OK(pa_sum(e, 0, NULL, 0, &L));
    OK(pa_backward(L, NULL, 0));
    CHECK_GRAD(table, ((double[]){1, 1, 0, 0, 2, 2}), 0);  /* padding row 1 gets none */
    pa_tensor_release(L);
    pa_tensor_release(e);
    pa_tensor_release(idx);
    pa_tensor_release(table);
    pa_tensor_release(x);
    pa_tensor_release(w);
    pa_tensor_release(b);
    CHECK_LIVE(base);
}

/* Cross-entropy's value and gradient by hand: mean over rows of logsumexp - x[target],
 * gradient (softmax - onehot) / N. */
static void test_cross_entropy(void) {
    live_counts base = live_now();
    double xv[6] = {1, 2, 0.5, -1, 0, 3};
    int64_t tv[2] = {1, 2};
    pa_tensor *x = leaf(2, (int64_t[]){2, 3}, xv);
    pa_tensor *t = make(1, (int64_t[]){2}, PA_INT64, (double[]){1, 2}), *L = NULL;
    OK(pa_cross_entropy(x, t, NULL, PA_REDUCTION_MEAN, -100, 0, &L));
    double want = 0, g[6];
    for (int i = 0; i < 2; i++) {
        double z = 0;
        for (int j = 0; j < 3; j++) z += exp(xv[i * 3 + j]);
        want += (log(z) - xv[i * 3 + tv[i]]) / 2;
        for (int j = 0; j < 3; j++) g[i * 3 + j] = (exp(xv[i * 3 + j]) / z - (j == tv[i])) / 2;
    }
    CHECK_NEAR(item(L), want, 1e-14);
    CHECK(strcmp(pa_node_name(L->grad_fn), "CrossEntropyBackward") == 0);
    OK(pa_backward(L, NULL, 0));
    CHECK_GRAD(x, g, 1e-14);
    pa_tensor_release(L);
    /* ignore_index drops a row from the mean. */
    OK(pa_cross_entropy(x, t, NULL, PA_REDUCTION_MEAN, 2, 0, &L));
    CHECK_NEAR(item(L), log(exp(1) + exp(2) + exp(0.5)) - 2, 1e-14);
    pa_tensor_release(L);
    pa_tensor_release(t);
    pa_tensor_release(x);
    CHECK_LIVE(base);
}

/* A 2-layer MLP, linear(4 -> 16) + relu + linear(16 -> 3), trained with SGD + momentum
 * on 24 points of 3 separable classes; float32 as in real use. */
static void test_training(void) {
    live_counts base = live_now();
    pa_manual_seed(7);
    enum { N = 24, IN = 4, HID = 16, OUT = 3 };
    double xv[N * IN], tv[N];
    for (int i = 0; i < N; i++) {
        tv[i] = i % 3;
        for (int j = 0; j < IN; j++) xv[i * IN + j] = (j == i % 3 ? 2.0 : 0.0) + 0.3 * sin(1.7 * i + j);
    }
    pa_tensor *x = make(2, (int64_t[]){N, IN}, PA_FLOAT32, xv), *t = make(1, (int64_t[]){N}, PA_INT64, tv);
    pa_tensor *params[4] = {NULL}, *bufs[4] = {NULL};
    int64_t shapes[4][2] = {{HID, IN}, {HID, 0}, {OUT, HID}, {OUT, 0}};
    for (int p = 0; p < 4; p++) {
        int nd = shapes[p][1] ? 2 : 1;
        OK(pa_empty(nd, shapes[p], PA_FLOAT32, &params[p]));
        OK(pa_uniform_(params[p], -0.5, 0.5));
        OK(pa_set_requires_grad(params[p], 1));
        OK(pa_full(nd, shapes[p], PA_FLOAT32, 0, &bufs[p]));
    }
    double first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        pa_tensor *h = NULL, *r = NULL, *logits = NULL, *loss = NULL;
        OK(pa_linear(x, params[0], params[1], &h));
        OK(pa_unary(PA_UN_RELU, h, &r));
        OK(pa_linear(r, params[2], params[3], &logits));
        OK(pa_cross_entropy(logits, t, NULL, PA_REDUCTION_MEAN, -100, 0, &loss));
        double v = item(loss);
        if (step == 0) first = v;
        last = v;
        for (int p = 0; p < 4; p++) OK(pa_set_grad(params[p], NULL));  /* zero_grad */
        OK(pa_backward(loss, NULL, 0));
        for (int p = 0; p < 4; p++) CHECK(params[p]->grad && params[p]->grad->dtype == PA_FLOAT32);
        OK(pa_sgd_step(4, params, bufs, 0.1, 0.9, 0, 0, 0, 0, step == 0));
        pa_tensor_release(h);
        pa_tensor_release(r);
        pa_tensor_release(logits);
        pa_tensor_release(loss);
        CHECK(pa_live_nodes() == base.nodes);  /* each step's graph is gone */
    }
    printf("  training: loss %.4f -> %.4f\n", first, last);
    CHECK(isfinite(first) && first > 0.5);
    CHECK(last < 0.25 * first);
    for (int p = 0; p < 4; p++) {
        pa_tensor_release(params[p]);
        pa_tensor_release(bufs[p]);
    }
    pa_tensor_release(x);
    pa_tensor_release(t);
    CHECK_LIVE(base);
}

/* One step of each optimizer against its formula on a single element. */
static void test_optimizers(void) {
    live_counts base = live_now();
    pa_tensor *p = leaf(1, (int64_t[]){1}, (double[]){1}), *g = make(1, (int64_t[]){1}, PA_FLOAT64, (double[]){0.5});
    pa_tensor *m = NULL, *v = NULL;
    OK(pa_set_grad(p, g));
    OK(pa_sgd_step(1, &p, NULL, 0.1, 0, 0, 0.01, 0, 0, 1));
    CHECK_NEAR(item(p), 1 - 0.1 * (0.5 + 0.01), 1e-15);
    OK(pa_full(1, (int64_t[]){1}, PA_FLOAT64, 0, &m));
    OK(pa_full(1, (int64_t[]){1}, PA_FLOAT64, 0, &v));
    double before = item(p), step = 1;
    OK(pa_adam_step(1, &p, &m, &v, NULL, &step, 0.01, 0.9, 0.999, 1e-8, 0, 0, 0, 0));
    /* Bias-corrected first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps). */
    CHECK_NEAR(item(p), before - 0.01 * 0.5 / (0.5 + 1e-8), 1e-12);
    CHECK_NEAR(item(m), 0.05, 1e-15);
    CHECK_NEAR(item(v), 0.001 * 0.25, 1e-15);
    CHECK_ERR(pa_adam_step(1, &p, &m, &v, NULL, (double[]){0}, 0.01, 0.9, 0.999, 1e-8, 0, 0, 0, 0),
              PA_ERR_VALUE, "must be >= 1");
    CHECK_ERR(pa_sgd_step(1, &p, NULL, 0.1, 0.9, 0, 0, 0, 0, 1), PA_ERR_VALUE, "needs momentum buffers");
    pa_tensor_release(m);
    pa_tensor_release(v);
    pa_tensor_release(g);
    pa_tensor_release(p);
    CHECK_LIVE(base);
}

/* In-place ops recorded by the graph (the tensor's history moves to the op's node):
 * h = 2w; h *= w (the node keeps a copy of h's old values); h += 1; a <- relu(h) via
 * pa_assign_.  L = sum(relu(2 w^2 + 1)) for w = (0.5, -2): dL/dw = 4w where 2w^2+1 > 0.
 * No cycle: everything is freed when the tensors are released. */
static void test_inplace_recorded(void) {
    live_counts base = live_now();
    pa_tensor *w = leaf(1, (int64_t[]){2}, (double[]){0.5, -2}), *h = NULL, *r = NULL, *L = NULL;
    OK(pa_binary_scalar(PA_BIN_MUL, w, 2, 1, 0, &h));
    pa_node *first = h->grad_fn;
    OK(pa_binary_(PA_BIN_MUL, h, w));
    CHECK(h->grad_fn != first && strcmp(pa_node_name(h->grad_fn), "MulBackward") == 0);
    OK(pa_binary_scalar_(PA_BIN_ADD, h, 1, 0));
    OK(pa_unary(PA_UN_RELU, h, &r));
    OK(pa_assign_(h, r, "relu"));
    pa_tensor_release(r);
    CHECK_TENSOR(h, 1, ((int64_t[]){2}), ((double[]){1.5, 9}), 0);
    OK(pa_sum(h, 0, NULL, 0, &L));
    OK(pa_backward(L, NULL, 0));
    CHECK_GRAD(w, ((double[]){2, -8}), 1e-15);
    /* A leaf that requires grad, and a tensor a view shares, are refused. */
    CHECK_ERR(pa_binary_scalar_(PA_BIN_ADD, w, 1, 0), PA_ERR_RUNTIME, "leaf Variable");
    pa_tensor *h2 = NULL, *v = NULL;
    OK(pa_binary_scalar(PA_BIN_MUL, w, 3, 1, 0, &h2));
    OK(pa_slice(h2, 0, 0, 1, 1, &v));
    CHECK_ERR(pa_binary_scalar_(PA_BIN_ADD, h2, 1, 0), PA_ERR_RUNTIME, "memory other tensors share");
    pa_tensor *list[] = {w, h, L, h2, v};
    for (int i = 0; i < 5; i++) pa_tensor_release(list[i]);
    CHECK_LIVE(base);
}

/* x[i, j] (adjacent), x[i, :, j] (separated) and their accumulating gradients; an
 * in-place fill through pa_index_multi_put; nll_loss's value and gradient. */
static void test_index_multi_and_nll(void) {
    live_counts base = live_now();
    double xv[24];
    for (int k = 0; k < 24; k++) xv[k] = k;
    pa_tensor *x = leaf(2, (int64_t[]){3, 4}, xv), *o = NULL, *L = NULL;
    pa_tensor *i = make(1, (int64_t[]){3}, PA_INT64, (double[]){2, 0, 2});
    pa_tensor *j = make(1, (int64_t[]){3}, PA_INT64, (double[]){-1, 1, 3});
    OK(pa_index_multi(x, 2, (int64_t[]){0, 1}, (pa_tensor *[]){i, j}, &o));
    CHECK(o->ndim == 1 && o->shape[0] == 3);
    OK(pa_sum(o, 0, NULL, 0, &L));
    CHECK_NEAR(item(L), 11 + 1 + 11, 0);
    OK(pa_backward(L, NULL, 0));
    double g[12] = {0};
    g[11] = 2;
    g[1] = 1;
    CHECK_GRAD(x, g, 0);
    pa_tensor_release(L);
    pa_tensor_release(o);
    pa_tensor *bad = make(1, (int64_t[]){1}, PA_INT64, (double[]){4});
    CHECK_ERR(pa_index_multi(x, 2, (int64_t[]){0, 1}, (pa_tensor *[]){bad, j}, &o), PA_ERR_INDEX,
              "index 4 is out of bounds for dimension 0 with size 3");
    pa_tensor *y = leaf(3, (int64_t[]){2, 3, 4}, xv);
    pa_tensor *i2 = make(1, (int64_t[]){2}, PA_INT64, (double[]){1, 0});
    pa_tensor *j2 = make(1, (int64_t[]){2}, PA_INT64, (double[]){3, 0});
    OK(pa_index_multi(y, 2, (int64_t[]){0, 2}, (pa_tensor *[]){i2, j2}, &o));
    CHECK(o->ndim == 2 && o->shape[0] == 2 && o->shape[1] == 3);
    OK(pa_sum(o, 0, NULL, 0, &L));
    CHECK_NEAR(item(L), (15 + 19 + 23) + (0 + 4 + 8), 0);
    pa_tensor_release(L);
    pa_tensor_release(o);
    pa_tensor *z = make(2, (int64_t[]){3, 4}, PA_FLOAT64, xv);
    OK(pa_index_multi_put(z, 2, (int64_t[]){0, 1}, (pa_tensor *[]){i, j}, NULL, -1, PA_SCATTER_FILL));
    OK(pa_sum(z, 0, NULL, 0, &L));
    CHECK_NEAR(item(L), 66 - 11 - 1 - 2, 0);
    pa_tensor_release(L);
    CHECK_ERR(pa_index_multi_put(x, 2, (int64_t[]){0, 1}, (pa_tensor *[]){i, j}, NULL, 0, PA_SCATTER_FILL),
              PA_ERR_RUNTIME, "records no gradient");
    /* nll_loss: mean over the counted row only. */
    pa_tensor *t = make(1, (int64_t[]){3}, PA_INT64, (double[]){1, -100, 3});
    OK(pa_set_grad(x, NULL));
    OK(pa_nll_loss(x, t, NULL, PA_REDUCTION_MEAN, -100, &L));
    CHECK_NEAR(item(L), -(1 + 11) / 2.0, 1e-15);
    CHECK(strcmp(pa_node_name(L->grad_fn), "NllLossBackward") == 0);
    OK(pa_backward(L, NULL, 0));
    double g2[12] = {0};
    g2[1] = g2[11] = -0.5;
    CHECK_GRAD(x, g2, 1e-15);
    pa_tensor_release(L);
    pa_tensor *t_bad = make(1, (int64_t[]){3}, PA_INT64, (double[]){1, 4, -100});
    CHECK_ERR(pa_nll_loss(x, t_bad, NULL, PA_REDUCTION_SUM, -100, &L), PA_ERR_INDEX,
              "target 4 is out of bounds for 4 classes");
    pa_tensor *objs[] = {x, i, j, bad, y, i2, j2, z, t, t_bad};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++) pa_tensor_release(objs[k]);
    CHECK_LIVE(base);
}

int main(void) {
    live_counts base = live_now();
    RUN(test_graph);
    RUN(test_retain_graph);
    RUN(test_view_grads);
    RUN(test_autograd_grad);
    RUN(test_versions_and_modes);
    RUN(test_callbacks);
    RUN(test_long_chain);
    RUN(test_layers);
    RUN(test_cross_entropy);
    RUN(test_training);
    RUN(test_optimizers);
    RUN(test_inplace_recorded);
    RUN(test_index_multi_and_nll);
    CHECK_LIVE(base);
    return check_finish("test_autograd");
}
