/* RFC 4180 reader/writer. The reader works on input in memory or on a
 * stream through a window that holds about one record (the import: a
 * 100,000-row file is never held whole), and never gives up at the first bad
 * row, so the import can report every problem at once by line number. */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "provdesk/util.h"

void pd_csv_reader_init(pd_csv_reader *r, const char *data, size_t len)
{
	memset(r, 0, sizeof *r);
	r->p = data;
	r->end = data + len;
	r->line = 1;
	if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
	    (unsigned char)data[2] == 0xBF)
		r->p += 3;
}

void pd_csv_record_free(pd_csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->fields[i]);
	free(rec->fields);
	memset(rec, 0, sizeof *rec);
}

static void rec_clear(pd_csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->fields[i]);
	rec->n = 0;
}

static void rec_push(pd_csv_record *rec, const char *s, size_t n)
{
	if (rec->n == rec->cap) {
		rec->cap = rec->cap ? rec->cap * 2 : 16;
		rec->fields = xrealloc(rec->fields, rec->cap * sizeof *rec->fields);
	}
	rec->fields[rec->n++] = xstrndup(s, n);
}

/* After an error: drop the rest of the physical line. */
static void skip_line(pd_csv_reader *r)
{
	while (r->p < r->end && *r->p != '\n')
		r->p++;
	if (r->p < r->end) {
		r->p++;
		r->line++;
	}
}

#define CSV_CHUNK (64 * 1024)

void pd_csv_reader_open(pd_csv_reader *r, FILE *f, size_t max)
{
	memset(r, 0, sizeof *r);
	r->f = f;
	r->max = max;
	r->line = 1;
}

void pd_csv_reader_close(pd_csv_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

/* Keeps the unread rest of the window and appends the next chunk of the
 * stream. Sets eof when the stream ends, fails or passes max. */
static void refill(pd_csv_reader *r)
{
	size_t keep = (size_t)(r->end - r->p);
	if (keep && r->p != r->buf)
		memmove(r->buf, r->p, keep);
	if (keep + CSV_CHUNK > r->cap) {
		r->cap = (keep + CSV_CHUNK) * 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	size_t got = fread(r->buf + keep, 1, CSV_CHUNK, r->f);
	if (got < CSV_CHUNK) {
		if (ferror(r->f))
			r->read_errno = errno ? errno : EIO;
		r->eof = true;
	}
	r->total += got;
	if (r->total > r->max) {
		r->too_big = true;
		r->eof = true;
	}
	r->p = r->buf;
	r->end = r->buf + keep + got;
	if (!r->bom_done && (r->end - r->p >= 3 || r->eof)) {
		r->bom_done = true;
		if (r->end - r->p >= 3 && (unsigned char)r->p[0] == 0xEF &&
		    (unsigned char)r->p[1] == 0xBB && (unsigned char)r->p[2] == 0xBF)
			r->p += 3;
	}
}

static int parse_record(pd_csv_reader *r, pd_csv_record *rec, pd_err *e);

int pd_csv_next(pd_csv_reader *r, pd_csv_record *rec, pd_err *e)
{
	if (!r->f)
		return parse_record(r, rec, e);
	for (;;) {
		if (r->too_big || r->read_errno) {
			rec_clear(rec);
			return 0; /* the caller reports it */
		}
		const char *p0 = r->p;
		int line0 = r->line;
		int got = p0 < r->end ? parse_record(r, rec, e) : 0;
		/* A record that stopped short of the window's end is whole; one
		 * that ran into it may go on in the next chunk: read it again
		 * with more of the stream. */
		if (r->p < r->end || r->eof)
			return r->too_big || r->read_errno ? (rec_clear(rec), 0) : got;
		r->p = p0;
		r->line = line0;
		refill(r);
	}
}

static int parse_record(pd_csv_reader *r, pd_csv_record *rec, pd_err *e)
{
	rec_clear(rec);
	/* blank lines (LF or CRLF) are not records */
	for (;;) {
		if (r->p >= r->end)
			return 0;
		if (*r->p == '\n') {
			r->p++;
			r->line++;
		} else if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n') {
			r->p += 2;
			r->line++;
		} else
			break;
	}
	rec->line = r->line;
	pd_buf field = {0};
	for (;;) {
		/* one field */
		field.len = 0;
		if (r->p < r->end && *r->p == '"') {
			int open_line = r->line;
			r->p++;
			for (;;) {
				if (r->p >= r->end) {
					pd_buf_free(&field);
					pd_fail_line(
					    e, PD_E_INVALID, open_line, NULL,
					    _("unterminated quoted field (the quote opened on "
					      "line %d is never closed)"),
					    open_line);
					rec->end_line = r->line;
					return -1;
				}
				char ch = *r->p++;
				if (ch == '"') {
					if (r->p < r->end && *r->p == '"') {
						pd_buf_addc(&field, '"');
						r->p++;
						continue;
					}
					break;
				}
				if (ch == '\n')
					r->line++;
				pd_buf_addc(&field, ch);
			}
			/* after the closing quote: separator, line end or end of input */
			if (r->p < r->end && *r->p != ',' && *r->p != '\n' &&
			    !(*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n') &&
			    !(*r->p == '\r' && r->p + 1 == r->end)) {
				int line = r->line;
				pd_buf_free(&field);
				skip_line(r);
				rec->end_line = line;
				return pd_fail_line(
				           e, PD_E_INVALID, line, NULL,
				           _("unexpected character after a closing quote "
				             "(a quote inside a quoted field must be doubled)")),
				       -1;
			}
		} else {
			const char *s = r->p;
			while (r->p < r->end && *r->p != ',' && *r->p != '\n') {
				if (*r->p == '"') {
					int line = r->line;
					pd_buf_free(&field);
					skip_line(r);
					rec->end_line = line;
					return pd_fail_line(
					           e, PD_E_INVALID, line, NULL,
					           _("quote in an unquoted field (quote the "
					             "whole field and double the quote)")),
					       -1;
				}
				r->p++;
			}
			size_t n = (size_t)(r->p - s);
			if (n && s[n - 1] == '\r' && (r->p >= r->end || *r->p == '\n'))
				n--; /* CRLF line end */
			pd_buf_addn(&field, s, n);
		}
		if (field.len && memchr(field.s, '\0', field.len)) {
			/* a NUL would silently cut the field short once stored */
			int line = r->line;
			size_t at =
			    (size_t)((const char *)memchr(field.s, '\0', field.len) - field.s);
			pd_buf_free(&field);
			skip_line(r);
			rec->end_line = line;
			return pd_fail_line(
			           e, PD_E_INVALID, line, NULL,
			           _("NUL byte in field %zu (byte %zu of the field): the row "
			             "is refused, nothing of it is imported"),
			           rec->n + 1, at + 1),
			       -1;
		}
		if (!pd_utf8_valid(field.s ? field.s : "", field.len)) {
			int line = r->line;
			pd_buf_free(&field);
			skip_line(r);
			rec->end_line = line;
			return pd_fail_line(
			           e, PD_E_INVALID, line, NULL,
			           _("invalid UTF-8 in field %zu (save the file as UTF-8)"),
			           rec->n + 1),
			       -1;
		}
		rec_push(rec, field.s ? field.s : "", field.len);
		if (r->p < r->end && *r->p == '\r')
			r->p++; /* CR of a CRLF after a quoted field */
		if (r->p >= r->end)
			break;
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		/* '\n' */
		r->p++;
		rec->end_line = r->line;
		r->line++;
		pd_buf_free(&field);
		return 1;
	}
	rec->end_line = r->line;
	pd_buf_free(&field);
	return 1;
}

/* A plain number ("-3", "12.50") is no formula: it stays exact. */
static bool plain_number(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!(*s >= '0' && *s <= '9'))
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return !*s;
}

bool pd_csv_needs_neutralising(const char *s)
{
	return s && *s && strchr("=+-@\t\r", *s) && !plain_number(s);
}

void pd_csv_write_field(FILE *out, const char *s)
{
	if (!s)
		s = "";
	/* Formula injection: a spreadsheet runs a cell starting with = + - @
	 * (or tab/CR before one) as a formula, so such a text cell gets a
	 * leading apostrophe, which spreadsheets show as text (OWASP "CSV
	 * injection"). */
	bool neutral = pd_csv_needs_neutralising(s);
	if (!neutral && !strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	if (neutral && !strpbrk(s, ",\"\r\n")) {
		fputc('\'', out);
		fputs(s, out);
		return;
	}
	fputc('"', out);
	if (neutral)
		fputc('\'', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void pd_csv_write_row(FILE *out, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		pd_csv_write_field(out, fields[i]);
	}
	fputs("\r\n", out);
}
