/* Wizard drafts: the whole state as JSON, stored per OS user with
 * store_draft_*. A draft is never a customer: only the final confirmation
 * writes one. Secrets are never serialised (the user types them again on
 * resume and the screen says so); only the fact that one had been typed. */
#include "wizard_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Drafts saved before the wizard took core's field names hold the focused
 * field under its old key ("admin.email", "users.2.role", "found.0.role",
 * "pbx.f.host", "pbx.create_disabled"): translated once, here, when the
 * draft is read. The rest of a draft names no field (its members are the
 * wizard's state, unchanged), so the focus is all there is to convert. */
static void focus_from_old_key(char **focus)
{
	const char *k = *focus;
	if (!k)
		return;
	char *now = NULL;
	unsigned idx;
	int end = 0;
	char member[32];
	if (!strcmp(k, "admin.display_name"))
		now = xstrdup("admin_name");
	else if (!strncmp(k, "admin.", 6))
		now = xasprintf("admin_%s", k + 6);
	else if (sscanf(k, "users.%u.%31[a-z_]%n", &idx, member, &end) == 2 && !k[end])
		now = xasprintf("users[%u].%s", idx, member);
	else if (sscanf(k, "found.%u.role%n", &idx, &end) == 1 && end && !k[end])
		now = xasprintf("synced_users[%u].role", idx);
	else if (!strcmp(k, "pbx.create_disabled"))
		now = xstrdup("enabled");
	else if (!strcmp(k, "no_pbx"))
		now = xstrdup("connect_pbx"); /* the toggle the screen shows now */
	else if (!strncmp(k, "pbx.f.", 6))
		now = xstrdup(k + 6);
	else if (!strncmp(k, "pbx.", 4))
		now = xstrdup(k + 4); /* template, platform, sync_users, monitor, auto_provision */
	if (now) {
		free(*focus);
		*focus = now;
	}
}

#define DRAFT_FORMAT "provdesk-wizard-draft"
#define DRAFT_VERSION 1

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v ? v : ""));
}

static json_t *user_json(const pd_wiz_user *u, bool with_role)
{
	json_t *o = json_object();
	set_str(o, "display_name", u->display_name);
	set_str(o, "email", u->email);
	set_str(o, "extension", u->extension);
	if (with_role)
		set_str(o, "role", u->role);
	return o;
}

char *pd_wiz_draft_to_json(const pd_wiz *w)
{
	json_t *root = json_object();
	set_str(root, "format", DRAFT_FORMAT);
	json_object_set_new(root, "version", json_integer(DRAFT_VERSION));
	set_str(root, "step", pd_wiz_step_key(w->step));
	set_str(root, "focus", w->focus);

	json_t *cu = json_object();
	set_str(cu, "name", w->name);
	set_str(cu, "product_type", w->product_type);
	set_str(cu, "reference", w->reference);
	set_str(cu, "country_text", w->country_text);
	set_str(cu, "country", w->country);
	set_str(cu, "time_zone", w->time_zone);
	set_str(cu, "locale", w->locale);
	set_str(cu, "locale_auto", w->locale_auto); /* it still follows the country */
	set_str(cu, "notes", w->notes);
	json_object_set_new(cu, "trial", json_boolean(w->trial));
	set_str(cu, "trial_end", w->trial_end);
	json_object_set_new(root, "customer", cu);

	json_object_set_new(root, "admin", user_json(&w->admin, false));

	json_t *users = json_array();
	for (size_t i = 0; i < w->n_users; i++)
		json_array_append_new(users, user_json(&w->users[i], true));
	json_object_set_new(root, "users", users);

	json_t *pbx = json_object();
	json_object_set_new(pbx, "no_pbx", json_boolean(w->no_pbx));
	set_str(pbx, "template", w->template_name);
	set_str(pbx, "platform", w->platform);
	json_t *params = json_object();
	bool had_secret = w->had_secret;
	for (size_t i = 0; i < w->n_params; i++) {
		if (w->params[i].secret) {
			had_secret = had_secret || *w->params[i].value;
			continue;
		}
		set_str(params, w->params[i].key, w->params[i].value);
	}
	json_object_set_new(pbx, "params", params);
	json_object_set_new(pbx, "had_secret", json_boolean(had_secret));
	json_object_set_new(pbx, "create_disabled", json_boolean(w->create_disabled));
	json_object_set_new(pbx, "sync_users", json_boolean(w->sync_users));
	json_object_set_new(pbx, "monitor", json_boolean(w->monitor));
	json_object_set_new(pbx, "auto_provision", json_boolean(w->auto_provision));
	json_object_set_new(root, "pbx", pbx);

	json_t *found = json_array();
	for (size_t i = 0; i < w->n_found; i++) {
		const pd_wiz_found *f = &w->found[i];
		json_t *o = json_object();
		set_str(o, "endpoint", f->endpoint);
		set_str(o, "display_name", f->display_name);
		set_str(o, "email", f->email);
		set_str(o, "sub_account", f->sub_account);
		set_str(o, "role", f->role);
		json_array_append_new(found, o);
	}
	json_object_set_new(root, "found", found);
	set_str(root, "found_for", w->found_for);

	char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return text;
}

/* Reading: each member is optional (a draft from an older build may lack
 * some) but a member of the wrong type is refused, naming it. */
static pd_status get_str(json_t *o, const char *path, const char *k, char **dst, pd_err *e)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return PD_OK;
	if (!json_is_string(v))
		return pd_fail(e, PD_E_INVALID, k, _("draft: %s%s must be a string"), path, k);
	pd_set_str(dst, json_string_value(v));
	return PD_OK;
}

static pd_status get_bool(json_t *o, const char *path, const char *k, bool *dst, pd_err *e)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return PD_OK;
	if (!json_is_boolean(v))
		return pd_fail(e, PD_E_INVALID, k, _("draft: %s%s must be true or false"), path, k);
	*dst = json_is_true(v);
	return PD_OK;
}

static pd_status get_obj(json_t *root, const char *k, json_t **out, pd_err *e)
{
	*out = json_object_get(root, k);
	if (*out && !json_is_object(*out))
		return pd_fail(e, PD_E_INVALID, k, _("draft: %s must be an object"), k);
	return PD_OK;
}

static pd_status user_from(json_t *o, const char *path, pd_wiz_user *u, bool with_role, pd_err *e)
{
	if (!o)
		return PD_OK;
	if (!json_is_object(o))
		return pd_fail(e, PD_E_INVALID, "users", _("draft: %s must be an object"), path);
	pd_status st;
	if ((st = get_str(o, path, "display_name", &u->display_name, e)) ||
	    (st = get_str(o, path, "email", &u->email, e)) ||
	    (st = get_str(o, path, "extension", &u->extension, e)))
		return st;
	if (with_role && (st = get_str(o, path, "role", &u->role, e)))
		return st;
	return PD_OK;
}

/* The PBX users of the last discovery, with the roles given to them. */
static pd_status found_from(json_t *root, pd_wiz *w, pd_err *e)
{
	json_t *found = json_object_get(root, "found");
	if (!found)
		return PD_OK;
	if (!json_is_array(found) || json_array_size(found) > PD_WIZ_FOUND_MAX)
		return pd_fail(e, PD_E_INVALID, "found",
		               _("draft: found must be a list of at most %d PBX users"),
		               PD_WIZ_FOUND_MAX);
	size_t n = json_array_size(found);
	pd_synced_user *u = xcalloc(n ? n : 1, sizeof *u);
	char **roles = xcalloc(n ? n : 1, sizeof *roles);
	pd_status st = PD_OK;
	for (size_t i = 0; st == PD_OK && i < n; i++) {
		json_t *o = json_array_get(found, i);
		char path[32];
		pd_snprintf(path, sizeof path, "found[%zu].", i);
		if (!json_is_object(o)) {
			st = pd_fail(e, PD_E_INVALID, "found", _("draft: %s must be an object"),
			             path);
			break;
		}
		char *f[4] = {0};
		if ((st = get_str(o, path, "endpoint", &f[0], e)) ||
		    (st = get_str(o, path, "display_name", &f[1], e)) ||
		    (st = get_str(o, path, "email", &f[2], e)) ||
		    (st = get_str(o, path, "sub_account", &f[3], e)) ||
		    (st = get_str(o, path, "role", &roles[i], e))) {
			for (int k = 0; k < 4; k++)
				free(f[k]);
			break;
		}
		if (!f[0] || !*f[0]) {
			st = pd_fail(e, PD_E_INVALID, "found", _("draft: %sendpoint must be given"),
			             path);
			for (int k = 0; k < 4; k++)
				free(f[k]);
			break;
		}
		u[i] = (pd_synced_user){f[0], f[1], f[2], f[3], NULL};
	}
	if (st == PD_OK) {
		char *status =
		    xasprintf(_("%zu PBX user%s listed before the draft was kept (F9 lists "
		                "them again)."),
		              n, n == 1 ? "" : "s");
		pd_wiz_found_set(w, u, n, n ? status : NULL);
		free(status);
		for (size_t i = 0; i < n; i++)
			pd_set_str(&w->found[i].role, roles[i] ? roles[i] : "");
		/* the PBX they were found on (else: the one the draft names) */
		if (n)
			st = get_str(root, "", "found_for", &w->found_for, e);
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)u[i].endpoint);
		free((char *)u[i].display_name);
		free((char *)u[i].email);
		free((char *)u[i].sub_account);
		free(roles[i]);
	}
	free(u);
	free(roles);
	return st;
}

static pd_status from_root(json_t *root, pd_wiz *w, pd_err *e)
{
	json_t *fmt = json_object_get(root, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), DRAFT_FORMAT))
		return pd_fail(e, PD_E_INVALID, "format", _("not a wizard draft"));
	json_t *ver = json_object_get(root, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) < 1)
		return pd_fail(e, PD_E_INVALID, "version",
		               _("draft: version must be a positive integer"));
	if (json_integer_value(ver) > DRAFT_VERSION)
		return pd_fail(e, PD_E_INVALID, "version",
		               _("draft written by a newer provdesk (format %lld)"),
		               (long long)json_integer_value(ver));
	pd_status st;
	char *step = NULL;
	if ((st = get_str(root, "", "step", &step, e)))
		return st;
	if (step) {
		bool found = false;
		for (int s = 0; s < PD_WIZ__STEPS; s++)
			if (!strcmp(step, pd_wiz_step_key((pd_wiz_step)s))) {
				w->step = (pd_wiz_step)s;
				found = true;
			}
		free(step);
		if (!found)
			return pd_fail(e, PD_E_INVALID, "step", _("draft: unknown step"));
	}
	if ((st = get_str(root, "", "focus", &w->focus, e)))
		return st;
	focus_from_old_key(&w->focus);

	json_t *cu, *pbx;
	if ((st = get_obj(root, "customer", &cu, e)) || (st = get_obj(root, "pbx", &pbx, e)))
		return st;
	if (cu && ((st = get_str(cu, "customer.", "name", &w->name, e)) ||
	           (st = get_str(cu, "customer.", "product_type", &w->product_type, e)) ||
	           (st = get_str(cu, "customer.", "reference", &w->reference, e)) ||
	           (st = get_str(cu, "customer.", "country_text", &w->country_text, e)) ||
	           (st = get_str(cu, "customer.", "country", &w->country, e)) ||
	           (st = get_str(cu, "customer.", "time_zone", &w->time_zone, e)) ||
	           (st = get_str(cu, "customer.", "locale", &w->locale, e)) ||
	           (st = get_str(cu, "customer.", "notes", &w->notes, e)) ||
	           (st = get_bool(cu, "customer.", "trial", &w->trial, e)) ||
	           (st = get_str(cu, "customer.", "trial_end", &w->trial_end, e))))
		return st;
	char *auto_locale = NULL;
	if (cu && (st = get_str(cu, "customer.", "locale_auto", &auto_locale, e)))
		return st;
	pd_utf8_copys(w->locale_auto, sizeof w->locale_auto, auto_locale);
	free(auto_locale);
	if ((st = user_from(json_object_get(root, "admin"), "admin", &w->admin, false, e)))
		return st;

	json_t *users = json_object_get(root, "users");
	if (users && !json_is_array(users))
		return pd_fail(e, PD_E_INVALID, "users", _("draft: users must be a list"));
	for (size_t i = 0; users && i < json_array_size(users); i++) {
		char path[32];
		pd_snprintf(path, sizeof path, "users[%zu].", i);
		size_t k = pd_wiz_user_add(w);
		if ((st = user_from(json_array_get(users, i), path, &w->users[k], true, e)))
			return st;
	}

	if (pbx) {
		if ((st = get_bool(pbx, "pbx.", "no_pbx", &w->no_pbx, e)) ||
		    (st = get_str(pbx, "pbx.", "template", &w->template_name, e)) ||
		    (st = get_str(pbx, "pbx.", "platform", &w->platform, e)) ||
		    (st = get_bool(pbx, "pbx.", "had_secret", &w->had_secret, e)) ||
		    (st = get_bool(pbx, "pbx.", "create_disabled", &w->create_disabled, e)) ||
		    (st = get_bool(pbx, "pbx.", "sync_users", &w->sync_users, e)) ||
		    (st = get_bool(pbx, "pbx.", "monitor", &w->monitor, e)) ||
		    (st = get_bool(pbx, "pbx.", "auto_provision", &w->auto_provision, e)))
			return st;
		json_t *params = json_object_get(pbx, "params");
		if (params && !json_is_object(params))
			return pd_fail(e, PD_E_INVALID, "pbx.params",
			               _("draft: pbx.params must be an object"));
		const char *k;
		json_t *v;
		json_object_foreach(params, k, v)
		{
			if (!json_is_string(v))
				return pd_fail(e, PD_E_INVALID, "pbx.params",
				               _("draft: pbx.params.%s must be a string"), k);
			if (pd_wiz_is_param_key(k)) /* never another field of the wizard */
				pd_wiz_set(w, k, json_string_value(v));
		}
	}
	return found_from(root, w, e);
}

pd_status pd_wiz_draft_from_json(const char *json, pd_wiz *w, pd_err *e)
{
	json_error_t je;
	json_t *root = json_loads(json ? json : "", 0, &je);
	if (!json_is_object(root)) {
		json_decref(root);
		return pd_fail(e, PD_E_INVALID, "draft", _("draft is not valid JSON (line %d: %s)"),
		               je.line, je.text);
	}
	pd_wiz tmp;
	pd_wiz_init(&tmp);
	pd_status st = from_root(root, &tmp, e);
	json_decref(root);
	if (st != PD_OK) {
		pd_wiz_free(&tmp);
		return st;
	}
	/* had_secret survives pd_wiz_set of the params above */
	pd_wiz_free(w);
	*w = tmp;
	return PD_OK;
}

pd_status pd_wiz_draft_save(pd_store *s, const pd_wiz *w, pd_err *e)
{
	pd_actor a;
	pd_actor_current(&a);
	char *json = pd_wiz_draft_to_json(w);
	pd_status st = store_draft_save(s, a.user, json, e);
	free(json);
	return st;
}

pd_status pd_wiz_draft_load(pd_store *s, pd_wiz *w, int64_t *saved_at, pd_err *e)
{
	pd_actor a;
	pd_actor_current(&a);
	char *json = NULL;
	int64_t at = 0;
	pd_status st = store_draft_load(s, a.user, &json, &at, e);
	if (st != PD_OK)
		return st;
	st = pd_wiz_draft_from_json(json, w, e);
	free(json);
	if (st == PD_OK && saved_at)
		*saved_at = at;
	return st;
}

pd_status pd_wiz_draft_delete(pd_store *s, pd_err *e)
{
	pd_actor a;
	pd_actor_current(&a);
	return store_draft_delete(s, a.user, e);
}
