/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Seeded random numbers for the stress programs: splitmix64, a Weyl
 * sequence run through a 64-bit mixer.  Plain integer arithmetic, so a
 * seed gives the same numbers on every architecture and libc, and a
 * failure found on one kernel can be replayed on another.
 *
 * The sequences are part of the programs' results: cma_fuzz's output is
 * compared across kernels by digest, and cma_race and cma_failinj replay
 * a failure from its seed.  Changing a constant here, or how a range is
 * cut, changes every one of them.
 */
#ifndef CMA_STRESS_RNG_H
#define CMA_STRESS_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s;
};

/* splitmix64's finalizer; the programs also hash their patterns with it. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rnd64(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

/* In [0, n) by remainder, close enough to uniform; 0 if n == 0. */
static inline size_t rnd_mod(struct rng *r, size_t n)
{
	return n ? (size_t)(rnd64(r) % n) : 0;
}

/*
 * Uniform in [0, n); 0 if n == 0.  A 32-bit n scales the top 32 bits
 * instead of dividing.  Not the same numbers as rnd_mod(), so not
 * interchangeable with it: cma_fuzz's digests were recorded with this.
 */
static inline size_t rnd_scaled(struct rng *r, size_t n)
{
	if (n <= 0xffffffffUL)
		return (size_t)(((rnd64(r) >> 32) * (uint64_t)n) >> 32);
	return (size_t)(rnd64(r) % n);
}

#endif
