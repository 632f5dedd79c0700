/* Define-by-run autodiff (MiniTorch's autodiff.py): ops record a node on their output; backward
 * sorts the graph topologically and runs each node's backward once, after all of its consumers,
 * accumulating into leaves' .grad. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local bool grad_disabled = false;
static _Thread_local uint32_t visit_generation = 0;

bool mt_set_grad_enabled(bool enabled) {
    bool was = !grad_disabled;
    grad_disabled = !enabled;
    return was;
}
bool mt_grad_enabled(void) { return !grad_disabled; }

mt_status mt_requires_grad(mt_tensor *t, bool on) {
    if (!t) return mt_null_status("mt_requires_grad", "tensor");
    if (t->node && !on)
        return mt_fail(MT_ERR_STATE, "mt_requires_grad: cannot turn off gradients of a non-leaf "
                                     "(use mt_detach)");
    t->requires_grad = on;
    return MT_OK;
}

mt_tensor *mt_detach(mt_ctx *ctx, mt_tensor *t) {
    if (!t) return mt_null_arg("mt_detach", "tensor");
    if (!ctx) return mt_null_arg("mt_detach", "ctx");
    return mt_tensor_alias(ctx, t);
}

mt_tensor *mt_record(mt_ctx *ctx, mt_tensor *out, const mt_function *fn, mt_tensor *const *inputs,
                     int ninputs, mt_node **node_out) {
    if (node_out) *node_out = NULL;
    if (!out) return NULL;
    bool any = false;
    for (int i = 0; i < ninputs; i++) {
        if (!inputs[i]) return mt_null_arg(fn->name, "input");
        any |= inputs[i]->requires_grad;
    }
    if (grad_disabled || !any) return out;
    mt_node *node = mt_ctx_alloc(ctx, sizeof *node);
    if (!node) return NULL;
    memset(node, 0, sizeof *node);
    node->fn = fn;
    node->ninputs = ninputs;
    node->inputs = node->inline_inputs;
    if (ninputs > MT_NODE_MAX_INPUTS &&
        !(node->inputs = mt_ctx_alloc(ctx, sizeof(*node->inputs) * (size_t)ninputs)))
        return NULL;
    for (int i = 0; i < ninputs; i++) node->inputs[i] = inputs[i];
    out->node = node;
    out->requires_grad = true;
    if (node_out) *node_out = node;
    return out;
}

mt_tensor *mt_unbroadcast(mt_ctx *ctx, mt_tensor *g, int ndim, const int64_t *shape) {
    if (!g) return NULL;
    if (g->ndim == ndim && memcmp(g->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0) return g;
    int n;
    int64_t joint[MT_MAX_DIMS];
    if (mt_shape_broadcast(g->ndim, g->shape, ndim, shape, &n, joint) != MT_OK) return NULL;
    mt_tensor *r = g;
    if (n != ndim || memcmp(joint, shape, sizeof(int64_t) * (size_t)n) != 0) {
        /* The input was broadcast up to the gradient's shape: sum the broadcast dims away. */
        int lead = r->ndim - ndim;
        for (int d = 0; d < r->ndim && r; d++) {
            int src = d - lead;
            if (r->shape[d] > 1 && (src < 0 || shape[src] == 1))
                r = mt_apply_reduce(ctx, MT_OP_SUM, r, d);
        }
        if (!r) return NULL;
        /* the leading dims are size 1 now: drop them (no copy needed) */
        mt_tensor *v = mt_tensor_alias(ctx, r);
        if (!v) return NULL;
        v->ndim = ndim;
        for (int d = 0; d < ndim; d++) {
            v->shape[d] = r->shape[d + lead];
            v->strides[d] = r->strides[d + lead];
        }
        r = v;
    }
    if (r->ndim != ndim || memcmp(r->shape, shape, sizeof(int64_t) * (size_t)ndim) != 0) {
        /* The gradient is smaller than the input (a reduction's backward): expand it. */
        mt_tensor *e = mt_tensor_alloc(ctx, mt_tensor_backend(r), ndim, shape);
        if (!e || mt_apply_map_into(e, MT_OP_ID, r) != MT_OK) return NULL;
        r = e;
    }
    return r;
}

/* Adds g into a leaf's gradient, which lives in the leaf's own context. */
static mt_status accumulate_leaf(mt_tensor *leaf, mt_tensor *g) {
    if (!leaf->grad) {
        leaf->grad = mt_tensor_alloc(leaf->ctx, mt_tensor_backend(leaf), leaf->ndim, leaf->shape);
        if (!leaf->grad) return mt_last_status();
        return mt_apply_map_into(leaf->grad, MT_OP_ID, g);
    }
    return mt_apply_zip_into(leaf->grad, MT_OP_ADD, leaf->grad, g);
}

static mt_status accumulate_node(mt_ctx *ctx, mt_node *node, mt_tensor *g) {
    if (!node->grad_accum) {
        node->grad_accum = g;
        return MT_OK;
    }
    node->grad_accum = mt_apply_zip(ctx, MT_OP_ADD, node->grad_accum, g);
    return node->grad_accum ? MT_OK : mt_last_status();
}

/* Reverse post-order DFS over non-leaf tensors, iterative so deep graphs cannot overflow the C
 * stack. Returns a malloc'd array of tensors, output first. */
static mt_status topological_order(mt_tensor *out, mt_tensor ***order_out, int *count_out) {
    uint32_t mark = ++visit_generation;
    int cap = 64, count = 0, depth = 0, stack_cap = 64;
    mt_tensor **order = malloc(sizeof(*order) * (size_t)cap);
    struct frame {
        mt_tensor *t;
        int next_input;
    } *stack = malloc(sizeof(*stack) * (size_t)stack_cap);
    if (!order || !stack) {
        free(order);
        free(stack);
        return mt_fail(MT_ERR_OOM, "backward: out of memory");
    }
    out->visit_mark = mark;
    stack[depth++] = (struct frame){out, 0};
    while (depth > 0) {
        struct frame *f = &stack[depth - 1];
        mt_node *node = f->t->node;
        if (f->next_input < node->ninputs) {
            mt_tensor *in = node->inputs[f->next_input++];
            /* a stale input's node is no longer trustworthy: stop before following it */
            if (mt_check_live("backward", in) != MT_OK) goto stale;
            if (in->node && in->visit_mark != mark) {
                in->visit_mark = mark;
                if (depth == stack_cap) {
                    stack_cap *= 2;
                    void *p = realloc(stack, sizeof(*stack) * (size_t)stack_cap);
                    if (!p) goto oom;
                    stack = p;
                }
                stack[depth++] = (struct frame){in, 0};
            }
            continue;
        }
        if (count == cap) {
            cap *= 2;
            void *p = realloc(order, sizeof(*order) * (size_t)cap);
            if (!p) goto oom;
            order = p;
        }
        order[count++] = f->t;
        depth--;
    }
    free(stack);
    /* post-order has inputs before consumers; reverse it */
    for (int i = 0; i < count / 2; i++) {
        mt_tensor *tmp = order[i];
        order[i] = order[count - 1 - i];
        order[count - 1 - i] = tmp;
    }
    *order_out = order;
    *count_out = count;
    return MT_OK;
oom:
    free(order);
    free(stack);
    return mt_fail(MT_ERR_OOM, "backward: out of memory");
stale:
    free(order);
    free(stack);
    return mt_last_status();
}

static mt_status run_backward(mt_ctx *ctx, mt_tensor **order, int count) {
    for (int i = 0; i < count; i++) {
        mt_node *node = order[i]->node;
        mt_tensor *g = node->grad_accum;
        if (!g) continue; /* nothing flowed here (cannot happen from a connected output) */
        mt_tensor *inline_grads[MT_NODE_MAX_INPUTS] = {NULL};
        mt_tensor **grads = inline_grads;
        if (node->ninputs > MT_NODE_MAX_INPUTS) {
            if (!(grads = mt_ctx_alloc(ctx, sizeof(*grads) * (size_t)node->ninputs)))
                return mt_last_status();
            memset(grads, 0, sizeof(*grads) * (size_t)node->ninputs);
        }
        MT_TRY(node->fn->backward(ctx, node, g, grads));
        for (int k = 0; k < node->ninputs; k++) {
            mt_tensor *in = node->inputs[k];
            if (!in->requires_grad || !grads[k]) continue;
            mt_tensor *gk = mt_unbroadcast(ctx, grads[k], in->ndim, in->shape);
            if (!gk) return mt_last_status();
            MT_TRY(in->node ? accumulate_node(ctx, in->node, gk) : accumulate_leaf(in, gk));
        }
    }
    return MT_OK;
}

mt_status mt_backward(mt_ctx *ctx, mt_tensor *out, mt_tensor *grad) {
    if (!out) return mt_null_status("backward", "output tensor");
    if (!ctx) return mt_null_status("backward", "ctx");
    /* the graph hangs off out and its inputs: a stale one points into reused memory */
    MT_TRY(mt_check_live("backward", out));
    if (grad) MT_TRY(mt_check_live("backward", grad));
    if (!out->requires_grad)
        return mt_fail(MT_ERR_STATE, "backward: the tensor does not require a gradient (no input "
                                     "had requires_grad set, or it was made under no_grad)");
    char s[MT_SHAPE_STR_LEN], s2[MT_SHAPE_STR_LEN];
    if (!grad) {
        if (mt_numel(out) != 1)
            return mt_fail(MT_ERR_SHAPE,
                           "backward: the output has shape %s; pass a gradient of that shape or "
                           "reduce it to one element first",
                           mt_shape_str(out->ndim, out->shape, s, sizeof s));
        grad = mt_full(ctx, out->ndim, out->shape, 1.0f);
        if (!grad) return mt_last_status();
        if (mt_tensor_backend(grad) != mt_tensor_backend(out))
            grad = mt_to(ctx, grad, mt_tensor_backend(out));
        if (!grad) return mt_last_status();
    } else {
        if (!mt_same_shape(grad, out))
            return mt_fail(MT_ERR_SHAPE, "backward: gradient shape %s does not match output %s",
                           mt_shape_str(grad->ndim, grad->shape, s, sizeof s),
                           mt_shape_str(out->ndim, out->shape, s2, sizeof s2));
        MT_TRY(mt_check_same_backend("backward", out, grad));
    }
    if (!out->node) return accumulate_leaf(out, grad);

    mt_tensor **order = NULL;
    int count = 0;
    MT_TRY(topological_order(out, &order, &count));
    bool was = mt_set_grad_enabled(false); /* backward formulas build no graph of their own */
    out->node->grad_accum = grad;
    mt_status st = run_backward(ctx, order, count);
    mt_set_grad_enabled(was);
    /* Intermediate gradients live in ctx, which the caller may reset: forget them. */
    for (int i = 0; i < count; i++) order[i]->node->grad_accum = NULL;
    free(order);
    return st;
}

mt_status mt_zero_grad(mt_tensor *t) {
    if (!t) return mt_null_status("mt_zero_grad", "tensor");
    if (!t->grad) return MT_OK;
    /* the zero scalar comes from the grad's own context, so repeated calls reuse one tensor */
    static const float zero = 0.0f;
    mt_tensor *z = mt_ctx_cached_scalar(t->grad->ctx, mt_tensor_backend(t->grad), zero);
    if (!z) return mt_last_status();
    return mt_apply_map_into(t->grad, MT_OP_ID, z);
}
