/* AVX2+FMA micro-kernels (contract in gemm_internal.h) and the SIMD transposing packs
 * used by both the AVX2 and the AVX-512 kernel sets.
 *
 * NOTE: tile shapes from the register budget, 16 ymm: MR = 6 rows of 2 vectors is 12
 * accumulators, 2 op(B) vectors and a broadcast, the classic Haswell shape.  Block
 * sizes: kc = 256 keeps the op(B) micro-panel (16 KiB) in a 32-48 KiB L1; mc x kc of
 * op(A) is 144 KiB, a fraction of any L2 since AVX2 parts.  kc = 384 and twice the mc
 * measured the same on the development machine. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "gemm_internal.h"

PA_GEMM_SIMD_UKERNEL(sgemm_avx2_6x16, "avx2,fma", float, __m256, _mm256, ps, 6, 2)
PA_GEMM_SIMD_UKERNEL(sgemm_avx2_6x8, "avx2,fma", float, __m256, _mm256, ps, 6, 1)
PA_GEMM_SIMD_UKERNEL(dgemm_avx2_6x8, "avx2,fma", double, __m256d, _mm256, pd, 6, 2)
PA_GEMM_SIMD_UKERNEL(dgemm_avx2_6x4, "avx2,fma", double, __m256d, _mm256, pd, 6, 1)
PA_GEMM_SIMD_UKERNEL_STRIDED(sgemm_avx2_6x16_strided, "avx2,fma", float, __m256, _mm256, ps, 6, 2)
PA_GEMM_SIMD_UKERNEL_STRIDED(sgemm_avx2_6x8_strided, "avx2,fma", float, __m256, _mm256, ps, 6, 1)
PA_GEMM_SIMD_UKERNEL_STRIDED(dgemm_avx2_6x8_strided, "avx2,fma", double, __m256d, _mm256, pd, 6, 2)
PA_GEMM_SIMD_UKERNEL_STRIDED(dgemm_avx2_6x4_strided, "avx2,fma", double, __m256d, _mm256, pd, 6, 1)

/* Transposes: dst[p * ldd + r] = src[r * ld + p].  Blocks of 8 rows x 8 columns
 * (float) or 4 x 4 (double) are transposed in registers; remaining rows and columns go
 * element by element. */
__attribute__((target("avx2"), always_inline)) static inline void transpose_8x8_f32(const float *src, int64_t ld,
                                                               float *dst, int64_t ldd) {
    __m256 t[8], u[8];
    for (int q = 0; q < 4; q++) {
        /* row q in the low lane, row q + 4 in the high lane; columns 0-3, then 4-7 */
        t[q] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(src + q * ld)),
                                    _mm_loadu_ps(src + (q + 4) * ld), 1);
        t[q + 4] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(src + q * ld + 4)),
                                        _mm_loadu_ps(src + (q + 4) * ld + 4), 1);
    }
    for (int h = 0; h < 8; h += 4) {
        __m256 lo01 = _mm256_unpacklo_ps(t[h], t[h + 1]), hi01 = _mm256_unpackhi_ps(t[h], t[h + 1]);
        __m256 lo23 = _mm256_unpacklo_ps(t[h + 2], t[h + 3]);
        __m256 hi23 = _mm256_unpackhi_ps(t[h + 2], t[h + 3]);
        u[h] = _mm256_shuffle_ps(lo01, lo23, 0x44);
        u[h + 1] = _mm256_shuffle_ps(lo01, lo23, 0xEE);
        u[h + 2] = _mm256_shuffle_ps(hi01, hi23, 0x44);
        u[h + 3] = _mm256_shuffle_ps(hi01, hi23, 0xEE);
    }
    for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + q * ldd, u[q]);
}

__attribute__((target("avx2"), always_inline)) static inline void transpose_4x4_f64(const double *src, int64_t ld,
                                                               double *dst, int64_t ldd) {
    __m256d t[4];
    for (int q = 0; q < 2; q++) {
        /* row q in the low lane, row q + 2 in the high lane; columns 0-1, then 2-3 */
        t[q] = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(src + q * ld)),
                                    _mm_loadu_pd(src + (q + 2) * ld), 1);
        t[q + 2] = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(src + q * ld + 2)),
                                        _mm_loadu_pd(src + (q + 2) * ld + 2), 1);
    }
    _mm256_storeu_pd(dst, _mm256_unpacklo_pd(t[0], t[1]));
    _mm256_storeu_pd(dst + ldd, _mm256_unpackhi_pd(t[0], t[1]));
    _mm256_storeu_pd(dst + 2 * ldd, _mm256_unpacklo_pd(t[2], t[3]));
    _mm256_storeu_pd(dst + 3 * ldd, _mm256_unpackhi_pd(t[2], t[3]));
}

/* dst[p * ldd + r] = src[r * ld + p] for r < rows, p < kc (transpose.h); the packs are
 * the case ldd == rows. */
#define TRANSPOSE_AVX2(NAME, T, BLOCK, TRANSPOSE_BLOCK)                                    \
    __attribute__((target("avx2"))) void NAME(int64_t rows, int64_t kc, const void *src_, \
                                              int64_t ld, void *dst_, int64_t ldd) {       \
        const T *src = src_;                                                               \
        T *dst = dst_;                                                                     \
        int64_t kc_blocked = kc - kc % (BLOCK), r = 0;                                     \
        for (; r + (BLOCK) <= rows; r += (BLOCK))                                          \
            for (int64_t p = 0; p < kc_blocked; p += (BLOCK))                              \
                TRANSPOSE_BLOCK(src + r * ld + p, ld, dst + p * ldd + r, ldd);             \
        for (; r < rows; r++)                                                              \
            for (int64_t p = 0; p < kc_blocked; p++) dst[p * ldd + r] = src[r * ld + p];   \
        for (int64_t p = kc_blocked; p < kc; p++)                                          \
            for (r = 0; r < rows; r++) dst[p * ldd + r] = src[r * ld + p];                 \
    }

TRANSPOSE_AVX2(pa_transpose_f32_avx2, float, 8, transpose_8x8_f32)
TRANSPOSE_AVX2(pa_transpose_f64_avx2, double, 4, transpose_4x4_f64)

void pa_gemm_pack_transposed_f32_avx2(int64_t rows, int64_t kc, const void *src, int64_t ld,
                                      void *dst) {
    pa_transpose_f32_avx2(rows, kc, src, ld, dst, rows);
}

void pa_gemm_pack_transposed_f64_avx2(int64_t rows, int64_t kc, const void *src, int64_t ld,
                                      void *dst) {
    pa_transpose_f64_avx2(rows, kc, src, ld, dst, rows);
}

const struct pa_gemm_isa_kernels pa_gemm_avx2_kernels = {
    .isa = "avx2",
    .f32 = {.name = "sgemm_avx2_6x16", .mr = 6, .nr = 16, .kc = 256, .mc = 144, .nc = 4096,
            .full.s = sgemm_avx2_6x16, .narrow.s = sgemm_avx2_6x8,
            .strided_full.s = sgemm_avx2_6x16_strided, .strided_narrow.s = sgemm_avx2_6x8_strided,
            .pack_transposed = pa_gemm_pack_transposed_f32_avx2},
    .f64 = {.name = "dgemm_avx2_6x8", .mr = 6, .nr = 8, .kc = 256, .mc = 72, .nc = 4096,
            .full.d = dgemm_avx2_6x8, .narrow.d = dgemm_avx2_6x4,
            .strided_full.d = dgemm_avx2_6x8_strided, .strided_narrow.d = dgemm_avx2_6x4_strided,
            .pack_transposed = pa_gemm_pack_transposed_f64_avx2},
};
#endif
