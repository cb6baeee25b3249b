/* libFuzzer target: the AMI parser fed in chunks chosen by the input itself,
 * and every message it delivers applied to the call/agent model, whose view
 * is then built (docs/architecture.md, Testing notes). Must never crash, leak or hit UB.
 * Differential too: the same bytes fed whole (where the 64-byte block paths
 * run: header bitmaps, unread events passed over) must deliver exactly what
 * the small chunks delivered (messages, errors, line numbers), with and
 * without the unread events passed over, and with the baseline (SSE2) and
 * the wide (AVX2) block scans; a difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_digest.h"

#include "../../src/pbx/ami/ami_model.h"
#include "provdesk/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void digest_msg(fuzz_digest *d, const ami_msg *m)
{
	d->n++;
	int kind = m->kind;
	fuzz_mix(d, &kind, sizeof kind);
	fuzz_mix(d, &m->line, sizeof m->line);
	fuzz_mix_str(d, m->text);
	fuzz_mix(d, &m->n, sizeof m->n);
	for (size_t i = 0; i < m->n; i++) {
		fuzz_mix_str(d, m->f[i].key);
		fuzz_mix_str(d, m->f[i].value);
	}
	fuzz_mix(d, &m->body_len, sizeof m->body_len);
	if (m->body)
		fuzz_mix(d, m->body, m->body_len);
	int ev = ami_msg_event(m);
	fuzz_mix(d, &ev, sizeof ev);
}

typedef struct {
	ami_model *m;
	int64_t now;
	fuzz_digest d;
} fuzz_ctx;

static void on_msg(const ami_msg *msg, void *ctx)
{
	fuzz_ctx *f = ctx;
	digest_msg(&f->d, msg);
	if (!f->m)
		return;
	f->now += 250;
	ami_model_apply(f->m, msg, f->now);
	ami_model_tick(f->m, f->now);
}

/* data fed in chunks of `chunk` bytes (0: whole), in place from exact-size
 * copies (a read or a write past a chunk is an ASan report) */
static void feed(ami_parser *p, const uint8_t *data, size_t size, size_t chunk)
{
	while (size) {
		size_t n = chunk && size > chunk ? chunk : size;
		char *rw = malloc(n);
		memcpy(rw, data, n);
		ami_parser_feed_rw(p, rw, n);
		free(rw);
		data += n;
		size -= n;
	}
}

/* What data parsed with o delivers, fed whole. */
static fuzz_digest whole1(const ami_parser_opts *o, const uint8_t *data, size_t size)
{
	fuzz_ctx f = {.d = fuzz_digest_new()};
	ami_parser *p = ami_parser_new(o, on_msg, &f);
	feed(p, data, size, 0);
	ami_parser_free(p);
	return f.d;
}

/* The same with the baseline block scans and, where the CPU has them, the
 * wide ones (ami_parser_wide_scan): they must agree. */
static fuzz_digest whole(const ami_parser_opts *o, const uint8_t *data, size_t size)
{
	ami_parser_wide_scan(false);
	fuzz_digest base = whole1(o, data, size);
	if (!ami_parser_wide_scan(true))
		return base;
	fuzz_digest wide = whole1(o, data, size);
	if (!fuzz_digest_same(&wide, &base))
		abort(); /* the AVX2 scans read something else than the SSE2 ones */
	return wide;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* first byte: chunk size and options; small bounds so limits are exercised */
	size_t chunk = 1 + (data[0] & 0x3f);
	ami_parser_opts o = {.expect_banner = data[0] & 0x40, .max_line = 512, .max_msg = 8192};
	fuzz_ctx f = {.m = ami_model_new(), .now = 1000, .d = fuzz_digest_new()};
	ami_model_set_default_wrapup(f.m, 2);
	/* tiny caps and age: the drop paths and the index deletions run often */
	ami_model_set_limits(
	    f.m, &(ami_model_limits){.max_calls = 8, .max_channels = 12, .max_call_age_ms = 50});
	ami_parser *p = ami_parser_new(&o, on_msg, &f);
	bool snap = data[0] & 0x80;
	data++;
	size--;
	if (snap)
		ami_model_snapshot_begin(f.m);
	feed(p, data, size, chunk);
	fuzz_digest w = whole(&o, data, size);
	if (!fuzz_digest_same(&w, &f.d))
		abort(); /* fed whole, the parser delivered something else */
	/* the same two ways with the unread events passed over */
	ami_parser_opts os = o;
	ami_skip_unread(&os);
	fuzz_ctx fs = {.d = fuzz_digest_new()};
	ami_parser *ps = ami_parser_new(&os, on_msg, &fs);
	feed(ps, data, size, chunk);
	ami_parser_free(ps);
	w = whole(&os, data, size);
	if (!fuzz_digest_same(&w, &fs.d))
		abort();
	if (snap)
		ami_model_snapshot_end(f.m, f.now);
	pd_live_view v = {0};
	ami_model_view(f.m, f.now + 60000, &v);
	pd_live_free_view(&v);
	pd_synced_user *u;
	ami_model_synced_users(f.m, &u);
	ami_parser_free(p);
	ami_model_free(f.m);
	return 0;
}
