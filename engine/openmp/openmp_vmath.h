/* Branch-free exp, log and sigmoid for the openmp backend's elementwise loops.
 *
 * Why not libm: glibc's vector variants are only declared under -ffast-math, so a `#pragma omp
 * simd` loop that calls exp() runs one scalar call per element. These functions use nothing but
 * IEEE +, -, *, /, comparisons and integer bit operations, so the compiler vectorises them and the
 * vector body and the scalar remainder loop give the same bits for the same input (the results do
 * not depend on where a thread's chunk starts).
 *
 * Accuracy: they work in double and round to float once at the caller. The polynomial truncation
 * error is below 1e-11 relative, far under float's half ulp (3e-8), so the float result is the
 * correctly rounded value of the true function except when the true value lies within ~1e-11 of a
 * rounding midpoint; the error is at most 1 ulp against the naive backend's (float)exp((double)x).
 * tests/test_openmp.c checks that bound on a dense sweep of inputs.
 *
 * MT_OP_EXP and MT_OP_SIGMOID themselves use the float32 functions at the end of this file: eight
 * double lanes per vector and a degree-10 polynomial made them 6x (exp) and 11x (sigmoid) slower
 * than a memcpy of the same bytes. */
#ifndef MT_OPENMP_VMATH_H
#define MT_OPENMP_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

static inline uint64_t mt_vm_bits_d(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline double mt_vm_from_bits_d(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static inline uint32_t mt_vm_bits_f(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline float mt_vm_from_bits_f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* a * b + c: fused where the target has a fast FMA (one rounding, one instruction), else two
 * operations. Either way the vector body and the scalar remainder of a loop compute the same
 * expression, so a build's results do not depend on where a chunk starts. */
#if defined(FP_FAST_FMA)
#define MT_VM_MADD(a, b, c) fma((a), (b), (c))
#else
#define MT_VM_MADD(a, b, c) ((a) * (b) + (c))
#endif

/* c ? a : b as bit operations. With a plain ternary, GCC's jump threading sees a constant on one
 * arm (a clamped input), folds the whole function into a constant there and leaves a branch that
 * the vectorizer then refuses; a bitwise blend keeps the loop straight-line. */
static inline float mt_vm_select_f(int c, float a, float b) {
    uint32_t m = 0u - (uint32_t)(c != 0);
    return mt_vm_from_bits_f((mt_vm_bits_f(a) & m) | (mt_vm_bits_f(b) & ~m));
}
static inline double mt_vm_select_d(int c, double a, double b) {
    uint64_t m = 0u - (uint64_t)(c != 0);
    return mt_vm_from_bits_d((mt_vm_bits_d(a) & m) | (mt_vm_bits_d(b) & ~m));
}

/* e^x for x in [-745, 709] (callers clamp; NaN propagates). x*log2(e) = n + f with n an integer
 * and |f| <= 1/2; 2^f = e^(f ln 2) by its Taylor series to degree 10 (|f ln 2| <= 0.347, so the
 * remainder is below 0.347^11/11! = 2e-13), and 2^n is built in the exponent bits. */
static inline double mt_vm_exp_d(double x) {
    const double log2e = 1.4426950408889634074;
    const double shifter = 0x1.8p52; /* adding it rounds to an integer, kept in the low bits */
    double y = x * log2e;
    double t = y + shifter;
    double n = t - shifter;
    double g = (y - n) * 0.69314718055994530942; /* f ln 2 */
    double p = 1.0 / 3628800.0;
    p = MT_VM_MADD(p, g, 1.0 / 362880.0);
    p = MT_VM_MADD(p, g, 1.0 / 40320.0);
    p = MT_VM_MADD(p, g, 1.0 / 5040.0);
    p = MT_VM_MADD(p, g, 1.0 / 720.0);
    p = MT_VM_MADD(p, g, 1.0 / 120.0);
    p = MT_VM_MADD(p, g, 1.0 / 24.0);
    p = MT_VM_MADD(p, g, 1.0 / 6.0);
    p = MT_VM_MADD(p, g, 0.5);
    p = MT_VM_MADD(p, g, 1.0);
    p = MT_VM_MADD(p, g, 1.0);
    /* bits(t) = bits(1.5 * 2^52) + n; shifting (n + 1023) into the exponent field drops the
     * shifter's own bits. Valid for -1022 <= n <= 1023. */
    double scale = mt_vm_from_bits_d((mt_vm_bits_d(t) + 1023u) << 52);
    return p * scale;
}

/* ln x of a float, in double. x = 2^k z with z in [0.699, 1.399) (musl's logf split, done on the
 * bits), then ln z = 2 atanh(s), s = (z-1)/(z+1), |s| <= 0.178, by its odd series to s^15
 * (remainder below 0.0317^8/17 = 6e-14). Subnormals are scaled by 2^23 first. */
static inline double mt_vm_logf_d(float x) {
    int sub = x < 0x1p-126f;
    float xs = x * mt_vm_select_f(sub, 0x1p23f, 1.0f);
    uint32_t ix = mt_vm_bits_f(xs);
    uint32_t tmp = ix - 0x3f330000u;
    int32_t k = (int32_t)(tmp & 0xff800000u) / (1 << 23) - 23 * sub;
    double z = (double)mt_vm_from_bits_f(ix - (tmp & 0xff800000u));
    double s = (z - 1.0) / (z + 1.0);
    double s2 = s * s;
    double p = 1.0 / 15.0;
    p = MT_VM_MADD(p, s2, 1.0 / 13.0);
    p = MT_VM_MADD(p, s2, 1.0 / 11.0);
    p = MT_VM_MADD(p, s2, 1.0 / 9.0);
    p = MT_VM_MADD(p, s2, 1.0 / 7.0);
    p = MT_VM_MADD(p, s2, 1.0 / 5.0);
    p = MT_VM_MADD(p, s2, 1.0 / 3.0);
    p = MT_VM_MADD(p, s2, 1.0);
    double r = (double)k * 0.69314718055994530942 + 2.0 * s * p;
    /* IEEE special values, as log() gives them */
    r = mt_vm_select_d(x == 0.0f, -(double)INFINITY, r);
    r = mt_vm_select_d(x < 0.0f, (double)NAN, r);
    r = mt_vm_select_d(x == INFINITY, (double)INFINITY, r);
    r = mt_vm_select_d(x != x, (double)x, r);
    return r;
}

/* The logistic function in double, with scalar_ops.h's two forms folded into one: e = e^-|x|
 * never overflows, and 1/(1+e) or e/(1+e) is picked by the sign. e stays a normal double down to
 * -708 (the range mt_vm_exp_d covers) and is 0 below -745.14, where double exp underflows, so that
 * sigmoid_back's s (1 - s) g gives naive's 0 * inf = NaN for infinite inputs too. */
static inline double mt_vm_sigmoid_d(float x) {
    double m = -fabs((double)x);
    double e = mt_vm_exp_d(mt_vm_select_d(m < -708.0, -708.0, m));
    e = mt_vm_select_d(m < -745.14, 0.0, e);
    double r = mt_vm_select_d(x >= 0.0f, 1.0, e) / (1.0 + e);
    return mt_vm_select_d(x != x, (double)x, r);
}

/* ------------------------------------------------------------------ float32 exp and sigmoid
 *
 * e^x in float: n = round(x log2 e) by the shifter trick (one FMA: t = x log2e + 1.5 2^23 keeps n
 * in t's low mantissa bits, rounded to nearest even from the exact product), r = x - n ln2 in two
 * FMA steps (ln2_hi has 9 significant bits, so n ln2_hi is exact for |n| < 2^15 and x - n ln2_hi
 * is exact by Sterbenz), e^r by a degree-6 polynomial on |r| <= 0.347 (coefficients fitted for
 * relative error 7.7e-9, rounded to float), then e^x = p 2^n rounded once. Inputs are clamped to
 * [-104, 89]: below, the result rounds to 0, above, it overflows to inf, and NaN passes the clamp.
 *
 * Accuracy, checked on every float input against (float)exp((double)x): at most 1 ulp (99.5% are
 * exact), infinities, zeros and NaN where naive has them, subnormal results within 1 ulp of theirs.
 * tests/test_openmp.c checks it on a dense sweep and the special values.
 *
 * Same bits on both paths: the AVX-512 path and the portable one do the same IEEE operations.
 * The vector scales by 2^n with one vscalefps (one rounding, also for subnormal and infinite
 * results), or, when every lane's result is a normal float (-125 <= n <= 127), by adding n to
 * the exponent bits, which is exact; the portable path multiplies by 2^(n - n/2) and 2^(n/2) in
 * turn: the first product is exact, so the second is the one rounding. fmaf is exact by the C
 * standard; where the target has no FMA instruction it is a library call (correct, slow).
 * tests/test_openmp.c checks that the backend's output (vector body and masked tail) equals these
 * scalar functions bit for bit. */
#define MT_VM_EXPF_LO (-104.0f)
#define MT_VM_EXPF_HI 89.0f
#define MT_VM_LOG2EF 0x1.715476p+0f
#define MT_VM_SHIFTF 0x1.8p23f /* adding it rounds to an integer, kept in the low bits */
#define MT_VM_LN2F_HI 0x1.63p-1f
#define MT_VM_LN2F_LO (-0x1.bd0106p-13f)
#define MT_VM_EXPF_C6 0x1.63c2d8p-10f
#define MT_VM_EXPF_C5 0x1.125b2ep-7f
#define MT_VM_EXPF_C4 0x1.5563cep-5f
#define MT_VM_EXPF_C3 0x1.55545ap-3f
#define MT_VM_EXPF_C2 0x1.ffffeap-2f

static inline float mt_vm_expf(float x) {
    float c = x < MT_VM_EXPF_LO ? MT_VM_EXPF_LO : x;
    c = c > MT_VM_EXPF_HI ? MT_VM_EXPF_HI : c;
    float t = fmaf(c, MT_VM_LOG2EF, MT_VM_SHIFTF);
    float n = t - MT_VM_SHIFTF;
    float r = fmaf(n, -MT_VM_LN2F_HI, c);
    r = fmaf(n, -MT_VM_LN2F_LO, r);
    float p = fmaf(MT_VM_EXPF_C6, r, MT_VM_EXPF_C5);
    p = fmaf(p, r, MT_VM_EXPF_C4);
    p = fmaf(p, r, MT_VM_EXPF_C3);
    p = fmaf(p, r, MT_VM_EXPF_C2);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    /* n as an integer from t's bits (no float-to-int conversion of a NaN); -150 <= n <= 129 */
    int32_t k = (int32_t)(mt_vm_bits_f(t) - mt_vm_bits_f(MT_VM_SHIFTF));
    int32_t k1 = k / 2, k2 = k - k1;
    return p * mt_vm_from_bits_f((uint32_t)(k2 + 127) << 23) *
           mt_vm_from_bits_f((uint32_t)(k1 + 127) << 23);
}

/* The logistic function in float, scalar_ops.h's two forms folded into one: e = e^-|x| never
 * overflows, and 1/(1+e) or e/(1+e) is picked by the sign (NaN takes e/(1+e), which is NaN).
 * Three roundings (e, 1+e, the quotient) on top of e's error: at most 2 ulp from naive's
 * (float)mt_sigmoid_d(x) (checked on every float input: 96% exact, 0.006% at 2 ulp). Holding 1
 * ulp takes a double-float 1+e and a corrected quotient, about ten more operations on a loop that
 * is already the slowest map; the verifier's tolerance is far wider. */
static inline float mt_vm_sigmoidf(float x) {
    float e = mt_vm_expf(mt_vm_from_bits_f(mt_vm_bits_f(x) | 0x80000000u));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

#if defined(__AVX512F__)
/* The core of mt_vm_expf: e^r as p, from c (the clamped input) and t = c log2e + shifter. */
static inline __m512 mt_vm_expf16_poly(__m512 c, __m512 t) {
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(MT_VM_SHIFTF));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MT_VM_LN2F_HI), c);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MT_VM_LN2F_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(MT_VM_EXPF_C6), r, _mm512_set1_ps(MT_VM_EXPF_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MT_VM_EXPF_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MT_VM_EXPF_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MT_VM_EXPF_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
}

/* mt_vm_expf on 16 lanes. When every lane's n is in [-125, 127] (the common case) the clamps are
 * no-ops and p 2^n is normal, so the scaling is an exponent add; else the clamped path. */
static inline __m512 mt_vm_expf16(__m512 x) {
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(MT_VM_LOG2EF), _mm512_set1_ps(MT_VM_SHIFTF));
    __m512i tb = _mm512_castps_si512(t); /* bits(shifter) + n while |n| < 2^22 */
    __m512i off = _mm512_sub_epi32(tb, _mm512_set1_epi32((int32_t)(0x4B400000u - 125u)));
    if (_mm512_cmple_epu32_mask(off, _mm512_set1_epi32(252)) == 0xFFFF) {
        __m512 p = mt_vm_expf16_poly(x, t);
        /* bits(shifter) << 23 is 0 mod 2^32, so tb << 23 is n in the exponent field */
        return _mm512_castsi512_ps(
            _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(tb, 23)));
    }
    __m512 c = _mm512_max_ps(_mm512_set1_ps(MT_VM_EXPF_LO), x); /* max(a, NaN) gives the NaN */
    c = _mm512_min_ps(_mm512_set1_ps(MT_VM_EXPF_HI), c);
    t = _mm512_fmadd_ps(c, _mm512_set1_ps(MT_VM_LOG2EF), _mm512_set1_ps(MT_VM_SHIFTF));
    return _mm512_scalef_ps(mt_vm_expf16_poly(c, t),
                            _mm512_sub_ps(t, _mm512_set1_ps(MT_VM_SHIFTF)));
}

static inline __m512 mt_vm_sigmoidf16(__m512 x) {
    __m512 m = _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int32_t)0x80000000u)));
    __m512 e = mt_vm_expf16(m);
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 num = _mm512_mask_blend_ps(pos, e, _mm512_set1_ps(1.0f));
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/* o[0..n) <- F(a[0..n)) for a 16-lane F; the tail is one masked vector, so every element takes
 * the same instructions wherever a chunk starts. o may be a. */
#define MT_VM_RUN16(F, n, a, o)                                                               \
    do {                                                                                     \
        int64_t i_ = 0;                                                                      \
        for (; i_ + 16 <= (n); i_ += 16) _mm512_storeu_ps((o) + i_, F(_mm512_loadu_ps((a) + i_))); \
        if (i_ < (n)) {                                                                      \
            __mmask16 m_ = (__mmask16)((1u << ((n) - i_)) - 1u);                              \
            _mm512_mask_storeu_ps((o) + i_, m_, F(_mm512_maskz_loadu_ps(m_, (a) + i_)));     \
        }                                                                                    \
    } while (0)
#endif

/* o[0..n) <- e^a[0..n), contiguous (o may be a). */
static inline void mt_vm_expf_run(int64_t n, const float *a, float *o) {
#if defined(__AVX512F__)
    MT_VM_RUN16(mt_vm_expf16, n, a, o);
#else
    _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = mt_vm_expf(a[i]);
#endif
}

/* o[0..n) <- sigmoid(a[0..n)), contiguous (o may be a). */
static inline void mt_vm_sigmoidf_run(int64_t n, const float *a, float *o) {
#if defined(__AVX512F__)
    MT_VM_RUN16(mt_vm_sigmoidf16, n, a, o);
#else
    _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = mt_vm_sigmoidf(a[i]);
#endif
}

#endif
