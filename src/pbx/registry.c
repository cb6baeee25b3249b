/* The driver registry: which driver runs a platform of the catalogue. See
 * include/provdesk/pbx_driver.h and docs/architecture.md ("PBX layer"). */
#include <pthread.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"

/* One line per driver built in, keyed by its catalogue platform key. */
static const pd_driver_ops *const builtin[] = {
    &pd_ami_driver,
    &pd_esl_driver,
    &pd_xsi_driver,
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const pd_driver_ops *extra[PD_DRIVERS_EXTRA];
static size_t n_extra;

static const pd_driver_ops *find_locked(const char *platform)
{
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (!strcmp(builtin[i]->platform, platform))
			return builtin[i];
	for (size_t i = 0; i < n_extra; i++)
		if (!strcmp(extra[i]->platform, platform))
			return extra[i];
	return NULL;
}

const pd_driver_ops *pd_driver_find(const char *platform)
{
	if (!platform)
		return NULL;
	pthread_mutex_lock(&mu);
	const pd_driver_ops *o = find_locked(platform);
	pthread_mutex_unlock(&mu);
	return o;
}

pd_status pd_driver_register(const pd_driver_ops *ops, pd_err *e)
{
	if (!ops || !ops->platform || !*ops->platform || !ops->create)
		return pd_fail(e, PD_E_INVALID, "platform",
		               _("a driver needs a platform key and create"));
	pd_status st = PD_OK;
	pthread_mutex_lock(&mu);
	if (find_locked(ops->platform))
		st = pd_fail(e, PD_E_CONFLICT, "platform", _("platform %s has a driver already"),
		             ops->platform);
	else if (n_extra >= PD_DRIVERS_EXTRA)
		st = pd_fail(e, PD_E_INTERNAL, "platform",
		             _("no room for another driver (%d at most)"), PD_DRIVERS_EXTRA);
	else
		extra[n_extra++] = ops;
	pthread_mutex_unlock(&mu);
	return st;
}

void pd_drivers_mark_supported(pd_catalogue *cat)
{
	for (size_t i = 0; i < cat->n_platforms; i++)
		cat->platforms[i].supported = pd_driver_find(cat->platforms[i].key) != NULL;
}
