/* GEMM driver: ISA dispatch, packing, the BLIS loop nest and its threading.
 *
 * Loop nest, run by each thread on its own part of C (blocks are balanced so that no
 * last block is a sliver):
 *
 *   for jc in n, step nc             op(B) block kc x nc
 *     for pc in k, step kc           (the K sum stays whole on every thread)
 *       pack op(B)[pc, jc] into NR-wide micro-panels
 *       for ic in my rows, step mc   op(A) block mc x kc, packed (stays in L2)
 *         pack op(A)[ic, pc] into MR-tall micro-panels
 *         for jr in my panels        op(B) micro-panel kc x NR (L1 / L2)
 *           for ir in mc, step MR    micro-kernel on one MR x NR tile of C
 *
 * Threads split C into a grid of row ranges (IC) by panel ranges (JR) and each packs
 * what it reads itself, so they never synchronise.  Every tile boundary is at a
 * multiple of MR or NR from the matrix origin whatever the thread count, and each
 * element's K sum runs in the same order on whichever thread owns it, so the result is
 * bit-identical for any number of threads.
 *
 * Transposed operands are read through (row, column) strides while packing; no
 * transpose is ever materialised.  When a thread's op(B) is a single micro-panel wide,
 * op(A) is read in place by the strided micro-kernels instead of being packed.
 * Products of at most DIRECT_MAX_WORK multiply-adds skip all of this, and so do thin
 * products (N at most one vector, such as a classifier's 10 outputs) on kernel sets that
 * have a thin kernel: it reads both operands in place and masks the lanes past N.  Before
 * both, a C of one row or one column goes to the matrix-vector kernels when the kernel
 * set has them and the matrix is contiguous along the sum or along the outputs.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm.h"
#include "gemm_internal.h"
#include "parallel.h"
#include "transpose.h"

/* ---- ISA selection -------------------------------------------------------------- */

enum { ISA_UNSET = -2 };
static int selected_isa = ISA_UNSET;

static int isa_supported(int isa) {
    switch (isa) {
    case PA_ISA_GENERIC: return 1;
    case PA_ISA_AVX2: return pa_cpu_has_avx2_fma();
    case PA_ISA_AVX512: return pa_cpu_has_avx512();
    default: return 0;
    }
}

static int best_isa(void) {
    return isa_supported(PA_ISA_AVX512) ? PA_ISA_AVX512
           : isa_supported(PA_ISA_AVX2) ? PA_ISA_AVX2
                                        : PA_ISA_GENERIC;
}

/* PYAUTODIFF_ISA=avx512|avx2|generic, when the CPU has it; otherwise the best one. */
static int initial_isa(void) {
    static const struct { const char *name; int isa; } names[] = {
        {"avx512", PA_ISA_AVX512}, {"avx2", PA_ISA_AVX2}, {"generic", PA_ISA_GENERIC}};
    const char *env = getenv("PYAUTODIFF_ISA");
    for (size_t i = 0; env && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(env, names[i].name) == 0 && isa_supported(names[i].isa)) return names[i].isa;
    return best_isa();
}

int pa_kernel_gemm_get_isa(void) {
    int isa = __atomic_load_n(&selected_isa, __ATOMIC_ACQUIRE);
    if (isa == ISA_UNSET) {
        /* NOTE: a race here is benign: every thread computes the same value. */
        isa = initial_isa();
        __atomic_store_n(&selected_isa, isa, __ATOMIC_RELEASE);
    }
    return isa;
}

int pa_kernel_gemm_set_isa(int isa) {
    if (isa == PA_ISA_AUTO) isa = best_isa();
    if (!isa_supported(isa)) return -1;
    __atomic_store_n(&selected_isa, isa, __ATOMIC_RELEASE);
    return 0;
}

static const struct pa_gemm_isa_kernels *isa_kernels(void) {
    switch (pa_kernel_gemm_get_isa()) {
#if defined(__x86_64__) || defined(__i386__)
    case PA_ISA_AVX512: return &pa_gemm_avx512_kernels;
    case PA_ISA_AVX2: return &pa_gemm_avx2_kernels;
#endif
    default: return &pa_gemm_generic_kernels;
    }
}

/* ---- the problem, type-erased --------------------------------------------------- */

typedef union {
    float s;
    double d;
} scalar;

/* op(A)(i, p) is at a + (i * a_rs + p * a_cs) elements; op(B)(p, j) at
 * b + (p * b_rs + j * b_cs).  Packing only moves bits, so most of the driver works on
 * bytes and the element size; the arithmetic is in the micro-kernels. */
struct gemm {
    const struct pa_gemm_kernels *kern;
    size_t es;
    int64_t m, n, k;
    const char *a, *b;
    int64_t a_rs, a_cs, b_rs, b_cs;
    char *c;
    int64_t ldc;
    scalar alpha, beta;
};

/* Block sizes (the same for every thread count), the thread grid and buffer layout. */
struct plan {
    int64_t kc, nc;             /* balanced block sizes (mc is the kernel set's) */
    int64_t a_panel, b_panel;   /* bytes per packed micro-panel, multiples of 64 */
    int64_t a_bytes, b_bytes;   /* bytes of one thread's packed op(A), op(B) block */
    int tm, tn;                 /* threads: tm row groups by tn panel groups */
};

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
static int64_t round_up(int64_t x, int64_t y) { return ceil_div(x, y) * y; }

/* ---- packing -------------------------------------------------------------------- */

/* Scalar packing of `lines` <= width lines into one micro-panel of `width` lines:
 * dst[p * width + r] = X(r, p) = src[r * rs + p * cs], zero for lines <= r < width. */
#define PACK_PANEL_SCALAR(NAME, U)                                                         \
    static void NAME(int64_t width, int64_t lines, int64_t kc, const char *src_,          \
                     int64_t rs, int64_t cs, char *dst_) {                                 \
        const U *src = (const U *)src_;                                                    \
        U *dst = (U *)dst_;                                                                \
        if (lines < width) memset(dst, 0, (size_t)(kc * width) * sizeof(U));               \
        if (rs == 1)                                                                       \
            for (int64_t p = 0; p < kc; p++)                                               \
                for (int64_t r = 0; r < lines; r++) dst[p * width + r] = src[p * cs + r];  \
        else                                                                               \
            for (int64_t r = 0; r < lines; r++)                                            \
                for (int64_t p = 0; p < kc; p++) dst[p * width + r] = src[r * rs + p * cs];\
    }
PACK_PANEL_SCALAR(pack_panel_32, uint32_t)
PACK_PANEL_SCALAR(pack_panel_64, uint64_t)

/* Copies the runs of `bytes` at src + p * stride + q * bytes (a line of X per q) into
 * panel q at dst + q * panel_bytes + p * bytes, p outermost so that src is read in
 * order; the common run lengths get copies of constant size. */
#define COPY_RUNS(BYTES)                                                                   \
    for (int64_t p = 0; p < kc; p++)                                                       \
        for (int64_t q = 0; q < panels; q++)                                               \
            memcpy(dst + q * panel_bytes + p * (BYTES), src + p * stride + q * (BYTES),    \
                   (BYTES))

static void copy_runs(int64_t panels, int64_t kc, int64_t bytes, const char *src,
                      int64_t stride, char *dst, int64_t panel_bytes) {
    switch (bytes) {
    case 32: COPY_RUNS(32); break;
    case 64: COPY_RUNS(64); break;
    case 128: COPY_RUNS(128); break;
    default: COPY_RUNS(bytes); break;
    }
}

/* Packs `lines` lines of an operand into ceil(lines / width) micro-panels of `width`
 * lines, panel q at dst + q * panel_bytes holding lines q * width + r of
 * X(r, p) = src[r * rs + p * cs] (elements) as in PACK_PANEL_SCALAR; the last panel is
 * padded with zeros. */
static void pack_block(const struct gemm *g, int64_t width, int64_t lines, int64_t kc,
                       const char *src, int64_t rs, int64_t cs, char *dst,
                       int64_t panel_bytes) {
    const int64_t es = (int64_t)g->es, full = lines / width, rest = lines % width;
    if (rs == 1)
        copy_runs(full, kc, width * es, src, cs * es, dst, panel_bytes);
    for (int64_t q = 0; q < full && rs != 1; q++) {
        const char *s = src + q * width * rs * es;
        char *d = dst + q * panel_bytes;
        if (cs == 1 && g->kern->pack_transposed)
            g->kern->pack_transposed(width, kc, s, rs, d);
        else
            (es == 4 ? pack_panel_32 : pack_panel_64)(width, width, kc, s, rs, cs, d);
    }
    if (rest)
        (es == 4 ? pack_panel_32 : pack_panel_64)(width, rest, kc,
                                                  src + full * width * rs * es, rs, cs,
                                                  dst + full * panel_bytes);
}

/* ---- macro-kernel --------------------------------------------------------------- */

/* Panel jp of an op(B) block of ncur columns is narrow (NR/2 wide) when it is the last
 * one, at most NR/2 columns remain, and the kernel set has a narrow kernel. */
static int narrow_panel(const struct gemm *g, int64_t ncur, int64_t jp) {
    int64_t nr = g->kern->nr;
    return g->kern->narrow.s && jp == ceil_div(ncur, nr) - 1 && ncur - jp * nr <= nr / 2;
}

/* Where a micro-kernel finds its MR x kc of op(A): a packed panel (rs == 0), or op(A)
 * itself, a(i, p) at ptr + (i * rs + p * cs) elements. */
struct a_panel {
    const char *ptr;
    int64_t rs, cs;
};

/* Where it finds its kc x NR of op(B): a packed panel (ld == 0), or row-major op(B)
 * itself, b(p, j) at ptr + (p * ld + j) elements. */
struct b_panel {
    const char *ptr;
    int64_t ld;
};

/* One call of the kernel that fits: b_rows when op(B) is read in place, the strided one
 * when op(A) is, else the packed one; F is the union member (s, d), T the element type. */
#define CALL_KERNEL(F, T)                                                                   \
    do {                                                                                    \
        T beta = first ? g->beta.F : (T)1;                                                  \
        if (b.ld)                                                                           \
            (narrow ? kern->b_rows_narrow.F : kern->b_rows_full.F)(                         \
                kc, (const T *)a.ptr, (const T *)b.ptr, b.ld, g->alpha.F, beta, (T *)c, ldc); \
        else if (a.rs == 0)                                                                 \
            (narrow ? kern->narrow.F : kern->full.F)(kc, (const T *)a.ptr, (const T *)b.ptr, \
                                                     g->alpha.F, beta, (T *)c, ldc);        \
        else                                                                                \
            (narrow ? kern->strided_narrow.F : kern->strided_full.F)(                       \
                kc, (const T *)a.ptr, a.rs, a.cs, (const T *)b.ptr, g->alpha.F, beta,       \
                (T *)c, ldc);                                                               \
    } while (0)

static void call_kernel(const struct gemm *g, int narrow, int64_t kc, struct a_panel a,
                        struct b_panel b, int first, char *c, int64_t ldc) {
    const struct pa_gemm_kernels *kern = g->kern;
    if (g->es == 4)
        CALL_KERNEL(s, float);
    else
        CALL_KERNEL(d, double);
}

/* A partial tile (rows x cols of an MR x width tile) goes through a temporary, so the
 * micro-kernel only ever sees full tiles and computes edge elements exactly as it
 * computes interior ones. */
static void edge_tile(const struct gemm *g, int narrow, int64_t width, int64_t rows,
                      int64_t cols, int64_t kc, struct a_panel a, struct b_panel b, int first,
                      char *c) {
    _Alignas(64) char tile[PA_GEMM_MAX_TILE_BYTES];
    size_t row_bytes = (size_t)width * g->es, c_row = (size_t)g->ldc * g->es;
    int reads_c = !first || (g->es == 4 ? g->beta.s != 0 : g->beta.d != 0);
    if (reads_c) {
        memset(tile, 0, (size_t)g->kern->mr * row_bytes);
        for (int64_t i = 0; i < rows; i++)
            memcpy(tile + i * row_bytes, c + i * c_row, (size_t)cols * g->es);
    }
    call_kernel(g, narrow, kc, a, b, first, tile, width);
    for (int64_t i = 0; i < rows; i++)
        memcpy(c + i * c_row, tile + i * row_bytes, (size_t)cols * g->es);
}

/* Tiles of rows [ic, ic + mc) by op(B) panels [jp0, jp1) of the block at column jc;
 * bpack starts at panel jp0.  op(A) comes from apack, except with a_direct, when full
 * MR-row panels are read in place (at column pc) and only a last partial one is packed;
 * op(B) likewise from bpack, except with b_direct, when full-width panels of a
 * row-major op(B) are read in place. */
static void macro_kernel(const struct gemm *g, const struct plan *pl, int64_t ic,
                         int64_t mc, int64_t jc, int64_t ncur, int64_t jp0, int64_t jp1,
                         int64_t pc, int64_t kc, int a_direct, int b_direct,
                         const char *apack, const char *bpack) {
    const int64_t mr = g->kern->mr, nr = g->kern->nr, es = (int64_t)g->es;
    for (int64_t jp = jp0; jp < jp1; jp++) {
        int narrow = narrow_panel(g, ncur, jp);
        int64_t width = narrow ? nr / 2 : nr, cols = min64(nr, ncur - jp * nr);
        struct b_panel b = {bpack + (jp - jp0) * pl->b_panel, 0};
        if (b_direct && cols == width)
            b = (struct b_panel){g->b + (pc * g->b_rs + jc + jp * nr) * es, g->b_rs};
        char *cblock = g->c + (ic * g->ldc + jc + jp * nr) * es;
        for (int64_t i = 0; i < mc; i += mr) {
            int64_t rows = min64(mr, mc - i);
            struct a_panel a = {apack + (i / mr) * pl->a_panel, 0, 0};
            if (a_direct && rows == mr)
                a = (struct a_panel){g->a + ((ic + i) * g->a_rs + pc * g->a_cs) * es,
                                     g->a_rs, g->a_cs};
            char *c = cblock + i * g->ldc * es;
            if (rows == mr && cols == width)
                call_kernel(g, narrow, kc, a, b, pc == 0, c, g->ldc);
            else
                edge_tile(g, narrow, width, rows, cols, kc, a, b, pc == 0, c);
        }
    }
}

/* op(B) panels up to which a row-major op(A) is read in place, and row tiles up to which
 * a row-major op(B) is (see gemm_thread). */
enum { A_DIRECT_MAX_PANELS = 8, B_DIRECT_MAX_TILES = 32 };

/* A row-major op(B) of at most this many bytes stays in L2 while every row group of a
 * thread grid reads it; see b_small. */
enum { B_SMALL_BYTES = 256 << 10 };

/* Whether op(B) is small, row-major and readable in place by the b_rows kernels: it is
 * then read where it lies whatever its alignment, and choose_grid charges no packing
 * for it, which favours splitting C by row groups.  Each thread then owns whole rows of
 * C, and the next elementwise pass (split into contiguous ranges, as the optimizer's
 * update is) finds them in its own cache.  NOTE: measured in one process, alternating
 * 40 rounds, 2 threads: the article's training step at batch 64, whose weight gradient
 * g^T @ x reads x (64 x 784, 196 KiB) as op(B), 224.6 -> 211.7 us with x a NumPy array
 * 32 bytes off a cache line, 219.6 -> 205.2 us with x aligned.  At batch 256 (784 KiB)
 * a 1 MiB bound gained nothing (aligned: 2% slower); lone products with a small op(B)
 * (squares 128 and 256, 192x256x192, 512x256x128, 1024x64x256) stayed within the
 * +-4% noise. */
static int b_small(const struct gemm *g) {
    return g->kern->b_rows_full.s && g->b_cs == 1 &&
           g->k * g->n * (int64_t)g->es <= B_SMALL_BYTES;
}

/* Whether the b_rows kernels can read op(B) in place for row_tiles row tiles: its rows
 * contiguous and either 64-byte aligned or small (see b_in_place). */
static int b_rows_ok(const struct gemm *g, int64_t row_tiles) {
    return g->kern->b_rows_full.s && g->b_cs == 1 && row_tiles <= B_DIRECT_MAX_TILES &&
           (b_small(g) || ((uintptr_t)g->b % 64 == 0 && g->b_rs * (int64_t)g->es % 64 == 0));
}

/* op(A) is read in place when each element is used once (one op(B) panel), or when its
 * rows are contiguous and few panels reuse them: the micro-kernel then streams MR rows
 * from L1/L2 at no more cost than a packed panel, and the pack is saved.  NOTE: measured
 * (1 thread): 1024x784x128 (4 panels) 145 -> 159 GFLOP/s, 64x784x128 +10%; with 32+
 * panels (squares >= 1024) the packed layout is up to 10% faster.  But when the
 * thread's op(B) columns outnumber its rows and op(B) can be read in place too, that is
 * done instead and the smaller op(A) packed: measured in one process, alternating, 2
 * threads, AMD EPYC (Zen 4): 32x1024x256 (an LSTM's dh = dgates @ W_hh) 103 -> 83 us,
 * 16x512x512 62 -> 42 us, 64x1024x512 351 -> 312 us. */
static int a_in_place(const struct gemm *g, int64_t panels, int64_t row_tiles) {
    if (!g->kern->strided_full.s) return 0;
    if (panels == 1) return 1;
    if (g->a_cs != 1 || panels > A_DIRECT_MAX_PANELS) return 0;
    return !(panels * g->kern->nr > row_tiles * g->kern->mr && b_rows_ok(g, row_tiles));
}

/* op(B) is read in place (op(A) then packed) when op(A) is not, few row tiles reuse each
 * panel, and its rows are contiguous and either 64-byte aligned (a vector load split
 * across two cache lines costs more than the pack saves) or small (b_small).  NOTE:
 * measured (128x1024x784, the weight gradient of the article's first layer): 1 thread
 * 137 -> 146 GFLOP/s, 2 threads 274 -> 283; from a 16-byte aligned NumPy array it was
 * 5% slower than packing. */
static int b_in_place(const struct gemm *g, int64_t panels, int64_t row_tiles) {
    return !a_in_place(g, panels, row_tiles) && b_rows_ok(g, row_tiles);
}

/* ---- the loop nest, run by each thread ------------------------------------------ */

/* Split `units` into `parts` contiguous ranges; range `i` is [*lo, *hi). */
static void split(int64_t units, int64_t parts, int64_t i, int64_t *lo, int64_t *hi) {
    *lo = units * i / parts;
    *hi = units * (i + 1) / parts;
}

/* Thread t computes the C tiles of its row group (t / tn) and panel group (t % tn),
 * running the whole loop nest on them with its own packing buffers: threads share
 * nothing and never wait for each other. */
static void gemm_thread(const struct gemm *g, const struct plan *pl, int t, char *apack,
                        char *bpack) {
    const int64_t mr = g->kern->mr, nr = g->kern->nr, es = (int64_t)g->es;
    const int64_t mc_max = g->kern->mc;
    int64_t row_lo, row_hi;
    split(ceil_div(g->m, mr), pl->tm, t / pl->tn, &row_lo, &row_hi);
    row_lo *= mr;
    row_hi = min64(row_hi * mr, g->m);

    for (int64_t jc = 0; jc < g->n; jc += pl->nc) {
        int64_t ncur = min64(pl->nc, g->n - jc), jp_lo, jp_hi;
        split(ceil_div(ncur, nr), pl->tn, t % pl->tn, &jp_lo, &jp_hi);
        if (row_lo >= row_hi || jp_lo >= jp_hi) continue;
        int64_t panels = jp_hi - jp_lo;
        int a_direct = a_in_place(g, panels, ceil_div(row_hi - row_lo, mr));
        int b_direct = b_in_place(g, panels, ceil_div(row_hi - row_lo, mr));
        for (int64_t pc = 0; pc < g->k; pc += pl->kc) {
            int64_t kc = min64(pl->kc, g->k - pc);
            /* op(B)(p, j) = X(j, p): lines are columns, rs = b_cs, cs = b_rs */
            int64_t j = jc + jp_lo * nr, narrow = narrow_panel(g, ncur, jp_hi - 1);
            int64_t wide_cols = min64((jp_hi - jp_lo - narrow) * nr, g->n - j);
            const char *bsrc = g->b + pc * g->b_rs * es;
            if (b_direct) {  /* only a last panel narrower than its kernel is packed */
                int64_t last = jp_hi - 1, width = narrow ? nr / 2 : nr;
                int64_t cols = min64(nr, ncur - last * nr);
                if (cols < width)
                    pack_block(g, width, cols, kc, bsrc + (jc + last * nr) * es, 1, g->b_rs,
                               bpack + (last - jp_lo) * pl->b_panel, pl->b_panel);
            } else {
                pack_block(g, nr, wide_cols, kc, bsrc + j * g->b_cs * es, g->b_cs, g->b_rs,
                           bpack, pl->b_panel);
                if (narrow)
                    pack_block(g, nr / 2, g->n - (j + wide_cols), kc,
                               bsrc + (j + wide_cols) * g->b_cs * es, g->b_cs, g->b_rs,
                               bpack + (jp_hi - 1 - jp_lo) * pl->b_panel, pl->b_panel);
            }
            for (int64_t ic = row_lo; ic < row_hi; ic += mc_max) {
                int64_t mc = min64(mc_max, row_hi - ic), packed_lo = a_direct ? mc / mr : 0;
                pack_block(g, mr, mc - packed_lo * mr, kc,
                           g->a + ((ic + packed_lo * mr) * g->a_rs + pc * g->a_cs) * es,
                           g->a_rs, g->a_cs, apack + packed_lo * pl->a_panel, pl->a_panel);
                macro_kernel(g, pl, ic, mc, jc, ncur, jp_lo, jp_hi, pc, kc, a_direct, b_direct,
                             apack, bpack);
            }
        }
    }
}

/* NOTE: the grid of tm row groups by tn panel groups is chosen to minimise the busiest
 * thread's estimated time: its tiles' multiply-adds plus its packing, since a row
 * group packs all of op(B) for its panels and a panel group all of op(A) for its rows
 * (op(A) again for every nc block); a small op(B) read in place (b_small) costs no
 * packing.  Packing an element is taken to cost as much as PACK_COST vector lanes of
 * multiply-add. */
enum { PACK_COST = 16 };

static void choose_grid(const struct gemm *g, struct plan *pl, int nthreads) {
    int64_t mtiles = ceil_div(g->m, g->kern->mr), ntiles = ceil_div(g->n, g->kern->nr);
    int64_t nblocks = ceil_div(g->n, pl->nc), best_cost = -1;
    for (int tm = 1; tm <= nthreads; tm++) {
        if (nthreads % tm) continue;
        int tn = nthreads / tm;
        int64_t rows = ceil_div(mtiles, tm) * g->kern->mr;
        int64_t cols = ceil_div(ntiles, tn) * g->kern->nr;
        /* gemm_thread decides per nc block; the whole of n here is an approximation */
        int b_free = b_small(g) && b_in_place(g, ceil_div(ntiles, tn), ceil_div(mtiles, tm));
        int64_t cost = rows * cols + PACK_COST * (rows * nblocks + (b_free ? 0 : cols));
        if (best_cost < 0 || cost < best_cost) pl->tm = tm, pl->tn = tn, best_cost = cost;
    }
}

/* ---- packing buffers ------------------------------------------------------------ */

/* NOTE: one growing buffer per calling thread, kept between calls, so that small
 * products do not allocate.  It holds one op(A) block and one op(B) block for each
 * worker thread of the call, each 64-byte aligned. */
static _Thread_local struct {
    char *data;
    size_t size;
} pack_cache;

static char *pack_buffer(size_t size) {
    if (size > pack_cache.size) {
        size = (size_t)round_up((int64_t)size + size / 4, 4096);
        free(pack_cache.data);
        pack_cache.data = aligned_alloc(64, size);
        pack_cache.size = pack_cache.data ? size : 0;
    }
    return pack_cache.data;
}

/* ---- small products and k == 0 -------------------------------------------------- */

/* NOTE: below this many multiply-adds, packing costs more than it saves. */
enum { DIRECT_MAX_WORK = 2048 };

/* Rows of C built in chunks of up to 64 accumulators, looping p outside j so that
 * the inner loop runs along a row of op(B). */
#define DIRECT_GEMM(NAME, T, F)                                                             \
    static void NAME(const struct gemm *g) {                                               \
        const T *a = (const T *)g->a, *b = (const T *)g->b;                                \
        T *c = (T *)g->c, alpha = g->alpha.F, beta = g->beta.F;                            \
        for (int64_t i = 0; i < g->m; i++)                                                 \
            for (int64_t j0 = 0; j0 < g->n; j0 += 64) {                                    \
                int64_t nj = min64(64, g->n - j0);                                         \
                T acc[64] = {0};                                                           \
                for (int64_t p = 0; p < g->k; p++) {                                       \
                    T aip = a[i * g->a_rs + p * g->a_cs];                                  \
                    const T *brow = b + p * g->b_rs + j0 * g->b_cs;                        \
                    for (int64_t j = 0; j < nj; j++) acc[j] += aip * brow[j * g->b_cs];    \
                }                                                                          \
                T *crow = c + i * g->ldc + j0;                                             \
                for (int64_t j = 0; j < nj; j++)                                           \
                    crow[j] = g->k == 0 ? (beta == 0 ? 0 : beta * crow[j])                 \
                              : beta == 0 ? alpha * acc[j]                                 \
                                          : alpha * acc[j] + beta * crow[j];               \
            }                                                                              \
    }
DIRECT_GEMM(direct_sgemm, float, s)
DIRECT_GEMM(direct_dgemm, double, d)

static void run_direct(const struct gemm *g) {
    if (g->es == 4)
        direct_sgemm(g);
    else
        direct_dgemm(g);
}

/* ---- entry ---------------------------------------------------------------------- */


/* Flops per thread: a product gets one thread per this much work, up to the limit.
 * NOTE: measured: 96^3 (1.8 Mflop) runs 1.5x faster on 2 threads, while 64x128x10
 * (0.16 Mflop) must stay on one, where waking a thread would cost more than it saves. */
enum { WORK_PER_THREAD = 1 << 19 };

/* Rows [lo, hi) of a thin product, op(B) at b with row stride ldb. */
static void thin_rows(const struct gemm *g, const char *b, int64_t ldb, int64_t lo, int64_t hi) {
    if (g->es == 4)
        g->kern->thin.s(hi - lo, g->n, g->k, (const float *)g->a + lo * g->a_rs, g->a_rs,
                        g->a_cs, (const float *)b, ldb, g->alpha.s, g->beta.s,
                        (float *)g->c + lo * g->ldc, g->ldc);
    else
        g->kern->thin.d(hi - lo, g->n, g->k, (const double *)g->a + lo * g->a_rs, g->a_rs,
                        g->a_cs, (const double *)b, ldb, g->alpha.d, g->beta.d,
                        (double *)g->c + lo * g->ldc, g->ldc);
}

/* dst[p * n + j] = src[p * rs + j * cs] (elements), for a thin product's op(B). */
#define COPY_STRIDED(NAME, U)                                                              \
    static void NAME(int64_t k, int64_t n, const char *src_, int64_t rs, int64_t cs,      \
                     char *dst_) {                                                         \
        const U *src = (const U *)src_;                                                    \
        U *dst = (U *)dst_;                                                                \
        for (int64_t j = 0; j < n; j++)                                                    \
            for (int64_t p = 0; p < k; p++) dst[p * n + j] = src[p * rs + j * cs];         \
    }
COPY_STRIDED(copy_strided_32, float)
COPY_STRIDED(copy_strided_64, double)

/* A thin product (n <= one vector) through the kernel set's thin kernel; op(B) is
 * read in place when its rows are contiguous, else copied to a k x n buffer first.
 * Rows are split among threads in multiples of 16.  Returns 0 when it cannot run. */
static int run_thin(const struct gemm *g) {
    const int64_t m = g->m, n = g->n, k = g->k, es = (int64_t)g->es;
    const char *b = g->b;
    int64_t ldb = g->b_rs;
    if (n > 1 && g->b_cs != 1) {
        char *buf = pack_buffer((size_t)(k * n * es));
        if (!buf) return 0;
        if (es == 4)
            copy_strided_32(k, n, g->b, g->b_rs, g->b_cs, buf);
        else
            copy_strided_64(k, n, g->b, g->b_rs, g->b_cs, buf);
        b = buf;
        ldb = n;
    }
    int nthreads = pa_kernel_threads_for(2 * m * n * k, WORK_PER_THREAD);
    if (nthreads == 1) {
        thin_rows(g, b, ldb, 0, m);
        return 1;
    }
#pragma omp parallel num_threads(nthreads)
    {
        int64_t lo, hi;
        split(ceil_div(m, 16), omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        if (lo < hi) thin_rows(g, b, ldb, lo * 16, min64(hi * 16, m));
    }
    return 1;
}

/* ---- matrix-vector products ------------------------------------------------------- */

/* One matrix-vector product in the kernel set's dot or axpy form (gemm_internal.h):
 * y = alpha * M x + beta * y over `len` outputs, M's line t (a row of the matrix in the
 * dot form, a column of the product in the axpy form) at mat + t * ld... as the kernels
 * read them. */
struct gemv {
    int dot;                 /* 1: dot form over rows of mat; 0: axpy form */
    int64_t len, k;          /* outputs, and the length of each sum */
    const char *mat;
    int64_t ld;              /* dot: row stride; axpy: stride between the rows p */
    const char *x;
    int64_t incx;            /* axpy only (dot needs x contiguous) */
    char *y;
    int64_t incy;            /* dot only (axpy writes y contiguous) */
};

/* Outputs [lo, hi) of a matrix-vector product. */
static void gemv_part(const struct gemm *g, const struct gemv *v, int64_t lo, int64_t hi) {
    const struct pa_gemm_kernels *kern = g->kern;
    const int64_t es = (int64_t)g->es;
    if (v->dot && es == 4)
        kern->gemv_dot.s(hi - lo, v->k, (const float *)v->mat + lo * v->ld, v->ld,
                         (const float *)v->x, g->alpha.s, g->beta.s,
                         (float *)v->y + lo * v->incy, v->incy);
    else if (v->dot)
        kern->gemv_dot.d(hi - lo, v->k, (const double *)v->mat + lo * v->ld, v->ld,
                         (const double *)v->x, g->alpha.d, g->beta.d,
                         (double *)v->y + lo * v->incy, v->incy);
    else if (es == 4)
        kern->gemv_axpy.s(hi - lo, v->k, (const float *)v->x, v->incx,
                          (const float *)v->mat + lo, v->ld, g->alpha.s, g->beta.s,
                          (float *)v->y + lo);
    else
        kern->gemv_axpy.d(hi - lo, v->k, (const double *)v->x, v->incx,
                          (const double *)v->mat + lo, v->ld, g->alpha.d, g->beta.d,
                          (double *)v->y + lo);
}

/* Output blocks a thread takes at a time: the dot kernel's 4 rows, the axpy kernel's 8
 * vectors (any split gives the same bits; these keep the kernels' fast paths). */
enum { GEMV_DOT_BLOCK = 4, GEMV_AXPY_BLOCK = 256 };

/* C with one column (n == 1) or one row (m == 1) through the kernel set's matrix-vector
 * kernels, when the matrix has unit stride along the sum (dot form) or along the outputs
 * (axpy form).  x is copied when the dot form needs it contiguous, and y goes through a
 * buffer when the axpy form writes a strided column of C.  Returns 0 when it does not
 * apply (or a buffer cannot be had). */
static int run_gemv(const struct gemm *g) {
    const int64_t es = (int64_t)g->es, m = g->m, n = g->n, k = g->k;
    struct gemv v;
    const char *x;
    int64_t incx;
    if (n == 1) {           /* y = op(A) x, x = op(B)(:, 0) */
        x = g->b, incx = g->b_rs;
        if (g->a_cs == 1)
            v = (struct gemv){1, m, k, g->a, g->a_rs, NULL, 0, g->c, g->ldc};
        else if (g->a_rs == 1)
            v = (struct gemv){0, m, k, g->a, g->a_cs, NULL, 0, g->c, 1};
        else
            return 0;
    } else if (m == 1) {    /* y = x op(B), x = op(A)(0, :) */
        x = g->a, incx = g->a_cs;
        if (g->b_rs == 1)
            v = (struct gemv){1, n, k, g->b, g->b_cs, NULL, 0, g->c, 1};
        else if (g->b_cs == 1)
            v = (struct gemv){0, n, k, g->b, g->b_rs, NULL, 0, g->c, 1};
        else
            return 0;
    } else {
        return 0;
    }
    /* buffers: a contiguous x for the dot form, a contiguous y for a strided axpy column */
    int copy_x = v.dot && incx != 1, copy_y = !v.dot && n == 1 && g->ldc != 1;
    char *buf = NULL;
    if (copy_x || copy_y) {
        buf = pack_buffer((size_t)((copy_x ? k : 0) + (copy_y ? m : 0)) * (size_t)es);
        if (!buf) return 0;
    }
    if (copy_x) {
        for (int64_t p = 0; p < k; p++) memcpy(buf + p * es, x + p * incx * es, (size_t)es);
        x = buf, incx = 1;
    }
    char *ybuf = copy_y ? buf + (copy_x ? k * es : 0) : NULL;
    int reads_y = es == 4 ? g->beta.s != 0 : g->beta.d != 0;
    if (copy_y && reads_y)
        for (int64_t i = 0; i < m; i++) memcpy(ybuf + i * es, g->c + i * g->ldc * es, (size_t)es);
    v.x = x, v.incx = incx;
    if (copy_y) v.y = ybuf;
    const int64_t block = v.dot ? GEMV_DOT_BLOCK : GEMV_AXPY_BLOCK, blocks = ceil_div(v.len, block);
    int nthreads = pa_kernel_threads_for(2 * v.len * k, WORK_PER_THREAD);
    if (nthreads > blocks) nthreads = (int)blocks;
    if (nthreads <= 1) {
        gemv_part(g, &v, 0, v.len);
    } else {
#pragma omp parallel num_threads(nthreads)
        {
            int64_t lo, hi;
            split(blocks, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
            if (lo < hi) gemv_part(g, &v, lo * block, min64(hi * block, v.len));
        }
    }
    if (copy_y)
        for (int64_t i = 0; i < m; i++) memcpy(g->c + i * g->ldc * es, ybuf + i * es, (size_t)es);
    return 1;
}

/* The blocked loop nest over all of C, on as many threads as the work warrants. */
static void run_blocked(const struct gemm *g) {
    const struct pa_gemm_kernels *kern = g->kern;
    const int64_t mr = kern->mr, nr = kern->nr, es = (int64_t)g->es;
    struct plan pl;
    pl.kc = ceil_div(g->k, ceil_div(g->k, kern->kc));
    pl.nc = round_up(ceil_div(g->n, ceil_div(g->n, kern->nc)), nr);
    pl.a_panel = round_up(mr * pl.kc * es, 64);
    pl.b_panel = round_up(nr * pl.kc * es, 64);
    int nthreads = pa_kernel_threads_for(2 * g->m * g->n * g->k, WORK_PER_THREAD);
    choose_grid(g, &pl, nthreads);
    pl.a_bytes = min64(ceil_div(ceil_div(g->m, mr), pl.tm), kern->mc / mr) * pl.a_panel;
    pl.b_bytes = ceil_div(ceil_div(min64(pl.nc, g->n), nr), pl.tn) * pl.b_panel;
    int64_t per_thread = pl.a_bytes + pl.b_bytes;
    char *buf = pack_buffer((size_t)(nthreads * per_thread));
    if (!buf) {
        run_direct(g);
        return;
    }
    if (nthreads == 1) {
        gemm_thread(g, &pl, 0, buf, buf + pl.a_bytes);
        return;
    }
    /* NOTE: OpenMP may start fewer threads than asked; each then runs several of the
     * grid's threads in turn, which changes nothing in the result. */
#pragma omp parallel num_threads(nthreads)
    for (int t = omp_get_thread_num(); t < nthreads; t += omp_get_num_threads())
        gemm_thread(g, &pl, t, buf + t * per_thread, buf + t * per_thread + pl.a_bytes);
}

/* A C of few rows whose op(B) is large and column-major (x @ W^T with W row-major, as
 * in a recurrent layer's h @ W_hh^T at every time step) is computed transposed,
 * C^T = op(B)^T @ op(A)^T: op(B)^T is then row-major and read in place, and only the
 * small op(A)^T is packed; C^T goes through a buffer.  Each element is the same sum over
 * k in the same blocks, multiplied in the other order, by the same blocked loop (the same
 * bits, tested).
 * NOTE: packing op(B) cost a 1 MiB transpose per step of an LSTM (32x256 @ 256x1024):
 * ~10% of its training step, 1 thread, AMD EPYC (Zen 4). */
enum { SWAP_MAX_M = 32, SWAP_MIN_B_BYTES = 512 << 10 };

static int run_swapped(const struct gemm *g) {
    const int64_t es = (int64_t)g->es;
    if (!(g->m >= 2 && g->m <= SWAP_MAX_M && g->k > 0 && g->b_rs == 1 && g->b_cs != 1 &&
          g->n * g->k * es >= SWAP_MIN_B_BYTES && g->kern->strided_full.s))
        return 0;
    char *ct = aligned_alloc(64, (size_t)round_up(g->m * g->n * es, 64));
    if (!ct) return 0;
    int reads_c = es == 4 ? g->beta.s != 0 : g->beta.d != 0;
    if (reads_c) pa_kernel_transpose((size_t)es, g->n, g->m, g->c, g->ldc, ct, g->m);
    struct gemm t = *g;
    t.m = g->n, t.n = g->m;
    t.a = g->b, t.a_rs = g->b_cs, t.a_cs = g->b_rs;
    t.b = g->a, t.b_rs = g->a_cs, t.b_cs = g->a_rs;
    t.c = ct, t.ldc = g->m;
    run_blocked(&t);  /* not the thin kernel, whose sums are ordered otherwise */
    pa_kernel_transpose((size_t)es, g->m, g->n, ct, g->m, g->c, g->ldc);
    free(ct);
    return 1;
}

static void run_gemm(struct gemm *g) {
    if (g->m == 0 || g->n == 0) return;
    if (g->kern->gemv_dot.s && (g->m == 1 || g->n == 1) && g->k > 0 && run_gemv(g)) return;
    if (g->kern->thin.s && g->n <= g->kern->thin_max_n && g->k > 0 && run_thin(g)) return;
    if (g->k == 0 || g->m * g->n * g->k <= DIRECT_MAX_WORK) {
        run_direct(g);
        return;
    }
    if (run_swapped(g)) return;
    run_blocked(g);
}

#define GEMM_PROBLEM(KERN, T, F)                                                        \
    {.kern = &(KERN), .es = sizeof(T), .m = m, .n = n, .k = k, .a = (const char *)a,     \
     .b = (const char *)b, .a_rs = trans_a ? 1 : lda, .a_cs = trans_a ? lda : 1,         \
     .b_rs = trans_b ? 1 : ldb, .b_cs = trans_b ? ldb : 1, .c = (char *)c, .ldc = ldc,   \
     .alpha.F = alpha, .beta.F = beta}

void pa_kernel_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc) {
    struct gemm g = GEMM_PROBLEM(isa_kernels()->f32, float, s);
    run_gemm(&g);
}

void pa_kernel_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     double alpha, const double *a, int64_t lda, const double *b,
                     int64_t ldb, double beta, double *c, int64_t ldc) {
    struct gemm g = GEMM_PROBLEM(isa_kernels()->f64, double, d);
    run_gemm(&g);
}
