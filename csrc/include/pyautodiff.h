/* pyautodiff — the one public header of the C core.
 *
 * Everything between CFFI_BEGIN and CFFI_END is read by cffi (tools/gen_cffi.py), so it
 * must stay plain C declarations: no #include, no #ifdef, no macros.
 *
 * Conventions:
 *  - Every function that can fail returns an int status: 0 on success, else a PA_ERR_*
 *    code, after recording a message (pa_last_error_message) that names the op and the
 *    shapes, dtypes or values at fault.  Results come back through out-pointers.
 *  - Tensors are reference counted.  A function that returns a tensor through an
 *    out-pointer hands the caller one reference, released with pa_tensor_release.
 *    Input tensors are borrowed.
 *  - Every argument is checked before memory is touched: the API is safe to call with
 *    any input.
 */
#ifndef PYAUTODIFF_H
#define PYAUTODIFF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CFFI_BEGIN */

/* ---- status codes, dtypes ------------------------------------------------------- */
enum {
    PA_OK = 0,
    PA_ERR_VALUE = 1,    /* bad shape or value: Python ValueError */
    PA_ERR_TYPE = 2,     /* bad dtype: TypeError */
    PA_ERR_INDEX = 3,    /* index or dim out of range: IndexError */
    PA_ERR_MEMORY = 4,   /* allocation failed: MemoryError */
    PA_ERR_RUNTIME = 5,  /* autograd misuse (second backward, ...): RuntimeError */
    PA_ERR_CALLBACK = 6  /* a Python callback raised: re-raised by Python */
};

typedef enum {
    PA_FLOAT32 = 0,
    PA_FLOAT64 = 1,
    PA_INT64 = 2,
    PA_BOOL = 3
} pa_dtype;

enum { PA_MAX_DIMS = 8 };

int pa_last_error_code(void);
const char *pa_last_error_message(void);
void pa_clear_error(void);

/* ---- tensors -------------------------------------------------------------------- */
typedef struct pa_storage pa_storage;
typedef struct pa_node pa_node;

/* A view: shape and strides (in elements) at `offset` elements into a storage.  The
 * fields are public and read-only for bindings; change them only through the API. */
typedef struct pa_tensor {
    int64_t refcount;
    pa_storage *storage;
    char *data;                    /* storage data + offset * itemsize */
    int64_t offset;
    int64_t numel;
    int64_t shape[8];
    int64_t strides[8];
    int32_t ndim;
    int32_t dtype;                 /* a pa_dtype */
    int32_t requires_grad;
    int32_t retains_grad;          /* non-leaf that keeps its .grad (retain_grad()) */
    struct pa_tensor *grad;        /* accumulated gradient, or NULL */
    pa_node *grad_fn;              /* node that produced this tensor, NULL for leaves */
    struct pa_hook *hooks;         /* gradient hooks of a leaf (a non-leaf's are on its node) */
    int32_t wrapped_number;        /* a Python scalar made a 0-dim tensor by pa_binary_scalar(_):
                                      1, or 2 when its dtype (float32) rounded it */
} pa_tensor;

void pa_tensor_retain(pa_tensor *t);
void pa_tensor_release(pa_tensor *t);
size_t pa_dtype_size(int dtype);
int pa_tensor_is_contiguous(const pa_tensor *t);
int64_t pa_tensor_version(const pa_tensor *t);   /* in-place modification counter */

/* Creation.  `shape` has `ndim` entries, each >= 0. */
int pa_empty(int ndim, const int64_t *shape, int dtype, pa_tensor **out);
int pa_full(int ndim, const int64_t *shape, int dtype, double value, pa_tensor **out);
int pa_arange(double start, double end, double step, int dtype, pa_tensor **out);
int pa_linspace(double start, double end, int64_t steps, int dtype, pa_tensor **out);
int pa_eye(int64_t n, int64_t m, int dtype, pa_tensor **out);
/* Wraps memory owned by someone else (zero-copy from NumPy).  `strides` in elements.
 * `release(ctx)` is called once when the last view of the storage dies. */
int pa_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides,
                 int dtype, int64_t nbytes_available, void (*release)(void *),
                 void *ctx, pa_tensor **out);
/* Copies `nbytes` of contiguous data of the given dtype into a new tensor. */
int pa_from_data(const void *data, int64_t nbytes, int ndim, const int64_t *shape,
                 int dtype, pa_tensor **out);

/* Random numbers: one process-wide generator (xoshiro256**), seeded by pa_manual_seed. */
void pa_manual_seed(uint64_t seed);
uint64_t pa_initial_seed(void);
/* The generator's whole state as 8 words (the four xoshiro256** words, the seed, whether
 * it was seeded, whether a spare normal is held, that normal's bits): a Generator object
 * keeps its own stream by swapping its state in and out around a draw. */
int pa_rng_get_state(uint64_t *out8);
int pa_rng_set_state(const uint64_t *in8);
int pa_rand(int ndim, const int64_t *shape, int dtype, pa_tensor **out);
int pa_randn(int ndim, const int64_t *shape, int dtype, pa_tensor **out);
int pa_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, pa_tensor **out);
int pa_randperm(int64_t n, pa_tensor **out);
/* In-place fills of a tensor that does not require grad (used by nn.init). */
int pa_uniform_(pa_tensor *t, double low, double high);
int pa_normal_(pa_tensor *t, double mean, double std);
int pa_fill_(pa_tensor *t, double value);
int pa_copy_(pa_tensor *dst, const pa_tensor *src);     /* broadcasts src, casts dtype */

/* Values. */
int pa_item(const pa_tensor *t, double *out);           /* numel must be 1 */
int pa_to_contiguous_buffer(const pa_tensor *t, void *dst, int64_t nbytes);
/* as_strided without autograd: a view of t's storage with the given shape, strides (>= 0,
 * in elements) and absolute storage offset; every element it can reach must lie inside
 * the storage.  (The Python layer records the gradient when t requires it.) */
int pa_as_strided(pa_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                  int64_t storage_offset, pa_tensor **out);

/* ---- threads -------------------------------------------------------------------- */
void pa_set_num_threads(int n);
int pa_get_num_threads(void);
/* Flush subnormal floats to zero (x86 FTZ + DAZ) in the calling thread and the OpenMP
 * workers of its kernels, or stop; returns 0 where the CPU has no such mode. */
int pa_set_flush_denormal(int on);

/* ---- autograd ------------------------------------------------------------------- */
void pa_set_grad_enabled(int enabled);   /* thread-local */
int pa_is_grad_enabled(void);
int pa_set_requires_grad(pa_tensor *t, int requires_grad);
/* The gradient of a tensor: a new reference, or NULL in *out. */
int pa_get_grad(const pa_tensor *t, pa_tensor **out);
int pa_set_grad(pa_tensor *t, pa_tensor *grad);         /* grad may be NULL */
int pa_detach(pa_tensor *t, pa_tensor **out);            /* shares storage */
/* detach_(): t leaves the graph in place (no grad_fn, no requires_grad); refused for a
 * tensor made by a view op from one that requires grad, as PyTorch refuses views. */
int pa_detach_inplace(pa_tensor *t);
const char *pa_node_name(const pa_node *node);
/* A non-leaf keeps its gradient in .grad after backward (Tensor.retain_grad()). */
int pa_retain_grad(pa_tensor *t);
/* Reverse-mode gradients of `outputs` w.r.t. `inputs` (autograd.grad), without touching
 * any .grad: grads_out[i] gets a new reference, or NULL when inputs[i] is not reached
 * (an error unless allow_unused).  grad_outputs may be NULL, or hold NULL entries for
 * scalar outputs. */
int pa_grad(int n_outputs, pa_tensor **outputs, pa_tensor **grad_outputs, int n_inputs,
            pa_tensor **inputs, int retain_graph, int allow_unused, pa_tensor **grads_out);

/* Gradient hooks: fn(ctx, grad, &replacement) runs on a tensor's gradient before it is
 * accumulated (leaf) or passed on (non-leaf); it may set a replacement (a new
 * reference) or leave it NULL; non-zero status aborts backward.  release(ctx) is
 * called when the hook is removed or its tensor/node dies. */
typedef int (*pa_hook_fn)(void *ctx, pa_tensor *grad, pa_tensor **replacement);
int pa_register_hook(pa_tensor *t, pa_hook_fn fn, void (*release)(void *), void *ctx,
                     int64_t *handle_out);
int pa_remove_hook(pa_tensor *t, int64_t handle);

/* User-defined differentiable ops (autograd.Function): makes `output` (which must not
 * require grad yet) the result of a node over `inputs` whose backward calls
 * backward_fn(ctx, grad_output, n_inputs, grad_inputs); grad_inputs[i] receives a new
 * reference or stays NULL.  release(ctx) is called once when the node dies. */
typedef int (*pa_custom_backward_fn)(void *ctx, pa_tensor *grad_output, int n_inputs,
                                     pa_tensor **grad_inputs);
int pa_custom_function(int n_inputs, pa_tensor **inputs, pa_tensor *output,
                       pa_custom_backward_fn backward_fn, void (*release)(void *), void *ctx);
/* Runs the backward engine from `root` (scalar unless `grad` is given). */
int pa_backward(pa_tensor *root, pa_tensor *grad, int retain_graph);

/* Live-object counters, for leak tests. */
int64_t pa_live_tensors(void);
int64_t pa_live_nodes(void);
int64_t pa_live_storage_bytes(void);

/* ---- elementwise ---------------------------------------------------------------- */
enum {
    PA_BIN_ADD = 0, PA_BIN_SUB, PA_BIN_MUL, PA_BIN_DIV, PA_BIN_POW,
    PA_BIN_MAXIMUM, PA_BIN_MINIMUM, PA_BIN_ATAN2,
    PA_BIN_EQ, PA_BIN_NE, PA_BIN_LT, PA_BIN_LE, PA_BIN_GT, PA_BIN_GE,
    PA_BIN_LOGICAL_AND, PA_BIN_LOGICAL_OR, PA_BIN_COUNT
};
enum {
    PA_UN_NEG = 0, PA_UN_EXP, PA_UN_LOG, PA_UN_SQRT, PA_UN_ABS, PA_UN_TANH,
    PA_UN_SIGMOID, PA_UN_RELU, PA_UN_GELU, PA_UN_GELU_TANH, PA_UN_SIN, PA_UN_COS,
    PA_UN_LOGICAL_NOT, PA_UN_SIGN, PA_UN_RSQRT, PA_UN_LOG1P, PA_UN_EXPM1,
    PA_UN_SQUARE, PA_UN_RECIPROCAL, PA_UN_ERF, PA_UN_ERFC, PA_UN_LOG2, PA_UN_LOG10,
    PA_UN_SILU, PA_UN_COUNT
};
/* out = a (op) b with NumPy broadcasting and PyTorch type promotion. */
int pa_binary(int op, pa_tensor *a, pa_tensor *b, pa_tensor **out);
/* out = a (op) s, or s (op) a when scalar_first.  `scalar_is_float` is the Python
 * scalar's kind: 0 an int (a bool tensor's result becomes int64), 1 a float (an integer or
 * bool tensor's result becomes float32), 2 a bool (the tensor's dtype is kept). */
int pa_binary_scalar(int op, pa_tensor *a, double s, int scalar_is_float,
                     int scalar_first, pa_tensor **out);
int pa_unary(int op, pa_tensor *a, pa_tensor **out);
int pa_clamp(pa_tensor *a, double min, double max, int has_min, int has_max,
             pa_tensor **out);
int pa_where(pa_tensor *cond, pa_tensor *a, pa_tensor *b, pa_tensor **out);
int pa_to_dtype(pa_tensor *a, int dtype, pa_tensor **out);
/* In place on a tensor that does not require grad: a = a (op) b, b broadcast to a. */
int pa_binary_(int op, pa_tensor *a, pa_tensor *b);
int pa_binary_scalar_(int op, pa_tensor *a, double s, int scalar_is_float);
/* In-place op `op` (its name without the trailing _, for errors) as a <- r, r computed
 * from a out of place (a.clamp_() is a <- a.clamp()): r's values, cast to a's dtype, are
 * written into a and, when r is in the graph, a takes its place there (a's grad_fn
 * becomes r's node), with pa_binary_'s rules on what may be recorded. */
int pa_assign_(pa_tensor *a, pa_tensor *r, const char *op);
/* a = op(a) in place (a.relu_(), a.exp_(), ...), with pa_binary_'s rules on what may be
 * recorded.  Written where a lies, without a temporary, when a keeps its dtype and
 * nothing is recorded or the op's backward needs no value (neg_, sign_); otherwise as
 * pa_assign_(a, op(a)). */
int pa_unary_(int op, pa_tensor *a);

/* ---- reductions ----------------------------------------------------------------- */
/* `dims` lists `ndims` dims (negative allowed); ndims == 0 reduces over all dims. */
int pa_sum(pa_tensor *a, int ndims, const int64_t *dims, int keepdim, pa_tensor **out);
int pa_mean(pa_tensor *a, int ndims, const int64_t *dims, int keepdim, pa_tensor **out);
/* The 2-norm (p == 2: the square root of the sum of squares) or the 1-norm (p == 1: the
 * sum of magnitudes) of a float32 or float64 tensor over dims (as pa_sum), added in
 * double; float32 squares are taken in float32 (inf past ~1.8e19, 0 below ~1e-23, as
 * PyTorch's).  Values only: the binding records the gradient. */
int pa_norm(pa_tensor *a, double p, int ndims, const int64_t *dims, int keepdim, pa_tensor **out);
/* max/min over all elements (dim_given == 0: 0-dim results, the index into the
 * flattened tensor) or along `dim`, with the index of the first extreme value.  NaN
 * counts as the extreme, as in PyTorch.  `indices` may be NULL.  The gradient goes to
 * that index along a dim, and is shared evenly among ties over all elements (PyTorch). */
int pa_max(pa_tensor *a, int dim_given, int64_t dim, int keepdim, pa_tensor **values,
           pa_tensor **indices);
int pa_min(pa_tensor *a, int dim_given, int64_t dim, int keepdim, pa_tensor **values,
           pa_tensor **indices);
/* amax / amin along one dim: the values only; their gradient is shared evenly among the
 * elements equal to the extreme (PyTorch's), as is that of max / min without a dim. */
int pa_amax(pa_tensor *a, int64_t dim, int keepdim, pa_tensor **values);
int pa_amin(pa_tensor *a, int64_t dim, int keepdim, pa_tensor **values);
/* log(sum(exp(a))) over dims, computed stably (max subtracted). */
int pa_logsumexp(pa_tensor *a, int ndims, const int64_t *dims, int keepdim, pa_tensor **out);
/* Running sums along dim (from the end when reverse), accumulated in double for float32
 * and float64 and rounded to the input's dtype at each step (PyTorch's CPU kernel), in
 * int64 for int64; other dtypes are refused (the binding casts them). */
int pa_cumsum(pa_tensor *a, int64_t dim, int reverse, pa_tensor **out);
/* Running products along dim, values only (the binding records the gradient): float in
 * double, rounded to the input's dtype at each step; int64 wrapping. */
int pa_cumprod(pa_tensor *a, int64_t dim, pa_tensor **out);
/* The product of all elements (dim_given 0) or along dim, values only (the binding
 * records the gradient): float32 multiplied in double and rounded once, float64 in
 * double, int64 wrapping as two's complement. */
int pa_prod(pa_tensor *a, int dim_given, int64_t dim, int keepdim, pa_tensor **out);

/* ---- shapes and views ----------------------------------------------------------- */
/* reshape: a view when strides allow, else a copy.  view: a view or an error.
 * One entry of `shape` may be -1. */
int pa_reshape(pa_tensor *a, int ndim, const int64_t *shape, pa_tensor **out);
int pa_view(pa_tensor *a, int ndim, const int64_t *shape, pa_tensor **out);
int pa_permute(pa_tensor *a, int ndim, const int64_t *dims, pa_tensor **out);
int pa_transpose(pa_tensor *a, int64_t dim0, int64_t dim1, pa_tensor **out);
int pa_expand(pa_tensor *a, int ndim, const int64_t *shape, pa_tensor **out);
/* A view of a[..., start:stop:step, ...] along `dim` (start/stop already clamped to
 * [0, size] by the caller as Python does; step >= 1). */
int pa_slice(pa_tensor *a, int64_t dim, int64_t start, int64_t stop, int64_t step,
             pa_tensor **out);
/* A view of a[..., index, ...] (the dim disappears); negative index counts from the end. */
int pa_select(pa_tensor *a, int64_t dim, int64_t index, pa_tensor **out);
int pa_unsqueeze(pa_tensor *a, int64_t dim, pa_tensor **out);
/* squeeze one dim (dim_given) or all size-1 dims. */
int pa_squeeze(pa_tensor *a, int dim_given, int64_t dim, pa_tensor **out);
int pa_contiguous(pa_tensor *a, pa_tensor **out);      /* new ref to `a` if contiguous */
int pa_clone(pa_tensor *a, pa_tensor **out);
int pa_cat(int n, pa_tensor **tensors, int64_t dim, pa_tensor **out);
int pa_stack(int n, pa_tensor **tensors, int64_t dim, pa_tensor **out);
/* out[i] = a[index[i]] along `dim`; index is a 1-d int64 tensor. */
int pa_index_select(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor **out);
/* Rows `index` of each of n tensors (a DataLoader batch in one call). */
int pa_gather_rows(int n, pa_tensor **tensors, pa_tensor *index, pa_tensor **outs);
/* torch.gather: out[i][j][k] = a[i][index[i][j][k]][k] for dim 1 (index int64, same ndim
 * as a, index.shape[d] <= a.shape[d] for d != dim). */
int pa_gather(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor **out);
/* torch.take_along_dim's gather, once the caller has broadcast a and index (or flattened
 * both, for dim=None): as pa_gather, but the index values are taken modulo a.shape[dim]
 * (Python's %) when `modulo` is set, as PyTorch does with a dim, else must lie in
 * [0, a.shape[dim]); out-of-range values (and a dim of size 0 under `modulo`) are
 * PA_ERR_RUNTIME.  Differentiable in a (GatherBackward). */
int pa_take_along_dim(pa_tensor *a, int64_t dim, pa_tensor *index, int modulo, pa_tensor **out);
/* How pa_scatter and pa_index_put write: copy src (the last write wins among repeated
 * indices), add src (repeats sum up in index order), or fill with `value`. */
enum { PA_SCATTER_COPY = 0, PA_SCATTER_ADD = 1, PA_SCATTER_FILL = 2 };
/* torch.scatter (COPY, or FILL with src NULL) and scatter_add (ADD): a copy of a with
 * src[i][j][k] written to / added to out[i][index[i][j][k]][k] for dim 1.  index int64
 * with a's ndim, no larger than a (but along dim) nor src; values in [0, a.shape[dim]).
 * src is cast to a's dtype.  inplace: a itself is written and *out is a new reference
 * to it; refused when a or src requires grad (record through pa_assign_ instead).
 * Differentiable in a and src. */
int pa_scatter(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor *src, double value, int mode,
               int inplace, pa_tensor **out);
/* How pa_scatter_reduce combines the values a position receives. */
enum { PA_REDUCE_SUM = 0, PA_REDUCE_PROD = 1, PA_REDUCE_MEAN = 2, PA_REDUCE_AMAX = 3, PA_REDUCE_AMIN = 4 };
/* torch.scatter_reduce: a copy of a (or a itself, inplace, as for pa_scatter) where each
 * position that index names along dim holds the reduction of the src values sent there,
 * and of its own value when include_self; the other positions keep a's.  MEAN divides by
 * the number of values (integers: floor division); AMAX / AMIN propagate NaN; bool SUM is
 * or, PROD and.  index int64 with values in [0, a.shape[dim]), src of a's dtype, shapes as
 * pa_scatter (a 0-dim tensor counts as shape (1,)); a shape, dtype or range error is
 * PA_ERR_RUNTIME, as PyTorch's.  Records no gradient: the Python layer records it. */
int pa_scatter_reduce(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor *src, int reduce, int include_self,
                      int inplace, pa_tensor **out);
/* torch.index_add (ADD, alpha * src), index_copy (COPY), index_fill (FILL with src NULL):
 * slice i of src along dim goes to slice index[i] of a copy of a (or of a, inplace, as
 * for pa_scatter).  index 0-d or 1-d int64, in [0, size) (index_fill: [-size, size));
 * src has a's shape but index.numel along dim.  Differentiable in a and src. */
int pa_index_put(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor *src, double value, double alpha,
                 int mode, int inplace, pa_tensor **out);
/* The row-major positions of mask's True elements (a 1-d int64 tensor): x[mask]. */
int pa_mask_positions(pa_tensor *mask, pa_tensor **out);
/* a[indices[0], ..., indices[m-1]] with the m int64 index tensors at dims
 * dims[0] < ... < dims[m-1] of a (PyTorch's advanced indexing of a view whose other
 * dims are taken whole): the indices broadcast together; their shape replaces the
 * indexed dims when these are adjacent, else comes first.  Negative indices wrap;
 * out-of-range ones are an IndexError.  The gradient adds into the positions read
 * (repeated positions accumulate, in index order). */
int pa_index_multi(pa_tensor *a, int m, const int64_t *dims, pa_tensor **indices, pa_tensor **out);
/* a[indices...] = src (mode PA_SCATTER_COPY; the last write wins among repeated
 * positions), += src (PA_SCATTER_ADD) or = value (PA_SCATTER_FILL, src NULL), in place
 * and unrecorded (refused when autograd would need to record it), with the indices as
 * for pa_index_multi; src has a's dtype and pa_index_multi's result shape. */
int pa_index_multi_put(pa_tensor *a, int m, const int64_t *dims, pa_tensor **indices, pa_tensor *src,
                       double value, int mode);

/* ---- linear algebra ------------------------------------------------------------- */
/* torch.matmul semantics: 1-d and 2-d operands, batched with broadcast batch dims. */
int pa_matmul(pa_tensor *a, pa_tensor *b, pa_tensor **out);
/* y = x @ w^T + b (b may be NULL), x (..., in), w (out, in), b (out). */
int pa_linear(pa_tensor *x, pa_tensor *w, pa_tensor *b, pa_tensor **out);
/* Raw GEMM on caller buffers (row-major), sizes checked against the buffer lengths
 * (in elements).  dtype PA_FLOAT32 or PA_FLOAT64. */
int pa_gemm(int dtype, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
            double alpha, const void *a, int64_t lda, int64_t a_numel,
            const void *b, int64_t ldb, int64_t b_numel,
            double beta, void *c, int64_t ldc, int64_t c_numel);
int pa_set_gemm_isa(int isa);     /* -1 auto, 0 generic, 1 avx2, 2 avx512 */
int pa_get_gemm_isa(void);

/* ---- neural-network ops --------------------------------------------------------- */
int pa_softmax(pa_tensor *a, int64_t dim, pa_tensor **out);
int pa_log_softmax(pa_tensor *a, int64_t dim, pa_tensor **out);
enum { PA_REDUCTION_NONE = 0, PA_REDUCTION_MEAN = 1, PA_REDUCTION_SUM = 2 };
/* Fused log_softmax + nll over logits (N, C) or (N, C, d1, ...) and int64 targets
 * (N) or (N, d1, ...).  weight (C) may be NULL. */
int pa_cross_entropy(pa_tensor *logits, pa_tensor *target, pa_tensor *weight,
                     int reduction, int64_t ignore_index, double label_smoothing,
                     pa_tensor **out);
/* Negative log-likelihood of log-probabilities (N, C) or (N, C, d1, ...) (or (C,)) at
 * int64 targets (N, ...) (or 0-d); weight (C, input's dtype) may be NULL; targets equal
 * to ignore_index count nothing; 'mean' divides by the counted targets' weights.  A
 * target outside [0, C) is an IndexError. */
int pa_nll_loss(pa_tensor *input, pa_tensor *target, pa_tensor *weight, int reduction,
                int64_t ignore_index, pa_tensor **out);

/* An elementwise loss of input against target (same shape and float dtype), with
 * d = input - target: PA_LOSS_SMOOTH_L1 0.5 d^2 / beta where |d| < beta, else
 * |d| - 0.5 beta; PA_LOSS_HUBER 0.5 d^2 where |d| < beta, else beta (|d| - 0.5 beta)
 * (both beta > 0); PA_LOSS_MSE d^2; PA_LOSS_L1 |d| (beta unused).  reduction as for
 * pa_cross_entropy. */
enum { PA_LOSS_SMOOTH_L1 = 0, PA_LOSS_HUBER = 1, PA_LOSS_MSE = 2, PA_LOSS_L1 = 3 };
int pa_pointwise_loss(pa_tensor *input, pa_tensor *target, int kind, int reduction, double beta,
                      pa_tensor **out);

/* ---- layers: convolution, pooling, normalisation, dropout, embedding ------------ */
/* 2-d cross-correlation of input (N, C, H, W) with weight (O, C / groups, kH, kW) plus
 * bias (O) (may be NULL), as torch.nn.functional.conv2d: out (N, O, oH, oW). */
int pa_conv2d(pa_tensor *input, pa_tensor *weight, pa_tensor *bias, int64_t stride_h,
              int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dilation_h,
              int64_t dilation_w, int64_t groups, pa_tensor **out);
/* im2col, as torch.nn.functional.unfold: input (N, C, H, W) -> (N, C*kH*kW, L), each
 * column one sliding block; window = {kH, kW, dilation_h, dilation_w, pad_h, pad_w,
 * stride_h, stride_w}. */
int pa_unfold(pa_tensor *input, const int64_t *window, pa_tensor **out);
/* col2im, the adjoint of pa_unfold (torch.nn.functional.fold): input (N, C*kH*kW, L) ->
 * (N, C, out_h, out_w), overlapping values summed; window as for pa_unfold. */
int pa_fold(pa_tensor *input, int64_t out_h, int64_t out_w, const int64_t *window, pa_tensor **out);
/* Max pooling of (N, C, H, W) or (C, H, W) with PyTorch's window rules (implicit -inf
 * padding, ceil_mode).  *indices (may be NULL: not returned) gets the int64 argmax of
 * each window as a flat index into its (H, W) plane. */
int pa_max_pool2d(pa_tensor *input, int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                  int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dilation_h,
                  int64_t dilation_w, int ceil_mode, pa_tensor **out, pa_tensor **indices);
/* Average pooling; divisor_override 0 means none. */
int pa_avg_pool2d(pa_tensor *input, int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                  int64_t stride_w, int64_t pad_h, int64_t pad_w, int ceil_mode,
                  int count_include_pad, int64_t divisor_override, pa_tensor **out);
/* Average over the adaptive windows [floor(i*H/oH), ceil((i+1)*H/oH)). */
int pa_adaptive_avg_pool2d(pa_tensor *input, int64_t out_h, int64_t out_w, pa_tensor **out);
/* Maximum over the same adaptive windows; *indices (may be NULL) as for pa_max_pool2d. */
int pa_adaptive_max_pool2d(pa_tensor *input, int64_t out_h, int64_t out_w, pa_tensor **out,
                           pa_tensor **indices);
/* Pads the last n_pad / 2 dims as torch.nn.functional.pad: pad = (before, after) of the
 * last dim, then of the one before, ...; PA_PAD_CONSTANT fills with `value` (any dtype),
 * the others repeat the input's own elements.  Negative amounts crop.  Reflect needs
 * each amount below the dim's size, circular at most the size. */
enum { PA_PAD_CONSTANT = 0, PA_PAD_REFLECT = 1, PA_PAD_REPLICATE = 2, PA_PAD_CIRCULAR = 3 };
int pa_pad(pa_tensor *input, int n_pad, const int64_t *pad, int mode, double value, pa_tensor **out);
/* Linear interpolation of (N, C, d1[, d2[, d3]]) over its n_dims (1 to 3) spatial dims
 * to out_size, with PyTorch's source positions: scales[d] > 0 is the scale factor given
 * for dim d (its source step is 1 / scale), 0 means in / out; align_corners uses
 * (in - 1) / (out - 1) instead. */
int pa_upsample_linear(pa_tensor *input, int n_dims, const int64_t *out_size, const double *scales,
                       int align_corners, pa_tensor **out);
/* Batch normalisation over dim 1 of (N, C, ...).  training: batch statistics (biased
 * variance), and running_mean/running_var (may be NULL) updated in place with
 * `momentum` (unbiased variance); otherwise the running statistics are used.  weight
 * and bias (C) may be NULL. */
int pa_batch_norm(pa_tensor *input, pa_tensor *running_mean, pa_tensor *running_var,
                  pa_tensor *weight, pa_tensor *bias, int training, double momentum,
                  double eps, pa_tensor **out);
/* Layer normalisation over the last n_normalized dims, which must equal
 * normalized_shape; weight and bias (normalized_shape) may be NULL. */
int pa_layer_norm(pa_tensor *input, int n_normalized, const int64_t *normalized_shape,
                  pa_tensor *weight, pa_tensor *bias, double eps, pa_tensor **out);
/* Zeroes each element with probability p (mask from the core generator) and scales
 * the rest by 1 / (1 - p); a copy of the input when !training or p == 0. */
int pa_dropout(pa_tensor *input, double p, int training, pa_tensor **out);
/* Rows of weight (V, D) at int64 indices of any shape: out (..., D).  Indices outside
 * [0, V) are an IndexError; the padding_idx row (when has_padding_idx) gets no gradient. */
int pa_embedding(pa_tensor *indices, pa_tensor *weight, int has_padding_idx,
                 int64_t padding_idx, pa_tensor **out);
/* x if x > 0 else x * negative_slope. */
int pa_leaky_relu(pa_tensor *input, double negative_slope, pa_tensor **out);
/* x if x > 0 else alpha (e^x - 1); alpha finite. */
int pa_elu(pa_tensor *input, double alpha, pa_tensor **out);
/* log(1 + e^(beta x)) / beta, and x where beta x > threshold; beta finite and non-zero. */
int pa_softplus(pa_tensor *input, double beta, double threshold, pa_tensor **out);
/* min(max(x + 3, 0), 6) / 6 (hardsigmoid), or x times that with `swish` (hardswish). */
int pa_hardsigmoid(pa_tensor *input, int swish, pa_tensor **out);
/* x clamped to [min_val, max_val] (min_val <= max_val), its gradient 0 at the bounds. */
int pa_hardtanh(pa_tensor *input, double min_val, double max_val, pa_tensor **out);
/* The LSTM cell's pointwise part: from gates (N, 4H) (the i, f, g, o pre-activations) and
 * the cell state c (N, H), both with contiguous rows, [h'; c'] (2, N, H) with
 * c' = sigmoid(f) c + sigmoid(i) tanh(g) and h' = sigmoid(o) tanh(c'). */
int pa_lstm_cell(pa_tensor *gates, pa_tensor *c, pa_tensor **out);
/* One LSTM layer over a sequence: from the input projection ih (T, N, 4H) (x W_ih^T +
 * b_ih for every step), the initial state h0, c0 (N, H), W_hh (4H, H) and b_hh (4H,) or
 * NULL, runs the steps in time order (reverse: last to first) and returns (T + 1, N, H):
 * rows 0..T-1 the h of each time index, row T the final c. */
int pa_lstm_layer(pa_tensor *ih, pa_tensor *h0, pa_tensor *c0, pa_tensor *w_hh, pa_tensor *b_hh,
                  int reverse, pa_tensor **out);
/* One GRU layer over a sequence, as pa_lstm_layer: from ih (T, N, 3H), h0 (N, H), W_hh
 * (3H, H) and b_hh (3H,) or NULL, the h of each time index (T, N, H). */
int pa_gru_layer(pa_tensor *ih, pa_tensor *h0, pa_tensor *w_hh, pa_tensor *b_hh, int reverse,
                 pa_tensor **out);
/* One Elman RNN layer over a sequence, as pa_gru_layer: from ih (T, N, H), h0 (N, H), W_hh
 * (H, H) and b_hh (H,) or NULL, h' = tanh(hh + ih) (relu(hh + ih) when relu) at each time
 * index (T, N, H). */
int pa_rnn_layer(pa_tensor *ih, pa_tensor *h0, pa_tensor *w_hh, pa_tensor *b_hh, int relu,
                 int reverse, pa_tensor **out);

/* ---- optimizers ----------------------------------------------------------------- */
/* One fused SGD step over n parameters (PyTorch's algorithm).  momentum_buffers[i] is
 * read and updated when momentum != 0 (created by the caller, zero-filled, and marked
 * by `first_step` so the first step copies the gradient as PyTorch does).  Parameters
 * without a gradient are skipped. */
int pa_sgd_step(int n, pa_tensor **params, pa_tensor **momentum_buffers, double lr,
                double momentum, double dampening, double weight_decay, int nesterov,
                int maximize, int first_step);
/* One fused Adam step (PyTorch's _single_tensor_adam) over n parameters; with
 * decoupled_weight_decay it is AdamW.  exp_avgs, exp_avg_sqs (and max_exp_avg_sqs when
 * amsgrad) hold each parameter's state buffers (zero-filled before the first step);
 * steps[i] is parameter i's step count including this step (>= 1). */
int pa_adam_step(int n, pa_tensor **params, pa_tensor **exp_avgs, pa_tensor **exp_avg_sqs,
                 pa_tensor **max_exp_avg_sqs, const double *steps, double lr, double beta1,
                 double beta2, double eps, double weight_decay, int decoupled_weight_decay,
                 int amsgrad, int maximize);
/* One fused RMSprop step: square_avgs always, grad_avgs when centered, momentum_buffers
 * when momentum > 0 (all zero-filled before the first step). */
int pa_rmsprop_step(int n, pa_tensor **params, pa_tensor **square_avgs, pa_tensor **grad_avgs,
                    pa_tensor **momentum_buffers, double lr, double alpha, double eps,
                    double weight_decay, double momentum, int centered, int maximize);
/* One fused Adagrad step: sums[i] starts at initial_accumulator_value; steps[i] as in
 * pa_adam_step. */
int pa_adagrad_step(int n, pa_tensor **params, pa_tensor **sums, const double *steps, double lr,
                    double lr_decay, double weight_decay, double eps, int maximize);

/* CFFI_END */

#ifdef __cplusplus
}
#endif

#endif
