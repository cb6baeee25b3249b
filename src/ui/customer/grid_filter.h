/* The grid's filter worker: a thread with its own read-only store
 * connection that answers "the first page and the count of this query"
 * from the filter in memory (store_filter_first_page), so typing never
 * waits for a query. Each query carries the grid's filter generation; a
 * newer one cancels the running one (its progress handler asks), and an
 * answer names the generation it answers, so the grid paints only the
 * newest. No curses here. See docs/architecture.md "The filter worker". */
#ifndef PROVDESK_UI_GRID_FILTER_H
#define PROVDESK_UI_GRID_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "provdesk/store.h"

struct grid_filter;

struct grid_filter_result {
	uint64_t gen; /* the generation this answers */
	pd_status st; /* PD_OK, or the error in e */
	pd_err e;
	pd_row *rows; /* owned by the taker: pd_rows_free + free */
	size_t n;
	int64_t total;
};

/* Starts the thread; it opens db_path read-only and reads the index for
 * `sort` ahead of the first query. wake(arg) is called from the thread when
 * an answer is ready (it must be thread-safe: ui_app_wake). */
struct grid_filter *grid_filter_start(const char *db_path, const pd_store_opts *so, pd_sort sort,
                                      void (*wake)(void *arg), void *arg);
/* Ask for q's first `limit` rows and count as generation gen (copied; a
 * pending older question is replaced, a running one cancelled). */
void grid_filter_post(struct grid_filter *f, uint64_t gen, const pd_query *q, size_t limit);
/* The answer for generation gen, if there is one; older answers are
 * dropped. Non-blocking. */
bool grid_filter_take(struct grid_filter *f, uint64_t gen, struct grid_filter_result *out);
/* As take, waiting up to timeout_ms for it. */
bool grid_filter_wait(struct grid_filter *f, uint64_t gen, int timeout_ms,
                      struct grid_filter_result *out);
/* Cancels, joins the thread, frees everything. */
void grid_filter_stop(struct grid_filter *f);

#endif
