/* GEMM internals shared by the driver (gemm.c) and the micro-kernel files
 * (gemm_generic.c, gemm_avx2.c, gemm_avx512.c).
 *
 * The driver follows BLIS: loops over NC x KC blocks of op(B) and MC x KC blocks of
 * op(A), both packed into contiguous, 64-byte aligned micro-panels, and a macro-kernel
 * that walks the MR x NR tiles of C and calls a micro-kernel on each.
 *
 * Micro-kernel contract (one per ISA, dtype and tile shape; named <s|d>gemm_<isa>_<MR>x<NR>):
 *
 *     void kernel(int64_t kc, const T *a, const T *b, T alpha, T beta, T *c, int64_t ldc);
 *
 *  - `a` is a packed micro-panel of op(A): MR rows by kc columns, stored column by
 *    column, element (i, p) at a[p * MR + i].
 *  - `b` is a packed micro-panel of op(B): kc rows by NR columns, stored row by row,
 *    element (p, j) at b[p * NR + j].
 *  - Both panels are 64-byte aligned; kc >= 0 (kc == 0 gives C = beta * C).
 *  - C is the full MR x NR tile, row-major with row stride ldc (any alignment):
 *        C[i*ldc + j] = alpha * sum_p a(i, p) * b(p, j) + beta * C[i*ldc + j]
 *    and when beta == 0 the tile is written without being read.
 *  - The sum runs over p in increasing order, and each element of C is computed by the
 *    same sequence of operations wherever it sits in the tile.  That is what makes the
 *    result independent of how the driver splits C among threads.
 *  - Only full tiles: the driver sends partial (edge) tiles through a small MR x NR
 *    temporary and copies the valid part back.
 *
 * A kernel set may also have a narrow kernel, MR x NR/2, that the driver uses for the
 * last columns when at most NR/2 remain (it halves the wasted work on thin outputs such
 * as N = 10).
 *
 * And it may have strided variants of both, which read op(A) where it lies instead of
 * from a packed panel:
 *
 *     void kernel(int64_t kc, const T *a, int64_t a_rs, int64_t a_cs, const T *b, ...);
 *
 * with a(i, p) at a[i * a_rs + p * a_cs] and otherwise the same contract.  The driver
 * uses them when op(B) is a single micro-panel wide, so that each element of op(A) is
 * used once and packing it would only add a copy.
 *
 * And b_rows variants, which read a row-major op(B) where it lies (packed op(A)):
 *
 *     void kernel(int64_t kc, const T *a, const T *b, int64_t ldb, ...);
 *
 * with b(p, j) at b[p * ldb + j], any alignment and any ldb (unaligned loads); the
 * driver uses them when few row tiles reuse each op(B) panel (a weight gradient g^T @ x)
 * and op(B) is 64-byte aligned with ldb a multiple of 64 bytes, or small (gemm.c).
 */
#ifndef PA_KERNELS_GEMM_INTERNAL_H
#define PA_KERNELS_GEMM_INTERNAL_H

#include <stdint.h>

typedef void pa_sgemm_ukernel(int64_t kc, const float *a, const float *b, float alpha,
                              float beta, float *c, int64_t ldc);
typedef void pa_dgemm_ukernel(int64_t kc, const double *a, const double *b, double alpha,
                              double beta, double *c, int64_t ldc);
typedef void pa_sgemm_ukernel_strided(int64_t kc, const float *a, int64_t a_rs, int64_t a_cs,
                                      const float *b, float alpha, float beta, float *c,
                                      int64_t ldc);
typedef void pa_dgemm_ukernel_strided(int64_t kc, const double *a, int64_t a_rs,
                                      int64_t a_cs, const double *b, double alpha,
                                      double beta, double *c, int64_t ldc);
typedef void pa_sgemm_ukernel_b_rows(int64_t kc, const float *a, const float *b, int64_t ldb,
                                     float alpha, float beta, float *c, int64_t ldc);
typedef void pa_dgemm_ukernel_b_rows(int64_t kc, const double *a, const double *b,
                                     int64_t ldb, double alpha, double beta, double *c,
                                     int64_t ldc);

/* Thin products (optional, per kernel set): C = alpha * op(A) @ op(B) + beta * C for
 * 1 <= n <= THIN_MAX_N (one vector of lanes) and k >= 1, with op(A) read in place
 * (a(i, p) at a[i * a_rs + p * a_cs]) and op(B) row-major (b(p, j) at b[p * ldb + j]).
 * No packing and no edge tiles: op(B) rows are loaded and C is written under a lane
 * mask.  Each element of C is one multiply-add chain over p in increasing order,
 * whatever rows are computed together, so any split of the rows among threads gives
 * the same bits.  When beta == 0, C is not read. */
typedef void pa_sgemm_thin_fn(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs,
                              int64_t a_cs, const float *b, int64_t ldb, float alpha,
                              float beta, float *c, int64_t ldc);
typedef void pa_dgemm_thin_fn(int64_t m, int64_t n, int64_t k, const double *a, int64_t a_rs,
                              int64_t a_cs, const double *b, int64_t ldb, double alpha,
                              double beta, double *c, int64_t ldc);

/* Matrix-vector products (optional, per kernel set), for C with one row or one column.
 * Dot form: y[i * incy] = alpha * (sum over p of a[i * lda + p] * x[p]) + beta * y[i * incy]
 * for i < m, rows of a and x contiguous; each row's sum runs over p in lanes and partial
 * sums in a fixed order, whatever rows are computed together.  Axpy form:
 * y[j] = alpha * (sum over p of x[p * incx] * a[p * lda + j]) + beta * y[j] for j < n, a's
 * rows and y contiguous; each element is one multiply-add chain over p in increasing
 * order.  Either way any split of the rows (dot) or columns (axpy) among threads gives
 * the same bits; when beta == 0, y is not read. */
typedef void pa_sgemv_dot_fn(int64_t m, int64_t k, const float *a, int64_t lda,
                             const float *x, float alpha, float beta, float *y, int64_t incy);
typedef void pa_dgemv_dot_fn(int64_t m, int64_t k, const double *a, int64_t lda,
                             const double *x, double alpha, double beta, double *y,
                             int64_t incy);
typedef void pa_sgemv_axpy_fn(int64_t n, int64_t k, const float *x, int64_t incx,
                              const float *a, int64_t lda, float alpha, float beta, float *y);
typedef void pa_dgemv_axpy_fn(int64_t n, int64_t k, const double *x, int64_t incx,
                              const double *a, int64_t lda, double alpha, double beta,
                              double *y);

/* Transposing pack of one full panel: dst[p * rows + r] = src[r * ld + p] for r < rows,
 * p < kc.  Elements are 4 or 8 bytes (the function knows which); only bits are moved. */
typedef void pa_gemm_pack_transposed_fn(int64_t rows, int64_t kc, const void *src,
                                        int64_t ld, void *dst);

/* One dtype's kernels on one ISA, with the block sizes tuned for them (in elements):
 * kc for the L1-resident op(B) micro-panel (kc x NR), mc for the L2-resident packed
 * op(A) block (mc x kc), nc for the packed op(B) block (kc x nc).  mc is a multiple of
 * mr and nc of nr. */
struct pa_gemm_kernels {
    const char *name;            /* the full kernel's name, e.g. "sgemm_avx512_8x32" */
    int mr, nr;
    int kc, mc, nc;
    union {
        pa_sgemm_ukernel *s;
        pa_dgemm_ukernel *d;
    } full, narrow;              /* narrow.s / narrow.d may be NULL */
    union {
        pa_sgemm_ukernel_strided *s;
        pa_dgemm_ukernel_strided *d;
    } strided_full, strided_narrow;  /* NULL, or both when narrow is there */
    union {
        pa_sgemm_ukernel_b_rows *s;
        pa_dgemm_ukernel_b_rows *d;
    } b_rows_full, b_rows_narrow;    /* NULL, or both when narrow is there */
    pa_gemm_pack_transposed_fn *pack_transposed;   /* NULL: the driver's scalar pack */
    union {
        pa_sgemm_thin_fn *s;
        pa_dgemm_thin_fn *d;
    } thin;                      /* NULL, or the thin-product kernel for n <= thin_max_n */
    int thin_max_n;
    union {
        pa_sgemv_dot_fn *s;
        pa_dgemv_dot_fn *d;
    } gemv_dot;                  /* NULL, or both matrix-vector kernels */
    union {
        pa_sgemv_axpy_fn *s;
        pa_dgemv_axpy_fn *d;
    } gemv_axpy;
};

struct pa_gemm_isa_kernels {
    const char *isa;
    struct pa_gemm_kernels f32, f64;
};

extern const struct pa_gemm_isa_kernels pa_gemm_generic_kernels;
extern const struct pa_gemm_isa_kernels pa_gemm_avx2_kernels;
extern const struct pa_gemm_isa_kernels pa_gemm_avx512_kernels;

/* AVX2 transposing packs (gemm_avx2.c), shared by the AVX2 and AVX-512 kernel sets. */
void pa_gemm_pack_transposed_f32_avx2(int64_t rows, int64_t kc, const void *src,
                                      int64_t ld, void *dst);
void pa_gemm_pack_transposed_f64_avx2(int64_t rows, int64_t kc, const void *src,
                                      int64_t ld, void *dst);

/* Largest MR * NR * sizeof(T) of any kernel set: the driver's edge-tile temporary. */
enum { PA_GEMM_MAX_TILE_BYTES = 4096 };

/* Generator for the SIMD micro-kernels, expanded in the ISA files (which include
 * <immintrin.h>).  PFX is the intrinsic family (_mm256, _mm512), V its vector type, S
 * the element suffix (ps, pd), TARGET the gcc target string, NV the vectors per tile
 * row: the tile is MR x (NV * lanes).  Each row of the tile lives in NV accumulators;
 * per step p, the NV vectors of the op(B) row are loaded once and every a(i, p) is
 * broadcast against them.  The packed kernel reads a(i, p) at a[p * MR + i]; the
 * strided one at a[i * a_rs + p * a_cs]. */
#define PA_GEMM_SIMD_UKERNEL(NAME, TARGET, T, V, PFX, S, MR, NV)                             \
    PA_GEMM_SIMD_UKERNEL_IMPL(NAME, TARGET, T, V, PFX, S, MR, NV, PA_GEMM_A_PACKED_PARAMS,    \
                              PA_GEMM_A_PACKED_STRIDES, PA_GEMM_B_PACKED_PARAMS,              \
                              PA_GEMM_B_PACKED_STRIDE, load)
#define PA_GEMM_SIMD_UKERNEL_STRIDED(NAME, TARGET, T, V, PFX, S, MR, NV)                     \
    PA_GEMM_SIMD_UKERNEL_IMPL(NAME, TARGET, T, V, PFX, S, MR, NV, PA_GEMM_A_STRIDED_PARAMS,   \
                              PA_GEMM_A_STRIDED_STRIDES, PA_GEMM_B_PACKED_PARAMS,             \
                              PA_GEMM_B_PACKED_STRIDE, load)
#define PA_GEMM_SIMD_UKERNEL_B_ROWS(NAME, TARGET, T, V, PFX, S, MR, NV)                      \
    PA_GEMM_SIMD_UKERNEL_IMPL(NAME, TARGET, T, V, PFX, S, MR, NV, PA_GEMM_A_PACKED_PARAMS,    \
                              PA_GEMM_A_PACKED_STRIDES, PA_GEMM_B_ROWS_PARAMS,                \
                              PA_GEMM_B_ROWS_STRIDE, loadu)
#define PA_GEMM_A_PACKED_PARAMS
#define PA_GEMM_A_PACKED_STRIDES(MR) const int64_t a_rs = 1, a_cs = (MR);
#define PA_GEMM_A_STRIDED_PARAMS int64_t a_rs, int64_t a_cs,
#define PA_GEMM_A_STRIDED_STRIDES(MR)
#define PA_GEMM_B_PACKED_PARAMS
#define PA_GEMM_B_PACKED_STRIDE(NR) const int64_t ldb = (NR);
#define PA_GEMM_B_ROWS_PARAMS int64_t ldb,
#define PA_GEMM_B_ROWS_STRIDE(NR)

#define PA_GEMM_SIMD_UKERNEL_IMPL(NAME, TARGET, T, V, PFX, S, MR, NV, A_PARAMS, A_STRIDES,  \
                                  B_PARAMS, B_STRIDE, B_LOAD)                               \
    __attribute__((target(TARGET))) static void NAME(int64_t kc, const T *restrict a,       \
                                                     A_PARAMS const T *restrict b,          \
                                                     B_PARAMS T alpha, T beta,              \
                                                     T *restrict c, int64_t ldc) {          \
        enum { LANES = sizeof(V) / sizeof(T), NR = (NV) * LANES };                          \
        A_STRIDES(MR)                                                                       \
        B_STRIDE(NR)                                                                        \
        V acc[MR][NV];                                                                      \
        _Pragma("GCC unroll 16") for (int i = 0; i < (MR); i++) {                           \
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);                         \
            _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);                \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) acc[i][v] =              \
                PFX##_setzero_##S();                                                        \
        }                                                                                   \
        _Pragma("GCC unroll 4") for (int64_t p = 0; p < kc; p++) {                          \
            V bv[NV];                                                                       \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) bv[v] =                  \
                PFX##_##B_LOAD##_##S(b + v * LANES);                                        \
            _Pragma("GCC unroll 16") for (int i = 0; i < (MR); i++) {                       \
                V ai = PFX##_set1_##S(a[i * a_rs]);                                         \
                _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) acc[i][v] =          \
                    PFX##_fmadd_##S(ai, bv[v], acc[i][v]);                                  \
            }                                                                               \
            a += a_cs;                                                                      \
            b += ldb;                                                                       \
        }                                                                                   \
        V va = PFX##_set1_##S(alpha);                                                       \
        if (beta == 0) {                                                                    \
            _Pragma("GCC unroll 16") for (int i = 0; i < (MR); i++)                         \
                _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)                      \
                    PFX##_storeu_##S(c + i * ldc + v * LANES, PFX##_mul_##S(va, acc[i][v]));\
        } else {                                                                            \
            V vb = PFX##_set1_##S(beta);                                                    \
            _Pragma("GCC unroll 16") for (int i = 0; i < (MR); i++)                         \
                _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) {                    \
                T *cp = c + i * ldc + v * LANES;                                            \
                PFX##_storeu_##S(cp, PFX##_fmadd_##S(va, acc[i][v],                         \
                                                     PFX##_mul_##S(vb, PFX##_loadu_##S(cp))));\
            }                                                                               \
        }                                                                                   \
    }

#endif
