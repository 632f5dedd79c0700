/* The dropout mask, shared by every backend so that naive, OpenMP and CUDA keep exactly the same
 * elements for the same seed, whatever order their threads visit the elements in.
 *
 * The decision for an element is a pure function of (seed, ordinal), where ordinal is the
 * element's position in row-major order of the output's shape (not a storage position, so a
 * permuted input gets the mask its contiguous copy would get). The hash is the ordinal-th output
 * of splitmix64 seeded with `seed` (state = seed + (ordinal + 1) * golden, then its finalizer):
 * a counter-based generator, so any element's bits are computed without walking a stream. The
 * top 24 bits give u in [0, 1), exactly representable in float; an element is kept when
 * u >= rate. So rate 0 keeps everything, rate 1 keeps nothing, and P(keep) = 1 - rate to 2^-24. */
#ifndef MT_DROPOUT_HASH_H
#define MT_DROPOUT_HASH_H

#include <stdint.h>

#include "kernel_iface.h"

#define MT_DROPOUT_FN MT_HD static inline

MT_DROPOUT_FN uint64_t mt_dropout_hash(uint64_t seed, uint64_t ordinal) {
    uint64_t z = seed + (ordinal + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The seed whose ordinal i draws what `seed` draws at ordinal first + i: splitmix64's state moves
 * by one golden step per output, so skipping ahead is one multiply-add. mt_dropout_at uses it so a
 * slice of a batch (a data-parallel shard) keeps exactly the elements the whole batch keeps. */
MT_DROPOUT_FN uint64_t mt_dropout_seed_at(uint64_t seed, uint64_t first) {
    return seed + first * 0x9e3779b97f4a7c15ULL;
}

MT_DROPOUT_FN int mt_dropout_keep(uint64_t seed, uint64_t ordinal, float rate) {
    float u = (float)(mt_dropout_hash(seed, ordinal) >> 40) * 0x1.0p-24f;
    return u >= rate;
}

/* Kept values are x * scale with this float scale. One float multiply of two floats rounds the
 * same way everywhere (and equals the double product rounded once), so backends agree bit for
 * bit. At rate 1 nothing is kept; 0 stands in for the infinite scale. */
MT_DROPOUT_FN float mt_dropout_scale(float rate) {
    return rate < 1.0f ? (float)(1.0 / (1.0 - (double)rate)) : 0.0f;
}

#endif
