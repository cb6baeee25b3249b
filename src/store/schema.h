/* Forward migrations of the store's schema (schema.c). */
#ifndef PROVDESK_STORE_SCHEMA_H
#define PROVDESK_STORE_SCHEMA_H

/* Number of migrations == the schema version they build. */
int schema_migration_count(void);
/* SQL of the migration that produces version to_version (1-based). */
const char *schema_migration(int to_version);

#endif
