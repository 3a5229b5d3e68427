/* Elementwise ops: binary arithmetic and comparisons with broadcasting and type
 * promotion, unary math, clamp, where, dtype casts; forward and backward side by side. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kernels/parallel.h"
#include "loops.h"
#include "vmath.h"

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

/* ---- the loop driver ----------------------------------------------------------- */
void pa_broadcast_strides(const pa_tensor *t, int ndim, const int64_t *shape, int64_t *out) {
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int td = d - lead;
        out[d] = (td < 0 || (t->shape[td] == 1 && shape[d] != 1)) ? 0 : t->strides[td];
    }
}

int pa_broadcast_shapes(const char *op, const pa_tensor *a, const pa_tensor *b, int *ndim,
                        int64_t *shape) {
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < n; d++) {
        int da = d - (n - a->ndim), db = d - (n - b->ndim);
        int64_t sa = da < 0 ? 1 : a->shape[da], sb = db < 0 ? 1 : b->shape[db];
        if (sa != sb && sa != 1 && sb != 1) {
            char b1[128], b2[128];
            return pa_error(PA_ERR_VALUE, "%s: shapes %s and %s cannot be broadcast together "
                            "(dim %d: %lld vs %lld)", op, PA_SHAPE_STR(a, b1), PA_SHAPE_STR(b, b2),
                            d, (long long)sa, (long long)sb);
        }
        shape[d] = sa == 1 ? sb : sa;
    }
    *ndim = n;
    return PA_OK;
}

/* Runs elements [start, end) of the flattened iteration space. */
static void run_range(pa_loop_fn loop, const pa_iter *it, char *const *data, const size_t *sizes,
                      const double *params, int64_t start, int64_t end) {
    int nops = it->nops, last = it->ndim - 1;
    int64_t inner_strides[PA_ITER_MAX_OPS];
    for (int k = 0; k < nops; k++) inner_strides[k] = it->strides[k][last];
    int64_t col = start % it->inner, idx[8], off[PA_ITER_MAX_OPS];
    pa_iter_start(it, start / it->inner, idx, off);
    while (start < end) {
        int64_t n = it->inner - col;
        if (n > end - start) n = end - start;
        char *p[PA_ITER_MAX_OPS];
        for (int k = 0; k < nops; k++)
            p[k] = data[k] + (off[k] + col * inner_strides[k]) * (int64_t)sizes[k];
        loop(n, p, inner_strides, params);
        start += n;
        col = 0;
        pa_iter_next_row(it, idx, off);
    }
}

/* NOTE: when an input runs down its columns (a transposed or permuted view: its stride
 * along the last dim is large while the output's is 1) the row-by-row walk reads a new
 * cache line for every element, and with a 4 KiB stride they all share a few cache sets
 * (exp of a transposed 1024 x 512 view: 0.85 ms, 13x PyTorch's time; 0.42 ms tiled, the
 * strided reads inside a tile being scalar).  Such loops
 * run in TILE x TILE tiles of the last two dims instead, whose lines stay in L1 while
 * the tile is done; each element is computed by the same loop call, so the bits do not
 * change. */
enum { LOOP_TILE = 32 };

static int needs_tiles(const pa_iter *it) {
    int n = it->ndim;
    if (n < 2 || it->inner < LOOP_TILE || it->shape[n - 2] < LOOP_TILE || it->strides[0][n - 1] != 1)
        return 0;
    for (int k = 1; k < it->nops; k++)
        if (it->strides[k][n - 1] > 1 && it->strides[k][n - 2] == 1) return 1;
    return 0;
}

static void run_tiles(pa_loop_fn loop, const pa_iter *it, char *const *data, const size_t *sizes,
                      const double *params, int nt) {
    int n = it->ndim, nops = it->nops;
    int64_t R = it->shape[n - 2], C = it->inner, bands = (R + LOOP_TILE - 1) / LOOP_TILE;
    int64_t inner_strides[PA_ITER_MAX_OPS];
    for (int k = 0; k < nops; k++) inner_strides[k] = it->strides[k][n - 1];
    PA_PARALLEL_FOR(nt, for (int64_t band = 0; band < (it->rows / R) * bands; band++) {
        int64_t r0 = (band % bands) * LOOP_TILE, row0 = (band / bands) * R + r0;
        int64_t nr = R - r0 < LOOP_TILE ? R - r0 : LOOP_TILE;
        for (int64_t c0 = 0; c0 < C; c0 += LOOP_TILE) {
            int64_t nc = C - c0 < LOOP_TILE ? C - c0 : LOOP_TILE, idx[8], off[PA_ITER_MAX_OPS];
            pa_iter_start(it, row0, idx, off);
            for (int64_t r = 0; r < nr; r++, pa_iter_next_row(it, idx, off)) {
                char *p[PA_ITER_MAX_OPS];
                for (int k = 0; k < nops; k++)
                    p[k] = data[k] + (off[k] + c0 * inner_strides[k]) * (int64_t)sizes[k];
                loop(nc, p, inner_strides, params);
            }
        }
    });
}

/* The dims in the order the output lies in memory (largest stride first, a stable sort):
 * an output allocated in its input's layout (pa_tensor_new_layout_of, a transposed input's
 * unary op) is then walked as one contiguous run, as its input is.  Only for an output
 * whose dims of size > 1 have non-zero strides (no element written twice); the order of
 * elements never changes what any one of them gets. */
static int output_order(int ndim, const int64_t *shape, const int64_t *out_strides, int *perm) {
    int moved = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] > 1 && out_strides[d] == 0) return 0;
        perm[d] = d;
    }
    for (int i = 1; i < ndim; i++) {  /* insertion sort: ndim <= 8 */
        int d = perm[i], j = i;
        int64_t sd = out_strides[d] < 0 ? -out_strides[d] : out_strides[d];
        while (j > 0) {
            int e = perm[j - 1];
            int64_t se = out_strides[e] < 0 ? -out_strides[e] : out_strides[e];
            if (shape[d] == 1 || shape[e] == 1 || se >= sd) break;
            perm[j] = e;
            j--;
            moved = 1;
        }
        perm[j] = d;
    }
    return moved;
}

void pa_run_loop(pa_loop_fn loop, int ndim, const int64_t *shape, int nops, char *const *data,
                 const int64_t *const *strides, const size_t *sizes, const double *params) {
    pa_iter it;
    int perm[PA_MAX_DIMS];
    if (nops <= PA_ITER_MAX_OPS && ndim <= PA_MAX_DIMS && output_order(ndim, shape, strides[0], perm)) {
        int64_t pshape[PA_MAX_DIMS], pstrides[PA_ITER_MAX_OPS][PA_MAX_DIMS];
        const int64_t *ps[PA_ITER_MAX_OPS];
        for (int d = 0; d < ndim; d++) {
            pshape[d] = shape[perm[d]];
            for (int k = 0; k < nops; k++) pstrides[k][d] = strides[k][perm[d]];
        }
        for (int k = 0; k < nops; k++) ps[k] = pstrides[k];
        pa_iter_init(&it, ndim, pshape, nops, ps);
    } else {
        pa_iter_init(&it, ndim, shape, nops, strides);
    }
    int64_t total = it.rows * it.inner;
    if (total == 0) return;
    int nt = pa_threads_for_elements(total);
    if (needs_tiles(&it)) {
        run_tiles(loop, &it, data, sizes, params, nt);
        return;
    }
    if (nt <= 1) {
        run_range(loop, &it, data, sizes, params, 0, total);
        return;
    }
    /* Fixed chunks of 2^14 elements, dealt out statically: the split never changes the
     * arithmetic of any element, only who computes it. */
    int64_t chunk = 1 << 14, nchunks = (total + chunk - 1) / chunk;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t e = (c + 1) * chunk;
        run_range(loop, &it, data, sizes, params, c * chunk, e < total ? e : total);
    }
}

/* A new tensor of a's shape and dtype `dtype` whose dims lie in memory in the order of
 * a's strides (largest first; ties keep the dims' order), densely: a transposed or
 * permuted view's result lies as the view does, as PyTorch's elementwise ops keep their
 * input's layout.  Contiguous when that order is the dims' own, or when a has a negative
 * stride or a zero one on a dim of size > 1 (an expanded view). */
static pa_tensor *new_layout_of(const pa_tensor *a, int dtype) {
    int perm[PA_MAX_DIMS], n = 0;
    bool moved = false;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] == 1) continue;
        if (a->strides[d] <= 0) return pa_tensor_new(a->ndim, a->shape, dtype);
        int j = n++;
        for (; j > 0 && a->strides[perm[j - 1]] < a->strides[d]; j--) perm[j] = perm[j - 1];
        perm[j] = d;
        moved |= j != n - 1;
    }
    if (!moved) return pa_tensor_new(a->ndim, a->shape, dtype);
    int64_t strides[PA_MAX_DIMS], step = 1;
    for (int d = a->ndim - 1; d >= 0; d--) strides[d] = 1;  /* (dims of size 1) */
    for (int i = n - 1; i >= 0; i--) {
        strides[perm[i]] = step;
        step *= a->shape[perm[i]];
    }
    pa_storage *st = pa_storage_new((size_t)a->numel * pa_dtype_size(dtype));
    if (!st) return NULL;
    pa_tensor *t = pa_tensor_wrap(st, 0, a->ndim, a->shape, strides, dtype);
    pa_storage_release(st);
    return t;
}

/* The output of a binary op of the broadcast shape: in the layout of the first operand
 * that has that whole shape (x.t() + 1, x.t() * y.t(), 2 * x.t()), as PyTorch's; otherwise
 * contiguous. */
static pa_tensor *binary_output(const pa_tensor *a, const pa_tensor *b, int ndim,
                                const int64_t *shape, int dtype) {
    bool a_full = a->ndim == ndim && !memcmp(a->shape, shape, (size_t)ndim * sizeof *shape);
    bool b_full = b->ndim == ndim && !memcmp(b->shape, shape, (size_t)ndim * sizeof *shape);
    const pa_tensor *lead = a_full ? a : b_full ? b : NULL;
    return lead ? new_layout_of(lead, dtype) : pa_tensor_new(ndim, shape, dtype);
}

/* ---- binary loops -------------------------------------------------------------- */
#define NAN_MAX(x, y) (((x) > (y) || (x) != (x)) ? (x) : (y))
#define NAN_MIN(x, y) (((x) < (y) || (x) != (x)) ? (x) : (y))

#define ARITH_LOOPS(SUFFIX, T)                                      \
    PA_BINARY_LOOP(add_##SUFFIX, T, T, x + y)                       \
    PA_BINARY_LOOP(sub_##SUFFIX, T, T, x - y)                       \
    PA_BINARY_LOOP(mul_##SUFFIX, T, T, x * y)
#define COMPARE_LOOPS(SUFFIX, T)                                    \
    PA_BINARY_LOOP(max_##SUFFIX, T, T, NAN_MAX(x, y))               \
    PA_BINARY_LOOP(min_##SUFFIX, T, T, NAN_MIN(x, y))               \
    PA_BINARY_LOOP(eq_##SUFFIX, T, uint8_t, x == y)                 \
    PA_BINARY_LOOP(ne_##SUFFIX, T, uint8_t, x != y)                 \
    PA_BINARY_LOOP(lt_##SUFFIX, T, uint8_t, x < y)                  \
    PA_BINARY_LOOP(le_##SUFFIX, T, uint8_t, x <= y)                 \
    PA_BINARY_LOOP(gt_##SUFFIX, T, uint8_t, x > y)                  \
    PA_BINARY_LOOP(ge_##SUFFIX, T, uint8_t, x >= y)
ARITH_LOOPS(f32, float)
ARITH_LOOPS(f64, double)
ARITH_LOOPS(i64, int64_t)
COMPARE_LOOPS(f32, float)
COMPARE_LOOPS(f64, double)
COMPARE_LOOPS(i64, int64_t)
COMPARE_LOOPS(b8, uint8_t)
PA_BINARY_LOOP(div_f32, float, float, x / y)
PA_BINARY_LOOP(div_f64, double, double, x / y)
PA_BINARY_LOOP(pow_f32, float, float, powf(x, y))
PA_BINARY_LOOP(pow_f64, double, double, pow(x, y))
/* pow by a scalar exponent that PyTorch's CPU kernel special-cases (ATen's PowKernel): the
 * loops read only x. */
#define POW_SPECIAL_LOOPS(SUFFIX, T, F)                                          \
    PA_BINARY_LOOP(pow_cube_##SUFFIX, T, T, x * x * x)                          \
    PA_BINARY_LOOP(pow_inv_square_##SUFFIX, T, T, (T)1 / (x * x))               \
    PA_BINARY_LOOP(pow_sqrt_##SUFFIX, T, T, sqrt##F(x))                         \
    PA_BINARY_LOOP(pow_rsqrt_##SUFFIX, T, T, (T)1 / sqrt##F(x))                 \
    PA_BINARY_LOOP(pow_reciprocal_##SUFFIX, T, T, (T)1 / x)
POW_SPECIAL_LOOPS(f32, float, f)
POW_SPECIAL_LOOPS(f64, double, )
/* atan2(x, y), x the first operand (PyTorch's input, the point's y coordinate). */
PA_BINARY_LOOP_PATCHED(atan2_f32, float, pa_atan2f(x, y), PA_ATAN2_RARE, atan2f(x, y))
PA_BINARY_LOOP(atan2_f64, double, double, atan2(x, y))
PA_BINARY_LOOP(and_b8, uint8_t, uint8_t, x && y)
PA_BINARY_LOOP(or_b8, uint8_t, uint8_t, x || y)

/* Integer powers by squaring; a negative exponent gives 0 except for bases 1 and -1. */
static int64_t ipow(int64_t base, int64_t e) {
    if (e < 0) return base == 1 ? 1 : base == -1 ? (e % 2 ? -1 : 1) : 0;
    int64_t r = 1;
    while (e) {
        if (e & 1) r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}
PA_BINARY_LOOP(pow_i64, int64_t, int64_t, ipow(x, y))

#define ROW(name) {name##_f32, name##_f64, name##_i64, name##_b8}
static const pa_loop_fn binary_loops[PA_BIN_COUNT][4] = {
    [PA_BIN_ADD] = {add_f32, add_f64, add_i64, or_b8},   /* bool + bool: logical or */
    [PA_BIN_SUB] = {sub_f32, sub_f64, sub_i64, NULL},
    [PA_BIN_MUL] = {mul_f32, mul_f64, mul_i64, and_b8},  /* bool * bool: logical and */
    [PA_BIN_DIV] = {div_f32, div_f64, NULL, NULL},
    [PA_BIN_POW] = {pow_f32, pow_f64, pow_i64, NULL},
    [PA_BIN_MAXIMUM] = ROW(max),
    [PA_BIN_MINIMUM] = ROW(min),
    [PA_BIN_ATAN2] = {atan2_f32, atan2_f64, NULL, NULL},
    [PA_BIN_EQ] = ROW(eq),
    [PA_BIN_NE] = ROW(ne),
    [PA_BIN_LT] = ROW(lt),
    [PA_BIN_LE] = ROW(le),
    [PA_BIN_GT] = ROW(gt),
    [PA_BIN_GE] = ROW(ge),
    [PA_BIN_LOGICAL_AND] = {NULL, NULL, NULL, and_b8},
    [PA_BIN_LOGICAL_OR] = {NULL, NULL, NULL, or_b8},
};
#undef ROW

static const char *const binary_names[PA_BIN_COUNT] = {
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le",
    "gt", "ge", "logical_and", "logical_or"};

static const pa_op binary_node_ops[PA_BIN_COUNT] = {
    [PA_BIN_ADD] = PA_OP_ADD, [PA_BIN_SUB] = PA_OP_SUB, [PA_BIN_MUL] = PA_OP_MUL,
    [PA_BIN_DIV] = PA_OP_DIV, [PA_BIN_POW] = PA_OP_POW, [PA_BIN_MAXIMUM] = PA_OP_MAXIMUM,
    [PA_BIN_MINIMUM] = PA_OP_MINIMUM, [PA_BIN_ATAN2] = PA_OP_ATAN2};

static bool is_comparison(int op) { return op >= PA_BIN_EQ && op <= PA_BIN_GE; }
static bool is_differentiable(int op) { return op <= PA_BIN_ATAN2; }

/* PyTorch's promotion: categories bool < integer < float; a 0-dim tensor only decides
 * the dtype within its category when the other operand has dims. */
static int category(int dtype) { return dtype == PA_BOOL ? 0 : dtype == PA_INT64 ? 1 : 2; }

static int promote(const pa_tensor *a, const pa_tensor *b) {
    if (a->dtype == b->dtype) return a->dtype;
    bool a_scalar = a->ndim == 0 && b->ndim > 0, b_scalar = b->ndim == 0 && a->ndim > 0;
    int ca = category(a->dtype), cb = category(b->dtype);
    if (a_scalar && ca <= cb) return b->dtype;
    if (b_scalar && cb <= ca) return a->dtype;
    if (ca != cb) return ca > cb ? a->dtype : b->dtype;
    return a->dtype == PA_FLOAT64 || b->dtype == PA_FLOAT64 ? PA_FLOAT64 : a->dtype;
}

static int compute_dtype(int op, int promoted) {
    if (op == PA_BIN_LOGICAL_AND || op == PA_BIN_LOGICAL_OR) return PA_BOOL;
    if (promoted == PA_BOOL && (op == PA_BIN_ADD || op == PA_BIN_MUL)) return PA_BOOL;
    if ((op == PA_BIN_DIV || op == PA_BIN_ATAN2) && !pa_is_float(promoted)) return PA_FLOAT32;
    if (promoted == PA_BOOL && !is_comparison(op) && op != PA_BIN_MAXIMUM && op != PA_BIN_MINIMUM)
        return PA_INT64;
    return promoted;
}

/* Computes out = a op b for a, b of dtype `dt` into a new tensor (no graph), or into
 * `into` (a new reference to it in *out) when given: the caller has checked that it has
 * the broadcast shape and the result dtype and that writing it as the loop reads does no
 * harm (see pa_binary_). */
static int binary_raw_into(int op, pa_tensor *a, pa_tensor *b, int dt, pa_tensor *into,
                           pa_tensor **out);

static int binary_raw(int op, pa_tensor *a, pa_tensor *b, int dt, pa_tensor **out) {
    return binary_raw_into(op, a, b, dt, NULL, out);
}

static int binary_raw_into(int op, pa_tensor *a, pa_tensor *b, int dt, pa_tensor *into,
                           pa_tensor **out) {
    int ndim;
    int64_t shape[PA_MAX_DIMS];
    TRY(pa_broadcast_shapes(binary_names[op], a, b, &ndim, shape));
    if (op == PA_BIN_SUB && a->dtype == PA_BOOL && b->dtype == PA_BOOL)
        return pa_error(PA_ERR_TYPE, "sub: subtraction, the `-` operator, with two bool tensors is "
                        "not supported; use the `^` or logical_xor() operator instead");
    if (op == PA_BIN_LOGICAL_AND || op == PA_BIN_LOGICAL_OR) {
        /* As PyTorch: both operands to their common dtype first, then to bool (a float64
         * 0-dim 1e-300 beside a float32 tensor is 0 in float32, so false). */
        int common = promote(a, b);
        if (common != PA_BOOL && (a->dtype != common || b->dtype != common)) {
            pa_tensor *a1 = pa_cast_nograd(a, common), *b1 = a1 ? pa_cast_nograd(b, common) : NULL;
            int rc = b1 ? binary_raw_into(op, a1, b1, dt, into, out) : PA_ERR_MEMORY;
            pa_tensor_release(a1);
            pa_tensor_release(b1);
            return rc;
        }
    }
    pa_loop_fn loop = binary_loops[op][dt];
    if (!loop)
        return pa_error(PA_ERR_TYPE, "%s: not implemented for dtype %s", binary_names[op],
                        pa_dtype_name(dt));
    int out_dt = is_comparison(op) ? PA_BOOL : dt;
    /* A float tensor to the power of a Python scalar 2, 3, -2, 0.5, -0.5 or -1 is computed
     * as PyTorch's CPU kernel computes it, x * x, x * x * x, 1 / (x * x), sqrt(x),
     * 1 / sqrt(x), 1 / x (so the bits are PyTorch's, which differ from powf's at -0 and
     * -inf for the roots), vectorised where powf is a scalar call per element; a tensor
     * exponent, of one element or not, goes through powf, as in PyTorch.  x ** 2 reads x
     * twice through the multiply loop.
     * NOTE: measured: (1e6 floats) ** 2, 2 threads: 4.8 ms -> 0.22 ms. */
    double e = 0;
    bool square = false;
    if (op == PA_BIN_POW && !pa_is_float(dt) && b->wrapped_number && pa_item(b, &e) == PA_OK && e < 0)
        return pa_error(PA_ERR_RUNTIME, "pow: Integers to negative integer powers are not allowed.");
    if (op == PA_BIN_POW && pa_is_float(dt) && b->wrapped_number == 1 && pa_item(b, &e) == PA_OK) {
        bool f = dt == PA_FLOAT32;
        square = e == 2;
        loop = square ? binary_loops[PA_BIN_MUL][dt]
               : e == 3 ? (f ? pow_cube_f32 : pow_cube_f64)
               : e == -2 ? (f ? pow_inv_square_f32 : pow_inv_square_f64)
               : e == 0.5 ? (f ? pow_sqrt_f32 : pow_sqrt_f64)
               : e == -0.5 ? (f ? pow_rsqrt_f32 : pow_rsqrt_f64)
               : e == -1 ? (f ? pow_reciprocal_f32 : pow_reciprocal_f64) : loop;
    }
    pa_tensor *ac = pa_cast_nograd(a, dt), *bc = ac ? pa_cast_nograd(b, dt) : NULL;
    pa_tensor *o = !bc ? NULL : into ? (pa_tensor_retain(into), into)
                                     : binary_output(a, b, ndim, shape, out_dt);
    if (o) {
        int64_t sa[PA_MAX_DIMS], sb[PA_MAX_DIMS];
        pa_broadcast_strides(ac, ndim, shape, sa);
        pa_broadcast_strides(bc, ndim, shape, sb);
        char *data[3] = {o->data, ac->data, square ? ac->data : bc->data};
        const int64_t *strides[3] = {o->strides, sa, square ? sa : sb};
        size_t sizes[3] = {pa_dtype_size(out_dt), pa_dtype_size(dt), pa_dtype_size(dt)};
        pa_run_loop(loop, ndim, shape, 3, data, strides, sizes, NULL);
    }
    pa_tensor_release(ac);
    pa_tensor_release(bc);
    *out = o;
    return o ? PA_OK : PA_ERR_MEMORY;
}

static int record_binary(int op, pa_tensor *a, pa_tensor *b, pa_tensor *o) {
    pa_tensor *inputs[2] = {a, b};
    pa_node *node = pa_node_new(binary_node_ops[op], 2, inputs, o);
    if (!node) return PA_ERR_MEMORY;
    /* Save only what the backward formula reads. */
    bool ga = pa_input_needs_grad(node, 0), gb = pa_input_needs_grad(node, 1);
    int rc = PA_OK;
    switch (op) {
    case PA_BIN_MUL:
        if (gb) rc = pa_node_save(node, 0, a);
        if (ga && !rc) rc = pa_node_save(node, 1, b);
        break;
    case PA_BIN_DIV:
        rc = pa_node_save(node, 1, b);
        if (gb && !rc) rc = pa_node_save(node, 0, a);
        break;
    case PA_BIN_POW:
    case PA_BIN_MAXIMUM:
    case PA_BIN_MINIMUM:
    case PA_BIN_ATAN2:
        rc = pa_node_save(node, 0, a);
        if (!rc) rc = pa_node_save(node, 1, b);
        if (!rc && op == PA_BIN_POW && gb) rc = pa_node_save(node, 2, o);
        break;
    default:
        break;
    }
    return rc;
}

int pa_binary(int op, pa_tensor *a, pa_tensor *b, pa_tensor **out) {
    PA_REQUIRE("binary", a && b && out, "NULL tensor or result pointer");
    if (op < 0 || op >= PA_BIN_COUNT) return pa_error(PA_ERR_VALUE, "binary: unknown op %d", op);
    int dt = compute_dtype(op, promote(a, b));
    TRY(binary_raw(op, a, b, dt, out));
    if (is_differentiable(op) && pa_is_float(dt) && pa_needs_grad(2, (pa_tensor *[]){a, b})) {
        int rc = record_binary(op, a, b, *out);
        if (rc) {
            pa_tensor_release(*out);
            *out = NULL;
            return rc;
        }
    }
    return PA_OK;
}

/* The dtype of a Python scalar next to tensor a, by PyTorch's rules for wrapped
 * numbers: a float scalar keeps a float tensor's dtype and makes an integer tensor's
 * result float32; an int scalar takes the tensor's dtype (int64 for bool). */
/* The dtype a Python scalar takes beside tensor a (PyTorch's wrapped numbers): kind 1, a
 * float, makes an integer or bool tensor's result float32; kind 0, an int, makes a bool
 * tensor's int64; kind 2, a bool, takes a's dtype (True + a bool tensor stays bool). */
static int scalar_dtype(const pa_tensor *a, int kind) {
    if (kind == 1) return pa_is_float(a->dtype) ? a->dtype : PA_FLOAT32;
    if (kind == 2) return a->dtype;
    return a->dtype == PA_BOOL ? PA_INT64 : a->dtype;
}

/* The wrapped_number mark of a Python scalar s held in dtype dt: 1 when dt holds it
 * exactly, 2 when it was rounded (float32), so that pow's special exponents are decided on
 * the Python value, as PyTorch decides them. */
static int wrapped_kind(int dt, double s) {
    return dt == PA_FLOAT32 && (double)(float)s != s ? 2 : 1;
}

/* A 0-dim tensor on the caller's stack: for ops that record no graph, so nothing can
 * keep a reference to it (saves two allocations per scalar op). */
typedef struct {
    pa_storage storage;
    pa_tensor tensor;
    union { float f32; double f64; int64_t i64; uint8_t b8; } value;
} stack_scalar;

static pa_tensor *stack_scalar_init(stack_scalar *s, int dtype, double v) {
    switch (dtype) {
    case PA_FLOAT32: s->value.f32 = (float)v; break;
    case PA_FLOAT64: s->value.f64 = v; break;
    case PA_INT64: s->value.i64 = (int64_t)v; break;
    default: s->value.b8 = v != 0; break;
    }
    s->storage = (pa_storage){.refcount = 1, .nbytes = sizeof s->value, .data = &s->value};
    s->tensor = (pa_tensor){.refcount = 1, .storage = &s->storage, .data = (char *)&s->value,
                            .numel = 1, .dtype = dtype};
    return &s->tensor;
}

int pa_binary_scalar(int op, pa_tensor *a, double s, int scalar_is_float, int scalar_first,
                     pa_tensor **out) {
    PA_REQUIRE("binary", a && out, "NULL tensor or result pointer");
    int dt = scalar_dtype(a, scalar_is_float);
    if (!pa_needs_grad(1, &a)) {
        stack_scalar tmp;
        pa_tensor *st = stack_scalar_init(&tmp, dt, s);
        st->wrapped_number = wrapped_kind(dt, s);
        return scalar_first ? pa_binary(op, st, a, out) : pa_binary(op, a, st, out);
    }
    pa_tensor *st;
    TRY(pa_full(0, NULL, dt, s, &st));  /* may be saved by the node: on the heap */
    st->wrapped_number = wrapped_kind(dt, s);
    int rc = scalar_first ? pa_binary(op, st, a, out) : pa_binary(op, a, st, out);
    pa_tensor_release(st);
    return rc;
}

/* Whether a op= b is recorded by the graph, or an error when it cannot be: a leaf that
 * requires grad is never written in place (as in PyTorch); a tensor whose memory other
 * tensors share (a view of it, or a value saved for backward) is not either, since
 * their place in the graph would not follow (PyTorch rebases views; pyautodiff
 * refuses). */
static int check_inplace(const char *op, pa_tensor *a, pa_tensor *b, bool *record) {
    *record = pa_is_grad_enabled() && (a->requires_grad || (b && b->requires_grad));
    if (*record && a->requires_grad && !a->grad_fn)
        return pa_error(PA_ERR_RUNTIME, "%s_: a leaf Variable that requires grad is being used "
                        "in an in-place operation (wrap it in no_grad())", op);
    if (*record && a->storage->refcount > 1)
        return pa_error(PA_ERR_RUNTIME, "%s_: in-place operation on a tensor whose memory "
                        "other tensors share (a view of it, or a value saved for backward), "
                        "with autograd recording it: not supported; use the out-of-place "
                        "op", op);
    char name[64];
    snprintf(name, sizeof name, "%s_", op);
    return pa_check_no_internal_overlap(name, a);
}

/* PyTorch's canCast: no floating result into an integral or bool tensor, no non-bool
 * result into a bool one; any other cast (float64 into float32 included) is allowed. */
static bool can_cast(int from, int to) {
    if (pa_is_float(from) && !pa_is_float(to)) return false;
    return to != PA_BOOL || from == PA_BOOL;
}

/* a <- r, r computed from a out of place (the reference to r is taken over).  Recorded,
 * the node that computed r keeps a's old values if it saved them, a cast back to a's
 * dtype joins the graph, and a takes the result's place there. */
static int take_result(pa_tensor *a, pa_tensor *r, bool record) {
    int rc = PA_OK;
    if (record && r->dtype != a->dtype) {
        pa_tensor *c = NULL;
        rc = pa_node_copy_saved(r->grad_fn, a);  /* the op's node, behind the cast's */
        if (!rc) rc = pa_to_dtype(r, a->dtype, &c);
        pa_tensor_release(r);
        r = c;
    }
    if (!rc && record) rc = pa_rebase_history(a, r);
    if (!rc && a->storage == r->storage) {  /* (no graph) overlap possible: via a copy */
        pa_tensor *tmp = pa_tensor_new(r->ndim, r->shape, r->dtype);
        if (!tmp) rc = PA_ERR_MEMORY;
        else pa_copy_strided(tmp, r), pa_copy_strided(a, tmp), pa_tensor_release(tmp);
    } else if (!rc) {
        pa_copy_strided(a, r);
    }
    if (!rc) pa_bump_version(a);
    pa_tensor_release(r);
    return rc;
}

/* a op= b: computed in the promoted dtype, as the out-of-place op would be, then cast
 * into a (PyTorch: float32 += float64 adds in float64 and rounds once to float32). */
/* Whether a and b may share bytes: one storage, or memory ranges that meet (two tensors
 * over views of one NumPy array have different storages). */
static bool may_overlap(const pa_tensor *a, const pa_tensor *b) {
    if (a->storage == b->storage) return true;
    const pa_tensor *t[2] = {a, b};
    uintptr_t lo[2], hi[2];
    for (int k = 0; k < 2; k++) {
        int64_t first = 0, last = 0;
        for (int d = 0; d < t[k]->ndim; d++) {
            int64_t span = (t[k]->shape[d] - 1) * t[k]->strides[d];
            if (t[k]->shape[d] == 0) return false;
            if (span < 0) first += span; else last += span;
        }
        size_t es = pa_dtype_size(t[k]->dtype);
        lo[k] = (uintptr_t)(t[k]->data + first * (int64_t)es);
        hi[k] = (uintptr_t)(t[k]->data + (last + 1) * (int64_t)es);
    }
    return lo[0] < hi[1] && lo[1] < hi[0];
}

int pa_binary_(int op, pa_tensor *a, pa_tensor *b) {
    PA_REQUIRE("binary_", a && b, "NULL tensor");
    if (op < 0 || op >= PA_BIN_COUNT) return pa_error(PA_ERR_VALUE, "binary_: unknown op %d", op);
    bool record;
    TRY(check_inplace(binary_names[op], a, b, &record));
    if (record && !is_differentiable(op))
        return pa_error(PA_ERR_RUNTIME, "%s_: not differentiable, so it cannot be applied in "
                        "place to a tensor that requires grad", binary_names[op]);
    int dt = compute_dtype(op, promote(a, b));
    int out_dt = is_comparison(op) ? PA_BOOL : dt;
    if (!can_cast(out_dt, a->dtype))
        return pa_error(PA_ERR_TYPE, "%s_: result type %s can't be cast to the desired output "
                        "type %s", binary_names[op], pa_dtype_name(out_dt), pa_dtype_name(a->dtype));
    int ndim;
    int64_t shape[PA_MAX_DIMS];
    TRY(pa_broadcast_shapes(binary_names[op], a, b, &ndim, shape));
    if (ndim != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * (size_t)ndim)) {
        char b1[128], b2[128];
        return pa_error(PA_ERR_VALUE, "%s_: output with shape %s doesn't match the broadcast "
                        "shape %s", binary_names[op], PA_SHAPE_STR(a, b1),
                        pa_shape_str(ndim, shape, b2, sizeof b2));
    }
    pa_tensor *r;
    /* NOTE: straight into a when nothing is recorded, no cast is needed and b cannot be
     * overwritten before it is read: b is a itself (each element read, then written) or
     * lives in memory that a does not reach.  (1024 x 512 floats, x.mul_(1.5): 243 us through a result
     * copied into place, 90 with the copy split across threads.)  Otherwise computed out
     * of place, as b may overlap a (x.add_(x.t())), and recorded as a node. */
    if (!record && a->dtype == dt && out_dt == dt && (b == a || !may_overlap(a, b))) {
        TRY(binary_raw_into(op, a, b, dt, a, &r));
        pa_tensor_release(r);
        pa_bump_version(a);
        return PA_OK;
    }
    TRY(record ? pa_binary(op, a, b, &r) : binary_raw(op, a, b, dt, &r));
    return take_result(a, r, record);
}

int pa_assign_(pa_tensor *a, pa_tensor *r, const char *op) {
    PA_REQUIRE("assign_", a && r && op, "NULL tensor or name");
    if (!pa_same_shape(a, r)) {
        char b1[128], b2[128];
        return pa_error(PA_ERR_VALUE, "%s_: result of shape %s does not match the tensor's "
                        "shape %s", op, PA_SHAPE_STR(r, b1), PA_SHAPE_STR(a, b2));
    }
    if (!can_cast(r->dtype, a->dtype))
        return pa_error(PA_ERR_TYPE, "%s_: result type %s can't be cast to the desired output "
                        "type %s", op, pa_dtype_name(r->dtype), pa_dtype_name(a->dtype));
    bool record;
    TRY(check_inplace(op, a, r, &record));
    pa_tensor_retain(r);
    return take_result(a, r, record);
}

int pa_binary_scalar_(int op, pa_tensor *a, double s, int scalar_is_float) {
    PA_REQUIRE("binary_scalar_", a, "NULL tensor or result pointer");
    int dt = scalar_dtype(a, scalar_is_float);  /* a float into an integer tensor: refused below */
    if (!(pa_is_grad_enabled() && a->requires_grad)) {
        stack_scalar tmp;
        pa_tensor *st = stack_scalar_init(&tmp, dt, s);
        st->wrapped_number = wrapped_kind(dt, s);
        return pa_binary_(op, a, st);
    }
    pa_tensor *st;
    TRY(pa_full(0, NULL, dt, s, &st));  /* may be saved by the recorded node: on the heap */
    st->wrapped_number = wrapped_kind(dt, s);
    int rc = pa_binary_(op, a, st);
    pa_tensor_release(st);
    return rc;
}

/* ---- binary backward ----------------------------------------------------------- */
#define BW_TRY(expr) do { if ((rc = (expr))) goto done; } while (0)

int pa_backward_ADD(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    (void)node;
    pa_tensor_retain(g);
    pa_tensor_retain(g);
    grads[0] = g;
    grads[1] = g;
    return PA_OK;
}

int pa_backward_SUB(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    pa_tensor_retain(g);
    grads[0] = g;
    return pa_input_needs_grad(node, 1) ? pa_unary(PA_UN_NEG, g, &grads[1]) : PA_OK;
}

int pa_backward_MUL(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    int rc = PA_OK;
    if (pa_input_needs_grad(node, 0)) TRY(pa_binary(PA_BIN_MUL, g, node->saved[1], &grads[0]));
    if (pa_input_needs_grad(node, 1)) rc = pa_binary(PA_BIN_MUL, g, node->saved[0], &grads[1]);
    return rc;
}

int pa_backward_DIV(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    pa_tensor *a = node->saved[0], *b = node->saved[1], *t1 = NULL, *t2 = NULL;
    int rc = PA_OK;
    if (pa_input_needs_grad(node, 0)) BW_TRY(pa_binary(PA_BIN_DIV, g, b, &grads[0]));
    if (pa_input_needs_grad(node, 1)) {  /* -g * a / b^2 */
        BW_TRY(pa_binary(PA_BIN_MUL, g, a, &t1));
        BW_TRY(pa_binary(PA_BIN_MUL, b, b, &t2));
        pa_tensor *q;
        BW_TRY(pa_binary(PA_BIN_DIV, t1, t2, &q));
        rc = pa_unary(PA_UN_NEG, q, &grads[1]);
        pa_tensor_release(q);
    }
done:
    pa_tensor_release(t1);
    pa_tensor_release(t2);
    return rc;
}

PA_BINARY_LOOP(pow_grad_base_f32, float, float, y == 0 ? 0.0f : y * powf(x, y - 1))
PA_BINARY_LOOP(pow_grad_base_f64, double, double, y == 0 ? 0.0 : y * pow(x, y - 1))
/* y here is the saved output a^b: d/db = a^b log a, taken as 0 where a == 0 (and b >= 0). */
PA_BINARY_LOOP(pow_grad_exp_f32, float, float, x == 0 ? 0.0f : y * logf(x))
PA_BINARY_LOOP(pow_grad_exp_f64, double, double, x == 0 ? 0.0 : y * log(x))

/* The base's gradient for a Python-scalar exponent e (prm[0]), PyTorch's
 * g * (e * x.pow(e - 1)) with x.pow(e - 1) as its pow kernel computes the special
 * exponents (see pa_binary: x for 1, x * x, x * x * x, sqrt, 1 / sqrt, 1 / x, 1 / (x * x));
 * x is p[1], g p[2].  Other exponents keep powf (pow_grad_base).
 * NOTE: (x ** 2).sum().backward() on 1024 x 512 floats took 2.5 ms (PyTorch 0.84): powf is
 * a scalar call per element. */
#define POW_GRAD_SPECIAL_LOOPS(SUFFIX, T, F)                                                    \
    PA_BINARY_LOOP(pow_grad_p1_##SUFFIX, T, T, y * ((T)prm[0] * x))                             \
    PA_BINARY_LOOP(pow_grad_p2_##SUFFIX, T, T, y * ((T)prm[0] * (x * x)))                       \
    PA_BINARY_LOOP(pow_grad_p3_##SUFFIX, T, T, y * ((T)prm[0] * (x * x * x)))                   \
    PA_BINARY_LOOP(pow_grad_half_##SUFFIX, T, T, y * ((T)prm[0] * sqrt##F(x)))                  \
    PA_BINARY_LOOP(pow_grad_mhalf_##SUFFIX, T, T, y * ((T)prm[0] * ((T)1 / sqrt##F(x))))        \
    PA_BINARY_LOOP(pow_grad_m1_##SUFFIX, T, T, y * ((T)prm[0] * ((T)1 / x)))                    \
    PA_BINARY_LOOP(pow_grad_m2_##SUFFIX, T, T, y * ((T)prm[0] * ((T)1 / (x * x))))
POW_GRAD_SPECIAL_LOOPS(f32, float, f)
POW_GRAD_SPECIAL_LOOPS(f64, double, )

/* The loop for exponent e, or NULL when e - 1 is not one of the special exponents. */
static pa_loop_fn pow_grad_special(double e, bool f32) {
    double d = e - 1;
    return d == 1 ? (f32 ? pow_grad_p1_f32 : pow_grad_p1_f64)
           : d == 2 ? (f32 ? pow_grad_p2_f32 : pow_grad_p2_f64)
           : d == 3 ? (f32 ? pow_grad_p3_f32 : pow_grad_p3_f64)
           : d == 0.5 ? (f32 ? pow_grad_half_f32 : pow_grad_half_f64)
           : d == -0.5 ? (f32 ? pow_grad_mhalf_f32 : pow_grad_mhalf_f64)
           : d == -1 ? (f32 ? pow_grad_m1_f32 : pow_grad_m1_f64)
           : d == -2 ? (f32 ? pow_grad_m2_f32 : pow_grad_m2_f64) : NULL;
}

/* o = f(x, y) * g over broadcast x, y with the loop f, then the product with g. */
static int apply_binary_loop(pa_loop_fn f32, pa_loop_fn f64, pa_tensor *x, pa_tensor *y,
                             pa_tensor *g, pa_tensor **out) {
    int ndim;
    int64_t shape[PA_MAX_DIMS];
    TRY(pa_broadcast_shapes("backward", x, y, &ndim, shape));
    pa_tensor *f = pa_tensor_new(ndim, shape, x->dtype);
    PA_CHECK_OOM(f);
    int64_t sx[PA_MAX_DIMS], sy[PA_MAX_DIMS];
    pa_broadcast_strides(x, ndim, shape, sx);
    pa_broadcast_strides(y, ndim, shape, sy);
    char *data[3] = {f->data, x->data, y->data};
    const int64_t *strides[3] = {f->strides, sx, sy};
    size_t sz = pa_dtype_size(x->dtype), sizes[3] = {sz, sz, sz};
    pa_run_loop(x->dtype == PA_FLOAT32 ? f32 : f64, ndim, shape, 3, data, strides, sizes, NULL);
    int rc = pa_binary(PA_BIN_MUL, g, f, out);
    pa_tensor_release(f);
    return rc;
}

/* The saved operands of a binary op in the dtype of its output's gradient (the op
 * computed in the promoted dtype: float32 ** float64 is float64); new references. */
static int saved_in(pa_node *node, const pa_tensor *g, pa_tensor **a, pa_tensor **b) {
    *a = pa_cast_nograd(node->saved[0], g->dtype);
    *b = *a ? pa_cast_nograd(node->saved[1], g->dtype) : NULL;
    if (*b) return PA_OK;
    pa_tensor_release(*a);
    return pa_error(PA_ERR_MEMORY, "%s backward: out of memory", pa_op_name(node->op));
}

int pa_backward_POW(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    pa_tensor *a, *b;
    TRY(saved_in(node, g, &a, &b));
    int rc = PA_OK;
    double e = 0;
    pa_loop_fn special = NULL;
    if (node->saved[1]->wrapped_number == 1 && pa_item(b, &e) == PA_OK && e != 0)
        special = pow_grad_special(e, g->dtype == PA_FLOAT32);  /* (e == 0: zeros, below) */
    if (pa_input_needs_grad(node, 0) && special && pa_same_shape(a, g)) {
        pa_tensor *o = pa_tensor_new(a->ndim, a->shape, a->dtype);
        PA_CHECK_OOM(o);
        int64_t sg[PA_MAX_DIMS];
        pa_broadcast_strides(g, a->ndim, a->shape, sg);
        char *data[3] = {o->data, a->data, g->data};
        const int64_t *strides[3] = {o->strides, a->strides, sg};
        size_t sz = pa_dtype_size(a->dtype), sizes[3] = {sz, sz, sz};
        pa_run_loop(special, a->ndim, a->shape, 3, data, strides, sizes, &e);
        grads[0] = o;
    } else if (pa_input_needs_grad(node, 0)) {
        rc = apply_binary_loop(pow_grad_base_f32, pow_grad_base_f64, a, b, g, &grads[0]);
    }
    if (!rc && pa_input_needs_grad(node, 1))
        rc = apply_binary_loop(pow_grad_exp_f32, pow_grad_exp_f64, a, node->saved[2], g, &grads[1]);
    pa_tensor_release(a);
    pa_tensor_release(b);
    return rc;
}

/* atan2(a, b)'s derivatives: b / (a^2 + b^2) and -a / (a^2 + b^2), 0 where both are 0 (as
 * the NumPy path before; PyTorch's are NaN there). */
PA_BINARY_LOOP(atan2_grad_a_f32, float, float, x * x + y * y == 0 ? 0.0f : y / (x * x + y * y))
PA_BINARY_LOOP(atan2_grad_a_f64, double, double, x * x + y * y == 0 ? 0.0 : y / (x * x + y * y))
PA_BINARY_LOOP(atan2_grad_b_f32, float, float, x * x + y * y == 0 ? 0.0f : -x / (x * x + y * y))
PA_BINARY_LOOP(atan2_grad_b_f64, double, double, x * x + y * y == 0 ? 0.0 : -x / (x * x + y * y))

int pa_backward_ATAN2(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    pa_tensor *a, *b;
    TRY(saved_in(node, g, &a, &b));
    int rc = PA_OK;
    if (pa_input_needs_grad(node, 0))
        rc = apply_binary_loop(atan2_grad_a_f32, atan2_grad_a_f64, a, b, g, &grads[0]);
    if (!rc && pa_input_needs_grad(node, 1))
        rc = apply_binary_loop(atan2_grad_b_f32, atan2_grad_b_f64, a, b, g, &grads[1]);
    pa_tensor_release(a);
    pa_tensor_release(b);
    return rc;
}

/* d max(a, b)/da: 1 where a wins, 1/2 on ties (as PyTorch), 0 where b wins. */
PA_BINARY_LOOP(max_grad_f32, float, float, x > y ? 1.0f : x == y ? 0.5f : 0.0f)
PA_BINARY_LOOP(max_grad_f64, double, double, x > y ? 1.0 : x == y ? 0.5 : 0.0)

static int minmax_backward(pa_node *node, pa_tensor *g, pa_tensor **grads, int sign) {
    pa_tensor *a, *b;
    TRY(saved_in(node, g, &a, &b));
    int rc = PA_OK;
    /* For minimum, swap the roles: a wins where b > a. */
    if (pa_input_needs_grad(node, 0))
        rc = apply_binary_loop(max_grad_f32, max_grad_f64, sign > 0 ? a : b, sign > 0 ? b : a, g,
                               &grads[0]);
    if (!rc && pa_input_needs_grad(node, 1))
        rc = apply_binary_loop(max_grad_f32, max_grad_f64, sign > 0 ? b : a, sign > 0 ? a : b, g,
                               &grads[1]);
    pa_tensor_release(a);
    pa_tensor_release(b);
    return rc;
}

int pa_backward_MAXIMUM(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    return minmax_backward(node, g, grads, 1);
}

int pa_backward_MINIMUM(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    return minmax_backward(node, g, grads, -1);
}

/* ---- unary ops ----------------------------------------------------------------- */
#define SIGN(x) (((x) > 0) - ((x) < 0))

/* NOTE: tgmath-style names would pick float versions; explicit f-suffixed calls keep
 * float32 math in float32, like PyTorch. */
#define FLOAT_UNARY_LOOPS(SUFFIX, T, F, TANH, LOG, LOG1P, EXPM1, GELU, ERF, ERFC)         \
    PA_UNARY_LOOP(log_##SUFFIX, T, T, LOG(x))                                     \
    PA_UNARY_LOOP(sqrt_##SUFFIX, T, T, sqrt##F(x))                                \
    PA_UNARY_LOOP(tanh_##SUFFIX, T, T, TANH(x))                                   \
    PA_UNARY_LOOP(gelu_##SUFFIX, T, T, GELU(x))                                   \
    PA_UNARY_LOOP(gelu_tanh_##SUFFIX, T, T,                                       \
                  (T)0.5 * x * ((T)1 + TANH((T)0.79788456080286535588 * (x + (T)0.044715 * x * x * x)))) \
    PA_UNARY_LOOP(rsqrt_##SUFFIX, T, T, (T)1 / sqrt##F(x))                        \
    PA_UNARY_LOOP(log1p_##SUFFIX, T, T, LOG1P(x))                                 \
    PA_UNARY_LOOP(expm1_##SUFFIX, T, T, EXPM1(x))                                 \
    PA_UNARY_LOOP(reciprocal_##SUFFIX, T, T, (T)1 / x)                            \
    PA_UNARY_LOOP(erf_##SUFFIX, T, T, ERF(x))                                     \
    PA_UNARY_LOOP(erfc_##SUFFIX, T, T, ERFC(x))                                   \
    PA_UNARY_LOOP(abs_##SUFFIX, T, T, fabs##F(x))
/* GELU: x Phi(x); float32 through pa_phi (vmath.h), in double and without 1 + erf's
 * cancellation for negative x; float64 through libm's erf. */
#define GELU_F32(x) ((float)((double)(x) * pa_phi(x)))
#define GELU_F64(x) (0.5 * (x) * (1.0 + erf((x) * 0.70710678118654752440)))
/* NOTE: erf and erfc went through NumPy and math.erf per element: 117 ms for 1e6 float32
 * (2 threads; 258x PyTorch 2.13's 0.45 ms), 126 ms with the backward.  pa_erff /
 * pa_erfcf (vmath.h) evaluate their fits in double in vector lanes: 1.63 ms forward
 * (PyTorch 0.35 ms: it computes in float, we keep <= 1.5 / 1.7 ulp), 2.17 ms with the
 * backward (PyTorch 5.9 ms); 1e5 floats 9.5 -> 0.31 ms (one thread at that size). */
FLOAT_UNARY_LOOPS(f32, float, f, pa_tanhf, pa_logf, pa_log1pf, pa_expm1f, GELU_F32, pa_erff,
                  pa_erfcf)
FLOAT_UNARY_LOOPS(f64, double, , tanh, log, log1p, expm1, GELU_F64, erf, erfc)
/* NOTE: exp's and sigmoid's vector passes handle the inputs whose e^x is a normal float
 * (one scaling by 2^n, no clamp or NaN test: pa_expf_normal), and the rest are redone with
 * pa_expf: the same bits (checked over 5 million inputs, every bit pattern among them).
 * 1e5 floats on one thread: exp 35.9 -> 27.8 us, sigmoid 44.9 -> 36.1 (PyTorch 2.13: 16.2,
 * 36.9); tanh, whose argument to e^x is clamped and so always normal, 64.4 -> 43.4 (27.5). */
PA_UNARY_LOOP_PATCHED(exp_f32, float, pa_expf_normal(x), PA_EXP_RARE, pa_expf(x))
PA_UNARY_LOOP(exp_f64, double, double, exp(x))
PA_UNARY_LOOP_PATCHED(sigmoid_f32, float, pa_sigmoidf_normal(x), PA_SIGMOID_RARE, pa_sigmoidf(x))
PA_UNARY_LOOP(sigmoid_f64, double, double, pa_sigmoid(x))

/* sin and cos: float32 in vector lanes (pa_sinf, pa_cosf, vmath.h), the rare lanes past
 * their argument reduction (|x| > 2^20, inf, NaN) redone with libm afterwards; float64
 * with libm.
 * NOTE: libm's sinf / cosf are scalar calls (6 ns per float): sin of 1e6 floats took
 * 3.84 ms (2 threads; 11x PyTorch 2.13's 0.36 ms), 7.8 ms with the backward; now 0.60 ms
 * (PyTorch 0.26) and 1.26 ms (PyTorch 1.03).  The scan for rare lanes costs 0.08 ns per
 * float against 0.89 for the vector sin itself (one thread, 16,384 floats), so it is a
 * separate pass rather than a blend that would call libm for every lane. */
PA_UNARY_LOOP_PATCHED(sin_f32, float, pa_sinf(x), PA_SINCOS_RARE, sinf(x))
PA_UNARY_LOOP_PATCHED(cos_f32, float, pa_cosf(x), PA_SINCOS_RARE, cosf(x))
PA_UNARY_LOOP(sin_f64, double, double, sin(x))
PA_UNARY_LOOP(cos_f64, double, double, cos(x))

#define SIGNED_UNARY_LOOPS(SUFFIX, T)                                       \
    PA_UNARY_LOOP(neg_##SUFFIX, T, T, -x)                                   \
    PA_UNARY_LOOP(relu_##SUFFIX, T, T, x > 0 ? x : (x != x ? x : (T)0))     \
    PA_UNARY_LOOP(sign_##SUFFIX, T, T, (T)SIGN(x))                          \
    PA_UNARY_LOOP(square_##SUFFIX, T, T, x * x)                             \
    PA_UNARY_LOOP(not_##SUFFIX, T, uint8_t, !x)
SIGNED_UNARY_LOOPS(f32, float)
SIGNED_UNARY_LOOPS(f64, double)
SIGNED_UNARY_LOOPS(i64, int64_t)
PA_UNARY_LOOP(abs_i64, int64_t, int64_t, x < 0 ? -x : x)
PA_UNARY_LOOP(not_b8, uint8_t, uint8_t, !x)

/* SiLU, x sigmoid(x): the same two roundings as x * x.sigmoid(), in one pass. */
PA_UNARY_LOOP_PATCHED(silu_f32, float, x * pa_sigmoidf_normal(x), PA_SIGMOID_RARE, x * pa_sigmoidf(x))
PA_UNARY_LOOP(silu_f64, double, double, x * pa_sigmoid(x))
PA_UNARY_LOOP(log2_f32, float, float, pa_log2f(x))
PA_UNARY_LOOP(log2_f64, double, double, log2(x))
PA_UNARY_LOOP(log10_f32, float, float, pa_log10f(x))
PA_UNARY_LOOP(log10_f64, double, double, log10(x))

#define FLOATS(name) {name##_f32, name##_f64, NULL, NULL}
#define SIGNED(name) {name##_f32, name##_f64, name##_i64, NULL}
static const pa_loop_fn unary_loops[PA_UN_COUNT][4] = {
    [PA_UN_NEG] = SIGNED(neg),          [PA_UN_EXP] = FLOATS(exp),
    [PA_UN_LOG] = FLOATS(log),          [PA_UN_SQRT] = FLOATS(sqrt),
    [PA_UN_ABS] = SIGNED(abs),          [PA_UN_TANH] = FLOATS(tanh),
    [PA_UN_SIGMOID] = FLOATS(sigmoid),  [PA_UN_RELU] = SIGNED(relu),
    [PA_UN_GELU] = FLOATS(gelu),        [PA_UN_GELU_TANH] = FLOATS(gelu_tanh),
    [PA_UN_SIN] = FLOATS(sin),          [PA_UN_COS] = FLOATS(cos),
    [PA_UN_LOGICAL_NOT] = {not_f32, not_f64, not_i64, not_b8},
    [PA_UN_SIGN] = SIGNED(sign),        [PA_UN_RSQRT] = FLOATS(rsqrt),
    [PA_UN_LOG1P] = FLOATS(log1p),      [PA_UN_EXPM1] = FLOATS(expm1),
    [PA_UN_SQUARE] = SIGNED(square),    [PA_UN_RECIPROCAL] = FLOATS(reciprocal),
    [PA_UN_ERF] = FLOATS(erf),          [PA_UN_ERFC] = FLOATS(erfc),
    [PA_UN_LOG2] = FLOATS(log2),        [PA_UN_LOG10] = FLOATS(log10),
    [PA_UN_SILU] = FLOATS(silu),
};
#undef FLOATS
#undef SIGNED

static const char *const unary_names[] = {
    "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "gelu", "gelu", "sin",
    "cos", "logical_not", "sign", "rsqrt", "log1p", "expm1", "square", "reciprocal", "erf",
    "erfc", "log2", "log10", "silu"};
_Static_assert(sizeof unary_names / sizeof unary_names[0] == PA_UN_COUNT,
               "unary_names must name every PA_UN_ op");

/* Which value each unary backward reads: the input (x) or the output (y). */
enum { SAVE_NONE, SAVE_INPUT, SAVE_OUTPUT };
static const int unary_saves[PA_UN_COUNT] = {
    [PA_UN_EXP] = SAVE_OUTPUT,  [PA_UN_LOG] = SAVE_INPUT,      [PA_UN_SQRT] = SAVE_OUTPUT,
    [PA_UN_ABS] = SAVE_INPUT,   [PA_UN_TANH] = SAVE_OUTPUT,    [PA_UN_SIGMOID] = SAVE_OUTPUT,
    [PA_UN_RELU] = SAVE_OUTPUT, [PA_UN_GELU] = SAVE_INPUT,     [PA_UN_GELU_TANH] = SAVE_INPUT,
    [PA_UN_SIN] = SAVE_INPUT,   [PA_UN_COS] = SAVE_INPUT,      [PA_UN_RSQRT] = SAVE_OUTPUT,
    [PA_UN_LOG1P] = SAVE_INPUT, [PA_UN_EXPM1] = SAVE_OUTPUT,   [PA_UN_SQUARE] = SAVE_INPUT,
    [PA_UN_RECIPROCAL] = SAVE_OUTPUT, [PA_UN_ERF] = SAVE_INPUT, [PA_UN_ERFC] = SAVE_INPUT,
    [PA_UN_LOG2] = SAVE_INPUT,  [PA_UN_LOG10] = SAVE_INPUT,     [PA_UN_SILU] = SAVE_INPUT};

static int run_unary(pa_loop_fn loop, pa_tensor *a, int out_dtype, const double *params,
                     pa_tensor **out) {
    pa_tensor *o = new_layout_of(a, out_dtype);
    PA_CHECK_OOM(o);
    char *data[2] = {o->data, a->data};
    const int64_t *strides[2] = {o->strides, a->strides};
    size_t sizes[2] = {pa_dtype_size(out_dtype), pa_dtype_size(a->dtype)};
    pa_run_loop(loop, a->ndim, a->shape, 2, data, strides, sizes, params);
    *out = o;
    return PA_OK;
}

int pa_unary(int op, pa_tensor *a, pa_tensor **out) {
    PA_REQUIRE("unary", a && out, "NULL tensor or result pointer");
    if (op < 0 || op >= PA_UN_COUNT) return pa_error(PA_ERR_VALUE, "unary: unknown op %d", op);
    int dt = a->dtype;
    if (op == PA_UN_LOGICAL_NOT) {
        if (!unary_loops[op][dt]) return pa_error(PA_ERR_TYPE, "logical_not: bad dtype");
        return run_unary(unary_loops[op][dt], a, PA_BOOL, NULL, out);
    }
    if (!unary_loops[op][dt]) {
        if (op == PA_UN_NEG && dt == PA_BOOL)
            return pa_error(PA_ERR_TYPE, "neg: negation, the `-` operator, on a bool tensor is "
                            "not supported (use logical_not)");
        /* bool into an integer op computes in int64; integers into a float function
         * (exp, log, ...) in float32, as PyTorch. */
        dt = dt == PA_BOOL && unary_loops[op][PA_INT64] ? PA_INT64 : PA_FLOAT32;
    }
    if (!unary_loops[op][dt])
        return pa_error(PA_ERR_TYPE, "%s: not implemented for %s", unary_names[op], pa_dtype_name(a->dtype));
    pa_tensor *ac = pa_cast_nograd(a, dt);
    PA_CHECK_OOM(ac);
    int rc = run_unary(unary_loops[op][dt], ac, dt, NULL, out);
    pa_tensor_release(ac);
    if (rc || !pa_is_float(dt) || !pa_needs_grad(1, &a)) return rc;
    pa_node *node = pa_node_new(PA_OP_UNARY, 1, &a, *out);
    if (node) {
        node->iarg[0] = op;
        if (unary_saves[op] == SAVE_INPUT) rc = pa_node_save(node, 0, a);
        if (unary_saves[op] == SAVE_OUTPUT) rc = pa_node_save(node, 0, *out);
    }
    if (!node || rc) {
        pa_tensor_release(*out);
        *out = NULL;
        return rc ? rc : PA_ERR_MEMORY;
    }
    return PA_OK;
}

/* NOTE: computing into a itself saves a temporary of a's size and the pass that copied
 * it back: relu_ of 1024 x 128 floats took 17 us that way, twice relu's 8.4; now 6.9.
 * A recorded op whose backward reads a value (its input or its output) still computes
 * out of place: saving a itself would share a's memory with the node and so refuse the
 * next recorded in-place op on a, which works now (PyTorch reports it at backward). */
int pa_unary_(int op, pa_tensor *a) {
    PA_REQUIRE("unary_", a, "NULL tensor");
    if (op < 0 || op >= PA_UN_COUNT) return pa_error(PA_ERR_VALUE, "unary_: unknown op %d", op);
    const char *name = unary_names[op];
    pa_loop_fn loop = op == PA_UN_LOGICAL_NOT ? NULL : unary_loops[op][a->dtype];
    bool record;
    TRY(check_inplace(name, a, NULL, &record));
    if (!loop || (record && unary_saves[op] != SAVE_NONE)) {
        pa_tensor *r;
        TRY(pa_unary(op, a, &r));
        int rc = pa_assign_(a, r, name);
        pa_tensor_release(r);
        return rc;
    }
    if (record) {  /* a's new node, fed by its old history (which its edge now holds) */
        pa_node *old = a->grad_fn, *node = pa_node_new(PA_OP_UNARY, 1, &a, a);
        PA_CHECK_OOM(node);
        node->iarg[0] = op;
        if (old->retained == a) old->retained = NULL;
        if (a->retains_grad) node->retained = a;
        pa_node_release(old);
    }
    char *data[2] = {a->data, a->data};
    const int64_t *strides[2] = {a->strides, a->strides};
    size_t es = pa_dtype_size(a->dtype), sizes[2] = {es, es};
    pa_run_loop(loop, a->ndim, a->shape, 2, data, strides, sizes, NULL);
    pa_bump_version(a);
    return PA_OK;
}

/* Backward loops: o = g * f'(s), x = g (p[1]), y = s (p[2]): the saved input or output. */
/* GELU's derivative Phi(s) + s phi(s): float32 with pa_phi and pa_expf (vectorised),
 * float64 with libm. */
#define GELU_GRAD_F32(s) \
    ((float)(pa_phi(s) + (double)(s) * (0.39894228040143267794 * (double)pa_expf(-0.5f * (s) * (s)))))
#define GELU_GRAD_F64(s) \
    (0.5 * (1.0 + erf((s) * 0.70710678118654752440)) + (s) * (0.39894228040143267794 * exp(-0.5 * (s) * (s))))
#define GELU_TANH_GRAD(T, TANH, s)                                                          \
    ({                                                                                      \
        T k_ = (T)0.79788456080286535588, u_ = k_ * (s + (T)0.044715 * s * s * s);          \
        T t_ = TANH(u_);                                                                    \
        (T)0.5 * ((T)1 + t_) + (T)0.5 * s * ((T)1 - t_ * t_) * k_ * ((T)1 + (T)0.134145 * s * s); \
    })
/* erf' = 2/sqrt(pi) e^{-s^2} (erfc' its negative); float32 with e^{-s^2} from
 * pa_exp_neg_square (vectorised, and without the error of rounding s*s first). */
#define ERF_GRAD_F32(s) (1.12837916709551257390f * pa_exp_neg_square(s))
#define ERF_GRAD_F64(s) (1.12837916709551257390 * exp(-(s) * (s)))
/* SiLU's derivative as PyTorch writes it: g sigmoid(s) (1 + s (1 - sigmoid(s))). */
#define SILU_GRAD(T, SIGMOID, g, s)                                                             \
    ({                                                                                          \
        T sg_ = SIGMOID(s);                                                                     \
        g * sg_ * ((T)1 + s * ((T)1 - sg_));                                                    \
    })
#define UNARY_GRAD_LOOPS(SUFFIX, T, F, TANH, SIGMOID, GELU_GRAD, ERF_GRAD)                      \
    PA_BINARY_LOOP(exp_grad_##SUFFIX, T, T, x * y)                                              \
    PA_BINARY_LOOP(log_grad_##SUFFIX, T, T, x / y)                                              \
    PA_BINARY_LOOP(sqrt_grad_##SUFFIX, T, T, x / ((T)2 * y))                                    \
    PA_BINARY_LOOP(abs_grad_##SUFFIX, T, T, x * (T)SIGN(y))                                     \
    PA_BINARY_LOOP(tanh_grad_##SUFFIX, T, T, x * ((T)1 - y * y))                                \
    PA_BINARY_LOOP(sigmoid_grad_##SUFFIX, T, T, x * y * ((T)1 - y))                             \
    PA_BINARY_LOOP(relu_grad_##SUFFIX, T, T, y > 0 ? x : (T)0)                                  \
    PA_BINARY_LOOP(gelu_grad_##SUFFIX, T, T, x * GELU_GRAD(y))                                  \
    PA_BINARY_LOOP(gelu_tanh_grad_##SUFFIX, T, T, x * GELU_TANH_GRAD(T, TANH, y))               \
    PA_BINARY_LOOP(rsqrt_grad_##SUFFIX, T, T, (T)-0.5 * x * y * y * y)                          \
    PA_BINARY_LOOP(log1p_grad_##SUFFIX, T, T, x / ((T)1 + y))                                   \
    PA_BINARY_LOOP(expm1_grad_##SUFFIX, T, T, x * (y + (T)1))                                   \
    PA_BINARY_LOOP(square_grad_##SUFFIX, T, T, (T)2 * x * y)                                    \
    PA_BINARY_LOOP(reciprocal_grad_##SUFFIX, T, T, -x * y * y)                                 \
    PA_BINARY_LOOP(erf_grad_##SUFFIX, T, T, x * ERF_GRAD(y))                                    \
    PA_BINARY_LOOP(erfc_grad_##SUFFIX, T, T, -x * ERF_GRAD(y))                                  \
    PA_BINARY_LOOP(log2_grad_##SUFFIX, T, T, x / (y * (T)0.69314718055994530942))               \
    PA_BINARY_LOOP(log10_grad_##SUFFIX, T, T, x / (y * (T)2.30258509299404568402))              \
    PA_BINARY_LOOP(silu_grad_##SUFFIX, T, T, SILU_GRAD(T, SIGMOID, x, y))
UNARY_GRAD_LOOPS(f32, float, f, pa_tanhf, pa_sigmoidf, GELU_GRAD_F32, ERF_GRAD_F32)
UNARY_GRAD_LOOPS(f64, double, , tanh, pa_sigmoid, GELU_GRAD_F64, ERF_GRAD_F64)
/* sin' = cos, cos' = -sin: float32 through pa_cosf / pa_sinf, as the forward. */
/* (the gradient loops test the saved input y only) */
#define PA_SINCOS_RARE_Y(x, y) PA_SINCOS_RARE(y)
PA_BINARY_LOOP_PATCHED(sin_grad_f32, float, x * pa_cosf(y), PA_SINCOS_RARE_Y, x * cosf(y))
PA_BINARY_LOOP_PATCHED(cos_grad_f32, float, -x * pa_sinf(y), PA_SINCOS_RARE_Y, -x * sinf(y))
PA_BINARY_LOOP(sin_grad_f64, double, double, x * cos(y))
PA_BINARY_LOOP(cos_grad_f64, double, double, -x * sin(y))

#define PAIR(name) {name##_grad_f32, name##_grad_f64}
static const pa_loop_fn unary_grad_loops[PA_UN_COUNT][2] = {
    [PA_UN_EXP] = PAIR(exp),         [PA_UN_LOG] = PAIR(log),
    [PA_UN_SQRT] = PAIR(sqrt),       [PA_UN_ABS] = PAIR(abs),
    [PA_UN_TANH] = PAIR(tanh),       [PA_UN_SIGMOID] = PAIR(sigmoid),
    [PA_UN_RELU] = PAIR(relu),       [PA_UN_GELU] = PAIR(gelu),
    [PA_UN_GELU_TANH] = PAIR(gelu_tanh), [PA_UN_SIN] = PAIR(sin),
    [PA_UN_COS] = PAIR(cos),         [PA_UN_RSQRT] = PAIR(rsqrt),
    [PA_UN_LOG1P] = PAIR(log1p),     [PA_UN_EXPM1] = PAIR(expm1),
    [PA_UN_SQUARE] = PAIR(square),   [PA_UN_RECIPROCAL] = PAIR(reciprocal),
    [PA_UN_ERF] = PAIR(erf),         [PA_UN_ERFC] = PAIR(erfc),
    [PA_UN_LOG2] = PAIR(log2),       [PA_UN_LOG10] = PAIR(log10),
    [PA_UN_SILU] = PAIR(silu),
};
#undef PAIR

/* o = loop(g, s) elementwise over same-shaped g and s. */
static int grad_loop(const pa_loop_fn *pair, pa_tensor *g, pa_tensor *s, const double *params,
                     pa_tensor **out) {
    pa_tensor *o = pa_tensor_new(s->ndim, s->shape, s->dtype);
    PA_CHECK_OOM(o);
    int64_t sg[PA_MAX_DIMS];
    pa_broadcast_strides(g, s->ndim, s->shape, sg);
    char *data[3] = {o->data, g->data, s->data};
    const int64_t *strides[3] = {o->strides, sg, s->strides};
    size_t sz = pa_dtype_size(s->dtype), sizes[3] = {sz, sz, sz};
    pa_run_loop(pair[s->dtype == PA_FLOAT64], s->ndim, s->shape, 3, data, strides, sizes, params);
    *out = o;
    return PA_OK;
}

int pa_backward_UNARY(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    int op = (int)node->iarg[0];
    if (op == PA_UN_NEG) return pa_unary(PA_UN_NEG, g, &grads[0]);
    if (op == PA_UN_SIGN) return pa_full(node->out.ndim, node->out.shape, node->out.dtype, 0, &grads[0]);
    return grad_loop(unary_grad_loops[op], g, node->saved[0], NULL, &grads[0]);
}

/* ---- clamp --------------------------------------------------------------------- */
/* prm: {min, max, has_min, has_max}; NaN passes through, as in PyTorch. */
/* max(x, min) then min(., max): with min > max everything becomes max, as in PyTorch.
 * NOTE: every operand is read and the tests are combined with & and |, not && and ||:
 * the short-circuits were branches, which kept the loops scalar and mispredicted on
 * mixed data (clamp of 100,000 floats to [-0.5, 0.5]: 524 us; now vectorised). */
#define CLAMP(T, x)                                                                      \
    ({                                                                                   \
        T lo_ = (T)prm[0], hi_ = (T)prm[1];                                              \
        T low_ = (prm[2] != 0) & (x < lo_) ? lo_ : x;                                    \
        (prm[3] != 0) & (low_ > hi_) ? hi_ : low_;                                       \
    })
PA_UNARY_LOOP(clamp_f32, float, float, CLAMP(float, x))
PA_UNARY_LOOP(clamp_f64, double, double, CLAMP(double, x))
PA_UNARY_LOOP(clamp_i64, int64_t, int64_t, CLAMP(int64_t, x))
/* The gradient passes where the input was inside [min, max] (bounds included). */
#define CLAMP_OUTSIDE(y) (((prm[2] != 0) & (y < prm[0])) | ((prm[3] != 0) & (y > prm[1])))
PA_BINARY_LOOP(clamp_grad_f32, float, float, CLAMP_OUTSIDE(y) ? 0.0f : x)
PA_BINARY_LOOP(clamp_grad_f64, double, double, CLAMP_OUTSIDE(y) ? 0.0 : x)

int pa_clamp(pa_tensor *a, double min, double max, int has_min, int has_max, pa_tensor **out) {
    PA_REQUIRE("clamp", a && out, "NULL tensor or result pointer");
    if (!has_min && !has_max)
        return pa_error(PA_ERR_VALUE, "clamp: at least one of 'min' or 'max' must not be None");
    static const pa_loop_fn loops[4] = {clamp_f32, clamp_f64, clamp_i64, NULL};
    if (!loops[a->dtype]) return pa_error(PA_ERR_TYPE, "clamp: not implemented for bool");
    double prm[4] = {min, max, has_min, has_max};
    TRY(run_unary(loops[a->dtype], a, a->dtype, prm, out));
    if (!pa_needs_grad(1, &a)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_CLAMP, 1, &a, *out);
    int rc = node ? pa_node_save(node, 0, a) : PA_ERR_MEMORY;
    if (!rc) memcpy(node->farg, prm, sizeof prm);
    if (rc) {
        pa_tensor_release(*out);
        *out = NULL;
    }
    return rc;
}

int pa_backward_CLAMP(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    static const pa_loop_fn pair[2] = {clamp_grad_f32, clamp_grad_f64};
    return grad_loop(pair, g, node->saved[0], node->farg, &grads[0]);
}

/* ---- where --------------------------------------------------------------------- */
/* o = c ? a : b as a select, not a branch: a random mask mispredicted half the
 * branches (measured: 270 us for 131,072 floats, 2 ns an element).  The common stride
 * patterns (all contiguous, one value broadcast) get loops the compiler vectorises into
 * masked blends; both values are read whatever the mask says. */
#define WHERE_LOOP(NAME, T)                                                               \
    PA_CLONES static void NAME(int64_t n, char **p, const int64_t *s, const double *prm) { \
        (void)prm;                                                                        \
        T *restrict o = (T *)p[0];                                                        \
        const uint8_t *restrict c = (const uint8_t *)p[1];                                \
        const T *restrict a = (const T *)p[2], *restrict b = (const T *)p[3];             \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {                           \
            for (int64_t i = 0; i < n; i++) { T x = a[i], y = b[i]; o[i] = c[i] ? x : y; } \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 0) {                    \
            T y = b[0];                                                                   \
            for (int64_t i = 0; i < n; i++) { T x = a[i]; o[i] = c[i] ? x : y; }          \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 1) {                    \
            T x = a[0];                                                                   \
            for (int64_t i = 0; i < n; i++) { T y = b[i]; o[i] = c[i] ? x : y; }          \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 0) {                    \
            T x = a[0], y = b[0];                                                         \
            for (int64_t i = 0; i < n; i++) o[i] = c[i] ? x : y;                          \
        } else {                                                                          \
            for (int64_t i = 0; i < n; i++) {                                             \
                T x = a[i * s[2]], y = b[i * s[3]];                                       \
                o[i * s[0]] = c[i * s[1]] ? x : y;                                        \
            }                                                                             \
        }                                                                                 \
    }
WHERE_LOOP(where_f32, float)
WHERE_LOOP(where_f64, double)
WHERE_LOOP(where_i64, int64_t)
WHERE_LOOP(where_b8, uint8_t)

static int where_raw(pa_tensor *cond, pa_tensor *a, pa_tensor *b, int dt, int ndim,
                     const int64_t *shape, pa_tensor **out) {
    static const pa_loop_fn loops[4] = {where_f32, where_f64, where_i64, where_b8};
    pa_tensor *ac = pa_cast_nograd(a, dt), *bc = pa_cast_nograd(b, dt);
    pa_tensor *o = ac && bc ? pa_tensor_new(ndim, shape, dt) : NULL;
    if (o) {
        int64_t sc[PA_MAX_DIMS], sa[PA_MAX_DIMS], sb[PA_MAX_DIMS];
        pa_broadcast_strides(cond, ndim, shape, sc);
        pa_broadcast_strides(ac, ndim, shape, sa);
        pa_broadcast_strides(bc, ndim, shape, sb);
        char *data[4] = {o->data, cond->data, ac->data, bc->data};
        const int64_t *strides[4] = {o->strides, sc, sa, sb};
        size_t sz = pa_dtype_size(dt), sizes[4] = {sz, 1, sz, sz};
        pa_run_loop(loops[dt], ndim, shape, 4, data, strides, sizes, NULL);
    }
    pa_tensor_release(ac);
    pa_tensor_release(bc);
    *out = o;
    return o ? PA_OK : PA_ERR_MEMORY;
}

int pa_where(pa_tensor *cond, pa_tensor *a, pa_tensor *b, pa_tensor **out) {
    PA_REQUIRE("where", cond && a && b && out, "NULL tensor or result pointer");
    if (cond->dtype != PA_BOOL)
        return pa_error(PA_ERR_TYPE, "where: expected condition to be a bool tensor, got %s",
                        pa_dtype_name(cond->dtype));
    int n1, ndim;
    int64_t s1[PA_MAX_DIMS], shape[PA_MAX_DIMS];
    TRY(pa_broadcast_shapes("where", a, b, &n1, s1));
    pa_tensor ab = {.ndim = n1};
    memcpy(ab.shape, s1, sizeof s1);
    TRY(pa_broadcast_shapes("where", cond, &ab, &ndim, shape));
    int dt = promote(a, b);
    TRY(where_raw(cond, a, b, dt, ndim, shape, out));
    if (!pa_is_float(dt) || !pa_needs_grad(2, (pa_tensor *[]){a, b})) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_WHERE, 2, (pa_tensor *[]){a, b}, *out);
    int rc = node ? pa_node_save(node, 0, cond) : PA_ERR_MEMORY;
    if (rc) {
        pa_tensor_release(*out);
        *out = NULL;
    }
    return rc;
}

int pa_backward_WHERE(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    pa_tensor *zero;
    TRY(pa_full(0, NULL, g->dtype, 0, &zero));
    int rc = PA_OK;
    if (pa_input_needs_grad(node, 0))
        rc = where_raw(node->saved[0], g, zero, g->dtype, g->ndim, g->shape, &grads[0]);
    if (!rc && pa_input_needs_grad(node, 1))
        rc = where_raw(node->saved[0], zero, g, g->dtype, g->ndim, g->shape, &grads[1]);
    pa_tensor_release(zero);
    return rc;
}

/* ---- dtype conversion ---------------------------------------------------------- */
int pa_to_dtype(pa_tensor *a, int dtype, pa_tensor **out) {
    PA_REQUIRE("to", a && out, "NULL tensor or result pointer");
    if (dtype < PA_FLOAT32 || dtype > PA_BOOL)
        return pa_error(PA_ERR_TYPE, "to: unknown dtype code %d", dtype);
    if (a->dtype == dtype) {
        pa_tensor_retain(a);
        *out = a;
        return PA_OK;
    }
    *out = pa_cast_nograd(a, dtype);
    PA_CHECK_OOM(*out);
    if (pa_is_float(dtype) && pa_is_float(a->dtype) && pa_needs_grad(1, &a) &&
        !pa_node_new(PA_OP_CAST, 1, &a, *out)) {
        pa_tensor_release(*out);
        *out = NULL;
        return PA_ERR_MEMORY;
    }
    return PA_OK;
}

int pa_backward_CAST(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    grads[0] = pa_cast_nograd(g, node->next[0].meta.dtype);
    return grads[0] ? PA_OK : PA_ERR_MEMORY;
}
