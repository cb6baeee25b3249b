/* The lab tests' driver harness: see drv_harness.h. */
#include "drv_harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void users_free(harness *h)
{
	for (size_t i = 0; h->users && i < h->last_nusers; i++) {
		free((char *)h->users[i].endpoint);
		free((char *)h->users[i].display_name);
		free((char *)h->users[i].email);
		free((char *)h->users[i].sub_account);
		free((char *)h->users[i].device_state);
	}
	free(h->users);
	h->users = NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static pd_status rec_sync(void *ctx, int64_t cid, const pd_synced_user *u, size_t n, bool ap,
                          pd_sync_result *res, pd_err *e)
{
	(void)cid, (void)ap, (void)e;
	harness *h = ctx;
	users_free(h);
	h->nsync++;
	h->last_nusers = n;
	h->n_emails = 0;
	h->users = calloc(n ? n : 1, sizeof *h->users);
	cr_assert(h->users);
	for (size_t i = 0; i < n; i++) {
		h->n_emails += u[i].email != NULL;
		h->users[i] = (pd_synced_user){.endpoint = dup_or_null(u[i].endpoint),
		                               .display_name = dup_or_null(u[i].display_name),
		                               .email = dup_or_null(u[i].email),
		                               .sub_account = dup_or_null(u[i].sub_account),
		                               .device_state = dup_or_null(u[i].device_state)};
	}
	*res = (pd_sync_result){.added = (int)n};
	return PD_OK;
}

static void rec_link(void *ctx, int64_t cid, pd_link_state st, const char *text)
{
	(void)cid;
	harness *h = ctx;
	h->st = st;
	h->seen |= 1u << st;
	pd_buf_printf(&h->texts, "%s\n", text);
}

pd_drv_conf h_conf(const char *host, int port, const char *secret)
{
	return (pd_drv_conf){.customer_id = H_CUSTOMER,
	                     .host = host,
	                     .port = port,
	                     .secret = secret,
	                     .sync_users = true,
	                     .monitor = true,
	                     .ping_interval_s = 1,
	                     .backoff_max_s = 2,
	                     .backoff_min_ms = 100};
}

void h_create(harness *h, const char *platform, pd_drv_conf c)
{
	memset(h, 0, sizeof *h);
	h->live = pd_live_new();
	h->ops = pd_driver_find(platform);
	cr_assert(h->ops, "no driver registered for %s", platform);
	h->secret = c.secret;
	c.customer_id = H_CUSTOMER;
	pd_drv_host hh = {
	    .ctx = h, .live = h->live, .sync_users = rec_sync, .link_changed = rec_link};
	pd_err e = {0};
	cr_assert_eq(h->ops->create(&c, &hh, &h->drv, &e), PD_OK, "%s", e.message);
}

void h_stop(harness *h)
{
	h->ops->destroy(h->drv);
	if (h->secret && *h->secret)
		cr_assert_null(strstr(h->texts.s ? h->texts.s : "", h->secret),
		               "the secret in a status text");
	pd_buf_free(&h->texts);
	users_free(h);
	pd_live_free(h->live);
}

void h_step(harness *h, int ms)
{
	pd_drv_step(h->ops, h->drv, ms);
}

pd_link_state link_of(harness *h)
{
	return h->ops->state(h->drv);
}

pd_live_view snap(harness *h)
{
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(h->live, H_CUSTOMER, &v), PD_OK);
	return v;
}

pd_live_input input_of(harness *h)
{
	pd_live_view v = snap(h);
	pd_live_input in = v.input;
	pd_live_free_view(&v);
	return in;
}

const pd_synced_user *h_user(const harness *h, const char *endpoint)
{
	for (size_t i = 0; h->users && i < h->last_nusers; i++)
		if (h->users[i].endpoint && !strcmp(h->users[i].endpoint, endpoint))
			return &h->users[i];
	return NULL;
}

const char *h_email(const harness *h, const char *endpoint)
{
	const pd_synced_user *u = h_user(h, endpoint);
	return !u ? "" : u->email ? u->email : "(none)";
}

const char *h_sub_accounts(const harness *h, char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; h->users && i < h->last_nusers; i++) {
		char item[80];
		const char *sub = h->users[i].sub_account;
		snprintf(item, sizeof item, "%s,", sub ? sub : "");
		if (!strstr(out, item) && strlen(out) + strlen(item) < n)
			strcat(out, item);
	}
	return out;
}

const pd_live_agent *find_agent(const pd_live_view *v, const char *interface)
{
	for (size_t i = 0; i < v->n_agents; i++)
		if (!strcmp(v->agents[i].interface, interface))
			return &v->agents[i];
	return NULL;
}

const pd_live_user *find_user(const pd_live_view *v, const char *endpoint)
{
	for (size_t i = 0; i < v->n_users; i++)
		if (!strcmp(v->users[i].endpoint, endpoint))
			return &v->users[i];
	return NULL;
}

bool call_in_state(harness *h, pd_call_state st, bool need_agent)
{
	pd_live_view v = snap(h);
	bool found = false;
	for (size_t i = 0; i < v.n_calls; i++)
		found |= v.calls[i].state == st && (!need_agent || v.calls[i].agent);
	pd_live_free_view(&v);
	return found;
}

size_t n_calls(harness *h)
{
	pd_live_view v = snap(h);
	size_t n = v.n_calls;
	pd_live_free_view(&v);
	return n;
}

bool agent_in_state(harness *h, const char *interface, pd_agent_state st, const char *reason)
{
	pd_live_view v = snap(h);
	const pd_live_agent *a = find_agent(&v, interface);
	bool ok = a && a->state == st && (!reason || (a->reason && !strcmp(a->reason, reason)));
	pd_live_free_view(&v);
	return ok;
}

bool any_agent(harness *h, pd_agent_state st)
{
	pd_live_view v = snap(h);
	bool ok = false;
	for (size_t i = 0; i < v.n_agents; i++)
		ok |= v.agents[i].state == st;
	pd_live_free_view(&v);
	return ok;
}

bool call_named(harness *h, const char *part, char *out, size_t n)
{
	pd_live_view v = snap(h);
	bool found = false;
	for (size_t i = 0; i < v.n_calls && !found; i++)
		if (v.calls[i].from_name && strstr(v.calls[i].from_name, part)) {
			snprintf(out, n, "%s", v.calls[i].from_name);
			found = true;
		}
	pd_live_free_view(&v);
	return found;
}

bool has_ctrl(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}
