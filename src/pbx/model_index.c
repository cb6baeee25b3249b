/* The PBX layer's hash index: src/pbx/model_index.h. */
#include "model_index.h"

#include <stdlib.h>

/* The slot holding element i. */
static size_t slot_of(const void *m, const pd_sidx *x, const pd_idx_kind *k, size_t i)
{
	size_t mask = x->cap - 1, h = k->hash(m, i) & mask;
	while ((x->s[h] & PD_IDX_MASK) != i + 1)
		h = (h + 1) & mask;
	return h;
}

static void put(const void *m, pd_sidx *x, const pd_idx_kind *k, size_t i)
{
	size_t hash = k->hash(m, i), mask = x->cap - 1, h = hash & mask;
	while (x->s[h])
		h = (h + 1) & mask;
	x->s[h] = pd_idx_tag(hash) | (i + 1);
}

void pd_idx_added(const void *m, pd_sidx *x, const pd_idx_kind *k, size_t n)
{
	if (n * 2 <= x->cap) {
		put(m, x, k, n - 1);
		return;
	}
	size_t cap = x->cap ? x->cap * 2 : 8;
	while (n * 2 > cap)
		cap *= 2;
	free(x->s);
	x->s = xcalloc(cap, sizeof *x->s);
	x->cap = cap;
	for (size_t i = 0; i < n; i++)
		put(m, x, k, i);
}

void pd_idx_remove(const void *m, pd_sidx *x, const pd_idx_kind *k, size_t i, size_t last)
{
	size_t mask = x->cap - 1, h = slot_of(m, x, k, i), j = h;
	x->s[h] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (!x->s[j])
			break;
		size_t home = k->hash(m, (size_t)(x->s[j] & PD_IDX_MASK) - 1) & mask;
		/* it stays when its home is cyclically in (h, j] */
		if (h <= j ? (home > h && home <= j) : (home > h || home <= j))
			continue;
		x->s[h] = x->s[j];
		x->s[j] = 0;
		h = j;
	}
	if (i != last) {
		uint64_t *sl = &x->s[slot_of(m, x, k, last)];
		*sl = (*sl & ~PD_IDX_MASK) | (i + 1); /* its tag stays */
	}
}

void pd_idx_clear(pd_sidx *x)
{
	if (x->s)
		memset(x->s, 0, x->cap * sizeof *x->s);
}

void pd_sidx_free(pd_sidx *x)
{
	free(x->s);
	*x = (pd_sidx){0};
}
