/* Out-of-place transpose of a matrix of 4- or 8-byte elements (bits are moved, never
 * converted): the copy behind .contiguous() of a transposed or permuted view.
 *
 *     dst[r * ldd + c] = src[c * lds + r]     for r < rows, c < cols
 *
 * i.e. dst (rows x cols, row stride ldd) is the transpose of src (cols x rows, row
 * stride lds).  The caller has checked sizes and that the two do not overlap. */
#ifndef PA_KERNELS_TRANSPOSE_H
#define PA_KERNELS_TRANSPOSE_H

#include <stddef.h>
#include <stdint.h>

void pa_kernel_transpose(size_t es, int64_t rows, int64_t cols, const void *src, int64_t lds,
                         void *dst, int64_t ldd);

#endif
