/* SQL functions of the schema's triggers (sql_functions.h). */
#include "sql_functions.h"

#include "provdesk/util.h"

static void sql_pd_now(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(cx, pd_now());
}

int sql_functions_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "pd_now", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL,
	                               sql_pd_now, NULL, NULL);
}
