/* libFuzzer target: the FreeSWITCH model behind the ESL parser. The input
 * is parsed (chunked as in fuzz_esl.c); every event is applied, every
 * api/response is applied as the reply to one of the commands the driver
 * sends (chosen by the message number), with small caps; the view, the
 * synced users and the clock are exercised after each message. Checked: the
 * caps hold and no control byte reaches a view string. Must never crash,
 * leak or hit UB. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pbx/esl/esl_model.h"
#include "provdesk/esl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const commands[] = {"list_users",
                                       "user_data 1001@default param email",
                                       "show registrations as json",
                                       "show channels as json",
                                       "show calls as json",
                                       "callcenter_config agent list",
                                       "callcenter_config tier list",
                                       "status"};

static void clean_or_die(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

typedef struct {
	esl_model *m;
	int64_t now;
} ctx;

static void on_msg(const esl_msg *msg, void *p)
{
	ctx *c = p;
	c->now += 700;
	if (msg->kind == ESL_MSG_EVENT)
		esl_model_apply_event(c->m, msg, c->now);
	else if (msg->kind == ESL_MSG_API_RESPONSE)
		esl_model_apply_api(c->m, commands[msg->msg_no % 8], msg->body, msg->body_len,
		                    c->now);
	else if (msg->kind == ESL_MSG_COMMAND_REPLY)
		esl_model_snapshot_begin(c->m);
	esl_model_tick(c->m, c->now);
	esl_model_stats st;
	esl_model_get_stats(c->m, &st);
	if (st.calls > 8 || st.channels > 12)
		abort();
	pd_live_view v = {0};
	esl_model_view(c->m, c->now, &v);
	for (size_t i = 0; i < v.n_calls; i++) {
		clean_or_die(v.calls[i].from_name);
		clean_or_die(v.calls[i].from);
		clean_or_die(v.calls[i].to);
		clean_or_die(v.calls[i].agent);
	}
	for (size_t i = 0; i < v.n_users; i++) {
		clean_or_die(v.users[i].name);
		clean_or_die(v.users[i].endpoint);
	}
	for (size_t i = 0; i < v.n_agents; i++) {
		clean_or_die(v.agents[i].name);
		clean_or_die(v.agents[i].queues);
		clean_or_die(v.agents[i].reason);
	}
	pd_live_free_view(&v);
	pd_synced_user *u;
	size_t n = esl_model_synced_users(c->m, &u);
	for (size_t i = 0; i < n; i++)
		clean_or_die(u[i].email);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = 1 + (data[0] & 0x3f);
	data++;
	size--;
	ctx c = {.m = esl_model_new()};
	esl_model_set_limits(
	    c.m, &(esl_model_limits){.max_calls = 8, .max_channels = 12, .max_call_age_ms = 60000});
	esl_model_set_default_wrapup(c.m, 2);
	esl_parser *p = esl_parser_new(&(esl_parser_opts){.max_msg = 65536}, on_msg, &c);
	while (size) {
		size_t n = size < chunk ? size : chunk;
		esl_parser_feed(p, (const char *)data, n);
		if (esl_parser_failed(p))
			esl_parser_reset(p);
		data += n;
		size -= n;
	}
	esl_parser_free(p);
	esl_model_reset_live(c.m);
	esl_model_free(c.m);
	return 0;
}
