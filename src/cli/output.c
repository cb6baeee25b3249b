/* Output helpers: aligned tables measured in terminal cells (UTF-8 names such
 * as "Société Générale" line up), and the JSON form of every entity with the
 * snake_case names of include/provdesk/model.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"
#include "provdesk/util.h"

void pd_table_init(pd_table *t, size_t ncols, const char *const *heads, const bool *right)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	t->heads = xcalloc(ncols, sizeof *t->heads);
	t->right = xcalloc(ncols, sizeof *t->right);
	for (size_t i = 0; i < ncols; i++) {
		t->heads[i] = heads[i];
		t->right[i] = right ? right[i] : false;
	}
}

/* A cell is one line of safe text: line breaks and tabs (notes) become
 * spaces, and every other control, direction override or invalid byte a
 * visible escape (pd_term_escape), whether the table goes to a terminal or
 * a file that is shown later. */
static char *clean_cell(const char *s)
{
	char *r = xstrdup(s ? s : "");
	for (char *p = r; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	pd_buf b = {0};
	pd_term_escape(&b, r, strlen(r), false);
	free(r);
	return b.s ? b.s : xstrdup("");
}

void pd_table_row(pd_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = clean_cell(cells[i]);
	t->nrows++;
}

static void pad(FILE *out, int n)
{
	for (; n > 0; n--)
		fputc(' ', out);
}

void pd_table_print(const pd_table *t, FILE *out)
{
	int *w = xcalloc(t->ncols, sizeof *w);
	for (size_t i = 0; i < t->ncols; i++)
		w[i] = pd_utf8_width(t->heads[i]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			int cw = pd_utf8_width(t->cells[r * t->ncols + i]);
			if (cw > w[i])
				w[i] = cw;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = r == 0 ? t->heads[i] : t->cells[(r - 1) * t->ncols + i];
			int gap = w[i] - pd_utf8_width(s);
			bool last = i + 1 == t->ncols;
			if (t->right[i])
				pad(out, gap);
			fputs(s, out);
			if (!last) {
				if (!t->right[i])
					pad(out, gap);
				fputs("  ", out);
			}
		}
		fputc('\n', out);
	}
	free(w);
}

void pd_table_free(pd_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->heads);
	free(t->right);
	memset(t, 0, sizeof *t);
}

/* ---- JSON ---- */

json_t *pd_json_str(const char *s)
{
	if (!s || !*s)
		return json_null();
	json_t *j = json_string(s);
	return j ? j : json_null();
}

json_t *pd_json_day(pd_day d)
{
	char buf[11];
	pd_day_format(d, buf);
	return json_string(buf);
}

void pd_fmt_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		out[0] = 0;
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *pd_json_time(int64_t t)
{
	char buf[32];
	pd_fmt_time(t, buf);
	return pd_json_str(buf);
}

void pd_fmt_money(int64_t cents, char out[32])
{
	const char *sign = cents < 0 ? "-" : "";
	int64_t a = cents < 0 ? -cents : cents;
	snprintf(out, 32, "%s%lld.%02lld", sign, (long long)(a / 100), (long long)(a % 100));
}

void pd_cli_status_fmt(pd_customer_status st, int days_left, char *out, size_t n)
{
	if (st == PD_CS_TRIAL)
		snprintf(out, n, "trial (%d day%s left)", days_left, days_left == 1 ? "" : "s");
	else
		snprintf(out, n, "%s", pd_customer_status_name(st));
}

void pd_cli_status_text(const pd_customer *c, pd_day today, char *out, size_t n)
{
	pd_customer_status st = pd_customer_status_of(c, today);
	pd_cli_status_fmt(st, st == PD_CS_TRIAL ? pd_customer_trial_days_left(c, today) : 0, out,
	                  n);
}

json_t *pd_json_customer(const pd_customer *c, pd_day today)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(c->id));
	json_object_set_new(o, "tenant_id", json_string(c->tenant_id));
	json_object_set_new(o, "name", pd_json_str(c->name));
	json_object_set_new(o, "product_type", pd_json_str(c->product_type));
	json_object_set_new(o, "reference", pd_json_str(c->reference));
	json_object_set_new(o, "billing_id", pd_json_str(pd_customer_billing_id(c)));
	json_object_set_new(o, "country", pd_json_str(c->country));
	json_object_set_new(o, "time_zone", pd_json_str(c->time_zone));
	json_object_set_new(o, "notes", pd_json_str(c->notes));
	if (c->trial) {
		json_t *t = json_object();
		json_object_set_new(t, "start", pd_json_day(c->trial_start));
		json_object_set_new(t, "end", pd_json_day(c->trial_end));
		json_object_set_new(t, "days_left",
		                    json_integer(pd_customer_trial_days_left(c, today)));
		json_object_set_new(t, "converted", json_boolean(c->trial_converted));
		json_object_set_new(o, "trial", t);
	} else
		json_object_set_new(o, "trial", json_null());
	json_object_set_new(o, "internal_system", json_boolean(c->internal_system));
	json_object_set_new(o, "disabled", json_boolean(c->disabled));
	json_object_set_new(o, "status",
	                    json_string(pd_customer_status_name(pd_customer_status_of(c, today))));
	json_object_set_new(o, "version", json_integer(c->version));
	json_object_set_new(o, "created_at", pd_json_time(c->created_at));
	json_object_set_new(o, "updated_at", pd_json_time(c->updated_at));
	json_object_set_new(o, "deleted_at", pd_json_time(c->deleted_at));
	return o;
}

json_t *pd_json_user(const pd_catalogue *cat, const pd_user *u)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(u->id));
	json_object_set_new(o, "display_name", pd_json_str(u->display_name));
	json_object_set_new(o, "email", pd_json_str(u->email));
	json_object_set_new(o, "extension", pd_json_str(u->extension));
	json_object_set_new(o, "role", pd_json_str(u->role));
	const pd_role *r = u->role && *u->role ? pd_catalogue_role(cat, u->role) : NULL;
	json_object_set_new(o, "role_name", pd_json_str(r ? r->name : NULL));
	json_object_set_new(o, "primary", json_boolean(u->primary));
	json_object_set_new(o, "synced", json_boolean(u->synced));
	json_object_set_new(o, "endpoint", pd_json_str(u->endpoint));
	json_object_set_new(o, "sub_account", pd_json_str(u->sub_account));
	json_object_set_new(o, "device_state", pd_json_str(u->device_state));
	json_object_set_new(o, "linked_user_id",
	                    u->linked_user_id ? json_integer(u->linked_user_id) : json_null());
	json_object_set_new(o, "invitation", json_string(pd_invite_state_name(u->invite)));
	json_object_set_new(o, "version", json_integer(u->version));
	return o;
}

static json_t *params_json(const char *text)
{
	if (!text || !*text)
		return json_object();
	json_t *j = json_loads(text, 0, NULL);
	return j ? j : json_object();
}

json_t *pd_json_pbx(const pd_pbx *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "template", pd_json_str(p->template_name));
	json_object_set_new(o, "platform", pd_json_str(p->platform));
	json_object_set_new(o, "host", pd_json_str(p->host));
	json_object_set_new(o, "port", json_integer(p->port));
	json_object_set_new(o, "tls", json_boolean(p->tls));
	json_object_set_new(o, "username", pd_json_str(p->username));
	json_object_set_new(o, "params", params_json(p->params_json));
	json_object_set_new(o, "sync_users", json_boolean(p->sync_users));
	json_object_set_new(o, "monitor", json_boolean(p->monitor));
	json_object_set_new(o, "auto_provision_sub_accounts", json_boolean(p->auto_provision));
	json_object_set_new(o, "enabled", json_boolean(p->enabled));
	json_object_set_new(o, "version", json_integer(p->version));
	return o;
}

void pd_json_pbx_state(json_t *o, const pd_pbx *p, const pd_pbx_status *st)
{
	/* state: the stable key (docs/provdesk.1); status: the human text beside it */
	json_object_set_new(o, "state",
	                    pd_json_str(st           ? pd_link_state_name(st->link)
	                                : p->enabled ? NULL
	                                             : pd_link_state_name(PD_LINK_DISABLED)));
	/* nothing stale passes for live: a state no running monitor stands
	 * behind says so (pd_pbx_status_fresh; docs/provdesk.1, pbx status) */
	int64_t now = pd_now();
	bool fresh = st && pd_pbx_status_fresh(st->monitored, st->updated_at, now);
	char stale[200];
	if (st && !fresh && p->enabled)
		pd_pbx_stale_text(pd_link_state_label(st->link), st->updated_at, now, stale,
		                  sizeof stale);
	json_object_set_new(o, "status",
	                    pd_json_str(st && !fresh && p->enabled ? stale
	                                : st                       ? st->state
	                                : p->enabled               ? NULL
	                                                           : "disabled"));
	json_object_set_new(o, "last_error", pd_json_str(st ? st->last_error : NULL));
	json_object_set_new(o, "monitored", json_boolean(fresh && p->enabled));
	json_object_set_new(o, "updated_at", st ? pd_json_time(st->updated_at) : json_null());
	json_object_set_new(o, "age_s",
	                    st ? json_integer(now > st->updated_at ? now - st->updated_at : 0)
	                       : json_null());
}

json_t *pd_json_template(const pd_template *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", pd_json_str(t->name));
	json_object_set_new(o, "platform", pd_json_str(t->platform));
	json_object_set_new(o, "host", pd_json_str(t->host));
	json_object_set_new(o, "port", json_integer(t->port));
	json_object_set_new(o, "tls", json_boolean(t->tls));
	json_object_set_new(o, "username", pd_json_str(t->username));
	json_object_set_new(o, "params", params_json(t->params_json));
	json_object_set_new(o, "version", json_integer(t->version));
	return o;
}

json_t *pd_json_users(const pd_catalogue *cat, const pd_user *u, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, pd_json_user(cat, &u[i]));
	return a;
}

void pd_table_users(pd_table *t, const pd_catalogue *cat, const pd_user *u, size_t n, bool device)
{
	static const char *const heads[] = {"ID",   "NAME",       "EMAIL",  "EXTENSION",
	                                    "ROLE", "INVITATION", "SOURCE", "DEVICE"};
	static const bool right[] = {true, false, false, false, false, false, false, false};
	pd_table_init(t, device ? 8 : 7, heads, right);
	for (size_t i = 0; i < n; i++) {
		char id[24];
		snprintf(id, sizeof id, "#%lld", (long long)u[i].id);
		const pd_role *r = u[i].role ? pd_catalogue_role(cat, u[i].role) : NULL;
		const char *cells[8] = {
		    id,
		    u[i].display_name,
		    u[i].email,
		    u[i].extension ? u[i].extension : u[i].endpoint,
		    r ? r->name : (u[i].role ? u[i].role : "(none)"),
		    pd_invite_state_name(u[i].invite),
		    u[i].synced ? "pbx" : (u[i].primary ? "primary" : "console"),
		    u[i].device_state,
		};
		pd_table_row(t, cells);
	}
}

void pd_cli_users_free(pd_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pd_user_free(&u[i]);
	free(u);
}
