/* SQL functions of the schema's triggers (sql_functions.h). */
#include "sql_functions.h"

#include "provdesk/geo.h"
#include "provdesk/util.h"

static void sql_pd_now(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(cx, pd_now());
}

static void sql_pd_default_locale(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const pd_geo *g = NULL;
	pd_err e = {0};
	const char *cc = (const char *)sqlite3_value_text(argv[0]);
	const char *l = pd_geo_get(&g, &e) == PD_OK ? pd_geo_default_locale(g, cc) : "en_US";
	sqlite3_result_text(cx, l, -1, SQLITE_TRANSIENT);
}

int sql_functions_register(sqlite3 *db)
{
	int rc = sqlite3_create_function(db, "pd_now", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL,
	                                 sql_pd_now, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "pd_default_locale", 1,
		                             SQLITE_UTF8 | SQLITE_INNOCUOUS | SQLITE_DETERMINISTIC,
		                             NULL, sql_pd_default_locale, NULL, NULL);
	return rc;
}
