/* provdesk.conf (docs/user-guide.md, Configuration), read with inih. Unknown keys and bad values
 * are errors naming the file and line; the program refuses to start on them. */
#ifndef PROVDESK_CONFIG_H
#define PROVDESK_CONFIG_H

#include <stdbool.h>

#include "provdesk/error.h"

#define PD_PBX_DEFAULT_MAX_CALLS 5000
#define PD_PBX_DEFAULT_MAX_CHANNELS 10000
#define PD_PBX_DEFAULT_MAX_CALL_AGE 86400
#define PD_PBX_DEFAULT_MAX_MESSAGE_KB 1024
#define PD_PBX_DEFAULT_MAX_USERS 20000

typedef enum { PD_STARTTLS_OFF, PD_STARTTLS_TRY, PD_STARTTLS_REQUIRED } pd_starttls;

/* [pbx] ping_interval when the file does not set it, in seconds: a Ping
 * every so often on an idle link (also what a one-off connection uses). */
#define PD_PBX_PING_INTERVAL_DEFAULT 20

#define PD_SERVE_RESYNC_INTERVAL_DEFAULT 3600
#define PD_SERVE_IDLE_EXIT_DEFAULT 30

typedef struct {
	char *path;       /* the file read, or NULL when only defaults */
	char *config_dir; /* directory of the config file (for catalogue/themes overrides) */
	char *db_path;    /* [database] path; default pd_path_default_db() */
	char *smtp_url;   /* NULL/"" = invitations wait in the outbox */
	pd_starttls smtp_starttls;
	char *smtp_from;
	char *smtp_username;
	char *smtp_password_file;
	int trial_default_days;     /* 30 */
	int internal_systems_limit; /* 1 */
	int import_max_mb;          /* 64: a larger CSV is refused before it is read */
	int pbx_ping_interval;      /* PD_PBX_PING_INTERVAL_DEFAULT */
	int pbx_backoff_max;        /* 60 s */
	/* A PBX is untrusted input: what one link may hold. Past the caps new
	 * calls/channels are dropped and counted; a call whose hangup never came
	 * leaves after max_call_age seconds; a larger AMI message is a protocol
	 * error (reconnect). */
	int pbx_max_calls;      /* max_calls_per_link, 5000 */
	int pbx_max_channels;   /* max_channels_per_link, 10000 */
	int pbx_max_users;      /* max_users_per_link, 20000: a larger directory is not synced */
	int pbx_max_call_age;   /* max_call_age, 86400 s */
	int pbx_max_message_kb; /* max_message_kb, 1024 */
	char *ui_theme;         /* "default" */
	bool ui_mouse;          /* [ui] mouse = on (default) / off */
	/* [invitations]: the platform's activation page; the invitation links
	 * to it with a one-time token. NULL = the mail says there is no link. */
	char *invite_activation_url;
	int invite_token_days; /* 7: how long the token works */
	/* [api]: the HTTP API of provdesk serve (include/provdesk/api.h); off
	 * while listen is NULL. cert/key: PEM files (the key 0600, as
	 * smtp.password_file); allow_plain: plain HTTP, loopback only. */
	char *api_listen;
	char *api_cert;
	char *api_key;
	bool api_allow_plain;
	/* [serve] (docs/architecture.md, "provdesk serve"): the daemon resyncs
	 * every enabled PBX with user sync on every resync_interval seconds
	 * (0 = never); started --auto, it exits idle_exit seconds after the last
	 * client left. */
	int serve_resync_interval; /* PD_SERVE_RESYNC_INTERVAL_DEFAULT, 0 to 604800 */
	int serve_idle_exit;       /* PD_SERVE_IDLE_EXIT_DEFAULT, 1 to 86400 */
} pd_config;

/* path NULL: XDG config dir / provdesk.conf if it exists, else defaults.
 * A path given explicitly must exist (PD_E_NOINPUT otherwise). */
pd_status pd_config_load(const char *path, pd_config *out, pd_err *e);
/* Same from text in memory (`name` stands for the file in messages; path
 * stays NULL). Used by the fuzzer and for built-in configurations. */
pd_status pd_config_load_string(const char *name, const char *text, pd_config *out, pd_err *e);
void pd_config_defaults(pd_config *c);
void pd_config_free(pd_config *c);
/* Reads the SMTP password from smtp_password_file (trailing newline removed).
 * Returns NULL with *e filled if unreadable; NULL and PD_OK if none set. */
char *pd_config_smtp_password(const pd_config *c, pd_err *e);

#endif
