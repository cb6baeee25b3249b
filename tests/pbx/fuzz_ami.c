/* libFuzzer target: the AMI parser fed in chunks chosen by the input itself,
 * and every message it delivers applied to the call/agent model, whose view
 * is then built (docs/architecture.md, Testing notes). Must never crash, leak or hit UB. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pbx/ami/ami_model.h"
#include "provdesk/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	ami_model *m;
	int64_t now;
} fuzz_ctx;

static void on_msg(const ami_msg *msg, void *ctx)
{
	fuzz_ctx *f = ctx;
	f->now += 250;
	ami_model_apply(f->m, msg, f->now);
	ami_model_tick(f->m, f->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* first byte: chunk size and options; small bounds so limits are exercised */
	size_t chunk = 1 + (data[0] & 0x3f);
	ami_parser_opts o = {.expect_banner = data[0] & 0x40, .max_line = 512, .max_msg = 8192};
	fuzz_ctx f = {.m = ami_model_new(), .now = 1000};
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
	while (size) {
		size_t n = size < chunk ? size : chunk;
		/* in place, as the driver feeds it, from an exact-size copy: a read
		 * or a write past the chunk is an ASan report */
		char *rw = malloc(n);
		memcpy(rw, data, n);
		ami_parser_feed_rw(p, rw, n);
		free(rw);
		data += n;
		size -= n;
	}
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
