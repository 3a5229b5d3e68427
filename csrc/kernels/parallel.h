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

/* The `for` statement given as the last argument, split statically over NT threads; with
 * one thread it runs directly.  NOTE: an OpenMP region with an if(0) clause still costs
 * ~240 ns (measured on the development machine), which a small op would pay every call.
 * The loop is compiled twice, once in each branch. */
#define PA_PRAGMA(x) _Pragma(#x)
#define PA_PARALLEL_FOR(NT, ...)                                                           \
    do {                                                                                   \
        if ((NT) > 1) {                                                                    \
            PA_PRAGMA(omp parallel for num_threads(NT) schedule(static))                   \
            __VA_ARGS__                                                                    \
        } else {                                                                           \
            __VA_ARGS__                                                                    \
        }                                                                                  \
    } while (0)
/* The same for two perfectly nested loops (collapse(2)). */
#define PA_PARALLEL_FOR2(NT, ...)                                                          \
    do {                                                                                   \
        if ((NT) > 1) {                                                                    \
            PA_PRAGMA(omp parallel for num_threads(NT) schedule(static) collapse(2))       \
            __VA_ARGS__                                                                    \
        } else {                                                                           \
            __VA_ARGS__                                                                    \
        }                                                                                  \
    } while (0)

#endif
