/* The drivers' `test` operation (what `provdesk pbx test` runs), for the
 * AMI driver over real TCP against the in-process lab PBX: every step named
 * and passed, and each kind of failure with its status (the CLI's exit code
 * comes from it): unreachable, not an AMI port, a TLS port that never
 * answers, authentication, bad stored parameters; the secret never in the
 * result. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "testlib.h"

#define SECRET "s3cr3t-Lab-Pw"

static pd_labpbx *lab_up(bool legacy)
{
	pd_labpbx_opts o = {.users = 5,
	                    .queues = 1,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .ring_ms = 300,
	                    .talk_ms = 600,
	                    .wrapup_s = 1,
	                    .hold_pct = -1,
	                    .legacy_sip = legacy};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static pd_status run_test(const char *host, int port, bool tls, const char *secret,
                          const char *params, pd_drv_test_result *r, pd_err *e)
{
	const pd_driver_ops *ops = pd_driver_find("asterisk-ami");
	cr_assert(ops && ops->test, "the AMI driver has a test op");
	pd_drv_conf c = {.host = host,
	                 .port = port,
	                 .tls = tls,
	                 .username = "admin",
	                 .secret = secret,
	                 .params_json = params};
	memset(e, 0, sizeof *e);
	pd_status st = ops->test(&c, 20000 * tl_slow(), r, e);
	for (int i = 0; i < r->n_steps; i++)
		cr_assert_null(strstr(r->steps[i].detail, SECRET), "secret in step %s",
		               r->steps[i].name);
	cr_assert_null(strstr(e->message, SECRET), "secret in the error");
	return st;
}

static void expect_steps(const pd_drv_test_result *r, const char *const *names, int n)
{
	cr_assert_eq(r->n_steps, n, "steps: %d", r->n_steps);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(r->steps[i].name, names[i]);
}

Test(test_op, every_step_passes_against_the_lab)
{
	pd_labpbx *lab = lab_up(false);
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test("127.0.0.1", labpbx_port(lab), false, SECRET, NULL, &r, &e), PD_OK,
	             "%s", e.message);
	static const char *const names[] = {"name resolution", "TCP connect", "banner",
	                                    "authentication", "permissions"};
	expect_steps(&r, names, 5);
	for (int i = 0; i < r.n_steps; i++)
		cr_assert(r.steps[i].ok, "%s: %s", r.steps[i].name, r.steps[i].detail);
	cr_assert_eq(r.failed, -1);
	cr_assert(strstr(r.steps[2].detail, "Asterisk Call Manager/"), "%s", r.steps[2].detail);
	cr_assert_str_eq(r.steps[0].detail, "127.0.0.1 -> 127.0.0.1");
	cr_assert_str_eq(r.steps[3].detail, "logged in as admin");
	cr_assert_str_eq(r.steps[4].detail,
	                 "PJSIPShowEndpoints, QueueStatus, CoreShowChannels allowed");
	labpbx_stop(lab);
}

Test(test_op, legacy_asterisk_checks_sippeers)
{
	pd_labpbx *lab = lab_up(true);
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test("localhost", labpbx_port(lab), false, SECRET, NULL, &r, &e), PD_OK,
	             "%s", e.message);
	cr_assert_str_eq(r.steps[4].detail,
	                 "SIPpeers (chan_sip), QueueStatus, CoreShowChannels allowed");
	labpbx_stop(lab);
}

Test(test_op, wrong_secret_is_auth)
{
	pd_labpbx *lab = lab_up(false);
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test("127.0.0.1", labpbx_port(lab), false, "wrong-secret", NULL, &r, &e),
	             PD_E_AUTH);
	cr_assert_geq(r.failed, 0);
	cr_assert_str_eq(r.steps[r.failed].name, "authentication");
	cr_assert(strstr(e.message, "authentication failed: "), "%s", e.message);
	cr_assert_str_eq(e.field, "pbx");
	labpbx_stop(lab);
}

Test(test_op, unreachable_is_unavailable_naming_the_step)
{
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test("127.0.0.1", tl_free_port(), false, SECRET, NULL, &r, &e),
	             PD_E_UNAVAILABLE);
	cr_assert_str_eq(r.steps[r.failed].name, "TCP connect");
	cr_assert(strstr(r.steps[r.failed].detail, "Connection refused"), "%s",
	          r.steps[r.failed].detail);
	cr_assert(r.steps[0].ok, "name resolution passed");
	cr_assert_eq(run_test("no-such-host.invalid", 5038, false, SECRET, NULL, &r, &e),
	             PD_E_UNAVAILABLE);
	cr_assert_eq(r.failed, 0);
	cr_assert_str_eq(r.steps[0].name, "name resolution");
	cr_assert(strstr(e.message, "name resolution failed: cannot resolve host no-such-host"),
	          "%s", e.message);
}

/* A server that is something else (an SSH banner), and one that accepts
 * and says nothing: protocol errors at the banner / TLS step. */
typedef struct {
	int lfd;
	const char *say; /* NULL: accept, stay silent until the test ends */
	int done_fd;
} other_srv;

static void *other_main(void *arg)
{
	other_srv *s = arg;
	int c = accept(s->lfd, NULL, NULL);
	if (c >= 0 && s->say) {
		ssize_t w = write(c, s->say, strlen(s->say));
		(void)w;
	}
	char b;
	ssize_t r = read(s->done_fd, &b, 1); /* until the test is over */
	(void)r;
	if (c >= 0)
		close(c);
	return NULL;
}

static int other_start(other_srv *s, const char *say, pthread_t *th, int *done_w)
{
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(s->lfd, 4), 0);
	socklen_t len = sizeof a;
	getsockname(s->lfd, (struct sockaddr *)&a, &len);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	s->done_fd = p[0];
	*done_w = p[1];
	s->say = say;
	cr_assert_eq(pthread_create(th, NULL, other_main, s), 0);
	return ntohs(a.sin_port);
}

static void other_stop(other_srv *s, pthread_t th, int done_w)
{
	close(done_w);
	pthread_join(th, NULL);
	close(s->done_fd);
	close(s->lfd);
}

Test(test_op, not_an_ami_port_is_protocol)
{
	other_srv s;
	pthread_t th;
	int w;
	int port = other_start(&s, "SSH-2.0-OpenSSH_9.2\r\n", &th, &w);
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test("127.0.0.1", port, false, SECRET, NULL, &r, &e), PD_E_PROTOCOL);
	cr_assert_str_eq(r.steps[r.failed].name, "banner");
	cr_assert(strstr(r.steps[r.failed].detail, "unexpected banner \"SSH-2.0-OpenSSH_9.2\""),
	          "%s", r.steps[r.failed].detail);
	other_stop(&s, th, w);
}

Test(test_op, silent_tls_port_is_protocol_after_the_step_timeout, .timeout = 30)
{
	other_srv s;
	pthread_t th;
	int w;
	int port = other_start(&s, NULL, &th, &w);
	pd_drv_test_result r;
	pd_err e;
	int64_t t0 = pd_live_now_ms();
	cr_assert_eq(run_test("127.0.0.1", port, true, SECRET, "{\"tls_verify\": false}", &r, &e),
	             PD_E_PROTOCOL);
	cr_assert_str_eq(r.steps[r.failed].name, "TLS");
	cr_assert(strstr(r.steps[r.failed].detail, "no handshake within 5 s"), "%s",
	          r.steps[r.failed].detail);
	cr_assert_lt(pd_live_now_ms() - t0, 15000 * tl_slow(), "bounded");
	other_stop(&s, th, w);
}

Test(test_op, bad_stored_parameter_is_config_and_nothing_dialled)
{
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test("127.0.0.1", tl_free_port(), true, SECRET,
	                      "{\"tls_verify\": \"maybe\"}", &r, &e),
	             PD_E_CONFIG);
	cr_assert_eq(r.n_steps, 1);
	cr_assert_str_eq(r.steps[0].name, "parameters");
	cr_assert(strstr(e.message, "tls_verify"), "%s", e.message);
}

Test(test_op, overall_limit_bounds_the_whole_test)
{
	other_srv s;
	pthread_t th;
	int w;
	int port = other_start(&s, NULL, &th, &w); /* accepts, never sends a banner */
	const pd_driver_ops *ops = pd_driver_find("asterisk-ami");
	pd_drv_conf c = {.host = "127.0.0.1", .port = port, .username = "admin", .secret = SECRET};
	pd_drv_test_result r;
	pd_err e = {0};
	int64_t t0 = pd_live_now_ms();
	cr_assert_eq(ops->test(&c, 300, &r, &e), PD_E_PROTOCOL);
	int64_t took = pd_live_now_ms() - t0;
	cr_assert(took >= 300 && took < 3000 * tl_slow(), "took %lld ms", (long long)took);
	cr_assert_str_eq(r.steps[r.failed].name, "banner");
	other_stop(&s, th, w);
}
