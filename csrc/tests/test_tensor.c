/* C tests of tensors without autograd: creation and release, views and contiguous
 * copies, elementwise ops with broadcasting and type promotion, reductions, and the
 * error paths of bad shapes, dims, indices and dtypes.  Every value is checked against
 * one computed here by hand or with libm. */
#include "check.h"

/* from_blob's release callback: counts calls. */
static void count_release(void *ctx) { (*(int *)ctx)++; }

static void test_creation(void) {
    live_counts base = live_now();
    int64_t s23[2] = {2, 3};
    pa_tensor *t = NULL;
    OK(pa_full(2, s23, PA_FLOAT32, 1.5, &t));
    CHECK(t->ndim == 2 && t->numel == 6 && t->dtype == PA_FLOAT32);
    CHECK(t->strides[0] == 3 && t->strides[1] == 1 && pa_tensor_is_contiguous(t));
    CHECK(t->refcount == 1 && !t->requires_grad && !t->grad && !t->grad_fn);
    CHECK(pa_live_tensors() == base.tensors + 1);
    CHECK(pa_live_storage_bytes() == base.bytes + 6 * 4);
    double ones[6] = {1.5, 1.5, 1.5, 1.5, 1.5, 1.5};
    CHECK_TENSOR(t, 2, s23, ones, 0);
    pa_tensor_retain(t);
    CHECK(t->refcount == 2);
    pa_tensor_release(t);
    CHECK(pa_live_tensors() == base.tensors + 1);
    pa_tensor_release(t);
    CHECK(pa_live_tensors() == base.tensors);
    CHECK(pa_live_storage_bytes() == base.bytes);
    pa_tensor_release(NULL);  /* allowed, like free(NULL) */

    OK(pa_arange(0, 5, 1, PA_INT64, &t));
    int64_t s5[1] = {5};
    CHECK_TENSOR(t, 1, s5, ((double[]){0, 1, 2, 3, 4}), 0);
    pa_tensor_release(t);
    OK(pa_arange(1, 0, -0.25, PA_FLOAT64, &t));
    int64_t s4[1] = {4};
    CHECK_TENSOR(t, 1, s4, ((double[]){1, 0.75, 0.5, 0.25}), 0);
    pa_tensor_release(t);
    OK(pa_linspace(0, 1, 5, PA_FLOAT64, &t));
    CHECK_TENSOR(t, 1, s5, ((double[]){0, 0.25, 0.5, 0.75, 1}), 0);
    pa_tensor_release(t);
    OK(pa_eye(2, 3, PA_FLOAT32, &t));
    CHECK_TENSOR(t, 2, s23, ((double[]){1, 0, 0, 0, 1, 0}), 0);
    pa_tensor_release(t);
    OK(pa_eye(3, -1, PA_INT64, &t));
    CHECK(t->shape[0] == 3 && t->shape[1] == 3 && t->dtype == PA_INT64);
    pa_tensor_release(t);

    /* 0-dim, empty and bool tensors. */
    OK(pa_full(0, NULL, PA_FLOAT64, -2.25, &t));
    CHECK(t->ndim == 0 && t->numel == 1);
    CHECK(item(t) == -2.25);
    pa_tensor_release(t);
    int64_t s0[2] = {3, 0};
    OK(pa_empty(2, s0, PA_FLOAT32, &t));
    CHECK(t->numel == 0);
    pa_tensor_release(t);
    OK(pa_full(1, s4, PA_BOOL, 7, &t));
    CHECK_TENSOR(t, 1, s4, ((double[]){1, 1, 1, 1}), 0);
    pa_tensor_release(t);

    /* from_data copies; from_blob wraps and calls release once, after the last view. */
    double src[6] = {1, 2, 3, 4, 5, 6};
    OK(pa_from_data(src, sizeof src, 2, s23, PA_FLOAT64, &t));
    src[0] = 100;
    CHECK_TENSOR(t, 2, s23, ((double[]){1, 2, 3, 4, 5, 6}), 0);
    pa_tensor_release(t);
    float blob[6] = {0, 1, 2, 3, 4, 5};
    int released = 0;
    int64_t st[2] = {1, 2};  /* a (2, 3) view of a column-major buffer */
    OK(pa_from_blob(blob, 2, s23, st, PA_FLOAT32, sizeof blob, count_release, &released, &t));
    CHECK(!pa_tensor_is_contiguous(t));
    CHECK_TENSOR(t, 2, s23, ((double[]){0, 2, 4, 1, 3, 5}), 0);
    CHECK(pa_live_storage_bytes() == base.bytes);  /* external memory is not counted */
    pa_tensor *row = NULL;
    OK(pa_select(t, 0, 1, &row));
    pa_tensor_release(t);
    CHECK(released == 0);
    CHECK_TENSOR(row, 1, (int64_t[]){3}, ((double[]){1, 3, 5}), 0);
    blob[3] = 30;  /* shared, not copied */
    double r1 = NAN;
    pa_tensor *e = NULL;
    OK(pa_select(row, 0, 1, &e));
    OK(pa_item(e, &r1));
    CHECK(r1 == 30);
    pa_tensor_release(e);
    pa_tensor_release(row);
    CHECK(released == 1);

    /* Random numbers: reproducible from a seed, in range. */
    int64_t s100[1] = {100};
    pa_tensor *r = NULL, *r2 = NULL;
    pa_manual_seed(42);
    CHECK(pa_initial_seed() == 42);
    OK(pa_rand(1, s100, PA_FLOAT64, &r));
    pa_manual_seed(42);
    OK(pa_rand(1, s100, PA_FLOAT64, &r2));
    double a[100], b[100];
    values(r, a);
    values(r2, b);
    int same = 1, inside = 1;
    for (int i = 0; i < 100; i++) {
        same &= a[i] == b[i];
        inside &= a[i] >= 0 && a[i] < 1;
    }
    CHECK(same && inside);
    pa_tensor_release(r);
    pa_tensor_release(r2);
    OK(pa_randint(-3, 4, 1, s100, &r));
    values(r, a);
    inside = 1;
    for (int i = 0; i < 100; i++) inside &= a[i] >= -3 && a[i] < 4 && a[i] == floor(a[i]);
    CHECK(inside && r->dtype == PA_INT64);
    pa_tensor_release(r);
    OK(pa_randperm(50, &r));
    values(r, a);
    int seen[50] = {0};
    for (int i = 0; i < 50; i++)
        if (a[i] >= 0 && a[i] < 50) seen[(int)a[i]]++;
    int perm = 1;
    for (int i = 0; i < 50; i++) perm &= seen[i] == 1;
    CHECK(perm);
    pa_tensor_release(r);
    CHECK_LIVE(base);
}

/* A (3, 4) float64 tensor holding 0 .. 11. */
static pa_tensor *grid(void) {
    pa_tensor *a = NULL, *g = NULL;
    OK(pa_arange(0, 12, 1, PA_FLOAT64, &a));
    OK(pa_reshape(a, 2, (int64_t[]){3, 4}, &g));
    pa_tensor_release(a);
    return g;
}

static void test_views(void) {
    live_counts base = live_now();
    pa_tensor *a = grid(), *t = NULL, *c = NULL, *v = NULL;
    CHECK(pa_tensor_is_contiguous(a));

    /* as_strided: a view anywhere inside the storage, nothing outside it. */
    OK(pa_as_strided(a, 2, (int64_t[]){2, 2}, (int64_t[]){1, 1}, 1, &v));
    CHECK(v->storage == a->storage && v->offset == 1 && v->strides[0] == 1 && v->numel == 4);
    pa_tensor_release(v);
    v = NULL;
    CHECK_ERR(pa_as_strided(a, 2, (int64_t[]){3, 4}, (int64_t[]){4, 1}, 1, &v), PA_ERR_RUNTIME,
              "reaches element 12, but the storage holds 12");
    CHECK_ERR(pa_as_strided(a, 1, (int64_t[]){3}, (int64_t[]){INT64_MAX / 2 + 1}, 0, &v), PA_ERR_RUNTIME,
              "reaches element 9223372036854775807");
    CHECK_ERR(pa_as_strided(a, 1, (int64_t[]){2}, (int64_t[]){-1}, 3, &v), PA_ERR_RUNTIME, "Negative strides");
    CHECK_ERR(pa_as_strided(a, 1, (int64_t[]){-2}, (int64_t[]){1}, 0, &v), PA_ERR_VALUE, "as_strided");
    CHECK(v == NULL);

    /* transpose: a view with swapped strides; contiguous() copies it. */
    OK(pa_transpose(a, 0, 1, &t));
    CHECK(t->storage == a->storage);
    CHECK(t->shape[0] == 4 && t->shape[1] == 3 && t->strides[0] == 1 && t->strides[1] == 4);
    CHECK(!pa_tensor_is_contiguous(t));
    double at[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    CHECK_TENSOR(t, 2, ((int64_t[]){4, 3}), at, 0);
    OK(pa_contiguous(t, &c));
    CHECK(c != t && c->storage != a->storage && pa_tensor_is_contiguous(c));
    CHECK(c->strides[0] == 3 && c->strides[1] == 1);
    CHECK_TENSOR(c, 2, ((int64_t[]){4, 3}), at, 0);
    pa_tensor_release(c);
    OK(pa_contiguous(a, &c));
    CHECK(c == a && a->refcount == 2);  /* already contiguous: the same tensor */
    pa_tensor_release(c);

    /* view needs compatible strides; reshape copies when they are not. */
    CHECK_ERR(pa_view(t, 1, (int64_t[]){12}, &v), PA_ERR_RUNTIME, "Use .reshape");
    OK(pa_reshape(t, 1, (int64_t[]){-1}, &v));
    CHECK(v->storage != a->storage);
    CHECK_TENSOR(v, 1, ((int64_t[]){12}), at, 0);
    pa_tensor_release(v);
    OK(pa_view(a, 3, (int64_t[]){2, -1, 3}, &v));
    CHECK(v->storage == a->storage && v->shape[1] == 2);
    pa_tensor_release(v);
    pa_tensor_release(t);

    /* slice a[:, 1:4:2] and select a[-1]. */
    OK(pa_slice(a, 1, 1, 4, 2, &v));
    CHECK(v->shape[0] == 3 && v->shape[1] == 2 && v->strides[1] == 2 && v->offset == 1);
    CHECK_TENSOR(v, 2, ((int64_t[]){3, 2}), ((double[]){1, 3, 5, 7, 9, 11}), 0);
    /* Writes through the view reach the base tensor. */
    OK(pa_fill_(v, -1));
    CHECK_TENSOR(a, 2, ((int64_t[]){3, 4}),
                 ((double[]){0, -1, 2, -1, 4, -1, 6, -1, 8, -1, 10, -1}), 0);
    CHECK(pa_tensor_version(a) == 1);
    pa_tensor_release(v);
    OK(pa_slice(a, 0, 2, 2, 1, &v));  /* empty */
    CHECK(v->numel == 0 && v->shape[0] == 0);
    pa_tensor_release(v);
    OK(pa_select(a, 0, -1, &v));
    CHECK_TENSOR(v, 1, ((int64_t[]){4}), ((double[]){8, -1, 10, -1}), 0);
    pa_tensor_release(v);

    /* expand: stride 0 on the broadcast dim. */
    pa_tensor *col = make(2, (int64_t[]){3, 1}, PA_FLOAT32, (double[]){1, 2, 3});
    OK(pa_expand(col, 3, (int64_t[]){2, 3, 4}, &v));
    CHECK(v->strides[0] == 0 && v->strides[1] == 1 && v->strides[2] == 0);
    double ex[24];
    for (int i = 0; i < 24; i++) ex[i] = 1 + (i / 4) % 3;
    CHECK_TENSOR(v, 3, ((int64_t[]){2, 3, 4}), ex, 0);
    OK(pa_contiguous(v, &c));
    CHECK(pa_tensor_is_contiguous(c) && pa_live_storage_bytes() == base.bytes + 12 * 8 + 3 * 4 + 24 * 4);
    CHECK_TENSOR(c, 3, ((int64_t[]){2, 3, 4}), ex, 0);
    pa_tensor_release(c);
    pa_tensor_release(v);

    /* unsqueeze / squeeze / permute. */
    OK(pa_unsqueeze(col, 0, &v));
    CHECK(v->ndim == 3 && v->shape[0] == 1 && v->shape[1] == 3 && v->shape[2] == 1);
    OK(pa_squeeze(v, 0, 0, &t));
    CHECK(t->ndim == 1 && t->shape[0] == 3);
    pa_tensor_release(t);
    OK(pa_squeeze(v, 1, -1, &t));
    CHECK(t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 3);
    pa_tensor_release(t);
    pa_tensor_release(v);
    pa_tensor_release(col);
    pa_tensor *b = NULL, *p = NULL;
    OK(pa_arange(0, 24, 1, PA_FLOAT32, &t));
    OK(pa_reshape(t, 3, (int64_t[]){2, 3, 4}, &b));
    pa_tensor_release(t);
    OK(pa_permute(b, 3, (int64_t[]){2, 0, 1}, &p));
    CHECK(p->shape[0] == 4 && p->shape[1] == 2 && p->shape[2] == 3);
    double pv[24];
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) pv[k * 6 + i * 3 + j] = i * 12 + j * 4 + k;
    CHECK_TENSOR(p, 3, ((int64_t[]){4, 2, 3}), pv, 0);
    pa_tensor_release(p);
    pa_tensor_release(b);

    /* clone, cat, stack, index_select, gather. */
    OK(pa_clone(a, &c));
    CHECK(c->storage != a->storage);
    pa_tensor *parts[2] = {a, c}, *cat = NULL;
    OK(pa_cat(2, parts, 1, &cat));
    CHECK(cat->shape[0] == 3 && cat->shape[1] == 8);
    double cv[24], av[12];
    values(a, av);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 8; j++) cv[i * 8 + j] = av[i * 4 + j % 4];
    CHECK_TENSOR(cat, 2, ((int64_t[]){3, 8}), cv, 0);
    pa_tensor_release(cat);
    OK(pa_stack(2, parts, 0, &cat));
    CHECK(cat->ndim == 3 && cat->shape[0] == 2 && cat->shape[1] == 3 && cat->shape[2] == 4);
    pa_tensor_release(cat);
    pa_tensor_release(c);
    pa_tensor *idx = make(1, (int64_t[]){3}, PA_INT64, (double[]){2, 0, -1});
    OK(pa_index_select(a, 0, idx, &v));
    CHECK_TENSOR(v, 2, ((int64_t[]){3, 4}),
                 ((double[]){8, -1, 10, -1, 0, -1, 2, -1, 8, -1, 10, -1}), 0);
    pa_tensor_release(v);
    pa_tensor_release(idx);
    idx = make(2, (int64_t[]){3, 1}, PA_INT64, (double[]){3, 0, 2});
    OK(pa_gather(a, 1, idx, &v));
    CHECK_TENSOR(v, 2, ((int64_t[]){3, 1}), ((double[]){-1, 4, 10}), 0);
    pa_tensor_release(v);
    pa_tensor_release(idx);

    /* copy_ broadcasts and casts. */
    pa_tensor *row = make(1, (int64_t[]){4}, PA_INT64, (double[]){7, 8, 9, 10});
    OK(pa_copy_(a, row));
    CHECK_TENSOR(a, 2, ((int64_t[]){3, 4}), ((double[]){7, 8, 9, 10, 7, 8, 9, 10, 7, 8, 9, 10}), 0);
    pa_tensor_release(row);
    pa_tensor_release(a);
    CHECK_LIVE(base);
}

static void test_elementwise(void) {
    live_counts base = live_now();
    /* (2, 3) float32 + (3,) float64: broadcast, promoted to float64. */
    double av[6] = {1, -2, 3, 0.5, 4, -6}, bv[3] = {10, 20, 30};
    pa_tensor *a = make(2, (int64_t[]){2, 3}, PA_FLOAT32, av);
    pa_tensor *b = make(1, (int64_t[]){3}, PA_FLOAT64, bv);
    int64_t s23[2] = {2, 3};
    double want[6];
    pa_tensor *o = NULL;
    static const int ops[] = {PA_BIN_ADD, PA_BIN_SUB, PA_BIN_MUL, PA_BIN_DIV, PA_BIN_MAXIMUM,
                              PA_BIN_MINIMUM};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        for (int i = 0; i < 6; i++) {
            double x = av[i], y = bv[i % 3];
            switch (ops[k]) {
            case PA_BIN_ADD: want[i] = x + y; break;
            case PA_BIN_SUB: want[i] = x - y; break;
            case PA_BIN_MUL: want[i] = x * y; break;
            case PA_BIN_DIV: want[i] = x / y; break;
            case PA_BIN_MAXIMUM: want[i] = x > y ? x : y; break;
            default: want[i] = x < y ? x : y; break;
            }
        }
        OK(pa_binary(ops[k], a, b, &o));
        CHECK(o->dtype == PA_FLOAT64);
        CHECK_TENSOR(o, 2, s23, want, 1e-15);
        pa_tensor_release(o);
    }

    /* (2, 1) * (1, 3): an outer product, and pow. */
    pa_tensor *c = make(2, (int64_t[]){2, 1}, PA_FLOAT64, (double[]){2, 3});
    pa_tensor *r = make(2, (int64_t[]){1, 3}, PA_FLOAT64, (double[]){1, 2, 0.5});
    OK(pa_binary(PA_BIN_MUL, c, r, &o));
    CHECK_TENSOR(o, 2, s23, ((double[]){2, 4, 1, 3, 6, 1.5}), 0);
    pa_tensor_release(o);
    OK(pa_binary(PA_BIN_POW, c, r, &o));
    CHECK_TENSOR(o, 2, s23, ((double[]){2, 4, sqrt(2), 3, 9, sqrt(3)}), 1e-15);
    pa_tensor_release(o);

    /* Comparisons give bool; where picks. */
    pa_tensor *mask = NULL;
    OK(pa_binary(PA_BIN_GT, a, b, &mask));
    CHECK(mask->dtype == PA_BOOL);
    CHECK_TENSOR(mask, 2, s23, ((double[]){0, 0, 0, 0, 0, 0}), 0);
    pa_tensor_release(mask);
    pa_tensor *zero = NULL;
    OK(pa_full(0, NULL, PA_FLOAT32, 0, &zero));
    OK(pa_binary(PA_BIN_GE, a, zero, &mask));
    CHECK_TENSOR(mask, 2, s23, ((double[]){1, 0, 1, 1, 1, 0}), 0);
    OK(pa_where(mask, a, zero, &o));
    CHECK(o->dtype == PA_FLOAT32);
    CHECK_TENSOR(o, 2, s23, ((double[]){1, 0, 3, 0.5, 4, 0}), 0);
    pa_tensor_release(o);
    pa_tensor_release(mask);
    pa_tensor_release(zero);

    /* Scalars: 100 - a, and an int64 tensor times a float scalar is float32. */
    OK(pa_binary_scalar(PA_BIN_SUB, a, 100, 1, 1, &o));
    CHECK(o->dtype == PA_FLOAT32);
    CHECK_TENSOR(o, 2, s23, ((double[]){99, 102, 97, 99.5, 96, 106}), 0);
    pa_tensor_release(o);
    pa_tensor *n = make(1, (int64_t[]){3}, PA_INT64, (double[]){1, 2, 3});
    OK(pa_binary_scalar(PA_BIN_MUL, n, 0.5, 1, 0, &o));
    CHECK(o->dtype == PA_FLOAT32);
    CHECK_TENSOR(o, 1, ((int64_t[]){3}), ((double[]){0.5, 1, 1.5}), 0);
    pa_tensor_release(o);
    OK(pa_binary_scalar(PA_BIN_MUL, n, 2, 0, 0, &o));
    CHECK(o->dtype == PA_INT64);
    pa_tensor_release(o);
    pa_tensor_release(n);

    /* Unary functions against libm (float64), and relu on float32. */
    double xv[5] = {0.25, 0.5, 1, 2, 3.5};
    pa_tensor *x = make(1, (int64_t[]){5}, PA_FLOAT64, xv);
    static const int uops[] = {PA_UN_NEG, PA_UN_EXP, PA_UN_LOG, PA_UN_SQRT, PA_UN_TANH,
                               PA_UN_SIGMOID, PA_UN_SIN, PA_UN_COS, PA_UN_RSQRT, PA_UN_LOG1P,
                               PA_UN_EXPM1, PA_UN_SQUARE, PA_UN_RECIPROCAL, PA_UN_ERF,
                               PA_UN_ERFC, PA_UN_LOG2, PA_UN_LOG10};
    for (size_t k = 0; k < sizeof uops / sizeof uops[0]; k++) {
        double w[5];
        for (int i = 0; i < 5; i++) {
            double v = xv[i];
            switch (uops[k]) {
            case PA_UN_NEG: w[i] = -v; break;
            case PA_UN_EXP: w[i] = exp(v); break;
            case PA_UN_LOG: w[i] = log(v); break;
            case PA_UN_SQRT: w[i] = sqrt(v); break;
            case PA_UN_TANH: w[i] = tanh(v); break;
            case PA_UN_SIGMOID: w[i] = 1 / (1 + exp(-v)); break;
            case PA_UN_SIN: w[i] = sin(v); break;
            case PA_UN_COS: w[i] = cos(v); break;
            case PA_UN_RSQRT: w[i] = 1 / sqrt(v); break;
            case PA_UN_LOG1P: w[i] = log1p(v); break;
            case PA_UN_EXPM1: w[i] = expm1(v); break;
            case PA_UN_SQUARE: w[i] = v * v; break;
            case PA_UN_ERF: w[i] = erf(v); break;
            case PA_UN_ERFC: w[i] = erfc(v); break;
            case PA_UN_LOG2: w[i] = log2(v); break;
            case PA_UN_LOG10: w[i] = log10(v); break;
            default: w[i] = 1 / v; break;
            }
        }
        OK(pa_unary(uops[k], x, &o));
        CHECK(o->dtype == PA_FLOAT64);
        CHECK_TENSOR(o, 1, ((int64_t[]){5}), w, 1e-14);
        pa_tensor_release(o);
    }
    pa_tensor_release(x);
    OK(pa_unary(PA_UN_RELU, a, &o));
    CHECK_TENSOR(o, 2, s23, ((double[]){1, 0, 3, 0.5, 4, 0}), 0);
    pa_tensor_release(o);
    OK(pa_unary(PA_UN_ABS, a, &o));
    CHECK_TENSOR(o, 2, s23, ((double[]){1, 2, 3, 0.5, 4, 6}), 0);
    pa_tensor_release(o);
    OK(pa_clamp(a, -1, 2, 1, 1, &o));
    CHECK_TENSOR(o, 2, s23, ((double[]){1, -1, 2, 0.5, 2, -1}), 0);
    pa_tensor_release(o);
    OK(pa_to_dtype(a, PA_INT64, &o));
    CHECK(o->dtype == PA_INT64);
    CHECK_TENSOR(o, 2, s23, ((double[]){1, -2, 3, 0, 4, -6}), 0);
    pa_tensor_release(o);
    OK(pa_leaky_relu(a, 0.5, &o));
    CHECK_TENSOR(o, 2, s23, ((double[]){1, -1, 3, 0.5, 4, -3}), 0);
    pa_tensor_release(o);

    /* Ops on a non-contiguous view (a transposed). */
    pa_tensor *t = NULL;
    OK(pa_transpose(a, 0, 1, &t));
    OK(pa_binary(PA_BIN_MUL, t, t, &o));
    CHECK_TENSOR(o, 2, ((int64_t[]){3, 2}), ((double[]){1, 0.25, 4, 16, 9, 36}), 0);
    pa_tensor_release(o);
    pa_tensor_release(t);

    /* In place: a += b32 broadcast, a *= 2; a float result can't go into an int64. */
    pa_tensor *b32 = make(1, (int64_t[]){3}, PA_FLOAT32, bv);
    OK(pa_binary_(PA_BIN_ADD, a, b32));
    OK(pa_binary_scalar_(PA_BIN_MUL, a, 2, 0));
    CHECK_TENSOR(a, 2, s23, ((double[]){22, 36, 66, 21, 48, 48}), 0);
    CHECK(pa_tensor_version(a) == 2);
    n = make(1, (int64_t[]){3}, PA_INT64, (double[]){1, 2, 3});
    CHECK_ERR(pa_binary_(PA_BIN_ADD, n, b32), PA_ERR_TYPE,
              "result type float32 can't be cast to the desired output type int64");
    pa_tensor_release(n);
    pa_tensor_release(b32);

    pa_tensor_release(a);
    pa_tensor_release(b);
    pa_tensor_release(c);
    pa_tensor_release(r);
    CHECK_LIVE(base);
}

static void test_reductions(void) {
    live_counts base = live_now();
    /* x (2, 3, 4) = 0 .. 23 as float32. */
    pa_tensor *r = NULL, *x = NULL, *o = NULL, *ix = NULL;
    OK(pa_arange(0, 24, 1, PA_FLOAT32, &r));
    OK(pa_reshape(r, 3, (int64_t[]){2, 3, 4}, &x));
    pa_tensor_release(r);

    OK(pa_sum(x, 0, NULL, 0, &o));
    CHECK(o->ndim == 0 && item(o) == 276);
    pa_tensor_release(o);
    OK(pa_mean(x, 0, NULL, 0, &o));
    CHECK(item(o) == 11.5);
    pa_tensor_release(o);
    double s0[12], s1[8], s2[6], s02[3];
    for (int j = 0; j < 12; j++) s0[j] = j + (j + 12);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) s1[i * 4 + k] = 3 * (12 * i + k) + 4 + 8;
    for (int i = 0; i < 6; i++) s2[i] = 4 * (4 * i) + 6;
    for (int j = 0; j < 3; j++) s02[j] = 0;
    for (int i = 0; i < 24; i++) s02[(i / 4) % 3] += i;
    OK(pa_sum(x, 1, (int64_t[]){0}, 0, &o));
    CHECK_TENSOR(o, 2, ((int64_t[]){3, 4}), s0, 0);
    pa_tensor_release(o);
    OK(pa_sum(x, 1, (int64_t[]){1}, 1, &o));
    CHECK_TENSOR(o, 3, ((int64_t[]){2, 1, 4}), s1, 0);
    pa_tensor_release(o);
    OK(pa_sum(x, 1, (int64_t[]){-1}, 0, &o));
    CHECK_TENSOR(o, 2, ((int64_t[]){2, 3}), s2, 0);
    pa_tensor_release(o);
    OK(pa_sum(x, 2, (int64_t[]){0, 2}, 0, &o));
    CHECK_TENSOR(o, 1, ((int64_t[]){3}), s02, 0);
    pa_tensor_release(o);
    OK(pa_mean(x, 2, (int64_t[]){2, 0}, 1, &o));
    for (int j = 0; j < 3; j++) s02[j] /= 8;
    CHECK_TENSOR(o, 3, ((int64_t[]){1, 3, 1}), s02, 1e-7);
    pa_tensor_release(o);

    /* A reduction over a permuted (non-contiguous) view. */
    pa_tensor *p = NULL;
    OK(pa_permute(x, 3, (int64_t[]){2, 1, 0}, &p));
    OK(pa_sum(p, 1, (int64_t[]){2}, 0, &o));
    double sp[12];
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++) sp[k * 3 + j] = (4 * j + k) + (12 + 4 * j + k);
    CHECK_TENSOR(o, 2, ((int64_t[]){4, 3}), sp, 0);
    pa_tensor_release(o);
    pa_tensor_release(p);

    /* Integer sums stay int64; a long float32 sum is accurate (accumulated in double). */
    pa_tensor *n = make(1, (int64_t[]){4}, PA_INT64, (double[]){1, -2, 3, 1000000000000});
    OK(pa_sum(n, 0, NULL, 0, &o));
    CHECK(o->dtype == PA_INT64 && item(o) == 1000000000002.0);
    pa_tensor_release(o);
    pa_tensor_release(n);
    int64_t big = 1 << 20;
    OK(pa_full(1, &big, PA_FLOAT32, 0.1, &n));
    OK(pa_sum(n, 0, NULL, 0, &o));
    CHECK_NEAR(item(o), (double)0.1f * (double)big, 1e-7);
    pa_tensor_release(o);
    pa_tensor_release(n);

    /* max / min with indices: the first extreme value wins. */
    double mv[6] = {3, 7, 7, -1, 5, -1};
    pa_tensor *m = make(2, (int64_t[]){2, 3}, PA_FLOAT64, mv);
    OK(pa_max(m, 0, 0, 0, &o, &ix));
    CHECK(o->ndim == 0 && item(o) == 7 && item(ix) == 1);
    pa_tensor_release(o);
    pa_tensor_release(ix);
    OK(pa_min(m, 1, 1, 0, &o, &ix));
    CHECK_TENSOR(o, 1, ((int64_t[]){2}), ((double[]){3, -1}), 0);
    CHECK_TENSOR(ix, 1, ((int64_t[]){2}), ((double[]){0, 0}), 0);
    pa_tensor_release(o);
    pa_tensor_release(ix);
    OK(pa_max(m, 1, 0, 1, &o, NULL));
    CHECK_TENSOR(o, 2, ((int64_t[]){1, 3}), ((double[]){3, 7, 7}), 0);
    pa_tensor_release(o);

    /* logsumexp and softmax against the formulas. */
    OK(pa_logsumexp(m, 1, (int64_t[]){1}, 0, &o));
    CHECK_TENSOR(o, 1, ((int64_t[]){2}),
                 ((double[]){log(exp(3) + 2 * exp(7)), log(2 * exp(-1) + exp(5))}), 1e-14);
    pa_tensor_release(o);
    OK(pa_softmax(m, -1, &o));
    double sm[6];
    for (int i = 0; i < 2; i++) {
        double z = 0;
        for (int j = 0; j < 3; j++) z += exp(mv[i * 3 + j]);
        for (int j = 0; j < 3; j++) sm[i * 3 + j] = exp(mv[i * 3 + j]) / z;
    }
    CHECK_TENSOR(o, 2, ((int64_t[]){2, 3}), sm, 1e-14);
    pa_tensor_release(o);
    OK(pa_log_softmax(m, 1, &o));
    for (int i = 0; i < 6; i++) sm[i] = log(sm[i]);
    CHECK_TENSOR(o, 2, ((int64_t[]){2, 3}), sm, 1e-14);
    pa_tensor_release(o);
    pa_tensor_release(m);
    pa_tensor_release(x);
    CHECK_LIVE(base);
}

/* Bad calls: an error code and a message naming the problem, nothing allocated. */
static void test_errors(void) {
    live_counts base = live_now();
    pa_tensor *a = make(2, (int64_t[]){2, 3}, PA_FLOAT32, (double[]){1, 2, 3, 4, 5, 6});
    pa_tensor *b = make(1, (int64_t[]){4}, PA_FLOAT32, (double[]){1, 2, 3, 4});
    pa_tensor *i64 = make(1, (int64_t[]){2}, PA_INT64, (double[]){0, 5});
    pa_tensor *o = NULL, *ix = NULL;

    /* Creation. */
    CHECK_ERR(pa_empty(1, (int64_t[]){-2}, PA_FLOAT32, &o), PA_ERR_VALUE, "negative dimension -2");
    CHECK_ERR(pa_empty(9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, PA_FLOAT32, &o), PA_ERR_VALUE,
              "at most 8 dims");
    CHECK_ERR(pa_empty(1, (int64_t[]){3}, 17, &o), PA_ERR_TYPE, "unknown dtype code 17");
    CHECK_ERR(pa_empty(1, (int64_t[]){3}, PA_FLOAT32, NULL), PA_ERR_VALUE, "NULL result pointer");
    CHECK_ERR(pa_empty(2, (int64_t[]){INT64_C(1) << 40, INT64_C(1) << 40}, PA_FLOAT32, &o),
              PA_ERR_MEMORY, "shape too large");
    CHECK_ERR(pa_arange(0, 1, 0, PA_FLOAT32, &o), PA_ERR_VALUE, "step must be nonzero");
    CHECK_ERR(pa_linspace(0, 1, -1, PA_FLOAT32, &o), PA_ERR_VALUE, "non-negative");
    float data[3] = {0};
    CHECK_ERR(pa_from_data(data, sizeof data, 1, (int64_t[]){4}, PA_FLOAT32, &o), PA_ERR_VALUE,
              "do not fill shape (4,)");
    CHECK(o == NULL);
    CHECK_ERR(pa_from_blob(data, 1, (int64_t[]){4}, (int64_t[]){1}, PA_FLOAT32, sizeof data, NULL,
                           NULL, &o), PA_ERR_VALUE, "outside the 12-byte buffer");
    CHECK_ERR(pa_rand(1, (int64_t[]){2}, PA_INT64, &o), PA_ERR_TYPE, "floating-point");
    CHECK_ERR(pa_item(a, &(double){0}), PA_ERR_VALUE, "6 elements cannot be converted");
    CHECK_ERR(pa_to_contiguous_buffer(a, data, sizeof data), PA_ERR_VALUE,
              "buffer of 12 bytes for a tensor of 24 bytes");

    /* Shapes. */
    CHECK_ERR(pa_binary(PA_BIN_ADD, a, b, &o), PA_ERR_VALUE,
              "shapes (2, 3) and (4,) cannot be broadcast");
    CHECK_ERR(pa_binary(99, a, a, &o), PA_ERR_VALUE, "unknown op 99");
    CHECK_ERR(pa_binary_(PA_BIN_ADD, b, a), PA_ERR_VALUE, "cannot be broadcast");
    CHECK_ERR(pa_matmul(a, a, &o), PA_ERR_VALUE, "cannot be multiplied (3 != 2)");
    CHECK_ERR(pa_matmul(a, i64, &o), PA_ERR_TYPE, "same dtype");
    CHECK_ERR(pa_linear(a, b, NULL, &o), PA_ERR_VALUE, "weight must be 2-d");
    CHECK_ERR(pa_reshape(a, 1, (int64_t[]){5}, &o), PA_ERR_VALUE,
              "shape '(5,)' is invalid for input of size 6");
    CHECK_ERR(pa_expand(a, 2, (int64_t[]){4, 3}, &o), PA_ERR_VALUE,
              "must match the existing size (2)");
    CHECK_ERR(pa_cat(2, (pa_tensor *[]){a, b}, 0, &o), PA_ERR_VALUE,
              "same number of dimensions");
    CHECK_ERR(pa_stack(2, (pa_tensor *[]){a, b}, 0, &o), PA_ERR_VALUE, "equal size");
    CHECK_ERR(pa_permute(a, 2, (int64_t[]){0, 0}, &o), PA_ERR_VALUE, "repeated dim");
    CHECK_ERR(pa_sum(a, 2, (int64_t[]){1, -1}, 0, &o), PA_ERR_VALUE, "appears multiple times");
    CHECK_ERR(pa_mean(i64, 0, NULL, 0, &o), PA_ERR_TYPE, "Input dtype must be floating point");
    pa_tensor *flags = NULL;
    OK(pa_full(1, (int64_t[]){2}, PA_BOOL, 1, &flags));
    CHECK_ERR(pa_unary(PA_UN_NEG, flags, &o), PA_ERR_TYPE, "on a bool tensor is not supported");
    pa_tensor_release(flags);

    /* Dims and indices out of range. */
    CHECK_ERR(pa_transpose(a, 0, 2, &o), PA_ERR_INDEX, "dimension out of range");
    CHECK_ERR(pa_sum(a, 1, (int64_t[]){-3}, 0, &o), PA_ERR_INDEX, "but got -3");
    CHECK_ERR(pa_select(a, 1, 3, &o), PA_ERR_INDEX, "index 3 is out of bounds for dimension 1 with size 3");
    CHECK_ERR(pa_select(a, 0, -3, &o), PA_ERR_INDEX, "out of bounds");
    CHECK_ERR(pa_slice(a, 1, 0, 4, 1, &o), PA_ERR_INDEX, "bounds [0:4] outside [0, 3]");
    CHECK_ERR(pa_slice(a, 1, 0, 2, 0, &o), PA_ERR_VALUE, "step must be positive");
    CHECK_ERR(pa_index_select(a, 0, i64, &o), PA_ERR_INDEX,
              "index 5 is out of bounds for dimension with size 2");
    CHECK_ERR(pa_index_select(a, 0, b, &o), PA_ERR_TYPE, "int64");
    CHECK_ERR(pa_max(a, 1, 2, 0, &o, &ix), PA_ERR_INDEX, "dimension out of range");
    pa_tensor *logits = make(2, (int64_t[]){2, 3}, PA_FLOAT32, (double[]){0, 0, 0, 0, 0, 0});
    pa_tensor *target = make(1, (int64_t[]){2}, PA_INT64, (double[]){1, 3});
    CHECK_ERR(pa_cross_entropy(logits, target, NULL, PA_REDUCTION_MEAN, -100, 0, &o), PA_ERR_INDEX,
              "target 3 is out of bounds for 3 classes");
    CHECK_ERR(pa_cross_entropy(logits, i64, NULL, PA_REDUCTION_MEAN, -100, 2, &o), PA_ERR_VALUE,
              "label_smoothing");
    CHECK_ERR(pa_cross_entropy(logits, a, NULL, PA_REDUCTION_MEAN, -100, 0, &o), PA_ERR_TYPE,
              "int64 class indices");
    pa_tensor *w = make(2, (int64_t[]){2, 2}, PA_FLOAT32, (double[]){1, 2, 3, 4});
    CHECK_ERR(pa_embedding(i64, w, 0, 0, &o), PA_ERR_INDEX, "index 5 is out of range for 2");
    pa_tensor_release(w);
    pa_tensor_release(logits);
    pa_tensor_release(target);
    CHECK_ERR(pa_gemm(PA_FLOAT32, 0, 0, 2, 2, 2, 1, data, 2, 3, data, 2, 3, 0, data, 2, 3),
              PA_ERR_VALUE, "needs 4 elements, the buffer has 3");
    CHECK_ERR(pa_gemm(PA_FLOAT32, 0, 0, 2, 2, 2, 1, data, 1, 4, data, 2, 4, 0, data, 2, 4),
              PA_ERR_VALUE, "leading dimension");
    CHECK_ERR(pa_set_gemm_isa(7), PA_ERR_VALUE, "unknown ISA code 7");

    /* Autograd misuse. */
    CHECK_ERR(pa_set_requires_grad(i64, 1), PA_ERR_RUNTIME, "floating point dtype");
    OK(pa_set_requires_grad(b, 1));
    CHECK_ERR(pa_fill_(b, 0), PA_ERR_RUNTIME, "in-place operation");
    CHECK_ERR(pa_binary_scalar_(PA_BIN_ADD, b, 1, 0), PA_ERR_RUNTIME, "in-place operation");
    CHECK_ERR(pa_backward(a, NULL, 0), PA_ERR_RUNTIME, "does not require grad");
    CHECK_ERR(pa_backward(b, NULL, 0), PA_ERR_RUNTIME, "only for scalar outputs");
    CHECK_ERR(pa_set_grad(b, a), PA_ERR_VALUE, "does not match");

    /* The error state is per call: a success after an error leaves the old message
     * until cleared, and clearing works. */
    CHECK(pa_last_error_code() != PA_OK);
    pa_clear_error();
    CHECK(pa_last_error_code() == PA_OK && pa_last_error_message()[0] == '\0');
    CHECK(o == NULL && ix == NULL);

    pa_tensor_release(a);
    pa_tensor_release(b);
    pa_tensor_release(i64);
    CHECK_LIVE(base);
}

/* take_along_dim's index taken modulo the size; scatter_reduce's reductions, include_self
 * both ways, in place over a view of itself, a 0-dim self, and its refusals. */
static void test_take_along_scatter_reduce(void) {
    live_counts base = live_now();
    pa_tensor *a = make(2, (int64_t[]){2, 3}, PA_FLOAT64, (double[]){1, 2, 3, 4, 5, 6}), *o = NULL;
    pa_tensor *idx = make(2, (int64_t[]){2, 2}, PA_INT64, (double[]){-1, 7, 3, -5});
    OK(pa_take_along_dim(a, 1, idx, 1, &o));  /* 7 % 3 = 1, -5 % 3 = 1 */
    CHECK_TENSOR(o, 2, ((int64_t[]){2, 2}), ((double[]){3, 2, 4, 5}), 0);
    pa_tensor_release(o);
    CHECK_ERR(pa_take_along_dim(a, 1, idx, 0, &o), PA_ERR_RUNTIME, "index -1 is out of bounds");
    pa_tensor_release(idx);

    /* int64 mean floors; include_self=False: only the values sent count. */
    pa_tensor *x = make(1, (int64_t[]){3}, PA_INT64, (double[]){-1, 7, 5});
    pa_tensor *i = make(1, (int64_t[]){5}, PA_INT64, (double[]){0, 0, 2, 2, 2});
    pa_tensor *s = make(1, (int64_t[]){5}, PA_INT64, (double[]){-2, -4, 1, 1, 2});
    OK(pa_scatter_reduce(x, 0, i, s, PA_REDUCE_MEAN, 1, 0, &o));
    CHECK_TENSOR(o, 1, ((int64_t[]){3}), ((double[]){-3, 7, 2}), 0);
    pa_tensor_release(o);
    OK(pa_scatter_reduce(x, 0, i, s, PA_REDUCE_AMIN, 0, 0, &o));
    CHECK_TENSOR(o, 1, ((int64_t[]){3}), ((double[]){-4, 7, 1}), 0);
    pa_tensor_release(o);
    OK(pa_scatter_reduce(x, 0, i, s, PA_REDUCE_PROD, 0, 0, &o));
    CHECK_TENSOR(o, 1, ((int64_t[]){3}), ((double[]){8, 7, 2}), 0);
    pa_tensor_release(o);
    /* In place, src a view of x: read before written. */
    pa_tensor *head = NULL;
    OK(pa_slice(x, 0, 0, 2, 1, &head));
    pa_tensor *i2 = make(1, (int64_t[]){2}, PA_INT64, (double[]){1, 2});
    OK(pa_scatter_reduce(x, 0, i2, head, PA_REDUCE_SUM, 1, 1, &o));
    CHECK(o == x);
    CHECK_TENSOR(x, 1, ((int64_t[]){3}), ((double[]){-1, 6, 12}), 0);
    pa_tensor_release(o);
    OK(pa_scatter_reduce(x, 0, i2, head, PA_REDUCE_MEAN, 0, 1, &o));
    CHECK_TENSOR(x, 1, ((int64_t[]){3}), ((double[]){-1, -1, 6}), 0);
    pa_tensor_release(o);
    pa_tensor_release(head);
    pa_tensor_release(i2);

    /* A 0-dim self takes every value; a float mean divides. */
    pa_tensor *z = NULL, *zs = make(1, (int64_t[]){2}, PA_FLOAT64, (double[]){2, 6});
    pa_tensor *zi = make(1, (int64_t[]){2}, PA_INT64, (double[]){0, 0});
    OK(pa_full(0, NULL, PA_FLOAT64, 1, &z));
    OK(pa_scatter_reduce(z, 0, zi, zs, PA_REDUCE_MEAN, 1, 0, &o));
    CHECK(o->ndim == 0);
    CHECK_TENSOR(o, 0, ((int64_t[]){1}), ((double[]){3}), 1e-15);
    pa_tensor_release(o);

    o = NULL;
    CHECK_ERR(pa_scatter_reduce(x, 0, i, a, PA_REDUCE_SUM, 1, 0, &o), PA_ERR_RUNTIME, "src.dtype");
    CHECK_ERR(pa_scatter_reduce(x, 0, s, s, PA_REDUCE_SUM, 1, 0, &o), PA_ERR_RUNTIME, "out of bounds");
    CHECK_ERR(pa_scatter_reduce(x, 1, i, s, PA_REDUCE_SUM, 1, 0, &o), PA_ERR_INDEX, "dimension out of range");
    CHECK(o == NULL);
    pa_tensor_release(z);
    pa_tensor_release(zs);
    pa_tensor_release(zi);
    pa_tensor_release(x);
    pa_tensor_release(i);
    pa_tensor_release(s);
    pa_tensor_release(a);
    CHECK_LIVE(base);
}

int main(void) {
    live_counts base = live_now();
    CHECK(base.tensors == 0 && base.nodes == 0 && base.bytes == 0);
    RUN(test_creation);
    RUN(test_views);
    RUN(test_elementwise);
    RUN(test_reductions);
    RUN(test_errors);
    RUN(test_take_along_scatter_reduce);
    CHECK_LIVE(base);
    return check_finish("test_tensor");
}
