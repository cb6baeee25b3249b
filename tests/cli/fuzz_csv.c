/* libFuzzer target: any bytes as an import file. The reader must end, name a
 * line within the input for every error, give only valid UTF-8 fields without
 * NUL, and what the writer makes of a record must read back the same; the
 * terminal sanitiser must leave no unsafe code point in what it gives. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../../src/objects/csv.h"
#include "provdesk/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_safe(const char *s, size_t n)
{
	if (!pd_utf8_valid(s, n))
		__builtin_trap();
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0 || (pd_cp_unsafe((uint32_t)cp) && cp != '\n' && cp != '\t'))
			__builtin_trap();
		i += (size_t)k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	pd_csv_reader r;
	pd_csv_reader_init(&r, (const char *)data, size);
	pd_csv_record rec = {0};
	for (size_t guard = 0; guard <= size + 1; guard++) {
		pd_err e = {0};
		int got = pd_csv_next(&r, &rec, &e);
		if (got == 0)
			break;
		if (got < 0) {
			if (e.line < 1 || (size_t)e.line > lines || !e.message[0])
				__builtin_trap();
			continue;
		}
		for (size_t f = 0; f < rec.n; f++) {
			size_t n = strlen(rec.fields[f]);
			if (!pd_utf8_valid(rec.fields[f], n))
				__builtin_trap();
		}
		/* the writer's text reads back as the same fields (formula cells
		 * get a leading quote: compare those after it); not checked: a
		 * single empty field (written as a blank line, which is no record)
		 * and a leading BOM (skipped at the start of an input) */
		if ((rec.n == 1 && !rec.fields[0][0]) ||
		    (rec.n && !strncmp(rec.fields[0], "\xEF\xBB\xBF", 3)))
			continue;
		char *out = NULL;
		size_t outlen = 0;
		FILE *m = open_memstream(&out, &outlen);
		pd_csv_write_row(m, (const char *const *)rec.fields, rec.n);
		fclose(m);
		pd_csv_reader r2;
		pd_csv_reader_init(&r2, out, outlen);
		pd_csv_record back = {0};
		pd_err e2 = {0};
		if (pd_csv_next(&r2, &back, &e2) != 1 || back.n != rec.n)
			__builtin_trap();
		for (size_t f = 0; f < rec.n; f++) {
			const char *b = back.fields[f];
			if (pd_csv_needs_neutralising(rec.fields[f]) && b[0] == '\'')
				b++;
			if (strcmp(b, rec.fields[f]) != 0)
				__builtin_trap();
		}
		pd_csv_record_free(&back);
		free(out);
	}
	pd_csv_record_free(&rec);

	pd_buf esc = {0};
	pd_term_escape(&esc, (const char *)data, size, true);
	check_safe(esc.s ? esc.s : "", esc.len);
	pd_buf_free(&esc);
	return 0;
}
