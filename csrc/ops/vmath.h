/* Vectorisable float32 math: branch-free functions that the compiler turns into SIMD
 * code inside the elementwise loops (libm's expf is a scalar call per element).
 *
 * expf: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r by a degree-6
 * polynomial (Cephes' coefficients), then scaled by 2^n in two steps so that results in
 * the subnormal range are exact too.  Error <= 1 ulp over the whole range (checked
 * against float64 exp in tests/test_ops.py); inf, 0 and NaN as libm. */
#ifndef PA_OPS_VMATH_H
#define PA_OPS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float pa_pow2i(int32_t n) {  /* 2^n for n in [-126, 127] */
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^x = 2^n e^r, n = rint(x / ln2), r = x - n ln2 (in two parts), e^r as 1 + r + r^2 P(r):
 * returns e^r and sets *n. */
static inline float pa_exp_reduced(float x, float *n_out) {
    float n = rintf(x * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    *n_out = n;
    return fmaf(p, r * r, r) + 1.0f;
}

static inline float pa_expf(float x) {
    float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x), n;
    float y = pa_exp_reduced(xc, &n);
    int32_t ni = (int32_t)n, n1 = ni / 2, n2 = ni - n1;
    y = y * pa_pow2i(n1) * pa_pow2i(n2);
    return x != x ? x : y;
}

/* pa_expf for -87 <= x <= 88, where e^x is a normal float and 2^n one float: no clamp,
 * one scaling, no NaN test.  The same bits as pa_expf there (whose two scalings are both
 * exact for a normal result); the loops redo other inputs with pa_expf (PA_EXP_RARE). */
static inline float pa_expf_normal(float x) {
    float n, y = pa_exp_reduced(x, &n);
    return y * pa_pow2i((int32_t)n);
}
#define PA_EXP_RARE(x) (!(((x) >= -87.0f) & ((x) <= 88.0f)))

/* The logistic function 1 / (1 + e^-x), with pa_expf in float32 (shared by the sigmoid op
 * and the fused LSTM cell, so both round alike). */
static inline float pa_sigmoidf(float x) { return 1.0f / (1.0f + pa_expf(-x)); }
/* pa_sigmoidf for -88 <= x <= 87 (its pa_expf in the normal range), for the loops' vector
 * pass; they redo other inputs with pa_sigmoidf (PA_SIGMOID_RARE). */
static inline float pa_sigmoidf_normal(float x) { return 1.0f / (1.0f + pa_expf_normal(-x)); }
#define PA_SIGMOID_RARE(x) (!(((x) >= -88.0f) & ((x) <= 87.0f)))
static inline double pa_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* cond ? a : b by masking bits (pa_blendf for float, pa_blendd for double): a ?: whose
 * other arm is a long computation was turned into a branch around that computation,
 * which kept the loop scalar. */
#define PA_BLEND(NAME, T, U, C)                                                            \
    static inline T NAME(C cond, T a, T b) {                                               \
        U ua, ub, mask = (U)0 - (U)(cond != 0);                                            \
        memcpy(&ua, &a, sizeof ua);                                                        \
        memcpy(&ub, &b, sizeof ub);                                                        \
        ub = (ua & mask) | (ub & ~mask);                                                   \
        memcpy(&b, &ub, sizeof b);                                                         \
        return b;                                                                          \
    }
PA_BLEND(pa_blendf, float, uint32_t, int32_t)
/* (the mask from a 64-bit condition: a 32-bit one next to double lanes kept gcc from
 * vectorising) */
PA_BLEND(pa_blendd, double, uint64_t, int64_t)

/* tanhf, on |x| with the sign put back at the end (so tanh(-0) = -0): below 0.625 the
 * odd polynomial x + x^3 P(x^2) (Cephes' tanhf coefficients); above, 1 - 2 / (e^{2|x|}
 * + 1) with pa_expf, which cancels nothing there (the quotient is at most 0.45), |x|
 * clamped to 10, where the result has rounded to 1 already.  Error <= 1 ulp over a sweep
 * of 3.6 million floats against float64 (tests/test_numerics.py); NaN gives NaN.
 * NOTE: libm's tanhf is a scalar call of ~14 ns per element: tanh of 8,192 floats 120 ->
 * 8.7 us, of 1e6 8.9 -> 0.56 ms (2 threads). */
static inline float pa_tanhf(float x) {
    float ax = fabsf(x), z = ax * ax;
    float p = -5.70498872745e-3f;
    p = fmaf(p, z, 2.06390887954e-2f);
    p = fmaf(p, z, -5.37397155531e-2f);
    p = fmaf(p, z, 1.33314422036e-1f);
    p = fmaf(p, z, -3.33332819422e-1f);
    float small = fmaf(p * z, ax, ax);
    /* (the argument is at most 20: pa_expf_normal gives pa_expf's bits; NaN stays NaN) */
    float big = 1.0f - 2.0f / (pa_expf_normal(2.0f * pa_blendf(ax > 10.0f, 10.0f, ax)) + 1.0f);
    return copysignf(pa_blendf(ax < 0.625f, small, big), x);
}

/* logf: x = 2^e m with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), and
 * log(1 + f) = f - f^2/2 + f^3 P(f) with Cephes' logf coefficients; e ln2 is added in
 * two parts (0.693359375 is exact in a few bits).  Subnormal inputs are scaled by 2^23
 * first.  Error < 1 ulp against float64 (0.83 at most over 6 million inputs spread over
 * every exponent, tests/test_numerics.py); log(0) = -inf,
 * log(x < 0) = NaN, log(inf) = inf, NaN gives NaN.
 * NOTE: libm's logf, log1pf and expm1f are scalar calls; log of 100,000 floats took
 * 223 us (2 threads), log1p and expm1 1.1 ms, 23-110x PyTorch's vectorised time. */

static inline void pa_logf_core(float x, float *f_out, float *e_out) {
    /* NOTE: arithmetic in place of ?: on the way: gcc turned those selects into branches
     * and left the loop scalar. */
    int32_t sub = x < 1.17549435e-38f;  /* subnormal (or not positive: patched by the caller) */
    uint32_t ix, scale_bits = 0x3f800000u + ((uint32_t)sub * (23u << 23));  /* 1 or 2^23 */
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    float xs = x * scale;
    memcpy(&ix, &xs, sizeof ix);
    int32_t e = (int32_t)((ix >> 23) & 0xff) - 126 - 23 * sub;
    uint32_t im = (ix & 0x007fffffu) | 0x3f000000u;  /* m in [0.5, 1) */
    float m;
    memcpy(&m, &im, sizeof m);
    int32_t low = m < 0.707106781186547524f;
    *f_out = m * (float)(1 + low) - 1.0f;  /* 2m - 1 or m - 1, both exact */
    *e_out = (float)(e - low);
}

static inline float pa_log1p_poly(float f, float fe) {  /* log(1 + f) + fe ln2, |f| < 0.42 */
    float z = f * f;
    float p = 7.0376836292e-2f;
    p = fmaf(p, f, -1.1514610310e-1f);
    p = fmaf(p, f, 1.1676998740e-1f);
    p = fmaf(p, f, -1.2420140846e-1f);
    p = fmaf(p, f, 1.4249322787e-1f);
    p = fmaf(p, f, -1.6668057665e-1f);
    p = fmaf(p, f, 2.0000714765e-1f);
    p = fmaf(p, f, -2.4999993993e-1f);
    p = fmaf(p, f, 3.3333331174e-1f);
    float y = p * f * z;
    y = fmaf(fe, -2.12194440e-4f, y);
    y = fmaf(z, -0.5f, y);
    float r = f + y;
    return fmaf(fe, 0.693359375f, r);
}

static inline float pa_logf(float x) {
    float f, fe;
    pa_logf_core(x, &f, &fe);
    float r = pa_log1p_poly(f, fe);
    /* inf, NaN and x <= 0 keep or replace x: log(0) = -inf, log(x < 0) = NaN */
    float special = x == 0.0f ? -INFINITY : (x < 0.0f ? NAN : x);
    return pa_blendf(!(x > 0.0f) | (x == INFINITY), special, r);
}

/* log2f and log10f from logf's decomposition x = 2^e (1 + f) (f exact, |f| < 0.42), with
 * log(1 + f) = 2 atanh(f / (2 + f)) summed in double to s^13 (|s| < 0.18, so the first term
 * left out is below 1e-12 of the sum), then e + log(1 + f) log2(e), or e log10(2) +
 * log(1 + f) log10(e), rounded once: within about half an ulp (tests/test_numerics.py),
 * and log2 of a power of two is its exponent (f = 0).  Same special values as logf.
 * NOTE: both went through NumPy in float64: log2 of 1e6 floats 5.2 ms (21x PyTorch). */
static inline double pa_log1p_reduced(float f) {
    double s = (double)f / (2.0 + (double)f), z = s * s;
    double p = 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    return 2.0 * (s + s * z * p);
}

static inline float pa_log2f(float x) {
    float f, fe;
    pa_logf_core(x, &f, &fe);
    double r = (double)fe + pa_log1p_reduced(f) * 1.44269504088896340736;
    float special = x == 0.0f ? -INFINITY : (x < 0.0f ? NAN : x);
    return pa_blendf(!(x > 0.0f) | (x == INFINITY), special, (float)r);
}

static inline float pa_log10f(float x) {
    float f, fe;
    pa_logf_core(x, &f, &fe);
    double r = (double)fe * 0.30102999566398119521 + pa_log1p_reduced(f) * 0.43429448190325182765;
    float special = x == 0.0f ? -INFINITY : (x < 0.0f ? NAN : x);
    return pa_blendf(!(x > 0.0f) | (x == INFINITY), special, (float)r);
}

/* atan2f in double: q = min(|y|, |x|) / max(|y|, |x|) in [0, 1], above tan(pi/8) reduced
 * to (q - 1) / (q + 1) (one division either way: the numerator and denominator are
 * chosen first), atan of that as z + z^3 P(z^2) (degree 7 in z^2, fitted by least
 * squares on Chebyshev nodes against mpmath: relative error 1e-13), then pi/4, pi/2 - r
 * and pi - r put the octant back and y's sign goes on last; rounded once, so within about
 * half an ulp.  Both zeros, infinities and NaN are rare inputs the loop redoes with libm
 * (PA_ATAN2_RARE): q is 0/0 or inf/inf there.
 * NOTE: atan2 went through NumPy in float64: 10.3 ms for 1e6 floats (14x PyTorch). */
static const double PA_ATAN_P[8] = {
    0.032998612024308115, -0.06029825188662072, 0.07605395900025785, -0.09084171872677778,
    0.11110823939886466, -0.1428570823192848, 0.19999999951170835, -0.3333333333326855};
static inline float pa_atan2f(float y, float x) {
    double ay = fabs((double)y), ax = fabs((double)x);
    int steep = ay > ax;
    double mx = steep ? ay : ax, mn = steep ? ax : ay;
    int big = mn > 0.41421356237309504880 * mx;
    double z = (big ? mn - mx : mn) / (big ? mn + mx : mx), w = z * z;
    double p = PA_ATAN_P[0];
    for (int k = 1; k < 8; k++) p = p * w + PA_ATAN_P[k];
    double r = z + z * w * p;
    r = big ? r + 0.78539816339744830962 : r;
    r = steep ? 1.57079632679489661923 - r : r;
    r = x < 0.0f ? 3.14159265358979323846 - r : r;
    return copysignf((float)r, y);
}
#define PA_ATAN2_RARE(y, x) \
    ((((y) == 0.0f) & ((x) == 0.0f)) | !(fabsf(y) < INFINITY) | !(fabsf(x) < INFINITY))

/* log1pf: u = 1 + x rounded, and c = the rounding error (x - (u - 1) or, for x > 1,
 * 1 - (u - x), both exact), then log(u) + c / u.  Error < 1.5 ulp against float64
 * (1.19 at most, tests/test_numerics.py; libm's log1pf is within 1); x = -1 gives -inf,
 * x < -1 NaN. */
static inline float pa_log1pf(float x) {
    float u = 1.0f + x;
    float c = x > 1.0f ? 1.0f - (u - x) : x - (u - 1.0f);
    float f, fe;
    pa_logf_core(u, &f, &fe);
    float r = pa_log1p_poly(f, fe) + c / u;
    /* below 2^-10 the series x - x^2/2 + x^3/3 - x^4/4 is exact to float precision */
    float tiny = fmaf(x * x, fmaf(x, fmaf(x, -0.25f, 0.333333333f), -0.5f), x);
    r = pa_blendf(fabsf(x) < 9.765625e-4f, tiny, r);
    float special = x == -1.0f ? -INFINITY : (x < -1.0f ? NAN : x);
    return pa_blendf(!(x > -1.0f) | (x == INFINITY), special, r);
}

/* expm1f: for |x| < 1 the Taylor polynomial to degree 11 (x^12/12! < 2^-28 |x|),
 * evaluated as x + x^2 (1/2 + x (1/6 + ...)); elsewhere e^x - 1 with pa_expf, whose
 * result is then at least 1.7 or at most 0.37 from 1, so the subtraction is exact or
 * loses under an ulp.  Error < 2 ulp against float64 (1.76 at most near x = 1, where
 * e^x itself carries up to 1 ulp; tests/test_numerics.py; libm's expm1f is within 1). */
static inline float pa_expm1f(float x) {
    float p = 2.50521084e-8f;                /* 1/11! */
    p = fmaf(p, x, 2.75573192e-7f);          /* 1/10! */
    p = fmaf(p, x, 2.75573192e-6f);          /* 1/9! */
    p = fmaf(p, x, 2.48015873e-5f);          /* 1/8! */
    p = fmaf(p, x, 1.98412698e-4f);          /* 1/7! */
    p = fmaf(p, x, 1.38888889e-3f);          /* 1/6! */
    p = fmaf(p, x, 8.33333333e-3f);          /* 1/5! */
    p = fmaf(p, x, 4.16666667e-2f);          /* 1/4! */
    p = fmaf(p, x, 1.66666667e-1f);          /* 1/3! */
    p = fmaf(p, x, 0.5f);
    float small = fmaf(p * x, x, x);
    float big = pa_expf(x) - 1.0f;
    return pa_blendf(!(fabsf(x) >= 1.0f), small, big);  /* (NaN: small is NaN) */
}

/* erf for float32 work, computed in double from fitted polynomials (tests/test_numerics.py
 * checks the results against float64 references):
 *   |z| < 1:      erf(z) = z P(z^2), P of degree 7 (relative error 4e-11);
 *   1 <= a <= 10: erfc(a) = e^{-a^2} Q(1/a), Q of degree 11 on [1, 3) and 10 on [3, 10]
 *                 (relative error 6e-11; used up to 10.0625, where the results are
 *                 subnormal and need only a few digits), e^{-a^2} as pa_expf(-hi) (1 - lo) with
 *                 a^2 = hi + lo split exactly by an fma;
 *   a > 10.0625:  erfc(a) = 0 (below half float32's smallest subnormal, 2^-149: it
 *                 rounds to 0; e^{-a^2} stays above pa_expf's clamp at -104 up to here).
 * Fitted by least squares on Chebyshev nodes against mpmath.  pa_expf's 1 ulp is the
 * largest error left, so erf and erfc-based results (GELU's negative side, which
 * 1 + erf would cancel) are within ~1.5 ulp.
 * NOTE: libm's erff is a scalar call: GELU of 100,000 floats took 0.69 ms (22x
 * PyTorch's time), 0.41 ms now (2 threads; all three fits are evaluated in double for
 * every element); the backward also ran libm's expf per element.
 * NOTE: pa_horner's separate multiply and add (the build does not contract them): GELU
 * of 1e6 floats, 1 thread, 3.42 -> 2.77 ms with fma, erf 3.18 -> 2.52 (PyTorch, in float:
 * 0.67 and 1.58).  Skipping the [3, 10] fit where no lane needs it (a vector pass and a
 * patch, as exp's) saved only 5% more: not kept. */
/* The fits' coefficients, highest degree first, and their Horner evaluation. */
static const double PA_ERF_P[8] = {
    -9.728303945462566e-06, 0.00011288142194387354, -0.0008487263828216571,
    0.0052212612715283255, -0.026865517382436064, 0.11283784111139346,
    -0.37612638590418407, 1.128379167082294};
static const double PA_ERFC_Q2[12] = {  /* a in [1, 3) */
    0.021829241314354462, -0.18076617128912342, 0.6774559806609393, -1.5085403672542688,
    2.187145892300862, -2.0883833375188896, 1.1858913468672925, -0.16822511613198302,
    -0.26267000467010354, -0.00012199792562375807, 0.5639477112895287,
    2.039852954612381e-05};
static const double PA_ERFC_Q3[11] = {  /* a in [3, 10] */
    1.5662834324584582, -4.250398411562078, 4.878014809200025, -2.7431118160433137,
    0.38776405736053315, 0.3606907528825366, 0.007101874969433072, -0.28265485284669556,
    2.9168076816215077e-05, 0.5641886814053199, 1.25410830795103e-08};

static inline double pa_horner(const double *c, int n, double t) {
    double p = c[0];
    for (int k = 1; k < n; k++) p = fma(p, t, c[k]);
    return p;
}

static inline double pa_erf_small(double z) {  /* |z| < 1 */
    return z * pa_horner(PA_ERF_P, 8, z * z);
}

static inline double pa_erfc_tail(float a) {  /* a >= 1 (NaN gives NaN) */
    float hi = a * a, lo = fmaf(a, a, -hi);
    double e = (double)pa_expf(-hi) * (1.0 - (double)lo), t = 1.0 / (double)a;
    double q2 = pa_horner(PA_ERFC_Q2, 12, t), q3 = pa_horner(PA_ERFC_Q3, 11, t);
    double ad = (double)a;
    return pa_blendd(ad > 10.0625, 0.0, e * pa_blendd(ad < 3.0, q2, q3));
}

/* Phi(x) = (1 + erf(x / sqrt 2)) / 2 in double, with x / sqrt 2 rounded to float as
 * GELU's float32 formula has it; on the negative side from erfc, without cancellation. */
static inline double pa_phi(float x) {
    float z = x * 0.70710678118654752440f, a = fabsf(z);
    double small = 0.5 + 0.5 * pa_erf_small((double)z), tail = 0.5 * pa_erfc_tail(pa_blendf(a < 1.0f, 1.0f, a));
    double zd = (double)z;
    return pa_blendd(fabs(zd) < 1.0, small, pa_blendd(zd > 0.0, 1.0 - tail, tail));
}

static inline float pa_erff(float x) {
    float a = fabsf(x);
    double small = pa_erf_small((double)x), big = 1.0 - pa_erfc_tail(pa_blendf(a < 1.0f, 1.0f, a));
    float r = pa_blendf(a < 1.0f, (float)small, copysignf((float)big, x));
    return pa_blendf(x != x, x, r);
}

/* erfcf from the same pieces: 1 - erf(x) below |x| = 1 (at least 0.157, so nothing
 * cancels), the tail above, 2 - tail below -1; subnormal results from 9.2 on come from
 * the double tail rounded once, and from 10.0625 on it is 0 (erfc(10.0625) is 0.42
 * 2^-149, so the correctly rounded result is 0 already).  Error < 2 ulp (1.71 at most
 * over every 7th float: pa_expf's 1 ulp, the fits and the rounding; subnormal results
 * within 0.96 of a step; tests/test_numerics.py); erfc(-inf) = 2, erfc(inf) = 0, NaN
 * gives NaN. */
static inline float pa_erfcf(float x) {
    float a = fabsf(x);
    double xd = (double)x, small = 1.0 - pa_erf_small(xd);
    double tail = pa_erfc_tail(pa_blendf(a < 1.0f, 1.0f, a));
    double r = pa_blendd(fabs(xd) < 1.0, small, pa_blendd(xd > 0.0, tail, 2.0 - tail));
    return pa_blendf(x != x, x, (float)r);
}

/* e^{-a^2} for float32 work: a^2 = hi + lo split exactly by an fma, e^{-hi} (1 - lo)
 * (|lo| <= 2^-24 hi, so the first-order correction leaves < 1e-11 relative); rounding
 * a*a first would put up to a^2 2^-24 (6e-6 at a = 10) of relative error into the
 * result. */
static inline float pa_exp_neg_square(float a) {
    float hi = a * a, lo = fmaf(a, a, -hi);
    return pa_expf(-hi) * (1.0f - lo);
}

/* sinf and cosf, computed in double: k = rint(x 2/pi) (read off the low bits of
 * x 2/pi + 1.5 2^52), r = x - k pi/2 with pi/2 in three parts (Cody and Waite): the
 * first two carry 33 bits, so for |x| <= 2^20 (k < 2^20) their products with k are
 * exact and x - k p1 is exact too (Sterbenz), and what is left of pi/2 (1e-37) times k
 * stays below 1e-31, far under the nearest any float comes to a multiple of pi/2.  On
 * |r| <= pi/4 sin r = r (1 + r^2 S(r^2)) and cos r = 1 - r^2/2 + r^4 C(r^2), S and C of
 * degree 3 fitted by weighted least squares on Chebyshev nodes (relative error 5.5e-12
 * and 1.2e-13); k mod 4 picks +-sin r or +-cos r, and the double is rounded once, so the
 * result is the correctly rounded value or its neighbour (<= 1 ulp;
 * tests/test_numerics.py).  Beyond 2^20, and for inf and NaN, the result is not
 * meaningful: the loops redo those lanes with libm (PA_SINCOS_RARE). */
#define PA_SINCOS_RARE(x) (!(fabsf(x) <= 1048576.0f))
static const double PA_SIN_S[4] = {
    2.7184444753874347e-06, -0.00019839352290934757, 0.00833332945736334, -0.16666666642509262};
static const double PA_COS_C[4] = {
    -2.720589439130407e-07, 2.479946182352896e-05, -0.0013888883505739447, 0.04166666661953463};

static inline float pa_sincosf(float x, uint64_t quadrant_shift) {  /* 0: sin, 1: cos */
    double xd = (double)x, shifter = 6755399441055744.0;  /* 1.5 2^52 */
    double t = xd * 0.6366197723675814 + shifter, k = t - shifter;
    uint64_t q;
    memcpy(&q, &t, sizeof q);
    q += quadrant_shift;
    double r = xd - k * 0x1.921fb544p+0;
    r = r - k * 0x1.0b4611a6p-34;
    r = r - k * 0x1.3198a2e037073p-69;
    double z = r * r;
    double s = r * (1.0 + z * pa_horner(PA_SIN_S, 4, z));  /* (r + r z S would turn -0 into +0) */
    double c = 1.0 - 0.5 * z + z * z * pa_horner(PA_COS_C, 4, z);
    double v = pa_blendd((int64_t)(q & 1), c, s);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    bits ^= (q & 2) << 62;  /* quadrants 2 and 3: negated */
    memcpy(&v, &bits, sizeof v);
    return (float)v;
}

static inline float pa_sinf(float x) { return pa_sincosf(x, 0); }
static inline float pa_cosf(float x) { return pa_sincosf(x, 1); }

#endif
