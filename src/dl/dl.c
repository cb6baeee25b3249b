/* Libraries loaded on first use (include/provdesk/dl.h). */
#include "provdesk/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "provdesk/i18n.h"

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

static void open_lib(pd_dl_lib *lib)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(lib->why, sizeof lib->why, "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < lib->n; i++) {
		dlerror();
		void *f = dlsym(h, lib->names[i]);
		if (!f) {
			const char *why = dlerror();
			snprintf(lib->why, sizeof lib->why, "%s", why ? why : lib->names[i]);
			dlclose(h);
			return;
		}
		lib->fns[i] = f;
	}
	lib->ok = true; /* never closed: its functions may run until exit */
}

bool pd_dl_load(pd_dl_lib *lib, pd_err *e)
{
	if (!__atomic_load_n(&lib->tried, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&dl_lock);
		if (!lib->tried) {
			open_lib(lib);
			__atomic_store_n(&lib->tried, true, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&dl_lock);
	}
	if (lib->ok)
		return true;
	pd_fail(e, PD_E_UNAVAILABLE, NULL, _("%s could not be loaded: %s"), lib->soname, lib->why);
	return false;
}
