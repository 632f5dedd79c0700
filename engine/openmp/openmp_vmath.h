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
 * MT_OP_EXP and MT_OP_SIGMOID themselves use the float32 functions of openmp_vmath_f32.h: eight
 * double lanes per vector and a degree-10 polynomial made them 6x (exp) and 11x (sigmoid) slower
 * than a memcpy of the same bytes. */
#ifndef MT_OPENMP_VMATH_H
#define MT_OPENMP_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

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

#endif
