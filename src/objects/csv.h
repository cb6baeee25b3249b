/* RFC 4180 CSV: a strict reader for imports (quoted fields with commas,
 * doubled quotes and newlines; CRLF or LF; UTF-8 with or without BOM) that
 * reports errors by physical line, and a writer for exports. Its own library
 * (src/objects/meson.build): the CLI, the console and the HTTP API share it. */
#ifndef PROVDESK_CLI_CSV_H
#define PROVDESK_CLI_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "provdesk/error.h"

typedef struct {
	const char *p, *end; /* the rest of the input (in memory, or the window) */
	int line;            /* physical line of p (1-based) */
	/* a stream (pd_csv_reader_open): a window over the file, refilled as
	 * records are read, so memory holds about one record, not the file */
	FILE *f;
	char *buf;
	size_t cap, total, max;
	bool eof, bom_done;
	bool too_big; /* more than max bytes came in: reading stopped */
	int read_errno;
} pd_csv_reader;

typedef struct {
	char **fields; /* NUL-terminated copies */
	size_t n, cap;
	int line;     /* physical line where the record starts */
	int end_line; /* physical line where it ends (quoted newlines) */
} pd_csv_record;

/* data/len: the whole input. A UTF-8 BOM is skipped. */
void pd_csv_reader_init(pd_csv_reader *r, const char *data, size_t len);
/* The same records read from f a chunk at a time (f stays the caller's).
 * Reading stops after max bytes (too_big set) or at a read error
 * (read_errno set): pd_csv_next then returns 0. pd_csv_reader_close frees
 * the window. */
void pd_csv_reader_open(pd_csv_reader *r, FILE *f, size_t max);
void pd_csv_reader_close(pd_csv_reader *r);
/* 1: a record was read; 0: end of input; -1: a malformed record (e filled
 * with its line; the reader has skipped to the next line so reading can go
 * on and report every bad row). Blank lines are skipped. Fields are checked
 * for valid UTF-8. */
int pd_csv_next(pd_csv_reader *r, pd_csv_record *rec, pd_err *e);
void pd_csv_record_free(pd_csv_record *rec);

/* True when a cell starts with = + - @, tab or CR and is not a plain
 * number: a spreadsheet would run it as a formula. */
bool pd_csv_needs_neutralising(const char *s);
/* Writes one field, quoted when it holds a comma, quote, CR or LF; a cell
 * that pd_csv_needs_neutralising gets a leading ' (every CSV we write). */
void pd_csv_write_field(FILE *out, const char *s);
/* Writes n fields and CRLF (RFC 4180 line end). */
void pd_csv_write_row(FILE *out, const char *const *fields, size_t n);

#endif
