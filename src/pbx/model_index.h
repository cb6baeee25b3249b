/* Internal to src/pbx: the one hash index kept over an array, for every
 * table the PBX layer looks up by key: the live models' channels, calls,
 * legs, agents and users (ami_model.c, esl_model.c, xsi_model.c) and the
 * live state's customers (live.c). The keys stay in the elements; an index
 * is only its slots: open addressing, linear probing, slot = element index
 * + 1 (0: empty), at most half full, backward-shift deletion (no
 * tombstones, so a probe never walks past what was removed). The arrays
 * remove by moving their last element into the hole, which the index
 * follows (pd_idx_remove). A slot keeps above the element's index the top
 * bits of its key's hash (a tag): a probe compares keys only where the
 * tags agree (a string compare at every probe was most of a look-up).
 *
 * A kind says how to read an array's keys: the hash of element i's key and
 * whether element i has a given key. String keys read by a function of the
 * element (pd_sidx_key) have their kind here (pd_sidx_*). The look-up is
 * inline so that a constant kind's functions inline into it. */
#ifndef PROVDESK_PBX_MODEL_INDEX_H
#define PROVDESK_PBX_MODEL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "provdesk/util.h"

#define PD_SIDX_NONE SIZE_MAX /* "not found" */

typedef struct {
	uint64_t *s; /* element index + 1 in the low PD_IDX_BITS (0: empty), the tag above */
	size_t cap;
} pd_sidx;

#define PD_IDX_BITS 40
#define PD_IDX_MASK ((UINT64_C(1) << PD_IDX_BITS) - 1)

/* The tag of a key of hash h: its top 24 bits, in place above the index. */
static inline uint64_t pd_idx_tag(size_t h)
{
	return (uint64_t)(h >> (sizeof h * 8 - 24)) << PD_IDX_BITS;
}

typedef struct {
	size_t (*hash)(const void *m, size_t i);              /* element i's key's hash */
	bool (*is)(const void *m, size_t i, const void *key); /* element i has key */
} pd_idx_kind;

/* The element whose key is key (of hash h), PD_SIDX_NONE when none. */
static inline size_t pd_idx_find(const void *m, const pd_sidx *x, const pd_idx_kind *k, size_t h,
                                 const void *key)
{
	if (!x->cap)
		return PD_SIDX_NONE;
	size_t mask = x->cap - 1;
	uint64_t tag = pd_idx_tag(h);
	for (h &= mask; x->s[h]; h = (h + 1) & mask) {
		size_t i = (size_t)(x->s[h] & PD_IDX_MASK) - 1;
		if ((x->s[h] & ~PD_IDX_MASK) == tag && k->is(m, i, key))
			return i;
	}
	return PD_SIDX_NONE;
}

/* Element n - 1 (the last of n) was added; past half full the index
 * doubles (rebuilt from the n elements). */
void pd_idx_added(const void *m, pd_sidx *x, const pd_idx_kind *k, size_t n);
/* Element i is about to go, and last (the array's last) then moves to i:
 * called while both still hold their keys. */
void pd_idx_remove(const void *m, pd_sidx *x, const pd_idx_kind *k, size_t i, size_t last);
/* Every slot emptied (the array was emptied), the capacity kept. */
void pd_idx_clear(pd_sidx *x);
/* Empties x and frees its slots. */
void pd_sidx_free(pd_sidx *x);

/* ---- string keys: kf reads element i's key ---- */

typedef const char *(*pd_sidx_key)(const void *m, size_t i);

typedef struct {
	const void *m;
	pd_sidx_key kf;
} pd_sidx_ctx;

static inline size_t pd_sidx_hash_(const void *c, size_t i)
{
	const pd_sidx_ctx *s = c;
	return pd_str_hash(s->kf(s->m, i));
}

static inline bool pd_sidx_is_(const void *c, size_t i, const void *key)
{
	const pd_sidx_ctx *s = c;
	return !strcmp(s->kf(s->m, i), key);
}

static const pd_idx_kind pd_sidx_kind_ = {pd_sidx_hash_, pd_sidx_is_};

/* The index of the element whose key is key, its hash h (pd_str_hash of
 * key, kept by the caller), PD_SIDX_NONE when none. */
static inline size_t pd_sidx_find_h(const void *m, const pd_sidx *x, pd_sidx_key kf,
                                    const char *key, size_t h)
{
	pd_sidx_ctx c = {m, kf};
	return pd_idx_find(&c, x, &pd_sidx_kind_, h, key);
}

/* The index of the element whose key is key (NULL: none), PD_SIDX_NONE when none. */
static inline size_t pd_sidx_find(const void *m, const pd_sidx *x, pd_sidx_key kf, const char *key)
{
	if (!key || !x->cap)
		return PD_SIDX_NONE;
	return pd_sidx_find_h(m, x, kf, key, pd_str_hash(key));
}

static inline void pd_sidx_added(const void *m, pd_sidx *x, pd_sidx_key kf, size_t n)
{
	pd_sidx_ctx c = {m, kf};
	pd_idx_added(&c, x, &pd_sidx_kind_, n);
}

static inline void pd_sidx_remove(const void *m, pd_sidx *x, pd_sidx_key kf, size_t i, size_t last)
{
	pd_sidx_ctx c = {m, kf};
	pd_idx_remove(&c, x, &pd_sidx_kind_, i, last);
}

#endif
