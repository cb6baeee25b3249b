/* libFuzzer target: the Xsi event stream parser fed in chunks chosen by the
 * input itself, with small bounds so every limit is reached; each delivered
 * document is checked (NUL-terminated values, an error only with its text),
 * the events go through the BroadWorks model (caps hold, no control byte in
 * the view), a lost framing is reset and the rest fed again; the whole
 * input is also read as a directory page and as the answers read after
 * subscribing (a user's Call Center service, its call list, one call),
 * those applied as the driver applies them, both as the newest news and as
 * a read an event has overtaken. Must never crash, leak or hit UB.
 * Differential too: when framing was never lost, the same bytes fed whole
 * must deliver exactly what the chunks delivered (every field, errors, the
 * documents' numbers and offsets); a difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_digest.h"

#include "../../src/pbx/xsi/xsi_driver.h"
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

static void digest_msg(fuzz_digest *d, const xsi_msg *m)
{
	d->n++;
	int k[3] = {m->kind, m->type, m->expires};
	fuzz_mix(d, k, sizeof k);
	const char *strs[] = {m->type_name,
	                      m->event_id,
	                      m->subscription_id,
	                      m->channel_id,
	                      m->target_id,
	                      m->call_id,
	                      m->ext_tracking_id,
	                      m->personality,
	                      m->state,
	                      m->remote_name,
	                      m->remote_number,
	                      m->remote_user_id,
	                      m->remote_call_type,
	                      m->acd_user_id,
	                      m->acd_name,
	                      m->acd_number,
	                      m->agent_state,
	                      m->unavailable_code,
	                      m->text};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		fuzz_mix_str(d, strs[i]);
	int64_t t[8] = {m->sequence,        m->start_time,          m->answer_time,
	                m->held_time,       m->release_time,        m->state_timestamp,
	                (int64_t)m->doc_no, (int64_t)m->byte_offset};
	fuzz_mix(d, t, sizeof t);
}

typedef struct {
	xsi_model *m;
	int64_t now;
	fuzz_digest d;
} fz;

static void on_digest(const xsi_msg *m, void *ctx)
{
	digest_msg(ctx, m);
}

static void on_msg(const xsi_msg *m, void *ctx)
{
	fz *f = ctx;
	digest_msg(&f->d, m);
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
	fz f = {.m = xsi_model_new(), .now = 1000, .d = fuzz_digest_new()};
	pd_model_limits l = {
	    .max_calls = 4, .max_channels = 6, .max_users = 8, .max_call_age_ms = 20000};
	xsi_model_set_limits(f.m, &l);
	xsi_parser *p = xsi_parser_new(&o, on_msg, &f);
	bool lost = false;
	for (size_t at = 0; at < size;) {
		size_t n = size - at < chunk ? size - at : chunk;
		xsi_parser_feed(p, (const char *)data + at, n);
		if (xsi_parser_fatal(p)) {
			lost = true;
			xsi_parser_reset(p);
		}
		at += n;
		xsi_model_tick(f.m, f.now);
	}
	xsi_parser_free(p);
	/* fed whole: the same, when neither lost the framing */
	fuzz_digest w = fuzz_digest_new();
	xsi_parser *pw = xsi_parser_new(&o, on_digest, &w);
	xsi_parser_feed(pw, (const char *)data, size);
	if (!lost && !xsi_parser_fatal(pw) && !fuzz_digest_same(&w, &f.d))
		abort();
	xsi_parser_free(pw);
	xsi_dir_page page;
	char err[200];
	if (xsi_dir_parse((const char *)data, size, &o, 8, &page, err, sizeof err)) {
		if (page.n_users > 8)
			abort();
		xsi_model_add_directory(f.m, &page);
	}
	xsi_dir_page_free(&page);
	/* the reads: as answers for the first directory user (or one of ours) */
	const char *uid = xsi_model_user_count(f.m) ? xsi_model_user_id(f.m, 0) : "1001@x";
	uint64_t mark = xsi_model_mark(f.m);
	char st[XSI_VALUE_MAX], code[XSI_VALUE_MAX];
	if (xsi_value_of((const char *)data, size, "agentACDState", st, sizeof st)) {
		xsi_value_of((const char *)data, size, "agentUnavailableCode", code, sizeof code);
		check_str(st, sizeof st);
		check_text(st);
		check_text(code);
		xsi_model_agent_read(f.m, uid, st, code, mark, f.now += 10);
		xsi_model_agent_read(f.m, "1002@x", st, code, 0, f.now += 10);
	}
	xsi_call_list cl;
	if (xsi_calls_parse((const char *)data, size, &o, 3, &cl, err, sizeof err)) {
		if (cl.n > 3)
			abort();
		for (size_t i = 0; i < cl.n; i++)
			check_str(cl.ids[i], sizeof cl.ids[i]);
	} else if (cl.n || !memchr(err, '\0', sizeof err)) {
		abort();
	}
	xsi_call_list_free(&cl);
	xsi_msg c;
	if (xsi_call_parse((const char *)data, size, &o, &c, err, sizeof err)) {
		if (!c.call_id[0])
			abort();
		check_str(c.call_id, sizeof c.call_id);
		check_str(c.remote_name, sizeof c.remote_name);
		xsi_model_call_read(f.m, uid, &c, xsi_model_mark(f.m), f.now - 5000, f.now += 10);
		xsi_model_call_read(f.m, uid, &c, 0, 0, f.now += 10);
	}
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
