/* Shared by the core tests: real temporary files and directories. */
#ifndef PD_TEST_CORE_HELPERS_H
#define PD_TEST_CORE_HELPERS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/util.h"

/* A fresh directory under $TMPDIR; removed by rm_tree at the end. */
static inline char *tmp_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/pdcore-XXXXXX", base && *base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp failed");
	return tmpl;
}

static inline char *write_file(const char *dir, const char *name, const char *content)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f, "cannot create %s", p);
	fputs(content, f);
	fclose(f);
	return p;
}

static inline void rm_tree(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int r = system(cmd);
	(void)r;
	free(cmd);
	free(dir);
}

/* The shipped catalogue, for suites that check records against it:
 * TestSuite(x, .init = cat_setup, .fini = cat_teardown). */
#ifdef PD_TEST_WITH_CATALOGUE
#include "provdesk/catalogue.h"
static pd_catalogue cat;

static inline void cat_setup(void)
{
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load_default(NULL, &cat, &e), PD_OK, "%s", e.message);
}

static inline void cat_teardown(void)
{
	pd_catalogue_free(&cat);
}
#endif

#define assert_contains(hay, needle)                                                               \
	cr_assert(strstr((hay), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), (hay))

#endif
