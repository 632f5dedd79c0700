/* Parameter lists: a model is a plain struct of tensors, and this list is what optimizers walk. */
#include "internal.h"

#include <stdlib.h>

mt_status mt_params_add(mt_params *list, const char *name, mt_tensor *t) {
    if (!list) return mt_null_status("mt_params_add", "list");
    if (!t) return mt_null_status("mt_params_add", "tensor");
    if (list->count == list->capacity) {
        int cap = list->capacity ? list->capacity * 2 : 16;
        mt_tensor **items = realloc(list->items, sizeof(*items) * (size_t)cap);
        if (!items) return mt_fail(MT_ERR_OOM, "mt_params_add: out of memory");
        list->items = items;
        const char **names = realloc(list->names, sizeof(*names) * (size_t)cap);
        if (!names) return mt_fail(MT_ERR_OOM, "mt_params_add: out of memory");
        list->names = names;
        list->capacity = cap;
    }
    list->items[list->count] = t;
    list->names[list->count] = name ? name : "";
    list->count++;
    return MT_OK;
}

mt_tensor *mt_param_new(mt_ctx *ctx, mt_params *list, const char *name, mt_tensor *init) {
    if (!init) return mt_null_arg("mt_param_new", "init");
    if (!ctx) return mt_null_arg("mt_param_new", "ctx");
    /* a parameter is a leaf: a fresh contiguous copy, cut from any history the init had */
    bool was = mt_set_grad_enabled(false);
    mt_tensor *p = mt_apply_map(ctx, MT_OP_ID, init);
    mt_set_grad_enabled(was);
    if (!p) return NULL;
    p->requires_grad = true;
    if (list && mt_params_add(list, name, p) != MT_OK) return NULL;
    return p;
}

void mt_params_free(mt_params *list) {
    if (!list) return;
    free(list->items);
    free(list->names);
    *list = (mt_params){0};
}

int64_t mt_params_numel(const mt_params *list) {
    if (!list) return 0;
    int64_t n = 0;
    for (int i = 0; i < list->count; i++) n += mt_numel(list->items[i]);
    return n;
}

mt_status mt_params_zero_grad(mt_params *list) {
    if (!list) return mt_null_status("mt_params_zero_grad", "list");
    for (int i = 0; i < list->count; i++) MT_TRY(mt_zero_grad(list->items[i]));
    return MT_OK;
}

/* The mode lives in the list because the list is the one object a whole model shares: every
 * layer registered in it can see it, as PyTorch's model.train() reaches every submodule. */
mt_status mt_params_train(mt_params *list, bool training) {
    if (!list) return mt_null_status("mt_params_train", "list");
    list->eval = !training;
    return MT_OK;
}

mt_status mt_params_eval(mt_params *list) {
    if (!list) return mt_null_status("mt_params_eval", "list");
    return mt_params_train(list, false);
}

bool mt_params_is_training(const mt_params *list) { return list && !list->eval; }
