/* dropout, leaky_relu, elu, softplus, hardsigmoid, hardswish and hardtanh: elementwise
 * layers with their backward.
 *
 * The dropout mask is drawn from the core generator (pa_rng_uniform) one element after
 * another in row-major order, so a seed gives the same mask for any thread count; it
 * is stored already scaled (0 or 1 / (1 - p)) and the backward multiplies by it. */
#include <math.h>
#include <stdlib.h>

#include "layer_util.h"
#include "loops.h"
#include "vmath.h"

/* ---- dropout ------------------------------------------------------------------- */
int pa_dropout(pa_tensor *input, double p, int training, pa_tensor **out) {
    PA_REQUIRE("dropout", input && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float("dropout", "input", input, -1));
    if (!(p >= 0 && p <= 1))
        return pa_error(PA_ERR_VALUE, "dropout: probability has to be between 0 and 1, but got %g", p);
    if (!training || p == 0) return pa_clone(input, out);  /* a copy with an identity-like graph */
    pa_tensor *mask = pa_tensor_new(input->ndim, input->shape, input->dtype);
    PA_CHECK_OOM(mask);
    double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
    PA_DISPATCH_FLOAT(input->dtype, T, {
        T *ms = (T *)mask->data;
        for (int64_t i = 0; i < mask->numel; i++) ms[i] = pa_rng_uniform() < p ? (T)0 : (T)scale;
    });
    int was = pa_is_grad_enabled();
    pa_set_grad_enabled(0);
    int rc = pa_binary(PA_BIN_MUL, input, mask, out);
    pa_set_grad_enabled(was);
    if (!rc && pa_needs_grad(1, &input)) {
        pa_node *node = pa_node_new(PA_OP_DROPOUT, 1, &input, *out);
        rc = node ? pa_node_save(node, 0, mask) : PA_ERR_MEMORY;
        if (rc) pa_layer_fail(rc, out);
    }
    pa_tensor_release(mask);
    return rc;
}

int pa_backward_DROPOUT(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pa_binary(PA_BIN_MUL, grad, node->saved[0], &grads[0]);
}

/* ---- leaky_relu ---------------------------------------------------------------- */
/* prm[0] is the negative slope; the gradient at 0 is the slope's side, as in PyTorch
 * (x > 0 ? g : g * slope). */
/* NOTE: the product is formed whichever side is taken: with it (and so the load of the
 * slope) inside the branch, the loop stayed scalar and branched on each element's sign
 * (100,000 floats: 414 us, 44x PyTorch's time). */
#define LEAKY(T, v, x) ({ T neg_ = x * (T)prm[0]; v > 0 ? x : neg_; })
PA_UNARY_LOOP(leaky_relu_f32, float, float, LEAKY(float, x, x))
PA_UNARY_LOOP(leaky_relu_f64, double, double, LEAKY(double, x, x))
PA_BINARY_LOOP(leaky_relu_grad_f32, float, float, LEAKY(float, y, x))
PA_BINARY_LOOP(leaky_relu_grad_f64, double, double, LEAKY(double, y, x))

/* y = loop(x) with its node (op, the input saved, prm in farg): the activations below. */
static int pointwise_forward(int op, pa_loop_fn f32, pa_loop_fn f64, pa_tensor *input,
                             const double *prm, int nprm, pa_tensor **out) {
    pa_tensor *y = pa_tensor_new(input->ndim, input->shape, input->dtype);
    PA_CHECK_OOM(y);
    char *data[2] = {y->data, input->data};
    const int64_t *strides[2] = {y->strides, input->strides};
    size_t sz = pa_dtype_size(input->dtype), sizes[2] = {sz, sz};
    pa_run_loop(input->dtype == PA_FLOAT32 ? f32 : f64, input->ndim, input->shape, 2, data,
                strides, sizes, prm);
    *out = y;
    if (!pa_needs_grad(1, &input)) return PA_OK;
    pa_node *node = pa_node_new(op, 1, &input, y);
    int rc = node ? pa_node_save(node, 0, input) : PA_ERR_MEMORY;
    if (node)
        for (int k = 0; k < nprm; k++) node->farg[k] = prm[k];
    return rc ? pa_layer_fail(rc, out) : PA_OK;
}

/* grads[0] = loop(grad, x) over the saved input x, grad broadcast to its shape. */
static int pointwise_backward(pa_node *node, pa_tensor *grad, pa_loop_fn f32, pa_loop_fn f64,
                              pa_tensor **grads) {
    pa_tensor *x = node->saved[0];
    pa_tensor *gx = pa_tensor_new(x->ndim, x->shape, x->dtype);
    PA_CHECK_OOM(gx);
    int64_t sg[PA_MAX_DIMS];
    pa_broadcast_strides(grad, x->ndim, x->shape, sg);
    char *data[3] = {gx->data, grad->data, x->data};
    const int64_t *strides[3] = {gx->strides, sg, x->strides};
    size_t sz = pa_dtype_size(x->dtype), sizes[3] = {sz, sz, sz};
    double prm[2] = {node->farg[0], node->farg[1]};
    pa_run_loop(x->dtype == PA_FLOAT32 ? f32 : f64, x->ndim, x->shape, 3, data, strides, sizes, prm);
    grads[0] = gx;
    return PA_OK;
}

int pa_leaky_relu(pa_tensor *input, double negative_slope, pa_tensor **out) {
    PA_REQUIRE("leaky_relu", input && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float("leaky_relu", "input", input, -1));
    if (!isfinite(negative_slope))
        return pa_error(PA_ERR_VALUE, "leaky_relu: negative_slope must be finite, got %g", negative_slope);
    double prm[1] = {negative_slope};
    return pointwise_forward(PA_OP_LEAKY_RELU, leaky_relu_f32, leaky_relu_f64, input, prm, 1, out);
}

int pa_backward_LEAKY_RELU(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pointwise_backward(node, grad, leaky_relu_grad_f32, leaky_relu_grad_f64, grads);
}

/* ---- elu and softplus ------------------------------------------------------------ */
/* One pass each way instead of the five to seven composed ops (where, expm1 or exp and
 * log1p, scalings) they were: both branches are computed and one kept by a blend (a
 * ?: around the exp became a branch, which kept the loops scalar: 8.6 and 27 ms).
 * elu: x > 0 ? x : alpha expm1(x); its gradient g (x > 0) or g alpha e^x (at 0 the
 * negative side: alpha, as PyTorch).  prm[0] = alpha.
 * softplus: with s = beta x, s > threshold ? x : log1p(e^s) / beta; its gradient
 * g (s > threshold) or g z / (z + 1) with z = e^s, as PyTorch's.  prm = {beta, threshold}.
 * NOTE: composed, forward + backward of 1e6 floats, 2 threads: elu 1.60 ms (PyTorch
 * 1.13), softplus 2.14 (1.17); see RESULTS.md for the fused ops. */
#define ELU(T, EXPM1, BLEND, x) BLEND(x > 0, x, (T)prm[0] * EXPM1(x))
#define ELU_GRAD(T, EXP, BLEND, g, x) BLEND(x > 0, g, g * (T)prm[0] * EXP(x))
#define SOFTPLUS(T, EXP, LOG1P, BLEND, x)                                                \
    ({                                                                                   \
        T s_ = x * (T)prm[0];                                                            \
        BLEND(s_ > (T)prm[1], x, LOG1P(EXP(s_)) / (T)prm[0]);                            \
    })
#define SOFTPLUS_GRAD(T, EXP, BLEND, g, x)                                               \
    ({                                                                                   \
        T s_ = x * (T)prm[0], z_ = EXP(s_);                                              \
        BLEND(s_ > (T)prm[1], g, g * z_ / (z_ + (T)1));                                  \
    })
PA_UNARY_LOOP(elu_f32, float, float, ELU(float, pa_expm1f, pa_blendf, x))
PA_UNARY_LOOP(elu_f64, double, double, ELU(double, expm1, pa_blendd, x))
PA_BINARY_LOOP(elu_grad_f32, float, float, ELU_GRAD(float, pa_expf, pa_blendf, x, y))
PA_BINARY_LOOP(elu_grad_f64, double, double, ELU_GRAD(double, exp, pa_blendd, x, y))
PA_UNARY_LOOP(softplus_f32, float, float, SOFTPLUS(float, pa_expf, pa_log1pf, pa_blendf, x))
PA_UNARY_LOOP(softplus_f64, double, double, SOFTPLUS(double, exp, log1p, pa_blendd, x))
PA_BINARY_LOOP(softplus_grad_f32, float, float, SOFTPLUS_GRAD(float, pa_expf, pa_blendf, x, y))
PA_BINARY_LOOP(softplus_grad_f64, double, double, SOFTPLUS_GRAD(double, exp, pa_blendd, x, y))

int pa_elu(pa_tensor *input, double alpha, pa_tensor **out) {
    PA_REQUIRE("elu", input && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float("elu", "input", input, -1));
    if (!isfinite(alpha))
        return pa_error(PA_ERR_VALUE, "elu: alpha must be finite, got %g", alpha);
    double prm[1] = {alpha};
    return pointwise_forward(PA_OP_ELU, elu_f32, elu_f64, input, prm, 1, out);
}

int pa_backward_ELU(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pointwise_backward(node, grad, elu_grad_f32, elu_grad_f64, grads);
}

int pa_softplus(pa_tensor *input, double beta, double threshold, pa_tensor **out) {
    PA_REQUIRE("softplus", input && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float("softplus", "input", input, -1));
    if (!isfinite(beta) || beta == 0)
        return pa_error(PA_ERR_VALUE, "softplus: beta must be finite and non-zero, got %g", beta);
    if (threshold != threshold)
        return pa_error(PA_ERR_VALUE, "softplus: threshold must not be NaN");
    double prm[2] = {beta, threshold};
    return pointwise_forward(PA_OP_SOFTPLUS, softplus_f32, softplus_f64, input, prm, 2, out);
}

int pa_backward_SOFTPLUS(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pointwise_backward(node, grad, softplus_grad_f32, softplus_grad_f64, grads);
}

/* ---- hardsigmoid and hardswish ---------------------------------------------------- */
/* r = min(max(x + 3, 0), 6) (NaN stays NaN); hardsigmoid r / 6, hardswish x r / 6, and
 * PyTorch's gradients: g / 6 strictly inside (-3, 3), else 0; hardswish 0 up to -3,
 * g (x / 3 + 1/2) below 3, g from 3 on.
 * NOTE: composed of two wheres, an add, a multiply and a divide: forward + backward of
 * (512, 1024) float32, 2 threads, hardswish 770 us, hardsigmoid 609 (PyTorch 231, 208). */
#define RELU6_SHIFTED(T, x) ({ T r_ = x + (T)3; r_ = r_ < 0 ? (T)0 : r_; r_ > (T)6 ? (T)6 : r_; })
#define HARDSIGMOID(T, x) (RELU6_SHIFTED(T, x) / (T)6)
#define HARDSWISH(T, x) (x * RELU6_SHIFTED(T, x) / (T)6)
#define HARDSIGMOID_GRAD(T, g, x) ((x > (T)-3) & (x < (T)3) ? g * (T)(1.0 / 6.0) : (T)0)
#define HARDSWISH_GRAD(T, g, x) ({ T mid_ = g * (x / (T)3 + (T)0.5); x <= (T)-3 ? (T)0 : x < (T)3 ? mid_ : g; })
PA_UNARY_LOOP(hardsigmoid_f32, float, float, HARDSIGMOID(float, x))
PA_UNARY_LOOP(hardsigmoid_f64, double, double, HARDSIGMOID(double, x))
PA_BINARY_LOOP(hardsigmoid_grad_f32, float, float, HARDSIGMOID_GRAD(float, x, y))
PA_BINARY_LOOP(hardsigmoid_grad_f64, double, double, HARDSIGMOID_GRAD(double, x, y))
PA_UNARY_LOOP(hardswish_f32, float, float, HARDSWISH(float, x))
PA_UNARY_LOOP(hardswish_f64, double, double, HARDSWISH(double, x))
PA_BINARY_LOOP(hardswish_grad_f32, float, float, HARDSWISH_GRAD(float, x, y))
PA_BINARY_LOOP(hardswish_grad_f64, double, double, HARDSWISH_GRAD(double, x, y))

int pa_hardsigmoid(pa_tensor *input, int swish, pa_tensor **out) {
    const char *op = swish ? "hardswish" : "hardsigmoid";
    PA_REQUIRE(op, input && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float(op, "input", input, -1));
    return swish ? pointwise_forward(PA_OP_HARDSWISH, hardswish_f32, hardswish_f64, input, NULL, 0, out)
                 : pointwise_forward(PA_OP_HARDSIGMOID, hardsigmoid_f32, hardsigmoid_f64, input, NULL, 0, out);
}

int pa_backward_HARDSIGMOID(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pointwise_backward(node, grad, hardsigmoid_grad_f32, hardsigmoid_grad_f64, grads);
}

int pa_backward_HARDSWISH(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pointwise_backward(node, grad, hardswish_grad_f32, hardswish_grad_f64, grads);
}

/* ---- hardtanh ---------------------------------------------------------------------- */
/* x clamped to [lo, hi] = [prm[0], prm[1]] (NaN stays NaN); the gradient passes strictly
 * inside, 0 at and beyond the bounds, as PyTorch's (clamp's passes at the bounds too).
 * NOTE: as two wheres, forward + backward of (512, 1024) float32, 2 threads: 267 us
 * (PyTorch 192); relu6, the same op, 285 (280).  The bounds are loaded once, outside the
 * selects (loaded inside them, as LEAKY notes, the loops stayed scalar: 1.3 ms). */
#define HARDTANH(T, x)                                                                   \
    ({                                                                                   \
        T lo_ = (T)prm[0], hi_ = (T)prm[1], r_ = x >= hi_ ? hi_ : x;                     \
        x <= lo_ ? lo_ : r_;                                                             \
    })
#define HARDTANH_GRAD(T, g, x)                                                           \
    ({                                                                                   \
        T lo_ = (T)prm[0], hi_ = (T)prm[1];                                              \
        (x <= lo_) | (x >= hi_) ? (T)0 : g;                                              \
    })
PA_UNARY_LOOP(hardtanh_f32, float, float, HARDTANH(float, x))
PA_UNARY_LOOP(hardtanh_f64, double, double, HARDTANH(double, x))
PA_BINARY_LOOP(hardtanh_grad_f32, float, float, HARDTANH_GRAD(float, x, y))
PA_BINARY_LOOP(hardtanh_grad_f64, double, double, HARDTANH_GRAD(double, x, y))

int pa_hardtanh(pa_tensor *input, double min_val, double max_val, pa_tensor **out) {
    PA_REQUIRE("hardtanh", input && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float("hardtanh", "input", input, -1));
    if (!(min_val <= max_val))
        return pa_error(PA_ERR_VALUE, "hardtanh: min_val cannot be greater than max_val (got %g > %g)",
                        min_val, max_val);
    double prm[2] = {min_val, max_val};
    return pointwise_forward(PA_OP_HARDTANH, hardtanh_f32, hardtanh_f64, input, prm, 2, out);
}

int pa_backward_HARDTANH(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pointwise_backward(node, grad, hardtanh_grad_f32, hardtanh_grad_f64, grads);
}
