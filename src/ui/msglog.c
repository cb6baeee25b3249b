/* The message log (M): every status-line message of this session, oldest
 * first, with its time (pd_now), wrapped to the width; opens on the newest
 * (docs/user-guide.md "Messages"). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_internal.h"

struct msglog {
	char **lines;
	enum ui_role *roles;
	size_t n, top;
	int width;
	size_t seen; /* messages in the log when built */
};

static void clear_lines(struct msglog *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->lines[i]);
	free(m->lines);
	free(m->roles);
	m->lines = NULL;
	m->roles = NULL;
	m->n = 0;
}

static void add(struct msglog *m, char *line, enum ui_role role)
{
	m->lines = xrealloc(m->lines, (m->n + 1) * sizeof *m->lines);
	m->roles = xrealloc(m->roles, (m->n + 1) * sizeof *m->roles);
	m->lines[m->n] = line;
	m->roles[m->n++] = role;
}

static size_t page_of(const struct ui_screen *s)
{
	return s->h > 2 ? (size_t)s->h - 1 : 1;
}

/* "14:02:07  text", continuation lines indented under the text */
static void build(struct ui_screen *s)
{
	struct msglog *m = s->priv;
	struct ui_app *app = s->app;
	clear_lines(m);
	m->width = s->w;
	m->seen = app->log_n;
	int tw = s->w - 11 > 10 ? s->w - 11 : 10;
	for (size_t i = 0; i < app->log_n; i++) {
		const struct ui_logged *l = ui_msglog_at(app, i);
		time_t t = (time_t)l->at;
		struct tm tm;
		char when[16] = "";
		if (localtime_r(&t, &tm))
			strftime(when, sizeof when, "%H:%M:%S", &tm);
		char **wl = NULL;
		size_t nw = ui_wrap(l->text, tw, &wl);
		for (size_t k = 0; k < nw; k++) {
			add(m, xasprintf("%-8s  %s", k ? "" : when, wl[k]), l->role);
			free(wl[k]);
		}
		free(wl);
	}
	if (!app->log_n)
		add(m, xstrdup(_("No messages yet.")), UI_R_NOTE);
	size_t page = page_of(s);
	m->top = m->n > page ? m->n - page : 0; /* the newest at the bottom */
}

static pd_status m_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)arg;
	(void)e;
	s->priv = xcalloc(1, sizeof(struct msglog));
	s->ticks = true; /* a message that arrives while open shows */
	return PD_OK;
}

static void m_destroy(struct ui_screen *s)
{
	struct msglog *m = s->priv;
	clear_lines(m);
	free(m);
}

static void m_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
	build(s);
}

static void m_draw(struct ui_screen *s)
{
	struct msglog *m = s->priv;
	if (m->seen != s->app->log_n || m->width != s->w)
		build(s);
	char title[96];
	pd_snprintf(title, sizeof title,
	            _("Message log — %zu message%s, Esc closes, arrows scroll"), s->app->log_n,
	            s->app->log_n == 1 ? "" : "s");
	ui_fill(s->win, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(s->win, 0, 1, s->w - 2, title, ui_role(UI_R_TITLE), false);
	for (int y = 1; y < s->h && m->top + (size_t)(y - 1) < m->n; y++) {
		size_t i = m->top + (size_t)(y - 1);
		enum ui_role r = m->roles[i] == UI_R_STATUS_ERROR ? UI_R_WARNING
		                 : m->roles[i] == UI_R_NOTE       ? UI_R_NOTE
		                                                  : UI_R_NORMAL;
		ui_put(s->win, y, 0, s->w, m->lines[i], ui_role(r), false);
	}
}

static int m_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct msglog *m = s->priv;
	size_t page = page_of(s);
	size_t maxtop = m->n > page ? m->n - page : 0;
	int r = ui_list_move(&m->top, maxtop + 1, page, ev->action);
	if (r)
		return r;
	switch (ev->action) {
	case UI_A_QUIT:
	case UI_A_BACK:
	case UI_A_MSGLOG:
		return UI_HANDLED | UI_CLOSE; /* q closes the log rather than quitting */
	default:
		return 0;
	}
}

static int m_tick(struct ui_screen *s)
{
	struct msglog *m = s->priv;
	return m->seen != s->app->log_n ? UI_REDRAW : 0;
}

static const char *m_help(struct ui_screen *s)
{
	(void)s;
	return _("The message log: every message the status line showed since the console\n"
	         "started (the last 300), oldest first, with the time it was shown. Long\n"
	         "messages are shown whole here.");
}

const struct ui_screen_ops ui_msglog_ops = {
    .name = "message log",
    .context = UI_CTX_GENERIC,
    .create = m_create,
    .destroy = m_destroy,
    .layout = m_layout,
    .draw = m_draw,
    .handle_key = m_key,
    .help = m_help,
    .on_tick = m_tick,
    .fkeys = N_("Esc|Close|F1|Help|F10|Quit"),
};
