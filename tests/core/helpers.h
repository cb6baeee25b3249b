/* Shared by the core tests: real temporary files and directories. */
#ifndef PD_TEST_CORE_HELPERS_H
#define PD_TEST_CORE_HELPERS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/util.h"
#include "testlib.h" /* tests/lib */

/* A fresh directory under $TMPDIR; removed by rm_tree at the end. */
static inline char *tmp_dir(void)
{
	char *d = tl_tmpdir("pdcore");
	cr_assert_not_null(d, "mkdtemp failed");
	return d;
}

static inline char *write_file(const char *dir, const char *name, const char *content)
{
	char *p = tl_write_file(dir, name, content);
	cr_assert_not_null(p, "cannot create %s/%s", dir, name);
	return p;
}

static inline void rm_tree(char *dir)
{
	tl_rmrf(dir);
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
