/* AVX-512 micro-kernels (contract in gemm_internal.h).
 *
 * NOTE: tile shapes from the register budget, 32 zmm: an MR x (2 vectors) tile keeps
 * 2*MR accumulators, plus 2 op(B) vectors and a broadcast.  MR = 8 leaves the tile at
 * 16 accumulators, enough to hide the 4-cycle FMA latency on two FMA ports, and divides
 * the batch sizes that dominate here (64, 1024, 784) so few edge tiles are wasted.
 * Its k-step (2 loads, 8 broadcasts, 16 FMAs) runs at 85% of the FMA peak from L1: the
 * broadcasts cost FMA throughput (benchmarks/ukernel_mix.c).  An 8 x 48 tile (24
 * accumulators, 89% from L1) measured no faster inside the MLP's products at two threads
 * and up to 27% slower on 64- and 256-wide ones, so 8 x 32 stays.
 *
 * NOTE: block sizes measured on a Sapphire Rapids core (48 KiB L1d, 2 MiB L2): kc = 384
 * keeps the op(B) micro-panel (384 x 32 floats or 16 doubles, 48 KiB) streaming from L2
 * at a rate L2 sustains while halving the passes over C that kc = 192 would need;
 * mc x kc is 576 KiB (float) or 384 KiB (double) of op(A), well inside L2.  Squares at
 * n = 2048 gained 10% over kc = 256; smaller kc or larger mc measured no better. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "gemm_internal.h"

PA_GEMM_SIMD_UKERNEL(sgemm_avx512_8x32, "avx512f", float, __m512, _mm512, ps, 8, 2)
PA_GEMM_SIMD_UKERNEL(sgemm_avx512_8x16, "avx512f", float, __m512, _mm512, ps, 8, 1)
PA_GEMM_SIMD_UKERNEL(dgemm_avx512_8x16, "avx512f", double, __m512d, _mm512, pd, 8, 2)
PA_GEMM_SIMD_UKERNEL(dgemm_avx512_8x8, "avx512f", double, __m512d, _mm512, pd, 8, 1)
PA_GEMM_SIMD_UKERNEL_STRIDED(sgemm_avx512_8x32_strided, "avx512f", float, __m512, _mm512, ps, 8, 2)
PA_GEMM_SIMD_UKERNEL_STRIDED(sgemm_avx512_8x16_strided, "avx512f", float, __m512, _mm512, ps, 8, 1)
PA_GEMM_SIMD_UKERNEL_STRIDED(dgemm_avx512_8x16_strided, "avx512f", double, __m512d, _mm512, pd, 8, 2)
PA_GEMM_SIMD_UKERNEL_STRIDED(dgemm_avx512_8x8_strided, "avx512f", double, __m512d, _mm512, pd, 8, 1)
PA_GEMM_SIMD_UKERNEL_B_ROWS(sgemm_avx512_8x32_b_rows, "avx512f", float, __m512, _mm512, ps, 8, 2)
PA_GEMM_SIMD_UKERNEL_B_ROWS(sgemm_avx512_8x16_b_rows, "avx512f", float, __m512, _mm512, ps, 8, 1)
PA_GEMM_SIMD_UKERNEL_B_ROWS(dgemm_avx512_8x16_b_rows, "avx512f", double, __m512d, _mm512, pd, 8, 2)
PA_GEMM_SIMD_UKERNEL_B_ROWS(dgemm_avx512_8x8_b_rows, "avx512f", double, __m512d, _mm512, pd, 8, 1)

/* Thin products (n <= one vector, e.g. the 10 classes of a classifier's last layer):
 * row tiles of up to 16 rows keep 16 accumulators (enough to hide the FMA latency on
 * two ports); op(B) rows are loaded under the lane mask straight from memory and the
 * result is stored under it, so there is no packing and no edge-tile copy.  Row tiles
 * of 16, then 8, 4, 2, 1 for the rest: the same chain per element in every case. */
#define THIN_ROWS(NAME, T, V, S, MASK, MASK_T)                                               \
    __attribute__((target("avx512f"), always_inline)) static inline void NAME(               \
        int mr, int64_t k, const T *restrict a, int64_t a_rs, int64_t a_cs,                  \
        const T *restrict b, int64_t ldb, MASK_T mask, T alpha, T beta, T *restrict c,       \
        int64_t ldc) {                                                                       \
        V acc[16];                                                                           \
        _Pragma("GCC unroll 16") for (int i = 0; i < mr; i++) acc[i] = _mm512_setzero_##S(); \
        /* rows i and i + 8 share a pointer (8 pointers, one offset: no spills) */         \
        const T *ap[8];                                                                      \
        const int64_t half = mr > 8 ? 8 * a_rs : 0;                                          \
        _Pragma("GCC unroll 8") for (int i = 0; i < 8 && i < mr; i++) ap[i] = a + i * a_rs;  \
        for (int64_t p = 0; p < k; p++) {                                                    \
            V bv = _mm512_maskz_loadu_##S(mask, b + p * ldb);                                \
            _Pragma("GCC unroll 8") for (int i = 0; i < 8 && i < mr; i++) {                  \
                acc[i] = _mm512_fmadd_##S(_mm512_set1_##S(ap[i][0]), bv, acc[i]);            \
                if (i + 8 < mr)                                                              \
                    acc[i + 8] =                                                             \
                        _mm512_fmadd_##S(_mm512_set1_##S(ap[i][half]), bv, acc[i + 8]);      \
                ap[i] += a_cs;                                                               \
            }                                                                                \
        }                                                                                    \
        V va = _mm512_set1_##S(alpha);                                                       \
        if (beta == 0) {                                                                     \
            _Pragma("GCC unroll 16") for (int i = 0; i < mr; i++)                            \
                _mm512_mask_storeu_##S(c + i * ldc, mask, _mm512_mul_##S(va, acc[i]));       \
        } else {                                                                             \
            V vb = _mm512_set1_##S(beta);                                                    \
            _Pragma("GCC unroll 16") for (int i = 0; i < mr; i++) {                          \
                V old = _mm512_maskz_loadu_##S(mask, c + i * ldc);                           \
                _mm512_mask_storeu_##S(c + i * ldc, mask,                                    \
                                       _mm512_fmadd_##S(va, acc[i], _mm512_mul_##S(vb, old)));\
            }                                                                                \
        }                                                                                    \
    }

#define THIN_GEMM(NAME, ROWS, T, MASK_T)                                                     \
    __attribute__((target("avx512f"))) static void NAME(                                     \
        int64_t m, int64_t n, int64_t k, const T *a, int64_t a_rs, int64_t a_cs, const T *b, \
        int64_t ldb, T alpha, T beta, T *c, int64_t ldc) {                                   \
        MASK_T mask = (MASK_T)((1u << n) - 1);                                               \
        int64_t i = 0;                                                                       \
        for (; i + 16 <= m; i += 16)                                                         \
            ROWS(16, k, a + i * a_rs, a_rs, a_cs, b, ldb, mask, alpha, beta, c + i * ldc, ldc); \
        if (i + 8 <= m) {                                                                    \
            ROWS(8, k, a + i * a_rs, a_rs, a_cs, b, ldb, mask, alpha, beta, c + i * ldc, ldc); \
            i += 8;                                                                          \
        }                                                                                    \
        if (i + 4 <= m) {                                                                    \
            ROWS(4, k, a + i * a_rs, a_rs, a_cs, b, ldb, mask, alpha, beta, c + i * ldc, ldc); \
            i += 4;                                                                          \
        }                                                                                    \
        if (i + 2 <= m) {                                                                    \
            ROWS(2, k, a + i * a_rs, a_rs, a_cs, b, ldb, mask, alpha, beta, c + i * ldc, ldc); \
            i += 2;                                                                          \
        }                                                                                    \
        if (i < m)                                                                           \
            ROWS(1, k, a + i * a_rs, a_rs, a_cs, b, ldb, mask, alpha, beta, c + i * ldc, ldc); \
    }

THIN_ROWS(sthin_rows, float, __m512, ps, mask, __mmask16)
THIN_ROWS(dthin_rows, double, __m512d, pd, mask, __mmask8)
THIN_GEMM(sgemm_avx512_thin, sthin_rows, float, __mmask16)
THIN_GEMM(dgemm_avx512_thin, dthin_rows, double, __mmask8)

/* Matrix-vector products (contract in gemm_internal.h).  Dot form: a row's products go
 * into two accumulators, 16 lanes each, taking alternate 16-element chunks of p (the last
 * partial chunk under a mask, in the accumulator whose turn it is), then the two are
 * added and reduced across lanes in a fixed order; four rows at a time share the loads
 * of x, and a fifth to seventh row runs the same steps alone.  Axpy form: 8 vectors of
 * y (128 floats or 64 doubles) stay in registers while p runs over all of k, the last
 * partial vector under a mask.
 * NOTE: measured (float32, 10th percentiles, the machine shared with other work; PyTorch
 * 2.13 in brackets), 1 / 2 threads: A @ v, A 1000 x 1000: 299 -> 146 [166] / 157 -> 73
 * [41] us; v @ A^T, A 4096 x 1024: 2832 -> 656 [686] / 1479 -> 288 [302]; u @ A, A 4096
 * x 1024: 1617 -> 659 [671] / 854 -> 313 [337].  Through the thin kernel a single column
 * used one lane in 16 of every multiply-add, and a single row went through the blocked
 * product as one row of an 8-row tile, packing all of op(B). */
#define GEMV_DOT(NAME, T, V, S, MASK_T, LANES)                                                 \
    __attribute__((target("avx512f"))) static void NAME(int64_t m, int64_t k, const T *a,     \
                                                        int64_t lda, const T *x, T alpha,     \
                                                        T beta, T *y, int64_t incy) {         \
        const int64_t full = k / LANES;                                                       \
        const MASK_T tail = (MASK_T)((1u << (k % LANES)) - 1);                                \
        int64_t i = 0;                                                                        \
        for (; i < m; ) {                                                                     \
            const int rows = m - i >= 4 ? 4 : 1;                                              \
            V acc[4][2];                                                                      \
            for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm512_setzero_##S();         \
            const T *row = a + i * lda;                                                       \
            int64_t q = 0;                                                                    \
            if (rows == 4) {                                                                  \
                for (; q < full; q++) {                                                       \
                    V xv = _mm512_loadu_##S(x + q * LANES);                                   \
                    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) acc[r][q & 1] =       \
                        _mm512_fmadd_##S(_mm512_loadu_##S(row + r * lda + q * LANES), xv,     \
                                         acc[r][q & 1]);                                      \
                }                                                                             \
                if (tail) {                                                                   \
                    V xv = _mm512_maskz_loadu_##S(tail, x + q * LANES);                       \
                    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) acc[r][q & 1] =       \
                        _mm512_fmadd_##S(_mm512_maskz_loadu_##S(tail, row + r * lda +         \
                                                                q * LANES),                   \
                                         xv, acc[r][q & 1]);                                  \
                }                                                                             \
            } else {                                                                          \
                for (; q < full; q++)                                                         \
                    acc[0][q & 1] = _mm512_fmadd_##S(_mm512_loadu_##S(row + q * LANES),       \
                                                     _mm512_loadu_##S(x + q * LANES),         \
                                                     acc[0][q & 1]);                          \
                if (tail)                                                                     \
                    acc[0][q & 1] = _mm512_fmadd_##S(                                         \
                        _mm512_maskz_loadu_##S(tail, row + q * LANES),                        \
                        _mm512_maskz_loadu_##S(tail, x + q * LANES), acc[0][q & 1]);          \
            }                                                                                 \
            for (int r = 0; r < rows; r++) {                                                  \
                T sum = _mm512_reduce_add_##S(_mm512_add_##S(acc[r][0], acc[r][1]));          \
                T *yi = y + (i + r) * incy;                                                   \
                *yi = beta == 0 ? alpha * sum : alpha * sum + beta * *yi;                     \
            }                                                                                 \
            i += rows;                                                                        \
        }                                                                                     \
    }

/* The axpy form walks k in chunks of GEMV_AXPY_ROWS rows and, per chunk, every block of
 * NV vectors of up to GEMV_AXPY_SPAN outputs, its partial sums parked in `part` between
 * chunks (a store and a load: exact, so each element is still one chain over p); the
 * chunk's rows of a are then read block after block while they are in L2, where walking
 * all of k per block read a 4096 x 1024 matrix in 1 KB strips (u @ A, 1 thread: 1043 ->
 * 659 us). */
enum { GEMV_AXPY_ROWS = 64, GEMV_AXPY_SPAN = 1024 };
#define GEMV_AXPY(NAME, T, V, S, MASK_T, LANES)                                                \
    __attribute__((target("avx512f"))) static void NAME(int64_t n, int64_t k, const T *x,     \
                                                        int64_t incx, const T *a,             \
                                                        int64_t lda, T alpha, T beta, T *y) { \
        enum { NV = 16, SPAN = GEMV_AXPY_SPAN };                                              \
        _Alignas(64) T part[SPAN];                                                            \
        for (int64_t s0 = 0; s0 < n; s0 += SPAN) {                                            \
            int64_t span = n - s0 < SPAN ? n - s0 : SPAN;                                     \
            for (int64_t p0 = 0; p0 < k; p0 += GEMV_AXPY_ROWS) {                              \
                int64_t p1 = k - p0 < GEMV_AXPY_ROWS ? k : p0 + GEMV_AXPY_ROWS;               \
                for (int64_t j0 = 0; j0 < span; j0 += NV * LANES) {                           \
                    int64_t cols = span - j0 < NV * LANES ? span - j0 : NV * LANES;           \
                    int nv = (int)((cols + LANES - 1) / LANES);                               \
                    MASK_T last = (MASK_T)(cols % LANES ? (1u << (cols % LANES)) - 1          \
                                                        : (MASK_T)~0u);                       \
                    V acc[NV];                                                                \
                    for (int v = 0; v < NV; v++)                                              \
                        acc[v] = p0 == 0 || v >= nv ? _mm512_setzero_##S()                    \
                                                    : _mm512_load_##S(part + j0 + v * LANES); \
                    const T *ap = a + p0 * lda + s0 + j0;                                     \
                    if (nv == NV && last == (MASK_T)~0u) {                                    \
                        for (int64_t p = p0; p < p1; p++, ap += lda) {                        \
                            V xv = _mm512_set1_##S(x[p * incx]);                              \
                            _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[v] =    \
                                _mm512_fmadd_##S(_mm512_loadu_##S(ap + v * LANES), xv,        \
                                                 acc[v]);                                     \
                        }                                                                     \
                    } else {                                                                  \
                        for (int64_t p = p0; p < p1; p++, ap += lda) {                        \
                            V xv = _mm512_set1_##S(x[p * incx]);                              \
                            for (int v = 0; v < nv; v++)                                      \
                                acc[v] = _mm512_fmadd_##S(                                    \
                                    _mm512_maskz_loadu_##S(v < nv - 1 ? (MASK_T)~0u : last,   \
                                                           ap + v * LANES),                   \
                                    xv, acc[v]);                                              \
                        }                                                                     \
                    }                                                                         \
                    for (int v = 0; v < nv; v++)                                              \
                        _mm512_store_##S(part + j0 + v * LANES, acc[v]);                      \
                }                                                                             \
            }                                                                                 \
            V va = _mm512_set1_##S(alpha), vb = _mm512_set1_##S(beta);                        \
            for (int64_t j = 0; j < span; j += LANES) {                                       \
                MASK_T mask = (MASK_T)(span - j >= LANES ? (MASK_T)~0u                        \
                                                         : (1u << (span - j)) - 1);           \
                T *yp = y + s0 + j;                                                           \
                V r = _mm512_mul_##S(va, _mm512_maskz_load_##S(mask, part + j));              \
                if (beta != 0)                                                                \
                    r = _mm512_fmadd_##S(vb, _mm512_maskz_loadu_##S(mask, yp), r);            \
                _mm512_mask_storeu_##S(yp, mask, r);                                          \
            }                                                                                 \
        }                                                                                     \
    }

GEMV_DOT(sgemv_avx512_dot, float, __m512, ps, __mmask16, 16)
GEMV_DOT(dgemv_avx512_dot, double, __m512d, pd, __mmask8, 8)
GEMV_AXPY(sgemv_avx512_axpy, float, __m512, ps, __mmask16, 16)
GEMV_AXPY(dgemv_avx512_axpy, double, __m512d, pd, __mmask8, 8)

const struct pa_gemm_isa_kernels pa_gemm_avx512_kernels = {
    .isa = "avx512",
    .f32 = {.name = "sgemm_avx512_8x32", .mr = 8, .nr = 32, .kc = 384, .mc = 384, .nc = 4096,
            .full.s = sgemm_avx512_8x32, .narrow.s = sgemm_avx512_8x16,
            .strided_full.s = sgemm_avx512_8x32_strided,
            .strided_narrow.s = sgemm_avx512_8x16_strided,
            .b_rows_full.s = sgemm_avx512_8x32_b_rows, .b_rows_narrow.s = sgemm_avx512_8x16_b_rows,
            .pack_transposed = pa_gemm_pack_transposed_f32_avx2,
            .thin.s = sgemm_avx512_thin, .thin_max_n = 16,
            .gemv_dot.s = sgemv_avx512_dot, .gemv_axpy.s = sgemv_avx512_axpy},
    .f64 = {.name = "dgemm_avx512_8x16", .mr = 8, .nr = 16, .kc = 384, .mc = 128, .nc = 4096,
            .full.d = dgemm_avx512_8x16, .narrow.d = dgemm_avx512_8x8,
            .strided_full.d = dgemm_avx512_8x16_strided,
            .strided_narrow.d = dgemm_avx512_8x8_strided,
            .b_rows_full.d = dgemm_avx512_8x16_b_rows, .b_rows_narrow.d = dgemm_avx512_8x8_b_rows,
            .pack_transposed = pa_gemm_pack_transposed_f64_avx2,
            .thin.d = dgemm_avx512_thin, .thin_max_n = 8,
            .gemv_dot.d = dgemv_avx512_dot, .gemv_axpy.d = dgemv_avx512_axpy},
};
#endif
