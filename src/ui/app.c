/* The console loop: poll() on the keyboard and a wake pipe, keys read with a
 * zero timeout, dirty screens redrawn with one doupdate per frame. Signals
 * only set flags (and poke the wake pipe); the terminal is restored on every
 * exit path. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/paths.h"
#include "ui_internal.h"

#define UI_MIN_COLS 80
#define UI_MIN_LINES 24

static volatile sig_atomic_t sig_quit; /* SIGTERM, SIGHUP, SIGINT */
static int sig_wake_fd = -1;
static bool curses_on;
static char *exit_message; /* printed on stderr after endwin (theme errors...) */

static void restore_terminal(void)
{
	if (curses_on) {
		curses_on = false;
		endwin();
	}
}

static void on_quit_signal(int sig)
{
	sig_quit = sig;
	if (sig_wake_fd >= 0) {
		int saved = errno;
		ssize_t r = write(sig_wake_fd, "s", 1);
		(void)r;
		errno = saved;
	}
}

static void on_fatal_signal(int sig)
{
	/* endwin is not async-signal-safe, but a crashed console that leaves the
	 * terminal raw is worse; then die with the same signal. */
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_quit_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---------------------------------------------------------------- stack */

struct ui_screen *ui_top(struct ui_app *app)
{
	return app->n_stack ? app->stack[app->n_stack - 1] : NULL;
}

static void layout_screen(struct ui_app *app, struct ui_screen *s)
{
	s->y = 0;
	s->x = 0;
	s->h = LINES - 2; /* status line + function-key bar */
	s->w = COLS;
	if (!app->too_small && s->ops->layout)
		s->ops->layout(s);
	s->dirty = true;
}

WINDOW *ui_screen_window(struct ui_screen *s, int y, int x, int h, int w)
{
	if (h < 1)
		h = 1;
	if (w < 1)
		w = 1;
	if (s->win)
		delwin(s->win);
	s->win = newwin(h, w, y, x);
	if (s->win) {
		keypad(s->win, TRUE);
		leaveok(s->win, TRUE);
	}
	return s->win;
}

struct ui_screen *ui_push(struct ui_app *app, const struct ui_screen_ops *ops, void *arg)
{
	struct ui_screen *s = xcalloc(1, sizeof *s);
	s->ops = ops;
	s->app = app;
	pd_err e;
	pd_err_clear(&e);
	if (ops->create && ops->create(s, arg, &e) != PD_OK) {
		ui_msg(app, UI_R_STATUS_ERROR, "%s", e.message[0] ? e.message : _("cannot open"));
		free(s);
		return NULL;
	}
	if (app->n_stack == app->cap_stack) {
		app->cap_stack = app->cap_stack ? app->cap_stack * 2 : 8;
		app->stack = xrealloc(app->stack, app->cap_stack * sizeof *app->stack);
	}
	app->stack[app->n_stack++] = s;
	layout_screen(app, s);
	app->bar_dirty = true;
	return s;
}

static void destroy_screen(struct ui_screen *s)
{
	if (s->ops->destroy)
		s->ops->destroy(s);
	if (s->win)
		delwin(s->win);
	free(s);
}

void ui_pop(struct ui_app *app)
{
	if (!app->n_stack)
		return;
	struct ui_screen *s = app->stack[--app->n_stack];
	if (app->cursor_win == s->win)
		app->cursor_win = NULL;
	destroy_screen(s);
	/* what was under it shows again */
	ui_app_dirty_all(app);
}

void ui_close(struct ui_app *app, struct ui_screen *s)
{
	(void)app;
	s->closing = true;
}

static void reap_closed(struct ui_app *app)
{
	bool any = false;
	for (size_t i = 0; i < app->n_stack;) {
		struct ui_screen *s = app->stack[i];
		if (!s->closing) {
			i++;
			continue;
		}
		memmove(app->stack + i, app->stack + i + 1,
		        (app->n_stack - i - 1) * sizeof *app->stack);
		app->n_stack--;
		if (app->cursor_win == s->win)
			app->cursor_win = NULL;
		destroy_screen(s);
		any = true;
	}
	if (any)
		ui_app_dirty_all(app);
}

void ui_app_dirty_all(struct ui_app *app)
{
	for (size_t i = 0; i < app->n_stack; i++)
		app->stack[i]->dirty = true;
	app->bar_dirty = true;
}

void ui_app_wake(struct ui_app *app)
{
	if (__atomic_exchange_n(&app->wake_pending, 1, __ATOMIC_ACQ_REL))
		return;
	ssize_t r = write(app->wake_wr, "w", 1);
	(void)r;
}

void ui_app_data_changed(struct ui_app *app)
{
	app->data_changed = true;
}

void ui_screen_child(struct ui_app *app, WINDOW *w)
{
	struct ui_screen *s = app->drawing;
	if (s && w && s->n_children < (int)(sizeof s->children / sizeof s->children[0]))
		s->children[s->n_children++] = w;
}

void ui_app_cursor(struct ui_app *app, WINDOW *w)
{
	app->cursor_win = w;
}

void ui_msg(struct ui_app *app, enum ui_role role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(app->msg, sizeof app->msg, fmt, ap);
	va_end(ap);
	/* one line: newlines would break the status line */
	for (char *p = app->msg; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	app->msg_role = role;
	app->msg_until = pd_now() + (role == UI_R_STATUS_ERROR ? 10 : 4);
	app->bar_dirty = true;
	/* kept in the log (M) once it is gone from the status line */
	size_t slot = (app->log_head + app->log_n) % UI_MSGLOG_MAX;
	if (app->log_n == UI_MSGLOG_MAX) {
		free(app->log[app->log_head].text);
		app->log_head = (app->log_head + 1) % UI_MSGLOG_MAX;
	} else {
		app->log_n++;
	}
	app->log[slot] = (struct ui_logged){pd_now(), role, xstrdup(app->msg)};
}

const struct ui_logged *ui_msglog_at(const struct ui_app *app, size_t i)
{
	return i < app->log_n ? &app->log[(app->log_head + i) % UI_MSGLOG_MAX] : NULL;
}

static void msglog_free(struct ui_app *app)
{
	for (size_t i = 0; i < app->log_n; i++)
		free(app->log[(app->log_head + i) % UI_MSGLOG_MAX].text);
	app->log_n = 0;
}

void ui_show_err(struct ui_app *app, const char *what, const pd_err *e)
{
	/* TRANSLATORS: a field's label, then its error (French: "%s : %s") */
	ui_msg(app, UI_R_STATUS_ERROR, _("%s: %s"), what,
	       e->message[0] ? e->message : pd_status_message(e->status));
}

/* ------------------------------------------------------------- drawing */

static const char generic_fkeys[] = N_("F1|Help|F10|Quit");

/* Without F-keys, "F5" in the bar becomes the key that does the same on this
 * screen ("t"), else Esc and the digit ("Esc6"). */
static bool fkey_alt(struct ui_app *app, struct ui_screen *top, const char *k, char *out, size_t n)
{
	int key;
	bool func;
	if (k[0] != 'F' || !ui_key_parse(k, &key, &func) || !func)
		return false;
	enum ui_action a = ui_keymap_lookup(app->keys, top->ops->context, key, true);
	if (a != UI_A_NONE && ui_keymap_alt_key(app->keys, top->ops->context, a, out, n))
		return true;
	int d = key - KEY_F0;
	if (d < 1 || d > 10)
		return false;
	pd_snprintf(out, n, "Esc%d", d % 10);
	return true;
}

/* The message lines now: the message wrapped (at most a third of the screen,
 * the last line then says where the rest is), else one status line. */
static bool msg_active(struct ui_app *app)
{
	if (app->msg[0] && pd_now() > app->msg_until)
		app->msg[0] = 0;
	return app->msg[0] != 0;
}

static size_t msg_lines(struct ui_app *app, char ***out)
{
	if (!msg_active(app)) {
		*out = NULL;
		return 1;
	}
	size_t n = ui_wrap(app->msg, COLS, out);
	size_t max = LINES / 3 > 1 ? (size_t)LINES / 3 : 1;
	if (n > max) {
		char **l = *out;
		for (size_t i = max; i < n; i++)
			free(l[i]);
		char *cut = ui_cut(l[max - 1], COLS - 22);
		free(l[max - 1]);
		l[max - 1] = xasprintf(_("%s (M: the whole text)"), cut);
		free(cut);
		n = max;
	}
	return n;
}

static void draw_bars(struct ui_app *app)
{
	char **lines = NULL;
	size_t nl = msg_lines(app, &lines);
	int h = (int)nl + 1;
	/* its own window: refreshing stdscr would paint over the screens */
	if (app->bar && (getmaxx(app->bar) != COLS || getbegy(app->bar) != LINES - h)) {
		delwin(app->bar);
		app->bar = NULL;
	}
	if (!app->bar)
		app->bar = newwin(h, COLS, LINES - h, 0);
	app->bar_h = h;
	if (!app->bar) {
		for (size_t i = 0; lines && i < nl; i++)
			free(lines[i]);
		free(lines);
		return;
	}
	WINDOW *bw = app->bar;
	int y = 0;
	struct ui_screen *top = ui_top(app);
	if (lines) {
		enum ui_role role = app->msg_role;
		for (size_t i = 0; i < nl; i++) {
			ui_fill(bw, y + (int)i, 0, COLS, ui_role(role));
			ui_put(bw, y + (int)i, 0, COLS, lines[i], ui_role(role), true);
			free(lines[i]);
		}
		free(lines);
		y += (int)nl;
	} else {
		char buf[512] = "";
		enum ui_role role = UI_R_STATUS;
		for (size_t i = app->n_stack; i-- > 0;)
			if (app->stack[i]->ops->status) {
				app->stack[i]->ops->status(app->stack[i], buf, sizeof buf, &role);
				break;
			}
		ui_fill(bw, y, 0, COLS, ui_role(role));
		ui_put(bw, y, 0, COLS, buf, ui_role(role), true);
		y++;
	}
	/* htop-style bar: "F1|Help|F3|Filter" pairs, translated as a whole (the
	 * keys stay as they are). Labels are padded to 7 cells, or followed by
	 * one space when the padded bar would not fit the width (French labels
	 * are longer): measured in cells, not bytes. */
	const char *fk = pd_tr(top && top->ops->fkeys ? top->ops->fkeys : generic_fkeys);
	char *copy = xstrdup(fk);
	int x = 0;
	ui_fill(bw, y, 0, COLS, ui_role(UI_R_FKEY_LABEL));
	char *save = NULL;
	app->n_bar_keys = 0;
	struct {
		char *k, *label;
	} pairs[24];
	int np = 0, padded = 0;
	for (char *k = strtok_r(copy, "|", &save); k && np < 24; k = strtok_r(NULL, "|", &save)) {
		pairs[np].k = k;
		pairs[np].label = strtok_r(NULL, "|", &save);
		char alt[32];
		int kw = app->no_fkeys && top && fkey_alt(app, top, k, alt, sizeof alt)
		             ? ui_text_width(alt)
		             : ui_text_width(k);
		int lw = pairs[np].label ? ui_text_width(pairs[np].label) : 0;
		padded += kw + (lw >= 7 ? lw + 1 : 7);
		np++;
	}
	bool pad = padded <= COLS;
	for (int i = 0; i < np && x < COLS; i++) {
		char *k = pairs[i].k, *label = pairs[i].label;
		struct ui_bar_key bk = {.x0 = x};
		bool known = ui_key_parse(k, &bk.key, &bk.func);
		char alt[32];
		if (app->no_fkeys && top && fkey_alt(app, top, k, alt, sizeof alt))
			k = alt;
		x += ui_put(bw, y, x, COLS - x, k, ui_role(UI_R_FKEY_KEY), false);
		if (label && x < COLS) {
			int lw = ui_text_width(label);
			/* a label of 7 or more keeps a space before the next key */
			int cells = pad && lw < 7 ? 7 : lw + 1;
			x += ui_put(bw, y, x, COLS - x, label, ui_role(UI_R_FKEY_LABEL), false);
			if (cells > lw && x < COLS) {
				int sp = cells - lw < COLS - x ? cells - lw : COLS - x;
				ui_fill(bw, y, x, sp, ui_role(UI_R_FKEY_LABEL));
				x += sp;
			}
		}
		bk.x1 = x;
		if (known &&
		    app->n_bar_keys < (int)(sizeof app->bar_keys / sizeof app->bar_keys[0]))
			app->bar_keys[app->n_bar_keys++] = bk;
	}
	free(copy);
	touchwin(bw);
	wnoutrefresh(bw);
}

static void draw_too_small(void)
{
	werase(stdscr);
	char buf[128];
	pd_snprintf(buf, sizeof buf, _("Terminal too small: %dx%d"), COLS, LINES);
	mvaddnstr(LINES / 2 - 1 > 0 ? LINES / 2 - 1 : 0, 0, buf, COLS);
	pd_snprintf(buf, sizeof buf, _("provdesk needs at least %dx%d. Resize, or q to quit."),
	            UI_MIN_COLS, UI_MIN_LINES);
	mvaddnstr(LINES / 2 > 0 ? LINES / 2 : 0, 0, buf, COLS);
	wnoutrefresh(stdscr);
}

static void draw_frame(struct ui_app *app)
{
	if (app->too_small) {
		draw_too_small();
		curs_set(0);
		doupdate();
		return;
	}
	/* the message area grew or shrank: the screens under it paint again */
	{
		char **l = NULL;
		size_t nl = msg_lines(app, &l);
		for (size_t i = 0; l && i < nl; i++)
			free(l[i]);
		free(l);
		if ((int)nl + 1 != app->bar_h)
			ui_app_dirty_all(app);
	}
	/* from the topmost full screen up: once one is redrawn, everything
	 * above it must be redrawn too to stay on top */
	size_t base = app->n_stack ? app->n_stack - 1 : 0;
	while (base > 0 && app->stack[base]->ops->overlay)
		base--;
	bool any = false, above = false;
	/* a screen's draw sets the cursor window again; a frame that redraws no
	 * screen (tick, idle, bars only) keeps the form's cursor where it was */
	WINDOW *prev_cursor = app->cursor_win;
	app->cursor_win = NULL;
	for (size_t i = base; i < app->n_stack; i++) {
		struct ui_screen *s = app->stack[i];
		if (s->dirty || above) {
			if (s->win) {
				werase(s->win);
				s->n_children = 0;
				app->drawing = s;
				if (s->ops->draw)
					s->ops->draw(s);
				app->drawing = NULL;
				wnoutrefresh(s->win);
				for (int c = 0; c < s->n_children; c++) {
					touchwin(s->children[c]);
					wnoutrefresh(s->children[c]);
				}
			}
			s->dirty = false;
			above = true;
			any = true;
		}
	}
	if (!any)
		app->cursor_win = prev_cursor;
	if (app->bar_dirty || any) {
		draw_bars(app);
		app->bar_dirty = false;
	}
	if (app->cursor_win) {
		wnoutrefresh(app->cursor_win);
		curs_set(1);
	} else {
		curs_set(0);
	}
	doupdate();
}

static void relayout_all(struct ui_app *app)
{
	app->too_small = COLS < UI_MIN_COLS || LINES < UI_MIN_LINES;
	/* stdscr is not erased here: get_wch would refresh a touched stdscr over
	 * the screens; the too-small screen erases it in the same frame */
	for (size_t i = 0; i < app->n_stack; i++)
		layout_screen(app, app->stack[i]);
	app->bar_dirty = true;
}

/* ------------------------------------------------------------- events */

static int dispatch_event(struct ui_app *app, struct ui_event ev);

static int dispatch_key(struct ui_app *app, int key, bool func)
{
	struct ui_screen *s = ui_top(app);
	if (app->msg[0] && app->msg_role != UI_R_STATUS_ERROR) {
		app->msg[0] = 0;
		app->bar_dirty = true;
	}
	if (app->too_small) {
		if (!func && (key == 'q' || key == 'Q'))
			return UI_QUIT;
		if (func && key == KEY_F(10))
			return UI_QUIT;
		return 0;
	}
	if (!s)
		return UI_QUIT;
	struct ui_event ev = {.key = key, .func = func};
	ev.action = ui_keymap_lookup(app->keys, s->ops->context, key, func);
	int r = dispatch_event(app, ev);
	/* the palette chose an action: the screen under it runs it, as if its
	 * key had been pressed (the key is the action's first binding) */
	for (int guard = 0; app->pending_action && guard < 4; guard++) {
		struct ui_event pe = {.action = app->pending_action, .key = 0, .func = true};
		app->pending_action = UI_A_NONE;
		if (!ui_top(app))
			break;
		r |= dispatch_event(app, pe);
	}
	return r;
}

static int dispatch_event(struct ui_app *app, struct ui_event ev)
{
	struct ui_screen *s = ui_top(app);
	int r = s->ops->handle_key ? s->ops->handle_key(s, &ev) : 0;
	if (!(r & UI_HANDLED)) {
		switch (ev.action) {
		case UI_A_QUIT:
			r |= UI_QUIT;
			break;
		case UI_A_HELP:
			if (s->ops != &ui_help_ops)
				ui_push(app, &ui_help_ops, s);
			break;
		case UI_A_MSGLOG:
			if (s->ops != &ui_msglog_ops)
				ui_push(app, &ui_msglog_ops, NULL);
			break;
		case UI_A_PALETTE:
			ui_palette_open(app, s);
			break;
		case UI_A_BACK:
			if (app->n_stack > 1)
				r |= UI_CLOSE;
			break;
		case UI_A_REDRAW:
			clearok(curscr, TRUE);
			ui_app_dirty_all(app);
			break;
		default:
			break;
		}
	}
	/* the screen may have pushed others; CLOSE closes the one that got the key */
	if (r & UI_CLOSE)
		s->closing = true;
	else if (r & UI_REDRAW)
		s->dirty = true;
	reap_closed(app);
	if (r & UI_RELAYOUT)
		relayout_all(app);
	return r;
}

/* ------------------------------------------------------------- quitting */

static bool may_quit(struct ui_app *app);

static void quit_done(struct ui_app *app, void *ctx, bool ok, const char *value)
{
	struct ui_screen *s = ctx;
	if (!ok || !value || strcmp(value, "keep") == 0)
		return;
	if (strcmp(value, "discard") == 0) {
		app->quit_discards = true;
		app->quit = true;
		return;
	}
	/* save: quit once it is saved; a refusal or a question (a field in
	 * error, a conflict, a confirmation) keeps the program open on it */
	if (s->ops->save)
		s->ops->save(s);
	if (s->closing && may_quit(app))
		app->quit = true;
}

/* A quit the user asked for (F10, q): a screen with unsaved typed work asks
 * first, and the quit waits for the answer. Too small a terminal cannot show
 * the question: then the form keeps a draft as on a signal. */
static bool may_quit(struct ui_app *app)
{
	if (app->too_small || app->quit_discards)
		return true;
	for (size_t i = app->n_stack; i-- > 0;) {
		struct ui_screen *s = app->stack[i];
		if (s->closing || !s->ops->unsaved || !s->ops->unsaved(s))
			continue;
		const struct ui_choice ch[] = {
		    {"keep", _("Keep editing")},
		    {"save", _("Save, then quit")},
		    {"discard", _("Discard changes and quit")},
		};
		ui_dialog_pick(app, _("Discard changes?"), ch, sizeof ch / sizeof ch[0], "keep",
		               NULL, NULL, quit_done, s);
		return false;
	}
	return true;
}

static void check_data(struct ui_app *app, bool force)
{
	if (!app->store)
		return;
	int64_t dv = store_data_version(app->store);
	int64_t cc = store_change_counter(app->store);
	if (!force && !app->data_changed && dv == app->data_version && cc == app->change_counter)
		return;
	app->data_version = dv;
	app->change_counter = cc;
	app->data_changed = false;
	for (size_t i = 0; i < app->n_stack; i++) {
		struct ui_screen *s = app->stack[i];
		if (s->ops->on_data) {
			int r = s->ops->on_data(s);
			if (r & UI_REDRAW)
				s->dirty = true;
		}
	}
	/* on_data may itself write (not expected); count as seen */
	app->bar_dirty = true;
}

static void tick(struct ui_app *app)
{
	for (size_t i = 0; i < app->n_stack; i++) {
		struct ui_screen *s = app->stack[i];
		if (s->ticks && s->ops->on_tick && (s->ops->on_tick(s) & UI_REDRAW))
			s->dirty = true;
	}
	if (app->msg[0] && pd_now() > app->msg_until)
		app->bar_dirty = true;
}

/* A click: a key-bar label runs its key; elsewhere the top screen's on_click
 * (a row, a tab) with coordinates inside its window. Other buttons, wheel and
 * drags are ignored. */
static int mouse_event(struct ui_app *app)
{
	MEVENT me;
	if (getmouse(&me) != OK || app->too_small)
		return 0;
	if (!(me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
		return 0;
	if (me.y == LINES - 1) {
		for (int i = 0; i < app->n_bar_keys; i++)
			if (me.x >= app->bar_keys[i].x0 && me.x < app->bar_keys[i].x1)
				return dispatch_key(app, app->bar_keys[i].key,
				                    app->bar_keys[i].func);
		return 0;
	}
	struct ui_screen *s = ui_top(app);
	if (!s || !s->win || !s->ops->on_click || me.y >= LINES - app->bar_h)
		return 0;
	int y = me.y - getbegy(s->win), x = me.x - getbegx(s->win);
	if (y < 0 || x < 0 || y >= getmaxy(s->win) || x >= getmaxx(s->win))
		return 0;
	int r = s->ops->on_click(s, y, x);
	if (r & UI_CLOSE)
		s->closing = true;
	else if (r & UI_REDRAW)
		s->dirty = true;
	reap_closed(app);
	return r;
}

/* get_wch with one key of push-back (the key read after an Esc) */
static int pushed_kr = ERR;
static wint_t pushed;

static int next_key(wint_t *wch)
{
	if (pushed_kr != ERR) {
		int r = pushed_kr;
		*wch = pushed;
		pushed_kr = ERR;
		return r;
	}
	return get_wch(wch);
}

static int run_loop(struct ui_app *app)
{
	int64_t last_second = pd_now();
	while (!app->quit && app->n_stack) {
		ui_background.loop(app);
		check_data(app, false);
		draw_frame(app);
		struct pollfd pfd[3] = {{.fd = 0, .events = POLLIN},
		                        {.fd = app->wake_rd, .events = POLLIN}};
		int npfd = 2 + ui_background.pollfds(app, pfd + 2, 1); /* the live state's wake */
		/* the database is checked once a second (PRAGMA data_version is
		 * cheap); this also drives tickers and message expiry */
		int timeout = app->store || app->msg[0] ? 1000 : -1;
		bool idle = false;
		for (size_t i = 0; i < app->n_stack; i++) {
			if (app->stack[i]->ticks)
				timeout = 1000;
			idle = idle || app->stack[i]->idle;
		}
		if (idle)
			timeout = 0; /* the frame is out; deferred work unless a key waits */
		int pr = poll(pfd, (nfds_t)npfd, timeout);
		if (sig_quit)
			break;
		if (pr < 0 && errno != EINTR)
			break;
		if (pr == 0 && idle)
			for (size_t i = 0; i < app->n_stack; i++) {
				struct ui_screen *s = app->stack[i];
				if (!s->idle)
					continue;
				s->idle = false;
				if (s->ops->on_idle && (s->ops->on_idle(s) & UI_REDRAW))
					s->dirty = true;
			}
		if (pr > 0)
			ui_background.polled(app, pfd + 2, npfd - 2);
		if (pr > 0 && (pfd[1].revents & POLLIN)) {
			char drain[64];
			while (read(app->wake_rd, drain, sizeof drain) > 0)
				;
			__atomic_store_n(&app->wake_pending, 0, __ATOMIC_RELEASE);
			app->data_changed = true; /* a background thread published something */
		}
		/* the terminal went away (a dropped SSH link): read what is left,
		 * then leave rather than spin on a dead descriptor */
		bool gone = pr > 0 && (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL));
		/* keys (and KEY_RESIZE from ncurses' SIGWINCH handling) */
		wint_t wch;
		int kr;
		while ((kr = next_key(&wch)) != ERR) {
			if (kr == KEY_CODE_YES && wch == KEY_RESIZE) {
				/* repaint everything: some terminals lose the old
				 * contents on resize (seen with vt100 in tmux) */
				clearok(curscr, TRUE);
				relayout_all(app);
				continue;
			}
			if (kr == KEY_CODE_YES && wch == KEY_MOUSE) {
				int r = mouse_event(app);
				if ((r & UI_QUIT) && may_quit(app))
					app->quit = true;
				if (app->quit)
					break;
				continue;
			}
			bool func = kr == KEY_CODE_YES;
			/* Esc then a digit (sent together): F1..F10, for terminals
			 * without F-keys; a lone Esc stays Esc */
			if (!func && wch == 27) {
				wint_t d;
				int dr = get_wch(&d);
				if (dr == OK && d >= '0' && d <= '9') {
					wch = (wint_t)KEY_F(d == '0' ? 10 : (int)(d - '0'));
					func = true;
				} else if (dr != ERR) {
					pushed_kr = dr;
					pushed = d;
				}
			}
			int r = dispatch_key(app, (int)wch, func);
			if ((r & UI_QUIT) && may_quit(app))
				app->quit = true;
			if (app->quit)
				break;
		}
		if (gone)
			break;
		int64_t now = pd_now();
		if (now != last_second) {
			last_second = now;
			ui_background.second(app);
			tick(app);
		}
	}
	return 0;
}

/* ------------------------------------------------------------- startup */

static int64_t env_flag(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

static void report_exit_message(void)
{
	if (exit_message) {
		fprintf(stderr, "provdesk: %s\n", exit_message);
		free(exit_message);
		exit_message = NULL;
	}
}

/* vt100/vt220 keyboards have PF1-PF4 only (and a terminal that sends
 * xterm's F-keys is not understood); a terminfo without kf10 has none. */
static bool no_fkeys(void)
{
	const char *term = getenv("TERM");
	char *kf10 = tigetstr("kf10");
	return (term && !strncmp(term, "vt", 2)) || !kf10 || kf10 == (char *)-1;
}

int pd_ui_run(const pd_ui_opts *o)
{
	struct ui_app app;
	memset(&app, 0, sizeof app);
	app.opts = o;
	app.cfg = o->cfg;
	app.cat = o->cat;
	app.read_only = o->noc;
	pd_actor_current(&app.actor);
	pd_err e;

	if (!isatty(0) || !isatty(1)) {
		fprintf(stderr,
		        _("provdesk: the console needs a terminal (use a command for scripts)\n"));
		return pd_status_exit_code(PD_E_USAGE);
	}
	pd_status gs = pd_geo_get(&app.geo, &e);
	if (gs != PD_OK) {
		fprintf(stderr, "provdesk: %s\n", e.message);
		return pd_status_exit_code(gs);
	}
	pd_store_opts so = {.catalogue = o->cat,
	                    .internal_systems_limit = o->cfg ? o->cfg->internal_systems_limit : 1,
	                    .busy_timeout_ms = 5000,
	                    .read_only = o->noc};
	if (store_open(o->db_path, &so, &app.store, &e) != PD_OK) {
		/* A catalogue that dropped a product type in use is refused at
		 * start, as on the command line: nothing to show until fixed. */
		if (e.status == PD_E_CONFIG && !strcmp(e.field, "product_type")) {
			fprintf(stderr, "provdesk: %s\n", e.message);
			return pd_status_exit_code(e.status);
		}
		app.store = NULL;
		app.db_error = xstrdup(e.message);
	}

	/* keys: built-in, then the user's keys.conf */
	app.keys = ui_keymap_new();
	const char *cdir = o->cfg ? o->cfg->config_dir : NULL;
	char *user_cdir = cdir ? NULL : pd_path_config_dir();
	const char *config_dir = cdir ? cdir : user_cdir;
	char startup_msg[600] = "";
	if (config_dir) {
		char *kp = xasprintf("%s/keys.conf", config_dir);
		char *text = NULL;
		if (pd_read_file(kp, 0, &text, NULL) == 0) {
			if (ui_keymap_parse(app.keys, text, kp, &e) != PD_OK)
				pd_utf8_copys(startup_msg, sizeof startup_msg, e.message);
			free(text);
		}
		free(kp);
	}
	/* theme: NO_COLOR (non-empty) forces monochrome */
	const char *theme = o->theme && *o->theme        ? o->theme
	                    : o->cfg && o->cfg->ui_theme ? o->cfg->ui_theme
	                                                 : "default";
	app.mono = env_flag("NO_COLOR");
	if (app.mono)
		theme = "monochrome";
	if (ui_theme_load(&app.theme, config_dir, theme, &e) != PD_OK) {
		pd_snprintf(startup_msg, sizeof startup_msg,
		            _("%s (using the built-in default theme)"), e.message);
		exit_message = xstrdup(startup_msg);
	}
	free(user_cdir);

	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C"); /* as pd_i18n_init: numbers keep the dot */
	if (!getenv("ESCDELAY"))
		set_escdelay(25);
	int pipefd[2];
	if (pipe(pipefd) != 0) {
		fprintf(stderr, _("provdesk: pipe: %s\n"), strerror(errno));
		return pd_status_exit_code(PD_E_INTERNAL);
	}
	for (int i = 0; i < 2; i++) {
		fcntl(pipefd[i], F_SETFL, fcntl(pipefd[i], F_GETFL) | O_NONBLOCK);
		fcntl(pipefd[i], F_SETFD, FD_CLOEXEC);
	}
	app.wake_rd = pipefd[0];
	app.wake_wr = pipefd[1];
	sig_wake_fd = app.wake_wr;
	install_signals();
	atexit(restore_terminal);
	atexit(report_exit_message);

	if (!initscr()) {
		fprintf(stderr, _("provdesk: cannot initialise the terminal\n"));
		return pd_status_exit_code(PD_E_INTERNAL);
	}
	curses_on = true;
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	/* always finish a frame: with typeahead checking, a pending byte (a
	 * terminal's answer, a pasted key) aborts doupdate and, as the dirty
	 * flags are already cleared, leaves a stale screen until the next key */
	typeahead(-1);
	leaveok(stdscr, FALSE);
	if (has_colors() && !app.mono) {
		start_color();
	} else if (!app.mono) {
		/* vt100 and the like: attributes only */
		app.mono = true;
		ui_theme_free(&app.theme);
		ui_theme_load(&app.theme, config_dir, "monochrome", &e);
	}
	ui_theme_apply(&app.theme, app.mono);
	app.no_fkeys = no_fkeys();
	/* clicks (a row, a tab, a key-bar label); off for those who select text
	 * with the mouse (over SSH): [ui] mouse = off, --no-mouse */
	app.mouse = !o->no_mouse && (!o->cfg || o->cfg->ui_mouse);
	if (app.mouse) {
		mouseinterval(0); /* a press acts at once; no double-click wait */
		/* every button event, though only a left press acts: with
		 * mouseinterval(0), an event outside the mask that arrives alone
		 * (the release of a click, a wheel turn) makes ncurses read on,
		 * blocking, until the next byte: the screen froze after a click
		 * until a key was pressed */
		mousemask(ALL_MOUSE_EVENTS, NULL);
	}
	/* keys are read with get_wch on stdscr, which refreshes stdscr when it is
	 * touched and would blank the screens: keep stdscr untouched */
	wnoutrefresh(stdscr);
	if (startup_msg[0])
		ui_msg(&app, UI_R_STATUS_ERROR, "%s", startup_msg);
	app.too_small = COLS < UI_MIN_COLS || LINES < UI_MIN_LINES;
	if (app.store) {
		app.data_version = store_data_version(app.store);
		app.change_counter = store_change_counter(app.store);
	}

	ui_background.start(&app);
	ui_push(&app, o->noc ? &ui_noc_ops : &ui_grid_ops, NULL);
	run_loop(&app);

	while (app.n_stack)
		ui_pop(&app);
	ui_background.stop(&app); /* joins the monitor and outbox threads on every exit path */
	free(app.stack);
	restore_terminal();
	int code = 0;
	if (sig_quit) {
		code = 128 + sig_quit;
		if (sig_quit == SIGINT)
			code = 130;
	}
	sig_wake_fd = -1;
	close(app.wake_rd);
	close(app.wake_wr);
	if (app.bar)
		delwin(app.bar);
	if (app.store)
		store_close(app.store);
	free(app.db_error);
	ui_keymap_free(app.keys);
	ui_theme_free(&app.theme);
	msglog_free(&app);
	report_exit_message();
	/* signals: the loop ended cleanly; exit code says which */
	return sig_quit ? code : 0;
}
