/* Countries and time zones from the system's own data, not a hand-typed list:
 * Debian iso-codes (JSON) for codes and English names, its gettext catalogue
 * for the French names (parsed here: only the C.UTF-8 locale exists, so
 * dgettext cannot be used), and tzdata's zone.tab for the zones. */
#include "provdesk/geo.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "provdesk/i18n.h"
#include "provdesk/util.h"

struct pd_geo {
	pd_country *countries; /* sorted by English name (folded) */
	size_t n;
	char **all_zones; /* every zone of zone.tab, sorted */
	size_t n_all_zones;
	char *zoneinfo_dir;
	/* Folded English and French names, parallel to countries, so that a
	 * keystroke in the type-ahead folds only the query. */
	char **fold_en, **fold_fr;
	/* index + 1 in countries of each two-letter code "AA".."ZZ" (0: none):
	 * an import looks a country up per row (issue 19) */
	uint16_t by_code[26 * 26];
	/* The system's supported locales as "ll_CC", sorted, unique
	 * (load_locales). */
	char **locales;
	size_t n_locales;
};

/* "fr", "FR" -> 0..675; -1 when not two ASCII letters */
static int code_index(const char *c)
{
	int a = c[0] | 0x20, b = c[0] ? c[1] | 0x20 : 0;
	if (a < 'a' || a > 'z' || b < 'a' || b > 'z')
		return -1;
	return (a - 'a') * 26 + (b - 'a');
}

static const char *env_or(const char *var, const char *def)
{
	const char *v = getenv(var);
	return v && *v ? v : def;
}

/* ---- gettext .mo ---- */

typedef struct {
	unsigned char *data;
	size_t size;
	bool swap;
	uint32_t n, orig, trans;
} mo_file;

static uint32_t mo_u32(const mo_file *m, size_t off)
{
	const unsigned char *p = m->data + off;
	uint32_t v =
	    (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if (m->swap)
		v = __builtin_bswap32(v);
	return v;
}

static pd_status mo_open(const char *path, mo_file *m, pd_err *e)
{
	memset(m, 0, sizeof *m);
	char *data = NULL;
	int err = pd_read_file(path, 0, &data, &m->size);
	if (err)
		return pd_fail(e, PD_E_NOINPUT, "name_fr",
		               _("cannot read the French country names %s: %s (install iso-codes)"),
		               path, strerror(err));
	m->data = (unsigned char *)data;
	if (m->size < 28)
		goto corrupt;
	uint32_t magic = (uint32_t)m->data[0] | (uint32_t)m->data[1] << 8 |
	                 (uint32_t)m->data[2] << 16 | (uint32_t)m->data[3] << 24;
	if (magic == 0x950412deu)
		m->swap = false;
	else if (magic == 0xde120495u)
		m->swap = true;
	else
		goto corrupt;
	m->n = mo_u32(m, 8);
	m->orig = mo_u32(m, 12);
	m->trans = mo_u32(m, 16);
	if (m->n > m->size / 8 || m->orig > m->size || m->trans > m->size ||
	    (uint64_t)m->orig + (uint64_t)m->n * 8 > m->size ||
	    (uint64_t)m->trans + (uint64_t)m->n * 8 > m->size)
		goto corrupt;
	/* Every string must lie inside the file and be NUL-terminated. */
	for (uint32_t i = 0; i < m->n; i++)
		for (int t = 0; t < 2; t++) {
			size_t base = (t ? m->trans : m->orig) + (size_t)i * 8;
			uint32_t len = mo_u32(m, base), off = mo_u32(m, base + 4);
			if ((uint64_t)off + len >= m->size || m->data[off + len] != 0)
				goto corrupt;
		}
	return PD_OK;
corrupt:
	free(m->data);
	m->data = NULL;
	return pd_fail(e, PD_E_CONFIG, "name_fr", _("%s is not a valid gettext .mo file"), path);
}

static const char *mo_lookup(const mo_file *m, const char *msgid)
{
	for (uint32_t i = 0; i < m->n; i++) {
		size_t base = m->orig + (size_t)i * 8;
		uint32_t off = mo_u32(m, base + 4);
		if (!strcmp((const char *)m->data + off, msgid)) {
			uint32_t toff = mo_u32(m, m->trans + (size_t)i * 8 + 4);
			const char *t = (const char *)m->data + toff;
			return *t ? t : NULL;
		}
	}
	return NULL;
}

/* ---- loading ---- */

static int cmp_country(const void *a, const void *b)
{
	const pd_country *x = a, *y = b;
	char *kx = pd_fold_key(x->name_en), *ky = pd_fold_key(y->name_en);
	int r = strcmp(kx ? kx : "", ky ? ky : "");
	free(kx);
	free(ky);
	return r ? r : strcmp(x->code, y->code);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void country_free(pd_country *c)
{
	free(c->name_en);
	free(c->name_fr);
	free(c->key);
	for (size_t i = 0; i < c->n_zones; i++)
		free(c->zones[i]);
	free(c->zones);
}

void pd_geo_free(pd_geo *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		country_free(&g->countries[i]);
		if (g->fold_en)
			free(g->fold_en[i]);
		if (g->fold_fr)
			free(g->fold_fr[i]);
	}
	free(g->fold_en);
	free(g->fold_fr);
	free(g->countries);
	for (size_t i = 0; i < g->n_all_zones; i++)
		free(g->all_zones[i]);
	free(g->all_zones);
	free(g->zoneinfo_dir);
	for (size_t i = 0; i < g->n_locales; i++)
		free(g->locales[i]);
	free(g->locales);
	free(g);
}

static pd_status load_iso(pd_geo *g, const char *path, pd_err *e)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		FILE *f = fopen(path, "r");
		if (!f)
			return pd_fail(e, PD_E_NOINPUT, "country",
			               _("cannot read the country list %s: %s (install iso-codes)"),
			               path, strerror(errno));
		fclose(f);
		return pd_fail_line(e, PD_E_CONFIG, je.line, "country",
		                    _("%s:%d: invalid JSON: %s"), path, je.line, je.text);
	}
	json_t *arr = json_object_get(root, "3166-1");
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		json_decref(root);
		return pd_fail(e, PD_E_CONFIG, "country",
		               _("%s: no \"3166-1\" array of countries in this file"), path);
	}
	g->countries = xcalloc(json_array_size(arr), sizeof *g->countries);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *a2 = json_string_value(json_object_get(v, "alpha_2"));
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *common = json_string_value(json_object_get(v, "common_name"));
		const char *official = json_string_value(json_object_get(v, "official_name"));
		if (!a2 || strlen(a2) != 2 || !name || !*name) {
			json_decref(root);
			return pd_fail(
			    e, PD_E_CONFIG, "country",
			    _("%s: entry %zu of \"3166-1\" lacks a 2-letter alpha_2 or a name"),
			    path, i);
		}
		pd_country *c = &g->countries[g->n++];
		c->code[0] = (char)(a2[0] & ~0x20);
		c->code[1] = (char)(a2[1] & ~0x20);
		c->code[2] = 0;
		c->name_en = xstrdup(common && *common ? common : name);
		/* Search also matches the formal names ("Korea, Republic of",
		 * "Federal Republic of Germany"); c->key holds them until the
		 * French names are known. */
		c->key =
		    xasprintf("%s\t%s", common && *common ? name : "", official ? official : "");
	}
	json_decref(root);
	return PD_OK;
}

static pd_country *find_code(pd_geo *g, const char *cc)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcasecmp(g->countries[i].code, cc))
			return &g->countries[i];
	return NULL;
}

static bool has_str(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static pd_status load_zones(pd_geo *g, const char *path, bool required, pd_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (!required)
			return PD_OK;
		return pd_fail(e, PD_E_NOINPUT, "time_zone",
		               _("cannot read the time zone list %s: %s (install tzdata)"), path,
		               strerror(errno));
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	size_t cap_all = g->n_all_zones;
	pd_status st = PD_OK;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len || line[0] == '#')
			continue;
		char *save = NULL;
		char *codes = strtok_r(line, "\t", &save);
		char *coord = strtok_r(NULL, "\t", &save);
		char *tz = strtok_r(NULL, "\t", &save);
		if (!codes || !coord || !tz || !*tz) {
			st = pd_fail_line(e, PD_E_CONFIG, lineno, "time_zone",
			                  _("%s:%d: expected 'code<TAB>coordinates<TAB>zone'"),
			                  path, lineno);
			break;
		}
		if (!has_str(g->all_zones, g->n_all_zones, tz)) {
			if (g->n_all_zones == cap_all) {
				cap_all = cap_all ? cap_all * 2 : 512;
				g->all_zones = xrealloc(g->all_zones, cap_all * sizeof(char *));
			}
			g->all_zones[g->n_all_zones++] = xstrdup(tz);
		}
		char *csave = NULL;
		for (char *cc = strtok_r(codes, ",", &csave); cc;
		     cc = strtok_r(NULL, ",", &csave)) {
			pd_country *c = find_code(g, cc);
			if (!c || has_str(c->zones, c->n_zones, tz))
				continue;
			/* zone1970.tab only adds to countries zone.tab left empty. */
			if (!required && c->n_zones && !has_str(c->zones, c->n_zones, tz))
				continue;
			c->zones = xrealloc(c->zones, (c->n_zones + 1) * sizeof(char *));
			c->zones[c->n_zones++] = xstrdup(tz);
		}
	}
	free(line);
	fclose(f);
	return st;
}

/* zone.tab lists a country's zones roughly east to west, so its first zone
 * is a poor default where most people live elsewhere (Lord Howe Island for
 * Australia, Kaliningrad for Russia, Simferopol for Ukraine). These are
 * preferences, not data: each applies only when tzdata lists that zone for
 * the country, and the zones themselves still come from the system. */
static const struct {
	const char *code, *zone;
} preferred_zone[] = {
    {"AU", "Australia/Sydney"},    {"BR", "America/Sao_Paulo"},
    {"CA", "America/Toronto"},     {"RU", "Europe/Moscow"},
    {"UA", "Europe/Kyiv"},         {"UA", "Europe/Kiev"},
    {"UZ", "Asia/Tashkent"},       {"EC", "America/Guayaquil"},
    {"ES", "Europe/Madrid"},       {"PT", "Europe/Lisbon"},
    {"CN", "Asia/Shanghai"},       {"ID", "Asia/Jakarta"},
    {"MX", "America/Mexico_City"}, {"AR", "America/Argentina/Buenos_Aires"},
};

static void apply_preferred_zones(pd_geo *g)
{
	for (size_t i = 0; i < sizeof preferred_zone / sizeof preferred_zone[0]; i++) {
		pd_country *c = find_code(g, preferred_zone[i].code);
		for (size_t z = 1; c && z < c->n_zones; z++)
			if (!strcmp(c->zones[z], preferred_zone[i].zone)) {
				char *tmp = c->zones[z];
				memmove(&c->zones[1], &c->zones[0], z * sizeof(char *));
				c->zones[0] = tmp;
				break;
			}
	}
}

/* ---- supported locales (docs/architecture.md "Locale per customer") ---- */

/* The usual locale of the reseller's main countries, and of those whose first
 * supported locale in alphabetical order is not the usual one (Belgium's
 * de_BE before fr_BE). An entry
 * counts only when the system supports it. */
static const struct {
	char code[3];
	const char *locale;
} country_locale[] = {
    {"FR", "fr_FR"}, {"BE", "fr_BE"}, {"CH", "de_CH"}, {"GB", "en_GB"}, {"US", "en_US"},
    {"DE", "de_DE"}, {"ES", "es_ES"}, {"IT", "it_IT"}, {"LU", "fr_LU"}, {"MC", "fr_MC"},
    {"CA", "en_CA"}, {"AT", "de_AT"}, {"NL", "nl_NL"}, {"PT", "pt_PT"}, {"IE", "en_IE"},
    {"IN", "en_IN"}, {"ZA", "en_ZA"}, {"SG", "en_SG"}, {"MA", "fr_MA"}, {"SN", "fr_SN"},
};

/* "fr_FR.UTF-8", "fr_FR", "fr-fr" → "fr_FR" in out; false when it is not a
 * language (2-3 letters) and a territory (2 letters); a modifier (@euro) is
 * not a customer's locale. */
static bool locale_normalize(const char *in, char out[8])
{
	size_t n = strcspn(in, ".");
	size_t l = 0;
	while (l < n && ((in[l] >= 'a' && in[l] <= 'z') || (in[l] >= 'A' && in[l] <= 'Z')))
		l++;
	if (l < 2 || l > 3 || l + 3 != n || (in[l] != '_' && in[l] != '-'))
		return false;
	for (size_t i = 0; i < l; i++)
		out[i] = (char)(in[i] | 0x20);
	out[l] = '_';
	for (size_t i = 0; i < 2; i++) {
		char c = in[l + 1 + i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		out[l + 1 + i] = (char)(c & ~0x20);
	}
	out[n] = '\0';
	/* after the name: nothing, or a codeset of letters, digits and '-' */
	if (in[n] == '.') {
		const char *p = in + n + 1;
		if (!*p || strlen(p) > 16)
			return false;
		for (; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-'))
				return false;
	}
	return true;
}

static void locales_add(pd_geo *g, size_t *cap, const char *name)
{
	if (g->n_locales == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		g->locales = xrealloc(g->locales, *cap * sizeof(char *));
	}
	g->locales[g->n_locales++] = xstrdup(name);
}

/* glibc's list of the locales this system can generate (one "name charset"
 * a line). Without it (no `locales` package), the defaults of the table
 * above and en_US, so a customer still gets a sensible one. */
static void load_locales(pd_geo *g, const char *path)
{
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		char name[8];
		line[strcspn(line, " \t\r\n")] = '\0';
		if (strlen(line) < 64 && !strchr(line, '@') && locale_normalize(line, name))
			locales_add(g, &cap, name);
	}
	if (f)
		fclose(f);
	if (!g->n_locales) {
		for (size_t i = 0; i < sizeof country_locale / sizeof country_locale[0]; i++)
			locales_add(g, &cap, country_locale[i].locale);
	}
	qsort(g->locales, g->n_locales, sizeof(char *), cmp_str);
	size_t w = 0;
	for (size_t i = 0; i < g->n_locales; i++) {
		if (w && !strcmp(g->locales[w - 1], g->locales[i]))
			free(g->locales[i]);
		else
			g->locales[w++] = g->locales[i];
	}
	g->n_locales = w;
	if (!pd_geo_locale_supported(g, "en_US")) {
		locales_add(g, &cap, "en_US");
		qsort(g->locales, g->n_locales, sizeof(char *), cmp_str);
	}
}

size_t pd_geo_locale_count(const pd_geo *g)
{
	return g ? g->n_locales : 0;
}

const char *pd_geo_locale_at(const pd_geo *g, size_t i)
{
	return g && i < g->n_locales ? g->locales[i] : NULL;
}

bool pd_geo_locale_supported(const pd_geo *g, const char *name)
{
	if (!g || !name)
		return false;
	return bsearch(&name, g->locales, g->n_locales, sizeof(char *), cmp_str) != NULL;
}

bool pd_locale_normalize(const char *in, char out[8])
{
	return in && strlen(in) < 64 && locale_normalize(in, out);
}

const char *pd_geo_default_locale(const pd_geo *g, const char *country)
{
	if (!g || !country || strlen(country) != 2)
		return "en_US";
	char cc[3] = {(char)(country[0] & ~0x20), (char)(country[1] & ~0x20), '\0'};
	for (size_t i = 0; i < sizeof country_locale / sizeof country_locale[0]; i++)
		if (!strcmp(country_locale[i].code, cc) &&
		    pd_geo_locale_supported(g, country_locale[i].locale))
			return country_locale[i].locale;
	for (size_t i = 0; i < g->n_locales; i++) {
		const char *u = strchr(g->locales[i], '_');
		if (u && !strcmp(u + 1, cc))
			return g->locales[i];
	}
	return "en_US";
}

pd_status pd_geo_load(const char *iso_dir, const char *locale_dir, const char *zoneinfo_dir,
                      pd_geo **out, pd_err *e)
{
	pd_geo *g = xcalloc(1, sizeof *g);
	char *iso = xasprintf("%s/json/iso_3166-1.json", iso_dir);
	char *mo_path = xasprintf("%s/fr/LC_MESSAGES/iso_3166-1.mo", locale_dir);
	char *ztab = xasprintf("%s/zone.tab", zoneinfo_dir);
	char *z1970 = xasprintf("%s/zone1970.tab", zoneinfo_dir);
	mo_file mo = {0};
	pd_status st = load_iso(g, iso, e);
	if (st == PD_OK)
		st = mo_open(mo_path, &mo, e);
	if (st == PD_OK) {
		for (size_t i = 0; i < g->n; i++) {
			pd_country *c = &g->countries[i];
			const char *fr = mo_lookup(&mo, c->name_en);
			char *formal = xstrndup(c->key, strcspn(c->key, "\t"));
			if (!fr && *formal)
				fr = mo_lookup(&mo, formal);
			free(formal);
			c->name_fr = xstrdup(fr ? fr : c->name_en);
			char *text =
			    xasprintf("%s\t%s\t%s\t%s", c->code, c->name_en, c->name_fr, c->key);
			free(c->key);
			c->key = pd_fold_key(text);
			if (!c->key)
				c->key = xstrdup(c->code);
			free(text);
		}
		st = load_zones(g, ztab, true, e);
	}
	if (st == PD_OK)
		st = load_zones(g, z1970, false, e);
	if (st == PD_OK)
		apply_preferred_zones(g);
	free(mo.data);
	free(iso);
	free(mo_path);
	free(ztab);
	free(z1970);
	if (st != PD_OK) {
		pd_geo_free(g);
		*out = NULL;
		return st;
	}
	qsort(g->countries, g->n, sizeof *g->countries, cmp_country);
	qsort(g->all_zones, g->n_all_zones, sizeof(char *), cmp_str);
	g->zoneinfo_dir = xstrdup(zoneinfo_dir);
	load_locales(g, env_or("PROVDESK_SUPPORTED_LOCALES", "/usr/share/i18n/SUPPORTED"));
	g->fold_en = xcalloc(g->n, sizeof(char *));
	g->fold_fr = xcalloc(g->n, sizeof(char *));
	for (size_t i = 0; i < g->n; i++) {
		g->fold_en[i] = pd_fold_key(g->countries[i].name_en);
		g->fold_fr[i] = pd_fold_key(g->countries[i].name_fr);
		int k = code_index(g->countries[i].code);
		if (k >= 0 && !g->by_code[k]) /* the first, as the scan found */
			g->by_code[k] = (uint16_t)(i + 1);
	}
	*out = g;
	return PD_OK;
}

/* ---- the process-wide instance ---- */

static pthread_once_t geo_once = PTHREAD_ONCE_INIT;
static pd_geo *geo_global;
static pd_err geo_err;

static void geo_free_global(void)
{
	pd_geo_free(geo_global);
	geo_global = NULL;
}

static void geo_init(void)
{
	pd_geo_load(env_or("PROVDESK_ISO_CODES_DIR", "/usr/share/iso-codes"),
	            env_or("PROVDESK_LOCALE_DIR", "/usr/share/locale"),
	            env_or("PROVDESK_ZONEINFO_DIR", "/usr/share/zoneinfo"), &geo_global, &geo_err);
	/* Freed at exit so leak checkers see a clean process. */
	if (geo_global)
		atexit(geo_free_global);
}

pd_status pd_geo_get(const pd_geo **out, pd_err *e)
{
	pthread_once(&geo_once, geo_init);
	if (!geo_global) {
		if (e)
			*e = geo_err;
		*out = NULL;
		return geo_err.status ? geo_err.status : PD_E_INTERNAL;
	}
	*out = geo_global;
	return PD_OK;
}

/* ---- the codes alone ----
 * The catalogue checks its product types' country codes at every start; the
 * whole list (French names, zones, folded keys) is only loaded by the
 * commands that show or check a country (pd_geo_get). */

static pthread_once_t codes_once = PTHREAD_ONCE_INIT;
static bool codes_ok;
static unsigned char codes_known[26 * 26];

/* The "alpha_2" members of the JSON file, read as text: parsing the whole
 * document with jansson cost 8 M instructions, a fifth of a short command.
 * A file where none is found counts as no list (the full load decides). */
static void codes_init(void)
{
	char *path = xasprintf("%s/json/iso_3166-1.json",
	                       env_or("PROVDESK_ISO_CODES_DIR", "/usr/share/iso-codes"));
	size_t len = 0;
	char *text = NULL;
	if (pd_read_file(path, 16u << 20, &text, &len) != 0) {
		free(text);
		text = NULL;
	}
	free(path);
	static const char key[] = "\"alpha_2\"";
	size_t found = 0;
	for (const char *p = text, *end = text + (text ? len : 0);
	     p && (p = memmem(p, (size_t)(end - p), key, sizeof key - 1)) != NULL;) {
		p += sizeof key - 1;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p >= end || *p != ':')
			continue;
		p++;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (end - p < 4 || p[0] != '"' || p[3] != '"')
			continue;
		int c0 = p[1] & ~0x20, c1 = p[2] & ~0x20;
		if (c0 >= 'A' && c0 <= 'Z' && c1 >= 'A' && c1 <= 'Z') {
			codes_known[(c0 - 'A') * 26 + (c1 - 'A')] = 1;
			found++;
		}
	}
	free(text);
	codes_ok = found > 0;
}

int pd_geo_code_known(const char *code)
{
	pthread_once(&codes_once, codes_init);
	if (!codes_ok)
		return -1;
	if (!code || strlen(code) != 2)
		return 0;
	int c0 = code[0] & ~0x20, c1 = code[1] & ~0x20;
	if (c0 < 'A' || c0 > 'Z' || c1 < 'A' || c1 > 'Z')
		return 0;
	return codes_known[(c0 - 'A') * 26 + (c1 - 'A')];
}

/* ---- queries ---- */

size_t pd_geo_count(const pd_geo *g)
{
	return g ? g->n : 0;
}

const pd_country *pd_geo_at(const pd_geo *g, size_t i)
{
	return g && i < g->n ? &g->countries[i] : NULL;
}

const pd_country *pd_geo_country(const pd_geo *g, const char *code)
{
	if (!g || !code || strlen(code) != 2)
		return NULL;
	int k = code_index(code);
	return k >= 0 && g->by_code[k] ? &g->countries[g->by_code[k] - 1] : NULL;
}

const char *pd_geo_country_name(const pd_country *c)
{
	/* TRANSLATORS: the two-letter code of this translation's language
	 * ("fr"); it chooses the language of country names */
	return strcmp(_("en"), "fr") == 0 ? c->name_fr : c->name_en;
}

/* 0 exact code, 1 name prefix, 2 word prefix in a name, 3 substring; -1 none. */
static int match_rank(const pd_geo *g, size_t idx, const char *q)
{
	const pd_country *c = &g->countries[idx];
	size_t qn = strlen(q);
	if (qn == 2 && !strcasecmp(c->code, q))
		return 0;
	const char *names[2] = {g->fold_en[idx], g->fold_fr[idx]};
	int rank = -1;
	for (int i = 0; i < 2 && rank != 1; i++) {
		const char *n = names[i];
		if (!n)
			continue;
		if (!strncmp(n, q, qn)) {
			rank = 1;
			break;
		}
		for (const char *p = strstr(n, q); p; p = strstr(p + 1, q)) {
			bool word = p > n &&
			            (p[-1] == ' ' || p[-1] == '-' || p[-1] == '(' || p[-1] == '\'');
			int r = word ? 2 : 3;
			if (rank < 0 || r < rank)
				rank = r;
		}
	}
	if (rank < 0 && strstr(c->key, q))
		rank = 3;
	return rank;
}

size_t pd_geo_search(const pd_geo *g, const char *query, const pd_country **out, size_t max)
{
	if (!g || !max)
		return 0;
	char *q = query ? pd_fold_key(query) : xstrdup("");
	if (!q)
		return 0;
	char *t = pd_trim(q);
	free(q);
	q = t;
	size_t found = 0;
	for (int want = 0; want <= 3 && found < max; want++)
		for (size_t i = 0; i < g->n && found < max; i++) {
			int r = *q ? match_rank(g, i, q) : 1;
			if (r == want)
				out[found++] = &g->countries[i];
		}
	free(q);
	return found;
}

bool pd_geo_zone_valid(const pd_geo *g, const char *tz)
{
	if (!g || !tz || !*tz || tz[0] == '/' || strlen(tz) > 128 || strstr(tz, ".."))
		return false;
	for (const char *p = tz; *p; p++)
		if (!(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("/_+-", *p))
			return false;
	char *const *hit = bsearch(&tz, g->all_zones, g->n_all_zones, sizeof(char *), cmp_str);
	if (hit)
		return true;
	/* Also accept zones outside zone.tab that tzdata ships (UTC, Etc/GMT+1,
	 * backward links such as Europe/Kiev): a real TZif file. */
	char *path = xasprintf("%s/%s", g->zoneinfo_dir, tz);
	bool ok = false;
	FILE *f = fopen(path, "rb");
	if (f) {
		char magic[4];
		struct stat st;
		ok = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
		     fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
		fclose(f);
	}
	free(path);
	return ok;
}

bool pd_country_has_zone(const pd_country *c, const char *tz)
{
	return c && tz && has_str(c->zones, c->n_zones, tz);
}
