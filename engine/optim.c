/* Optimizers update parameters in place through the parameters' own backend kernels, so the same
 * code runs on every backend. Temporaries go to the caller's scratch context. */
#include "internal.h"

mt_status mt_sgd_step(mt_ctx *scratch, mt_params *list, float lr) {
    if (!scratch || !list) return mt_fail(MT_ERR_ARG, "mt_sgd_step: NULL argument");
    for (int i = 0; i < list->count; i++) {
        mt_tensor *p = list->items[i];
        if (!p->grad) continue; /* a parameter the loss did not reach */
        mt_tensor *step = mt_apply_zip(scratch, MT_OP_MUL, p->grad,
                                       mt_ctx_cached_scalar(scratch, mt_tensor_backend(p), -lr));
        if (!step) return mt_last_status();
        MT_TRY(mt_apply_zip_into(p, MT_OP_ADD, p, step));
    }
    return MT_OK;
}
