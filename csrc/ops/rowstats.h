/* Float32 row statistics shared by softmax / cross-entropy (nn.c) and logsumexp
 * (reduce.c): a row's maximum and the sum of exp(x - max), vectorised, in functions
 * compiled per ISA.  Static: each including file gets its own copy. */
#ifndef PA_OPS_ROWSTATS_H
#define PA_OPS_ROWSTATS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "loops.h"
#include "vmath.h"

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* Lane by lane v > m ? v : m (gcc does not vectorise that select written on arrays).  A
 * macro: a function returning a 64-byte vector would have a per-ISA ABI. */
#define LANES_MAX(v, m)                                                                    \
    ({                                                                                     \
        v16i gt_ = (v) > (m);                                                              \
        (v16f)((gt_ & (v16i)(v)) | (~gt_ & (v16i)(m)));                                    \
    })

/* Whether every exp(x - mx) of a row whose values are at least lowest stays in
 * pa_expf_normal's range, where it gives pa_expf's bits with one scaling: no element 87
 * below the maximum (x - mx rounds monotonically in x, so the lowest value decides), no
 * NaN and a finite maximum.  lowest = -INFINITY where the row's least value is unknown.
 * NOTE: every exp took pa_expf's clamp, NaN test and two scalings: log-sum-exp over rows
 * of (1024, 1000) 712 -> 485 us, softmax 922 -> 693 (1 thread).  Choosing per 16 lanes
 * inside the exp loop instead kept gcc from vectorising the loads and the sums (2x the
 * time), and a pass of its own over the row for the check cost 8% of log_softmax; the
 * least value comes from the max pass (finite_row_max_f32) at no cost. */
static inline int exp_row_normal(float lowest, float mx) {
    return isfinite(mx) && !PA_EXP_RARE(lowest - mx);
}

/* Lane by lane v < m ? v : m. */
#define LANES_MIN(v, m)                                                                    \
    ({                                                                                     \
        v16i lt_ = (v) < (m);                                                              \
        (v16f)((lt_ & (v16i)(v)) | (~lt_ & (v16i)(m)));                                    \
    })

/* float32 rows: exp through pa_expf (<= 1 ulp, inlined) in functions compiled per ISA,
 * instead of a libm double exp call per element.  sum_c exp(x[c * inner] - mx), in
 * double; a contiguous row (inner == 1) is summed in 16 interleaved partial sums, which
 * vectorise.  The order depends on C alone, never on the thread count.  lowest: as for
 * exp_row_normal. */
PA_CLONES __attribute__((unused)) static double expsum_f32(const float *x, int64_t C,
                                                          int64_t inner, float mx, float lowest) {
    double s = 0;
    int64_t c = 0;
    if (inner == 1 && C >= 16) {
        double part[16] = {0};
        if (!exp_row_normal(lowest, mx))
            for (; c + 16 <= C; c += 16)
                for (int j = 0; j < 16; j++) part[j] += (double)pa_expf(x[c + j] - mx);
        else
            for (; c + 16 <= C; c += 16)
                for (int j = 0; j < 16; j++) part[j] += (double)pa_expf_normal(x[c + j] - mx);
        for (int j = 0; j < 16; j++) s += part[j];
    }
    for (; c < C; c++) s += (double)pa_expf(x[c * inner] - mx);
    return s;
}

/* NOTE: a wide float32 row's max ran one compare and branch per element (the NaN rule
 * below blocks vectorisation): 16 lanes of v > m ? v : m instead, with the lanes' NaNs
 * flagged; a row holding a NaN, or whose maximum is not finite (+inf, or -inf throughout),
 * goes back to the one-row loop that defines those.  -inf entries under a finite maximum
 * stay here: their exp is 0 in both (an attention mask; a causal mask sent every row to
 * the scalar loop, 4x PyTorch's time for scaled_dot_product_attention).  For finite
 * values the lanes find the same maximum; only the sign of a zero maximum can differ,
 * which no output sees (x - (+0) == x - (-0) but for x = -0, whose exp and
 * log-probability are the same).  *mn: the least value (for exp_row_normal), meaningful
 * when it returns 1.  Needs C >= 16; returns 0 for the fallback. */
PA_CLONES __attribute__((unused)) static int finite_row_max_f32(const float *x, int64_t C,
                                                              float *mx, float *mn) {
    v16f m, lo;
    v16i nan = {0};
    memcpy(&m, x, sizeof m);
    lo = m;
    nan |= m != m;
    int64_t c = 16;
    for (; c + 16 <= C; c += 16) {
        v16f v;
        memcpy(&v, x + c, sizeof v);
        m = LANES_MAX(v, m);
        lo = LANES_MIN(v, lo);
        nan |= v != v;
    }
    float best = m[0], least = lo[0];
    int any_nan = nan[0] != 0;
    for (int j = 1; j < 16; j++) {
        best = m[j] > best ? m[j] : best;
        least = lo[j] < least ? lo[j] : least;
        any_nan |= nan[j] != 0;
    }
    for (; c < C; c++) {
        best = x[c] > best ? x[c] : best;
        least = x[c] < least ? x[c] : least;
        any_nan |= x[c] != x[c];
    }
    *mx = best;
    *mn = least;
    return !any_nan && isfinite(best);
}

#endif
