/* See attach.h. */
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "provdesk/i18n.h"

pd_serve_client *pd_cli_attach(pd_cli *c, pd_live *live, bool autostart, int timeout_ms, pd_err *e)
{
	pd_serve_client_opts o = {
	    .db_path = c->db_path,
	    .config_path = c->config_path,
	    .kind = "cli",
	    .live = live != NULL,
	    .autostart = autostart,
	};
	pd_serve_client *cl = NULL;
	if (pd_serve_client_start(&o, live, &cl, e) != PD_OK)
		return NULL;
	if (pd_serve_client_wait(cl, timeout_ms, e) != PD_OK) {
		pd_serve_client_stop(cl);
		return NULL;
	}
	return cl;
}

void pd_cli_kick_outbox(pd_cli *c)
{
	if (!c->cfg.smtp_url || !*c->cfg.smtp_url || !c->db_path)
		return; /* offline: the invitations wait in the outbox */
	pd_err e;
	pd_err_clear(&e);
	pd_serve_client *cl = pd_cli_attach(c, NULL, true, 20000, &e);
	if (cl) {
		pd_err_clear(&e);
		json_t *rep = NULL;
		if (pd_serve_client_request(cl, "outbox_send", NULL, &rep, 10000, &e) == PD_OK)
			e.message[0] = 0;
		json_decref(rep);
		pd_serve_client_stop(cl);
	}
	if (e.message[0])
		fprintf(
		    stderr,
		    _("provdesk: the invitation waits in the outbox (%s); 'provdesk outbox send' "
		      "sends it\n"),
		    e.message);
}
