/* Private declarations shared by the core's files: storage, graph nodes, the op table,
 * dtype dispatch and small helpers.  Nothing here is seen by cffi. */
#ifndef PA_INTERNAL_H
#define PA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pyautodiff.h"
#include "error.h"

/* ---- storage ------------------------------------------------------------------- */
struct pa_storage {
    int64_t refcount;
    int64_t version;          /* bumped by every in-place write */
    size_t nbytes;
    void *data;
    void (*release)(void *);  /* external memory: called instead of freeing */
    void *release_ctx;
};

void *pa_alloc(size_t nbytes);           /* 64-byte aligned, from the size-bucket cache */
void pa_free(void *p, size_t nbytes);
pa_storage *pa_storage_new(size_t nbytes); /* NULL on failure, error recorded */
void pa_storage_retain(pa_storage *s);
void pa_storage_release(pa_storage *s);

/* ---- tensors ------------------------------------------------------------------- */
/* A new tensor header over `storage` (retained), with contiguous strides. */
pa_tensor *pa_tensor_wrap(pa_storage *storage, int64_t offset, int ndim,
                          const int64_t *shape, const int64_t *strides, int dtype);
/* A new contiguous tensor with uninitialised data; NULL with error recorded. */
pa_tensor *pa_tensor_new(int ndim, const int64_t *shape, int dtype);
pa_tensor *pa_tensor_new_like(const pa_tensor *t);
pa_tensor *pa_tensor_zeros(int ndim, const int64_t *shape, int dtype);
/* A view sharing a's storage with the given geometry (no graph). */
pa_tensor *pa_tensor_view_of(const pa_tensor *a, int64_t offset, int ndim,
                             const int64_t *shape, const int64_t *strides);
void pa_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
int64_t pa_shape_numel(int ndim, const int64_t *shape);
/* The element count of a shape, or -1 when it exceeds PA_MAX_NUMEL (or a size is negative). */
int64_t pa_checked_numel(int ndim, const int64_t *shape);
#define PA_MAX_NUMEL (INT64_C(1) << 50)
bool pa_same_shape(const pa_tensor *a, const pa_tensor *b);
/* Writes "(2, 3)" into buf (for error messages). */
const char *pa_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);
#define PA_SHAPE_STR(t, buf) pa_shape_str((t)->ndim, (t)->shape, buf, sizeof buf)
const char *pa_dtype_name(int dtype);
void pa_bump_version(pa_tensor *t);
/* PA_ERR_RUNTIME naming `op` when an in-place op would write t, whose elements overlap (a
 * dim of size > 1 with stride 0, as expand makes): PyTorch's check, same message. */
int pa_check_no_internal_overlap(const char *op, const pa_tensor *t);
/* Copies src (any strides, broadcast to dst's shape, same dtype) into dst. */
void pa_copy_strided(pa_tensor *dst, const pa_tensor *src);

/* The view a SLICE or SELECT node took of its input, taken instead of `base` (a tensor
 * of the input's shape); an error for any other node. */
struct pa_node;
int pa_node_region_of(const struct pa_node *node, pa_tensor *base, pa_tensor **out);
/* A contiguous tensor with a's values: a new reference (a itself if contiguous). */
pa_tensor *pa_contiguous_nograd(pa_tensor *a);
/* For an op that has just allocated its output y (NULL if that failed): *x = the
 * contiguous form of src, or PA_ERR_MEMORY with y released. */
static inline int pa_contiguous_with(pa_tensor *src, pa_tensor *y, pa_tensor **x) {
    *x = y ? pa_contiguous_nograd(src) : NULL;
    if (*x) return PA_OK;
    pa_tensor_release(y);
    return PA_ERR_MEMORY;
}
/* dtype conversion without graph: new reference (a itself if the dtype matches). */
pa_tensor *pa_cast_nograd(pa_tensor *a, int dtype);
int pa_normalize_dim(const char *op, int64_t dim, int ndim, int64_t *out);
bool pa_is_float(int dtype);

/* ---- dtype dispatch ------------------------------------------------------------ */
/* Runs BODY with T typedef'd to the C type of a floating dtype. */
#define PA_DISPATCH_FLOAT(dtype, T, ...)                           \
    do {                                                           \
        if ((dtype) == PA_FLOAT32) { typedef float T; __VA_ARGS__ } \
        else { typedef double T; __VA_ARGS__ }                     \
    } while (0)

#define PA_DISPATCH_ALL(dtype, T, ...)                                  \
    do {                                                                \
        switch (dtype) {                                                \
        case PA_FLOAT32: { typedef float T; __VA_ARGS__ } break;        \
        case PA_FLOAT64: { typedef double T; __VA_ARGS__ } break;       \
        case PA_INT64: { typedef int64_t T; __VA_ARGS__ } break;        \
        default: { typedef uint8_t T; __VA_ARGS__ } break;              \
        }                                                               \
    } while (0)

/* ---- graph nodes --------------------------------------------------------------- */
/* The op table: one line per differentiable op (enum name, printed name).  Layer ops
 * (convolution, pooling, normalisation, ...) are listed in ops/layer_ops.h. */
#include "ops/layer_ops.h"

#define PA_OP_LIST(X) PA_OP_LIST_CORE(X) PA_OP_LIST_LAYERS(X)

#define PA_OP_LIST_CORE(X)                     \
    X(ADD, "AddBackward")                      \
    X(SUB, "SubBackward")                      \
    X(MUL, "MulBackward")                      \
    X(DIV, "DivBackward")                      \
    X(POW, "PowBackward")                      \
    X(MAXIMUM, "MaximumBackward")              \
    X(MINIMUM, "MinimumBackward")              \
    X(ATAN2, "Atan2Backward")                  \
    X(UNARY, "UnaryBackward")                  \
    X(CLAMP, "ClampBackward")                  \
    X(WHERE, "WhereBackward")                  \
    X(CAST, "ToCopyBackward")                  \
    X(SUM, "SumBackward")                      \
    X(MEAN, "MeanBackward")                    \
    X(MAX, "MaxBackward")                      \
    X(VIEW, "ViewBackward")                    \
    X(PERMUTE, "PermuteBackward")              \
    X(EXPAND, "ExpandBackward")                \
    X(SLICE, "SliceBackward")                  \
    X(SELECT, "SelectBackward")                \
    X(COPY, "CloneBackward")                   \
    X(CAT, "CatBackward")                      \
    X(INDEX_SELECT, "IndexSelectBackward")     \
    X(MATMUL, "MmBackward")                    \
    X(LINEAR, "AddmmBackward")                 \
    X(SOFTMAX, "SoftmaxBackward")              \
    X(LOG_SOFTMAX, "LogSoftmaxBackward")       \
    X(CROSS_ENTROPY, "CrossEntropyBackward")   \
    X(GATHER, "GatherBackward")                \
    X(LOGSUMEXP, "LogsumexpBackward")          \
    X(CUMSUM, "CumsumBackward")                \
    X(SCATTER, "ScatterBackward")              \
    X(INDEX_MULTI, "IndexBackward")            \
    X(NLL_LOSS, "NllLossBackward")             \
    X(CUSTOM, "CustomFunctionBackward")

typedef enum {
#define PA_OP_ENUM(name, str) PA_OP_##name,
    PA_OP_LIST(PA_OP_ENUM)
#undef PA_OP_ENUM
    PA_OP_COUNT
} pa_op;

/* The shape/dtype an input had when the node was made: its gradient must match. */
typedef struct {
    int32_t ndim;
    int32_t dtype;
    int64_t shape[PA_MAX_DIMS];
} pa_meta;

/* Where an input's gradient goes: the node that produced the input, or the leaf to
 * accumulate into; both NULL when the input needs no gradient. */
typedef struct {
    pa_node *node;
    pa_tensor *leaf;
    pa_meta meta;
} pa_edge;

enum { PA_NODE_MAX_SAVED = 4 };

struct pa_node {
    int64_t refcount;
    pa_op op;
    int32_t n_inputs;
    int32_t released;          /* saved tensors freed by a backward without retain */
    pa_edge *next;             /* n_inputs edges */
    pa_tensor *saved[PA_NODE_MAX_SAVED];
    int64_t saved_version[PA_NODE_MAX_SAVED];
    pa_meta out;               /* shape and dtype of the output */
    int64_t iarg[2 * PA_MAX_DIMS];  /* op parameters */
    double farg[4];
    struct pa_hook *hooks;     /* hooks on the output's gradient */
    pa_tensor *retained;       /* weak: the output, when it retains its grad */
    pa_custom_backward_fn custom_backward;   /* autograd.Function */
    void (*custom_release)(void *);
    void *custom_ctx;
    /* backward-engine scratch */
    uint64_t visit_epoch;      /* backward pass that last reached this node */
    int64_t pending;           /* gradients still to arrive in this backward pass */
    pa_tensor *grad;           /* gradient accumulated for the output so far */
};

/* Computes the gradients of a node's inputs from the gradient of its output.  grads[i]
 * is only asked for when node->next[i] needs it; leaving it NULL means "zero".  Saved
 * tensors are in node->saved.  Grad mode is off while it runs, so it may call any op. */
typedef int (*pa_backward_fn)(pa_node *node, pa_tensor *grad_out, pa_tensor **grads);

const char *pa_op_name(pa_op op);

/* Whether an op on these inputs must record a node: grad mode on and some input
 * requires grad. */
bool pa_needs_grad(int n, pa_tensor *const *inputs);

/* Makes a node for `out`, computed by `op` from `inputs`; sets out->grad_fn and
 * out->requires_grad.  NULL with error recorded on failure (out is untouched). */
pa_node *pa_node_new(pa_op op, int n_inputs, pa_tensor *const *inputs, pa_tensor *out);
/* Saves a detached alias of t (never t itself: no cycles through an output). */
int pa_node_save(pa_node *node, int slot, pa_tensor *t);
bool pa_input_needs_grad(const pa_node *node, int i);
/* For an in-place op about to overwrite a: a node that saved a's values (x.mul_(w) with
 * w requiring grad needs the old x) keeps a copy of them instead, as PyTorch does (a
 * handle of a would also close a cycle once a owns the node). */
int pa_node_copy_saved(pa_node *node, pa_tensor *a);
/* For an in-place op about to write the values of r (recorded by the graph, same shape
 * and dtype as a) into a: a takes r's place in the graph, its grad_fn becoming r's
 * node (after pa_node_copy_saved on it). */
int pa_rebase_history(pa_tensor *a, pa_tensor *r);

void pa_node_retain(pa_node *n);
void pa_node_release(pa_node *n);

/* A gradient hook (a singly linked list per tensor or node). */
struct pa_hook {
    struct pa_hook *next;
    pa_hook_fn fn;
    void (*release)(void *);
    void *ctx;
    int64_t id;
};
void pa_hooks_free(struct pa_hook *h);

/* Sums `grad` over broadcast dims so it has shape `meta` (a new reference). */
pa_tensor *pa_sum_to_shape(pa_tensor *grad, const pa_meta *meta);

/* The backward function of each op, defined beside its forward. */
#define PA_OP_DECLARE_BACKWARD(name, str) int pa_backward_##name(pa_node *, pa_tensor *, pa_tensor **);
PA_OP_LIST(PA_OP_DECLARE_BACKWARD)
#undef PA_OP_DECLARE_BACKWARD

/* ---- misc ---------------------------------------------------------------------- */
/* Thread count for a loop over `n` elements (1 below a size threshold). */
int pa_threads_for_elements(int64_t n);
uint64_t pa_rng_next(void);
double pa_rng_uniform(void);   /* [0, 1) with 53 random bits */
double pa_rng_normal(void);

#define PA_CHECK_OOM(p) do { if (!(p)) return PA_ERR_MEMORY; } while (0)

/* Argument checks of the public API: a NULL pointer where one is required, or a
 * negative count, is a ValueError naming the op and the argument. */
#define PA_REQUIRE(op, cond, what)                                                          \
    do {                                                                                    \
        if (!(cond)) return pa_error(PA_ERR_VALUE, "%s: invalid argument: %s", op, what);   \
    } while (0)

#endif
