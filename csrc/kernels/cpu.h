/* Run-time CPU feature detection for the kernels' ISA dispatch. */
#ifndef PA_KERNELS_CPU_H
#define PA_KERNELS_CPU_H

/* Nonzero when the CPU (and the OS, which must save the wide registers) supports the
 * instruction set: AVX-512 Foundation; AVX2 together with FMA3. */
int pa_cpu_has_avx512(void);
int pa_cpu_has_avx2_fma(void);

#endif
