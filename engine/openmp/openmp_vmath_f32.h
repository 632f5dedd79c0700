/* float32 exp and sigmoid for MT_OP_EXP and MT_OP_SIGMOID: a scalar form, and runs over
 * contiguous and strided elements that give the scalar form's bits for every element.
 *
 * Two forms, chosen at build time. Both are bound by the vector pipes, not by memory (a 1M-element
 * exp ran at the same speed from L1 as from L3), so the cost is the operation count:
 *   - with AVX-512, a 16-entry table of 2^(j/16), read by one in-register permute, leaves a
 *     degree-3 polynomial (below), and the runs are written with intrinsics;
 *   - without it, a degree-6 polynomial on |r| <= ln2/2 and no table (the portable form at the
 *     end), which `omp simd` vectorises without gathers: with the table, an AVX2 build ran exp
 *     1.6x and sigmoid 2.7x slower.
 * Results differ between the two builds by the rounding of different polynomials (as they already
 * do between builds with and without FMA); within a build every path gives the same bits.
 *
 * The table form. e^x: n = round(16 x log2 e) by the shifter trick (one FMA: t = 16 x log2e +
 * 1.5 2^23 keeps n in t's low mantissa bits), r = x - n ln2/16 in two FMA steps (ln2/16 hi has 12
 * significant bits, so n hi is exact for |n| < 2^12 and x - n hi is exact), e^r = 1 + q(r) with
 * q = r + c2 r^2 + c3 r^3 (fitted for relative error 1.6e-9), then e^x = T[n mod 16]
 * 2^floor(n/16) (1 + q), one rounding for the product, then the scaling. Inputs are clamped to
 * [-104, 89]: below, the result rounds to 0, above, it overflows to inf, and NaN passes the clamp.
 *
 * Accuracy of the table exp, checked on every float against (float)exp((double)x)
 * (tools/vmath_sweep): at most 1 ulp, 99.0% exact. T[j] rounded to float is off by up to 0.4 of a
 * half ulp; a second table of those errors made exp 99.93% exact, but its permute and add cost
 * 20% of the loop, and the 1-ulp bound holds without it (the sum of T's error and the product's
 * rounding stays under 1.5 ulp, and two floats less than 2 ulp apart are at most 1 apart).
 *
 * Same bits on every path: T 2^m is exact wherever the AVX-512 fast path takes it (m in [-125,
 * 127]: then T 2^m (1 + q) is normal, so rounding it once equals rounding T (1 + q) and scaling);
 * elsewhere vscalefps scales the rounded product with one more rounding, and the scalar form
 * multiplies by 2^(m - m/2) and 2^(m/2) in turn: the first product is exact, the second the one
 * rounding. fmaf is exact by the C standard; where the target has no FMA instruction it is a
 * library call (correct, slow). tests/test_openmp.c checks the backend's output (vector body and
 * masked tail, contiguous and strided) against these scalar functions bit for bit, and the
 * accuracy on dense sweeps. */
#ifndef MT_OPENMP_VMATH_F32_H
#define MT_OPENMP_VMATH_F32_H

#include "openmp_vmath.h"

#define MT_VM_EXPF_LO (-104.0f)
#define MT_VM_EXPF_HI 89.0f
#define MT_VM_SHIFTF 0x1.8p23f /* adding it rounds to an integer, kept in the low bits */

#if defined(__AVX512F__)
#include <immintrin.h>

#define MT_VM_L2E16F 0x1.715476p+4f /* 16 log2(e), rounded */
#define MT_VM_SHIFTF_BITS 0x4B400000u
#define MT_VM_LN2_16F_HI 0x1.62ep-5f
#define MT_VM_LN2_16F_LO 0x1.0bfbe8p-19f
#define MT_VM_EXPF_C3 0x1.55559ep-3f
#define MT_VM_EXPF_C2 0x1.00022p-1f
/* n in [-2000, 2047] puts m = floor(n/16) in [-125, 127]: T 2^m is a normal float there */
#define MT_VM_FAST_N_LO 2000
#define MT_VM_FAST_N_SPAN 4047u

/* bits of 2^(j/16) rounded to float, j = 0..15 */
static const uint32_t mt_vm_exp2_16th_bits[16] = {
    0x3f800000u, 0x3f85aac3u, 0x3f8b95c2u, 0x3f91c3d3u, 0x3f9837f0u, 0x3f9ef532u,
    0x3fa5fed7u, 0x3fad583fu, 0x3fb504f3u, 0x3fbd08a4u, 0x3fc5672au, 0x3fce248cu,
    0x3fd744fdu, 0x3fe0ccdfu, 0x3feac0c7u, 0x3ff5257du};

/* n from t = 16 x log2e + shifter, as an integer from t's bits (no float-to-int conversion of a
 * NaN); valid while |n| < 2^22 */
static inline int32_t mt_vm_shifted_n(float t) {
    return (int32_t)(mt_vm_bits_f(t) - MT_VM_SHIFTF_BITS);
}

/* T[n mod 16] 2^m as exact float factors: *t_j and *s1 * *s2, for m = floor(n/16) in [-151, 128]
 * (each factor a normal power of two) */
static inline void mt_vm_exp2_split(int32_t n, float *t_j, float *s1, float *s2) {
    uint32_t j = (uint32_t)n & 15u;
    int32_t m = (n - (int32_t)j) / 16, m1 = m / 2, m2 = m - m1;
    *t_j = mt_vm_from_bits_f(mt_vm_exp2_16th_bits[j]);
    *s1 = mt_vm_from_bits_f((uint32_t)(m1 + 127) << 23);
    *s2 = mt_vm_from_bits_f((uint32_t)(m2 + 127) << 23);
}

static inline float mt_vm_expf(float x) {
    float c = x < MT_VM_EXPF_LO ? MT_VM_EXPF_LO : x;
    c = c > MT_VM_EXPF_HI ? MT_VM_EXPF_HI : c;
    float t = fmaf(c, MT_VM_L2E16F, MT_VM_SHIFTF);
    float n = t - MT_VM_SHIFTF;
    float r = fmaf(n, -MT_VM_LN2_16F_HI, c);
    r = fmaf(n, -MT_VM_LN2_16F_LO, r);
    float q = fmaf(fmaf(MT_VM_EXPF_C3, r, MT_VM_EXPF_C2), r * r, r);
    float tj, s1, s2;
    mt_vm_exp2_split(mt_vm_shifted_n(t), &tj, &s1, &s2);
    return fmaf(tj, q, tj) * s2 * s1;
}

/* The logistic function in float. Where E = e^-x has m in [-125, 127] (x in about [-88.7,
 * 86.6]), s = 1 / (1 + E), with E's parts folded into d = T 2^m p + 1 (one FMA; p = 1 + q by
 * Horner): no select between two forms, and no separate 1 + e. Outside that range it is
 * scalar_ops.h's form, e = e^-|x| and (x >= 0 ? 1 : e) / (1 + e): above 86.6 both give 1, below
 * -88.7 E would overflow, and NaN takes e / (1 + e), which is NaN.
 *
 * Accuracy, checked on every float against naive's (float)mt_sigmoid_d(x): at most 3 ulp, 95.9%
 * exact, 3 ulp on 12462 of the 4.3e9 inputs (x < 0, where 1 / E's mantissa can be twice E's and
 * doubles E's error in ulps). The two-form quotient on the degree-6 exp (the portable form
 * below) is within 2 ulp but ran 1.55x slower here; on this table's exp it reaches 3 ulp as well,
 * and holding 2 takes the correction table above, at 1.1x this form's time. The verifier's
 * tolerance, 4e-6 relative, is 30 ulp. */
static inline float mt_vm_sigmoidf(float x) {
    float t = fmaf(x, -MT_VM_L2E16F, MT_VM_SHIFTF);
    int32_t k = mt_vm_shifted_n(t);
    int fast = (uint32_t)(k + MT_VM_FAST_N_LO) <= MT_VM_FAST_N_SPAN;
    /* -r, from x = -(the exponent) */
    float n = t - MT_VM_SHIFTF;
    float rn = fmaf(n, MT_VM_LN2_16F_HI, x);
    rn = fmaf(n, MT_VM_LN2_16F_LO, rn);
    float p = fmaf(-MT_VM_EXPF_C3, rn, MT_VM_EXPF_C2);
    p = fmaf(-p, rn, 1.0f);
    p = fmaf(-p, rn, 1.0f);
    float tj, s1, s2;
    mt_vm_exp2_split((int32_t)((uint32_t)k & (0u - (uint32_t)fast)), &tj, &s1, &s2);
    float s_fast = 1.0f / fmaf(tj * s1 * s2, p, 1.0f); /* T 2^m is exact where fast */
    float e = mt_vm_expf(mt_vm_from_bits_f(mt_vm_bits_f(x) | 0x80000000u));
    float s_wide = mt_vm_select_f(x >= 0.0f, 1.0f, e) / (1.0f + e);
    return mt_vm_select_f(fast, s_fast, s_wide);
}

/* T[j] 2^m for the fast path: T[j]'s bits less j << 19, plus t's bits << 19, which is n << 19 =
 * (m << 23) + (j << 19) mod 2^32 (the shifter's own bits shift out). */
static inline __m512 mt_vm_exp2_scaled16(__m512i tb) {
    const __m512i j19 = _mm512_setr_epi32(0, 1 << 19, 2 << 19, 3 << 19, 4 << 19, 5 << 19,
                                          6 << 19, 7 << 19, 8 << 19, 9 << 19, 10 << 19, 11 << 19,
                                          12 << 19, 13 << 19, 14 << 19, 15 << 19);
    __m512i tab = _mm512_sub_epi32(_mm512_loadu_si512(mt_vm_exp2_16th_bits), j19);
    return _mm512_castsi512_ps(
        _mm512_add_epi32(_mm512_permutexvar_epi32(tb, tab), _mm512_slli_epi32(tb, 19)));
}

/* mask of the lanes whose n (from t's bits) is in the fast range */
static inline __mmask16 mt_vm_fast16(__m512i tb) {
    __m512i off = _mm512_sub_epi32(
        tb, _mm512_set1_epi32((int32_t)(MT_VM_SHIFTF_BITS - (uint32_t)MT_VM_FAST_N_LO)));
    return _mm512_cmple_epu32_mask(off, _mm512_set1_epi32((int32_t)MT_VM_FAST_N_SPAN));
}

/* q of mt_vm_expf, from c (the clamped input) and t */
static inline __m512 mt_vm_expf16_q(__m512 c, __m512 t) {
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(MT_VM_SHIFTF));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MT_VM_LN2_16F_HI), c);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MT_VM_LN2_16F_LO), r);
    __m512 a = _mm512_fmadd_ps(_mm512_set1_ps(MT_VM_EXPF_C3), r, _mm512_set1_ps(MT_VM_EXPF_C2));
    return _mm512_fmadd_ps(a, _mm512_mul_ps(r, r), r);
}

/* mt_vm_expf on 16 lanes: when every lane is in the fast range the clamps are no-ops and T 2^m
 * is exact, else the clamped path with vscalefps (slower on this core, so kept off the common
 * path). */
static inline __m512 mt_vm_expf16(__m512 x) {
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(MT_VM_L2E16F), _mm512_set1_ps(MT_VM_SHIFTF));
    __m512i tb = _mm512_castps_si512(t);
    if (mt_vm_fast16(tb) == 0xFFFF) {
        __m512 ts = mt_vm_exp2_scaled16(tb);
        return _mm512_fmadd_ps(ts, mt_vm_expf16_q(x, t), ts);
    }
    __m512 c = _mm512_max_ps(_mm512_set1_ps(MT_VM_EXPF_LO), x); /* max(a, NaN) gives the NaN */
    c = _mm512_min_ps(_mm512_set1_ps(MT_VM_EXPF_HI), c);
    t = _mm512_fmadd_ps(c, _mm512_set1_ps(MT_VM_L2E16F), _mm512_set1_ps(MT_VM_SHIFTF));
    __m512 tj = _mm512_permutexvar_ps(_mm512_castps_si512(t),
                                      _mm512_castsi512_ps(_mm512_loadu_si512(mt_vm_exp2_16th_bits)));
    __m512 p = _mm512_fmadd_ps(tj, mt_vm_expf16_q(c, t), tj);
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(MT_VM_SHIFTF));
    return _mm512_scalef_ps(p, _mm512_mul_ps(n, _mm512_set1_ps(1.0f / 16.0f)));
}

/* 1 / (T 2^m p + 1) of mt_vm_sigmoidf, from x and t = -16 x log2e + shifter */
static inline __m512 mt_vm_sigmoidf16_fast(__m512 x, __m512 t) {
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(MT_VM_SHIFTF));
    __m512 rn = _mm512_fmadd_ps(n, _mm512_set1_ps(MT_VM_LN2_16F_HI), x);
    rn = _mm512_fmadd_ps(n, _mm512_set1_ps(MT_VM_LN2_16F_LO), rn);
    __m512 p = _mm512_fnmadd_ps(_mm512_set1_ps(MT_VM_EXPF_C3), rn, _mm512_set1_ps(MT_VM_EXPF_C2));
    p = _mm512_fnmadd_ps(p, rn, _mm512_set1_ps(1.0f));
    p = _mm512_fnmadd_ps(p, rn, _mm512_set1_ps(1.0f));
    __m512 d = _mm512_fmadd_ps(mt_vm_exp2_scaled16(_mm512_castps_si512(t)), p,
                               _mm512_set1_ps(1.0f));
    return _mm512_div_ps(_mm512_set1_ps(1.0f), d);
}

static inline __m512 mt_vm_sigmoidf16(__m512 x) {
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(-MT_VM_L2E16F), _mm512_set1_ps(MT_VM_SHIFTF));
    __mmask16 fast = mt_vm_fast16(_mm512_castps_si512(t));
    if (fast == 0xFFFF) return mt_vm_sigmoidf16_fast(x, t);
    /* lanes outside the range take the two-form quotient; the others keep the fast form, as
     * the scalar function does, so a lane's bits do not depend on its neighbours */
    __m512 m = _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int32_t)0x80000000u)));
    __m512 e = mt_vm_expf16(m);
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 num = _mm512_mask_blend_ps(pos, e, _mm512_set1_ps(1.0f));
    __m512 wide = _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    return _mm512_mask_blend_ps(fast, wide, mt_vm_sigmoidf16_fast(x, t));
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

#else
/* The portable form. e^x: n = round(x log2 e) by the shifter trick, r = x - n ln2 in two FMA steps
 * (ln2_hi has 9 significant bits, so n ln2_hi is exact for |n| < 2^15 and x - n ln2_hi is exact
 * by Sterbenz), e^r by a degree-6 polynomial on |r| <= 0.347 (coefficients fitted for relative
 * error 7.7e-9, rounded to float), then e^x = p 2^n: p times 2^(n - n/2), which is exact, times
 * 2^(n/2), the one rounding. Inputs are clamped to [-104, 89] as above. At most 1 ulp from
 * (float)exp((double)x) on every float, 99.7% exact (tools/vmath_sweep in an AVX2 build). */
#define MT_VM_LOG2EF 0x1.715476p+0f
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

/* The logistic function, scalar_ops.h's two forms folded into one: e = e^-|x| never overflows,
 * and 1/(1+e) or e/(1+e) is picked by the sign (NaN takes e/(1+e), which is NaN). At most 2 ulp
 * from naive's (float)mt_sigmoid_d(x) on every float, 97.1% exact. */
static inline float mt_vm_sigmoidf(float x) {
    float e = mt_vm_expf(mt_vm_from_bits_f(mt_vm_bits_f(x) | 0x80000000u));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}
#endif

/* o[0..n) <- F(a[0..n)), contiguous (o may be a): mt_vm_expf_run and mt_vm_sigmoidf_run. */
#if defined(__AVX512F__)
#define MT_VM_DEFINE_RUN(NAME, F16, SCALAR)                                                      \
    static inline void NAME(int64_t n, const float *a, float *o) { MT_VM_RUN16(F16, n, a, o); }
#else
#define MT_VM_DEFINE_RUN(NAME, F16, SCALAR)                                                      \
    static inline void NAME(int64_t n, const float *a, float *o) {                               \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = SCALAR(a[i]);                 \
    }
#endif
MT_VM_DEFINE_RUN(mt_vm_expf_run, mt_vm_expf16, mt_vm_expf)
MT_VM_DEFINE_RUN(mt_vm_sigmoidf_run, mt_vm_sigmoidf16, mt_vm_sigmoidf)

/* o[i so] <- F(a[i sa]) for i < n, any strides (sa may be 0; o must not overlap a unless they
 * are the same elements). With AVX-512: 16 lanes by gather (and scatter, unless so is 1) around
 * the 16-lane form; the scalar table form in an `omp simd` loop would gather from the table too
 * and, for sigmoid, run both of its forms in every lane. Strides too large for 32-bit gather
 * offsets take the scalar form. */
#if defined(__AVX512F__)
#define MT_VM_GATHER_MAX_STRIDE ((int64_t)1 << 26) /* 15 strides of floats fit an int32 offset */
#define MT_VM_DEFINE_STRIDED(NAME, F16, SCALAR)                                                  \
    static inline void NAME(int64_t n, const float *a, int64_t sa, float *o, int64_t so) {       \
        if (sa > MT_VM_GATHER_MAX_STRIDE || sa < -MT_VM_GATHER_MAX_STRIDE ||                     \
            so > MT_VM_GATHER_MAX_STRIDE || so < -MT_VM_GATHER_MAX_STRIDE) {                     \
            for (int64_t i = 0; i < n; i++) o[i * so] = SCALAR(a[i * sa]);                       \
            return;                                                                              \
        }                                                                                        \
        const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); \
        __m512i ia = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int32_t)sa));                    \
        __m512i io = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int32_t)so));                    \
        for (int64_t i0 = 0; i0 < n; i0 += 16) {                                                 \
            __mmask16 m = (__mmask16)(n - i0 >= 16 ? 0xFFFFu : (1u << (n - i0)) - 1u);            \
            __m512 y = F16(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, ia, a + i0 * sa, 4)); \
            if (so == 1) _mm512_mask_storeu_ps(o + i0, m, y);                                     \
            else _mm512_mask_i32scatter_ps(o + i0 * so, m, io, y, 4);                             \
        }                                                                                        \
    }
#else
#define MT_VM_DEFINE_STRIDED(NAME, F16, SCALAR)                                                  \
    static inline void NAME(int64_t n, const float *a, int64_t sa, float *o, int64_t so) {       \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i * so] = SCALAR(a[i * sa]);       \
    }
#endif
MT_VM_DEFINE_STRIDED(mt_vm_expf_strided, mt_vm_expf16, mt_vm_expf)
MT_VM_DEFINE_STRIDED(mt_vm_sigmoidf_strided, mt_vm_sigmoidf16, mt_vm_sigmoidf)

#endif
