/* The live models' hash index: src/pbx/model_index.h. */
#include "model_index.h"

#include <stdlib.h>
#include <string.h>

#include "provdesk/util.h"

#define SLOT_TOMB (SIZE_MAX - 1)

size_t pd_sidx_find(const void *m, const pd_sidx *x, pd_sidx_key kf, const char *key)
{
	if (!x->cap || !key)
		return PD_SIDX_NONE;
	size_t mask = x->cap - 1;
	for (size_t h = pd_str_hash(key) & mask;; h = (h + 1) & mask) {
		size_t v = x->s[h];
		if (v == PD_SIDX_NONE)
			return PD_SIDX_NONE;
		if (v != SLOT_TOMB && !strcmp(kf(m, v), key))
			return v;
	}
}

/* The slot holding element i (whose key is kf(m, i)). */
static size_t slot_of(const void *m, const pd_sidx *x, pd_sidx_key kf, size_t i)
{
	size_t mask = x->cap - 1;
	for (size_t h = pd_str_hash(kf(m, i)) & mask;; h = (h + 1) & mask)
		if (x->s[h] == i)
			return h;
}

static void insert(const void *m, pd_sidx *x, pd_sidx_key kf, size_t i)
{
	size_t mask = x->cap - 1;
	size_t h = pd_str_hash(kf(m, i)) & mask;
	while (x->s[h] != PD_SIDX_NONE && x->s[h] != SLOT_TOMB)
		h = (h + 1) & mask;
	if (x->s[h] == PD_SIDX_NONE)
		x->used++;
	x->s[h] = i;
}

void pd_sidx_added(const void *m, pd_sidx *x, pd_sidx_key kf, size_t n)
{
	if ((x->used + 1) * 2 <= x->cap) {
		insert(m, x, kf, n - 1);
		return;
	}
	size_t cap = 16;
	while (cap < 4 * n)
		cap *= 2;
	free(x->s);
	x->s = xmalloc(cap * sizeof *x->s);
	for (size_t i = 0; i < cap; i++)
		x->s[i] = PD_SIDX_NONE;
	x->cap = cap;
	x->used = 0;
	for (size_t i = 0; i < n; i++)
		insert(m, x, kf, i);
}

void pd_sidx_remove(const void *m, pd_sidx *x, pd_sidx_key kf, size_t i, size_t last)
{
	x->s[slot_of(m, x, kf, i)] = SLOT_TOMB;
	if (last != i)
		x->s[slot_of(m, x, kf, last)] = i;
}

void pd_sidx_free(pd_sidx *x)
{
	free(x->s);
	*x = (pd_sidx){0};
}
