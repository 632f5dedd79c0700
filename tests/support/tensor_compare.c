#include "tensor_compare.h"

#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float *host_of(const mt_tensor *t) {
    float *h = malloc((size_t)mt_numel(t) * sizeof(float));
    if (h && mt_to_host(t, h) != MT_OK) {
        free(h);
        return NULL;
    }
    return h;
}

const char *shape_str(int nd, const int64_t *shape) {
    static char buf[4][MT_SHAPE_STR_LEN];
    static int next;
    next = (next + 1) % 4;
    return mt_shape_str(nd, shape, buf[next], sizeof buf[next]);
}

int64_t ulp_distance(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia, ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return oa > ob ? oa - ob : ob - oa;
}

/* got against want element by element (row-major). NaN must meet NaN, an infinity the same
 * infinity; CMP_REL allows rel * max(1, |want|). */
void compare(const char *what, const mt_tensor *got_t, const mt_tensor *want_t,
             cmp_mode mode, double rel) {
    if (!got_t || !want_t) {
        CHECK(0, "%s: missing output (%s)", what, mt_last_error());
        return;
    }
    int64_t n = mt_numel(want_t), bad = 0, first = -1;
    float *got = host_of(got_t), *want = host_of(want_t);
    for (int64_t i = 0; got && want && i < n; i++) {
        float g = got[i], w = want[i];
        int ok;
        if (isnan(w) || isnan(g))
            ok = isnan(w) && isnan(g);
        else if (mode == CMP_BITS)
            ok = memcmp(&g, &w, sizeof g) == 0;
        else if (isinf(w) || isinf(g))
            ok = g == w;
        else if (mode == CMP_ULP1)
            ok = ulp_distance(g, w) <= 1;
        else if (mode == CMP_ULP3)
            ok = ulp_distance(g, w) <= 3;
        else
            ok = fabs((double)g - w) <= rel * fmax(1.0, fabs((double)w));
        if (!ok && bad++ == 0) first = i;
    }
    CHECK(got && want && bad == 0,
          "%s: %lld of %lld elements differ (first [%lld]: %.9g, want %.9g)",
          what, (long long)bad, (long long)n, (long long)first,
          first >= 0 ? (double)got[first] : 0.0, first >= 0 ? (double)want[first] : 0.0);
    free(got);
    free(want);
}

void compare_bits(const char *what, const mt_tensor *a, const mt_tensor *b) {
    compare(what, a, b, CMP_BITS, 0.0);
}

