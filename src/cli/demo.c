/* provdesk --demo: the demo database. A few customers, linked to the lab PBXs
 * that main() started on free ports: one to the Asterisk (AMI) lab, two to the
 * FreeSWITCH (event socket) lab, one to the BroadWorks (Xsi) lab XSP, so the
 * console shows live calls at once on every platform. Re-running only points
 * the links at the new ports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

#define DEMO_PBX_CUSTOMER "Démo Lab PBX"
#define DEMO_FS_CUSTOMER "Démo FreeSWITCH"
#define DEMO_XSI_CUSTOMER "Démo BroadWorks"

char *pd_cli_demo_db_path(void)
{
	char *dir = pd_path_data_dir();
	char *p = xasprintf("%s/demo.db", dir);
	free(dir);
	return p;
}

static pd_status demo_customer(pd_cli *c, const char *name, const char *ptype, const char *cc,
                               int trial_days, bool internal, const char *admin, const char *email,
                               int64_t *id, pd_err *e)
{
	pd_customer cu;
	memset(&cu, 0, sizeof cu);
	if (store_customer_find(c->store, name, &cu, e) == PD_OK) {
		*id = cu.id;
		pd_customer_free(&cu);
		return PD_OK;
	}
	pd_err_clear(e);
	const pd_geo *g;
	pd_status st = pd_geo_get(&g, e);
	if (st != PD_OK)
		return st;
	pd_new_customer n;
	memset(&n, 0, sizeof n);
	n.customer.name = xstrdup(name);
	n.customer.product_type = xstrdup(ptype);
	snprintf(n.customer.country, sizeof n.customer.country, "%s", cc);
	n.customer.internal_system = internal;
	n.trial_days = trial_days;
	n.admin.display_name = xstrdup(admin);
	n.admin.email = xstrdup(email);
	n.admin.role = xstrdup(PD_ROLE_ADMIN);
	n.admin.primary = true;
	st = pd_check_time_zone(g, cc, NULL, &n.customer.time_zone, e);
	if (st == PD_OK)
		st = store_customer_create(c->store, &n, &c->actor, &cu, e);
	pd_new_customer_free(&n);
	if (st == PD_OK) {
		*id = cu.id;
		pd_customer_free(&cu);
	}
	return st;
}

/* The customer's PBX connection to a lab: added once, then re-pointed at the
 * lab's port of this run. */
static pd_status demo_pbx(pd_cli *c, int64_t id, const char *platform, const char *host, int port,
                          const char *username, const char *secret, pd_err *e)
{
	pd_pbx p;
	memset(&p, 0, sizeof p);
	pd_status st;
	if (store_pbx_get(c->store, id, false, &p, e) == PD_OK) {
		/* the lab PBX listens on a new port every run */
		free(p.secret);
		p.secret = xstrdup(secret);
		pd_set_str(&p.host, host);
		pd_set_str(&p.username, username);
		p.port = port;
		p.enabled = true;
		st = store_pbx_update(c->store, &p, &c->actor, e);
	} else {
		pd_err_clear(e);
		p.customer_id = id;
		p.platform = xstrdup(platform);
		p.host = xstrdup(host);
		p.port = port;
		p.username = username ? xstrdup(username) : NULL;
		p.secret = xstrdup(secret);
		p.sync_users = p.monitor = p.enabled = true;
		/* Asterisk: a sub-account per dialplan context; FreeSWITCH: per domain */
		p.auto_provision = true;
		/* the lab's queues wrap up for 5 s, which Asterisk does not say on
		 * the wire (docs/architecture.md, PBX): the form says it */
		if (!strcmp(platform, "asterisk-ami"))
			p.params_json = xstrdup("{\"wrapup_time\":5}");
		/* the lab XSP's enterprise, over plain HTTP on loopback (a real XSP
		 * is HTTPS on 443, the platform's default); groups are sub-accounts */
		if (!strcmp(platform, "broadworks-xsi")) {
			p.params_json = xstrdup("{\"enterprise_id\":\"lab-ent\"}");
			p.tls = false;
		}
		st = pd_pbx_check(&c->cat, &p, e);
		if (st == PD_OK)
			st = store_pbx_add(c->store, id, &p, &c->actor, e);
	}
	pd_pbx_free(&p);
	return st;
}

pd_status pd_cli_demo_seed(pd_cli *c, const char *host, const pd_cli_demo_ports *ports,
                           const char *username, const char *secret, pd_err *e)
{
	if (!pd_cli_store(c, e))
		return e->status ? e->status : PD_E_INTERNAL;
	int64_t id, fs_id, mueller, other, xsi_id;
	pd_status st = demo_customer(c, DEMO_PBX_CUSTOMER, "contact-centre", "FR", 0, true,
	                             "Hélène Démo", "helene@demo.example", &id, e);
	if (st == PD_OK)
		st = demo_customer(c, "Société Générale (essai)", "analytics-pro", "FR", 30, false,
		                   "Jean Dupré", "jean@sg-demo.example", &other, e);
	if (st == PD_OK)
		st = demo_customer(c, "Müller & Söhne GmbH", "analytics-essentials", "DE", 0, false,
		                   "Jürgen Müller", "juergen@mueller-demo.example", &mueller, e);
	/* its administrator is the lab's user 1001 (same email): the sync links them */
	if (st == PD_OK)
		st = demo_customer(c, DEMO_FS_CUSTOMER, "analytics-pro", "FR", 0, false,
		                   "Alice Martin", "alice.martin@lab.example", &fs_id, e);
	/* and this one the lab's user 1002 */
	if (st == PD_OK && ports->xsi > 0)
		st = demo_customer(c, DEMO_XSI_CUSTOMER, "contact-centre", "FR", 0, false,
		                   "Bob Dupont", "bob.dupont@lab.example", &xsi_id, e);
	if (st == PD_OK)
		st = demo_pbx(c, id, "asterisk-ami", host, ports->ami, username, secret, e);
	if (st == PD_OK && ports->esl > 0)
		st = demo_pbx(c, fs_id, "freeswitch-esl", host, ports->esl, NULL, secret, e);
	if (st == PD_OK && ports->esl > 0)
		st = demo_pbx(c, mueller, "freeswitch-esl", host, ports->esl, NULL, secret, e);
	if (st == PD_OK && ports->xsi > 0)
		st = demo_pbx(c, xsi_id, "broadworks-xsi", host, ports->xsi, username, secret, e);
	return st;
}
