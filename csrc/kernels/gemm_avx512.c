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

const struct pa_gemm_isa_kernels pa_gemm_avx512_kernels = {
    .isa = "avx512",
    .f32 = {.name = "sgemm_avx512_8x32", .mr = 8, .nr = 32, .kc = 384, .mc = 384, .nc = 4096,
            .full.s = sgemm_avx512_8x32, .narrow.s = sgemm_avx512_8x16,
            .strided_full.s = sgemm_avx512_8x32_strided,
            .strided_narrow.s = sgemm_avx512_8x16_strided,
            .b_rows_full.s = sgemm_avx512_8x32_b_rows, .b_rows_narrow.s = sgemm_avx512_8x16_b_rows,
            .pack_transposed = pa_gemm_pack_transposed_f32_avx2,
            .thin.s = sgemm_avx512_thin, .thin_max_n = 16},
    .f64 = {.name = "dgemm_avx512_8x16", .mr = 8, .nr = 16, .kc = 384, .mc = 128, .nc = 4096,
            .full.d = dgemm_avx512_8x16, .narrow.d = dgemm_avx512_8x8,
            .strided_full.d = dgemm_avx512_8x16_strided,
            .strided_narrow.d = dgemm_avx512_8x8_strided,
            .b_rows_full.d = dgemm_avx512_8x16_b_rows, .b_rows_narrow.d = dgemm_avx512_8x8_b_rows,
            .pack_transposed = pa_gemm_pack_transposed_f64_avx2,
            .thin.d = dgemm_avx512_thin, .thin_max_n = 8},
};
#endif
