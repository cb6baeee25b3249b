/* Test helper for the console's Users tab: runs the store's real one-way
 * user sync (store_sync_users, the call the PBX monitor makes) for one
 * customer, with users given on the command line. The lab PBX's AMI has no
 * email for an endpoint, so this is how a screen test gets synced users that
 * link to console users by email.
 *   sync_fixture DB CUSTOMER ENDPOINT|NAME|EMAIL...   (EMAIL may be empty)
 * Prints "added N updated N removed N"; exit 0, or 1 with the error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/catalogue.h"
#include "provdesk/store.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DB CUSTOMER ENDPOINT|NAME|EMAIL...\n", argv[0]);
		return 64;
	}
	pd_err e = {0};
	pd_catalogue cat;
	const char *dd = getenv("PROVDESK_DATADIR");
	char path[1024];
	snprintf(path, sizeof path, "%s/catalogue.json", dd ? dd : "data");
	if (pd_catalogue_load(path, &cat, &e) != PD_OK) {
		fprintf(stderr, "catalogue: %s\n", e.message);
		return 1;
	}
	pd_store_opts o = {.catalogue = &cat, .internal_systems_limit = 1, .busy_timeout_ms = 5000};
	pd_store *s = NULL;
	int rc = 1;
	pd_customer c = {0};
	size_t n = (size_t)argc - 3;
	pd_synced_user *u = calloc(n ? n : 1, sizeof *u);
	char **copies = calloc(n ? n : 1, sizeof *copies);
	if (!u || !copies)
		goto out;
	for (size_t i = 0; i < n; i++) {
		copies[i] = strdup(argv[3 + i]);
		char *name = strchr(copies[i], '|');
		char *email = name ? strchr(name + 1, '|') : NULL;
		if (!name || !email) {
			fprintf(stderr, "user %zu: expected ENDPOINT|NAME|EMAIL\n", i + 1);
			goto out;
		}
		*name++ = 0;
		*email++ = 0;
		u[i] = (pd_synced_user){.endpoint = copies[i],
		                        .display_name = name,
		                        .email = *email ? email : NULL,
		                        .device_state = "NOT_INUSE"};
	}
	if (store_open(argv[1], &o, &s, &e) != PD_OK ||
	    store_customer_find(s, argv[2], &c, &e) != PD_OK) {
		fprintf(stderr, "%s\n", e.message);
		goto out;
	}
	pd_sync_result r = {0};
	if (store_sync_users(s, c.id, u, n, false, &r, &e) != PD_OK) {
		fprintf(stderr, "sync: %s\n", e.message);
		goto out;
	}
	printf("added %d updated %d removed %d\n", r.added, r.updated, r.removed);
	rc = 0;
out:
	if (c.name)
		pd_customer_free(&c);
	if (s)
		store_close(s);
	for (size_t i = 0; copies && i < n; i++)
		free(copies[i]);
	free(copies);
	free(u);
	pd_catalogue_free(&cat);
	return rc;
}
