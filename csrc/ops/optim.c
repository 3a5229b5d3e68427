/* Fused optimizer updates: one C call updates every parameter. */
#include "loops.h"

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

/* Parameters are updated in place; a parameter must be a contiguous float tensor. */
static int check_param(const char *op, int i, const pa_tensor *p, const pa_tensor *state) {
    char b1[128], b2[128];
    if (!pa_is_float(p->dtype) || !pa_tensor_is_contiguous(p))
        return pa_error(PA_ERR_VALUE, "%s: parameter %d must be a contiguous floating-point tensor", op, i);
    if (p->grad && (!pa_same_shape(p, p->grad) || p->grad->dtype != p->dtype || !pa_tensor_is_contiguous(p->grad)))
        return pa_error(PA_ERR_VALUE, "%s: gradient of parameter %d has shape %s, the parameter %s",
                        op, i, PA_SHAPE_STR(p->grad, b1), PA_SHAPE_STR(p, b2));
    if (state && (!pa_same_shape(p, state) || state->dtype != p->dtype || !pa_tensor_is_contiguous(state)))
        return pa_error(PA_ERR_VALUE, "%s: state buffer of parameter %d has shape %s, the parameter %s",
                        op, i, PA_SHAPE_STR(state, b1), PA_SHAPE_STR(p, b2));
    return PA_OK;
}

/* PyTorch's SGD, per element, in the parameter's precision:
 *   g = grad (negated if maximize) + weight_decay * p
 *   buf = g on the first step, else momentum * buf + (1 - dampening) * g
 *   g = g + momentum * buf (nesterov) or buf
 *   p = p - lr * g */
#define SGD_LOOP(T)                                                                       \
    do {                                                                                  \
        T *pd = (T *)p->data;                                                             \
        T *bd = buf ? (T *)buf->data : NULL;                                              \
        const T *gd = (const T *)p->grad->data;                                           \
        const T tlr = (T)lr, twd = (T)weight_decay, tm = (T)momentum, td = (T)(1 - dampening); \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")         \
        for (int64_t k = 0; k < p->numel; k++) {                                          \
            T g = maximize ? -gd[k] : gd[k];                                              \
            if (weight_decay != 0) g = g + twd * pd[k];                                   \
            if (bd) {                                                                     \
                T b = first_step ? g : tm * bd[k] + td * g;                               \
                bd[k] = b;                                                                \
                g = nesterov ? g + tm * b : b;                                            \
            }                                                                             \
            pd[k] = pd[k] - tlr * g;                                                      \
        }                                                                                 \
    } while (0)

int pa_sgd_step(int n, pa_tensor **params, pa_tensor **momentum_buffers, double lr,
                double momentum, double dampening, double weight_decay, int nesterov,
                int maximize, int first_step) {
    if (nesterov && (momentum <= 0 || dampening != 0))
        return pa_error(PA_ERR_VALUE, "sgd: nesterov momentum requires a momentum and zero dampening");
    if (momentum != 0 && !momentum_buffers)
        return pa_error(PA_ERR_VALUE, "sgd: momentum %g needs momentum buffers", momentum);
    for (int i = 0; i < n; i++)
        TRY(check_param("sgd", i, params[i], momentum != 0 ? momentum_buffers[i] : NULL));
    for (int i = 0; i < n; i++) {
        pa_tensor *p = params[i], *buf = momentum != 0 ? momentum_buffers[i] : NULL;
        if (!p->grad) continue;
        int nt = pa_threads_for_elements(p->numel);
        if (p->dtype == PA_FLOAT32) SGD_LOOP(float);
        else SGD_LOOP(double);
        pa_bump_version(p);
    }
    return PA_OK;
}
