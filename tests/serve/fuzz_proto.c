/* libFuzzer target: what a client reads from the daemon (or the daemon from
 * a client) — the line reader fed in chunks the input chooses, each line
 * decoded as a message and, whatever its type, as a view and a sync. Must
 * never crash, leak or hit UB; a view that decodes must encode again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pd_sp_reader r;
	pd_sp_reader_init(&r, 4096);
	size_t off = 0;
	while (off < size) {
		size_t chunk = 1 + data[off] % 97;
		if (chunk > size - off)
			chunk = size - off;
		pd_err e;
		if (pd_sp_reader_feed(&r, (const char *)data + off, chunk, &e) != PD_OK) {
			pd_sp_reader_free(&r);
			pd_sp_reader_init(&r, 4096);
		}
		off += chunk;
		json_t *m;
		int got;
		while ((got = pd_sp_reader_next(&r, &m, &e)) != 0) {
			if (got < 0)
				continue;
			pd_live_view v;
			if (pd_sp_view_from_json(m, &v, &e) == PD_OK) {
				json_t *back = pd_sp_view_to_json(&v);
				size_t n;
				char *line = pd_sp_encode(back, &n);
				if (!line || line[n - 1] != '\n')
					abort();
				free(line);
				json_decref(back);
				pd_live_free_view(&v);
			} else if (v.users || v.calls || v.agents) {
				abort(); /* a refused view holds nothing */
			}
			int64_t cid, seq;
			pd_sync_result res;
			(void)pd_sp_sync_from_json(m, &cid, &seq, &res, &e);
			json_decref(m);
		}
	}
	pd_sp_reader_free(&r);
	return 0;
}
