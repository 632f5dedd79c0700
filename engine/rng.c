/* A seedable generator that gives the same stream on every platform: xoshiro256** seeded through
 * splitmix64 (the seeding its authors recommend, so nearby seeds give unrelated streams). */
#include "internal.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* A NULL generator draws nothing: seeding is a no-op and every draw is 0 (the API's rule for
 * functions that cannot report an error). */
void mt_rng_seed(mt_rng *r, uint64_t seed) {
    if (!r) return;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t mt_rng_next(mt_rng *r) {
    if (!r) return 0;
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mt_rng_uniform(mt_rng *r) {
    if (!r) return 0.0;
    return (double)(mt_rng_next(r) >> 11) * 0x1.0p-53; }

double mt_rng_normal(mt_rng *r) {
    if (!r) return 0.0;
    /* 1 - u keeps log() away from 0. */
    double u1 = 1.0 - mt_rng_uniform(r);
    double u2 = mt_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
