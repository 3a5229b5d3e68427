/* GEMM kernels: raw pointers and strides, no tensors, no graph, no error strings.
 *
 * Row-major convention.  C (M x N, leading dimension ldc) is overwritten with
 *     C = alpha * op(A) @ op(B) + beta * C
 * where op(A) is M x K and op(B) is K x N.  When trans_a == 0, A is stored M x K with
 * leading dimension lda (element (i, k) at A[i*lda + k]); when trans_a != 0, A is stored
 * K x M (element (i, k) of op(A) at A[k*lda + i]).  Likewise for B.
 *
 * Contract:
 *  - any M, N, K >= 0 (M or N == 0: nothing happens; K == 0: C = beta * C);
 *  - when beta == 0, C is never read (it may hold NaN or garbage);
 *  - the result is bit-identical for any thread count (the K sum is never split
 *    across threads);
 *  - the caller has validated every size and leading dimension.
 */
#ifndef PA_KERNELS_GEMM_H
#define PA_KERNELS_GEMM_H

#include <stdint.h>

void pa_kernel_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc);

void pa_kernel_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     double alpha, const double *a, int64_t lda,
                     const double *b, int64_t ldb,
                     double beta, double *c, int64_t ldc);

/* Instruction-set selection for the micro-kernels.  PA_ISA_AUTO picks the best the CPU
 * supports (also the initial state, unless the environment variable PYAUTODIFF_ISA is
 * set to "avx512", "avx2" or "generic").  Returns 0, or -1 if the CPU lacks that ISA. */
enum { PA_ISA_AUTO = -1, PA_ISA_GENERIC = 0, PA_ISA_AVX2 = 1, PA_ISA_AVX512 = 2 };
int pa_kernel_gemm_set_isa(int isa);
int pa_kernel_gemm_get_isa(void);

#endif
