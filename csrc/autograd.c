/* The autograd graph and the backward engine.
 *
 * A node records the op that made a tensor, edges to where its inputs' gradients go
 * (the inputs' own nodes, or the leaves that accumulate them), and detached aliases of
 * the values its backward needs.  A tensor owns its node; a node owns the nodes and
 * leaves of its inputs; nothing points back at an output, so there are no cycles.
 *
 * The engine knows nothing about any op: it counts how many gradients each node will
 * receive, runs nodes once all their gradients have arrived (a topological order),
 * reduces broadcast gradients to the input's shape, and accumulates.  */
#include <stdlib.h>

#include "internal.h"

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

static _Thread_local int grad_disabled;
static int64_t live_nodes;
static uint64_t epoch_counter;

void pa_set_grad_enabled(int enabled) { grad_disabled = !enabled; }
int pa_is_grad_enabled(void) { return !grad_disabled; }
int64_t pa_live_nodes(void) { return __atomic_load_n(&live_nodes, __ATOMIC_RELAXED); }

static const char *const op_names[] = {
#define PA_OP_NAME(name, str) str,
    PA_OP_LIST(PA_OP_NAME)
#undef PA_OP_NAME
};
_Static_assert(sizeof op_names / sizeof op_names[0] == PA_OP_COUNT, "one name per op");

static const pa_backward_fn backward_fns[] = {
#define PA_OP_FN(name, str) pa_backward_##name,
    PA_OP_LIST(PA_OP_FN)
#undef PA_OP_FN
};
_Static_assert(sizeof backward_fns / sizeof backward_fns[0] == PA_OP_COUNT, "one backward per op");

const char *pa_op_name(pa_op op) { return op < PA_OP_COUNT ? op_names[op] : "UnknownBackward"; }

const char *pa_node_name(const pa_node *node) { return node ? pa_op_name(node->op) : "None"; }

bool pa_needs_grad(int n, pa_tensor *const *inputs) {
    if (grad_disabled) return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad) return true;
    return false;
}

/* ---- nodes --------------------------------------------------------------------- */
static void meta_of(const pa_tensor *t, pa_meta *m) {
    m->ndim = t->ndim;
    m->dtype = t->dtype;
    memcpy(m->shape, t->shape, sizeof m->shape);
}

pa_node *pa_node_new(pa_op op, int n_inputs, pa_tensor *const *inputs, pa_tensor *out) {
    /* One allocation for the node and its edges. */
    size_t n = (size_t)(n_inputs > 0 ? n_inputs : 0);
    pa_node *node = calloc(1, sizeof *node + n * sizeof(pa_edge));
    if (!node) {
        pa_error(PA_ERR_MEMORY, "out of memory recording %s", pa_op_name(op));
        return NULL;
    }
    pa_edge *next = (pa_edge *)(node + 1);
    node->refcount = 1;
    node->op = op;
    node->n_inputs = n_inputs;
    node->next = next;
    for (int i = 0; i < n_inputs; i++) {
        pa_tensor *in = inputs[i];
        if (!in) continue;
        meta_of(in, &next[i].meta);
        if (!in->requires_grad) continue;
        if (in->grad_fn) {
            next[i].node = in->grad_fn;
            pa_node_retain(in->grad_fn);
        } else {
            next[i].leaf = in;
            pa_tensor_retain(in);
        }
    }
    meta_of(out, &node->out);
    out->grad_fn = node;
    out->requires_grad = 1;
    __atomic_fetch_add(&live_nodes, 1, __ATOMIC_RELAXED);
    return node;
}

int pa_node_save(pa_node *node, int slot, pa_tensor *t) {
    pa_tensor *saved = t;
    if (t->grad_fn == node) {
        /* The node's own output: keep a detached alias, never the output itself (the
         * output owns the node, so that would be a cycle). */
        saved = pa_tensor_view_of(t, t->offset, t->ndim, t->shape, t->strides);
        if (!saved) return PA_ERR_MEMORY;
    } else {
        pa_tensor_retain(t);  /* an input or a temporary: no path leads back to this node */
    }
    node->saved[slot] = saved;
    node->saved_version[slot] = t->storage->version;
    return PA_OK;
}

int pa_node_copy_saved(pa_node *node, pa_tensor *a) {
    for (int i = 0; node && i < PA_NODE_MAX_SAVED; i++) {
        if (node->saved[i] != a) continue;
        pa_tensor *copy = pa_tensor_new(a->ndim, a->shape, a->dtype);
        if (!copy) return PA_ERR_MEMORY;
        pa_copy_strided(copy, a);
        node->saved[i] = copy;
        node->saved_version[i] = copy->storage->version;
        pa_tensor_release(a);
    }
    return PA_OK;
}

int pa_rebase_history(pa_tensor *a, pa_tensor *r) {
    pa_node *node = r->grad_fn;
    pa_node *old = a->grad_fn;
    if (old && old->retained == a) old->retained = NULL;
    if (!node) {  /* a's new values depend on nothing that requires grad */
        a->grad_fn = NULL;
        a->requires_grad = 0;
        a->retains_grad = 0;
        pa_node_release(old);
        return PA_OK;
    }
    TRY(pa_node_copy_saved(node, a));
    if (a->retains_grad) node->retained = a;
    pa_node_retain(node);
    a->grad_fn = node;
    a->requires_grad = 1;
    pa_node_release(old);
    return PA_OK;
}

bool pa_input_needs_grad(const pa_node *node, int i) {
    return node->next[i].node || node->next[i].leaf;
}

void pa_node_retain(pa_node *n) {
    if (n) __atomic_fetch_add(&n->refcount, 1, __ATOMIC_RELAXED);
}

static void release_saved(pa_node *n) {
    for (int i = 0; i < PA_NODE_MAX_SAVED; i++) {
        pa_tensor_release(n->saved[i]);
        n->saved[i] = NULL;
    }
}

/* Iterative, so that freeing a long chain of nodes does not recurse once per node. */
void pa_node_release(pa_node *n) {
    if (!n) return;
    size_t cap = 16, top = 0;
    pa_node *local[16];
    pa_node **stack = local;
    stack[top++] = n;
    while (top) {
        pa_node *cur = stack[--top];
        if (__atomic_sub_fetch(&cur->refcount, 1, __ATOMIC_ACQ_REL) != 0) continue;
        release_saved(cur);
        pa_tensor_release(cur->grad);
        pa_hooks_free(cur->hooks);
        if (cur->custom_release) cur->custom_release(cur->custom_ctx);
        for (int i = 0; i < cur->n_inputs; i++) {
            pa_tensor_release(cur->next[i].leaf);
            pa_node *m = cur->next[i].node;
            if (!m) continue;
            if (top == cap) {
                pa_node **bigger = malloc(2 * cap * sizeof *bigger);
                if (!bigger) abort();  /* cannot free without memory to track what to free */
                memcpy(bigger, stack, cap * sizeof *bigger);
                if (stack != local) free(stack);
                stack = bigger;
                cap *= 2;
            }
            stack[top++] = m;
        }
        free(cur);
        __atomic_fetch_sub(&live_nodes, 1, __ATOMIC_RELAXED);
    }
    if (stack != local) free(stack);
}

/* ---- tensor-level autograd state ------------------------------------------------ */
int pa_set_requires_grad(pa_tensor *t, int requires_grad) {
    PA_REQUIRE("set_requires_grad", t, "NULL tensor or result pointer");
    if (t->grad_fn && !requires_grad)
        return pa_error(PA_ERR_RUNTIME, "requires_grad_: you can only change requires_grad "
                        "flags of leaf variables (use detach())");
    if (requires_grad && !pa_is_float(t->dtype))
        return pa_error(PA_ERR_RUNTIME, "requires_grad_: only Tensors of floating point dtype "
                        "can require gradients, got %s", pa_dtype_name(t->dtype));
    if (!t->grad_fn) t->requires_grad = requires_grad != 0;
    return PA_OK;
}

int pa_get_grad(const pa_tensor *t, pa_tensor **out) {
    PA_REQUIRE("get_grad", t && out, "NULL tensor or result pointer");
    *out = t->grad;
    pa_tensor_retain(t->grad);
    return PA_OK;
}

int pa_set_grad(pa_tensor *t, pa_tensor *grad) {
    PA_REQUIRE("set_grad", t, "NULL tensor or result pointer");
    if (grad && (grad == t || grad->storage == t->storage))
        return pa_error(PA_ERR_RUNTIME, "grad: can't assign a tensor (or a view of its memory) as "
                        "its own grad");
    if (grad && (!pa_same_shape(t, grad) || grad->dtype != t->dtype)) {
        char b1[128], b2[128];
        return pa_error(PA_ERR_VALUE, "grad: assigned grad of shape %s and dtype %s does not "
                        "match the tensor's shape %s and dtype %s", PA_SHAPE_STR(grad, b1),
                        pa_dtype_name(grad->dtype), PA_SHAPE_STR(t, b2), pa_dtype_name(t->dtype));
    }
    pa_tensor_retain(grad);
    pa_tensor_release(t->grad);
    t->grad = grad;
    return PA_OK;
}

int pa_detach(pa_tensor *t, pa_tensor **out) {
    PA_REQUIRE("detach", t && out, "NULL tensor or result pointer");
    *out = pa_tensor_view_of(t, t->offset, t->ndim, t->shape, t->strides);
    return *out ? PA_OK : PA_ERR_MEMORY;
}

int pa_detach_inplace(pa_tensor *t) {
    PA_REQUIRE("detach_", t, "NULL tensor");
    pa_node *old = t->grad_fn;
    if (old && (old->op == PA_OP_VIEW || old->op == PA_OP_PERMUTE || old->op == PA_OP_EXPAND ||
                old->op == PA_OP_SLICE || old->op == PA_OP_SELECT))
        return pa_error(PA_ERR_RUNTIME, "detach_: Can't detach views in-place. Use detach() instead.");
    if (old && old->retained == t) old->retained = NULL;
    t->grad_fn = NULL;
    t->requires_grad = 0;
    t->retains_grad = 0;
    pa_node_release(old);
    return PA_OK;
}

/* ---- gradient plumbing ---------------------------------------------------------- */
pa_tensor *pa_sum_to_shape(pa_tensor *grad, const pa_meta *meta) {
    bool same = grad->ndim == meta->ndim;
    for (int d = 0; same && d < meta->ndim; d++) same = grad->shape[d] == meta->shape[d];
    pa_tensor *g = grad;
    pa_tensor_retain(g);
    if (!same) {
        int64_t dims[PA_MAX_DIMS];
        int n = 0, lead = grad->ndim - meta->ndim;
        for (int d = 0; d < grad->ndim; d++)
            if (d < lead || (meta->shape[d - lead] == 1 && grad->shape[d] != 1)) dims[n++] = d;
        pa_tensor *summed = NULL, *shaped = NULL;
        if (n > 0 && pa_sum(g, n, dims, 1, &summed)) summed = NULL;
        pa_tensor *src = n > 0 ? summed : g;
        if (src && pa_reshape(src, meta->ndim, meta->shape, &shaped)) shaped = NULL;
        pa_tensor_release(summed);
        pa_tensor_release(g);
        g = shaped;
        if (!g) return NULL;
    }
    if (g->dtype != meta->dtype) {
        pa_tensor *c = pa_cast_nograd(g, meta->dtype);
        pa_tensor_release(g);
        g = c;
    }
    return g;
}

/* Whether t's memory is referenced by nothing but this one handle. */
static bool exclusively_owned(const pa_tensor *t) {
    return t->refcount == 1 && t->storage->refcount == 1 && !t->storage->release;
}

/* *slot += g, in place when *slot is ours alone and contiguous (a gradient may be an
 * expanded view, e.g. a sum's, whose elements share memory: adding into it in place
 * would add every element's share into one cell); takes no ownership of g.  For a
 * leaf's .grad (`leaf` true) the stored tensor is always contiguous and never shared
 * with a gradient flowing elsewhere. */
static int accumulate(pa_tensor **slot, pa_tensor *g, bool leaf) {
    if (!*slot) {
        if (!leaf || (exclusively_owned(g) && pa_tensor_is_contiguous(g))) {
            pa_tensor_retain(g);
            *slot = g;
            return PA_OK;
        }
        return pa_clone(g, slot);
    }
    if (leaf || (exclusively_owned(*slot) && pa_tensor_is_contiguous(*slot)))
        return pa_binary_(PA_BIN_ADD, *slot, g);
    pa_tensor *sum;
    TRY(pa_binary(PA_BIN_ADD, *slot, g, &sum));
    pa_tensor_release(*slot);
    *slot = sum;
    return PA_OK;
}

static int check_saved_versions(const pa_node *n) {
    for (int i = 0; i < PA_NODE_MAX_SAVED; i++) {
        const pa_tensor *s = n->saved[i];
        if (s && s->storage->version != n->saved_version[i])
            return pa_error(PA_ERR_RUNTIME, "backward: one of the variables needed for gradient "
                            "computation has been modified by an inplace operation (saved by "
                            "%s at version %lld; it is now at version %lld)", pa_op_name(n->op),
                            (long long)n->saved_version[i], (long long)s->storage->version);
    }
    return PA_OK;
}

typedef struct {
    pa_node **items;
    size_t len, cap;
} node_list;

static int list_push(node_list *l, pa_node *n) {
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        pa_node **items = realloc(l->items, cap * sizeof *items);
        if (!items) return pa_error(PA_ERR_MEMORY, "backward: out of memory");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = n;
    return PA_OK;
}

/* ---- hooks --------------------------------------------------------------------- */
static int64_t hook_counter;

void pa_hooks_free(struct pa_hook *h) {
    while (h) {
        struct pa_hook *next = h->next;
        if (h->release) h->release(h->ctx);
        free(h);
        h = next;
    }
}

/* Runs the hooks on *g, replacing it when a hook returns a replacement. */
static int run_hooks(struct pa_hook *h, pa_tensor **g) {
    for (; h; h = h->next) {
        pa_tensor *rep = NULL;
        int rc = h->fn(h->ctx, *g, &rep);
        if (rc) {
            pa_tensor_release(rep);
            return rc;
        }
        if (!rep) continue;
        if (!pa_same_shape(rep, *g)) {
            char b1[128], b2[128];
            rc = pa_error(PA_ERR_VALUE, "hook: returned a gradient of shape %s for a gradient of shape %s",
                          PA_SHAPE_STR(rep, b1), PA_SHAPE_STR(*g, b2));
            pa_tensor_release(rep);
            return rc;
        }
        pa_tensor_release(*g);
        *g = rep;
    }
    return PA_OK;
}

int pa_register_hook(pa_tensor *t, pa_hook_fn fn, void (*release)(void *), void *ctx,
                     int64_t *handle_out) {
    PA_REQUIRE("register_hook", t && fn && handle_out, "NULL tensor, hook or handle pointer");
    if (!t->requires_grad)
        return pa_error(PA_ERR_RUNTIME, "register_hook: cannot register a hook on a tensor that "
                        "doesn't require gradient");
    struct pa_hook *h = calloc(1, sizeof *h), **list = t->grad_fn ? &t->grad_fn->hooks : &t->hooks;
    if (!h) return pa_error(PA_ERR_MEMORY, "register_hook: out of memory");
    *h = (struct pa_hook){.fn = fn, .release = release, .ctx = ctx,
                          .id = __atomic_add_fetch(&hook_counter, 1, __ATOMIC_RELAXED)};
    while (*list) list = &(*list)->next;  /* hooks run in registration order */
    *list = h;
    *handle_out = h->id;
    return PA_OK;
}

/* Unlinks and frees the hook `handle` from *list; whether it was there. */
static bool remove_from(struct pa_hook **list, int64_t handle) {
    for (; *list; list = &(*list)->next)
        if ((*list)->id == handle) {
            struct pa_hook *h = *list;
            *list = h->next;
            h->next = NULL;
            pa_hooks_free(h);
            return true;
        }
    return false;
}

int pa_remove_hook(pa_tensor *t, int64_t handle) {
    PA_REQUIRE("remove_hook", t, "NULL tensor or result pointer");
    if (!t->grad_fn) {
        remove_from(&t->hooks, handle);
        return PA_OK;  /* already removed: like PyTorch's RemovableHandle, removing twice is fine */
    }
    if (remove_from(&t->grad_fn->hooks, handle)) return PA_OK;
    /* A hook registered before an in-place op stays on the node the tensor had then (it
     * sees the gradient of the old values), which the tensor's node now reaches: search
     * the graph behind it (hook ids are unique). */
    node_list todo = {0};
    uint64_t epoch = __atomic_add_fetch(&epoch_counter, 1, __ATOMIC_RELAXED);
    int rc = list_push(&todo, t->grad_fn);
    t->grad_fn->visit_epoch = epoch;
    bool found = false;
    while (!rc && !found && todo.len) {
        pa_node *n = todo.items[--todo.len];
        found = remove_from(&n->hooks, handle);
        for (int i = 0; !rc && i < n->n_inputs; i++) {
            pa_node *m = n->next[i].node;
            if (m && m->visit_epoch != epoch) {
                m->visit_epoch = epoch;
                rc = list_push(&todo, m);
            }
        }
    }
    free(todo.items);
    return rc;
}

int pa_retain_grad(pa_tensor *t) {
    PA_REQUIRE("retain_grad", t, "NULL tensor or result pointer");
    if (!t->requires_grad)
        return pa_error(PA_ERR_RUNTIME, "retain_grad: can't retain_grad on Tensor that has "
                        "requires_grad=False");
    if (t->grad_fn) {
        t->grad_fn->retained = t;
        t->retains_grad = 1;
    }
    return PA_OK;
}

/* ---- custom (Python-defined) functions ------------------------------------------ */
int pa_custom_function(int n_inputs, pa_tensor **inputs, pa_tensor *output,
                       pa_custom_backward_fn backward_fn, void (*release)(void *), void *ctx) {
    if (n_inputs < 0) {
        if (release) release(ctx);
        return pa_error(PA_ERR_VALUE, "Function.apply: negative number of inputs");
    }
    if (!output || !backward_fn || (n_inputs > 0 && !inputs)) {
        if (release) release(ctx);
        return pa_error(PA_ERR_VALUE, "Function.apply: invalid argument: NULL output, backward "
                        "function or inputs");
    }
    for (int i = 0; i < n_inputs; i++)
        if (!inputs[i]) {
            if (release) release(ctx);
            return pa_error(PA_ERR_VALUE, "Function.apply: invalid argument: NULL input %d", i);
        }
    if (output->grad_fn || output->requires_grad) {
        if (release) release(ctx);
        return pa_error(PA_ERR_RUNTIME, "Function.apply: the output of forward must be a new tensor "
                        "that does not require grad");
    }
    if (!pa_needs_grad(n_inputs, inputs) || !pa_is_float(output->dtype)) {
        if (release) release(ctx);
        return PA_OK;
    }
    pa_node *node = pa_node_new(PA_OP_CUSTOM, n_inputs, inputs, output);
    if (!node) {
        if (release) release(ctx);
        return PA_ERR_MEMORY;
    }
    node->custom_backward = backward_fn;
    node->custom_release = release;
    node->custom_ctx = ctx;
    return PA_OK;
}

int pa_backward_CUSTOM(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    return node->custom_backward(node->custom_ctx, g, node->n_inputs, grads);
}

/* ---- the engine ---------------------------------------------------------------- */
/* autograd.grad: gradients are captured for these inputs instead of accumulated. */
typedef struct {
    int n;
    pa_tensor **inputs;
    pa_tensor **grads;
} capture;

static int capture_leaf(capture *cap, pa_tensor *leaf, pa_tensor *g) {
    for (int i = 0; i < cap->n; i++)
        if (cap->inputs[i] == leaf) return accumulate(&cap->grads[i], g, false);
    return PA_OK;
}

static int capture_node(capture *cap, pa_node *n, pa_tensor *g) {
    for (int i = 0; i < cap->n; i++)
        if (cap->inputs[i]->grad_fn == n) TRY(accumulate(&cap->grads[i], g, false));
    return PA_OK;
}

/* Hands one input gradient on (taking over the caller's reference to g): hooks and
 * accumulation for a leaf, the pending gradient of a node.  A gradient that nothing
 * else references becomes the leaf's .grad without a copy. */
static int deliver(pa_edge *e, pa_tensor *g, capture *cap) {
    int rc = PA_OK;
    if (e->node) {
        rc = accumulate(&e->node->grad, g, false);
    } else {
        rc = run_hooks(e->leaf->hooks, &g);
        if (!rc) rc = cap ? capture_leaf(cap, e->leaf, g) : accumulate(&e->leaf->grad, g, true);
    }
    pa_tensor_release(g);
    return rc;
}

/* The gradient of a SLICE or SELECT node (a region of its input), added straight into
 * that region of the input's gradient being accumulated (zeros of the input's shape the
 * first time), where the node's own backward would build a zero tensor of the whole
 * input for it and the sum would then add that whole tensor: the gradients of many
 * slices of one tensor (an RNN's time steps, chunk's pieces) cost their own size
 * instead of the whole tensor's each.  Sets *done when it did so; it does not when the
 * input is a leaf with hooks or in autograd.grad (they take whole gradients) or the
 * accumulated gradient is shared or strided.  The sums are the same numbers.
 * NOTE: measured: an LSTM (128 -> 256, 50 steps, batch 32, two threads) forward and
 * backward 135 -> 65 ms, the backward alone 108 -> 31 ms. */
static int accumulate_into_region(pa_node *n, pa_tensor *g, bool in_grad, bool *done) {
    *done = false;
    pa_edge *e = &n->next[0];
    if ((n->op != PA_OP_SLICE && n->op != PA_OP_SELECT) || n->n_inputs != 1 ||
        g->dtype != e->meta.dtype)
        return PA_OK;
    pa_tensor **slot;
    if (e->node)
        slot = &e->node->grad;
    else if (e->leaf && !e->leaf->hooks && !in_grad)
        slot = &e->leaf->grad;
    else
        return PA_OK;
    pa_tensor *acc = *slot;
    if (acc) {
        bool same = acc->dtype == e->meta.dtype && acc->ndim == e->meta.ndim &&
                    pa_tensor_is_contiguous(acc) && (!e->node || exclusively_owned(acc));
        for (int d = 0; same && d < acc->ndim; d++) same = acc->shape[d] == e->meta.shape[d];
        if (!same) return PA_OK;
    }
    pa_tensor *z = acc ? acc : pa_tensor_zeros(e->meta.ndim, e->meta.shape, e->meta.dtype), *v = NULL;
    PA_CHECK_OOM(z);
    int rc = pa_node_region_of(n, z, &v);
    if (!rc && acc)
        rc = pa_binary_(PA_BIN_ADD, v, g);
    else if (!rc)
        pa_copy_strided(v, g);
    pa_tensor_release(v);
    if (rc) {
        if (!acc) pa_tensor_release(z);
        return rc;
    }
    *slot = z;
    *done = true;
    return PA_OK;
}

/* Runs one node: hooks on its gradient, its backward, then hands each input's gradient
 * on; nodes that become ready are pushed onto `ready`. */
static int run_node(pa_node *n, int retain_graph, node_list *ready, capture *cap) {
    pa_tensor *g = n->grad;
    n->grad = NULL;
    int rc = PA_OK;
    if (n->released)
        rc = pa_error(PA_ERR_RUNTIME, "backward: trying to backward through the graph a second "
                      "time (or directly access saved tensors after they have already been "
                      "freed); %s's saved values were freed by the first backward. Specify "
                      "retain_graph=True the first time", pa_op_name(n->op));
    if (!rc) rc = check_saved_versions(n);
    if (!rc && g && n->hooks) rc = run_hooks(n->hooks, &g);
    if (!rc && g && cap) rc = capture_node(cap, n, g);
    if (!rc && g && n->retained && !cap) rc = accumulate(&n->retained->grad, g, true);
    pa_tensor *local[8] = {0};
    pa_tensor **grads = n->n_inputs <= 8 ? local : calloc((size_t)n->n_inputs, sizeof *grads);
    if (!grads) rc = pa_error(PA_ERR_MEMORY, "backward: out of memory");
    bool done = false;
    if (!rc && g) rc = accumulate_into_region(n, g, cap != NULL, &done);
    if (!rc && g && !done) rc = backward_fns[n->op](n, g, grads);
    pa_tensor_release(g);
    for (int i = 0; grads && i < n->n_inputs; i++) {
        pa_edge *e = &n->next[i];
        if (!rc && grads[i] && (e->node || e->leaf)) {
            pa_tensor *gi = pa_sum_to_shape(grads[i], &e->meta);
            pa_tensor_release(grads[i]);  /* before deliver: gi may then be ours alone */
            grads[i] = NULL;
            rc = gi ? deliver(e, gi, cap) : PA_ERR_MEMORY;
        }
        pa_tensor_release(grads[i]);
        if (e->node && --e->node->pending == 0 && !rc) rc = list_push(ready, e->node);
    }
    if (grads != local) free(grads);
    if (!retain_graph) {
        release_saved(n);
        n->released = 1;
    }
    return rc;
}

/* The gradient each root starts with: `grad` cast to the root's dtype, or 1 for a
 * scalar.  A new reference, or NULL with the error recorded. */
static pa_tensor *root_gradient(const char *op, pa_tensor *root, pa_tensor *grad) {
    char b1[128], b2[128];
    if (!root->requires_grad) {
        pa_error(PA_ERR_RUNTIME, "%s: element 0 of tensors does not require grad and does not "
                 "have a grad_fn", op);
        return NULL;
    }
    if (!grad && root->numel != 1) {
        pa_error(PA_ERR_RUNTIME, "%s: grad can be implicitly created only for scalar outputs "
                 "(got a tensor of shape %s)", op, PA_SHAPE_STR(root, b1));
        return NULL;
    }
    if (grad && !pa_same_shape(root, grad)) {
        pa_error(PA_ERR_VALUE, "%s: gradient of shape %s does not match the output's shape %s", op,
                 PA_SHAPE_STR(grad, b1), PA_SHAPE_STR(root, b2));
        return NULL;
    }
    if (grad) return pa_cast_nograd(grad, root->dtype);
    pa_tensor *one = pa_tensor_new(root->ndim, root->shape, root->dtype);
    if (one) PA_DISPATCH_FLOAT(root->dtype, T, { *(T *)one->data = 1; });
    return one;
}

/* Backpropagates from n roots with the given starting gradients (borrowed). */
static int run_engine(int n, pa_tensor **roots, pa_tensor **grads, int retain_graph, capture *cap) {
    uint64_t epoch = __atomic_add_fetch(&epoch_counter, 1, __ATOMIC_RELAXED);
    node_list all = {0}, ready = {0};
    int rc = PA_OK;
    /* Leaf roots take their gradient at once; node roots are collected. */
    for (int r = 0; !rc && r < n; r++) {
        pa_node *start = roots[r]->grad_fn;
        if (!start) {
            pa_edge e = {.leaf = roots[r]};
            pa_tensor_retain(grads[r]);
            rc = deliver(&e, grads[r], cap);
        } else if (start->visit_epoch != epoch) {
            start->visit_epoch = epoch;
            start->pending = 0;
            rc = list_push(&all, start);
        }
    }
    /* Pass 1: every reachable node and how many gradients it will receive. */
    for (size_t k = 0; !rc && k < all.len; k++) {
        pa_node *nd = all.items[k];
        for (int i = 0; !rc && i < nd->n_inputs; i++) {
            pa_node *m = nd->next[i].node;
            if (!m) continue;
            if (m->visit_epoch != epoch) {
                m->visit_epoch = epoch;
                m->pending = 0;
                rc = list_push(&all, m);
            }
            m->pending++;
        }
    }
    /* Pass 2: seed the roots, then run nodes once all their gradients have arrived. */
    for (int r = 0; !rc && r < n; r++)
        if (roots[r]->grad_fn) rc = accumulate(&roots[r]->grad_fn->grad, grads[r], false);
    for (int r = 0; !rc && r < n; r++) {
        pa_node *start = roots[r]->grad_fn;
        if (start && start->pending == 0) {
            start->pending = -1;  /* queued once even if several roots share it */
            rc = list_push(&ready, start);
        }
    }
    while (!rc && ready.len) rc = run_node(ready.items[--ready.len], retain_graph, &ready, cap);
    /* After an error, drop gradients still waiting in nodes. */
    for (size_t k = 0; k < all.len; k++) {
        pa_tensor_release(all.items[k]->grad);
        all.items[k]->grad = NULL;
    }
    free(all.items);
    free(ready.items);
    return rc;
}

int pa_backward(pa_tensor *root, pa_tensor *grad, int retain_graph) {
    PA_REQUIRE("backward", root, "NULL tensor or result pointer");
    pa_tensor *g0 = root_gradient("backward", root, grad);
    if (!g0) return pa_last_error_code() ? pa_last_error_code() : PA_ERR_MEMORY;
    int was_enabled = pa_is_grad_enabled();
    pa_set_grad_enabled(0);
    int rc = run_engine(1, &root, &g0, retain_graph, NULL);
    pa_set_grad_enabled(was_enabled);
    pa_tensor_release(g0);
    return rc;
}

int pa_grad(int n_outputs, pa_tensor **outputs, pa_tensor **grad_outputs, int n_inputs,
            pa_tensor **inputs, int retain_graph, int allow_unused, pa_tensor **grads_out) {
    if (n_outputs < 1 || n_inputs < 1)
        return pa_error(PA_ERR_VALUE, "grad: needs at least one output and one input");
    for (int i = 0; i < n_inputs; i++) {
        grads_out[i] = NULL;
        if (!inputs[i]->requires_grad)
            return pa_error(PA_ERR_RUNTIME, "grad: one of the differentiated Tensors (input %d) does "
                            "not require grad", i);
    }
    pa_tensor **g0 = calloc((size_t)n_outputs, sizeof *g0);
    if (!g0) return pa_error(PA_ERR_MEMORY, "grad: out of memory");
    int rc = PA_OK;
    for (int r = 0; !rc && r < n_outputs; r++) {
        g0[r] = root_gradient("grad", outputs[r], grad_outputs ? grad_outputs[r] : NULL);
        if (!g0[r]) rc = pa_last_error_code() ? pa_last_error_code() : PA_ERR_MEMORY;
    }
    int was_enabled = pa_is_grad_enabled();
    pa_set_grad_enabled(0);
    capture cap = {.n = n_inputs, .inputs = inputs, .grads = grads_out};
    if (!rc) rc = run_engine(n_outputs, outputs, g0, retain_graph, &cap);
    pa_set_grad_enabled(was_enabled);
    for (int r = 0; r < n_outputs; r++) pa_tensor_release(g0[r]);
    free(g0);
    for (int i = 0; !rc && i < n_inputs; i++)
        if (!grads_out[i] && !allow_unused)
            rc = pa_error(PA_ERR_RUNTIME, "grad: one of the differentiated Tensors (input %d) appears "
                          "to not have been used in the graph. Set allow_unused=True if this is "
                          "the desired behavior", i);
    if (rc)
        for (int i = 0; i < n_inputs; i++) {
            pa_tensor_release(grads_out[i]);
            grads_out[i] = NULL;
        }
    return rc;
}
