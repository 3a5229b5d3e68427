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

static inline float pa_expf(float x) {
    float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
    float n = rintf(xc * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, xc);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    float y = fmaf(p, r * r, r) + 1.0f;
    int32_t ni = (int32_t)n, n1 = ni / 2, n2 = ni - n1;
    y = y * pa_pow2i(n1) * pa_pow2i(n2);
    return x != x ? x : y;
}

/* The logistic function 1 / (1 + e^-x), with pa_expf in float32 (shared by the sigmoid op
 * and the fused LSTM cell, so both round alike). */
static inline float pa_sigmoidf(float x) { return 1.0f / (1.0f + pa_expf(-x)); }
static inline double pa_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

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
    float big = 1.0f - 2.0f / (pa_expf(2.0f * (ax > 10.0f ? 10.0f : ax)) + 1.0f);
    return copysignf(ax < 0.625f ? small : big, x);
}

#endif
