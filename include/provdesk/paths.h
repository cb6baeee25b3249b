/* Where things live: XDG directories and the data/theme search path. */
#ifndef PROVDESK_PATHS_H
#define PROVDESK_PATHS_H

#include <stdbool.h>

/* $XDG_CONFIG_HOME/provdesk (default ~/.config/provdesk). Caller frees. */
char *pd_path_config_dir(void);
/* $XDG_DATA_HOME/provdesk (default ~/.local/share/provdesk). Caller frees. */
char *pd_path_data_dir(void);
/* Default database: data dir / provdesk.db. Caller frees. */
char *pd_path_default_db(void);
/* First existing of: config_dir/rel (if config_dir), $PROVDESK_DATADIR/rel,
 * $PROVDESK_SOURCE_ROOT/rel, then, only for a program run from its build
 * folder (pd_path_in_build_tree), the source tree's data/rel and rel at its
 * root (themes/), and last the installed data dir/rel (prefix/share/provdesk,
 * fixed at configure time). rel is e.g. "catalogue.json" or
 * "themes/default.theme". Returns NULL when none exists. Caller frees. */
char *pd_path_find_data(const char *config_dir, const char *rel);
/* True when the running executable lies in the build folder it was
 * compiled in (not installed). */
bool pd_path_in_build_tree(void);
/* mkdir -p with the given mode. 0 on success, -1 with errno. */
int pd_mkdir_p(const char *path, int mode);

#endif
