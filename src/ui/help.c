/* The help screen: generated from the action table and the current key
 * bindings (so a user's keys.conf shows), plus the screen's own notes. */
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"

struct help {
	char **lines;
	size_t n, top;
	struct ui_screen *of; /* the screen asking (below us on the stack) */
	int width;            /* the lines are wrapped for this width */
};

static void add(struct help *h, char *line)
{
	h->lines = xrealloc(h->lines, (h->n + 1) * sizeof *h->lines);
	h->lines[h->n++] = line;
}

static void clear_lines(struct help *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->lines[i]);
	free(h->lines);
	h->lines = NULL;
	h->n = 0;
}

/* ctx's actions with the keys that run them in `here` (the screen asking):
 * an action whose every key that screen binds to something else is left
 * out, being out of reach there. */
static void add_context(struct help *h, struct ui_app *app, enum ui_context ctx,
                        enum ui_context here)
{
	add(h, xasprintf("== %s ==", ui_context_title(ctx)));
	for (int a = 1; a < UI_A__COUNT; a++) {
		if (ui_action_context((enum ui_action)a) != ctx)
			continue;
		char keys[128], all[32];
		ui_keymap_keys_in(app->keys, here, (enum ui_action)a, keys, sizeof keys);
		ui_keymap_keys_of(app->keys, (enum ui_action)a, all, sizeof all);
		if (!keys[0] && all[0])
			continue;
		/* the text wraps under itself rather than being cut at 80 columns */
		char *head = xasprintf("  %-18s %-20s ", keys[0] ? keys : _("(unbound)"),
		                       ui_action_name((enum ui_action)a));
		int hw = pd_utf8_width(head);
		char **wl = NULL;
		size_t nw = ui_wrap(ui_action_help((enum ui_action)a), h->width - 1 - hw, &wl);
		for (size_t i = 0; i < nw; i++) {
			if (i)
				add(h, xasprintf("%*s%s", hw, "", wl[i]));
			else
				add(h, xasprintf("%s%s", head, wl[i]));
			free(wl[i]);
		}
		free(wl);
		free(head);
	}
	add(h, xstrdup(""));
}

/* The screen's notes, reflowed to the width (they are prose; the key lines
 * are a table and are cut instead): a line break in the text is a space, so
 * the source's and the translation's own wrapping never shows, and a blank
 * line starts a new paragraph. */
static void add_wrapped(struct help *h, const char *p, int width)
{
	while (*p) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *para = xstrndup(p, len), **lines;
		for (char *q = para; (q = strchr(q, '\n'));)
			*q = ' ';
		size_t n = ui_wrap(para, width > 20 ? width : 20, &lines);
		for (size_t i = 0; i < n; i++)
			add(h, lines[i]); /* the help keeps the line */
		free(lines);
		free(para);
		p += len;
		if (end) {
			add(h, xstrdup(""));
			p += 2;
		}
	}
}

static void build(struct help *h, struct ui_app *app, int width)
{
	bool alive = false; /* the asking screen may have closed under us */
	for (size_t i = 0; i < app->n_stack; i++)
		alive |= app->stack[i] == h->of;
	if (!alive)
		h->of = NULL;
	struct ui_screen *of = h->of;
	clear_lines(h);
	h->width = width;
	add(h, xasprintf(_("provdesk %s — keys (rebind in keys.conf: bind CONTEXT KEY... ACTION)"),
	                 of ? of->ops->name : ""));
	add(h, xstrdup(""));
	const char *extra = of && of->ops->help ? of->ops->help(of) : NULL;
	if (extra && *extra) {
		add_wrapped(h, extra, width - 1);
		add(h, xstrdup(""));
	}
	enum ui_context here = of ? of->ops->context : UI_CTX_GENERIC;
	if (here != UI_CTX_GENERIC)
		add_context(h, app, here, here);
	if (here == UI_CTX_VIEW || here == UI_CTX_WIZARD) /* editing: the form's keys */
		add_context(h, app, UI_CTX_FORM, here == UI_CTX_WIZARD ? here : UI_CTX_FORM);
	add_context(h, app, UI_CTX_GENERIC, here);
	if (here == UI_CTX_GENERIC || here == UI_CTX_GRID) /* each as on its own screens */
		for (int c = UI_CTX_VIEW; c < UI_CTX__COUNT; c++)
			add_context(h, app, (enum ui_context)c, (enum ui_context)c);
	if (h->top >= h->n)
		h->top = h->n ? h->n - 1 : 0;
}

static pd_status h_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)e;
	struct help *h = xcalloc(1, sizeof *h);
	s->priv = h;
	h->of = arg;
	build(h, s->app, COLS);
	return PD_OK;
}

static void h_destroy(struct ui_screen *s)
{
	struct help *h = s->priv;
	clear_lines(h);
	free(h);
}

static void h_layout(struct ui_screen *s)
{
	struct help *h = s->priv;
	ui_screen_window(s, s->y, s->x, s->h, s->w);
	if (s->w != h->width) /* resized: wrap the notes again */
		build(h, s->app, s->w);
}

static void h_draw(struct ui_screen *s)
{
	struct help *h = s->priv;
	ui_fill(s->win, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(s->win, 0, 1, s->w - 2, _("Help — Esc or q closes, arrows scroll"),
	       ui_role(UI_R_TITLE), false);
	for (int y = 1; y < s->h && h->top + (size_t)(y - 1) < h->n; y++) {
		const char *l = h->lines[h->top + (size_t)(y - 1)];
		attr_t a =
		    strncmp(l, "==", 2) == 0 ? ui_role(UI_R_GRID_HEADER) : ui_role(UI_R_NORMAL);
		ui_put(s->win, y, 0, s->w, l, a, false);
	}
}

static int h_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct help *h = s->priv;
	size_t page = s->h > 2 ? (size_t)s->h - 2 : 1;
	size_t maxtop = h->n > page ? h->n - page : 0;
	/* the first line shown moves over 0..maxtop as a list selection does */
	int r = ui_list_move(&h->top, maxtop + 1, page, ev->action);
	if (r)
		return r;
	switch (ev->action) {
	case UI_A_QUIT:
	case UI_A_BACK:
	case UI_A_HELP:
		return UI_HANDLED | UI_CLOSE; /* q closes help rather than quitting */
	default:
		return UI_HANDLED;
	}
}

const struct ui_screen_ops ui_help_ops = {
    .name = "help",
    .context = UI_CTX_GENERIC,
    .create = h_create,
    .destroy = h_destroy,
    .layout = h_layout,
    .draw = h_draw,
    .handle_key = h_key,
    .fkeys = N_("Esc|Close|F10|Quit"),
};
