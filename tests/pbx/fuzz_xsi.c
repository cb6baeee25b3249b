/* libFuzzer target: the Xsi event stream parser fed in chunks chosen by the
 * input itself, with small bounds so every limit is reached; each delivered
 * document is checked (NUL-terminated values, an error only with its text),
 * the events go through the BroadWorks model (caps hold, no control byte in
 * the view), a lost framing is reset and the rest fed again; the whole
 * input is also read as a directory page. Must never crash, leak or hit UB. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pbx/xsi/xsi_model.h"
#include "provdesk/live.h"
#include "provdesk/xsi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

static void check_text(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

typedef struct {
	xsi_model *m;
	int64_t now;
} fz;

static void on_msg(const xsi_msg *m, void *ctx)
{
	fz *f = ctx;
	if ((m->kind == XSI_MSG_ERROR) != (m->text != NULL))
		abort();
	check_str(m->event_id, sizeof m->event_id);
	check_str(m->target_id, sizeof m->target_id);
	check_str(m->remote_name, sizeof m->remote_name);
	check_str(m->remote_number, sizeof m->remote_number);
	check_str(m->acd_name, sizeof m->acd_name);
	check_str(m->type_name, sizeof m->type_name);
	check_str(m->state, sizeof m->state);
	check_str(m->agent_state, sizeof m->agent_state);
	f->now += 700;
	xsi_model_apply(f->m, m, f->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = 1 + (data[0] & 0x3f);
	data++;
	size--;
	xsi_parser_opts o = {.max_doc = 8192, .max_depth = 12, .max_elements = 300};
	fz f = {.m = xsi_model_new(), .now = 1000};
	pd_model_limits l = {
	    .max_calls = 4, .max_channels = 6, .max_users = 8, .max_call_age_ms = 20000};
	xsi_model_set_limits(f.m, &l);
	xsi_parser *p = xsi_parser_new(&o, on_msg, &f);
	for (size_t at = 0; at < size;) {
		size_t n = size - at < chunk ? size - at : chunk;
		xsi_parser_feed(p, (const char *)data + at, n);
		if (xsi_parser_fatal(p))
			xsi_parser_reset(p);
		at += n;
		xsi_model_tick(f.m, f.now);
	}
	xsi_parser_free(p);
	xsi_dir_page page;
	char err[200];
	if (xsi_dir_parse((const char *)data, size, &o, 8, &page, err, sizeof err)) {
		if (page.n_users > 8)
			abort();
		xsi_model_add_directory(f.m, &page);
	}
	xsi_dir_page_free(&page);
	pd_live_view v = {0};
	xsi_model_view(f.m, f.now, &v);
	if (v.n_calls > 4 || v.n_agents > 6 || v.n_users > 8)
		abort();
	for (size_t i = 0; i < v.n_calls; i++) {
		check_text(v.calls[i].from_name);
		check_text(v.calls[i].from);
		check_text(v.calls[i].queue);
	}
	for (size_t i = 0; i < v.n_agents; i++)
		check_text(v.agents[i].reason);
	pd_live_free_view(&v);
	xsi_model_free(f.m);
	return 0;
}
