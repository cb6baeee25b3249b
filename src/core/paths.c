/* XDG directories and the data search path. An installed program reads its
 * data from the prefix it was built for (PD_INSTALL_DATADIR); a program run
 * from its build folder reads the source tree's (docs/architecture.md,
 * "Packaging"). */
#include "provdesk/paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pd_build_config.h"
#include "provdesk/util.h"

static char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return xstrdup(h);
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_dir)
		return xstrdup(res->pw_dir);
	return xstrdup("/");
}

/* XDG says a relative value must be ignored. */
static char *xdg_dir(const char *var, const char *fallback)
{
	const char *v = getenv(var);
	if (v && v[0] == '/')
		return xasprintf("%s/provdesk", v);
	char *home = home_dir();
	char *p = xasprintf("%s/%s/provdesk", strcmp(home, "/") ? home : "", fallback);
	free(home);
	return p;
}

char *pd_path_config_dir(void)
{
	return xdg_dir("XDG_CONFIG_HOME", ".config");
}

char *pd_path_data_dir(void)
{
	return xdg_dir("XDG_DATA_HOME", ".local/share");
}

char *pd_path_default_db(void)
{
	char *d = pd_path_data_dir();
	char *p = xasprintf("%s/provdesk.db", d);
	free(d);
	return p;
}

static char *try_path(const char *dir, const char *rel)
{
	if (!dir || !*dir)
		return NULL;
	char *p = xasprintf("%s/%s", dir, rel);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

bool pd_path_in_build_tree(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	size_t k = strlen(PD_BUILD_ROOT);
	return strncmp(exe, PD_BUILD_ROOT, k) == 0 && exe[k] == '/';
}

char *pd_path_find_data(const char *config_dir, const char *rel)
{
	char *p;
	if ((p = try_path(config_dir, rel)))
		return p;
	if ((p = try_path(getenv("PROVDESK_DATADIR"), rel)))
		return p;
	/* themes/ sits beside data/ in the source tree, under the data dir once installed */
	if ((p = try_path(getenv("PROVDESK_SOURCE_ROOT"), rel)))
		return p;
	if (pd_path_in_build_tree()) {
		/* before the installed copy: an older `meson install` of the same
		 * prefix must not shadow the tree being worked on */
		if ((p = try_path(PD_SOURCE_DATADIR, rel)) || (p = try_path(PD_SOURCE_ROOT, rel)))
			return p;
	}
	return try_path(PD_INSTALL_DATADIR, rel);
}

int pd_mkdir_p(const char *path, int mode)
{
	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
			int err = errno;
			free(p);
			errno = err;
			return -1;
		}
		*s = c;
		if (!c)
			break;
	}
	struct stat st;
	int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	if (!ok) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}
