/* provdesk lab-pbx: run the built-in lab PBX in the foreground until
 * SIGINT/SIGTERM/SIGHUP. The secret comes from --secret-file (never the
 * command line) and is never printed; the default is documented in --help. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/labpbx.h"
#include "provdesk/util.h"

/* a help text, not a format ("N% of"): */
static const char help_lab[] = /* xgettext:no-c-format */ N_(
    "Usage: provdesk lab-pbx [--platform P] [--listen HOST:PORT] [--username U] [--secret-file F]\n"
    "                        [--users N] [--queues N] [--sites N] [--call-rate PER_MIN]\n"
    "                        [--seed N] [--faults LIST] [--fault-period SECONDS] [--legacy-sip]\n"
    "                        [--no-voicemail] [--tls-cert FILE --tls-key FILE] [--json]\n"
    "                        [--ring SECONDS] [--talk SECONDS] [--wrapup SECONDS]\n"
    "                        [--calls-up N] [--pause-in-call EXT:REASON] [--direct-pct N]\n"
    "                        [--ack-timeout SECONDS] [--self-signed DIR] [--group-admin G]\n"
    "                        [--grant-expires SECONDS] [--latency MS]\n"
    "A PBX that speaks the Asterisk Manager Interface (AMI) like Asterisk 22, for labs\n"
    "and demos. Defaults: --listen 127.0.0.1:5038, --username admin, secret \"lab-secret\"\n"
    "(use --secret-file to set another), 20 users (1001...), 2 queues, 1 site,\n"
    "4 calls per minute. --faults: drop, half-open, slow, bytewise, garbage, restart or all,\n"
    "and the hostile ones flood (Newchannel without hangups for 5 s), huge (one 16 MB\n"
    "event), ctrl (control bytes in headers), bidi (bidi override/C1/ESC in a name) or\n"
    "hostile, comma separated, one fired every --fault-period seconds (default 30).\n"
    "--legacy-sip: behave like an Asterisk 13-16 with chan_sip only (SIPpeers, SIPshowpeer,\n"
    "SIP/ channels; the PJSIP actions are unknown commands).\n"
    "Every user has a mailbox (VoicemailUsersList) with its name and an email\n"
    "first.last@lab.example (none for the numbers ending in 7); --no-voicemail: an\n"
    "Asterisk without app_voicemail (VoicemailUsersList is an unknown command).\n"
    "--tls-cert/--tls-key: listen with TLS (PEM files), as Asterisk's tlsenable=yes.\n"
    "--self-signed DIR: listen with TLS with a new self-signed certificate written to\n"
    "DIR/lab.pem (its key to DIR/lab.key): give DIR/lab.pem to the connection as its TLS\n"
    "CA file.\n"
    "--platform: asterisk-ami (asterisk, the default) or freeswitch-esl (freeswitch): a\n"
    "FreeSWITCH 1.10 event socket with mod_callcenter (default --listen 127.0.0.1:8021,\n"
    "password \"ClueCon\" or the --secret-file; --username is not used), the same users,\n"
    "queues, calls and faults; --sites N makes N domains (default, site-2, ...);\n"
    "--legacy-sip, --no-voicemail and TLS are Asterisk-only.\n"
    "--ring: how long an agent's phone rings before it answers (default 2); --talk: the\n"
    "mean talk time (default 30); --wrapup: the queues' wrap-up time (default 5, 0 = none;\n"
    "as in Asterisk it is on no event: the PBX form's wrap-up time tells the console).\n"
    "--calls-up N: N queue calls already answered when the lab starts (a console finds\n"
    "them with CoreShowChannels and QueueStatus, or each user's Xsi calls).\n"
    "--pause-in-call 1001:Lunch: that extension is paused with that reason as soon as it\n"
    "answers a queue call.\n"
    "--direct-pct N: N% of the inbound calls ring a user's phone directly, not through a\n"
    "queue (Asterisk and BroadWorks).\n"
    "--latency MS: every byte the lab sends leaves MS milliseconds after it was written,\n"
    "as from a PBX that far away (any platform; default 0, at most 10000).\n"
    "--platform broadworks-xsi (broadworks): a Cisco BroadWorks XSP speaking Xsi-Actions\n"
    "and Xsi-Events over HTTP (default --listen 127.0.0.1:8080, or 127.0.0.1:8443 with\n"
    "--tls-cert/--tls-key: HTTPS), Basic auth with --username and the secret, enterprise\n"
    "\"lab-ent\", groups group-1... (one per --sites), users N@lab.example, the queues as\n"
    "call centers (support@lab.example...). Its own faults: heartbeat-404 (the XSP\n"
    "forgets the channels), channel-end (ChannelTerminatedEvent), sub-end\n"
    "(SubscriptionTerminatedEvent) or xsi; garbage is written inside the event stream.\n"
    "--ack-timeout: an event left unacknowledged this long ends its channel (default 10).\n"
    "--grant-expires: the longest expiry granted to a channel or subscription; one not\n"
    "refreshed in time is ended (default: the hour asked).\n"
    "--group-admin group-2: the user administers that group only (the enterprise\n"
    "directory, enterprise subscriptions and other groups answer 403).\n"
    "SIGUSR1 prints the successful logins so far and the sessions logged in now\n"
    "(\"logins: N, sessions: M\"; with --json {\"logins\": N, \"sessions\": M}).\n");

static int parse_listen(pd_cli *c, const char *s, char **host, int *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return pd_cli_usage_field(c, "listen", _("--listen: expected HOST:PORT, got '%s'"),
		                          s);
	long p;
	if (!pd_cli_int(c, "--listen port", colon + 1, 0, 65535, &p))
		return pd_status_exit_code(PD_E_USAGE);
	size_t n = (size_t)(colon - s);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') /* [::1]:5038 */
		*host = xstrndup(s + 1, n - 2);
	else
		*host = xstrndup(s, n);
	*port = (int)p;
	return PD_CLI_CONTINUE;
}

int pd_cli_lab_pbx(pd_cli *c, int argc, char **argv)
{
	const char *listen = "127.0.0.1:5038", *user = "admin", *secret_file = NULL;
	const char *users = NULL, *queues = NULL, *sites = NULL, *rate = NULL, *seed = NULL;
	const char *faults = NULL, *period = NULL, *pos[1], *platform = NULL;
	bool legacy = false, no_vm = false;
	const char *tls_cert = NULL, *tls_key = NULL;
	const char *ring = NULL, *talk = NULL, *wrapup = NULL, *calls_up = NULL, *pic = NULL;
	const char *direct = NULL, *ack_timeout = NULL, *self_signed = NULL, *group_admin = NULL;
	const char *grant = NULL, *latency = NULL;
	const pd_opt opts[] = {
	    {"platform", PD_OPT_VAL, &platform, NULL},
	    {"listen", PD_OPT_VAL, &listen, NULL},
	    {"username", PD_OPT_VAL, &user, NULL},
	    {"secret-file", PD_OPT_VAL, &secret_file, NULL},
	    {"users", PD_OPT_VAL, &users, NULL},
	    {"queues", PD_OPT_VAL, &queues, NULL},
	    {"sites", PD_OPT_VAL, &sites, NULL},
	    {"call-rate", PD_OPT_VAL, &rate, NULL},
	    {"seed", PD_OPT_VAL, &seed, NULL},
	    {"faults", PD_OPT_VAL, &faults, NULL},
	    {"fault-period", PD_OPT_VAL, &period, NULL},
	    {"legacy-sip", PD_OPT_FLAG, NULL, &legacy},
	    {"no-voicemail", PD_OPT_FLAG, NULL, &no_vm},
	    {"tls-cert", PD_OPT_VAL, &tls_cert, NULL},
	    {"tls-key", PD_OPT_VAL, &tls_key, NULL},
	    {"ring", PD_OPT_VAL, &ring, NULL},
	    {"talk", PD_OPT_VAL, &talk, NULL},
	    {"wrapup", PD_OPT_VAL, &wrapup, NULL},
	    {"calls-up", PD_OPT_VAL, &calls_up, NULL},
	    {"pause-in-call", PD_OPT_VAL, &pic, NULL},
	    {"direct-pct", PD_OPT_VAL, &direct, NULL},
	    {"latency", PD_OPT_VAL, &latency, NULL},
	    {"ack-timeout", PD_OPT_VAL, &ack_timeout, NULL},
	    {"grant-expires", PD_OPT_VAL, &grant, NULL},
	    {"self-signed", PD_OPT_VAL, &self_signed, NULL},
	    {"group-admin", PD_OPT_VAL, &group_admin, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int np = 0;
	int rc = pd_cli_parse(c, "lab-pbx", argc, argv, opts, pos, 0, 0, &np, help_lab);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_lab_platform plat = PD_LAB_ASTERISK_AMI;
	if (platform) {
		if (!strcmp(platform, "freeswitch-esl") || !strcmp(platform, "freeswitch"))
			plat = PD_LAB_FREESWITCH_ESL;
		else if (!strcmp(platform, "broadworks-xsi") || !strcmp(platform, "broadworks"))
			plat = PD_LAB_BROADWORKS_XSI;
		else if (strcmp(platform, "asterisk-ami") && strcmp(platform, "asterisk"))
			return pd_cli_usage_field(c, "platform",
			                          _("--platform: expected asterisk-ami (asterisk), "
			                            "freeswitch-esl (freeswitch) or broadworks-xsi "
			                            "(broadworks), got '%s'"),
			                          platform);
	}
	bool esl = plat == PD_LAB_FREESWITCH_ESL, xsi = plat == PD_LAB_BROADWORKS_XSI;
	if (self_signed && (tls_cert || tls_key))
		return pd_cli_usage_field(c, "self_signed",
		                          _("--self-signed makes its own certificate: give it or "
		                            "--tls-cert/--tls-key, not both"));
	if (self_signed && esl)
		return pd_cli_usage_field(c, "self_signed",
		                          _("--self-signed: a FreeSWITCH lab has no TLS listener"));
	char ss_cert[4096] = "", ss_key[4096] = "";
	if (self_signed && (!*self_signed || strlen(self_signed) > sizeof ss_cert - 16))
		return pd_cli_usage_field(c, "self_signed",
		                          _("--self-signed: expected a directory"));
	if (self_signed) {
		snprintf(ss_cert, sizeof ss_cert, "%s/lab.pem", self_signed);
		snprintf(ss_key, sizeof ss_key, "%s/lab.key", self_signed);
		tls_cert = ss_cert;
		tls_key = ss_key;
	}
	if (esl && !strcmp(listen, "127.0.0.1:5038"))
		listen = "127.0.0.1:8021"; /* mod_event_socket's port */
	if (xsi && !strcmp(listen, "127.0.0.1:5038"))
		listen = tls_cert ? "127.0.0.1:8443" : "127.0.0.1:8080";
	if ((ack_timeout || group_admin || grant) && !xsi)
		return pd_cli_usage_field(
		    c,
		    ack_timeout ? "ack_timeout"
		    : grant     ? "grant_expires"
		                : "admin_group",
		    _("--%s is a BroadWorks option (--platform broadworks-xsi)"),
		    ack_timeout ? "ack-timeout"
		    : grant     ? "grant-expires"
		                : "group-admin");
	pd_labpbx_opts o = {.platform = plat,
	                    .username = user,
	                    .call_rate = 4,
	                    .legacy_sip = legacy,
	                    .no_voicemail = no_vm,
	                    .tls_cert = tls_cert,
	                    .tls_key = tls_key,
	                    .admin_group = group_admin};
	char *host = NULL;
	if ((rc = parse_listen(c, listen, &host, &o.port)) != PD_CLI_CONTINUE)
		return rc;
	o.listen_host = host;
	if (self_signed) {
		pd_err ce;
		pd_err_clear(&ce);
		if (mkdir(self_signed, 0700) != 0 && errno != EEXIST) {
			pd_fail(&ce, PD_E_CANTCREATE, "self_signed",
			        _("--self-signed: cannot create %s: %s"), self_signed,
			        strerror(errno));
			free(host);
			return pd_cli_fail(c, &ce);
		}
		if (labpbx_make_cert(host, ss_cert, ss_key, &ce) != PD_OK) {
			free(host);
			return pd_cli_fail(c, &ce);
		}
	}
	long v;
	if (users) {
		if (!pd_cli_int(c, "--users", users, 1, 90000, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.users = (int)v;
	}
	if (queues) {
		if (!pd_cli_int(c, "--queues", queues, 1, 100, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.queues = (int)v;
	}
	if (sites) {
		if (!pd_cli_int(c, "--sites", sites, 1, 1000, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.sites = (int)v;
	}
	if (seed) {
		if (!pd_cli_int(c, "--seed", seed, 0, 2147483647L, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.seed = (uint64_t)v;
	}
	if (period) {
		if (!pd_cli_int(c, "--fault-period", period, 1, 86400, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.fault_period_ms = (int)v * 1000;
	}
	if (ring) {
		if (!pd_cli_int(c, "--ring", ring, 1, 3600, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.ring_ms = (int)v * 1000;
	}
	if (talk) {
		if (!pd_cli_int(c, "--talk", talk, 1, 86400, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.talk_ms = (int)v * 1000;
	}
	if (wrapup) {
		if (!pd_cli_int(c, "--wrapup", wrapup, 0, 3600, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.wrapup_s = v ? (int)v : -1; /* the lab's 0 is its default */
	}
	if (calls_up) {
		if (!pd_cli_int(c, "--calls-up", calls_up, 0, 1000, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.calls_up = (int)v;
	}
	if (ack_timeout) {
		if (!pd_cli_int(c, "--ack-timeout", ack_timeout, 1, 3600, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.ack_timeout_ms = (int)v * 1000;
	}
	if (grant) {
		if (!pd_cli_int(c, "--grant-expires", grant, 1, 86400, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.grant_expires_s = (int)v;
	}
	if (latency) {
		if (!pd_cli_int(c, "--latency", latency, 0, 10000, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.latency_ms = (int)v;
	}
	if (direct) {
		if (!pd_cli_int(c, "--direct-pct", direct, 0, 100, &v))
			return free(host), pd_status_exit_code(PD_E_USAGE);
		o.direct_pct = (int)v;
	}
	if (pic) {
		/* EXT:REASON, an extension of digits and a reason without control bytes */
		const char *colon = strchr(pic, ':');
		size_t n = colon ? (size_t)(colon - pic) : strlen(pic);
		bool ok = n > 0 && n < 16 && strspn(pic, "0123456789") == n;
		for (const char *p = pic; ok && *p; p++)
			ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
		if (!ok) {
			free(host);
			return pd_cli_usage_field(c, "pause_in_call",
			                          _("--pause-in-call: expected EXTENSION:REASON "
			                            "(e.g. 1001:Lunch), got '%s'"),
			                          pic);
		}
		o.pause_in_call = pic;
	}
	if (rate) {
		char *end;
		double r = strtod(rate, &end);
		if (*end || end == rate || r < 0 || r > 60000) {
			free(host);
			return pd_cli_usage_field(
			    c, "call_rate",
			    _("--call-rate: expected calls per minute (0-60000), got '%s'"), rate);
		}
		o.call_rate = r;
	}
	pd_err e;
	pd_err_clear(&e);
	if (faults && labpbx_parse_faults(faults, &o.faults, &e) != PD_OK) {
		free(host);
		return pd_cli_fail(c, &e);
	}
	char *secret = NULL;
	if (secret_file && pd_cli_read_secret(secret_file, NULL, NULL, &secret, &e) != PD_OK) {
		free(host);
		return pd_cli_fail(c, &e);
	}
	o.secret = secret ? secret : esl ? "ClueCon" : NULL; /* FreeSWITCH's own default */
	/* signals are taken with sigwait: block them before the server thread starts */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pd_labpbx *lab = NULL;
	pd_status st = labpbx_start(&o, &lab, &e);
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	if (st != PD_OK) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		free(host);
		return pd_cli_fail(c, &e);
	}
	if (c->json) {
		json_t *j = json_object();
		json_object_set_new(j, "platform",
		                    json_string(esl   ? "freeswitch-esl"
		                                : xsi ? "broadworks-xsi"
		                                      : "asterisk-ami"));
		if (xsi)
			json_object_set_new(j, "enterprise_id", json_string("lab-ent"));
		json_object_set_new(j, "listen", json_string(host));
		json_object_set_new(j, "port", json_integer(labpbx_port(lab)));
		json_object_set_new(j, "username", json_string(user));
		json_object_set_new(j, "users", json_integer(o.users ? o.users : 20));
		json_object_set_new(j, "queues", json_integer(o.queues ? o.queues : 2));
		json_object_set_new(j, "sites", json_integer(o.sites ? o.sites : 1));
		json_object_set_new(j, "legacy_sip", json_boolean(legacy));
		json_object_set_new(j, "voicemail", json_boolean(!no_vm));
		json_object_set_new(j, "tls", json_boolean(tls_cert != NULL));
		if (self_signed)
			json_object_set_new(j, "tls_ca_file", json_string(ss_cert));
		pd_cli_print_json(c, j);
	} else if (xsi) {
		printf(_("lab PBX listening on %s:%d (BroadWorks Xsi over %s, user %s, enterprise "
		         "lab-ent, %d users, %d call centers, %d groups, %.1f calls/min%s)\n"),
		       host, labpbx_port(lab), tls_cert ? "HTTPS" : "HTTP", user,
		       o.users ? o.users : 20, o.queues ? o.queues : 2, o.sites ? o.sites : 1,
		       o.call_rate, o.faults ? _(", faults on") : "");
	} else if (esl) {
		printf(
		    _("lab PBX listening on %s:%d (FreeSWITCH event socket, %d users, %d queues, "
		      "%d domains, %.1f calls/min%s)\n"),
		    host, labpbx_port(lab), o.users ? o.users : 20, o.queues ? o.queues : 2,
		    o.sites ? o.sites : 1, o.call_rate, o.faults ? _(", faults on") : "");
	} else {
		printf(_("lab PBX listening on %s:%d (AMI user %s, %d users, %d queues, %d sites, "
		         "%.1f calls/min%s%s%s)\n"),
		       host, labpbx_port(lab), user, o.users ? o.users : 20,
		       o.queues ? o.queues : 2, o.sites ? o.sites : 1, o.call_rate,
		       o.faults ? _(", faults on") : "",
		       legacy ? _(", chan_sip (Asterisk 13-16)") : "", tls_cert ? ", TLS" : "");
	}
	if (self_signed && !c->json)
		printf(
		    _("self-signed certificate: %s (trust it as the connection's TLS CA file)\n"),
		    ss_cert);
	fflush(stdout);
	/* SIGUSR1: one line with the logins so far (a test counts how many
	 * links the monitors opened: docs/user-guide.md, The lab PBX) */
	int sig = 0;
	for (;;) {
		sigwait(&set, &sig);
		if (sig != SIGUSR1)
			break;
		if (c->json)
			printf("{\"logins\": %lld, \"sessions\": %d}\n",
			       (long long)labpbx_logins(lab), labpbx_sessions(lab));
		else
			printf("logins: %lld, sessions: %d\n", (long long)labpbx_logins(lab),
			       labpbx_sessions(lab));
		fflush(stdout);
	}
	labpbx_stop(lab);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!c->json)
		printf(_("lab PBX stopped (%s)\n"), strsignal(sig));
	free(host);
	return 0;
}
