/* The command palette (: or ^K): one prompt for a customer (the store's
 * filter on name, reference, tenant id and notes, at most PALETTE_CUSTOMERS
 * rows read: LIMIT, never the whole table) and for the actions of the screen
 * it opened over, by name (UI_ACTION_LIST). Enter opens the customer or runs
 * the action on that screen once the palette has closed. */
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"

#define PALETTE_CUSTOMERS 8

struct palette {
	struct ui_app *app;
	enum ui_context ctx; /* of the screen under the palette */
};

/* Does the screen under the palette reach action a (its context chain)? */
static bool in_chain(enum ui_context ctx, enum ui_action a)
{
	enum ui_context c = ui_action_context(a);
	return c == ctx || c == UI_CTX_GENERIC || (ctx == UI_CTX_WIZARD && c == UI_CTX_FORM);
}

static void push(struct ui_choice **out, size_t *n, size_t *cap, char *value, char *label)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*out = xrealloc(*out, *cap * sizeof **out);
	}
	(*out)[(*n)++] = (struct ui_choice){value, label};
}

static void search(void *vctx, const char *query, struct ui_choice **out, size_t *n)
{
	struct palette *p = vctx;
	struct ui_app *app = p->app;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	/* customers first: what was typed is most often a name or reference */
	if (app->store && strlen(query) <= PD_FILTER_MAX) {
		pd_query q = {
		    .filter = *query ? query : NULL, .sort = PD_SORT_NAME, .today = pd_today()};
		pd_row rows[PALETTE_CUSTOMERS];
		memset(rows, 0, sizeof rows);
		size_t nr = 0;
		pd_err e;
		pd_err_clear(&e);
		if (store_customer_page(app->store, &q, PD_PAGE_FIRST, NULL, PALETTE_CUSTOMERS,
		                        rows, &nr, &e) == PD_OK) {
			for (size_t i = 0; i < nr; i++) {
				const pd_customer *c = &rows[i].c;
				push(out, n, &cap, xasprintf("c:%lld", (long long)c->id),
				     xasprintf(_("Customer  %s%s%s · %s"), c->name,
				               c->reference && *c->reference ? " · " : "",
				               c->reference ? c->reference : "", c->tenant_id));
			}
			pd_rows_free(rows, nr);
		}
	}
	char *fq = *query ? pd_fold_key(query) : NULL;
	for (int a = 1; a < UI_A__COUNT; a++) {
		if (!in_chain(p->ctx, (enum ui_action)a) || a == UI_A_PALETTE)
			continue;
		char keys[64];
		ui_keymap_keys_in(app->keys, p->ctx, (enum ui_action)a, keys, sizeof keys);
		char *label =
		    xasprintf(_("Action    %s%s%s%s — %s"), ui_action_name((enum ui_action)a),
		              keys[0] ? " (" : "", keys, keys[0] ? ")" : "",
		              ui_action_help((enum ui_action)a));
		char *fl = fq ? pd_fold_key(label) : NULL;
		if (!fq || (fl && strstr(fl, fq)))
			push(out, n, &cap, xasprintf("a:%d", a), label);
		else
			free(label);
		free(fl);
	}
	free(fq);
}

static void done(struct ui_app *app, void *vctx, bool ok, const char *value)
{
	struct palette *p = vctx;
	if (ok && value && value[0] == 'c' && value[1] == ':') {
		int64_t id = strtoll(value + 2, NULL, 10);
		app->select_customer_id = id; /* the grid selects it too */
		ui_app_data_changed(app);
		ui_push(app, &ui_customer_ops, &id);
	} else if (ok && value && value[0] == 'a' && value[1] == ':') {
		int a = atoi(value + 2);
		if (a > 0 && a < UI_A__COUNT)
			app->pending_action = (enum ui_action)a; /* once the palette closed */
	}
	(void)p;
}

void ui_palette_open(struct ui_app *app, struct ui_screen *over)
{
	/* one palette at a time; static, so a palette left open at quit (its
	 * done never called) leaks nothing */
	static struct palette pal;
	struct palette *p = &pal;
	p->app = app;
	p->ctx = over ? over->ops->context : UI_CTX_GENERIC;
	ui_dialog_pick(app, _("Go to a customer or run an action"), NULL, 0, NULL, search, p, done,
	               p);
}
