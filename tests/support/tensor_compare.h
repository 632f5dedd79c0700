/* Element-by-element comparison of two tensors for the backend tests (openmp vs naive). */
#ifndef MT_TENSOR_COMPARE_H
#define MT_TENSOR_COMPARE_H

#include "minitorch.h"

typedef enum { CMP_BITS, CMP_ULP1, CMP_ULP3, CMP_REL } cmp_mode;

/* A malloc'd row-major copy of t's elements (NULL on failure); the caller frees it. */
float *host_of(const mt_tensor *t);
/* "(2, 3)" in one of four rotating static buffers, so a message may hold a few at once. */
const char *shape_str(int nd, const int64_t *shape);
/* Distance in representable floats (same sign ordering as the reals). */
int64_t ulp_distance(float a, float b);
/* got against want, row-major: NaN must meet NaN and an infinity the same infinity; otherwise
 * CMP_BITS wants identical bits, CMP_ULP1 (CMP_ULP3) at most one (two) ulp, CMP_REL
 * rel * max(1, |want|).
 * Records one CHECK. */
void compare(const char *what, const mt_tensor *got, const mt_tensor *want, cmp_mode mode,
             double rel);
void compare_bits(const char *what, const mt_tensor *got, const mt_tensor *want);

#endif
