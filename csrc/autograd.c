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

const char *pa_node_name(const pa_node *node) { return pa_op_name(node->op); }

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
    pa_node *node = calloc(1, sizeof *node);
    pa_edge *next = calloc((size_t)(n_inputs > 0 ? n_inputs : 1), sizeof *next);
    if (!node || !next) {
        free(node);
        free(next);
        pa_error(PA_ERR_MEMORY, "out of memory recording %s", pa_op_name(op));
        return NULL;
    }
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
    pa_tensor *alias = pa_tensor_view_of(t, t->offset, t->ndim, t->shape, t->strides);
    if (!alias) return PA_ERR_MEMORY;
    node->saved[slot] = alias;
    node->saved_version[slot] = t->storage->version;
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
        free(cur->next);
        free(cur);
        __atomic_fetch_sub(&live_nodes, 1, __ATOMIC_RELAXED);
    }
    if (stack != local) free(stack);
}

/* ---- tensor-level autograd state ------------------------------------------------ */
int pa_set_requires_grad(pa_tensor *t, int requires_grad) {
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
    *out = t->grad;
    pa_tensor_retain(t->grad);
    return PA_OK;
}

int pa_set_grad(pa_tensor *t, pa_tensor *grad) {
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
    *out = pa_tensor_view_of(t, t->offset, t->ndim, t->shape, t->strides);
    return *out ? PA_OK : PA_ERR_MEMORY;
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

/* *slot += g, in place when *slot is ours alone; takes no ownership of g.  For a leaf's
 * .grad (`leaf` true) the stored tensor is always contiguous and never shared with a
 * gradient flowing elsewhere. */
static int accumulate(pa_tensor **slot, pa_tensor *g, bool leaf) {
    if (!*slot) {
        if (!leaf || (exclusively_owned(g) && pa_tensor_is_contiguous(g))) {
            pa_tensor_retain(g);
            *slot = g;
            return PA_OK;
        }
        return pa_clone(g, slot);
    }
    if (leaf || exclusively_owned(*slot)) return pa_binary_(PA_BIN_ADD, *slot, g);
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

/* Runs one node: its backward, then hands each input's gradient on.  Returns the
 * status; gradients of nodes that become ready are pushed onto `ready`. */
static int run_node(pa_node *n, int retain_graph, node_list *ready) {
    pa_tensor *g = n->grad;
    n->grad = NULL;
    int rc = PA_OK;
    if (n->released)
        rc = pa_error(PA_ERR_RUNTIME, "backward: trying to backward through the graph a second "
                      "time (or directly access saved tensors after they have already been "
                      "freed); %s's saved values were freed by the first backward. Specify "
                      "retain_graph=True the first time", pa_op_name(n->op));
    if (!rc) rc = check_saved_versions(n);
    pa_tensor *local[8] = {0};
    pa_tensor **grads = n->n_inputs <= 8 ? local : calloc((size_t)n->n_inputs, sizeof *grads);
    if (!grads) rc = pa_error(PA_ERR_MEMORY, "backward: out of memory");
    if (!rc && g) rc = backward_fns[n->op](n, g, grads);
    pa_tensor_release(g);
    for (int i = 0; i < n->n_inputs; i++) {
        pa_edge *e = &n->next[i];
        if (!rc && grads[i] && (e->node || e->leaf)) {
            pa_tensor *gi = pa_sum_to_shape(grads[i], &e->meta);
            if (!gi) rc = PA_ERR_MEMORY;
            else rc = accumulate(e->leaf ? &e->leaf->grad : &e->node->grad, gi, e->leaf != NULL);
            pa_tensor_release(gi);
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

int pa_backward(pa_tensor *root, pa_tensor *grad, int retain_graph) {
    char b1[128], b2[128];
    if (!root->requires_grad)
        return pa_error(PA_ERR_RUNTIME, "backward: element 0 of tensors does not require grad "
                        "and does not have a grad_fn");
    if (!grad && root->numel != 1)
        return pa_error(PA_ERR_RUNTIME, "backward: grad can be implicitly created only for scalar "
                        "outputs (got a tensor of shape %s)", PA_SHAPE_STR(root, b1));
    if (grad && !pa_same_shape(root, grad))
        return pa_error(PA_ERR_VALUE, "backward: gradient of shape %s does not match the "
                        "output's shape %s", PA_SHAPE_STR(grad, b1), PA_SHAPE_STR(root, b2));
    pa_tensor *g0 = grad ? pa_cast_nograd(grad, root->dtype)
                         : pa_tensor_new(root->ndim, root->shape, root->dtype);
    if (!g0) return PA_ERR_MEMORY;
    if (!grad) PA_DISPATCH_FLOAT(root->dtype, T, { *(T *)g0->data = 1; });

    int was_enabled = pa_is_grad_enabled();
    pa_set_grad_enabled(0);
    int rc = PA_OK;
    if (!root->grad_fn) {
        rc = accumulate(&root->grad, g0, true);
        pa_tensor_release(g0);
        pa_set_grad_enabled(was_enabled);
        return rc;
    }

    /* Pass 1: find every node reachable from the root and count its incoming edges. */
    uint64_t epoch = __atomic_add_fetch(&epoch_counter, 1, __ATOMIC_RELAXED);
    node_list all = {0}, ready = {0};
    pa_node *start = root->grad_fn;
    start->visit_epoch = epoch;
    start->pending = 0;
    rc = list_push(&all, start);
    for (size_t k = 0; !rc && k < all.len; k++) {
        pa_node *n = all.items[k];
        for (int i = 0; !rc && i < n->n_inputs; i++) {
            pa_node *m = n->next[i].node;
            if (!m) continue;
            if (m->visit_epoch != epoch) {
                m->visit_epoch = epoch;
                m->pending = 0;
                rc = list_push(&all, m);
            }
            m->pending++;
        }
    }

    /* Pass 2: run nodes in dependency order. */
    if (!rc) {
        pa_tensor_release(start->grad);
        start->grad = g0;
        g0 = NULL;
        rc = list_push(&ready, start);
    }
    while (!rc && ready.len) rc = run_node(ready.items[--ready.len], retain_graph, &ready);

    /* After an error, drop gradients still waiting in nodes. */
    for (size_t k = 0; k < all.len; k++) {
        pa_tensor_release(all.items[k]->grad);
        all.items[k]->grad = NULL;
    }
    pa_tensor_release(g0);
    free(all.items);
    free(ready.items);
    pa_set_grad_enabled(was_enabled);
    return rc;
}
