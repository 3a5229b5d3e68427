/* The process-wide thread count used by every parallel kernel, and the flush of
 * subnormal floats. */
#include <omp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "internal.h"
#include "kernels/parallel.h"

static int num_threads;  /* 0 until first use: then OpenMP's default (OMP_NUM_THREADS) */

static int flush_denormal;  /* the last pa_set_flush_denormal mode */

void pa_set_num_threads(int n) {
    num_threads = n < 1 ? 1 : n;
    if (flush_denormal) pa_set_flush_denormal(1);  /* workers new to the team get it too */
}

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

/* NOTE: a second thread for loops of 64K elements or more (32K each).  Measured, 2
 * threads, AMD EPYC (Zen 4), best of 2000: at 1e5 float32 elements (one thread with
 * the earlier 64K each) add 14.4 -> 10.2 us, relu 9.7 -> 7.1, exp 30.0 -> 20.9, sum
 * 9.8 -> 7.7; at 7e4 add 9.7 -> 7.9, exp 21.1 -> 16.0; from 2e5 up and at 4e4 (one
 * thread either way) the same.  16K each gained nothing more at 4e4-1e5 (exp 12.4 ->
 * 11.3 at 4e4, add slower). */
int pa_threads_for_elements(int64_t n) { return pa_kernel_threads_for(n, 1 << 15); }

/* MXCSR: flush-to-zero (results) and denormals-are-zero (operands). */
enum { MXCSR_FTZ = 1 << 15, MXCSR_DAZ = 1 << 6 };

#if defined(__x86_64__) || defined(__i386__)
static void apply_flush(int on) {
    unsigned csr = _mm_getcsr();
    _mm_setcsr(on ? csr | MXCSR_FTZ | MXCSR_DAZ : csr & ~(unsigned)(MXCSR_FTZ | MXCSR_DAZ));
}
#endif

/* NOTE: MXCSR belongs to each thread.  The mode is set in the calling thread and in every
 * OpenMP worker its kernels may use (a region as wide as any team it could start), so
 * that results never depend on which thread computed an element; threads created later
 * inherit it from the calling thread (C11 7.6).  Other threads keep their own mode, as
 * with torch.set_flush_denormal. */
int pa_set_flush_denormal(int on) {
#if defined(__x86_64__) || defined(__i386__)
    flush_denormal = on != 0;
    apply_flush(flush_denormal);
    int width = pa_get_num_threads();
    if (omp_get_max_threads() > width) width = omp_get_max_threads();
    if (omp_get_num_procs() > width) width = omp_get_num_procs();
#pragma omp parallel num_threads(width)
    apply_flush(flush_denormal);
    return 1;
#else
    (void)on;
    return 0;
#endif
}
