/* The console's internal framework: app loop, screen stack, key actions,
 * themes, drawing, dialogs and form helpers. Only src/ui includes this (and
 * curses). The creation wizard and the live panels plug in here. */
#ifndef PROVDESK_UI_INTERNAL_H
#define PROVDESK_UI_INTERNAL_H

#include <curses.h>
#include <form.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/error.h"
#include "provdesk/geo.h"
#include "provdesk/i18n.h"
#include "provdesk/model.h"
#include "provdesk/store.h"
#include "provdesk/ui.h"
#include "provdesk/util.h"

struct ui_app;
struct ui_screen;

/* ------------------------------------------------------------------ keys */

/* Key contexts: a screen names its context; keys are looked up there first,
 * then in its parent context (wizard -> form), then in "generic". */
#define UI_CONTEXT_LIST(X)                                                                         \
	X(UI_CTX_GENERIC, "generic", N_("Everywhere"))                                             \
	X(UI_CTX_GRID, "grid", N_("Customer grid"))                                                \
	X(UI_CTX_VIEW, "view", N_("Customer view"))                                                \
	X(UI_CTX_FORM, "form", N_("Forms (editing)"))                                              \
	X(UI_CTX_LIST, "list", N_("Lists (templates, catalogue, pickers)"))                        \
	X(UI_CTX_LIVE, "live", N_("Live panels (calls, agents, users)"))                           \
	X(UI_CTX_NOC, "noc", N_("NOC wall display (read-only)"))                                   \
	X(UI_CTX_WIZARD, "wizard", N_("Creation wizard (then Forms)"))                             \
	/* H5: the screens over every customer (activity, outbox) */                               \
	X(UI_CTX_RECORDS, "records", N_("All activity, outbox (every customer)"))

enum ui_context {
#define UI_X(e, n, d) e,
	UI_CONTEXT_LIST(UI_X)
#undef UI_X
	    UI_CTX__COUNT
};

/* THE action table: enum, config names, default keys and help text all come
 * from here. Default keys are turned into `bind CONTEXT KEY... ACTION` lines
 * (the keys-file syntax) and parsed by the same parser as the user's file.
 *   X(enum, name, context, "default keys", N_("help text")): the help is
 * translated where it is shown (ui_action_help). */
#define UI_ACTION_LIST(X)                                                                          \
	X(UI_A_QUIT, "quit", generic, "q F10", N_("Quit provdesk"))                                \
	X(UI_A_HELP, "help", generic, "? F1", N_("Show the keys of the current screen"))           \
	X(UI_A_BACK, "back", generic, "Esc", N_("Close this screen or dialog, cancel"))            \
	X(UI_A_REDRAW, "redraw", generic, "^L", N_("Repaint the whole terminal"))                  \
	X(UI_A_UP, "move-up", generic, "Up k", N_("Move up one line"))                             \
	X(UI_A_DOWN, "move-down", generic, "Down j", N_("Move down one line"))                     \
	X(UI_A_PAGE_UP, "page-up", generic, "PgUp ^B", N_("Move up one page"))                     \
	X(UI_A_PAGE_DOWN, "page-down", generic, "PgDn ^F Space", N_("Move down one page"))         \
	X(UI_A_HOME, "first", generic, "Home g", N_("Go to the first line"))                       \
	X(UI_A_END, "last", generic, "End G", N_("Go to the last line"))                           \
	X(UI_A_OPEN, "open", generic, "Enter", N_("Open / choose the selected line"))              \
	X(UI_A_FILTER, "filter", grid, "/ F3",                                                     \
	  N_("Filter as you type (name, reference, tenant id, notes); Esc clears"))                \
	X(UI_A_NEW, "new-customer", grid, "n F7", N_("+ Create New Customer (wizard)"))            \
	X(UI_A_SORT_NEXT, "sort-next", grid, ">", N_("Sort by the next column"))                   \
	X(UI_A_SORT_PREV, "sort-prev", grid, "<", N_("Sort by the previous column"))               \
	X(UI_A_SORT_MENU, "sort-menu", grid, "F6", N_("Choose the sort column"))                   \
	X(UI_A_SORT_INVERT, "sort-invert", grid, "I", N_("Invert the sort order"))                 \
	X(UI_A_DELETED, "toggle-deleted", grid, "D F9", N_("Show or hide deleted customers"))      \
	X(UI_A_TEMPLATES, "templates", grid, "t F5", N_("PBX templates"))                          \
	X(UI_A_CATALOGUE, "catalogue", grid, "c F8",                                               \
	  N_("Catalogue: product types, roles, platforms"))                                        \
	X(UI_A_REFRESH, "refresh", grid, "r", N_("Reload from the database now"))                  \
	X(UI_A_NEXT_TAB, "next-tab", view, "Tab Right", N_("Next tab"))                            \
	X(UI_A_PREV_TAB, "prev-tab", view, "BackTab Left", N_("Previous tab"))                     \
	X(UI_A_TAB1, "tab-details", view, "1", N_("Details tab"))                                  \
	X(UI_A_TAB2, "tab-users", view, "2", N_("Users tab"))                                      \
	X(UI_A_TAB3, "tab-pbx", view, "3", N_("PBX tab"))                                          \
	X(UI_A_TAB4, "tab-roles", view, "4", N_("Roles tab"))                                      \
	X(UI_A_TAB5, "tab-activity", view, "5", N_("Activity tab"))                                \
	X(UI_A_EDIT, "edit", view, "e F4",                                                         \
	  N_("Edit (details, the selected user, PBX settings, template)"))                         \
	X(UI_A_ACTIONS, "actions", view, "a F2",                                                   \
	  N_("Actions: trial, disable/enable, delete, restore"))                                   \
	X(UI_A_ADD, "add", view, "+ F7", N_("Add (user, PBX connection)"))                         \
	X(UI_A_ROLE, "assign-role", view, "R", N_("Assign a role to the selected user"))           \
	X(UI_A_RESEND, "resend-invitation", view, "i",                                             \
	  N_("Resend the selected user's invitation"))                                             \
	X(UI_A_REMOVE_USER, "remove-user", view, "d Del F8",                                       \
	  N_("Remove the selected user (asks first; never the primary user)"))                     \
	X(UI_A_TOGGLE_ENABLED, "toggle-enabled", view, "E",                                        \
	  N_("Enable or disable the PBX connection"))                                              \
	X(UI_A_NEXT_FIELD, "next-field", form, "Tab", N_("Next field (checks the field left)"))    \
	X(UI_A_PREV_FIELD, "prev-field", form, "BackTab", N_("Previous field"))                    \
	X(UI_A_SAVE, "save", form, "F2 ^S", N_("Save / confirm the form"))                         \
	X(UI_A_PICK, "pick", form, "F4", N_("Open the choices of a choice field (also Enter)"))    \
	X(UI_A_LIST_ADD, "list-add", list, "a + F7", N_("Add an entry"))                           \
	X(UI_A_LIST_EDIT, "list-edit", list, "e F4", N_("Edit the selected entry"))                \
	X(UI_A_LIST_DELETE, "list-delete", list, "d F8", N_("Delete the selected entry"))          \
	X(UI_A_LIVE, "live", view, "l F6",                                                         \
	  N_("Live panels: calls, agents, users with device state"))                               \
	X(UI_A_RESYNC, "resync", view, "s",                                                        \
	  N_("Resync the users from the PBX (progress, then the result)"))                         \
	X(UI_A_LIVE_NEXT, "next-panel", live, "Tab Right",                                         \
	  N_("Next panel (calls, agents, users)"))                                                 \
	X(UI_A_LIVE_PREV, "prev-panel", live, "BackTab Left", N_("Previous panel"))                \
	X(UI_A_LIVE_RESYNC, "live-resync", live, "s", N_("Resync the users from the PBX"))         \
	X(UI_A_NOC_PAUSE, "noc-pause", noc, "p Space", N_("Pause or resume the rotation"))         \
	X(UI_A_NOC_NEXT, "noc-next", noc, "n Right Tab", N_("Next customer in focus"))             \
	X(UI_A_NOC_PREV, "noc-prev", noc, "N Left BackTab", N_("Previous customer in focus"))      \
	X(UI_A_WIZ_BACK, "wizard-back", wizard, "F5",                                              \
	  N_("Previous step (what was typed is kept)"))                                            \
	X(UI_A_WIZ_NEXT, "wizard-next", wizard, "F6",                                              \
	  N_("Next step (checks this one); on the summary: create"))                               \
	X(UI_A_WIZ_ADD_USER, "wizard-add-user", wizard, "F7", N_("Step 4: add a user"))            \
	X(UI_A_WIZ_DEL_USER, "wizard-remove-user", wizard, "F8",                                   \
	  N_("Step 4: remove the user under the cursor"))                                          \
	X(UI_A_WIZ_DISCOVER, "wizard-discover", wizard, "F9",                                      \
	  N_("Step 4: list the users on the PBX of step 3, to give them roles"))                   \
	/* H5: global screens, filters and exports in lists, bulk actions */                       \
	X(UI_A_ACTIVITY_ALL, "activity", grid, "A",                                                \
	  N_("All activity across customers (who, when, what; the full change)"))                  \
	X(UI_A_OUTBOX, "outbox", grid, "o",                                                        \
	  N_("Outbox: queued and failed invitations (retry, cancel)"))                             \
	X(UI_A_MARK, "mark", grid, "Space Ins", N_("Mark or unmark the row (for bulk actions)"))   \
	X(UI_A_BULK, "bulk-actions", grid, "b",                                                    \
	  N_("Actions on the marked rows: assign a role, disable PBX links, export CSV"))          \
	X(UI_A_TAB_FILTER, "tab-filter", view, "/",                                                \
	  N_("Filter the tab's list (users, activity) as you type; Esc clears"))                   \
	X(UI_A_TAB_EXPORT, "tab-export", view, "x",                                                \
	  N_("Export what the tab's list shows (after the filter) to a CSV file"))                 \
	X(UI_A_REC_FILTER, "records-filter", records, "/",                                         \
	  N_("Filter the list as you type; Esc clears"))                                           \
	X(UI_A_REC_EXPORT, "records-export", records, "x",                                         \
	  N_("Export what the list shows (after the filter) to a CSV file"))                       \
	X(UI_A_OUTBOX_RETRY, "outbox-retry", records, "r",                                         \
	  N_("Outbox: send the selected message now (a failed one is queued again)"))              \
	X(UI_A_OUTBOX_CANCEL, "outbox-cancel", records, "d Del",                                   \
	  N_("Outbox: cancel the selected queued message (asks first)"))                           \
	X(UI_A_PBX_TEST, "test-connection", form, "F9 ^T",                                         \
	  N_("PBX form: test the connection as typed, before saving (Esc cancels)"))               \
	X(UI_A_LIVE_FILTER, "live-filter", live, "/",                                              \
	  N_("Filter the calls as you type (number, name, queue, agent, state); Esc clears"))      \
	X(UI_A_LIVE_EXPORT, "live-export", live, "x",                                              \
	  N_("Export the calls shown (after the filter) to a CSV file"))                           \
	/* H4: the message log, jump, the command palette */                                       \
	X(UI_A_MSGLOG, "message-log", generic, "M",                                                \
	  N_("Message log: every message shown, with its time (Esc closes)"))                      \
	X(UI_A_JUMP, "jump", grid, "J", N_("Jump to a customer by reference or tenant id"))        \
	X(UI_A_PALETTE, "palette", generic, ": ^K",                                                \
	  N_("Command palette: a customer by name, reference or tenant id, or an action by name")) \
	X(UI_A_API_TOKENS, "api-tokens", grid, "T",                                                \
	  N_("API tokens of the HTTP API: list, create (the secret shown once), revoke"))

enum ui_action {
	UI_A_NONE = 0,
#define UI_X(e, n, c, k, h) e,
	UI_ACTION_LIST(UI_X)
#undef UI_X
	    UI_A__COUNT
};

const char *ui_action_name(enum ui_action a);
const char *ui_action_help(enum ui_action a);
enum ui_context ui_action_context(enum ui_action a);
const char *ui_context_name(enum ui_context c);
const char *ui_context_title(enum ui_context c);

/* A key as read by get_wch: either a KEY_* code (func) or a character. */
struct ui_event {
	int key;
	bool func;
	enum ui_action action; /* resolved for the top screen; UI_A_NONE if unbound */
};

struct ui_keymap;
/* Parse a keys file ("bind CONTEXT KEY... ACTION", "unbind CONTEXT KEY",
 * "#" comments). `source` names it in errors ("keys.conf"). */
pd_status ui_keymap_parse(struct ui_keymap *km, const char *text, const char *source, pd_err *e);
struct ui_keymap *ui_keymap_new(void); /* with the built-in bindings */
void ui_keymap_free(struct ui_keymap *km);
/* Move a list selection of n rows for the movement actions (up/down, page,
 * home/end); returns UI_HANDLED|UI_REDRAW, or 0 for any other action. */
int ui_list_move(size_t *sel, size_t n, size_t page, enum ui_action action);
enum ui_action ui_keymap_lookup(const struct ui_keymap *km, enum ui_context ctx, int key,
                                bool func);
/* "q, F10" for help texts; "" when unbound. */
void ui_keymap_keys_of(const struct ui_keymap *km, enum ui_action a, char *out, size_t n);
/* The same, only the keys that run `a` in ctx (a key the context binds to
 * something else is left out: Space marks a row in the grid, it does not
 * page there). */
void ui_keymap_keys_in(const struct ui_keymap *km, enum ui_context ctx, enum ui_action a, char *out,
                       size_t n);
/* A key other than a function key that runs `a` in ctx ("t", "^S"): for
 * terminals without F-keys. False when there is none. */
bool ui_keymap_alt_key(const struct ui_keymap *km, enum ui_context ctx, enum ui_action a, char *out,
                       size_t n);
/* Key names: "q", "^S", "F10", "Enter", "Esc", "Tab", "BackTab", "Up", "PgDn"... */
bool ui_key_parse(const char *name, int *key, bool *func);
void ui_key_name(int key, bool func, char *out, size_t n);
/* The built-in keys text (generated from UI_ACTION_LIST). */
extern const char ui_builtin_keys[];

/* ---------------------------------------------------------------- themes */

#define UI_ROLE_LIST(X)                                                                            \
	X(UI_R_NORMAL, "normal")                                                                   \
	X(UI_R_TITLE, "title")                                                                     \
	X(UI_R_GRID_HEADER, "grid.header")                                                         \
	X(UI_R_GRID_SORTED, "grid.sorted")                                                         \
	X(UI_R_GRID_ROW, "grid.row")                                                               \
	X(UI_R_GRID_SELECTED, "grid.selected")                                                     \
	X(UI_R_GRID_MATCH, "grid.match")                                                           \
	X(UI_R_GRID_DIM, "grid.dim")                                                               \
	X(UI_R_TRIAL_ENDING, "trial.ending")                                                       \
	X(UI_R_TRIAL_EXPIRED, "trial.expired")                                                     \
	X(UI_R_STATUS, "status")                                                                   \
	X(UI_R_STATUS_OK, "status.ok")                                                             \
	X(UI_R_STATUS_WARN, "status.warn")                                                         \
	X(UI_R_STATUS_ERROR, "status.error")                                                       \
	X(UI_R_FKEY_KEY, "fkey.key")                                                               \
	X(UI_R_FKEY_LABEL, "fkey.label")                                                           \
	X(UI_R_TAB, "tab")                                                                         \
	X(UI_R_TAB_ACTIVE, "tab.active")                                                           \
	X(UI_R_LABEL, "label")                                                                     \
	X(UI_R_FIELD, "field")                                                                     \
	X(UI_R_FIELD_ACTIVE, "field.active")                                                       \
	X(UI_R_FIELD_READONLY, "field.readonly")                                                   \
	X(UI_R_FIELD_ERROR, "field.error")                                                         \
	X(UI_R_NOTE, "note")                                                                       \
	X(UI_R_WARNING, "warning")                                                                 \
	X(UI_R_DIALOG, "dialog")                                                                   \
	X(UI_R_DIALOG_BORDER, "dialog.border")                                                     \
	X(UI_R_DIALOG_TITLE, "dialog.title")                                                       \
	X(UI_R_DIFF_THEIRS, "diff.theirs")                                                         \
	X(UI_R_DIFF_MINE, "diff.mine")

enum ui_role {
#define UI_X(e, n) e,
	UI_ROLE_LIST(UI_X)
#undef UI_X
	    UI_R__COUNT
};

struct ui_style {
	int fg, bg; /* -1 = terminal default; 0..255, or 0xRRGGBB when *_rgb */
	bool fg_rgb, bg_rgb;
	attr_t attrs; /* A_BOLD... */
	bool set;     /* named in the file */
};
struct ui_theme {
	char *name;
	struct ui_style roles[UI_R__COUNT];
};
extern const char ui_builtin_default_theme[];    /* == themes/default.theme */
extern const char ui_builtin_monochrome_theme[]; /* == themes/monochrome.theme */
/* Parse "role = fg bg attrs" lines. Errors: "<source>:<line>: ...". */
pd_status ui_theme_parse(struct ui_theme *t, const char *text, const char *source, pd_err *e);
/* Find NAME (config dir, then data dirs), parse. On failure *t holds the
 * built-in default and *e says why (file and line). */
pd_status ui_theme_load(struct ui_theme *t, const char *config_dir, const char *name, pd_err *e);
void ui_theme_free(struct ui_theme *t);
/* Degrade a 0..255 or 24-bit colour to what the terminal has. */
short ui_colour_degrade(int rgb_or_index, bool is_rgb, int colours);
/* Install colour pairs (one per role) after initscr; mono = attributes only. */
void ui_theme_apply(const struct ui_theme *t, bool mono);
/* The curses attributes of a role (pair + attrs). */
attr_t ui_role(enum ui_role r);

/* ------------------------------------------------------------- screens */

/* Returned by handlers; OR-ed. */
enum {
	UI_HANDLED = 1 << 0,
	UI_REDRAW = 1 << 1,   /* this screen is dirty */
	UI_RELAYOUT = 1 << 2, /* every screen re-lays out */
	UI_CLOSE = 1 << 3,    /* pop this screen */
	UI_QUIT = 1 << 4,     /* leave the program */
};

struct ui_screen_ops {
	const char *name;
	enum ui_context context;
	bool overlay; /* a dialog: the screens below stay visible */
	/* Allocate s->priv from arg. Non-OK refuses to push (message in *e). */
	pd_status (*create)(struct ui_screen *s, void *arg, pd_err *e);
	void (*destroy)(struct ui_screen *s);
	/* Area given in s->y/x/h/w (everything above the status line). (Re)create
	 * windows/forms here with ui_screen_window(); called on push and resize. */
	void (*layout)(struct ui_screen *s);
	void (*draw)(struct ui_screen *s);
	int (*handle_key)(struct ui_screen *s, const struct ui_event *ev);
	/* Optional extra help text ("" or NULL = only the key table). */
	const char *(*help)(struct ui_screen *s);
	/* Optional: the database changed (another console or this one). */
	int (*on_data)(struct ui_screen *s);
	/* Optional: deferred work (counts...) run when no key is waiting, after
	 * the frame is on screen; requested by setting s->idle. Flags. */
	int (*on_idle)(struct ui_screen *s);
	/* Optional: once a second while s->ticks is true. */
	int (*on_tick)(struct ui_screen *s);
	/* Optional: the status line text when no message is shown. */
	void (*status)(struct ui_screen *s, char *buf, size_t n, enum ui_role *role);
	/* Optional: function-key bar, "F1 Help|F3 Filter|..." (NULL = generic). */
	const char *fkeys;
	/* Draws from the PBX live state: redrawn when the monitor publishes. */
	bool live;
	/* Optional: typed work not saved yet. A quit (F10, q) asks first
	 * ("Discard changes?": save / discard / keep editing); a quit that cannot
	 * ask (a signal, the terminal gone) leaves it to destroy to keep a draft,
	 * unless app->quit_discards. */
	bool (*unsaved)(struct ui_screen *s);
	/* Optional, with unsaved: the quit dialog's "Save"; closes s when saved. */
	void (*save)(struct ui_screen *s);
	/* Optional: a mouse click (button 1) at y, x inside s->win. Flags. */
	int (*on_click)(struct ui_screen *s, int y, int x);
};

struct ui_screen {
	const struct ui_screen_ops *ops;
	struct ui_app *app;
	void *priv;
	WINDOW *win; /* set by layout through ui_screen_window */
	int y, x, h, w;
	bool dirty;
	bool ticks; /* wants on_tick once a second */
	bool idle;  /* wants on_idle when no key is waiting */
	/* windows drawn by this screen outside s->win (forms), refreshed right
	 * after it each frame; registered during draw with ui_screen_child */
	WINDOW *children[8];
	int n_children;
	bool closing; /* ui_close: removed after the current key */
};
/* Close screen s (any position in the stack) once the current key is done;
 * safe from dialog callbacks. */
void ui_close(struct ui_app *app, struct ui_screen *s);
void ui_screen_child(struct ui_app *app, WINDOW *w);

/* Push a new screen on the stack; returns it, or NULL (message shown) when
 * create refused. */
struct ui_screen *ui_push(struct ui_app *app, const struct ui_screen_ops *ops, void *arg);
/* Pop (destroy) the top screen. */
void ui_pop(struct ui_app *app);
struct ui_screen *ui_top(struct ui_app *app);
/* (Re)create s->win at the given rectangle (absolute coordinates). */
WINDOW *ui_screen_window(struct ui_screen *s, int y, int x, int h, int w);
/* Mark every screen dirty / one screen dirty. */
void ui_app_dirty_all(struct ui_app *app);
/* Thread-safe: wake the UI loop (coalesced; at most one byte pending). */
void ui_app_wake(struct ui_app *app);
/* Status-line message: role UI_R_STATUS_OK/WARN/ERROR. Stays until the next
 * key (errors stay 10 s). */
void ui_msg(struct ui_app *app, enum ui_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ask the app to notify on_data to every screen (after this process wrote). */
void ui_app_data_changed(struct ui_app *app);
/* Show where the terminal cursor goes after this frame (forms); NULL hides it. */
void ui_app_cursor(struct ui_app *app, WINDOW *w);

#define UI_MSGLOG_MAX 300
/* The i-th logged message, oldest first (i < app->log_n). */
const struct ui_logged *ui_msglog_at(const struct ui_app *app, size_t i);

/* What screens may use. */
struct ui_app {
	const pd_ui_opts *opts;
	const pd_config *cfg;
	const pd_catalogue *cat;
	const pd_geo *geo;
	pd_store *store; /* NULL when the database could not be opened */
	char *db_error;  /* why, shown by the grid */
	pd_actor actor;
	struct ui_keymap *keys;
	struct ui_theme theme;
	bool mono;
	bool read_only; /* --noc */
	/* the terminal has no usable F-keys (vt100...): the key bar names the
	 * letter or Esc-digit that does the same (Esc 1..0 = F1..F10 anywhere) */
	bool no_fkeys;
	/* the key bar's labels as drawn, for a mouse click (mouse on) */
	struct ui_bar_key {
		int x0, x1; /* columns [x0, x1) */
		int key;
		bool func;
	} bar_keys[16];
	int n_bar_keys;
	bool mouse;
	/* the stack (internal) */
	struct ui_screen **stack;
	size_t n_stack, cap_stack;
	/* status line message: wrapped above the key bar when longer than a line */
	char msg[1024];
	enum ui_role msg_role;
	int64_t msg_until;
	bool bar_dirty;
	WINDOW *bar; /* message area (1+ lines) + function-key bar */
	int bar_h;   /* its height now */
	/* the message log (M): the last UI_MSGLOG_MAX messages, oldest first
	 * from log_head, with their times (pd_now) */
	struct ui_logged {
		int64_t at;
		enum ui_role role;
		char *text;
	} log[UI_MSGLOG_MAX];
	size_t log_n, log_head;
	WINDOW *cursor_win;
	struct ui_screen *drawing; /* the screen being drawn */
	int wake_rd, wake_wr;
	volatile sig_atomic_t wake_pending;
	int64_t data_version, change_counter;
	bool data_changed;
	bool quit;
	/* the user chose "discard" when quitting: forms keep no draft */
	bool quit_discards;
	bool too_small;
	/* grid hooks for the wizard: select a customer after creation */
	int64_t select_customer_id;
	/* an action the palette chose, run on the top screen once it closed */
	enum ui_action pending_action;
	struct ui_services *svc; /* PBX monitor + outbox worker (live/services.h) */
};

/* ------------------------------------------------------ drawing helpers */

/* Draw UTF-8 `s` at (y,x) in at most `width` cells, padded with spaces to
 * `width` when pad; cell-width correct (wide chars, combining marks). "…"
 * marks truncation. Returns cells drawn. */
int ui_put(WINDOW *w, int y, int x, int width, const char *s, attr_t attr, bool pad);
/* Table columns (the live panels, the NOC): widths for a row of `total`
 * cells, one space between columns; each column gets base[i] and the
 * columns with grow[i] > 0 share what is left in proportion. */
void ui_columns_fit(int total, const int *base, const int *grow, int n, int *out);
/* Same, each column at least as wide as its title (translated titles can be
 * longer than the base widths, which fit the English ones): the growing
 * columns give up what the titles took. At most UI_COLUMNS_MAX columns. */
#define UI_COLUMNS_MAX 16
void ui_columns_fit_titles(int total, const char *const *titles, const int *base, const int *grow,
                           int n, int *out);
/* One table row at y in those widths: cell i in col_attr[i] (if non-NULL and
 * non-zero) else attr, right-aligned where right[i] (right may be NULL). */
void ui_put_columns(WINDOW *w, int y, const char *const *cells, const int *cw, int n,
                    const bool *right, attr_t attr, const attr_t *col_attr);
/* Same, highlighting the folded match of `needle` (may be NULL) with `hl`. */
int ui_put_match(WINDOW *w, int y, int x, int width, const char *s, const char *needle, attr_t attr,
                 attr_t hl, bool pad);
/* Fill a line from x with spaces in attr. */
void ui_fill(WINDOW *w, int y, int x, int width, attr_t attr);
/* A box in the dialog.border role with an optional title. */
void ui_box(WINDOW *w, const char *title);
/* A customer's status as shown ("active", in the user's language); files
 * and filters keep pd_customer_status_name. */
const char *ui_customer_status_label(pd_customer_status s);
/* The cells ui_put takes for `s` (control characters drawn as a space):
 * measure translated labels with it, never with strlen (French is longer
 * and has accents). */
int ui_text_width(const char *s);
/* Word-wrap UTF-8 `s` into lines of at most `width` cells (a word longer
 * than a line is cut); at least one line. *out and each line: caller frees. */
size_t ui_wrap(const char *s, int width, char ***out);
/* Copy of s cut to at most `cells` cells (with "…"). Caller frees. */
char *ui_cut(const char *s, int cells);

/* --------------------------------------------------------------- dialogs */

/* Done callbacks run before the dialog closes; the opener is still alive. */
typedef void (*ui_done_fn)(struct ui_app *app, void *ctx, bool ok, const char *text);
/* A message box (Enter/Esc closes). */
void ui_dialog_message(struct ui_app *app, const char *title, const char *text);
/* Yes/No; done(ok=true) on y/Enter on "Yes". */
void ui_dialog_confirm(struct ui_app *app, const char *title, const char *text, ui_done_fn done,
                       void *ctx);
/* One-line text prompt; done(ok, text). `secret` masks input. */
void ui_dialog_prompt(struct ui_app *app, const char *title, const char *text, const char *initial,
                      bool secret, ui_done_fn done, void *ctx);

struct ui_choice {
	char *value; /* what is stored */
	char *label; /* what is shown */
};
void ui_choices_free(struct ui_choice *c, size_t n);
/* Called when the picker's query changes: fill *out (allocated) and *n. */
typedef void (*ui_search_fn)(void *ctx, const char *query, struct ui_choice **out, size_t *n);
/* A list to choose from, with type-ahead filtering (substring of the folded
 * label, or `search` when given). done(ok, value). */
void ui_dialog_pick(struct ui_app *app, const char *title, const struct ui_choice *c, size_t n,
                    const char *current, ui_search_fn search, void *search_ctx, ui_done_fn done,
                    void *ctx);

/* ---------------------------------------------------------- form helpers */

enum ui_fkind {
	UI_F_TEXT,      /* one line, scrolls horizontally up to max */
	UI_F_MULTILINE, /* `height` lines; Enter = new line */
	UI_F_SECRET,    /* masked; never filled back */
	UI_F_CHOICE,    /* from choices: Enter/F4 opens a picker, Left/Right cycle */
	UI_F_TOGGLE,    /* yes/no: Space/Enter toggles */
	UI_F_LOOKUP,    /* typed text + suggestion (country): Enter/F4 picks */
	UI_F_READONLY,  /* shown, skipped */
};

struct ui_fspec {
	const char *key; /* snake_case field name (matches pd_err.field) */
	const char *label;
	enum ui_fkind kind;
	int width;        /* input cells; 0 = as wide as fits */
	int height;       /* lines (multiline), else 1 */
	int max;          /* max characters (0 = 256) */
	const char *note; /* shown after the field when there is no error */
};

struct ui_form;
/* Validate field idx (value via ui_form_get). Return PD_OK or fill e. */
typedef pd_status (*ui_form_check_fn)(struct ui_form *f, int idx, void *ctx, pd_err *e);
/* A value changed by a picker/toggle/leaving the field: update other fields. */
typedef void (*ui_form_change_fn)(struct ui_form *f, int idx, void *ctx);
/* For UI_F_LOOKUP: suggestions for the typed text. */

struct ui_form *ui_form_new(struct ui_app *app, const struct ui_fspec *spec, size_t n,
                            ui_form_check_fn check, ui_form_change_fn changed, void *ctx);
void ui_form_free(struct ui_form *f);
size_t ui_form_count(const struct ui_form *f);
int ui_form_index(const struct ui_form *f, const char *key); /* -1 if none */
/* Values are UTF-8; toggles are "yes"/"no"; choices hold the choice value. */
void ui_form_set(struct ui_form *f, int idx, const char *value);
/* Set a value as if typed: the field counts as modified and is checked
 * (a draft restored into a form). Read-only fields are left alone. */
void ui_form_put(struct ui_form *f, int idx, const char *value);
const char *ui_form_get(struct ui_form *f, int idx);
bool ui_form_get_bool(struct ui_form *f, int idx);
/* Was the field edited since ui_form_set / ui_form_mark_clean? */
bool ui_form_modified(const struct ui_form *f, int idx);
void ui_form_mark_clean(struct ui_form *f);
void ui_form_set_choices(struct ui_form *f, int idx, const struct ui_choice *c, size_t n);
void ui_form_set_search(struct ui_form *f, int idx, ui_search_fn search, void *ctx);
void ui_form_set_error(struct ui_form *f, int idx, const char *msg); /* NULL clears */
const char *ui_form_error(const struct ui_form *f, int idx);
void ui_form_set_note(struct ui_form *f, int idx, const char *note); /* copied; NULL = spec note */
void ui_form_set_readonly(struct ui_form *f, int idx, bool ro);
void ui_form_set_hidden(struct ui_form *f, int idx, bool hidden);
/* Place the form in `win` at rows y..y+h, columns x..x+w; recreates the
 * libform fields from the stored values (call from the screen's layout). */
void ui_form_layout(struct ui_form *f, WINDOW *win, int y, int x, int h, int w);
void ui_form_draw(struct ui_form *f, bool focused);
/* Editing and navigation keys; returns UI_* flags, 0 if not for the form. */
int ui_form_key(struct ui_form *f, const struct ui_event *ev);
/* Check every visible field; focus the first with an error; true if none. */
bool ui_form_check_all(struct ui_form *f);
void ui_form_focus(struct ui_form *f, int idx);
int ui_form_current(const struct ui_form *f);
/* Apply a pd_err naming a field to that field (true if a field matched). */
bool ui_form_apply_err(struct ui_form *f, const pd_err *e);

/* A full-screen form (title, intro, fields; F2/^S saves, Esc asks before
 * dropping changes). The def is copied; ctx is freed with free_ctx. */
struct ui_formscreen_def {
	const char *title;
	const char *intro; /* lines above the fields; a line starting "!" is a warning */
	const struct ui_fspec *spec;
	size_t n;
	ui_form_check_fn check;
	ui_form_change_fn changed;
	void (*init)(struct ui_form *f, void *ctx); /* set the initial values */
	/* Save. PD_OK closes the screen (and notifies on_data). An error naming a
	 * field goes beside it, else under the form. Return PD_E_CONFLICT with
	 * e->status == PD_OK when you opened your own screen (conflict). */
	pd_status (*submit)(struct ui_form *f, void *ctx, pd_err *e);
	void (*draw_extra)(struct ui_screen *s, struct ui_form *f, void *ctx);
	void (*free_ctx)(void *ctx);
	void *ctx;
	/* Optional: where unsaved edits are kept as a draft when the program
	 * leaves without asking (SIGHUP, SIGTERM, the terminal gone), e.g.
	 * "customer/42"; stored per OS user beside the wizard's draft, offered
	 * back ("restore?") when the same form opens again. Never secrets. */
	const char *draft;
	/* Optional (H5): keys the form did not take (e.g. the PBX form's
	 * test-connection); returns UI_* flags, 0 when not for it. */
	int (*key)(struct ui_screen *s, struct ui_form *f, void *ctx, const struct ui_event *ev);
};
struct ui_screen *ui_formscreen_open(struct ui_app *app, const struct ui_formscreen_def *def);

/* The platform's own parameters (params_json) in the PBX and template forms
 * (platform_fields.c): the form's spec is `base` followed by one field per
 * distinct extra key over every platform (keyed and labelled as in the
 * catalogue, so the core's errors land beside them); ui_platform_fields_show
 * hides those the chosen platform does not have. */
struct ui_platform_fields {
	const pd_catalogue *cat;
	struct ui_fspec *spec; /* the whole form's spec: base + extras */
	size_t n_spec;
	int first;         /* form index of the first extra field */
	const char **keys; /* the extras' keys, borrowed from the catalogue */
	size_t n;
};
void ui_platform_fields_init(struct ui_platform_fields *x, const pd_catalogue *cat,
                             const struct ui_fspec *base, size_t n_base);
void ui_platform_fields_free(struct ui_platform_fields *x);
void ui_platform_fields_show(const struct ui_platform_fields *x, struct ui_form *f,
                             const char *platform);
/* A stored parameter as the customer view shows it: "no", "7", "yes (default)". */
char *ui_platform_fields_text(const pd_platform_field *pf, const char *params_json);
/* Values from params_json, else the catalogue default. */
void ui_platform_fields_load(const struct ui_platform_fields *x, struct ui_form *f,
                             const char *platform, const char *params_json);
/* params_json for `platform`: what orig_json holds of that platform's extras,
 * with the form's values over it (empty text = the default: removed; a
 * default not stored before stays unstored). Caller frees. */
char *ui_platform_fields_params(const struct ui_platform_fields *x, struct ui_form *f,
                                const char *platform, const char *orig_json);
struct ui_form *ui_formscreen_form(struct ui_screen *s);
void ui_formscreen_save(struct ui_screen *s);
void ui_formscreen_set_error(struct ui_screen *s, const char *msg);

/* ------------------------------------- lists: filter, activity, export */
/* (listview.c, H5) */

/* A filter typed on a focused list: `start` opens it, printable keys edit
 * it, Enter keeps it, Esc clears it (also when not editing). Matching is
 * folded (case and accents) substring over the row's cells. */
struct ui_list_filter {
	char text[128];
	bool editing;
};
int ui_list_filter_key(struct ui_list_filter *f, const struct ui_event *ev, enum ui_action start);
bool ui_list_filter_match(const struct ui_list_filter *f, const char *const *cells, size_t n);
/* "Filter: text" on one line (nothing when empty and not editing). */
void ui_list_filter_draw(const struct ui_list_filter *f, WINDOW *w, int y, int x, int width);

/* Rows of text for an export (header first). */
struct ui_table;
struct ui_table *ui_table_new(const char *const *header, size_t ncol);
void ui_table_add(struct ui_table *t, const char *const *cells); /* ncol cells, copied */
size_t ui_table_rows(const struct ui_table *t);
void ui_table_free(struct ui_table *t);
/* Through the CLI's CSV writer (src/cli/csv.h); errors name the field "file". */
pd_status ui_table_write_csv(const struct ui_table *t, const char *path, pd_err *e);
/* Ask a file name (default ~/provdesk-WHAT-DAY.csv) and write t there; takes t. */
void ui_export_ask(struct ui_app *app, const char *what, struct ui_table *t);

/* The activity (audit) list with a detail pane showing the selected
 * record's full change, one "field: old → new" per line: the customer
 * view's Activity tab and the global activity screen. Rows are borrowed;
 * customer_names (parallel to rows, or NULL) adds a Customer column. */
struct ui_audit_pane {
	const pd_audit *rows;
	size_t n;
	char **customer_names;
	char **what;            /* "object action" per row */
	size_t *shown, n_shown; /* rows after the filter */
	size_t sel, top;        /* in shown */
	struct ui_list_filter filter;
};
void ui_audit_pane_set(struct ui_audit_pane *p, const pd_audit *rows, size_t n,
                       char **customer_names);
void ui_audit_pane_refilter(struct ui_audit_pane *p);
void ui_audit_pane_free(struct ui_audit_pane *p);
const pd_audit *ui_audit_pane_selected(const struct ui_audit_pane *p);
void ui_audit_pane_draw(struct ui_audit_pane *p, WINDOW *w, int y, int h, int width);
/* Movement, and the filter opened by the action `filter`. */
int ui_audit_pane_key(struct ui_audit_pane *p, const struct ui_event *ev, enum ui_action filter,
                      size_t page);
/* What the list shows (after the filter), for ui_export_ask. */
struct ui_table *ui_audit_pane_table(const struct ui_audit_pane *p);

/* ----------------------------------------------------------- the screens */

extern const struct ui_screen_ops ui_grid_ops;
extern const struct ui_screen_ops ui_help_ops;   /* arg: the screen asking */
extern const struct ui_screen_ops ui_msglog_ops; /* msglog.c; arg: NULL */
/* The command palette (palette.c) over screen `over`. */
void ui_palette_open(struct ui_app *app, struct ui_screen *over);
extern const struct ui_screen_ops ui_customer_ops; /* arg: int64_t * customer id */
extern const struct ui_screen_ops ui_edit_ops;     /* arg: pd_customer * (copied) */
extern const struct ui_screen_ops ui_templates_ops;
extern const struct ui_screen_ops ui_catalogue_ops;
extern const struct ui_screen_ops ui_api_tokens_ops;
extern const struct ui_screen_ops ui_activity_ops; /* H5: every customer's activity */
extern const struct ui_screen_ops ui_outbox_ops;   /* H5: the outbox */

/* The creation wizard (src/ui/wizard/). On success it sets
 * app->select_customer_id and calls ui_app_data_changed so the grid selects
 * the new customer. */
int ui_wizard_open(struct ui_app *app);

/* Work the app loop runs beside the screens: the PBX monitor and the outbox
 * worker (live/services.c defines ui_background). The loop reaches them only
 * through these hooks, so the framework includes nothing of live/ and the
 * dependencies inside ui point one way: screens and services -> framework. */
struct ui_background_ops {
	void (*start)(struct ui_app *app);
	void (*stop)(struct ui_app *app); /* joins the threads; safe when never started */
	/* At most max pollfds for the loop's poll(); returns how many. */
	int (*pollfds)(struct ui_app *app, struct pollfd *pf, int max);
	void (*polled)(struct ui_app *app, const struct pollfd *pf, int n);
	void (*loop)(struct ui_app *app);   /* once per loop turn, before the data check */
	void (*second)(struct ui_app *app); /* once a second */
};
extern const struct ui_background_ops ui_background;
extern const struct ui_screen_ops ui_noc_ops; /* live/noc.c; arg: NULL */

/* PBX/live columns of the grid (live/grid_columns.c): the monitor's live
 * state when this console's monitor knows the customer, else the stored PBX
 * state. Writes "—" when unknown. */
struct ui_live_cols {
	char pbx[48], calls[16], agents[24];
	char pbx_short[16]; /* for a narrow column ("" = none): "monitor", "↻ 8s", "auth ✗" */
	char pbx_mid[32];   /* between the two ("" = none): "down 14:02, 12s" */
	enum ui_role pbx_role;
};
void ui_live_for_row(struct ui_app *app, const pd_row *r, struct ui_live_cols *out);

/* Show a store error (status line + dialog for unexpected ones). */
void ui_show_err(struct ui_app *app, const char *what, const pd_err *e);

#endif
