/* How many OpenMP threads a kernel may use.  Kernels ask here instead of calling
 * omp_get_max_threads(): the count set by pa_set_num_threads() is process-wide, while
 * OpenMP's own setting is per calling thread. */
#ifndef PA_KERNELS_PARALLEL_H
#define PA_KERNELS_PARALLEL_H

#include <stdint.h>

int pa_kernel_max_threads(void);

/* Threads worth using for `work` units of roughly one flop/element each: 1 below the
 * threshold, growing with the work, never above pa_kernel_max_threads(). */
int pa_kernel_threads_for(int64_t work, int64_t work_per_thread);

#endif
