/* provdesk customer list|show|create|update|delete|restore|trial (docs/provdesk.1, Customers).
 * Every rule is the core's/store's; this file only maps options to the
 * model and prints the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

#define LIST_PAGE 512

static const char help_list[] = N_(
    "Usage: provdesk customer list [--filter TEXT] [--pbx STATE] [--sort COLUMN] [--desc] [--all]\n"
    "         [--limit N] [--json]\n"
    "List customers (deleted ones only with --all).\n"
    "  --filter TEXT   substring of the name, reference, tenant id or notes\n"
    "                  (case- and accent-insensitive)\n"
    "  --pbx STATE     by the PBX state last stored: down (enabled, not monitoring),\n"
    "                  up, failing (auth-failed, protocol-error, config-error), none\n"
    "                  (no PBX), not-started, or a state key; several with commas\n"
    "  --sort COLUMN   name, product_type, reference, country, status, internal_system,\n"
    "                  users, created or pbx (worst first) (default name)\n"
    "  --desc          reverse order\n"
    "  --all           include deleted customers\n"
    "  --limit N       at most N rows\n"
    "  --json          print a JSON array of customers\n");

static const char help_show[] =
    N_("Usage: provdesk customer show ID|NAME [--json]\n"
       "Show one customer with its users, PBX connection (never its secret) and sub-accounts.\n"
       "ID is the tenant id or #ROWID; NAME is compared case- and accent-insensitively.\n");

static const char help_create[] =
    N_("Usage: provdesk customer create --name NAME --product-type KEY --country CC\n"
       "         [--reference REF] [--notes TEXT] [--time-zone TZ] [--locale LL_CC]\n"
       "         [--trial[=DAYS]] [--internal]\n"
       "         --admin-name NAME --admin-email EMAIL [--admin-extension EXT] [--json]\n"
       "Create a customer and its primary user (Customer Administrator) in one\n"
       "transaction; the primary user's invitation is queued in the outbox.\n"
       "  --country CC      ISO 3166-1 alpha-2 code, or an unambiguous English or French\n"
       "                    name (\"Germany\", \"Allemagne\")\n"
       "  --time-zone TZ    IANA zone (default: the country's main zone)\n"
       "  --locale LL_CC    language and number format, one of the system's supported\n"
       "                    locales (default: the country's, e.g. fr_FR for France)\n"
       "  --trial[=DAYS]    start a trial today (default length: [trial] default_days)\n"
       "  --internal        the reseller's own internal system (never billed; limited)\n");

static const char help_update[] = N_(
    "Usage: provdesk customer update ID|NAME [--name NAME] [--product-type KEY] [--reference REF]\n"
    "         [--country CC] [--time-zone TZ] [--locale LL_CC] [--notes TEXT]\n"
    "         [--internal|--no-internal] [--disable|--enable] [--trial-end YYYY-MM-DD]\n"
    "         [--expect-version N] [--yes] [--json]\n"
    "Change a customer. An empty value clears --reference and --notes.\n"
    "  --locale LL_CC      language (of the invitation) and number format; a new\n"
    "                      --country without it moves the old country's default locale\n"
    "                      to the new country's, and keeps one chosen by hand\n"
    "  --trial-end DATE    set the last day of the trial (starts one today if none)\n"
    "  --product-type KEY  refused when the current type is locked; a change to an\n"
    "                      unlocked type prints its licensing impact and needs --yes\n"
    "  --expect-version N  refuse (exit 75) if someone else saved the customer since\n"
    "                      version N, showing what they changed\n");

static const char help_delete[] =
    N_("Usage: provdesk customer delete ID|NAME --confirm NAME [--expect-version N] [--json]\n"
       "Soft-delete a customer (restorable). --confirm must repeat the customer's name.\n");

static const char help_restore[] = N_("Usage: provdesk customer restore ID|NAME [--json]\n"
                                      "Restore a deleted customer.\n");

static const char help_trial[] =
    N_("Usage: provdesk customer trial extend|convert|end ID|NAME [--days N] [--json]\n"
       "  extend   add N days to the trial (default: [trial] default_days)\n"
       "  convert  convert the trial to a paid subscription from today\n"
       "  end      end the trial now (monitoring stops until converted)\n");

static const char help_group[] =
    N_("Usage: provdesk customer list|show|create|update|delete|restore|trial ...\n"
       "Run 'provdesk customer SUBCOMMAND --help' for the options of each.\n");

static void print_customer_line(const char *verb, const pd_customer *cu, pd_day today)
{
	char st[64];
	pd_cli_status_text(cu, today, st, sizeof st);
	/* TRANSLATORS: the first %s is "Created", "Updated", "Restored"… */
	printf(_("%s customer %s (tenant %s, version %lld, %s)\n"), verb, cu->name, cu->tenant_id,
	       (long long)cu->version, st);
}

/* ---- list ---- */

static void row_cells(const pd_row *r, const char **cells, char *st, size_t stn, char *users,
                      size_t un, const char *pbx)
{
	pd_cli_status_fmt(r->status, r->trial_days_left, st, stn);
	snprintf(users, un, "%lld", (long long)r->n_users);
	cells[0] = r->c.name;
	cells[1] = r->c.product_type;
	cells[2] = r->c.reference;
	cells[3] = r->c.country;
	cells[4] = st;
	cells[5] = r->c.internal_system ? "yes" : "";
	cells[6] = pbx; /* with its age: nothing stale passes for live */
	cells[7] = users;
	cells[8] = r->c.tenant_id;
}

static int cmd_list(pd_cli *c, int argc, char **argv)
{
	const char *filter = NULL, *sort = "name", *limit_s = NULL, *pbx = NULL;
	bool desc = false, all = false;
	const pd_opt opts[] = {
	    {"filter", PD_OPT_VAL, &filter, NULL},
	    {"sort", PD_OPT_VAL, &sort, NULL},
	    {"desc", PD_OPT_FLAG, NULL, &desc},
	    {"all", PD_OPT_FLAG, NULL, &all},
	    {"limit", PD_OPT_VAL, &limit_s, NULL},
	    {"pbx", PD_OPT_VAL, &pbx, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int rc = pd_cli_parse(c, "customer list", argc, argv, opts, NULL, 0, 0, NULL, help_list);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_sort so;
	if (!pd_sort_parse(sort, &so)) {
		pd_buf b = {0};
		for (int i = 0; i < PD_SORT__COUNT; i++)
			pd_buf_printf(&b, "%s%s", i ? ", " : "", pd_sort_name((pd_sort)i));
		rc = pd_cli_usage_field(c, "sort", _("--sort: unknown column '%s' (one of: %s)"),
		                        sort, b.s);
		pd_buf_free(&b);
		return rc;
	}
	if (filter && strlen(filter) > PD_FILTER_MAX)
		return pd_cli_usage_field(c, "filter",
		                          _("--filter: at most %d bytes (this one has %zu)"),
		                          PD_FILTER_MAX, strlen(filter));
	if (filter && !pd_utf8_valid(filter, strlen(filter)))
		return pd_cli_usage_field(c, "filter", "%s", _("--filter: not valid UTF-8 text"));
	uint32_t pbx_mask = 0;
	if (pbx && !pd_pbx_filter_parse(pbx, &pbx_mask))
		return pd_cli_usage_field(c, "pbx", _("--pbx: unknown PBX state '%s' (one of: %s)"),
		                          pbx, pd_pbx_filter_words());
	long limit = 0;
	if (limit_s && !pd_cli_int(c, "--limit", limit_s, 1, 100000000L, &limit))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	pd_query q = {
	    .filter = filter && *filter ? filter : NULL,
	    .sort = so,
	    .descending = desc,
	    .include_deleted = all,
	    .today = pd_today(),
	    .pbx_mask = pbx_mask,
	};
	int64_t now = pd_now();
	pd_row *bufs[2] = {xcalloc(LIST_PAGE, sizeof(pd_row)), xcalloc(LIST_PAGE, sizeof(pd_row))};
	size_t nb[2] = {0, 0};
	int cur = 0;
	long shown = 0;
	json_t *arr = c->json ? json_array() : NULL;
	static const char *const heads[] = {N_("NAME"),    N_("PRODUCT TYPE"), N_("REFERENCE"),
	                                    N_("COUNTRY"), N_("STATUS"),       N_("INTERNAL"),
	                                    N_("PBX"),     N_("USERS"),        N_("TENANT ID")};
	static const bool right[] = {false, false, false, false, false, false, false, true, false};
	pd_table t;
	pd_table_init(&t, 9, heads, right);
	pd_status st = PD_OK;
	for (bool first = true;; first = false) {
		int nxt = first ? cur : 1 - cur;
		size_t want = LIST_PAGE;
		if (limit && (long)want > limit - shown)
			want = (size_t)(limit - shown);
		if (want == 0)
			break;
		st = store_customer_page(s, &q, first ? PD_PAGE_FIRST : PD_PAGE_AFTER,
		                         first ? NULL : &bufs[cur][nb[cur] - 1], want, bufs[nxt],
		                         &nb[nxt], &e);
		if (!first) {
			pd_rows_free(bufs[cur], nb[cur]);
			nb[cur] = 0;
		}
		cur = nxt;
		if (st != PD_OK)
			break;
		for (size_t i = 0; i < nb[cur]; i++) {
			const pd_row *r = &bufs[cur][i];
			if (arr) {
				json_array_append_new(arr, pd_json_customer_row(r, q.today));
			} else {
				const char *cells[9];
				char stt[64], users[24], pbxt[160];
				pd_row_pbx_text(r, now, pbxt, sizeof pbxt);
				row_cells(r, cells, stt, sizeof stt, users, sizeof users, pbxt);
				pd_table_row(&t, cells);
			}
		}
		shown += (long)nb[cur];
		if (nb[cur] < want)
			break;
	}
	pd_rows_free(bufs[cur], nb[cur]);
	free(bufs[0]);
	free(bufs[1]);
	if (st != PD_OK) {
		json_decref(arr);
		pd_table_free(&t);
		return pd_cli_fail(c, &e);
	}
	if (arr)
		pd_cli_print_json(c, arr);
	else if (t.nrows)
		pd_table_print(&t, stdout);
	else
		fprintf(stderr, _("no customers%s\n"),
		        q.filter || q.pbx_mask ? _(" match the filter") : "");
	pd_table_free(&t);
	return 0;
}

/* ---- show ---- */

/* A label padded to 17 columns by its width on screen, not its bytes (a
 * French label has accents). */
static void kv(const char *k, const char *v)
{
	int w = pd_utf8_width(k);
	printf("%s%*s %s\n", k, w < 17 ? 17 - w : 0, "", v ? v : "");
}

/* warning: NULL, or a line for the user (the internal-system notice): on
 * stderr, and with --json also as "warnings" in the document. */
static int show_customer(pd_cli *c, const pd_customer *cu, const char *warning)
{
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = c->store;
	pd_day today = pd_today();
	pd_user *users = NULL;
	size_t nu = 0;
	if (store_user_list(s, cu->id, &users, &nu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_pbx pbx;
	pd_pbx_status pst;
	bool has_st;
	bool has_pbx = pd_cli_pbx_get(c, cu->id, &pbx, &pst, &has_st, &e) == PD_OK;
	pd_sub_account *subs = NULL;
	size_t ns = 0;
	if (store_sub_account_list(s, cu->id, &subs, &ns, &e) != PD_OK)
		ns = 0;

	if (c->json) {
		json_t *o;
		pd_status jst = pd_json_customer_full(s, &c->cat, cu, warning, &o, &e);
		if (jst != PD_OK) {
			pd_cli_users_free(users, nu);
			if (has_pbx)
				pd_pbx_free(&pbx);
			if (has_st)
				pd_pbx_status_free(&pst);
			pd_sub_accounts_free(subs, ns);
			return pd_cli_fail(c, &e);
		}
		pd_cli_print_json(c, o);
	} else {
		char buf[256], t1[32], t2[11], t3[11];
		const pd_product_type *pt = pd_catalogue_product(&c->cat, cu->product_type);
		kv(_("Name:"), cu->name);
		kv(_("Tenant id:"), cu->tenant_id);
		snprintf(buf, sizeof buf, "%s%s%s%s", cu->product_type, pt ? " (" : "",
		         pt ? pt->name : "", pt ? ")" : "");
		kv(_("Product type:"), buf);
		kv(_("Reference:"), cu->reference);
		kv(_("Billing id:"), pd_customer_billing_id(cu));
		const pd_geo *g = NULL;
		const pd_country *co =
		    pd_cli_geo(&g, &e) == PD_OK ? pd_geo_country(g, cu->country) : NULL;
		snprintf(buf, sizeof buf, "%s%s%s%s", cu->country, co ? " (" : "",
		         co ? pd_geo_country_name(co) : "", co ? ")" : "");
		kv(_("Country:"), buf);
		kv(_("Time zone:"), cu->time_zone);
		kv(_("Locale:"), cu->locale);
		pd_cli_status_text(cu, today, buf, sizeof buf);
		kv(_("Status:"), buf);
		if (cu->trial) {
			pd_day_format(cu->trial_start, t2);
			pd_day_format(cu->trial_end, t3);
			snprintf(buf, sizeof buf, "%s to %s%s", t2, t3,
			         cu->trial_converted ? _(" (converted to paid)") : "");
			kv(_("Trial:"), buf);
		}
		kv(_("Internal system:"),
		   cu->internal_system ? _("yes (internal use only, never billed)") : _("no"));
		snprintf(buf, sizeof buf, "%lld", (long long)cu->version);
		kv(_("Version:"), buf);
		pd_fmt_time(cu->created_at, t1);
		kv(_("Created:"), t1);
		pd_fmt_time(cu->updated_at, t1);
		kv(_("Updated:"), t1);
		if (cu->deleted_at) {
			pd_fmt_time(cu->deleted_at, t1);
			kv(_("Deleted:"), t1);
		}
		if (cu->notes && *cu->notes) {
			printf(_("Notes:\n"));
			for (const char *p = cu->notes; *p;) {
				const char *nl = strchr(p, '\n');
				int n = nl ? (int)(nl - p) : (int)strlen(p);
				printf("  %.*s\n", n, p);
				p += n + (nl ? 1 : 0);
			}
		}
		printf(_("\nUsers (%zu):\n"), nu);
		if (nu) {
			pd_table t;
			pd_table_users(&t, &c->cat, users, nu, false);
			pd_table_print(&t, stdout);
			pd_table_free(&t);
		}
		printf(_("\nPBX:\n"));
		if (!has_pbx)
			printf(_("  none\n"));
		else {
			printf(_("  %s %s:%d%s user %s%s%s\n"), pbx.platform ? pbx.platform : "",
			       pbx.host ? pbx.host : "", pbx.port, pbx.tls ? _(" (TLS)") : "",
			       pbx.username ? pbx.username : "",
			       pbx.template_name ? _(", template ") : "",
			       pbx.template_name ? pbx.template_name : "");
			printf(
			    _("  %s, sync users %s, monitor %s, auto-provision sub-accounts %s\n"),
			    pbx.enabled ? _("enabled") : _("disabled"),
			    pbx.sync_users ? _("yes") : _("no"), pbx.monitor ? _("yes") : _("no"),
			    pbx.auto_provision ? _("yes") : _("no"));
			char err_text[PD_MSG_TEXT_MAX], state[200];
			if (has_st)
				printf(_("  status: %s%s%s\n"),
				       pd_msg_text(pst.state, state, sizeof state),
				       pst.last_error ? " — " : "",
				       pd_msg_text(pst.last_error, err_text, sizeof err_text));
		}
		if (ns) {
			printf(_("\nSub-accounts (%zu):\n"), ns);
			for (size_t i = 0; i < ns; i++)
				printf("  %s\n", subs[i].name);
		}
	}
	pd_cli_users_free(users, nu);
	if (has_pbx)
		pd_pbx_free(&pbx);
	if (has_st)
		pd_pbx_status_free(&pst);
	pd_sub_accounts_free(subs, ns);
	return 0;
}

static int cmd_show(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int rc = pd_cli_parse(c, "customer show", argc, argv, NULL, pos, 1, 1, NULL, help_show);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_customer cu;
	if (pd_cli_customer(c, pos[0], &cu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	rc = show_customer(c, &cu, NULL);
	pd_customer_free(&cu);
	return rc;
}

/* After create or update: the whole customer with --json, else one line.
 * became_internal: the change marked it internal; the warning (internal use
 * only, not billed, how many are left) goes to stderr, or with --json into
 * the document's "warnings" (stdout stays the result alone). Frees *cu. */
static int print_saved(pd_cli *c, pd_customer *cu, const char *verb, bool became_internal)
{
	int rc = 0;
	char warning[512];
	bool warn = false;
	if (became_internal && cu->internal_system) {
		pd_counts n;
		pd_err e;
		pd_err_clear(&e);
		int64_t used =
		    store_customer_counts(c->store, pd_today(), &n, &e) == PD_OK ? n.internal : 1;
		pd_internal_warning(cu->name, used, c->cfg.internal_systems_limit, warning,
		                    sizeof warning);
		warn = true;
		if (!c->json)
			fprintf(stderr, _("provdesk: warning: %s\n"), warning);
	}
	if (c->json)
		rc = show_customer(c, cu, warn ? warning : NULL);
	else
		print_customer_line(verb, cu, pd_today());
	pd_customer_free(cu);
	return rc;
}

/* ---- create ---- */

static int cmd_create(pd_cli *c, int argc, char **argv)
{
	const char *name = NULL, *ptype = NULL, *country = NULL, *ref = NULL, *notes = NULL,
	           *tz = NULL, *trial = NULL, *aname = NULL, *aemail = NULL, *aext = NULL,
	           *locale = NULL;
	bool internal = false, has_trial = false;
	const pd_opt opts[] = {
	    {"name", PD_OPT_VAL, &name, NULL},
	    {"product-type", PD_OPT_VAL, &ptype, NULL},
	    {"country", PD_OPT_VAL, &country, NULL},
	    {"reference", PD_OPT_VAL, &ref, NULL},
	    {"notes", PD_OPT_VAL, &notes, NULL},
	    {"time-zone", PD_OPT_VAL, &tz, NULL},
	    {"locale", PD_OPT_VAL, &locale, NULL},
	    {"trial", PD_OPT_OPTVAL, &trial, &has_trial},
	    {"internal", PD_OPT_FLAG, NULL, &internal},
	    {"admin-name", PD_OPT_VAL, &aname, NULL},
	    {"admin-email", PD_OPT_VAL, &aemail, NULL},
	    {"admin-extension", PD_OPT_VAL, &aext, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int rc =
	    pd_cli_parse(c, "customer create", argc, argv, opts, NULL, 0, 0, NULL, help_create);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	static const struct {
		const char *opt, *field;
		size_t off;
	} req[] = {{"--name", "name", 0},
	           {"--product-type", "product_type", 1},
	           {"--country", "country", 2},
	           {"--admin-name", "admin_name", 3},
	           {"--admin-email", "admin_email", 4}};
	const char *vals[] = {name, ptype, country, aname, aemail};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
		if (!vals[req[i].off])
			return pd_cli_usage_field(c, req[i].field,
			                          _("customer create: missing %s (see --help)"),
			                          req[i].opt);
	long days = 0;
	if (has_trial) {
		if (*trial) {
			if (!pd_cli_int(c, "--trial", trial, 1, 3650, &days))
				return pd_status_exit_code(PD_E_USAGE);
		} else
			days = c->cfg.trial_default_days;
	}
	pd_err e;
	pd_err_clear(&e);
	const pd_geo *g;
	if (pd_cli_geo(&g, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_new_customer n;
	memset(&n, 0, sizeof n);
	n.customer.name = xstrdup(name);
	n.customer.product_type = xstrdup(ptype);
	n.customer.reference = ref && *ref ? xstrdup(ref) : NULL;
	n.customer.notes = notes && *notes ? xstrdup(notes) : NULL;
	n.customer.internal_system = internal;
	n.trial_days = (int)days;
	n.admin.display_name = xstrdup(aname);
	n.admin.email = xstrdup(aemail);
	n.admin.extension = aext && *aext ? xstrdup(aext) : NULL;
	n.admin.role = xstrdup(PD_ROLE_ADMIN);
	n.admin.primary = true;
	pd_customer out;
	memset(&out, 0, sizeof out);
	pd_status st = pd_check_country(g, country, n.customer.country, &e);
	if (st == PD_OK)
		st = pd_check_time_zone(g, n.customer.country, tz, &n.customer.time_zone, &e);
	if (st == PD_OK)
		st = pd_check_locale(g, n.customer.country, locale, &n.customer.locale, &e);
	if (st == PD_OK)
		st = pd_new_customer_check(&c->cat, g, &n, pd_today(), &e);
	pd_store *s = st == PD_OK ? pd_cli_store(c, &e) : NULL;
	if (s)
		st = store_customer_create(s, &n, &c->actor, &out, &e);
	else if (st == PD_OK)
		st = e.status ? e.status : PD_E_INTERNAL;
	pd_new_customer_free(&n);
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	rc = print_saved(c, &out, _("Created"), internal);
	if (!c->json)
		printf(_("Invitation for %s queued in the outbox.\n"), aemail);
	fflush(stdout);
	pd_cli_kick_outbox(c); /* the monitor sends it, no console needed */
	return rc;
}

/* ---- update ---- */

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int cmd_update(pd_cli *c, int argc, char **argv)
{
	const char *name = NULL, *ptype = NULL, *country = NULL, *ref = NULL, *notes = NULL,
	           *tz = NULL, *ver_s = NULL, *tend = NULL, *locale = NULL;
	bool internal = false, no_internal = false, disable = false, enable = false, yes = false;
	const pd_opt opts[] = {
	    {"name", PD_OPT_VAL, &name, NULL},
	    {"product-type", PD_OPT_VAL, &ptype, NULL},
	    {"country", PD_OPT_VAL, &country, NULL},
	    {"reference", PD_OPT_VAL, &ref, NULL},
	    {"notes", PD_OPT_VAL, &notes, NULL},
	    {"time-zone", PD_OPT_VAL, &tz, NULL},
	    {"locale", PD_OPT_VAL, &locale, NULL},
	    {"internal", PD_OPT_FLAG, NULL, &internal},
	    {"no-internal", PD_OPT_FLAG, NULL, &no_internal},
	    {"disable", PD_OPT_FLAG, NULL, &disable},
	    {"enable", PD_OPT_FLAG, NULL, &enable},
	    {"expect-version", PD_OPT_VAL, &ver_s, NULL},
	    {"trial-end", PD_OPT_VAL, &tend, NULL},
	    {"yes", PD_OPT_FLAG, NULL, &yes},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse(c, "customer update", argc, argv, opts, pos, 1, 1, NULL, help_update);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (internal && no_internal)
		return pd_cli_usage_field(
		    c, "internal_system",
		    _("customer update: --internal and --no-internal conflict"));
	if (disable && enable)
		return pd_cli_usage_field(c, "status",
		                          _("customer update: --disable and --enable conflict"));
	bool fields = name || ptype || country || ref || notes || tz || locale || internal ||
	              no_internal || tend;
	pd_day tend_day = 0;
	if (tend && !pd_day_parse(tend, &tend_day))
		return pd_cli_usage_field(c, "trial_end",
		                          _("--trial-end: expected a date as YYYY-MM-DD, got '%s'"),
		                          tend);
	if (!fields && !disable && !enable)
		return pd_cli_usage(c, _("customer update: nothing to change (see --help)"));
	long ver = 0;
	if (ver_s && !pd_cli_int(c, "--expect-version", ver_s, 1, INT32_MAX, &ver))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	const pd_geo *g;
	if (pd_cli_geo(&g, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_customer cur, upd, out, theirs;
	memset(&upd, 0, sizeof upd);
	memset(&out, 0, sizeof out);
	memset(&theirs, 0, sizeof theirs);
	if (pd_cli_customer(c, pos[0], &cur, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_customer_copy(&upd, &cur);
	if (ver)
		upd.version = ver;
	pd_status st = PD_OK;
	char *impact = NULL;
	if (name)
		pd_set_str(&upd.name, name);
	if (ref)
		pd_set_str(&upd.reference, *ref ? ref : NULL);
	if (notes)
		pd_set_str(&upd.notes, *notes ? notes : NULL);
	if (internal || no_internal)
		upd.internal_system = internal;
	if (tend) {
		/* an exact end date; starts a trial today when there is none */
		if (!upd.trial || upd.trial_converted) {
			upd.trial = true;
			upd.trial_converted = false;
			upd.trial_start = pd_today();
		}
		upd.trial_end = tend_day;
	}
	st = pd_update_country_zone(g, &cur, country, tz, &upd, &e);
	if (st == PD_OK)
		st = pd_update_locale(g, &cur, locale, &upd, &e);
	if (st == PD_OK && ptype && !str_eq(ptype, cur.product_type)) {
		st = pd_check_product_change(&c->cat, cur.product_type, ptype, &impact, &e);
		if (st == PD_OK && !yes) {
			st = pd_fail(
			    &e, PD_E_INVALID, "product_type",
			    _("changing the product type from %s to %s needs confirmation. %s "
			      "Re-run with --yes to confirm."),
			    cur.product_type, ptype, impact ? impact : _("licensing changes"));
		}
		if (st == PD_OK)
			pd_set_str(&upd.product_type, ptype);
	}
	free(impact);
	if (st == PD_OK && ver && !fields && ver != cur.version)
		st = pd_fail(
		    &e, PD_E_CONFLICT, "version",
		    _("customer %s is at version %lld, not %ld: changed by someone else since; "
		      "run 'provdesk customer show' and retry"),
		    cur.name, (long long)cur.version, ver);
	pd_store *s = c->store;
	bool saved = false;
	if (st == PD_OK && fields) {
		st = store_customer_update(s, &upd, &c->actor, &out, &theirs, &e);
		saved = st == PD_OK;
	}
	if (st == PD_OK && (disable || enable) && cur.disabled != disable)
		st = store_customer_set_disabled(s, cur.id, disable, &c->actor, &e);
	if (st == PD_OK) {
		pd_customer_free(&out);
		memset(&out, 0, sizeof out);
		st = store_customer_get(s, cur.id, &out, &e);
	}
	(void)saved;
	bool became_internal = internal && !cur.internal_system;
	pd_customer_free(&cur);
	pd_customer_free(&upd);
	pd_customer_free(&theirs);
	if (st != PD_OK) {
		pd_customer_free(&out);
		return pd_cli_fail(c, &e);
	}
	return print_saved(c, &out, _("Updated"), became_internal);
}

/* ---- delete / restore / trial ---- */

/* After an action on *cu (status st): re-read it so the output shows what is
 * stored, printed as JSON with --json. 0, or the exit code after printing
 * the error (*cu freed). */
static int reread_customer(pd_cli *c, pd_customer *cu, pd_status st, pd_err *e)
{
	if (st == PD_OK) {
		int64_t id = cu->id;
		pd_customer_free(cu);
		st = store_customer_get(c->store, id, cu, e);
	}
	if (st != PD_OK) {
		pd_customer_free(cu);
		return pd_cli_fail(c, e);
	}
	if (c->json)
		pd_cli_print_json(c, pd_json_customer(cu, pd_today()));
	return 0;
}

static int cmd_delete(pd_cli *c, int argc, char **argv)
{
	const char *confirm = NULL, *ver_s = NULL;
	const pd_opt opts[] = {
	    {"confirm", PD_OPT_VAL, &confirm, NULL},
	    {"expect-version", PD_OPT_VAL, &ver_s, NULL},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse(c, "customer delete", argc, argv, opts, pos, 1, 1, NULL, help_delete);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!confirm)
		return pd_cli_usage_field(c, "confirm",
		                          _("customer delete: --confirm NAME is required (type the "
		                            "customer's name to confirm)"));
	long ver = 0;
	if (ver_s && !pd_cli_int(c, "--expect-version", ver_s, 1, INT32_MAX, &ver))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	pd_customer cu;
	if (pd_cli_customer(c, pos[0], &cu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_status st =
	    store_customer_delete(c->store, cu.id, confirm, ver ? ver : cu.version, &c->actor, &e);
	rc = reread_customer(c, &cu, st, &e);
	if (rc)
		return rc;
	if (!c->json)
		printf(
		    _("Deleted customer %s (tenant %s); 'provdesk customer restore %s' brings it "
		      "back.\n"),
		    cu.name, cu.tenant_id, cu.tenant_id);
	pd_customer_free(&cu);
	return 0;
}

static int simple_action(pd_cli *c, int argc, char **argv, const char *cmd, const char *help,
                         int action)
{
	const char *days_s = NULL;
	const pd_opt opts[] = {{"days", PD_OPT_VAL, &days_s, NULL}, {NULL, 0, NULL, NULL}};
	const char *pos[1];
	int rc = pd_cli_parse(c, cmd, argc, argv, action == 1 ? opts : NULL, pos, 1, 1, NULL, help);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	long days = c->cfg.trial_default_days;
	if (days_s && !pd_cli_int(c, "--days", days_s, 1, 3650, &days))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	pd_customer cu;
	if (pd_cli_customer(c, pos[0], &cu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_status st;
	const char *verb;
	switch (action) {
	case 0:
		st = store_customer_restore(c->store, cu.id, &c->actor, &e);
		verb = _("Restored");
		break;
	case 1:
		st = store_trial_extend(c->store, cu.id, (int)days, &c->actor, &e);
		verb = _("Extended the trial of");
		break;
	case 2:
		st = store_trial_convert(c->store, cu.id, &c->actor, &e);
		verb = _("Converted to paid:");
		break;
	default:
		st = store_trial_end(c->store, cu.id, &c->actor, &e);
		verb = _("Ended the trial of");
		break;
	}
	rc = reread_customer(c, &cu, st, &e);
	if (rc)
		return rc;
	if (!c->json)
		print_customer_line(verb, &cu, pd_today());
	pd_customer_free(&cu);
	return 0;
}

static int cmd_restore(pd_cli *c, int argc, char **argv)
{
	return simple_action(c, argc, argv, "customer restore", help_restore, 0);
}
static int cmd_trial_extend(pd_cli *c, int argc, char **argv)
{
	return simple_action(c, argc, argv, "customer trial extend", help_trial, 1);
}
static int cmd_trial_convert(pd_cli *c, int argc, char **argv)
{
	return simple_action(c, argc, argv, "customer trial convert", help_trial, 2);
}
static int cmd_trial_end(pd_cli *c, int argc, char **argv)
{
	return simple_action(c, argc, argv, "customer trial end", help_trial, 3);
}

static int cmd_trial(pd_cli *c, int argc, char **argv)
{
	static const pd_subcmd subs[] = {{"extend", cmd_trial_extend},
	                                 {"convert", cmd_trial_convert},
	                                 {"end", cmd_trial_end},
	                                 {NULL, NULL}};
	return pd_cli_group(c, "customer trial", subs, argc, argv, help_trial);
}

const pd_subcmd pd_cli_customer_subs[] = {
    {"list", cmd_list},     {"show", cmd_show},     {"create", cmd_create},
    {"update", cmd_update}, {"delete", cmd_delete}, {"restore", cmd_restore},
    {"trial", cmd_trial},   {NULL, NULL},
};

int pd_cli_customer_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "customer", pd_cli_customer_subs, argc, argv, help_group);
}
