/* Fused optimizer updates: one C call updates every parameter. */
#include <math.h>

#include "../kernels/cpu.h"
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
DEFINE_SGD_KERNEL(sgd_kernel_f32_plain, float)
DEFINE_SGD_KERNEL(sgd_kernel_f64, double)

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The float32 update on AVX-512, one pass per vector, with the bits of
 * sgd_kernel_f32_plain and without the microcode assists of subnormal operands.
 * NOTE: a float multiply or FMA with a subnormal operand (below 2^-126) is finished in
 * microcode, ~140 cycles per vector on the Sapphire Rapids core measured; additions and
 * float <-> double conversions are not.  Momentum buffers of weights whose gradient is
 * exactly zero (dead ReLU units) decay into the subnormals and stay at the smallest
 * ones (0.9 * k * 2^-149 rounds back to k * 2^-149 for k <= 4).  Measured on the
 * article's MLP after 1,000 steps on one batch (9,408 such buffers of 101,770): the
 * update took 53 us against 17 us on fresh values, 23 us this way (2 threads).  Inside
 * its training step at batch 64 the update took 24-26 us this way, 20 us with the
 * plain-momentum path below (sgd_lanes_subnormal_momentum), 19-20 us with subnormals
 * flushed to zero.
 * A vector whose momentum buffer has a subnormal lane is computed in double instead,
 * each step rounded to float as the float kernel rounds: a product of two floats is
 * exact in double (24 + 24 bits), so an FMA in double rounds once, and rounding that to
 * float agrees with the float FMA unless the double result lies exactly halfway between
 * two floats (or at the overflow threshold); then the vector is recomputed in float.
 * (A NaN hyperparameter gives NaN either way, its payload may differ: which NaN operand
 * an FMA propagates depends on the operand order the compiler picks, in the plain
 * kernel too.) */
#define AVX512 __attribute__((target("avx512f")))

typedef struct {
    __m512 neg_lr, wd, m, keep;
    __m512d neg_lr_d, wd_d, m_d, keep_d;
} sgd_f32_consts;

/* x rounded to float (and widened back): exact when x is a float product of floats (no
 * rounding in double) or a float sum of floats (rounding twice, to 53 then 24 bits, is
 * rounding once: 53 >= 2 * 24 + 2). */
AVX512 static inline __m512d to_float(__m512d x) { return _mm512_cvtps_pd(_mm512_cvtpd_ps(x)); }

/* x, a double FMA of floats, rounded to float; *tie is set when a lane lies halfway
 * between two floats, the one case where the double rounding may differ from the float
 * FMA's single rounding, or beyond the largest float (the halfway point to the next
 * power of two decides overflow; the float path then gives the right inf or max). */
AVX512 static inline __m512d fma_to_float(__m512d x, int *tie) {
    __m512d down = _mm512_cvtps_pd(_mm512_cvt_roundpd_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    __m512d up = _mm512_cvtps_pd(_mm512_cvt_roundpd_ps(x, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC));
    *tie |= (_mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(down, up, _CMP_NEQ_OQ),
                                     _mm512_sub_pd(x, down), _mm512_sub_pd(up, x), _CMP_EQ_OQ) |
             _mm512_cmp_pd_mask(_mm512_abs_pd(x), _mm512_set1_pd(0x1.fffffep+127), _CMP_GT_OQ)) != 0;
    return to_float(x);
}

AVX512 static inline __m512d neg_pd(__m512d x) {
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x), _mm512_set1_epi64(INT64_MIN)));
}

/* Eight lanes of a momentum step (not the first) in double; g, p, b are widened floats,
 * p and b updated in place. */
AVX512 static inline void sgd_lanes_double(const sgd_options *o, const sgd_f32_consts *k,
                                           __m512d g, __m512d *p, __m512d *b, int *tie) {
    __m512d d = o->maximize ? neg_pd(g) : g;
    if (o->weight_decay != 0) d = fma_to_float(_mm512_fmadd_pd(k->wd_d, *p, d), tie);
    __m512d prod = to_float(_mm512_mul_pd(k->m_d, *b));
    *b = o->dampening == 0 ? to_float(_mm512_add_pd(d, prod))
                           : fma_to_float(_mm512_fmadd_pd(k->keep_d, d, prod), tie);
    d = o->nesterov ? fma_to_float(_mm512_fmadd_pd(k->m_d, *b, d), tie) : *b;
    *p = fma_to_float(_mm512_fmadd_pd(k->neg_lr_d, d, *p), tie);
}

/* The same sixteen lanes in float. */
AVX512 static inline void sgd_lanes_float(const sgd_options *o, const sgd_f32_consts *k,
                                          __m512 g, __m512 *p, __m512 *b) {
    __m512 d = o->maximize ? _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(g),
                                                                  _mm512_set1_epi32(INT32_MIN)))
                           : g;
    if (o->weight_decay != 0) d = _mm512_fmadd_ps(k->wd, *p, d);
    if (b) {
        *b = o->first_step ? d : _mm512_fmadd_ps(k->keep, d, _mm512_mul_ps(k->m, *b));
        d = o->nesterov ? _mm512_fmadd_ps(k->m, *b, d) : *b;
    }
    *p = _mm512_fmadd_ps(k->neg_lr, d, *p);
}

/* Lanes holding a subnormal: 0 < |bits| <= 0x007fffff, as one unsigned comparison. */
AVX512 static __mmask16 subnormal_lanes(__m512 v) {
    __m512i mag = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
    return _mm512_cmplt_epu32_mask(_mm512_sub_epi32(mag, _mm512_set1_epi32(1)),
                                   _mm512_set1_epi32(0x007fffff));
}

AVX512 static __m256 low_half(__m512 v) { return _mm512_castps512_ps256(v); }
AVX512 static __m256 high_half(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}
AVX512 static __m512 join_halves(__m256 lo, __m256 hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)),
                                               _mm256_castps_pd(hi), 1));
}

/* The common momentum step (no weight decay, no dampening, not Nesterov, |lr| <= 2^30)
 * on a vector whose buffer has subnormal lanes, with the bits of the float kernel and
 * without its assists, at a third of the double path's cost:
 *  - buf = fma(1, d, momentum * buf) is d + (momentum * buf): the product is exact in
 *    double and rounded once to float (a conversion, no assist); the addition takes
 *    subnormal operands without one;
 *  - p = fma(-lr, buf, p) where the new buf is subnormal: |lr * buf| < 2^-96, less
 *    than half an ulp of any |p| >= 2^-60, so the result is p itself; the lane computes
 *    fma(-lr, 0, p), which is p.
 * Returns 0, leaving *p and *b alone, when such a lane's |p| is below 2^-60 or not
 * finite: the vector then takes the double path. */
AVX512 static inline int sgd_lanes_subnormal_momentum(const sgd_f32_consts *k, __m512 d,
                                                      __m512 *p, __m512 *b) {
    __m512d lo = _mm512_mul_pd(k->m_d, _mm512_cvtps_pd(low_half(*b)));
    __m512d hi = _mm512_mul_pd(k->m_d, _mm512_cvtps_pd(high_half(*b)));
    __m512 nb = _mm512_add_ps(d, join_halves(_mm512_cvtpd_ps(lo), _mm512_cvtpd_ps(hi)));
    __mmask16 tiny = subnormal_lanes(nb);
    if (tiny) {
        __m512i mag = _mm512_and_si512(_mm512_castps_si512(*p), _mm512_set1_epi32(0x7fffffff));
        /* 0x21800000 is 2^-60, 0x7f800000 infinity: one unsigned range comparison */
        __mmask16 ok = _mm512_mask_cmplt_epu32_mask(
            tiny, _mm512_sub_epi32(mag, _mm512_set1_epi32(0x21800000)),
            _mm512_set1_epi32(0x7f800000 - 0x21800000));
        if (ok != tiny) return 0;
    }
    *p = _mm512_fmadd_ps(k->neg_lr, _mm512_maskz_mov_ps((__mmask16)~tiny, nb), *p);
    *b = nb;
    return 1;
}

AVX512 static void sgd_kernel_f32_avx512(int64_t n, float *restrict p, const float *restrict grad,
                                         float *restrict buf, const sgd_options *opts) {
    const sgd_options options = *opts, *o = &options;  /* a local copy stays in registers */
    /* with subnormals flushed (set_flush_denormal) there are no assists to avoid */
    const int flushed = (_mm_getcsr() & (1 << 6)) != 0;
    const float neg_lr = (float)-o->lr, wd = (float)o->weight_decay, m = (float)o->momentum;
    const float keep = (float)(1 - o->dampening);
    const sgd_f32_consts k = {_mm512_set1_ps(neg_lr), _mm512_set1_ps(wd), _mm512_set1_ps(m),
                              _mm512_set1_ps(keep), _mm512_set1_pd(neg_lr), _mm512_set1_pd(wd),
                              _mm512_set1_pd(m), _mm512_set1_pd(keep)};
    const int plain_momentum = o->weight_decay == 0 && o->dampening == 0 && !o->nesterov &&
                               fabs(o->lr) <= 0x1p30;
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 lanes = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 g = _mm512_maskz_loadu_ps(lanes, grad + i), pv = _mm512_maskz_loadu_ps(lanes, p + i);
        __m512 bv = buf ? _mm512_maskz_loadu_ps(lanes, buf + i) : _mm512_setzero_ps();
        __m512 p_out = pv, b_out = bv;
        /* NOTE: only the momentum buffer is checked: it is what sinks into the subnormals
         * (a subnormal gradient or weight is rare, and computed right, with the assist) */
        int tie = 0, slow = buf && !o->first_step && !flushed && subnormal_lanes(bv);
        if (slow && plain_momentum) {
            __m512 d = o->maximize ? _mm512_castsi512_ps(_mm512_xor_si512(
                                         _mm512_castps_si512(g), _mm512_set1_epi32(INT32_MIN)))
                                   : g;
            if (sgd_lanes_subnormal_momentum(&k, d, &p_out, &b_out)) {
                _mm512_mask_storeu_ps(p + i, lanes, p_out);
                _mm512_mask_storeu_ps(buf + i, lanes, b_out);
                continue;
            }
        }
        if (slow) {
            __m512d pl = _mm512_cvtps_pd(low_half(pv)), ph = _mm512_cvtps_pd(high_half(pv));
            __m512d bl = _mm512_cvtps_pd(low_half(bv)), bh = _mm512_cvtps_pd(high_half(bv));
            sgd_lanes_double(o, &k, _mm512_cvtps_pd(low_half(g)), &pl, &bl, &tie);
            sgd_lanes_double(o, &k, _mm512_cvtps_pd(high_half(g)), &ph, &bh, &tie);
            p_out = join_halves(_mm512_cvtpd_ps(pl), _mm512_cvtpd_ps(ph));
            b_out = join_halves(_mm512_cvtpd_ps(bl), _mm512_cvtpd_ps(bh));
        }
        if (!slow || tie) {
            p_out = pv, b_out = bv;
            sgd_lanes_float(o, &k, g, &p_out, buf ? &b_out : NULL);
        }
        _mm512_mask_storeu_ps(p + i, lanes, p_out);
        if (buf) _mm512_mask_storeu_ps(buf + i, lanes, b_out);
    }
}
#undef AVX512
#endif

static void sgd_kernel_f32(int64_t n, float *restrict p, const float *restrict grad,
                           float *restrict buf, const sgd_options *o) {
#if defined(__x86_64__) || defined(__i386__)
    if (pa_cpu_has_avx512()) {
        sgd_kernel_f32_avx512(n, p, grad, buf, o);
        return;
    }
#endif
    sgd_kernel_f32_plain(n, p, grad, buf, o);
}

/* NOTE: an update reads and writes 3-5 arrays per element, so a second thread pays off
 * sooner than for a plain elementwise op: measured on the MLP's 100,352-weight layer,
 * whose update ran on one thread under the elementwise threshold (64K elements). */
static int optimizer_threads(int64_t numel) { return pa_kernel_threads_for(numel, 1 << 14); }

/* Runs an elementwise update kernel over [0, n) split in fixed chunks across threads. */
#define PARALLEL_CHUNKS(n, nt, BODY)                                                       \
    do {                                                                                   \
        int64_t chunk_ = ((n) + (nt) - 1) / (nt);                                          \
        PA_PARALLEL_FOR(nt, for (int t_ = 0; t_ < (nt); t_++) {                            \
            int64_t lo = t_ * chunk_, hi = lo + chunk_ < (n) ? lo + chunk_ : (n);          \
            if (lo < hi) { BODY; }                                                         \
        });                                                                                \
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
