/* provdesk import FILE.csv [--dry-run] [--on-duplicate skip|update|fail] [--yes] [--json]
 *
 * One pass over a stream: each row is read and checked with the same core
 * rules as `customer create` plus the database rules (name taken,
 * internal-system limit) and the rules across rows of the file (same name
 * twice, same primary email twice), then written at once inside one
 * transaction, which is committed only when no row had an error (else rolled
 * back: all or nothing, as before). Memory holds one row, the report lines
 * (errors, skips, updates; every row with --json or --verbose) and the keys
 * of the names and emails seen, never the file. Errors are reported by
 * physical line number and field. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "attach.h"
#include "cli_internal.h"
#include "csv.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char help_import[] =
    N_("Usage: provdesk import FILE.csv [--dry-run] [--on-duplicate skip|update|fail] [--yes] "
       "[--json]\n"
       "Create customers (and their primary users) from a CSV file: UTF-8 with or without\n"
       "BOM, comma separated, RFC 4180 quoting, CRLF or LF line ends, FILE '-' = stdin.\n"
       "The header row names the columns, in any order:\n"
       "  name, product_type, country, admin_name, admin_email        (required)\n"
       "  reference, notes, time_zone, locale, trial_days, internal, admin_extension\n"
       "                                                               (optional)\n"
       "Every row is checked with the rules of 'customer create'; if any row is wrong,\n"
       "nothing is imported and every error of every row is reported, row by row, by\n"
       "line number and field.\n"
       "  --dry-run            check and report only; write nothing\n"
       "  --on-duplicate MODE  a name that already exists: fail (default), skip the row,\n"
       "                       or update the existing customer's details from the row\n"
       "                       (its primary user and trial are left as they are)\n"
       "  --yes                allow --on-duplicate update to change an unlocked product type\n"
       "  --verbose            one report line per row (--json always has one per row)\n"
       "trial_days: empty or 0 = no trial. internal: 1/0, true/false, yes/no or empty.\n"
       "locale: a supported locale such as fr_FR; empty = the country's default.\n");

enum {
	COL_NAME,
	COL_PRODUCT,
	COL_COUNTRY,
	COL_REFERENCE,
	COL_NOTES,
	COL_TZ,
	COL_TRIAL,
	COL_INTERNAL,
	COL_ADMIN_NAME,
	COL_ADMIN_EMAIL,
	COL_ADMIN_EXT,
	COL_LOCALE,
	COL__COUNT
};
static const char *const col_names[COL__COUNT] = {
    "name",       "product_type", "country",    "reference",   "notes",           "time_zone",
    "trial_days", "internal",     "admin_name", "admin_email", "admin_extension", "locale"};
static const bool col_required[COL__COUNT] = {true,  true,  true, false, false, false,
                                              false, false, true, true,  false, false};

typedef enum { ACT_CREATE, ACT_UPDATE, ACT_SKIP, ACT_ERROR } row_action;
static const char *const act_names[] = {"create", "update", "skip", "error"};

typedef struct {
	char field[64];
	char *message;
} row_err;

typedef struct {
	int line;
	row_action act;
	char *name;        /* as given (for the report) */
	pd_new_customer n; /* ACT_CREATE */
	pd_customer upd;   /* ACT_UPDATE: the existing row with the file's values */
	char field[64];
	char *message; /* the first error, or the reason of a skip */
	row_err *errs; /* every error of the row, in column order */
	size_t nerrs;
	char tenant_id[37]; /* after writing */
} import_row;

/* ---- a small string -> line map (fold keys of names and emails) ---- */
typedef struct {
	char **keys;
	int *vals;
	size_t cap, n;
} strmap;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void map_grow(strmap *m);

/* Returns the existing value, or inserts (key taken) and returns 0. */
static int map_put(strmap *m, char *key, int val)
{
	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	size_t i = (size_t)hash_str(key) & (m->cap - 1);
	while (m->keys[i]) {
		if (strcmp(m->keys[i], key) == 0) {
			free(key);
			return m->vals[i];
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static void map_grow(strmap *m)
{
	strmap b = {0};
	b.cap = m->cap ? m->cap * 2 : 1024;
	b.keys = xcalloc(b.cap, sizeof *b.keys);
	b.vals = xcalloc(b.cap, sizeof *b.vals);
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			map_put(&b, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = b;
}

static void map_free(strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- reading ---- */

/* The input, refused before it is read when a regular file is over max_mb
 * MiB; a pipe is cut off by the reader once more than that came in. */
static pd_status open_input(const char *path, int max_mb, FILE **out, pd_err *e)
{
	size_t max = (size_t)max_mb * 1024 * 1024;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	*out = NULL;
	if (!f)
		return pd_fail(e, PD_E_NOINPUT, "file", _("cannot open %s: %s"), path,
		               strerror(errno));
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
		if (f != stdin)
			fclose(f);
		return pd_fail(e, PD_E_INVALID, "file",
		               _("%s is %.1f MiB, over the %d MiB an import takes ([customers] "
		                 "import_max_mb): split it"),
		               path, (double)sb.st_size / (1024.0 * 1024.0), max_mb);
	}
	*out = f;
	return PD_OK;
}

static void close_input(FILE *f)
{
	if (f && f != stdin)
		fclose(f);
}

/* The reader stopped early: the file grew past the limit or could not be read. */
static pd_status input_error(const pd_csv_reader *rd, const char *path, int max_mb, pd_err *e)
{
	if (rd->too_big)
		return pd_fail(
		    e, PD_E_INVALID, "file",
		    _("%s is over the %d MiB an import takes ([customers] import_max_mb): "
		      "split it"),
		    path, max_mb);
	if (rd->read_errno)
		return pd_fail(e, PD_E_NOINPUT, "file", _("cannot read %s: %s"), path,
		               strerror(rd->read_errno));
	return PD_OK;
}

/* Adds an error to the row (every one is reported, not only the first). */
static void row_error(import_row *r, const pd_err *e)
{
	const char *msg = e->message[0] ? e->message : pd_status_message(e->status);
	if (!r->nerrs) {
		r->act = ACT_ERROR;
		pd_utf8_copys(r->field, sizeof r->field, e->field);
		free(r->message);
		r->message = xstrdup(msg);
	}
	r->errs = xrealloc(r->errs, (r->nerrs + 1) * sizeof *r->errs);
	pd_utf8_copys(r->errs[r->nerrs].field, sizeof r->errs[r->nerrs].field, e->field);
	r->errs[r->nerrs].message = xstrdup(msg);
	r->nerrs++;
}

static bool row_has_error(const import_row *r, const char *field)
{
	for (size_t i = 0; i < r->nerrs; i++)
		if (strcmp(r->errs[i].field, field) == 0)
			return true;
	return false;
}

/* A whole-record rule's error, unless its field is already reported. */
static void row_error_new(import_row *r, const pd_err *e)
{
	if (!row_has_error(r, e->field))
		row_error(r, e);
}

static void row_errorf(import_row *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void row_errorf(import_row *r, const char *field, const char *fmt, ...)
{
	pd_err e;
	pd_err_clear(&e);
	va_list ap;
	va_start(ap, fmt);
	pd_vfail(&e, PD_E_INVALID, field, fmt, ap);
	va_end(ap);
	row_error(r, &e);
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "true", "yes", "y", "oui"};
	static const char *const f[] = {"", "0", "false", "no", "n", "non"};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcasecmp(s, t[i]) == 0)
			return *out = true, true;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strcasecmp(s, f[i]) == 0)
			return *out = false, true;
	return false;
}

typedef struct {
	pd_cli *c;
	const pd_geo *g;
	pd_store *s;
	int on_dup; /* 0 fail, 1 skip, 2 update */
	bool yes;
	pd_day today;
	int col[COL__COUNT]; /* index in the record, -1 when absent */
	size_t ncols;
	strmap names, emails;
	int64_t internal_used; /* in the database + the rows so far */
	int internal_limit;
	pd_progress prog; /* on a terminal: checking, then writing */
} import_ctx;

static const char *fld(const import_ctx *x, const pd_csv_record *rec, int col)
{
	int i = x->col[col];
	return i >= 0 && (size_t)i < rec->n ? rec->fields[i] : "";
}

static void check_update(import_ctx *x, import_row *r, const pd_csv_record *rec, pd_customer *cur)
{
	pd_err e;
	pd_err_clear(&e);
	pd_customer *u = &r->upd;
	pd_customer_copy(u, cur);
	pd_set_str(&u->name, fld(x, rec, COL_NAME));
	const char *pt = fld(x, rec, COL_PRODUCT);
	if (strcmp(pt, cur->product_type) != 0) {
		char *impact = NULL;
		if (pd_check_product_change(&x->c->cat, cur->product_type, pt, &impact, &e) !=
		    PD_OK)
			row_error(r, &e);
		else if (!x->yes)
			row_errorf(
			    r, "product_type",
			    _("changing the product type of \"%s\" from %s to %s: %s; re-run with "
			      "--yes to confirm"),
			    cur->name, cur->product_type, pt, impact ? impact : "");
		else
			pd_set_str(&u->product_type, pt);
		free(impact);
	}
	if (x->col[COL_REFERENCE] >= 0)
		pd_set_str(&u->reference,
		           *fld(x, rec, COL_REFERENCE) ? fld(x, rec, COL_REFERENCE) : NULL);
	if (x->col[COL_NOTES] >= 0)
		pd_set_str(&u->notes, *fld(x, rec, COL_NOTES) ? fld(x, rec, COL_NOTES) : NULL);
	pd_err_clear(&e);
	if (pd_check_country(x->g, fld(x, rec, COL_COUNTRY), u->country, &e) != PD_OK)
		row_error(r, &e);
	else {
		const char *tz = fld(x, rec, COL_TZ);
		const pd_country *co = pd_geo_country(x->g, u->country);
		if (!*tz && co && cur->time_zone && pd_country_has_zone(co, cur->time_zone))
			tz = cur->time_zone;
		char *z = NULL;
		pd_err_clear(&e);
		if (pd_check_time_zone(x->g, u->country, tz, &z, &e) != PD_OK)
			row_error(r, &e);
		else {
			free(u->time_zone);
			u->time_zone = z;
		}
		const char *loc = fld(x, rec, COL_LOCALE);
		pd_err_clear(&e);
		if (pd_update_locale(x->g, cur, *loc ? loc : NULL, u, &e) != PD_OK)
			row_error(r, &e);
	}
	bool internal = cur->internal_system;
	if (x->col[COL_INTERNAL] >= 0 && !parse_bool(fld(x, rec, COL_INTERNAL), &internal))
		row_errorf(r, "internal", _("expected 1/0, true/false or yes/no, got '%s'"),
		           fld(x, rec, COL_INTERNAL));
	else if (!r->nerrs && internal && !cur->internal_system &&
	         ++x->internal_used > x->internal_limit)
		row_errorf(r, "internal",
		           _("at most %d internal system%s allowed ([customers] "
		             "internal_systems_limit)"),
		           x->internal_limit, x->internal_limit == 1 ? " is" : "s are");
	u->internal_system = internal;
	pd_err_clear(&e);
	if (pd_customer_check(&x->c->cat, x->g, u, &e) != PD_OK)
		row_error_new(r, &e);
	if (!r->nerrs)
		r->act = ACT_UPDATE;
}

/* Every rule of 'customer create' on one row, each column checked on its own
 * so that a row with several mistakes reports them all at once; then the
 * whole-record rule (pd_new_customer_check) for what depends on several
 * columns, and the rules across rows and against the database. */
static void check_row(import_ctx *x, import_row *r, const pd_csv_record *rec)
{
	pd_err e;
	pd_err_clear(&e);
	r->line = rec->line;
	r->name = xstrdup(fld(x, rec, COL_NAME));
	if (rec->n != x->ncols)
		return row_errorf(r, NULL, _("expected %zu fields as in the header, found %zu"),
		                  x->ncols, rec->n);
	pd_new_customer *n = &r->n;
	n->customer.name = xstrdup(fld(x, rec, COL_NAME));
	n->customer.product_type = xstrdup(fld(x, rec, COL_PRODUCT));
	const char *ref = fld(x, rec, COL_REFERENCE), *notes = fld(x, rec, COL_NOTES);
	n->customer.reference = *ref ? xstrdup(ref) : NULL;
	n->customer.notes = *notes ? xstrdup(notes) : NULL;
	n->admin.display_name = xstrdup(fld(x, rec, COL_ADMIN_NAME));
	n->admin.email = xstrdup(fld(x, rec, COL_ADMIN_EMAIL));
	const char *ext = fld(x, rec, COL_ADMIN_EXT);
	n->admin.extension = *ext ? xstrdup(ext) : NULL;
	n->admin.role = xstrdup(PD_ROLE_ADMIN);
	n->admin.primary = true;
	const char *td = fld(x, rec, COL_TRIAL);
	if (*td) {
		char *end;
		errno = 0;
		long d = strtol(td, &end, 10);
		if (errno || *end || d < 0 || d > 3650)
			row_errorf(r, "trial_days",
			           _("expected a number of days from 0 to 3650, got '%s'"), td);
		else
			n->trial_days = (int)d;
	}
	if (!parse_bool(fld(x, rec, COL_INTERNAL), &n->customer.internal_system))
		row_errorf(r, "internal", _("expected 1/0, true/false or yes/no, got '%s'"),
		           fld(x, rec, COL_INTERNAL));

	/* A name already in the database: --on-duplicate decides. */
	char *trimmed = pd_trim(n->customer.name);
	bool taken = false;
	pd_err_clear(&e);
	if (*trimmed && pd_check_name(trimmed, NULL, &e) == PD_OK) {
		pd_status st = store_customer_name_free(x->s, trimmed, 0, &e);
		taken = st == PD_E_INVALID;
		if (st != PD_OK && !taken) {
			free(trimmed);
			return row_error(r, &e);
		}
	}
	char *key = pd_fold_key(trimmed);
	free(trimmed);
	int prev = 0;
	if (key && *key)
		prev = map_put(&x->names, key, r->line);
	else
		free(key);
	if (taken && !prev && !r->nerrs && x->on_dup == 1) {
		r->act = ACT_SKIP;
		r->message = xstrdup(_("a customer with this name already exists"));
		return;
	}
	if (taken && !prev && !r->nerrs && x->on_dup == 2) {
		pd_customer cur;
		memset(&cur, 0, sizeof cur);
		if (store_customer_find(x->s, n->customer.name, &cur, &e) != PD_OK)
			return row_error(r, &e);
		check_update(x, r, rec, &cur);
		pd_customer_free(&cur);
		return;
	}

	/* each column on its own */
	char *norm = NULL;
	pd_err_clear(&e);
	if (pd_check_name(n->customer.name, &norm, &e) != PD_OK)
		row_error(r, &e);
	else if (prev)
		row_errorf(r, "name", _("\"%s\" is already on line %d of this file"),
		           n->customer.name, prev);
	else if (taken)
		row_errorf(r, "name",
		           _("a customer named \"%s\" already exists (use --on-duplicate skip or "
		             "update)"),
		           n->customer.name);
	free(norm);
	pd_err_clear(&e);
	bool country_ok =
	    pd_check_country(x->g, fld(x, rec, COL_COUNTRY), n->customer.country, &e) == PD_OK;
	if (!country_ok)
		row_error(r, &e);
	pd_err_clear(&e);
	if (pd_check_product_type(&x->c->cat, n->customer.product_type,
	                          country_ok ? n->customer.country : NULL, &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (pd_check_reference(ref, &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (pd_check_notes(notes, &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (country_ok && pd_check_time_zone(x->g, n->customer.country, fld(x, rec, COL_TZ),
	                                     &n->customer.time_zone, &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (country_ok && pd_check_locale(x->g, n->customer.country, fld(x, rec, COL_LOCALE),
	                                  &n->customer.locale, &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (pd_check_display_name(n->admin.display_name, "admin_name", &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (pd_check_email(n->admin.email, "admin_email", &e) != PD_OK)
		row_error(r, &e);
	pd_err_clear(&e);
	if (pd_check_extension(n->admin.extension, "admin_extension", &e) != PD_OK)
		row_error(r, &e);
	/* the whole record (trial length and what spans columns), which also
	 * normalises it for writing */
	pd_err_clear(&e);
	if (pd_new_customer_check(&x->c->cat, x->g, n, x->today, &e) != PD_OK)
		row_error_new(r, &e);

	char *ekey = pd_fold_key(n->admin.email);
	if (ekey && *ekey) {
		int eprev = map_put(&x->emails, ekey, r->line);
		if (eprev && !row_has_error(r, "admin_email"))
			row_errorf(r, "admin_email",
			           _("%s is already the primary email on line %d of this file"),
			           n->admin.email, eprev);
	} else
		free(ekey);
	if (!r->nerrs && n->customer.internal_system && ++x->internal_used > x->internal_limit)
		row_errorf(r, "internal",
		           _("at most %d internal system%s allowed ([customers] "
		             "internal_systems_limit)"),
		           x->internal_limit, x->internal_limit == 1 ? " is" : "s are");
	if (!r->nerrs)
		r->act = ACT_CREATE;
}

static bool parse_header(import_ctx *x, const pd_csv_record *rec, pd_err *e)
{
	for (int i = 0; i < COL__COUNT; i++)
		x->col[i] = -1;
	x->ncols = rec->n;
	for (size_t i = 0; i < rec->n; i++) {
		char *h = pd_trim(rec->fields[i]);
		int k = -1;
		for (int j = 0; j < COL__COUNT; j++)
			if (strcmp(h, col_names[j]) == 0)
				k = j;
		if (k < 0) {
			pd_fail_line(e, PD_E_INVALID, rec->line, "header",
			             _("unknown column \"%s\" (known: name, product_type, country, "
			               "reference, notes, time_zone, locale, trial_days, internal, "
			               "admin_name, "
			               "admin_email, admin_extension)"),
			             h);
			free(h);
			return false;
		}
		free(h);
		if (x->col[k] >= 0) {
			pd_fail_line(e, PD_E_INVALID, rec->line, "header",
			             _("column \"%s\" appears twice"), col_names[k]);
			return false;
		}
		x->col[k] = (int)i;
	}
	for (int j = 0; j < COL__COUNT; j++)
		if (col_required[j] && x->col[j] < 0) {
			pd_fail_line(e, PD_E_INVALID, rec->line, "header",
			             _("missing required column \"%s\""), col_names[j]);
			return false;
		}
	return true;
}

static void row_free(import_row *r)
{
	free(r->name);
	free(r->message);
	for (size_t i = 0; i < r->nerrs; i++)
		free(r->errs[i].message);
	free(r->errs);
	pd_new_customer_free(&r->n);
	pd_customer_free(&r->upd);
}

/* ---- writing ---- */

/* One checked row, inside the import's transaction. */
static pd_status write_row(import_ctx *x, import_row *r, pd_err *e)
{
	pd_customer out;
	memset(&out, 0, sizeof out);
	pd_status st = PD_OK;
	if (r->act == ACT_CREATE) {
		/* Only the tenant id is reported, and create fills it in r->n: no
		 * need to read the new row back. check_row ran every rule of the
		 * store's create (pd_new_customer_check) on this row: not twice. */
		st = store_customer_create_checked(x->s, &r->n, &x->c->actor, NULL, e);
		if (st == PD_OK)
			memcpy(out.tenant_id, r->n.customer.tenant_id, sizeof out.tenant_id);
	} else if (r->act == ACT_UPDATE)
		st = store_customer_update(x->s, &r->upd, &x->c->actor, &out, NULL, e);
	else
		return PD_OK;
	if (st != PD_OK) {
		e->line = r->line;
		return st;
	}
	memcpy(r->tenant_id, out.tenant_id, sizeof r->tenant_id);
	pd_customer_free(&out);
	return PD_OK;
}

/* rows: the rows kept for the report (every row with --json or --verbose,
 * else those with a line to show); total: every row of the file. */
static void report(pd_cli *c, const char *file, bool dry, bool verbose, const char *dup,
                   import_row *rows, size_t n, size_t total, size_t cnt[4], bool written,
                   const pd_err *werr)
{
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(file));
		json_object_set_new(o, "dry_run", json_boolean(dry));
		json_object_set_new(o, "on_duplicate", json_string(dup));
		json_object_set_new(o, "rows", json_integer((json_int_t)total));
		json_object_set_new(o, "created", json_integer((json_int_t)cnt[ACT_CREATE]));
		json_object_set_new(o, "updated", json_integer((json_int_t)cnt[ACT_UPDATE]));
		json_object_set_new(o, "skipped", json_integer((json_int_t)cnt[ACT_SKIP]));
		json_object_set_new(o, "errors", json_integer((json_int_t)cnt[ACT_ERROR]));
		json_object_set_new(o, "imported", json_boolean(written));
		json_t *res = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *r = json_object();
			json_object_set_new(r, "line", json_integer(rows[i].line));
			json_object_set_new(r, "name", pd_json_str(rows[i].name));
			json_object_set_new(r, "action", json_string(act_names[rows[i].act]));
			if (rows[i].act == ACT_ERROR) {
				/* the first error as before, then all of them */
				json_object_set_new(r, "field", pd_json_str(rows[i].field));
				json_object_set_new(r, "message", pd_json_str(rows[i].message));
				json_t *all = json_array();
				for (size_t k = 0; k < rows[i].nerrs; k++) {
					json_t *x = json_object();
					json_object_set_new(x, "field",
					                    pd_json_str(rows[i].errs[k].field));
					json_object_set_new(x, "message",
					                    pd_json_str(rows[i].errs[k].message));
					json_array_append_new(all, x);
				}
				json_object_set_new(r, "errors", all);
			} else if (rows[i].message)
				json_object_set_new(r, "message", pd_json_str(rows[i].message));
			if (rows[i].tenant_id[0])
				json_object_set_new(r, "tenant_id", json_string(rows[i].tenant_id));
			json_array_append_new(res, r);
		}
		json_object_set_new(o, "results", res);
		if (werr) {
			json_t *err = json_object();
			json_object_set_new(err, "code", json_string(pd_status_code(werr->status)));
			json_object_set_new(err, "field", pd_json_str(werr->field));
			json_object_set_new(err, "line", json_integer(werr->line));
			json_object_set_new(err, "message", json_string(werr->message));
			json_object_set_new(o, "error", err);
		}
		pd_cli_print_json(c, o);
	}
	/* the text report: problems on stderr, the summary on stdout */
	for (size_t i = 0; i < n; i++) {
		const import_row *r = &rows[i];
		if (r->act == ACT_ERROR && !c->json)
			for (size_t k = 0; k < r->nerrs; k++)
				fprintf(stderr, "provdesk: %s: line %d: %s%s%s\n", file, r->line,
				        r->errs[k].field, r->errs[k].field[0] ? ": " : "",
				        r->errs[k].message);
		else if (!c->json && r->act == ACT_SKIP)
			printf(_("line %d: skipped \"%s\": %s\n"), r->line, r->name, r->message);
		else if (!c->json && r->act == ACT_UPDATE)
			printf(_("line %d: %s \"%s\"\n"), r->line,
			       dry ? _("would update") : "updated", r->name);
		else if (!c->json && verbose && r->act == ACT_CREATE)
			printf(_("line %d: %s \"%s\"%s%s\n"), r->line,
			       dry ? _("would create") : "created", r->name,
			       r->tenant_id[0] ? " " : "", r->tenant_id);
	}
	if (c->json) {
		/* stdout holds the report; stderr the error, as for every command */
		const import_row *first = NULL;
		for (size_t i = 0; i < n && !first; i++)
			if (rows[i].act == ACT_ERROR)
				first = &rows[i];
		char msg[1200];
		if (first) {
			pd_snprintf(
			    msg, sizeof msg,
			    _("%.300s: %zu row%s, %zu with errors: nothing imported (first: line "
			      "%d: %s%s%.600s)"),
			    file, total, total == 1 ? "" : "s", cnt[ACT_ERROR], first->line,
			    first->field, first->field[0] ? ": " : "", first->message);
			pd_cli_json_error(PD_E_INVALID, first->field, first->line, msg, false);
		} else if (werr) {
			pd_snprintf(msg, sizeof msg,
			            _("%.300s: line %d: %.600s; nothing was written"), file,
			            werr->line, werr->message);
			pd_cli_json_error(werr->status, werr->field, werr->line, msg, false);
		}
		return;
	}
	if (cnt[ACT_ERROR])
		fprintf(stderr, _("provdesk: %s: %zu row%s, %zu with errors: nothing imported\n"),
		        file, total, total == 1 ? "" : "s", cnt[ACT_ERROR]);
	else
		printf(_("%s: %zu row%s: %zu %s, %zu %s, %zu skipped%s\n"), file, total,
		       total == 1 ? "" : "s", cnt[ACT_CREATE], dry ? _("to create") : "created",
		       cnt[ACT_UPDATE], dry ? _("to update") : "updated", cnt[ACT_SKIP],
		       dry ? _(" (dry run: nothing written)") : "");
}

int pd_cli_import_cmd(pd_cli *c, int argc, char **argv)
{
	const char *dup = "fail";
	bool dry = false, yes = false, verbose = false;
	const pd_opt opts[] = {
	    {"dry-run", PD_OPT_FLAG, NULL, &dry},
	    {"on-duplicate", PD_OPT_VAL, &dup, NULL},
	    {"yes", PD_OPT_FLAG, NULL, &yes},
	    {"verbose", PD_OPT_FLAG, NULL, &verbose},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse(c, "import", argc, argv, opts, pos, 1, 1, NULL, help_import);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	import_ctx x;
	memset(&x, 0, sizeof x);
	x.c = c;
	x.yes = yes;
	x.today = pd_today();
	x.internal_limit = c->cfg.internal_systems_limit;
	if (strcmp(dup, "fail") == 0)
		x.on_dup = 0;
	else if (strcmp(dup, "skip") == 0)
		x.on_dup = 1;
	else if (strcmp(dup, "update") == 0)
		x.on_dup = 2;
	else
		return pd_cli_usage_field(
		    c, "on_duplicate", _("--on-duplicate: expected skip, update or fail, got '%s'"),
		    dup);
	pd_err e;
	pd_err_clear(&e);
	FILE *in = NULL;
	if (open_input(pos[0], c->cfg.import_max_mb, &in, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (pd_cli_geo(&x.g, &e) != PD_OK || !(x.s = pd_cli_store(c, &e))) {
		close_input(in);
		return pd_cli_fail(c, &e);
	}
	pd_counts counts;
	if (store_customer_counts(x.s, x.today, &counts, &e) != PD_OK) {
		close_input(in);
		return pd_cli_fail(c, &e);
	}
	x.internal_used = counts.internal;

	pd_csv_reader rd;
	pd_csv_reader_open(&rd, in, (size_t)c->cfg.import_max_mb * 1024 * 1024);
	pd_csv_record rec = {0};
	int got = pd_csv_next(&rd, &rec, &e);
	if (got == 0 && input_error(&rd, pos[0], c->cfg.import_max_mb, &e) != PD_OK)
		got = -1;
	if (got <= 0 || !parse_header(&x, &rec, &e)) {
		if (got == 0)
			pd_fail_line(
			    &e, PD_E_INVALID, 1, "header",
			    _("the file is empty; a header row naming the columns is required"));
		pd_csv_record_free(&rec);
		pd_csv_reader_close(&rd);
		close_input(in);
		rc = pd_cli_fail(c, &e);
		if (!c->json)
			fprintf(stderr, _("provdesk: %s: nothing imported\n"), pos[0]);
		return rc;
	}
	/* Rows are written as they are checked, in one transaction: committed
	 * when the whole file is good, rolled back otherwise. After the first
	 * error nothing more is written (the rest is only checked, so every
	 * error is reported). All or nothing: no savepoint per row. */
	pd_err werr;
	pd_err_clear(&werr);
	bool writing = !dry, wfail = false;
	if (writing && store_begin_atomic(x.s, &werr) != PD_OK) {
		pd_csv_record_free(&rec);
		pd_csv_reader_close(&rd);
		close_input(in);
		return pd_cli_fail(c, &werr);
	}
	import_row *rows = NULL; /* kept for the report */
	size_t n = 0, cap = 0, total = 0;
	size_t cnt[4] = {0, 0, 0, 0};
	pd_progress_begin(&x.prog, c, "import", "rows");
	pd_progress_phase(&x.prog, dry ? "checking" : "importing", 0);
	for (;;) {
		pd_err_clear(&e);
		got = pd_csv_next(&rd, &rec, &e);
		if (got == 0)
			break;
		import_row r;
		memset(&r, 0, sizeof r);
		if (got < 0) {
			r.line = e.line;
			row_error(&r, &e);
		} else
			check_row(&x, &r, &rec);
		cnt[r.act]++;
		total++;
		if (cnt[ACT_ERROR])
			writing = false;
		if (writing && write_row(&x, &r, &werr) != PD_OK)
			writing = false, wfail = true;
		pd_progress_set(&x.prog, total);
		pd_new_customer_free(&r.n);
		memset(&r.n, 0, sizeof r.n);
		pd_customer_free(&r.upd);
		memset(&r.upd, 0, sizeof r.upd);
		if (!c->json && !verbose && r.act == ACT_CREATE) {
			row_free(&r); /* a created row has no line in the report */
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		rows[n++] = r;
	}
	/* the whole count is known now: the line ends at 100% */
	x.prog.total = total;
	pd_progress_set(&x.prog, total);
	pd_csv_record_free(&rec);
	map_free(&x.names);
	map_free(&x.emails);
	pd_err ierr;
	pd_err_clear(&ierr);
	pd_status ist = input_error(&rd, pos[0], c->cfg.import_max_mb, &ierr);
	pd_csv_reader_close(&rd);
	close_input(in);

	bool written = false;
	if (!dry) {
		if (ist == PD_OK && !wfail && !cnt[ACT_ERROR])
			wfail = store_commit(x.s, &werr) != PD_OK;
		written = ist == PD_OK && !wfail && !cnt[ACT_ERROR];
		if (!written)
			store_rollback(x.s);
	}
	pd_progress_end(&x.prog);
	for (size_t i = 0; !written && i < n; i++)
		rows[i].tenant_id[0] = 0; /* rolled back: no customer has it */
	if (ist != PD_OK) {
		for (size_t i = 0; i < n; i++)
			row_free(&rows[i]);
		free(rows);
		rc = pd_cli_fail(c, &ierr);
		if (!c->json)
			fprintf(stderr, _("provdesk: %s: nothing imported\n"), pos[0]);
		return rc;
	}
	report(c, pos[0], dry, verbose, dup, rows, n, total, cnt, written, wfail ? &werr : NULL);
	if (written && cnt[ACT_CREATE]) { /* new customers' invitations: the monitor sends them */
		fflush(stdout);
		pd_cli_kick_outbox(c);
	}
	if (wfail && !c->json) {
		fprintf(stderr, "provdesk: %s: line %d: %s%s%s\n", pos[0], werr.line, werr.field,
		        werr.field[0] ? ": " : "", werr.message);
		fprintf(stderr,
		        _("provdesk: %s: the import stopped at line %d; nothing was written\n"),
		        pos[0], werr.line);
	}
	if (wfail)
		rc = pd_status_exit_code(werr.status);
	else
		rc = cnt[ACT_ERROR] ? pd_status_exit_code(PD_E_INVALID) : 0;
	for (size_t i = 0; i < n; i++)
		row_free(&rows[i]);
	free(rows);
	return rc;
}
