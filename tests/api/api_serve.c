/* The HTTP API standalone, for its tests until `provdesk serve` starts it:
 *   api_serve --db PATH [--listen ADDR:PORT] [--allow-plain] [--cert F --key F]
 *             [--rate N] [--burst N] [--max-body N] [--timeout S] [--hooks]
 * prints "port N" once serving and runs until SIGTERM/SIGINT; SIGHUP reloads
 * the certificate;
 *   api_serve --routes
 * prints the router's table ("METHOD PATTERN" lines) for the OpenAPI check.
 * --hooks sets a PBX hook that answers what it was asked and an event feed
 * of two events (the daemon's own hooks are tested with the daemon). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/api.h"
#include "provdesk/catalogue.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

static pd_status fake_pbx(void *ctx, pd_api_pbx_op op, pd_store *s, int64_t customer_id,
                          json_t **reply, pd_err *e)
{
	(void)ctx;
	(void)s;
	(void)e;
	/* the shapes of the daemon's answers (data/openapi.json), naming the
	 * operation and the customer it was asked for */
	char d[64];
	snprintf(d, sizeof d, "customer %lld", (long long)customer_id);
	if (op == PD_API_PBX_TEST)
		*reply = json_pack("{s:b, s:[{s:s, s:b, s:s}]}", "ok", 1, "steps", "step",
		                   "fake test", "ok", 1, "detail", d);
	else
		*reply = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "customer", d, "added", 0,
		                   "updated", 0, "removed", 0, "linked", 0, "unchanged", 0,
		                   "sub_accounts_added", 0);
	return PD_OK;
}

/* Two events, then the end of the stream. */
static void *fake_events_open(void *ctx)
{
	(void)ctx;
	return xcalloc(1, sizeof(int));
}

static long fake_events_next(void *stream, char *buf, size_t max, int wait_ms)
{
	(void)wait_ms;
	int *n = stream;
	if (*n >= 2)
		return -1;
	int k = snprintf(buf, max, "event: view\ndata: {\"n\": %d}\n\n", (*n)++);
	return k < 0 || (size_t)k >= max ? -1 : k;
}

static void fake_events_close(void *stream)
{
	free(stream);
}

int main(int argc, char **argv)
{
	pd_i18n_init(); /* as provdesk's main: the answers' languages */
	pd_api_opts o;
	memset(&o, 0, sizeof o);
	o.listen = "127.0.0.1:0";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--routes")) {
			const char *m, *p;
			for (size_t k = 0; pd_api_route(k, &m, &p); k++)
				printf("%s %s\n", m, p);
			return 0;
		} else if (!strcmp(a, "--allow-plain"))
			o.allow_plain = true;
		else if (!strcmp(a, "--hooks")) {
			o.hooks.pbx_action = fake_pbx;
			o.hooks.events_open = fake_events_open;
			o.hooks.events_next = fake_events_next;
			o.hooks.events_close = fake_events_close;
		} else if (!v) {
			fprintf(stderr, "api_serve: %s needs a value\n", a);
			return 64;
		} else if (!strcmp(a, "--db"))
			o.db_path = argv[++i];
		else if (!strcmp(a, "--listen"))
			o.listen = argv[++i];
		else if (!strcmp(a, "--cert"))
			o.cert_path = argv[++i];
		else if (!strcmp(a, "--key"))
			o.key_path = argv[++i];
		else if (!strcmp(a, "--rate"))
			o.rate_per_minute = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--burst"))
			o.rate_burst = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--max-body"))
			o.max_body = (size_t)atol(argv[++i]);
		else if (!strcmp(a, "--timeout"))
			o.timeout_s = (unsigned)atoi(argv[++i]);
		else {
			fprintf(stderr, "api_serve: unknown option %s\n", a);
			return 64;
		}
	}
	pd_err e;
	pd_err_clear(&e);
	if (pd_clock_check(&e) != PD_OK) {
		fprintf(stderr, "api_serve: %s\n", e.message);
		return pd_status_exit_code(e.status);
	}
	pd_catalogue cat;
	if (pd_catalogue_load_default(NULL, &cat, &e) != PD_OK) {
		fprintf(stderr, "api_serve: %s\n", e.message);
		return pd_status_exit_code(e.status);
	}
	pd_drivers_mark_supported(&cat); /* as the program does (src/cli/cli.c) */
	o.store.catalogue = &cat;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the API's threads inherit it */
	pd_api *api;
	if (pd_api_start(&o, &api, &e) != PD_OK) {
		fprintf(stderr, "api_serve: %s: %s\n", e.field, e.message);
		pd_catalogue_free(&cat);
		return pd_status_exit_code(e.status);
	}
	printf("port %d\n", pd_api_port(api));
	fflush(stdout);
	int sig;
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
		/* as provdesk serve: the certificate read again */
		if (pd_api_reload_tls(api, o.cert_path, o.key_path, &e) != PD_OK)
			fprintf(stderr, "api_serve: %s: %s\n", e.field, e.message);
		else
			fprintf(stderr, "api_serve: certificate reloaded\n");
		pd_err_clear(&e);
	}
	pd_api_stop(api);
	pd_catalogue_free(&cat);
	return 0;
}
