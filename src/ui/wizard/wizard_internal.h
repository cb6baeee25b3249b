/* Shared between the wizard's screen logic (wizard.c) and its drawing and
 * layout (wizard_view.c). Not a public interface. */
#ifndef PROVDESK_UI_WIZARD_INTERNAL_H
#define PROVDESK_UI_WIZARD_INTERNAL_H

#include <pthread.h>

#include "ui_internal.h"
#include "wizard_state.h"

/* Buttons under the form; which ones a step shows is decided by wiz_buttons(). */
enum wbtn { B_BACK, B_NEXT, B_ADD_USER, B_DEL_USER, B_CREATE, B_CANCEL };

/* A question drawn inside the wizard (so that answering it can close it). */
enum wask { ASK_NONE, ASK_ESC, ASK_RESUME };

#define WIZ_PAGES_MAX 160 /* a discovery may list up to PD_WIZ_FOUND_MAX users */

struct wiz {
	struct ui_app *app;
	struct ui_screen *s;
	int lock_fd; /* this OS user's wizard lock (one draft each): >= 0 held */
	pd_wiz w;
	pd_wiz_ctx ctx;
	pd_template *templates;
	size_t n_templates;

	/* the current step's form, rebuilt from w */
	pd_wiz_field fields[PD_WIZ_FIELDS_MAX];
	struct ui_fspec spec[PD_WIZ_FIELDS_MAX];
	size_t nf;
	struct ui_form *form;
	bool rebuild;            /* the field set or other fields' values changed */
	char *applied_template;  /* the template whose values were filled in */
	char left_key[48];       /* the field whose change asked for the rebuild */
	bool name_ok;            /* the last name check passed: show "✓ available" */
	pd_wiz_errors errs;      /* by key: survive rebuilds of the form */
	struct wiz_probe *probe; /* a running discovery of the PBX users (F9) */
	/* Where the form put the terminal cursor in the last draw. The app
	 * forgets the cursor in a frame that redraws only the status bars;
	 * w_status (called for those bars) gives it back. NULL whenever the
	 * form's window may have been recreated. */
	WINDOW *cursor_win;
	/* The wizard's own status text (shown by w_status, so the bars keep
	 * asking this screen and the cursor stays in the field). */
	char note[256];
	enum ui_role note_role;
	bool save_pending; /* a field was left: write the draft */
	char help[2048];   /* w_help's text, with the keys bound now */
	int fy, fh;        /* form rows in the window */
	/* a step taller than the room is shown a page at a time (no absolute
	 * positions: pages are recomputed on every layout) */
	size_t page_start[WIZ_PAGES_MAX + 1];
	int n_pages, page;

	bool on_buttons;
	int btn; /* index into the step's buttons */
	int summary_top;

	enum wask ask;
	int ask_sel;
	WINDOW *ask_win;
	int64_t draft_saved_at;
	bool finished; /* created or discarded: no draft on destroy */

	/* name uniqueness, debounced: a thread wakes the loop 300 ms after the
	 * last keystroke in the name field; on_data then asks the store */
	pthread_t timer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool timer_stop, timer_started;
	int64_t name_due_ms; /* 0: nothing scheduled */
	bool name_fired;
};

/* wizard_form.c */
bool wiz_field_has_value(const pd_wiz_field *f);
bool wiz_focusable(const struct wiz *z, int i);
int wiz_key_index(const struct wiz *z, const char *key);
/* Form -> state for one field / every field of the step. */
void wiz_pull_field(struct wiz *z, int idx);
void wiz_pull_all(struct wiz *z);
void wiz_save_draft(struct wiz *z);
/* The framework's callbacks: check a field left, apply its side effects. */
pd_status wiz_form_check(struct ui_form *f, int idx, void *ctx, pd_err *e);
void wiz_form_changed(struct ui_form *f, int idx, void *ctx);
/* Rebuild the step's form from the values, the cursor on focus_key. */
void wiz_build_form(struct wiz *z, const char *focus_key);
/* Apply a rebuild or draft save the callbacks left pending. */
void wiz_settle(struct wiz *z);

/* wizard_probe.c */
struct wiz_probe;
struct wiz_probe *wiz_probe_start(struct ui_app *app, const pd_pbx *p, pd_err *e);
/* true once finished: *users (free with wiz_probe_users_free) or error. */
bool wiz_probe_take(struct wiz_probe *pr, pd_synced_user **users, size_t *n, char *error,
                    size_t cap);
void wiz_probe_users_free(pd_synced_user *u, size_t n);
void wiz_probe_stop(struct wiz_probe *pr); /* cancels, joins, frees */

/* wizard_view.c */
size_t wiz_buttons(const struct wiz *z, enum wbtn *b);
const char *wiz_button_label(enum wbtn b);
/* Form rows, pages; hides the fields not on the current page. */
void wiz_layout_form(struct wiz *z);
/* Make the page holding field idx the current one (relayout when it changes). */
void wiz_show_field(struct wiz *z, int idx);
bool wiz_field_on_page(const struct wiz *z, int idx);
void wiz_draw(struct ui_screen *s);
void wiz_summary(struct wiz *z, pd_buf *b);

#endif
