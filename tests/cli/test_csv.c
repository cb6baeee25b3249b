/* The import's RFC 4180 reader: fields, quoting, line numbers, errors and
 * recovery, and the export writer round-tripping through it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/objects/csv.h"

typedef struct {
	pd_csv_reader r;
	pd_csv_record rec;
	pd_err e;
} rd;

static void start(rd *x, const char *s)
{
	memset(x, 0, sizeof *x);
	pd_csv_reader_init(&x->r, s, strlen(s));
}

static int next(rd *x)
{
	pd_err_clear(&x->e);
	return pd_csv_next(&x->r, &x->rec, &x->e);
}

static void expect_row(rd *x, int line, size_t n, const char *const *want)
{
	cr_assert_eq(next(x), 1, "expected a record at line %d: %s", line, x->e.message);
	cr_assert_eq(x->rec.line, line);
	cr_assert_eq(x->rec.n, n, "line %d: %zu fields", line, x->rec.n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(x->rec.fields[i], want[i], "line %d field %zu", line, i);
}

Test(csv, plain_lf_and_crlf)
{
	rd x;
	start(&x, "a,b,c\n1,2,3\r\n,,\n");
	expect_row(&x, 1, 3, (const char *[]){"a", "b", "c"});
	expect_row(&x, 2, 3, (const char *[]){"1", "2", "3"});
	expect_row(&x, 3, 3, (const char *[]){"", "", ""});
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
}

Test(csv, bom_is_skipped_and_no_final_newline)
{
	rd x;
	start(&x, "\xef\xbb\xbfname,x\r\nSoci\xc3\xa9t\xc3\xa9,\"y\"");
	expect_row(&x, 1, 2, (const char *[]){"name", "x"});
	expect_row(&x, 2, 2, (const char *[]){"Société", "y"});
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
}

Test(csv, quoting_commas_quotes_newlines_and_line_numbers)
{
	rd x;
	start(&x, "h1,h2\n\"a,b\",\"say \"\"hi\"\"\"\n\"multi\nline\r\nfield\",z\nlast,\"\"\n");
	expect_row(&x, 1, 2, (const char *[]){"h1", "h2"});
	expect_row(&x, 2, 2, (const char *[]){"a,b", "say \"hi\""});
	expect_row(&x, 3, 2, (const char *[]){"multi\nline\r\nfield", "z"});
	cr_assert_eq(x.rec.end_line, 5);
	expect_row(&x, 6, 2, (const char *[]){"last", ""});
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
}

Test(csv, blank_lines_are_skipped_but_counted)
{
	rd x;
	start(&x, "a\n\n\r\nb\n");
	expect_row(&x, 1, 1, (const char *[]){"a"});
	expect_row(&x, 4, 1, (const char *[]){"b"});
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
}

Test(csv, errors_name_the_line_and_reading_goes_on)
{
	rd x;
	start(&x,
	      "ok,1\nbad\"quote,2\n\"closed\"junk,3\nfine,4\nbad \xff utf8,5\n\"open,6\nmore\n");
	expect_row(&x, 1, 2, (const char *[]){"ok", "1"});
	cr_assert_eq(next(&x), -1);
	cr_assert_eq(x.e.line, 2);
	cr_assert(strstr(x.e.message, "quote in an unquoted field"));
	cr_assert_eq(next(&x), -1);
	cr_assert_eq(x.e.line, 3);
	cr_assert(strstr(x.e.message, "after a closing quote"));
	expect_row(&x, 4, 2, (const char *[]){"fine", "4"});
	cr_assert_eq(next(&x), -1);
	cr_assert_eq(x.e.line, 5);
	cr_assert(strstr(x.e.message, "invalid UTF-8"));
	cr_assert_eq(next(&x), -1);
	cr_assert_eq(x.e.line, 6);
	cr_assert(strstr(x.e.message, "unterminated"));
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
}

/* A NUL inside a field (quoted or not) refuses that row with its line and
 * field, and the next row is read: nothing is cut short silently. */
Test(csv, nul_byte_refuses_the_row_and_names_line_and_field)
{
	static const char in[] = "a,b\nx,ann\0@evil.test\n\"q\0\",y\nc,d\n";
	rd x;
	memset(&x, 0, sizeof x);
	pd_csv_reader_init(&x.r, in, sizeof in - 1);
	expect_row(&x, 1, 2, (const char *[]){"a", "b"});
	cr_assert_eq(next(&x), -1);
	cr_assert(strstr(x.e.message, "NUL byte in field 2 (byte 4"), "%s", x.e.message);
	cr_assert_eq(x.e.line, 2);
	cr_assert_eq(next(&x), -1);
	cr_assert(strstr(x.e.message, "NUL byte in field 1"), "%s", x.e.message);
	cr_assert_eq(x.e.line, 3);
	expect_row(&x, 4, 2, (const char *[]){"c", "d"});
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
}

Test(csv, writer_round_trips_through_the_reader)
{
	const char *fields[] = {
	    "plain", "a,b", "say \"hi\"", "two\nlines", "", "Société Générale", "cr\r\nlf"};
	size_t n = sizeof fields / sizeof fields[0];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	pd_csv_write_row(f, fields, n);
	pd_csv_write_row(f, fields, n);
	fclose(f);
	cr_assert(strstr(buf, "\"a,b\",\"say \"\"hi\"\"\""));
	rd x;
	memset(&x, 0, sizeof x);
	pd_csv_reader_init(&x.r, buf, len);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(next(&x), 1, "%s", x.e.message);
		cr_assert_eq(x.rec.n, n);
		for (size_t i = 0; i < n; i++)
			cr_assert_str_eq(x.rec.fields[i], fields[i]);
	}
	cr_assert_eq(next(&x), 0);
	pd_csv_record_free(&x.rec);
	free(buf);
}

static char *row_text(const char *const *fields, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	pd_csv_write_row(f, fields, n);
	fclose(f);
	return buf;
}

/* Formula injection: a cell a spreadsheet would run as a formula gets a
 * leading apostrophe, in every CSV the program writes (billing, audit);
 * plain numbers and other text are written as they are. */
Test(csv, writer_neutralises_formula_cells)
{
	const char *fields[] = {"=HYPERLINK(\"http://x\",\"y\")",
	                        "+cmd",
	                        "-2+3",
	                        "@SUM(A1)",
	                        "\tx",
	                        "\r=1",
	                        "-12.50",
	                        "+3",
	                        "19.00",
	                        "a=b",
	                        "",
	                        "-",
	                        "Ok"};
	char *t = row_text(fields, sizeof fields / sizeof fields[0]);
	cr_assert_str_eq(t,
	                 "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+cmd,'-2+3,'@SUM(A1),'\tx,"
	                 "\"'\r=1\",-12.50,+3,19.00,a=b,,'-,Ok\r\n");
	free(t);
	cr_assert(pd_csv_needs_neutralising("=1"));
	cr_assert(pd_csv_needs_neutralising("-1-1"));
	cr_assert_not(pd_csv_needs_neutralising("-1"));
	cr_assert_not(pd_csv_needs_neutralising("1.5"));
	cr_assert_not(pd_csv_needs_neutralising(""));
	cr_assert_not(pd_csv_needs_neutralising(NULL));
	cr_assert(pd_csv_needs_neutralising("-1."), "not a plain number");
}

Test(csv, arbitrary_bytes_never_crash)
{
	/* a small deterministic fuzz: every record ends, every error names a line */
	unsigned s = 12345;
	const char alphabet[] = "a,\"\r\n\xc3\xa9\xff ";
	char in[257];
	for (int round = 0; round < 2000; round++) {
		size_t len = (s = s * 1103515245 + 12345) % 256;
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[(s = s * 1103515245 + 12345) % (sizeof alphabet - 1)];
		in[len] = 0;
		rd x;
		memset(&x, 0, sizeof x);
		pd_csv_reader_init(&x.r, in, len);
		int got, steps = 0;
		while ((got = next(&x)) != 0) {
			cr_assert(++steps <= 300, "reader does not advance");
			if (got < 0)
				cr_assert(x.e.line >= 1);
		}
		pd_csv_record_free(&x.rec);
	}
}

/* The import reads a stream through a window of about one record: the same
 * records, errors and line numbers as the whole input in memory, with
 * records (quoted line breaks, CRLF, a BOM, bad rows) cut at every place by
 * the 64 KiB chunks; and reading stops past the size limit. */
Test(csv, stream_reads_the_same_records_as_memory)
{
	unsigned s = 777;
	const char alphabet[] = "ab,\"\r\n\xc3\xa9 xyz0";
	size_t len = 600 * 1024;
	char *in = malloc(len + 1);
	memcpy(in, "\xef\xbb\xbfh1,h2\r\n", 10);
	for (size_t i = 10; i < len; i++)
		in[i] = alphabet[(s = s * 1103515245 + 12345) % (sizeof alphabet - 1)];
	in[len] = 0;
	FILE *f = fmemopen(in, len, "r");
	cr_assert_not_null(f);
	rd m, st;
	memset(&m, 0, sizeof m);
	memset(&st, 0, sizeof st);
	pd_csv_reader_init(&m.r, in, len);
	pd_csv_reader_open(&st.r, f, len);
	size_t records = 0;
	for (;;) {
		int a = next(&m), b = next(&st);
		cr_assert_eq(b, a, "record %zu", records);
		if (!a)
			break;
		records++;
		if (a < 0) {
			cr_assert_eq(st.e.line, m.e.line);
			cr_assert_str_eq(st.e.message, m.e.message);
			continue;
		}
		cr_assert_eq(st.rec.line, m.rec.line, "record %zu", records);
		cr_assert_eq(st.rec.n, m.rec.n, "line %d", m.rec.line);
		for (size_t i = 0; i < m.rec.n; i++)
			cr_assert_str_eq(st.rec.fields[i], m.rec.fields[i], "line %d", m.rec.line);
	}
	cr_assert_gt(records, 1000);
	cr_expect_not(st.r.too_big);
	cr_expect_lt(st.r.cap, 512 * 1024, "the window stays small: %zu", st.r.cap);
	pd_csv_record_free(&m.rec);
	pd_csv_record_free(&st.rec);
	pd_csv_reader_close(&st.r);
	fclose(f);

	/* over the limit: reading stops and says so */
	f = fmemopen(in, len, "r");
	pd_csv_reader_open(&st.r, f, 100 * 1024);
	while (next(&st) != 0)
		;
	cr_expect(st.r.too_big);
	pd_csv_record_free(&st.rec);
	pd_csv_reader_close(&st.r);
	fclose(f);
	free(in);
}
