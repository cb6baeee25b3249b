/* The fuzz targets' differential check: what a parser delivered, hashed in
 * order (FNV-1a), so one run fed in small chunks and one fed whole can be
 * compared. */
#ifndef PD_FUZZ_DIGEST_H
#define PD_FUZZ_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
	uint64_t h;
	size_t n; /* messages */
} fuzz_digest;

/* an empty digest (the FNV-1a offset basis) */
static inline fuzz_digest fuzz_digest_new(void)
{
	return (fuzz_digest){.h = 0xcbf29ce484222325ull};
}

static inline void fuzz_mix(fuzz_digest *d, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		d->h = (d->h ^ b[i]) * 0x100000001b3ull;
}

/* a string with its end, NULL told apart from "" */
static inline void fuzz_mix_str(fuzz_digest *d, const char *s)
{
	fuzz_mix(d, s ? s : "(null)", s ? strlen(s) + 1 : 7);
}

static inline int fuzz_digest_same(const fuzz_digest *a, const fuzz_digest *b)
{
	return a->h == b->h && a->n == b->n;
}

#endif
