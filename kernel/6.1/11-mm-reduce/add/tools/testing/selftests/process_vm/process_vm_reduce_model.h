/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PROCESS_VM_REDUCE in user space: what the kernel must compute, as
 * FLAGS.md defines it, and the random data that exercises it.  Shared by
 * the selftest and by the tools that judge the kernel against the same
 * model (the fuzzer and the benchmarks of the CMA harness).
 *
 * Floats are computed one operation per element in SSE2 or the FPU's own
 * binary32/binary64, never the x87's extended precision: on i386 the
 * pragma below builds what follows for SSE2 there.
 */
#ifndef PROCESS_VM_REDUCE_MODEL_H
#define PROCESS_VM_REDUCE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/process_vm_access.h>

#if __FLT_EVAL_METHOD__ == 2
/* binary32/64 rounding as the kernel's SSE2 does it, not the x87's */
#pragma GCC target("sse2,fpmath=sse")
#endif

#define RED(op, type) \
	(PROCESS_VM_REDUCE | PROCESS_VM_OP(op) | PROCESS_VM_TYPE(type))
#define NOPS	(PROCESS_VM_OP_BXOR + 1)
#define NTYPES	(PROCESS_VM_TYPE_F64 + 1)

static const char * const op_name[NOPS] = {
	"0", "SUM", "PROD", "MIN", "MAX", "BAND", "BOR", "BXOR",
};

static const char * const type_name[NTYPES] = {
	"0", "S8", "U8", "S16", "U16", "S32", "U32", "S64", "U64", "F32",
	"F64",
};

static const unsigned int type_size[NTYPES] = {
	0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8,
};

static inline bool is_float(int type)
{
	return type >= PROCESS_VM_TYPE_F32;
}

/* The signed integer types have the odd codes */
static inline bool is_signed(int type)
{
	return !is_float(type) && type % 2;
}

static inline bool op_allowed(int op, int type)
{
	return !(is_float(type) && op >= PROCESS_VM_OP_BAND);
}

/*
 * The reference: dst[i] = dst[i] OP src[i], as FLAGS.md defines it.
 * Integers as raw bits: SUM, PROD and the bitwise operations give the same
 * bits signed or unsigned (truncated to the element), MIN and MAX compare
 * sign-extended for the signed types.
 */
static inline bool int_less(uint64_t a, uint64_t b, bool sgn, int bits)
{
	if (sgn)
		return (int64_t)(a << (64 - bits)) < (int64_t)(b << (64 - bits));
	return a < b;
}

static inline uint64_t int_op(int op, bool sgn, int bits, uint64_t a, uint64_t b)
{
	switch (op) {
	case PROCESS_VM_OP_SUM:
		return a + b;
	case PROCESS_VM_OP_PROD:
		return a * b;
	case PROCESS_VM_OP_MIN:
		return int_less(a, b, sgn, bits) ? a : b;
	case PROCESS_VM_OP_MAX:
		return int_less(b, a, sgn, bits) ? a : b;
	case PROCESS_VM_OP_BAND:
		return a & b;
	case PROCESS_VM_OP_BOR:
		return a | b;
	}
	return a ^ b;
}

static inline void model_8(int op, bool sgn, uint8_t *d, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (uint8_t)int_op(op, sgn, 8, d[i], s[i]);
}

static inline void model_16(int op, bool sgn, uint16_t *d,
			    const uint16_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (uint16_t)int_op(op, sgn, 16, d[i], s[i]);
}

static inline void model_32(int op, bool sgn, uint32_t *d,
			    const uint32_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (uint32_t)int_op(op, sgn, 32, d[i], s[i]);
}

static inline void model_64(int op, bool sgn, uint64_t *d,
			    const uint64_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = int_op(op, sgn, 64, d[i], s[i]);
}

/* The bits of the float element at @x, as a number */
static inline uint64_t raw_bits(int type, const void *x)
{
	uint32_t b32;
	uint64_t b64;

	if (type == PROCESS_VM_TYPE_F32) {
		memcpy(&b32, x, sizeof(b32));
		return b32;
	}
	memcpy(&b64, x, sizeof(b64));
	return b64;
}

/* ... with the quiet bit set, as an operation returns a NaN operand */
static inline uint64_t quiet_bits(int type, const void *x)
{
	return raw_bits(type, x) |
	       (type == PROCESS_VM_TYPE_F32 ? 1ULL << 22 : 1ULL << 51);
}

static inline bool is_nan(int type, const void *x)
{
	if (type == PROCESS_VM_TYPE_F32)
		return *(const float *)x != *(const float *)x;
	return *(const double *)x != *(const double *)x;
}

/*
 * When both elements of a SUM or PROD are NaN, C lets the compiler pick
 * which one comes out (quieted), and compilers do commute the operands
 * (GCC for powerpc here; QEMU's x86 emulation picks by payload): @want
 * takes whichever of the two the kernel gave.  Every other element must
 * match bit for bit.
 */
static inline void accept_nan_pairs(int op, int type, unsigned char *want,
				    const unsigned char *got,
				    const unsigned char *dst,
				    const unsigned char *src, size_t bytes)
{
	unsigned int size = type_size[type];
	size_t i;

	if (!is_float(type) || op > PROCESS_VM_OP_PROD)
		return;
	for (i = 0; i < bytes; i += size) {
		uint64_t g;

		if (!is_nan(type, dst + i) || !is_nan(type, src + i))
			continue;
		g = raw_bits(type, got + i);
		if (g == quiet_bits(type, dst + i) ||
		    g == quiet_bits(type, src + i))
			memcpy(want + i, got + i, size);
	}
}

static inline void model_f32(int op, float *d, const float *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (op == PROCESS_VM_OP_SUM)
			d[i] = d[i] + s[i];
		else if (op == PROCESS_VM_OP_PROD)
			d[i] = d[i] * s[i];
		else if (op == PROCESS_VM_OP_MIN)
			d[i] = d[i] < s[i] ? d[i] : s[i];
		else
			d[i] = d[i] > s[i] ? d[i] : s[i];
	}
}

static inline void model_f64(int op, double *d, const double *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (op == PROCESS_VM_OP_SUM)
			d[i] = d[i] + s[i];
		else if (op == PROCESS_VM_OP_PROD)
			d[i] = d[i] * s[i];
		else if (op == PROCESS_VM_OP_MIN)
			d[i] = d[i] < s[i] ? d[i] : s[i];
		else
			d[i] = d[i] > s[i] ? d[i] : s[i];
	}
}

static inline void model(int op, int type, void *dst, const void *src, size_t bytes)
{
	size_t n = bytes / type_size[type];

	if (type == PROCESS_VM_TYPE_F32)
		model_f32(op, dst, src, n);
	else if (type == PROCESS_VM_TYPE_F64)
		model_f64(op, dst, src, n);
	else if (type_size[type] == 1)
		model_8(op, is_signed(type), dst, src, n);
	else if (type_size[type] == 2)
		model_16(op, is_signed(type), dst, src, n);
	else if (type_size[type] == 4)
		model_32(op, is_signed(type), dst, src, n);
	else
		model_64(op, is_signed(type), dst, src, n);
}

/* xorshift64: the same numbers on every ABI */
static inline uint64_t model_rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * Float bit patterns: zeros of both signs, infinities, quiet and signalling
 * NaNs with payloads, denormals, and normals in a narrow exponent range (so
 * that products neither always overflow nor always vanish), now and then
 * any bits at all.
 */
static inline uint64_t float_bits(uint64_t *state, bool dbl)
{
	int mant = dbl ? 52 : 23, ebits = dbl ? 11 : 8;
	uint64_t sign = (model_rnd(state) & 1) << (mant + ebits);
	uint64_t emax = (1ULL << ebits) - 1, bias = emax >> 1;
	uint64_t m = model_rnd(state) & ((1ULL << mant) - 1);
	uint64_t r = model_rnd(state) % 16;

	switch (r) {
	case 0:
		return sign;					/* ±0 */
	case 1:
		return sign | emax << mant;			/* ±inf */
	case 2:
		return sign | emax << mant | 1ULL << (mant - 1) | m;	/* qNaN */
	case 3:
		return sign | emax << mant | (m >> 1) | 1;	/* sNaN */
	case 4:
	case 5:
		return sign | m;				/* denormal */
	case 6:
		return model_rnd(state) & (dbl ? ~0ULL : 0xffffffffULL);
	default:
		return sign | (bias - 20 + model_rnd(state) % 40) << mant | m;
	}
}

static inline void model_fill(uint64_t *state, int type, void *buf, size_t bytes)
{
	size_t i;

	if (type == PROCESS_VM_TYPE_F32) {
		uint32_t *p = buf;

		for (i = 0; i < bytes / 4; i++)
			p[i] = (uint32_t)float_bits(state, false);
	} else if (type == PROCESS_VM_TYPE_F64) {
		uint64_t *p = buf;

		for (i = 0; i < bytes / 8; i++)
			p[i] = float_bits(state, true);
	} else {
		uint64_t *p = buf;

		for (i = 0; i < bytes / 8; i++)
			p[i] = model_rnd(state);
	}
}

#endif /* PROCESS_VM_REDUCE_MODEL_H */
