/* Elementwise loops, NumPy-ufunc style: a loop function runs one strided 1-d stretch
 * of n elements over operands p[0] (the output) and p[1..], with element strides s[].
 * The driver pa_run_loop walks any shape over such stretches, split across threads by
 * a fixed chunking (so results never depend on the thread count). */
#ifndef PA_OPS_LOOPS_H
#define PA_OPS_LOOPS_H

#include "../internal.h"
#include "../iter.h"

typedef void (*pa_loop_fn)(int64_t n, char **p, const int64_t *s, const double *params);

/* Runs `loop` over `nops` operands of shape (ndim, shape); operand k has data pointer
 * data[k], element strides strides[k] (0 on broadcast dims) and element size sizes[k]. */
void pa_run_loop(pa_loop_fn loop, int ndim, const int64_t *shape, int nops, char *const *data,
                 const int64_t *const *strides, const size_t *sizes, const double *params);

/* Strides of t aligned to a broadcast shape of `ndim` dims (0 where t is broadcast). */
void pa_broadcast_strides(const pa_tensor *t, int ndim, const int64_t *shape, int64_t *out);

/* The broadcast shape of a and b, or an error naming `op`. */
int pa_broadcast_shapes(const char *op, const pa_tensor *a, const pa_tensor *b, int *ndim,
                        int64_t *shape);

/* The vectorised loop bodies are compiled for several ISAs; the best runs.
 * NOTE: the middle clone is x86-64-v3 (AVX2 with FMA), not plain "avx2": without FMA in
 * the target every fmaf() of the vectorised exp compiled to a libm call, 16 per element,
 * on CPUs without AVX-512.  The core is built with -ffp-contract=off (CMakeLists.txt),
 * so a * b + c is two roundings in every clone, vector body and remainder alike, and
 * only an explicit fmaf() fuses: each element gets the same operations whichever clone,
 * thread split or loop position computes it. */
#define PA_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "avx512f")))

/* Defines loop NAME computing o = EXPR from x (= p[1]) and y (= p[2]), with the common
 * stride patterns (all contiguous, one side broadcast) as separate vectorisable loops. */
#define PA_BINARY_LOOP(NAME, TI, TO, EXPR)                                               \
    PA_CLONES static void NAME(int64_t n, char **p, const int64_t *s, const double *prm) { \
        (void)prm;                                                                       \
        TO *o = (TO *)p[0];                                                              \
        const TI *a = (const TI *)p[1], *b = (const TI *)p[2];                           \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {                                       \
            for (int64_t i = 0; i < n; i++) { TI x = a[i], y = b[i]; (void)y; o[i] = (EXPR); } \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {                                \
            TI y = b[0];                                                                 \
            (void)y; /* (EXPR may read x alone: pow's special exponents) */              \
            for (int64_t i = 0; i < n; i++) { TI x = a[i]; o[i] = (EXPR); }              \
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {                                \
            TI x = a[0];                                                                 \
            for (int64_t i = 0; i < n; i++) { TI y = b[i]; (void)y; o[i] = (EXPR); }     \
        } else {                                                                         \
            for (int64_t i = 0; i < n; i++) {                                            \
                TI x = a[i * s[1]], y = b[i * s[2]];                                     \
                (void)y;                                                                 \
                o[i * s[0]] = (EXPR);                                                    \
            }                                                                            \
        }                                                                                \
    }

/* Defines loop NAME computing o = EXPR from x (= p[1]); params in prm[]. */
#define PA_UNARY_LOOP(NAME, TI, TO, EXPR)                                                \
    PA_CLONES static void NAME(int64_t n, char **p, const int64_t *s, const double *prm) { \
        (void)prm;                                                                       \
        TO *o = (TO *)p[0];                                                              \
        const TI *a = (const TI *)p[1];                                                  \
        if (s[0] == 1 && s[1] == 1) {                                                    \
            for (int64_t i = 0; i < n; i++) { TI x = a[i]; o[i] = (EXPR); }              \
        } else {                                                                         \
            for (int64_t i = 0; i < n; i++) { TI x = a[i * s[1]]; o[i * s[0]] = (EXPR); } \
        }                                                                                \
    }

/* As PA_UNARY_LOOP (T to T) and PA_BINARY_LOOP, for a vector EXPR that is wrong on a few
 * rare inputs (RARE, a function-like macro: RARE(x), or RARE(x, y) for the binary loop):
 * a vectorised scan of the inputs first; without a rare one, the vector pass alone; with
 * one, the vector pass and SLOW for the rare elements, or, when the output is the input
 * itself (an in-place op, whose pass would overwrite what the patch reads), block by
 * block: the vector pass for a block without a rare input, each element by whichever of
 * the two it needs in one with.  Either way an element gets EXPR or SLOW by its own input
 * alone. */
/* NOTE: an in-place op went element by element, EXPR or SLOW, over the whole range once
 * one input was rare: exp_ of 1e6 floats holding one -100, 1 thread, 2.0 ms; blocks of
 * PA_PATCH_BLOCK elements without a rare one take the vector pass: 0.33 ms. */
enum { PA_PATCH_BLOCK = 512 };
#define PA_UNARY_LOOP_PATCHED(NAME, T, EXPR, RARE, SLOW)                                   \
    PA_UNARY_LOOP(NAME##_vector, T, T, EXPR)                                             \
    PA_CLONES static void NAME(int64_t n, char **p, const int64_t *s, const double *prm) { \
        T *o = (T *)p[0];                                                                \
        const T *a = (const T *)p[1];                                                    \
        if (!PA_ANY_RARE(T, a, s[1], n, RARE)) {                                        \
            NAME##_vector(n, p, s, prm);                                                 \
            return;                                                                      \
        }                                                                                \
        if ((const T *)o == a) {                                                         \
            for (int64_t b0 = 0; b0 < n; b0 += PA_PATCH_BLOCK) {                         \
                int64_t bn = n - b0 < PA_PATCH_BLOCK ? n - b0 : PA_PATCH_BLOCK;          \
                char *q[2] = {(char *)(o + b0 * s[0]), (char *)(a + b0 * s[1])};         \
                if (!PA_ANY_RARE(T, a + b0 * s[1], s[1], bn, RARE)) {                    \
                    NAME##_vector(bn, q, s, prm);                                        \
                    continue;                                                            \
                }                                                                        \
                for (int64_t i = b0; i < b0 + bn; i++) {                                 \
                    T x = a[i * s[1]];                                                   \
                    o[i * s[0]] = RARE(x) ? (SLOW) : (EXPR);                             \
                }                                                                        \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        NAME##_vector(n, p, s, prm);                                                     \
        for (int64_t i = 0; i < n; i++) {                                                \
            T x = a[i * s[1]];                                                           \
            if (RARE(x)) o[i * s[0]] = (SLOW);                                           \
        }                                                                                \
    }
#define PA_BINARY_LOOP_PATCHED(NAME, T, EXPR, RARE, SLOW)                                  \
    PA_BINARY_LOOP(NAME##_vector, T, T, EXPR)                                            \
    PA_CLONES static void NAME(int64_t n, char **p, const int64_t *s, const double *prm) { \
        T *o = (T *)p[0];                                                                \
        const T *a = (const T *)p[1], *b = (const T *)p[2];                              \
        int64_t any = 0;                                                                 \
        if (s[1] == 1 && s[2] == 1)                                                      \
            for (int64_t i = 0; i < n; i++) any |= RARE(a[i], b[i]);                     \
        else                                                                             \
            for (int64_t i = 0; i < n; i++) any |= RARE(a[i * s[1]], b[i * s[2]]);       \
        if (!any) {                                                                      \
            NAME##_vector(n, p, s, prm);                                                 \
            return;                                                                      \
        }                                                                                \
        if ((const T *)o == a || (const T *)o == b) {                                    \
            for (int64_t b0 = 0; b0 < n; b0 += PA_PATCH_BLOCK) {                         \
                int64_t bn = n - b0 < PA_PATCH_BLOCK ? n - b0 : PA_PATCH_BLOCK, hit = 0; \
                char *q[3] = {(char *)(o + b0 * s[0]), (char *)(a + b0 * s[1]),          \
                              (char *)(b + b0 * s[2])};                                  \
                for (int64_t i = b0; i < b0 + bn; i++) hit |= RARE(a[i * s[1]], b[i * s[2]]); \
                if (!hit) {                                                              \
                    NAME##_vector(bn, q, s, prm);                                        \
                    continue;                                                            \
                }                                                                        \
                for (int64_t i = b0; i < b0 + bn; i++) {                                 \
                    T x = a[i * s[1]], y = b[i * s[2]];                                  \
                    o[i * s[0]] = RARE(x, y) ? (SLOW) : (EXPR);                          \
                }                                                                        \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        NAME##_vector(n, p, s, prm);                                                     \
        for (int64_t i = 0; i < n; i++) {                                                \
            T x = a[i * s[1]], y = b[i * s[2]];                                          \
            if (RARE(x, y)) o[i * s[0]] = (SLOW);                                        \
        }                                                                                \
    }
/* Whether RARE holds for any of n elements of v (element stride sv), as an int64
 * OR-reduction that vectorises on the contiguous path. */
#define PA_ANY_RARE(T, v, sv, n, RARE)                                                   \
    ({                                                                                   \
        int64_t any_ = 0;                                                                \
        if ((sv) == 1)                                                                   \
            for (int64_t i_ = 0; i_ < (n); i_++) any_ |= (RARE((v)[i_]));                \
        else                                                                             \
            for (int64_t i_ = 0; i_ < (n); i_++) any_ |= (RARE((v)[i_ * (sv)]));         \
        any_;                                                                            \
    })

#endif
