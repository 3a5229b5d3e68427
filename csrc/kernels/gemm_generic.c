/* Portable reference micro-kernels: plain C, no intrinsics.  They define what the
 * tuned kernels must compute (see the contract in gemm_internal.h) and are the
 * fallback when the CPU has neither AVX2+FMA nor AVX-512. */
#include "gemm_internal.h"

/* A_PARAMS / A_STRIDES as in PA_GEMM_SIMD_UKERNEL_IMPL: packed or strided op(A). */
#define GENERIC_UKERNEL_IMPL(NAME, T, MR, NR, A_PARAMS, A_STRIDES)                              \
    static void NAME(int64_t kc, const T *restrict a, A_PARAMS const T *restrict b,        \
                     T alpha, T beta, T *restrict c, int64_t ldc) {                        \
        A_STRIDES(MR)                                                                      \
        T acc[MR][NR] = {{0}};                                                             \
        for (int64_t p = 0; p < kc; p++, a += a_cs, b += NR)                               \
            for (int i = 0; i < MR; i++)                                                   \
                for (int j = 0; j < NR; j++) acc[i][j] += a[i * a_rs] * b[j];              \
        for (int i = 0; i < MR; i++)                                                       \
            for (int j = 0; j < NR; j++)                                                   \
                c[i * ldc + j] = beta == 0 ? alpha * acc[i][j]                             \
                                           : alpha * acc[i][j] + beta * c[i * ldc + j];    \
    }
#define GENERIC_UKERNEL(NAME, T, MR, NR)                                                   \
    GENERIC_UKERNEL_IMPL(NAME, T, MR, NR, PA_GEMM_A_PACKED_PARAMS, PA_GEMM_A_PACKED_STRIDES)
#define GENERIC_UKERNEL_STRIDED(NAME, T, MR, NR)                                           \
    GENERIC_UKERNEL_IMPL(NAME, T, MR, NR, PA_GEMM_A_STRIDED_PARAMS, PA_GEMM_A_STRIDED_STRIDES)

GENERIC_UKERNEL(sgemm_generic_4x16, float, 4, 16)
GENERIC_UKERNEL(sgemm_generic_4x8, float, 4, 8)
GENERIC_UKERNEL(dgemm_generic_4x8, double, 4, 8)
GENERIC_UKERNEL(dgemm_generic_4x4, double, 4, 4)
GENERIC_UKERNEL_STRIDED(sgemm_generic_4x16_strided, float, 4, 16)
GENERIC_UKERNEL_STRIDED(sgemm_generic_4x8_strided, float, 4, 8)
GENERIC_UKERNEL_STRIDED(dgemm_generic_4x8_strided, double, 4, 8)
GENERIC_UKERNEL_STRIDED(dgemm_generic_4x4_strided, double, 4, 4)

const struct pa_gemm_isa_kernels pa_gemm_generic_kernels = {
    .isa = "generic",
    .f32 = {.name = "sgemm_generic_4x16", .mr = 4, .nr = 16, .kc = 256, .mc = 128,
            .nc = 2048, .full.s = sgemm_generic_4x16, .narrow.s = sgemm_generic_4x8,
            .strided_full.s = sgemm_generic_4x16_strided,
            .strided_narrow.s = sgemm_generic_4x8_strided},
    .f64 = {.name = "dgemm_generic_4x8", .mr = 4, .nr = 8, .kc = 256, .mc = 128,
            .nc = 2048, .full.d = dgemm_generic_4x8, .narrow.d = dgemm_generic_4x4,
            .strided_full.d = dgemm_generic_4x8_strided,
            .strided_narrow.d = dgemm_generic_4x4_strided},
};
