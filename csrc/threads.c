/* The process-wide thread count used by every parallel kernel. */
#include <omp.h>

#include "internal.h"
#include "kernels/parallel.h"

static int num_threads;  /* 0 until first use: then OpenMP's default (OMP_NUM_THREADS) */

void pa_set_num_threads(int n) { num_threads = n < 1 ? 1 : n; }

int pa_get_num_threads(void) {
    if (num_threads == 0) num_threads = omp_get_max_threads();
    return num_threads;
}

int pa_kernel_max_threads(void) { return pa_get_num_threads(); }

int pa_kernel_threads_for(int64_t work, int64_t work_per_thread) {
    int max = pa_get_num_threads();
    if (work_per_thread < 1) work_per_thread = 1;
    int64_t t = work / work_per_thread;
    if (t < 1) return 1;
    return t < max ? (int)t : max;
}

/* NOTE: memory-bound loops gain little from a second thread below ~64K elements, and
 * waking a thread costs several microseconds. */
int pa_threads_for_elements(int64_t n) { return pa_kernel_threads_for(n, 1 << 16); }
