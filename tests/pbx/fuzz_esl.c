/* libFuzzer target: the ESL parser fed in chunks chosen by the input itself,
 * with small bounds so every limit is reached; each delivered message is
 * checked (lengths, NUL ends, lookups), the memory bound is checked after
 * every feed, a lost framing is reset and the rest fed again, and the command
 * writer gets a slice of the input. Must never crash, leak or hit UB.
 * Differential too: when framing was never lost, the same bytes fed whole
 * must deliver exactly what the chunks delivered (messages, errors, their
 * numbers and offsets); a difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_digest.h"

#include "provdesk/esl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_headers(const esl_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(h[i].name) != h[i].name_len || strlen(h[i].value) != h[i].value_len ||
		    h[i].name_len == 0)
			abort();
}

static void mix_headers(fuzz_digest *d, const esl_header *h, size_t n)
{
	fuzz_mix(d, &n, sizeof n);
	for (size_t i = 0; i < n; i++) {
		fuzz_mix(d, h[i].name, h[i].name_len + 1);
		fuzz_mix(d, h[i].value, h[i].value_len + 1);
	}
}

static void on_msg(const esl_msg *m, void *ctx)
{
	fuzz_digest *d = ctx;
	d->n++;
	int kind = m->kind;
	fuzz_mix(d, &kind, sizeof kind);
	fuzz_mix_str(d, m->content_type);
	mix_headers(d, m->h, m->nh);
	mix_headers(d, m->ev, m->nev);
	fuzz_mix_str(d, m->event_name);
	fuzz_mix_str(d, m->event_subclass);
	fuzz_mix(d, &m->json, sizeof m->json);
	fuzz_mix(d, &m->body_len, sizeof m->body_len);
	if (m->body)
		fuzz_mix(d, m->body, m->body_len);
	fuzz_mix_str(d, m->text);
	fuzz_mix(d, &m->fatal, sizeof m->fatal);
	fuzz_mix(d, &m->msg_no, sizeof m->msg_no);
	fuzz_mix(d, &m->offset, sizeof m->offset);
	if (!m->content_type || (m->kind == ESL_MSG_ERROR) != (m->text != NULL))
		abort();
	check_headers(m->h, m->nh);
	check_headers(m->ev, m->nev);
	if (m->body && m->body[m->body_len] != '\0')
		abort();
	if (m->kind == ESL_MSG_EVENT) {
		if (!m->event_name || strcmp(m->event_name, esl_event_get0(m, "Event-Name")))
			abort();
		(void)esl_event_get(m, "Unique-ID");
	}
	(void)esl_get(m, "Content-Length");
	(void)esl_reply_ok(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* first byte: chunk size; small bounds so limits are exercised */
	size_t chunk = 1 + (data[0] & 0x3f);
	esl_parser_opts o = {.max_line = 512, .max_headers = 32, .max_msg = 8192};
	fuzz_digest d = fuzz_digest_new();
	esl_parser *p = esl_parser_new(&o, on_msg, &d);
	bool lost = false;
	data++;
	size--;
	const uint8_t *all = data;
	size_t all_size = size;
	while (size) {
		size_t n = size < chunk ? size : chunk;
		esl_parser_feed(p, (const char *)data, n);
		/* line + message + decoded event + tables, with doubling slack */
		if (esl_parser_memory(p) > 96 * 1024)
			abort();
		if (esl_parser_failed(p)) {
			lost = true;
			esl_parser_reset(p);
		}
		data += n;
		size -= n;
	}
	esl_parser_free(p);
	/* fed whole: the same, when neither lost the framing */
	fuzz_digest w = fuzz_digest_new();
	esl_parser *pw = esl_parser_new(&o, on_msg, &w);
	esl_parser_feed(pw, (const char *)all, all_size);
	if (!lost && !esl_parser_failed(pw) && !fuzz_digest_same(&w, &d))
		abort();
	esl_parser_free(pw);
	/* the writer: the first line of the input as a command never injects */
	char cmd[256];
	size_t n = all_size < sizeof cmd - 1 ? all_size : sizeof cmd - 1;
	memcpy(cmd, all, n);
	cmd[n] = '\0';
	pd_buf b = {0};
	if (esl_put_api(&b, cmd, NULL) == PD_OK) {
		const char *nl = strchr(b.s, '\n');
		if (!nl || strcmp(nl, "\n\n") != 0 || strchr(b.s, '\r'))
			abort();
	} else if (b.len) {
		abort();
	}
	pd_buf_free(&b);
	return 0;
}
