/* OpenMP scaling of the GEMM: GFLOP/s of pa_gemm (float32 and float64) for squares and
 * the MLP's batch-1024 shapes at 1, 2, 4, ... threads, best of several runs.  A C
 * program, so that it runs on a machine with no Python packages:
 *
 *   gcc -O3 -std=gnu11 -fopenmp -static -Icsrc/include -Icsrc benchmarks/gemm_scaling.c \
 *       csrc/*.c csrc/ops/*.c csrc/kernels/*.c -lm -o gemm_scaling
 *   ./gemm_scaling 16            # thread counts 1, 2, 4, 8, 16
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pyautodiff.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void set(char *p, size_t es, int64_t i, double v) {
    if (es == 4) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

static double gflops(int dtype, int64_t m, int64_t k, int64_t n) {
    size_t es = dtype == PA_FLOAT32 ? 4 : 8;
    char *a = malloc((size_t)(m * k) * es), *b = malloc((size_t)(k * n) * es);
    char *c = malloc((size_t)(m * n) * es);
    for (int64_t i = 0; i < m * k; i++) set(a, es, i, (double)(i % 61) / 61 - 0.5);
    for (int64_t i = 0; i < k * n; i++) set(b, es, i, (double)(i % 59) / 59 - 0.5);
    double flop = 2.0 * (double)m * (double)n * (double)k, best = 1e30;
    int reps = (int)(2e9 / flop) + 1;
    for (int round = 0; round < 5; round++) {
        double t = now();
        for (int r = 0; r < reps; r++)
            pa_gemm(dtype, 0, 0, m, n, k, 1.0, a, k, m * k, b, n, k * n, 0.0, c, n, m * n);
        t = (now() - t) / reps;
        if (t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    return flop / best / 1e9;
}

int main(int argc, char **argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : 2;
    static const int64_t shapes[][3] = {{512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
                                        {1024, 784, 128}, {1024, 128, 784}, {4096, 784, 128}};
    printf("GEMM ISA %d (2 avx512, 1 avx2, 0 generic)\n", pa_get_gemm_isa());
    printf("%-8s %-16s", "dtype", "M x K x N");
    for (int t = 1; t <= max_threads; t *= 2) printf(" %7d thr", t);
    printf("   speedup\n");
    for (int dtype = PA_FLOAT32; dtype <= PA_FLOAT64; dtype++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t *sh = shapes[s];
            char label[32];
            snprintf(label, sizeof label, "%lldx%lldx%lld", (long long)sh[0], (long long)sh[1],
                     (long long)sh[2]);
            printf("%-8s %-16s", dtype == PA_FLOAT32 ? "float32" : "float64", label);
            double first = 0, last = 0;
            for (int t = 1; t <= max_threads; t *= 2) {
                pa_set_num_threads(t);
                last = gflops(dtype, sh[0], sh[1], sh[2]);
                if (t == 1) first = last;
                printf(" %11.1f", last);
                fflush(stdout);
            }
            printf("   %6.2fx\n", last / first);
        }
    return 0;
}
