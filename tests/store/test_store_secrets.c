/* PBX secrets sealed at rest under "<database>.key" (src/store/secrets.c):
 * what the database file holds, what a copy without the key gives, the
 * key's mode, and a database written before secrets were sealed. */
#include "fixture.h"

TestSuite(secrets, .init = fx_setup_open, .fini = fx_teardown);

#define SECRET "Pbx-S3cret-at-rest"

static int64_t with_pbx(const char *name)
{
	int64_t c = fx_create(name);
	fx_add_ami_pbx_at(c, "pbx.example.net", 5038, SECRET, true, false);
	return c;
}

static char *stored_secret(int64_t c)
{
	pd_pbx p = {0};
	pd_err e = {0};
	cr_assert_eq(store_pbx_get(fx_s, c, true, &p, &e), PD_OK, "%s", e.message);
	char *s = p.secret ? xstrdup(p.secret) : NULL;
	pd_pbx_free(&p);
	return s;
}

static bool file_has(const char *path, const char *needle)
{
	size_t n = 0;
	char *data = tl_slurp(path, &n);
	bool hit = false;
	for (size_t i = 0; data && i + strlen(needle) <= n && !hit; i++)
		hit = !memcmp(data + i, needle, strlen(needle));
	free(data);
	return hit;
}

static void reopen(void)
{
	store_close(fx_s);
	fx_s = fx_open();
}

Test(secrets, sealed_in_the_file_and_read_back)
{
	int64_t c = with_pbx("Sealed Co");
	char *s = stored_secret(c);
	cr_assert_str_eq(s, SECRET);
	free(s);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM pbx WHERE secret LIKE 'enc1:%'"), 1);
	store_close(fx_s); /* everything on disk (WAL checkpointed) */
	fx_s = NULL;
	cr_assert_not(file_has(fx_db, SECRET), "the secret is in the database file");
	char key[600];
	snprintf(key, sizeof key, "%s.key", fx_db);
	struct stat sb;
	cr_assert_eq(stat(key, &sb), 0);
	cr_assert_eq(sb.st_size, 32);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	fx_s = fx_open();
	s = stored_secret(c);
	cr_assert_str_eq(s, SECRET, "the same key opens it after a reopen");
	free(s);
}

/* A copy of the database without its key: the secret cannot be read (the
 * connection then reports a configuration problem), nothing crashes. */
Test(secrets, the_database_alone_gives_no_secret)
{
	int64_t c = with_pbx("Copied Co");
	store_close(fx_s);
	fx_s = NULL;
	char key[600];
	snprintf(key, sizeof key, "%s.key", fx_db);
	cr_assert_eq(unlink(key), 0);
	fx_s = fx_open(); /* a new key is made for new secrets */
	char *s = stored_secret(c);
	cr_assert_null(s, "a secret was read without its key: %s", s);
	/* a secret entered again is sealed with the new key */
	pd_pbx p = {0};
	pd_err e = {0};
	cr_assert_eq(store_pbx_get(fx_s, c, true, &p, &e), PD_OK);
	p.secret = xstrdup("new-" SECRET);
	cr_assert_eq(store_pbx_update(fx_s, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	s = stored_secret(c);
	cr_assert_str_eq(s, "new-" SECRET);
	free(s);
}

/* A database from before sealing: its clear secrets are sealed on the next
 * read-write open and still read the same. */
Test(secrets, clear_secrets_of_an_older_version_are_sealed_on_open)
{
	int64_t c = with_pbx("Legacy Co");
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(
	    sqlite3_exec(db, "UPDATE pbx SET secret = 'legacy-clear-secret'", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	char *s = stored_secret(c);
	cr_assert_str_eq(s, "legacy-clear-secret", "a clear value reads as is");
	free(s);
	reopen();
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM pbx WHERE secret LIKE 'enc1:%'"), 1);
	s = stored_secret(c);
	cr_assert_str_eq(s, "legacy-clear-secret");
	free(s);
}

/* A key others may read, or a file that is not a key: refused, naming it. */
Test(secrets, bad_key_files_are_refused_naming_them)
{
	with_pbx("Key Co");
	store_close(fx_s);
	fx_s = NULL;
	char key[600];
	snprintf(key, sizeof key, "%s.key", fx_db);
	cr_assert_eq(chmod(key, 0644), 0);
	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_CONFIG);
	cr_assert(strstr(e.message, key) && strstr(e.message, "readable by others"), "%s",
	          e.message);
	cr_assert_eq(chmod(key, 0600), 0);
	FILE *f = fopen(key, "ab");
	fputs("x", f);
	fclose(f);
	pd_err_clear(&e);
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_CONFIG);
	cr_assert(strstr(e.message, "not a provdesk key (33 bytes, expected 32)"), "%s", e.message);
}
