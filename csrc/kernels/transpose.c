/* Blocked out-of-place transpose (contract in transpose.h).
 *
 * NOTE: an element-by-element transpose reads one operand down its columns: every
 * element is a new cache line, and when the row stride is a multiple of 4 KiB all of
 * those lines fall into the same few cache sets.  Measured on the development machine
 * (float32, one thread): 784 x 1024 -> 1024 x 784 took 6.1 ms that way (7.4 ns an
 * element; NumPy's ascontiguousarray of a .T took the same).  Here the matrix is cut
 * into TILE x TILE tiles, each small enough for L1 on both sides, and each tile is
 * transposed in 8 x 8 (float) or 4 x 4 (double) register blocks where AVX2 is there.
 * Tiles are split among threads by rows of tiles; each element is moved once, so the
 * result does not depend on the split. */
#include "transpose.h"

#include "gemm.h"
#include "parallel.h"

enum { TILE = 32 };

#if defined(__x86_64__) || defined(__i386__)
void pa_transpose_f32_avx2(int64_t rows, int64_t kc, const void *src, int64_t ld, void *dst,
                           int64_t ldd);
void pa_transpose_f64_avx2(int64_t rows, int64_t kc, const void *src, int64_t ld, void *dst,
                           int64_t ldd);
#endif

/* dst[p * ldd + r] = src[r * ld + p] for r < rows, p < kc, one element at a time. */
#define TRANSPOSE_SCALAR(NAME, U)                                                          \
    static void NAME(int64_t rows, int64_t kc, const void *src_, int64_t ld, void *dst_,  \
                     int64_t ldd) {                                                        \
        const U *src = src_;                                                               \
        U *dst = dst_;                                                                     \
        for (int64_t r = 0; r < rows; r++)                                                 \
            for (int64_t p = 0; p < kc; p++) dst[p * ldd + r] = src[r * ld + p];           \
    }
TRANSPOSE_SCALAR(transpose_scalar_32, uint32_t)
TRANSPOSE_SCALAR(transpose_scalar_64, uint64_t)

typedef void transpose_fn(int64_t rows, int64_t kc, const void *src, int64_t ld, void *dst,
                          int64_t ldd);

/* The register-block kernels run wherever the GEMM's ISA selection allows AVX2 or better
 * (so PYAUTODIFF_ISA=generic, or pa_set_gemm_isa, also selects the portable loop). */
static transpose_fn *tile_kernel(size_t es) {
#if defined(__x86_64__) || defined(__i386__)
    if (pa_kernel_gemm_get_isa() >= PA_ISA_AVX2)
        return es == 4 ? pa_transpose_f32_avx2 : pa_transpose_f64_avx2;
#endif
    return es == 4 ? transpose_scalar_32 : transpose_scalar_64;
}

void pa_kernel_transpose(size_t es, int64_t rows, int64_t cols, const void *src, int64_t lds,
                         void *dst, int64_t ldd) {
    if (rows <= 0 || cols <= 0) return;
    transpose_fn *kernel = tile_kernel(es);
    const char *s = src;
    char *d = dst;
    int64_t tile_rows = (rows + TILE - 1) / TILE;
    int nt = pa_kernel_threads_for(rows * cols, 1 << 16);
    /* tile (i, j): dst rows [i*TILE, +TILE) x cols [j*TILE, +TILE), i.e. src rows
     * [j*TILE, +TILE) (the kernel's "rows") x columns [i*TILE, +TILE) (its "kc") */
    PA_PARALLEL_FOR(nt, for (int64_t i = 0; i < tile_rows; i++) {
        int64_t r0 = i * TILE, nr = rows - r0 < TILE ? rows - r0 : TILE;
        for (int64_t c0 = 0; c0 < cols; c0 += TILE) {
            int64_t nc = cols - c0 < TILE ? cols - c0 : TILE;
            kernel(nc, nr, s + (size_t)(c0 * lds + r0) * es, lds, d + (size_t)(r0 * ldd + c0) * es,
                   ldd);
        }
    });
}
