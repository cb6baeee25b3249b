/* Countries (ISO 3166-1 from Debian iso-codes, names in English and French)
 * and their IANA time zones (tzdata zone.tab). Loaded once, read-only after. */
#ifndef PROVDESK_GEO_H
#define PROVDESK_GEO_H

#include <stdbool.h>
#include <stddef.h>

#include "provdesk/error.h"

typedef struct {
	char code[3];  /* "FR" */
	char *name_en; /* "France" */
	char *name_fr; /* "France"; "Allemagne" for DE */
	char *key;     /* pd_fold_key of "code name_en name_fr", for search */
	char **zones;  /* IANA zones, the first is the default */
	size_t n_zones;
} pd_country;

typedef struct pd_geo pd_geo;

/* Loads from the system files (paths overridable by PROVDESK_ISO_CODES_DIR,
 * PROVDESK_LOCALE_DIR, PROVDESK_ZONEINFO_DIR for tests). Thread-safe, loaded
 * once; freed at exit. A missing file is PD_E_NOINPUT, a corrupt one
 * PD_E_CONFIG; the message names the file. */
pd_status pd_geo_get(const pd_geo **out, pd_err *e);
/* Whether the system's country list (the file pd_geo_get reads first) has
 * this alpha-2 code, case-insensitive, without loading names and zones:
 * 1 yes, 0 no, -1 the list is unavailable. Thread-safe, read once. */
int pd_geo_code_known(const char *code);
/* A private instance from explicit directories: iso_dir/json/iso_3166-1.json,
 * locale_dir/fr/LC_MESSAGES/iso_3166-1.mo, zoneinfo_dir/zone.tab (+ zone1970.tab). */
pd_status pd_geo_load(const char *iso_dir, const char *locale_dir, const char *zoneinfo_dir,
                      pd_geo **out, pd_err *e);
void pd_geo_free(pd_geo *g);

size_t pd_geo_count(const pd_geo *g);
const pd_country *pd_geo_at(const pd_geo *g, size_t i); /* sorted by English name */
/* Exact alpha-2 code, case-insensitive. */
const pd_country *pd_geo_country(const pd_geo *g, const char *code);
/* The country's name in the language messages are shown in: French under a
 * French translation, else English. It follows gettext's own choice
 * (LANGUAGE, LC_MESSAGES, a thread's uselocale), not a guess from LANG. */
const char *pd_geo_country_name(const pd_country *c);
/* Type-ahead: case/accent-insensitive substring of the code, the English or
 * the French name ("allem" finds DE). Exact code or name prefix first.
 * Returns the number found (at most max). */
size_t pd_geo_search(const pd_geo *g, const char *query, const pd_country **out, size_t max);
/* A known IANA zone name (present in zoneinfo). */
bool pd_geo_zone_valid(const pd_geo *g, const char *tz);
/* The zone belongs to the country's list. */
bool pd_country_has_zone(const pd_country *c, const char *tz);

/* ---- locales (docs/architecture.md "Locale per customer") ----
 * The system's supported locales (glibc's /usr/share/i18n/SUPPORTED, path
 * overridable by PROVDESK_SUPPORTED_LOCALES), read once with the countries,
 * as "ll_CC" (language, territory; no codeset, no modifier), sorted. */
size_t pd_geo_locale_count(const pd_geo *g);
const char *pd_geo_locale_at(const pd_geo *g, size_t i);
bool pd_geo_locale_supported(const pd_geo *g, const char *name); /* "fr_FR" */
/* "fr_FR.UTF-8", "fr-fr", "FR_fr" → "fr_FR"; false when not of that shape. */
bool pd_locale_normalize(const char *in, char out[8]);
/* The country's default locale (language and number format): the usual one
 * (FR fr_FR, BE fr_BE, CH de_CH, GB en_GB, …) when supported, else the
 * country's first supported locale, else en_US. Never NULL. */
const char *pd_geo_default_locale(const pd_geo *g, const char *country);

#endif
