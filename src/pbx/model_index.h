/* Internal to src/pbx: the hash index the live models (esl_model.c,
 * xsi_model.c) keep over their arrays, one per kind of element: a string
 * key (a leg's Unique-ID, a call's id, a user id) to the element's index in
 * its array. Open addressing with linear probing and tombstones, FNV-1a;
 * the keys stay in the elements (kf reads element i's key), so an index is
 * only the slots. The arrays remove by moving their last element into the
 * hole (pd_sidx_remove renumbers it). */
#ifndef PROVDESK_PBX_MODEL_INDEX_H
#define PROVDESK_PBX_MODEL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define PD_SIDX_NONE SIZE_MAX /* "not found" */

typedef struct {
	size_t *s;
	size_t cap, used; /* used counts tombstones */
} pd_sidx;

/* The key of element i of the model m. */
typedef const char *(*pd_sidx_key)(const void *m, size_t i);

/* The index of the element whose key is key (NULL: none), PD_SIDX_NONE when none. */
size_t pd_sidx_find(const void *m, const pd_sidx *x, pd_sidx_key kf, const char *key);
/* Element n - 1 (the last of n) was added; the index grows (rebuilt from
 * the n elements) past half full. */
void pd_sidx_added(const void *m, pd_sidx *x, pd_sidx_key kf, size_t n);
/* Element i is about to go; last (the array's last) then moves to i. */
void pd_sidx_remove(const void *m, pd_sidx *x, pd_sidx_key kf, size_t i, size_t last);
/* Empties x (after its array was emptied). */
void pd_sidx_free(pd_sidx *x);

#endif
