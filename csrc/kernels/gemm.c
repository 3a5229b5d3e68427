#include "gemm.h"
#define NAIVE_GEMM(NAME, T)                                                          \
    void NAME(int ta, int tb, int64_t m, int64_t n, int64_t k, T alpha, const T *a,  \
              int64_t lda, const T *b, int64_t ldb, T beta, T *c, int64_t ldc) {     \
        _Pragma("omp parallel for if (m * n * k > 100000)")                          \
        for (int64_t i = 0; i < m; i++)                                              \
            for (int64_t j = 0; j < n; j++) {                                        \
                T s = 0;                                                             \
                for (int64_t p = 0; p < k; p++)                                      \
                    s += (ta ? a[p * lda + i] : a[i * lda + p]) *                    \
                         (tb ? b[j * ldb + p] : b[p * ldb + j]);                     \
                c[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j]; \
            }                                                                        \
    }
NAIVE_GEMM(pa_kernel_sgemm, float)
NAIVE_GEMM(pa_kernel_dgemm, double)
int pa_kernel_gemm_set_isa(int isa) { return isa == PA_ISA_GENERIC || isa == PA_ISA_AUTO ? 0 : -1; }
int pa_kernel_gemm_get_isa(void) { return PA_ISA_GENERIC; }
