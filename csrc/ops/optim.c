/* Fused optimizer updates: one C call updates every parameter. */
#include <math.h>

#include "../kernels/parallel.h"
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
        return pa_error(PA_ERR_VALUE, "%s: state buffer of parameter %d (shape %s, %s%s) does not match "
                        "the parameter (shape %s, %s)", op, i, PA_SHAPE_STR(state, b1),
                        pa_dtype_name(state->dtype), pa_tensor_is_contiguous(state) ? "" : ", not contiguous",
                        PA_SHAPE_STR(p, b2), pa_dtype_name(p->dtype));
    return PA_OK;
}

/* PyTorch's SGD (_single_tensor_sgd), per element, in the parameter's precision, rounded
 * where PyTorch's CPU kernels round: `a.add(b, alpha=s)` is one fused multiply-add
 * (ATen's vectorised add), `a.mul_(s)` a rounded product:
 *   g = grad (negated if maximize);  g = fma(weight_decay, p, g)
 *   buf = g on the first step, else fma(1 - dampening, g, momentum * buf)
 *   g = fma(momentum, buf, g) (nesterov) or buf
 *   p = fma(-lr, g, p)
 * NOTE: the options are tested once per block of SGD_BLOCK elements, so each stage is
 * a branch-free loop the compiler vectorises (a per-element branchy loop inside an
 * OpenMP region, whose captured scalars may alias the arrays, runs ~10x slower). */
enum { SGD_BLOCK = 512 };

typedef struct {
    double lr, weight_decay, momentum, dampening;
    int nesterov, maximize, first_step;
} sgd_options;

#define FMA(T, a, b, c) (sizeof(T) == 4 ? (T)fmaf((float)(a), (float)(b), (float)(c)) : (T)fma(a, b, c))
#define DEFINE_SGD_KERNEL(NAME, T)                                                         \
    PA_CLONES static void NAME(int64_t n, T *restrict p, const T *restrict grad,           \
                               T *restrict buf, const sgd_options *o) {                    \
        const T neg_lr = (T)-o->lr, wd = (T)o->weight_decay, m = (T)o->momentum;           \
        const T keep = (T)(1 - o->dampening);                                              \
        T d[SGD_BLOCK];                                                                    \
        for (int64_t start = 0; start < n; start += SGD_BLOCK) {                           \
            int64_t len = n - start < SGD_BLOCK ? n - start : SGD_BLOCK;                   \
            T *pb = p + start;                                                             \
            const T *gb = grad + start;                                                    \
            if (o->maximize) for (int64_t i = 0; i < len; i++) d[i] = -gb[i];              \
            else for (int64_t i = 0; i < len; i++) d[i] = gb[i];                           \
            if (o->weight_decay != 0) for (int64_t i = 0; i < len; i++) d[i] = FMA(T, wd, pb[i], d[i]); \
            if (buf) {                                                                     \
                T *bb = buf + start;                                                       \
                if (o->first_step) for (int64_t i = 0; i < len; i++) bb[i] = d[i];         \
                else for (int64_t i = 0; i < len; i++) bb[i] = FMA(T, keep, d[i], m * bb[i]); \
                if (o->nesterov) for (int64_t i = 0; i < len; i++) d[i] = FMA(T, m, bb[i], d[i]); \
                else for (int64_t i = 0; i < len; i++) d[i] = bb[i];                       \
            }                                                                              \
            for (int64_t i = 0; i < len; i++) pb[i] = FMA(T, neg_lr, d[i], pb[i]);         \
        }                                                                                  \
    }
DEFINE_SGD_KERNEL(sgd_kernel_f32, float)
DEFINE_SGD_KERNEL(sgd_kernel_f64, double)

/* NOTE: an update reads and writes 3-5 arrays per element, so a second thread pays off
 * sooner than for a plain elementwise op: measured on the MLP's 100,352-weight layer,
 * whose update ran on one thread under the elementwise threshold (64K elements). */
static int optimizer_threads(int64_t numel) { return pa_kernel_threads_for(numel, 1 << 14); }

/* Runs an elementwise update kernel over [0, n) split in fixed chunks across threads. */
#define PARALLEL_CHUNKS(n, nt, BODY)                                                       \
    do {                                                                                   \
        int64_t chunk_ = ((n) + (nt) - 1) / (nt);                                          \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")          \
        for (int t_ = 0; t_ < (nt); t_++) {                                                \
            int64_t lo = t_ * chunk_, hi = lo + chunk_ < (n) ? lo + chunk_ : (n);          \
            if (lo < hi) { BODY; }                                                         \
        }                                                                                  \
    } while (0)

int pa_sgd_step(int n, pa_tensor **params, pa_tensor **momentum_buffers, double lr,
                double momentum, double dampening, double weight_decay, int nesterov,
                int maximize, int first_step) {
    PA_REQUIRE("sgd", n >= 0 && (n == 0 || params), "negative count or NULL parameter list");
    for (int i = 0; i < n; i++) PA_REQUIRE("sgd", params[i], "NULL parameter");
    if (nesterov && (momentum <= 0 || dampening != 0))
        return pa_error(PA_ERR_VALUE, "sgd: nesterov momentum requires a momentum and zero dampening");
    if (momentum != 0 && !momentum_buffers)
        return pa_error(PA_ERR_VALUE, "sgd: momentum %g needs momentum buffers", momentum);
    for (int i = 0; i < n; i++)
        TRY(check_param("sgd", i, params[i], momentum != 0 ? momentum_buffers[i] : NULL));
    sgd_options o = {lr, weight_decay, momentum, dampening, nesterov, maximize, first_step};
    for (int i = 0; i < n; i++) {
        pa_tensor *p = params[i], *buf = momentum != 0 ? momentum_buffers[i] : NULL;
        if (!p->grad) continue;
        int nt = optimizer_threads(p->numel);
        if (p->dtype == PA_FLOAT32)
            PARALLEL_CHUNKS(p->numel, nt, sgd_kernel_f32(hi - lo, (float *)p->data + lo,
                                                         (const float *)p->grad->data + lo,
                                                         buf ? (float *)buf->data + lo : NULL, &o));
        else
            PARALLEL_CHUNKS(p->numel, nt, sgd_kernel_f64(hi - lo, (double *)p->data + lo,
                                                         (const double *)p->grad->data + lo,
                                                         buf ? (double *)buf->data + lo : NULL, &o));
        pa_bump_version(p);
    }
    return PA_OK;
}

/* Checks the state buffers of parameter i in each of `nbuf` arrays (an array may be NULL
 * when its buffers are not used). */
static int check_buffers(const char *op, int n, pa_tensor **params, int nbuf, pa_tensor ***buffers) {
    for (int i = 0; i < n; i++) {
        if (!params[i])
            return pa_error(PA_ERR_VALUE, "%s: parameter %d is NULL", op, i);
        TRY(check_param(op, i, params[i], NULL));
        for (int b = 0; b < nbuf; b++) {
            if (!buffers[b]) continue;
            if (!buffers[b][i])
                return pa_error(PA_ERR_VALUE, "%s: state buffer %d of parameter %d is NULL", op, b, i);
            TRY(check_param(op, i, params[i], buffers[b][i]));
        }
    }
    return PA_OK;
}

static int check_steps(const char *op, int n, const double *steps) {
    if (!steps)
        return pa_error(PA_ERR_VALUE, "%s: step counts are required", op);
    for (int i = 0; i < n; i++)
        if (!(steps[i] >= 1))
            return pa_error(PA_ERR_VALUE, "%s: step count %g of parameter %d must be >= 1", op, steps[i], i);
    return PA_OK;
}

/* torch.lerp on the CPU (ATen's vectorised form): one fused multiply-add from `start`,
 * or for |weight| >= 0.5 from `end` with weight - 1, so that weight 1 gives `end`.
 * NOTE: like every update below, rounded where PyTorch's kernels round: add(b, alpha)
 * and addcmul are fused multiply-adds (FMA), mul_ and addcdiv's product and quotient
 * are rounded one by one; checked bit for bit against PyTorch in tests/test_optim.py. */
#define LERP(T, start, end, weight)                                                       \
    ((weight) < (T)0.5 && (weight) > (T)-0.5 ? FMA(T, weight, (end) - (start), start)   \
                                             : FMA(T, (weight) - (T)1, (end) - (start), end))

/* PyTorch's Adam / AdamW (_single_tensor_adam), per element, in the parameter's
 * precision; the scalars are computed in double as Python does, then rounded to T:
 *   g = grad (negated if maximize); p *= 1 - lr * wd (AdamW) or g += wd * p (Adam)
 *   m = lerp(m, g, 1 - beta1);  v = fma((1 - beta2) * g, g, v * beta2)
 *   v_max = max(v_max, v) (amsgrad);  denom = sqrt(v or v_max) / sqrt(1 - beta2^t) + eps
 *   p = p + (-lr / (1 - beta1^t)) * m / denom */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay, step;
    int decoupled_weight_decay, maximize;
} adam_options;

#define DEFINE_ADAM_KERNEL(NAME, T)                                                       \
    PA_CLONES static void NAME(int64_t n, T *restrict pd, T *restrict md, T *restrict vd,  \
                               T *restrict vmaxd, const T *restrict gd,                   \
                               const adam_options *o) {                                   \
        const double lr = o->lr, weight_decay = o->weight_decay;                          \
        const int maximize = o->maximize, decoupled_weight_decay = o->decoupled_weight_decay; \
        const T neg_step_size = (T)(-(lr / (1 - pow(o->beta1, o->step))));                \
        const T bc2_sqrt = (T)pow(1 - pow(o->beta2, o->step), 0.5);                       \
        const T w1 = (T)(1 - o->beta1), tb2 = (T)o->beta2, w2 = (T)(1 - o->beta2);        \
        const T teps = (T)o->eps, twd = (T)weight_decay, decay = (T)(1 - lr * weight_decay); \
        for (int64_t k = 0; k < n; k++) {                                                 \
            T g = maximize ? -gd[k] : gd[k];                                              \
            T x = pd[k];                                                                  \
            if (weight_decay != 0) {                                                      \
                if (decoupled_weight_decay) x = x * decay;                                \
                else g = FMA(T, twd, x, g);                                               \
            }                                                                             \
            T mk = LERP(T, md[k], g, w1);                                                 \
            T vk = FMA(T, w2 * g, g, vd[k] * tb2);                                        \
            md[k] = mk;                                                                   \
            vd[k] = vk;                                                                   \
            if (vmaxd) {                                                                  \
                if (vmaxd[k] > vk || vmaxd[k] != vmaxd[k]) vk = vmaxd[k];                 \
                vmaxd[k] = vk;                                                            \
            }                                                                             \
            T denom = (T)sqrt(vk) / bc2_sqrt + teps;                                      \
            pd[k] = x + neg_step_size * mk / denom;                                       \
        }                                                                                 \
    }
DEFINE_ADAM_KERNEL(adam_kernel_f32, float)
DEFINE_ADAM_KERNEL(adam_kernel_f64, double)

/* The state tensors of parameter i as T pointers offset to element lo (NULL-safe). */
#define AT(t, T) ((t) ? (T *)(t)->data + lo : NULL)

int pa_adam_step(int n, pa_tensor **params, pa_tensor **exp_avgs, pa_tensor **exp_avg_sqs,
                 pa_tensor **max_exp_avg_sqs, const double *steps, double lr, double beta1,
                 double beta2, double eps, double weight_decay, int decoupled_weight_decay,
                 int amsgrad, int maximize) {
    if (n < 0 || (n > 0 && (!params || !exp_avgs || !exp_avg_sqs)))
        return pa_error(PA_ERR_VALUE, "adam: parameters and state buffers are required");
    if (amsgrad && !max_exp_avg_sqs)
        return pa_error(PA_ERR_VALUE, "adam: amsgrad needs max_exp_avg_sq buffers");
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        return pa_error(PA_ERR_VALUE, "adam: betas (%g, %g) must be in [0, 1)", beta1, beta2);
    pa_tensor **buffers[3] = {exp_avgs, exp_avg_sqs, amsgrad ? max_exp_avg_sqs : NULL};
    TRY(check_buffers("adam", n, params, 3, buffers));
    TRY(check_steps("adam", n, steps));
    for (int i = 0; i < n; i++) {
        pa_tensor *p = params[i], *m = exp_avgs[i], *v = exp_avg_sqs[i];
        pa_tensor *vmax = amsgrad ? max_exp_avg_sqs[i] : NULL;
        if (!p->grad) continue;
        adam_options o = {lr, beta1, beta2, eps, weight_decay, steps[i], decoupled_weight_decay, maximize};
        int nt = optimizer_threads(p->numel);
        if (p->dtype == PA_FLOAT32)
            PARALLEL_CHUNKS(p->numel, nt, adam_kernel_f32(hi - lo, AT(p, float), AT(m, float), AT(v, float),
                                                          AT(vmax, float), AT(p->grad, const float), &o));
        else
            PARALLEL_CHUNKS(p->numel, nt, adam_kernel_f64(hi - lo, AT(p, double), AT(m, double), AT(v, double),
                                                          AT(vmax, double), AT(p->grad, const double), &o));
        pa_bump_version(p);
        pa_bump_version(m);
        pa_bump_version(v);
        if (vmax) pa_bump_version(vmax);
    }
    return PA_OK;
}

/* PyTorch's RMSprop (_single_tensor_rmsprop), per element, in the parameter's precision:
 *   g = grad (negated if maximize) + wd * p;  s = s * alpha + (1 - alpha) * g * g
 *   centered: a = lerp(a, g, 1 - alpha), avg = sqrt(s - a * a) + eps;  else sqrt(s) + eps
 *   momentum: buf = buf * momentum + g / avg, p = p - lr * buf;  else p = p - lr * g / avg */
typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int maximize;
} rmsprop_options;

#define DEFINE_RMSPROP_KERNEL(NAME, T)                                                    \
    PA_CLONES static void NAME(int64_t n, T *restrict pd, T *restrict sd, T *restrict ad,  \
                               T *restrict bd, const T *restrict gd,                      \
                               const rmsprop_options *o) {                                \
        const double weight_decay = o->weight_decay;                                      \
        const int maximize = o->maximize;                                                 \
        const T talpha = (T)o->alpha, w = (T)(1 - o->alpha), teps = (T)o->eps;            \
        const T twd = (T)weight_decay, tm = (T)o->momentum, neg_lr = (T)(-o->lr);         \
        for (int64_t k = 0; k < n; k++) {                                                 \
            T g = maximize ? -gd[k] : gd[k];                                              \
            if (weight_decay != 0) g = FMA(T, twd, pd[k], g);                             \
            T sk = FMA(T, w * g, g, sd[k] * talpha);                                            \
            sd[k] = sk;                                                                   \
            T avg;                                                                        \
            if (ad) {                                                                     \
                T ak = LERP(T, ad[k], g, w);                                              \
                ad[k] = ak;                                                               \
                avg = (T)sqrt(FMA(T, (T)-1 * ak, ak, sk));                                \
            } else {                                                                      \
                avg = (T)sqrt(sk);                                                        \
            }                                                                             \
            avg = avg + teps;                                                             \
            if (bd) {                                                                     \
                T bk = bd[k] * tm + (T)1 * g / avg;                                       \
                bd[k] = bk;                                                               \
                pd[k] = FMA(T, neg_lr, bk, pd[k]);                                        \
            } else {                                                                      \
                pd[k] = pd[k] + neg_lr * g / avg;                                         \
            }                                                                             \
        }                                                                                 \
    }
DEFINE_RMSPROP_KERNEL(rmsprop_kernel_f32, float)
DEFINE_RMSPROP_KERNEL(rmsprop_kernel_f64, double)

int pa_rmsprop_step(int n, pa_tensor **params, pa_tensor **square_avgs, pa_tensor **grad_avgs,
                    pa_tensor **momentum_buffers, double lr, double alpha, double eps,
                    double weight_decay, double momentum, int centered, int maximize) {
    if (n < 0 || (n > 0 && (!params || !square_avgs)))
        return pa_error(PA_ERR_VALUE, "rmsprop: parameters and square_avg buffers are required");
    if (centered && !grad_avgs)
        return pa_error(PA_ERR_VALUE, "rmsprop: centered needs grad_avg buffers");
    if (momentum > 0 && !momentum_buffers)
        return pa_error(PA_ERR_VALUE, "rmsprop: momentum %g needs momentum buffers", momentum);
    pa_tensor **buffers[3] = {square_avgs, centered ? grad_avgs : NULL,
                              momentum > 0 ? momentum_buffers : NULL};
    TRY(check_buffers("rmsprop", n, params, 3, buffers));
    for (int i = 0; i < n; i++) {
        pa_tensor *p = params[i], *s = square_avgs[i];
        pa_tensor *a = centered ? grad_avgs[i] : NULL, *b = momentum > 0 ? momentum_buffers[i] : NULL;
        if (!p->grad) continue;
        rmsprop_options o = {lr, alpha, eps, weight_decay, momentum, maximize};
        int nt = optimizer_threads(p->numel);
        if (p->dtype == PA_FLOAT32)
            PARALLEL_CHUNKS(p->numel, nt, rmsprop_kernel_f32(hi - lo, AT(p, float), AT(s, float), AT(a, float),
                                                             AT(b, float), AT(p->grad, const float), &o));
        else
            PARALLEL_CHUNKS(p->numel, nt, rmsprop_kernel_f64(hi - lo, AT(p, double), AT(s, double), AT(a, double),
                                                             AT(b, double), AT(p->grad, const double), &o));
        pa_bump_version(p);
        pa_bump_version(s);
        if (a) pa_bump_version(a);
        if (b) pa_bump_version(b);
    }
    return PA_OK;
}

/* PyTorch's Adagrad (_single_tensor_adagrad, dense gradients), per element:
 *   g = grad (negated if maximize) + wd * p;  sum = sum + g * g
 *   p = p + (-lr / (1 + (t - 1) * lr_decay)) * g / (sqrt(sum) + eps) */
typedef struct {
    double lr, lr_decay, weight_decay, eps, step;
    int maximize;
} adagrad_options;

#define DEFINE_ADAGRAD_KERNEL(NAME, T)                                                    \
    PA_CLONES static void NAME(int64_t n, T *restrict pd, T *restrict sd, const T *restrict gd, \
                               const adagrad_options *o) {                                \
        const double weight_decay = o->weight_decay;                                      \
        const int maximize = o->maximize;                                                 \
        const T neg_clr = (T)(-(o->lr / (1 + (o->step - 1) * o->lr_decay)));             \
        const T teps = (T)o->eps, twd = (T)weight_decay;                                  \
        for (int64_t k = 0; k < n; k++) {                                                 \
            T g = maximize ? -gd[k] : gd[k];                                              \
            if (weight_decay != 0) g = FMA(T, twd, pd[k], g);                             \
            T sk = FMA(T, (T)1 * g, g, sd[k]);                                                  \
            sd[k] = sk;                                                                   \
            pd[k] = pd[k] + neg_clr * g / ((T)sqrt(sk) + teps);                           \
        }                                                                                 \
    }
DEFINE_ADAGRAD_KERNEL(adagrad_kernel_f32, float)
DEFINE_ADAGRAD_KERNEL(adagrad_kernel_f64, double)

int pa_adagrad_step(int n, pa_tensor **params, pa_tensor **sums, const double *steps, double lr,
                    double lr_decay, double weight_decay, double eps, int maximize) {
    if (n < 0 || (n > 0 && (!params || !sums)))
        return pa_error(PA_ERR_VALUE, "adagrad: parameters and sum buffers are required");
    pa_tensor **buffers[1] = {sums};
    TRY(check_buffers("adagrad", n, params, 1, buffers));
    TRY(check_steps("adagrad", n, steps));
    for (int i = 0; i < n; i++) {
        pa_tensor *p = params[i], *s = sums[i];
        if (!p->grad) continue;
        adagrad_options o = {lr, lr_decay, weight_decay, eps, steps[i], maximize};
        int nt = optimizer_threads(p->numel);
        if (p->dtype == PA_FLOAT32)
            PARALLEL_CHUNKS(p->numel, nt, adagrad_kernel_f32(hi - lo, AT(p, float), AT(s, float),
                                                             AT(p->grad, const float), &o));
        else
            PARALLEL_CHUNKS(p->numel, nt, adagrad_kernel_f64(hi - lo, AT(p, double), AT(s, double),
                                                             AT(p->grad, const double), &o));
        pa_bump_version(p);
        pa_bump_version(s);
    }
    return PA_OK;
}
