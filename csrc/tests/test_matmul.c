/* C tests of matmul, linear and the raw GEMM against a naive triple loop in double:
 * sizes 1 .. 100, float32 and float64, transposed (strided) operands, 1-d and batched
 * operands, every GEMM kernel this CPU can run. */
#include "check.h"

/* Reads a tensor's values as doubles into a new array. */
static double *read_all(const pa_tensor *t) {
    double *v = malloc((size_t)(t->numel > 0 ? t->numel : 1) * sizeof *v);
    if (!v) abort();
    values(t, v);
    return v;
}

/* Checks c (m x n, row-major values) against a @ b computed in double, where a is
 * (m x k) and b is (k x n), also row-major.  The tolerance scales with sum |a||b|. */
static void check_product(const char *what, const double *a, const double *b, const double *c,
                          int64_t m, int64_t n, int64_t k, double alpha, double beta,
                          const double *c0, double tol) {
    double worst = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0, mag = 0;
            for (int64_t p = 0; p < k; p++) {
                s += a[i * k + p] * b[p * n + j];
                mag += fabs(a[i * k + p] * b[p * n + j]);
            }
            double ref = alpha * s + (c0 ? beta * c0[i * n + j] : 0);
            double err = fabs(c[i * n + j] - ref) / (1 + fabs(alpha) * mag + (c0 ? fabs(beta * c0[i * n + j]) : 0));
            if (err > worst) worst = err;
        }
    check_count++;
    if (!(worst <= tol)) {
        fprintf(stderr, "%s:%d: %s (m=%lld n=%lld k=%lld): relative error %g > %g\n", __FILE__,
                __LINE__, what, (long long)m, (long long)n, (long long)k, worst, tol);
        check_failures++;
    }
}

static double tol_of(int dtype) { return dtype == PA_FLOAT32 ? 1e-6 : 1e-14; }

static pa_tensor *randn(int ndim, const int64_t *shape, int dtype) {
    pa_tensor *t = NULL;
    OK(pa_randn(ndim, shape, dtype, &t));
    return t;
}

static const int64_t shapes[][3] = {
    {1, 1, 1},   {1, 7, 3},   {5, 1, 9},   {4, 6, 1},    {2, 3, 4},     {17, 33, 9},
    {8, 8, 8},   {16, 24, 32}, {31, 17, 100}, {64, 64, 64}, {100, 37, 71}, {3, 100, 1},
    {100, 1, 100}, {65, 97, 33}, {100, 100, 100}};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

/* pa_matmul on 2-d operands, each either contiguous or a transposed view. */
static void matmul_2d(int dtype) {
    for (int s = 0; s < N_SHAPES; s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                /* a is (m, k): stored as (k, m) and transposed when ta. */
                int64_t as[2] = {ta ? k : m, ta ? m : k}, bs[2] = {tb ? n : k, tb ? k : n};
                pa_tensor *as_ = randn(2, as, dtype), *bs_ = randn(2, bs, dtype), *a = NULL, *b = NULL;
                if (ta) OK(pa_transpose(as_, 0, 1, &a));
                else { a = as_; pa_tensor_retain(a); }
                if (tb) OK(pa_transpose(bs_, 0, 1, &b));
                else { b = bs_; pa_tensor_retain(b); }
                pa_tensor *c = NULL;
                OK(pa_matmul(a, b, &c));
                CHECK(c->ndim == 2 && c->shape[0] == m && c->shape[1] == n && c->dtype == dtype);
                CHECK(pa_tensor_is_contiguous(c));
                double *av = read_all(a), *bv = read_all(b), *cv = read_all(c);
                char what[64];
                snprintf(what, sizeof what, "matmul %s ta=%d tb=%d",
                         dtype == PA_FLOAT32 ? "float32" : "float64", ta, tb);
                check_product(what, av, bv, cv, m, n, k, 1, 0, NULL, tol_of(dtype));
                free(av);
                free(bv);
                free(cv);
                pa_tensor_release(c);
                pa_tensor_release(a);
                pa_tensor_release(b);
                pa_tensor_release(as_);
                pa_tensor_release(bs_);
            }
    }
}

static void test_matmul_2d(void) {
    live_counts base = live_now();
    pa_manual_seed(1);
    int saved = pa_get_gemm_isa();
    /* Every kernel this CPU supports (setting one it does not is an error). */
    for (int isa = 0; isa <= 2; isa++) {
        if (pa_set_gemm_isa(isa) != PA_OK) {
            pa_clear_error();
            continue;
        }
        CHECK(pa_get_gemm_isa() == isa);
        printf("  gemm kernel %s\n", isa == 0 ? "generic" : isa == 1 ? "avx2" : "avx512");
        matmul_2d(PA_FLOAT32);
        matmul_2d(PA_FLOAT64);
    }
    OK(pa_set_gemm_isa(saved));
    OK(pa_set_gemm_isa(-1));
    CHECK_LIVE(base);
}

/* The raw GEMM: C = alpha op(A) op(B) + beta C with leading dims larger than the rows. */
static void test_gemm(void) {
    pa_manual_seed(2);
    for (int dtype = PA_FLOAT32; dtype <= PA_FLOAT64; dtype++)
        for (int s = 0; s < N_SHAPES; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                    int64_t lda = ac + 3, ldb = bc + 1, ldc = n + 2;
                    size_t isz = pa_dtype_size(dtype);
                    double *a = malloc((size_t)(ar * lda) * sizeof *a), *b = malloc((size_t)(br * ldb) * sizeof *b);
                    double *c0 = malloc((size_t)(m * ldc) * sizeof *c0);
                    char *ab = malloc((size_t)(ar * lda) * isz), *bb = malloc((size_t)(br * ldb) * isz);
                    char *cb = malloc((size_t)(m * ldc) * isz);
                    if (!a || !b || !c0 || !ab || !bb || !cb) abort();
                    for (int64_t i = 0; i < ar * lda; i++) a[i] = sin(0.37 * (double)i) * 2;
                    for (int64_t i = 0; i < br * ldb; i++) b[i] = cos(0.91 * (double)i + 1);
                    for (int64_t i = 0; i < m * ldc; i++) c0[i] = 0.5 - (double)(i % 7) / 7;
                    /* Values rounded to the dtype first, so the reference sees the same inputs. */
                    for (int64_t i = 0; i < ar * lda; i++) {
                        if (dtype == PA_FLOAT32) ((float *)ab)[i] = (float)a[i], a[i] = (float)a[i];
                        else ((double *)ab)[i] = a[i];
                    }
                    for (int64_t i = 0; i < br * ldb; i++) {
                        if (dtype == PA_FLOAT32) ((float *)bb)[i] = (float)b[i], b[i] = (float)b[i];
                        else ((double *)bb)[i] = b[i];
                    }
                    for (int64_t i = 0; i < m * ldc; i++) {
                        if (dtype == PA_FLOAT32) ((float *)cb)[i] = (float)c0[i], c0[i] = (float)c0[i];
                        else ((double *)cb)[i] = c0[i];
                    }
                    OK(pa_gemm(dtype, ta, tb, m, n, k, 0.75, ab, lda, ar * lda, bb, ldb, br * ldb,
                               -1.5, cb, ldc, m * ldc));
                    /* Dense row-major copies of op(A), op(B), C and C0 for the reference. */
                    double *da = malloc((size_t)(m * k) * sizeof *da), *db = malloc((size_t)(k * n) * sizeof *db);
                    double *dc = malloc((size_t)(m * n) * sizeof *dc), *dc0 = malloc((size_t)(m * n) * sizeof *dc0);
                    if (!da || !db || !dc || !dc0) abort();
                    for (int64_t i = 0; i < m; i++)
                        for (int64_t p = 0; p < k; p++) da[i * k + p] = ta ? a[p * lda + i] : a[i * lda + p];
                    for (int64_t p = 0; p < k; p++)
                        for (int64_t j = 0; j < n; j++) db[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
                    int pad_ok = 1;
                    for (int64_t i = 0; i < m; i++)
                        for (int64_t j = 0; j < ldc; j++) {
                            double v = dtype == PA_FLOAT32 ? ((float *)cb)[i * ldc + j] : ((double *)cb)[i * ldc + j];
                            if (j < n) {
                                dc[i * n + j] = v;
                                dc0[i * n + j] = c0[i * ldc + j];
                            } else {
                                pad_ok &= v == c0[i * ldc + j];  /* the padding is not touched */
                            }
                        }
                    CHECK(pad_ok);
                    check_product(dtype == PA_FLOAT32 ? "sgemm" : "dgemm", da, db, dc, m, n, k,
                                  0.75, -1.5, dc0, tol_of(dtype));
                    free(a); free(b); free(c0); free(ab); free(bb); free(cb);
                    free(da); free(db); free(dc); free(dc0);
                }
}

/* 1-d operands and broadcast batch dims, against per-matrix products. */
/* a @ b where one operand is 1-d (13 long): the result has `len` elements in one dim,
 * or is 0-d when len < 0, and equals the (m x 13) @ (13 x n) product. */
static void check_vector_product(const char *what, pa_tensor *a, pa_tensor *b, const double *av,
                                 const double *bv, int64_t m, int64_t n, int64_t len, double tol) {
    pa_tensor *c = NULL;
    OK(pa_matmul(a, b, &c));
    CHECK(len < 0 ? c->ndim == 0 : c->ndim == 1 && c->shape[0] == len);
    double *cv = read_all(c);
    check_product(what, av, bv, cv, m, n, 13, 1, 0, NULL, tol);
    free(cv);
    pa_tensor_release(c);
}

static void test_matmul_shapes(void) {
    live_counts base = live_now();
    pa_manual_seed(3);
    for (int dtype = PA_FLOAT32; dtype <= PA_FLOAT64; dtype++) {
        double tol = tol_of(dtype);
        /* vec . vec -> 0-dim; mat @ vec -> (m,); vec @ mat -> (n,). */
        pa_tensor *u = randn(1, (int64_t[]){13}, dtype), *v = randn(1, (int64_t[]){13}, dtype);
        pa_tensor *M = randn(2, (int64_t[]){6, 13}, dtype), *N = randn(2, (int64_t[]){13, 5}, dtype);
        pa_tensor *c = NULL;
        double *uv = read_all(u), *vv = read_all(v), *Mv = read_all(M), *Nv = read_all(N), *cv;
        /* a @ b with a 1-d operand: the result drops its dim (len < 0: a 0-d result) */
        check_vector_product("dot", u, v, uv, vv, 1, 1, -1, tol);
        check_vector_product("mv", M, v, Mv, vv, 6, 1, 6, tol);
        check_vector_product("vm", u, N, uv, Nv, 1, 5, 5, tol);
        free(uv); free(vv); free(Mv); free(Nv);
        pa_tensor_release(u); pa_tensor_release(v); pa_tensor_release(M); pa_tensor_release(N);

        /* (2, 1, 7, 9) @ (3, 9, 4) -> (2, 3, 7, 4). */
        pa_tensor *A = randn(4, (int64_t[]){2, 1, 7, 9}, dtype), *B = randn(3, (int64_t[]){3, 9, 4}, dtype);
        OK(pa_matmul(A, B, &c));
        CHECK(c->ndim == 4 && c->shape[0] == 2 && c->shape[1] == 3 && c->shape[2] == 7 && c->shape[3] == 4);
        double *Av = read_all(A), *Bv = read_all(B);
        cv = read_all(c);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                check_product("batched", Av + i * 63, Bv + j * 36, cv + (i * 3 + j) * 28, 7, 4, 9,
                              1, 0, NULL, tol);
        free(Av); free(Bv); free(cv);
        pa_tensor_release(c);
        pa_tensor_release(A);
        pa_tensor_release(B);
        pa_tensor *s0 = randn(0, NULL, dtype);
        CHECK_ERR(pa_matmul(s0, s0, &c), PA_ERR_VALUE, "at least 1 dimension");
        pa_tensor_release(s0);
    }
    CHECK_LIVE(base);
}

/* linear: x @ w^T + b, x of 2 and 3 dims. */
static void test_linear(void) {
    live_counts base = live_now();
    pa_manual_seed(4);
    for (int dtype = PA_FLOAT32; dtype <= PA_FLOAT64; dtype++) {
        pa_tensor *x = randn(3, (int64_t[]){2, 5, 11}, dtype), *w = randn(2, (int64_t[]){7, 11}, dtype);
        pa_tensor *b = randn(1, (int64_t[]){7}, dtype), *y = NULL, *y2 = NULL;
        OK(pa_linear(x, w, b, &y));
        CHECK(y->ndim == 3 && y->shape[0] == 2 && y->shape[1] == 5 && y->shape[2] == 7);
        OK(pa_linear(x, w, NULL, &y2));
        double *xv = read_all(x), *wv = read_all(w), *bv = read_all(b), *yv = read_all(y), *y2v = read_all(y2);
        double wt[11 * 7];
        for (int i = 0; i < 7; i++)
            for (int p = 0; p < 11; p++) wt[p * 7 + i] = wv[i * 11 + p];
        for (int i = 0; i < 70; i++) yv[i] -= bv[i % 7];
        check_product("linear", xv, wt, yv, 10, 7, 11, 1, 0, NULL, 2 * tol_of(dtype));
        check_product("linear without bias", xv, wt, y2v, 10, 7, 11, 1, 0, NULL, tol_of(dtype));
        free(xv); free(wv); free(bv); free(yv); free(y2v);
        pa_tensor_release(x); pa_tensor_release(w); pa_tensor_release(b);
        pa_tensor_release(y); pa_tensor_release(y2);
    }
    CHECK_LIVE(base);
}

int main(void) {
    live_counts base = live_now();
    RUN(test_matmul_2d);
    RUN(test_gemm);
    RUN(test_matmul_shapes);
    RUN(test_linear);
    CHECK_LIVE(base);
    return check_finish("test_matmul");
}
