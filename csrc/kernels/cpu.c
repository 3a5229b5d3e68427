/* NOTE: __builtin_cpu_supports reads CPUID once (libgcc's constructor) and checks that
 * the OS enables the wide register state (XGETBV), so a kernel is never chosen that
 * would fault. */
#include "cpu.h"

int pa_cpu_has_avx512(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int pa_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}
