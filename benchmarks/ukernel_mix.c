/* What caps the float32 AVX-512 GEMM micro-kernel: the instruction mix of one k-step,
 * timed with every operand in L1 (a 32-step loop over 4 KiB of A and 4 KiB of B, run a
 * million times), in fixed assembly so that no compiler choice enters.  GFLOP/s counts
 * the FMAs' flops; "peak" is the register-only loop.  x86-64 with AVX-512F only:
 *
 *   gcc -O2 -mavx512f benchmarks/ukernel_mix.c -o ukernel_mix && ./ukernel_mix
 *
 * Rows (one core):
 *   peak          16 FMAs, no loads
 *   8x32          what sgemm_avx512_8x32 runs per step: 2 vector loads of op(B),
 *                 8 broadcasts of op(A), 16 FMAs
 *   8x32 no bcast the same without the 8 broadcasts
 *   8x32 no B     the same without the 2 vector loads
 *   8x48          3 vector loads, 8 broadcasts, 24 FMAs (24 accumulators)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define S(x) #x
#define LOADB(V, OFF) "vmovaps " S(OFF) "(%[b]), %%zmm" S(V) "\n"
#define BCAST(R, OFF) "vbroadcastss " S(OFF) "(%[a]), %%zmm" S(R) "\n"
#define FMA(B, R, ACC) "vfmadd231ps %%zmm" S(B) ", %%zmm" S(R) ", %%zmm" S(ACC) "\n"
/* row i of an 8-row tile: accumulators 2i, 2i+1 (32 wide) or 3i..3i+2 (48 wide) */
#define ROW2(R, X, Y) FMA(31, R, X) FMA(30, R, Y)
#define ROW3(R, X, Y, Z) FMA(31, R, X) FMA(30, R, Y) FMA(29, R, Z)
#define ROWS2(R)                                                                           \
    ROW2(R, 0, 1) ROW2(R, 2, 3) ROW2(R, 4, 5) ROW2(R, 6, 7) ROW2(R, 8, 9) ROW2(R, 10, 11)  \
    ROW2(R, 12, 13) ROW2(R, 14, 15)
#define BCASTS_ROWS2                                                                       \
    BCAST(28, 0) ROW2(28, 0, 1) BCAST(27, 4) ROW2(27, 2, 3) BCAST(26, 8) ROW2(26, 4, 5)     \
    BCAST(25, 12) ROW2(25, 6, 7) BCAST(28, 16) ROW2(28, 8, 9) BCAST(27, 20)                 \
    ROW2(27, 10, 11) BCAST(26, 24) ROW2(26, 12, 13) BCAST(25, 28) ROW2(25, 14, 15)
#define BCASTS_ROWS3                                                                       \
    BCAST(28, 0) ROW3(28, 0, 1, 2) BCAST(27, 4) ROW3(27, 3, 4, 5) BCAST(26, 8)              \
    ROW3(26, 6, 7, 8) BCAST(25, 12) ROW3(25, 9, 10, 11) BCAST(28, 16) ROW3(28, 12, 13, 14)  \
    BCAST(27, 20) ROW3(27, 15, 16, 17) BCAST(26, 24) ROW3(26, 18, 19, 20) BCAST(25, 28)     \
    ROW3(25, 21, 22, 23)

#define CLOBBERS                                                                            \
    "memory", "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8",      \
        "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17",    \
        "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26",   \
        "zmm27", "zmm28", "zmm29", "zmm30", "zmm31"

/* 32 k-steps per call: a advances 32 bytes (8 floats) and b BSTEP bytes per step. */
#define VARIANT(NAME, BODY, BSTEP)                                                          \
    static void NAME(long reps, const float *a, const float *b) {                          \
        for (long r = 0; r < reps; r++) {                                                   \
            const float *pa = a, *pb = b;                                                   \
            long k = 32;                                                                    \
            __asm__ volatile("1:\n" BODY "add $32, %[a]\n add $" S(BSTEP) ", %[b]\n"        \
                             "dec %[k]\n jnz 1b\n"                                          \
                             : [a] "+r"(pa), [b] "+r"(pb), [k] "+r"(k)                      \
                             :                                                              \
                             : CLOBBERS);                                                   \
        }                                                                                   \
    }

VARIANT(peak, ROWS2(28), 128)
VARIANT(k8x32, LOADB(31, 0) LOADB(30, 64) BCASTS_ROWS2, 128)
VARIANT(k8x32_no_bcast, LOADB(31, 0) LOADB(30, 64) ROWS2(28), 128)
VARIANT(k8x32_no_b, BCASTS_ROWS2, 128)
VARIANT(k8x48, LOADB(31, 0) LOADB(30, 64) LOADB(29, 128) BCASTS_ROWS3, 192)

int main(void) {
    float *a = aligned_alloc(64, 32 * 8 * sizeof(float));
    float *b = aligned_alloc(64, 32 * 48 * sizeof(float));
    for (int i = 0; i < 32 * 8; i++) a[i] = 0;
    for (int i = 0; i < 32 * 48; i++) b[i] = 0;
    struct {
        const char *name;
        void (*fn)(long, const float *, const float *);
        int fmas;  /* per k-step */
    } rows[] = {{"peak", peak, 16},
                {"8x32", k8x32, 16},
                {"8x32 no bcast", k8x32_no_bcast, 16},
                {"8x32 no B", k8x32_no_b, 16},
                {"8x48", k8x48, 24}};
    const long reps = 1000000;
    double best[5] = {0};
    for (int round = 0; round < 3; round++)
        for (int v = 0; v < 5; v++) {
            double t = now();
            rows[v].fn(reps, a, b);
            double gf = 32.0 * reps * rows[v].fmas * 32 / (now() - t) / 1e9;
            if (gf > best[v]) best[v] = gf;
        }
    printf("%-14s %10s %8s\n", "k-step", "GFLOP/s", "of peak");
    for (int v = 0; v < 5; v++)
        printf("%-14s %10.1f %7.1f%%\n", rows[v].name, best[v], 100 * best[v] / best[0]);
    free(a);
    free(b);
    return 0;
}
