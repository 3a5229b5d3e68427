/* matmul (torch.matmul semantics), linear (x @ w^T + b) and the raw GEMM entry point.
 * Transposed operands are passed to the kernel as flags: a backward product such as
 * g @ w or x^T @ g never copies a matrix. */
#include <stdlib.h>

#include "../kernels/gemm.h"
#include "../kernels/parallel.h"
#include "loops.h"

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

/* A 2-d operand as the kernel wants it: base pointer, transpose flag, leading dim. */
typedef struct {
    const char *data;
    int trans;
    int64_t ld;
} operand;

/* Can a (rows x cols) matrix with element strides (rs, cs) be passed without a copy? */
static bool as_operand(const char *data, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                       operand *op) {
    op->data = data;
    if ((cs == 1 || cols == 1) && (rows == 1 || rs >= cols)) {
        op->trans = 0;
        op->ld = rows == 1 ? (cols > 0 ? cols : 1) : rs;
        return op->ld >= 1;
    }
    if ((rs == 1 || rows == 1) && (cols == 1 || cs >= rows)) {
        op->trans = 1;
        op->ld = cols == 1 ? (rows > 0 ? rows : 1) : cs;
        return op->ld >= 1;
    }
    return false;
}

static void gemm(int dtype, const operand *a, const operand *b, int64_t m, int64_t n, int64_t k,
                 double beta, char *c, int64_t ldc) {
    if (dtype == PA_FLOAT32)
        pa_kernel_sgemm(a->trans, b->trans, m, n, k, 1.0f, (const float *)a->data, a->ld,
                        (const float *)b->data, b->ld, (float)beta, (float *)c, ldc);
    else
        pa_kernel_dgemm(a->trans, b->trans, m, n, k, 1.0, (const double *)a->data, a->ld,
                        (const double *)b->data, b->ld, beta, (double *)c, ldc);
}

static int check_float_pair(const char *op, const pa_tensor *a, const pa_tensor *b) {
    if (a->dtype != b->dtype)
        return pa_error(PA_ERR_TYPE, "%s: expected both operands to have the same dtype, but got "
                        "%s and %s", op, pa_dtype_name(a->dtype), pa_dtype_name(b->dtype));
    if (!pa_is_float(a->dtype))
        return pa_error(PA_ERR_TYPE, "%s: not implemented for %s", op, pa_dtype_name(a->dtype));
    return PA_OK;
}

/* ---- matmul -------------------------------------------------------------------- */
/* Batched product of a (batch..., m, k) and b (batch..., k, n), batch dims broadcast,
 * into a new contiguous (batch..., m, n).  No graph. */
static int matmul_raw(pa_tensor *a, pa_tensor *b, pa_tensor **out) {
    char b1[128], b2[128];
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1];
    int64_t n = b->shape[b->ndim - 1];
    if (b->shape[b->ndim - 2] != k)
        return pa_error(PA_ERR_VALUE, "matmul: shapes %s and %s cannot be multiplied (%lld != %lld)",
                        PA_SHAPE_STR(a, b1), PA_SHAPE_STR(b, b2), (long long)k,
                        (long long)b->shape[b->ndim - 2]);
    /* Broadcast batch dims. */
    int nb = (a->ndim > b->ndim ? a->ndim : b->ndim) - 2;
    int64_t shape[PA_MAX_DIMS], sa[PA_MAX_DIMS], sb[PA_MAX_DIMS];
    for (int d = 0; d < nb; d++) {
        int da = d - (nb - (a->ndim - 2)), db = d - (nb - (b->ndim - 2));
        int64_t xa = da < 0 ? 1 : a->shape[da], xb = db < 0 ? 1 : b->shape[db];
        if (xa != xb && xa != 1 && xb != 1)
            return pa_error(PA_ERR_VALUE, "matmul: batch dimensions of %s and %s cannot be broadcast",
                            PA_SHAPE_STR(a, b1), PA_SHAPE_STR(b, b2));
        shape[d] = xa == 1 ? xb : xa;
        sa[d] = xa == 1 ? 0 : a->strides[da];
        sb[d] = xb == 1 ? 0 : b->strides[db];
    }
    shape[nb] = m;
    shape[nb + 1] = n;
    pa_tensor *o = pa_tensor_new(nb + 2, shape, a->dtype);
    PA_CHECK_OOM(o);
    size_t isz = pa_dtype_size(a->dtype);
    pa_tensor *ac = a, *bc = b;
    operand oa = {0}, ob = {0};
    if (!as_operand(a->data, m, k, a->strides[a->ndim - 2], a->strides[a->ndim - 1], &oa))
        ac = pa_contiguous_nograd(a);
    else
        pa_tensor_retain(a);
    if (!as_operand(b->data, k, n, b->strides[b->ndim - 2], b->strides[b->ndim - 1], &ob))
        bc = pa_contiguous_nograd(b);
    else
        pa_tensor_retain(b);
    if (!ac || !bc) {
        pa_tensor_release(ac);
        pa_tensor_release(bc);
        pa_tensor_release(o);
        return PA_ERR_MEMORY;
    }
    if (ac != a) {  /* strides changed: recompute batch strides and operand */
        for (int d = 0; d < nb; d++) {
            int da = d - (nb - (a->ndim - 2));
            sa[d] = da < 0 || a->shape[da] == 1 ? 0 : ac->strides[da];
        }
    }
    if (bc != b) {
        for (int d = 0; d < nb; d++) {
            int db = d - (nb - (b->ndim - 2));
            sb[d] = db < 0 || b->shape[db] == 1 ? 0 : bc->strides[db];
        }
    }
    as_operand(ac->data, m, k, ac->strides[ac->ndim - 2], ac->strides[ac->ndim - 1], &oa);
    as_operand(bc->data, k, n, bc->strides[bc->ndim - 2], bc->strides[bc->ndim - 1], &ob);
    int64_t batches = pa_shape_numel(nb, shape);
    for (int64_t t = 0; t < batches; t++) {
        int64_t rem = t, offa = 0, offb = 0;
        for (int d = nb - 1; d >= 0; d--) {
            int64_t i = rem % shape[d];
            rem /= shape[d];
            offa += i * sa[d];
            offb += i * sb[d];
        }
        operand pa = oa, pb = ob;
        pa.data += offa * (int64_t)isz;
        pb.data += offb * (int64_t)isz;
        gemm(a->dtype, &pa, &pb, m, n, k, 0.0, o->data + t * m * n * (int64_t)isz, n > 0 ? n : 1);
    }
    pa_tensor_release(ac);
    pa_tensor_release(bc);
    *out = o;
    return PA_OK;
}

/* a (..., m, k) @ b (k, n) as one (batch*m, k) @ (k, n) product when a folds to 2-d. */
static int matmul_folded(pa_tensor *a, pa_tensor *b, pa_tensor **out) {
    int64_t k = a->shape[a->ndim - 1], flat[2] = {-1, k};
    pa_tensor *a2, *o2;
    TRY(pa_reshape(a, 2, flat, &a2));
    int rc = matmul_raw(a2, b, &o2);
    pa_tensor_release(a2);
    if (rc) return rc;
    int64_t shape[PA_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[a->ndim - 1] = b->shape[1];
    rc = pa_reshape(o2, a->ndim, shape, out);
    pa_tensor_release(o2);
    return rc;
}

/* torch.matmul on inputs of any rank >= 1, without graph. */
static int matmul_any(pa_tensor *a, pa_tensor *b, pa_tensor **out) {
    if (a->ndim == 0 || b->ndim == 0)
        return pa_error(PA_ERR_VALUE, "matmul: both arguments need at least 1 dimension, got %dD "
                        "and %dD tensors", a->ndim, b->ndim);
    if (a->ndim > 2 && b->ndim == 2 && a->numel > 0) return matmul_folded(a, b, out);
    pa_tensor *a2 = a, *b2 = b;
    int rc = PA_OK;
    if (a->ndim == 1) rc = pa_unsqueeze(a, 0, &a2); else pa_tensor_retain(a);
    if (!rc && b->ndim == 1) rc = pa_unsqueeze(b, -1, &b2); else if (!rc) pa_tensor_retain(b);
    pa_tensor *o = NULL;
    if (!rc) rc = matmul_raw(a2, b2, &o);
    pa_tensor_release(a2);
    pa_tensor_release(b2);
    if (rc) return rc;
    /* Drop the dims that 1-d operands gained. */
    int64_t shape[PA_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < o->ndim; d++) {
        if (a->ndim == 1 && d == o->ndim - 2) continue;
        if (b->ndim == 1 && d == o->ndim - 1) continue;
        shape[n++] = o->shape[d];
    }
    if (n == o->ndim) {
        *out = o;
        return PA_OK;
    }
    rc = pa_reshape(o, n, shape, out);
    pa_tensor_release(o);
    return rc;
}

int pa_matmul(pa_tensor *a, pa_tensor *b, pa_tensor **out) {
    PA_REQUIRE("matmul", a && b && out, "NULL tensor or result pointer");
    TRY(check_float_pair("matmul", a, b));
    int was = pa_is_grad_enabled();
    pa_set_grad_enabled(0);
    int rc = matmul_any(a, b, out);
    pa_set_grad_enabled(was);
    if (rc || !pa_needs_grad(2, (pa_tensor *[]){a, b})) return rc;
    pa_node *node = pa_node_new(PA_OP_MATMUL, 2, (pa_tensor *[]){a, b}, *out);
    if (node) rc = pa_input_needs_grad(node, 1) ? pa_node_save(node, 0, a) : PA_OK;
    if (node && !rc) rc = pa_input_needs_grad(node, 0) ? pa_node_save(node, 1, b) : PA_OK;
    if (!node || rc) {
        pa_tensor_release(*out);
        *out = NULL;
        return node ? rc : PA_ERR_MEMORY;
    }
    return PA_OK;
}

int pa_backward_MATMUL(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    const pa_meta *ma = &node->next[0].meta, *mb = &node->next[1].meta;
    pa_tensor *a = node->saved[0], *b = node->saved[1];
    pa_tensor *g1 = NULL, *a1 = NULL, *t = NULL, *r = NULL;
    int rc = PA_OK;
    /* Give g back the dims that 1-d operands dropped: (batch..., m or 1, n or 1). */
    int64_t gshape[PA_MAX_DIMS];
    int nb = g->ndim - (ma->ndim >= 2) - (mb->ndim >= 2), gn = 0;
    for (int d = 0; d < nb; d++) gshape[gn++] = g->shape[d];
    gshape[gn++] = ma->ndim >= 2 ? g->shape[nb] : 1;
    gshape[gn++] = mb->ndim >= 2 ? g->shape[g->ndim - 1] : 1;
    if ((rc = pa_reshape(g, gn, gshape, &g1))) goto done;
    if (pa_input_needs_grad(node, 0)) {  /* ga = g @ b^T */
        if (mb->ndim == 1) rc = pa_unsqueeze(b, 0, &t);  /* b^T of a (k,) vector: (1, k) */
        else rc = pa_transpose(b, -1, -2, &t);
        if (!rc) rc = matmul_any(g1, t, &r);
        pa_tensor_release(t);
        t = NULL;
        if (rc) goto done;
        if (ma->ndim == 1) rc = pa_squeeze(r, 1, -2, &grads[0]);
        else {
            grads[0] = r;
            r = NULL;
        }
        pa_tensor_release(r);
        r = NULL;
        if (rc) goto done;
    }
    if (pa_input_needs_grad(node, 1)) {  /* gb = a^T @ g */
        if (ma->ndim == 1) {
            if ((rc = pa_unsqueeze(a, -1, &a1))) goto done;  /* a^T of (k,): (k, 1) */
        } else if ((rc = pa_transpose(a, -1, -2, &a1))) {
            goto done;
        }
        if (mb->ndim == 2 && a1->ndim > 2 && a->numel > 0) {
            /* Fold the batch into the product: (k, B*m) @ (B*m, n). */
            int64_t k = a->shape[a->ndim - 1], n = g1->shape[g1->ndim - 1];
            int64_t fa[2] = {-1, k}, fg[2] = {-1, n};
            pa_tensor *a2 = NULL, *g2 = NULL;
            rc = pa_reshape(a, 2, fa, &a2);
            if (!rc) rc = pa_reshape(g1, 2, fg, &g2);
            if (!rc) rc = pa_transpose(a2, 0, 1, &t);
            if (!rc) rc = matmul_any(t, g2, &grads[1]);
            pa_tensor_release(a2);
            pa_tensor_release(g2);
        } else {
            rc = matmul_any(a1, g1, &r);
            if (!rc && mb->ndim == 1) rc = pa_squeeze(r, 1, -1, &grads[1]);
            else if (!rc) {
                grads[1] = r;
                r = NULL;
            }
        }
    }
done:
    pa_tensor_release(g1);
    pa_tensor_release(a1);
    pa_tensor_release(t);
    pa_tensor_release(r);
    return rc;
}

/* ---- linear -------------------------------------------------------------------- */
int pa_linear(pa_tensor *x, pa_tensor *w, pa_tensor *b, pa_tensor **out) {
    PA_REQUIRE("linear", x && w && out, "NULL input, weight or result pointer");
    char b1[128], b2[128];
    TRY(check_float_pair("linear", x, w));
    if (w->ndim != 2)
        return pa_error(PA_ERR_VALUE, "linear: weight must be 2-d (out_features, in_features), got "
                        "shape %s", PA_SHAPE_STR(w, b1));
    int64_t in = w->shape[1], nout = w->shape[0];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != in)
        return pa_error(PA_ERR_VALUE, "linear: input of shape %s does not match weight of shape %s "
                        "(expected last dim %lld)", PA_SHAPE_STR(x, b1), PA_SHAPE_STR(w, b2),
                        (long long)in);
    if (b && (b->ndim != 1 || b->shape[0] != nout || b->dtype != x->dtype))
        return pa_error(PA_ERR_VALUE, "linear: bias of shape %s and dtype %s does not match "
                        "out_features %lld (%s)", PA_SHAPE_STR(b, b1), pa_dtype_name(b->dtype),
                        (long long)nout, pa_dtype_name(x->dtype));
    int was = pa_is_grad_enabled();
    pa_set_grad_enabled(0);
    int64_t flat[2] = {-1, in};
    pa_tensor *x2 = NULL, *y2 = NULL;
    int rc = x->ndim == 2 ? (pa_tensor_retain(x), x2 = x, PA_OK) : pa_reshape(x, 2, flat, &x2);
    int64_t m = x2 ? x2->shape[0] : 0;
    operand ox = {0}, ow = {0};
    if (!rc && !as_operand(x2->data, m, in, x2->strides[0], x2->strides[1], &ox)) {
        pa_tensor *c = pa_contiguous_nograd(x2);
        pa_tensor_release(x2);
        x2 = c;
        if (!c) rc = PA_ERR_MEMORY;
        else as_operand(c->data, m, in, c->strides[0], c->strides[1], &ox);
    }
    pa_tensor *wc = NULL;
    if (!rc) {
        /* w^T is (in, nout) with strides (w.strides[1], w.strides[0]). */
        if (as_operand(w->data, in, nout, w->strides[1], w->strides[0], &ow)) {
            wc = w;
            pa_tensor_retain(w);
        } else if (!(wc = pa_contiguous_nograd(w))) {
            rc = PA_ERR_MEMORY;
        } else {
            as_operand(wc->data, in, nout, wc->strides[1], wc->strides[0], &ow);
        }
    }
    if (!rc) {
        int64_t yshape[2] = {m, nout};
        y2 = pa_tensor_new(2, yshape, x->dtype);
        if (!y2) rc = PA_ERR_MEMORY;
    }
    if (!rc) {
        if (b) {  /* bias rows first, then the product accumulates onto them (beta = 1) */
            pa_tensor *bc = pa_contiguous_nograd(b);
            if (!bc) rc = PA_ERR_MEMORY;
            size_t row = (size_t)nout * pa_dtype_size(x->dtype);
            int nt = bc ? pa_threads_for_elements(m * nout) : 1;
            PA_PARALLEL_FOR(nt, for (int64_t i = 0; i < (bc ? m : 0); i++) memcpy(y2->data + (size_t)i * row, bc->data, row););
            pa_tensor_release(bc);
        }
        if (!rc) gemm(x->dtype, &ox, &ow, m, nout, in, b ? 1.0 : 0.0, y2->data, nout > 0 ? nout : 1);
    }
    if (!rc && x->ndim == 2) {  /* the result itself, not a view of it */
        *out = y2;
        y2 = NULL;
    } else if (!rc) {
        int64_t shape[PA_MAX_DIMS];
        memcpy(shape, x->shape, sizeof shape);
        shape[x->ndim - 1] = nout;
        rc = pa_reshape(y2, x->ndim, shape, out);
    }
    pa_set_grad_enabled(was);
    pa_tensor_release(wc);
    pa_tensor_release(y2);
    pa_tensor *inputs[3] = {x, w, b};
    if (!rc && pa_needs_grad(3, inputs)) {
        pa_node *node = pa_node_new(PA_OP_LINEAR, 3, inputs, *out);
        if (!node) rc = PA_ERR_MEMORY;
        if (!rc && pa_input_needs_grad(node, 1)) rc = pa_node_save(node, 0, x2);
        if (!rc && pa_input_needs_grad(node, 0)) rc = pa_node_save(node, 1, w);
        if (rc) {
            pa_tensor_release(*out);
            *out = NULL;
        }
    }
    pa_tensor_release(x2);
    return rc;
}

int pa_backward_LINEAR(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    const pa_meta *mx = &node->next[0].meta;
    int64_t nout = node->out.shape[node->out.ndim - 1], flat[2] = {-1, nout};
    pa_tensor *g2, *t = NULL;
    if (g->ndim == 2) {  /* 2-d tensors are used as they are: a same-shape view costs ~0.5 us */
        g2 = g;
        pa_tensor_retain(g2);
    } else {
        TRY(pa_reshape(g, 2, flat, &g2));
    }
    int rc = PA_OK;
    /* NOTE: the bias gradient first, while g is still in cache: the weight gradient
     * streams all of x through it.  Measured in the article's step at batch 1024 (x is
     * 3.2 MB): the first layer's column sums took 24 us after g^T @ x, 12 us before. */
    if (pa_input_needs_grad(node, 2)) {  /* gb = column sums of g */
        int64_t dim0 = 0;
        rc = pa_sum(g2, 1, &dim0, 0, &grads[2]);
    }
    if (!rc && pa_input_needs_grad(node, 0)) {  /* gx = g @ w */
        pa_tensor *gx = NULL;
        rc = matmul_raw(g2, node->saved[1], &gx);
        if (!rc && mx->ndim == 2) {
            grads[0] = gx;
            gx = NULL;
        } else if (!rc) {
            rc = pa_reshape(gx, mx->ndim, mx->shape, &grads[0]);
        }
        pa_tensor_release(gx);
    }
    if (!rc && pa_input_needs_grad(node, 1)) {  /* gw = g^T @ x */
        rc = pa_transpose(g2, 0, 1, &t);
        if (!rc) rc = matmul_raw(t, node->saved[0], &grads[1]);
    }
    pa_tensor_release(t);
    pa_tensor_release(g2);
    return rc;
}

/* ---- raw GEMM ------------------------------------------------------------------ */
static int check_matrix(const char *name, int64_t rows, int64_t cols, int64_t ld, int64_t numel) {
    if (ld < (cols > 1 ? cols : 1))
        return pa_error(PA_ERR_VALUE, "gemm: leading dimension of %s is %lld, needs at least %lld",
                        name, (long long)ld, (long long)(cols > 1 ? cols : 1));
    if (rows > 0 && cols > 0 && (rows - 1) * ld + cols > numel)
        return pa_error(PA_ERR_VALUE, "gemm: %s (%lld x %lld, leading dimension %lld) needs %lld "
                        "elements, the buffer has %lld", name, (long long)rows, (long long)cols,
                        (long long)ld, (long long)((rows - 1) * ld + cols), (long long)numel);
    return PA_OK;
}

int pa_gemm(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
            const void *a, int64_t lda, int64_t a_numel, const void *b, int64_t ldb,
            int64_t b_numel, double beta, void *c, int64_t ldc, int64_t c_numel) {
    if (!pa_is_float(dtype)) return pa_error(PA_ERR_TYPE, "gemm: dtype must be float32 or float64");
    PA_REQUIRE("gemm", (a || m == 0 || k == 0) && (b || k == 0 || n == 0) && (c || m == 0 || n == 0),
               "NULL buffer for a non-empty matrix");
    if (m < 0 || n < 0 || k < 0)
        return pa_error(PA_ERR_VALUE, "gemm: negative size m=%lld n=%lld k=%lld", (long long)m,
                        (long long)n, (long long)k);
    TRY(check_matrix("A", trans_a ? k : m, trans_a ? m : k, lda, a_numel));
    TRY(check_matrix("B", trans_b ? n : k, trans_b ? k : n, ldb, b_numel));
    TRY(check_matrix("C", m, n, ldc, c_numel));
    if (dtype == PA_FLOAT32)
        pa_kernel_sgemm(trans_a, trans_b, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, ldc);
    else
        pa_kernel_dgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return PA_OK;
}

int pa_set_gemm_isa(int isa) {
    if (isa < PA_ISA_AUTO || isa > PA_ISA_AVX512)
        return pa_error(PA_ERR_VALUE, "set_gemm_isa: unknown ISA code %d", isa);
    if (pa_kernel_gemm_set_isa(isa))
        return pa_error(PA_ERR_VALUE, "set_gemm_isa: this CPU does not support ISA code %d", isa);
    return PA_OK;
}

int pa_get_gemm_isa(void) { return pa_kernel_gemm_get_isa(); }
