/* The process-wide random generator: xoshiro256** seeded through splitmix64. */
#include <math.h>
#include <string.h>

#include "internal.h"

static uint64_t state[4];
static uint64_t seed_used;
static int seeded;
static int have_spare_normal;
static double spare_normal;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void pa_manual_seed(uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) state[i] = splitmix64(&x);
    seed_used = seed;
    seeded = 1;
    have_spare_normal = 0;
}

int pa_rng_get_state(uint64_t *out8) {
    PA_REQUIRE("rng_get_state", out8, "NULL state buffer");
    if (!seeded) pa_manual_seed(0x5eed);
    for (int i = 0; i < 4; i++) out8[i] = state[i];
    out8[4] = seed_used;
    out8[5] = (uint64_t)seeded;
    out8[6] = (uint64_t)have_spare_normal;
    memcpy(&out8[7], &spare_normal, sizeof spare_normal);
    return PA_OK;
}

int pa_rng_set_state(const uint64_t *in8) {
    PA_REQUIRE("rng_set_state", in8, "NULL state buffer");
    for (int i = 0; i < 4; i++) state[i] = in8[i];
    if (!(state[0] | state[1] | state[2] | state[3])) state[0] = 1;  /* xoshiro's one bad state */
    seed_used = in8[4];
    seeded = 1;
    have_spare_normal = in8[6] != 0;
    memcpy(&spare_normal, &in8[7], sizeof spare_normal);
    return PA_OK;
}

uint64_t pa_initial_seed(void) {
    if (!seeded) pa_manual_seed(0x5eed);
    return seed_used;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t pa_rng_next(void) {
    if (!seeded) pa_manual_seed(0x5eed);
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

double pa_rng_uniform(void) { return (double)(pa_rng_next() >> 11) * 0x1.0p-53; }

/* Marsaglia's polar method; the second value of each pair is kept for the next call. */
double pa_rng_normal(void) {
    if (have_spare_normal) {
        have_spare_normal = 0;
        return spare_normal;
    }
    double u, v, s;
    do {
        u = 2.0 * pa_rng_uniform() - 1.0;
        v = 2.0 * pa_rng_uniform() - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    spare_normal = v * m;
    have_spare_normal = 1;
    return u * m;
}
