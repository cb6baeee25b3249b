/* SQL functions that the schema's triggers call (schema.c), registered on
 * every connection by store.c before anything is read or migrated. Below
 * both: the schema names them, the connection provides them, and neither
 * file reaches into the other for them. */
#ifndef PROVDESK_STORE_SQL_FUNCTIONS_H
#define PROVDESK_STORE_SQL_FUNCTIONS_H

#include <sqlite3.h>

/* pd_now(): the program's clock (src/core/clock.c) in unix seconds, so a
 * trigger dates a history row by the same clock as the code (tests pin it).
 * pd_default_locale(country): the country's default locale
 * (pd_geo_default_locale), so migration 12 gives existing customers the
 * locale a new one gets; en_US when the countries cannot be loaded. */
int sql_functions_register(sqlite3 *db);

#endif
