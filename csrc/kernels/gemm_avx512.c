/* AVX-512 micro-kernels (contract in gemm_internal.h).
 *
 * NOTE: tile shapes from the register budget, 32 zmm: an MR x (2 vectors) tile keeps
 * 2*MR accumulators, plus 2 op(B) vectors and a broadcast.  MR = 8 leaves the tile at
 * 16 accumulators, enough to hide the 4-cycle FMA latency on two FMA ports, and divides
 * the batch sizes that dominate here (64, 1024, 784) so few edge tiles are wasted.
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

const struct pa_gemm_isa_kernels pa_gemm_avx512_kernels = {
    .isa = "avx512",
    .f32 = {.name = "sgemm_avx512_8x32", .mr = 8, .nr = 32, .kc = 384, .mc = 384, .nc = 4096,
            .full.s = sgemm_avx512_8x32, .narrow.s = sgemm_avx512_8x16,
            .strided_full.s = sgemm_avx512_8x32_strided,
            .strided_narrow.s = sgemm_avx512_8x16_strided,
            .pack_transposed = pa_gemm_pack_transposed_f32_avx2},
    .f64 = {.name = "dgemm_avx512_8x16", .mr = 8, .nr = 16, .kc = 384, .mc = 128, .nc = 4096,
            .full.d = dgemm_avx512_8x16, .narrow.d = dgemm_avx512_8x8,
            .strided_full.d = dgemm_avx512_8x16_strided,
            .strided_narrow.d = dgemm_avx512_8x8_strided,
            .pack_transposed = pa_gemm_pack_transposed_f64_avx2},
};
#endif
