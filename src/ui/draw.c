/* Cell-width-correct drawing of UTF-8 text (French names, box drawing, wide
 * characters) and the folded-match highlight used by filter-as-you-type. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ui_internal.h"

/* Decode UTF-8 into wide chars; invalid bytes become U+FFFD. */
static wchar_t *decode(const char *s, size_t *n, size_t **offsets)
{
	size_t len = strlen(s);
	wchar_t *w = xmalloc((len + 1) * sizeof *w);
	size_t *off = offsets ? xmalloc((len + 2) * sizeof *off) : NULL;
	size_t i = 0, k = 0;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	while (i < len) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, s + i, len - i, &st);
		if (off)
			off[k] = i;
		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&st, 0, sizeof st);
			wc = 0xFFFD;
			r = 1;
		}
		/* control characters would move the cursor: show them as spaces;
		 * the other unsafe ones (C1, direction overrides, separators:
		 * pd_cp_unsafe) would reorder or hide what follows: U+FFFD */
		if (wc < 32 || wc == 127)
			wc = ' ';
		else if (pd_cp_unsafe((uint32_t)wc))
			wc = 0xFFFD;
		w[k++] = wc;
		i += r;
	}
	if (off)
		off[k] = len;
	w[k] = 0;
	*n = k;
	if (offsets)
		*offsets = off;
	return w;
}

static int wc_cells(wchar_t c)
{
	int w = wcwidth(c);
	return w < 0 ? 1 : w;
}

static int put_wide(WINDOW *win, int y, int x, int width, const wchar_t *w, size_t n,
                    const attr_t *attrs, attr_t base, bool pad)
{
	int total = 0;
	for (size_t i = 0; i < n; i++)
		total += wc_cells(w[i]);
	bool cut = total > width;
	int budget = cut ? width - 1 : width; /* room for "…" */
	int used = 0;
	wmove(win, y, x);
	for (size_t i = 0; i < n; i++) {
		int cw = wc_cells(w[i]);
		if (used + cw > budget)
			break;
		cchar_t cc;
		wchar_t ws[2] = {w[i], 0};
		attr_t a = attrs ? attrs[i] : base;
		setcchar(&cc, ws, a, PAIR_NUMBER(a), NULL);
		/* a combining mark (cw 0) is attached to the previous cell by ncursesw */
		wadd_wch(win, &cc);
		used += cw;
	}
	if (cut && width > 0) {
		cchar_t cc;
		setcchar(&cc, L"…", base, PAIR_NUMBER(base), NULL);
		wadd_wch(win, &cc);
		used++;
	}
	if (pad)
		for (; used < width; used++) {
			cchar_t cc;
			setcchar(&cc, L" ", base, PAIR_NUMBER(base), NULL);
			wadd_wch(win, &cc);
		}
	return used;
}

int ui_put(WINDOW *win, int y, int x, int width, const char *s, attr_t attr, bool pad)
{
	if (width <= 0)
		return 0;
	size_t n;
	wchar_t *w = decode(s ? s : "", &n, NULL);
	int r = put_wide(win, y, x, width, w, n, NULL, attr, pad);
	free(w);
	return r;
}

int ui_put_match(WINDOW *win, int y, int x, int width, const char *s, const char *needle,
                 attr_t attr, attr_t hl, bool pad)
{
	if (!needle || !*needle || !s || !*s)
		return ui_put(win, y, x, width, s, attr, pad);
	if (width <= 0)
		return 0;
	size_t n;
	size_t *off;
	wchar_t *w = decode(s, &n, &off);
	attr_t *attrs = xmalloc((n + 1) * sizeof *attrs);
	for (size_t i = 0; i < n; i++)
		attrs[i] = attr;
	/* fold each character on its own so a match in the folded text maps
	 * back to characters of the original ("é" folds to "e") */
	char *fneedle = pd_fold_key(needle);
	if (fneedle && *fneedle) {
		pd_buf f = {0};
		size_t *map = xmalloc((strlen(s) * 4 + 8) * sizeof *map);
		size_t mapn = 0, mapcap = strlen(s) * 4 + 8;
		for (size_t i = 0; i < n; i++) {
			char *one = xstrndup(s + off[i], off[i + 1] - off[i]);
			char *fo = pd_fold_key(one);
			const char *add = fo ? fo : one;
			for (size_t j = 0; add[j]; j++) {
				if (mapn == mapcap) {
					mapcap *= 2;
					map = xrealloc(map, mapcap * sizeof *map);
				}
				map[mapn++] = i;
			}
			pd_buf_add(&f, add);
			free(fo);
			free(one);
		}
		if (f.s) {
			size_t nl = strlen(fneedle);
			for (const char *p = f.s; (p = strstr(p, fneedle)); p += nl) {
				size_t a = (size_t)(p - f.s), b = a + nl - 1;
				for (size_t i = map[a]; i <= map[b] && i < n; i++)
					attrs[i] = hl;
			}
		}
		pd_buf_free(&f);
		free(map);
	}
	free(fneedle);
	int r = put_wide(win, y, x, width, w, n, attrs, attr, pad);
	free(attrs);
	free(off);
	free(w);
	return r;
}

void ui_fill(WINDOW *win, int y, int x, int width, attr_t attr)
{
	if (width <= 0)
		return;
	wattrset(win, attr);
	mvwhline(win, y, x, ' ', width);
	wattrset(win, A_NORMAL);
}

void ui_box(WINDOW *win, const char *title)
{
	wattrset(win, ui_role(UI_R_DIALOG_BORDER));
	box(win, 0, 0);
	wattrset(win, A_NORMAL);
	if (title && *title) {
		int w = getmaxx(win);
		char *t = xasprintf(" %s ", title);
		ui_put(win, 0, 2, w - 4, t, ui_role(UI_R_DIALOG_TITLE), false);
		free(t);
	}
}

char *ui_cut(const char *s, int cells)
{
	size_t n;
	size_t *off;
	wchar_t *w = decode(s ? s : "", &n, &off);
	int used = 0;
	size_t i;
	int total = 0;
	for (i = 0; i < n; i++)
		total += wc_cells(w[i]);
	char *out;
	if (total <= cells) {
		out = xstrdup(s ? s : "");
	} else {
		for (i = 0; i < n && used + wc_cells(w[i]) <= cells - 1; i++)
			used += wc_cells(w[i]);
		out = xasprintf("%.*s…", (int)off[i], s);
	}
	free(off);
	free(w);
	return out;
}

void ui_columns_fit(int total, const int *base, const int *grow, int n, int *out)
{
	int used = n - 1, g = 0;
	for (int i = 0; i < n; i++) {
		used += base[i];
		g += grow[i];
	}
	for (int i = 0; i < n; i++)
		out[i] = base[i] + (total > used && g ? (total - used) * grow[i] / g : 0);
}

void ui_columns_fit_titles(int total, const char *const *titles, const int *base, const int *grow,
                           int n, int *out)
{
	int b[UI_COLUMNS_MAX], tw[UI_COLUMNS_MAX], used = n - 1;
	if (n > UI_COLUMNS_MAX)
		n = UI_COLUMNS_MAX;
	for (int i = 0; i < n; i++) {
		tw[i] = ui_text_width(titles[i]);
		b[i] = base[i] > tw[i] ? base[i] : tw[i];
		used += b[i];
	}
	/* what the titles added comes out of the growing columns, widest first,
	 * never below their own title */
	while (used > total) {
		int k = -1;
		for (int i = 0; i < n; i++)
			if (grow[i] > 0 && b[i] > tw[i] && (k < 0 || b[i] > b[k]))
				k = i;
		if (k < 0)
			break;
		b[k]--;
		used--;
	}
	ui_columns_fit(total, b, grow, n, out);
}

void ui_put_columns(WINDOW *w, int y, const char *const *cells, const int *cw, int n,
                    const bool *right, attr_t attr, const attr_t *col_attr)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		attr_t at = col_attr && col_attr[i] ? col_attr[i] : attr;
		const char *v = cells[i] ? cells[i] : "";
		int pad = 0;
		if (right && right[i]) {
			int tw = pd_utf8_width(v);
			pad = cw[i] - tw > 0 ? cw[i] - tw : 0;
		}
		ui_put(w, y, x + pad, cw[i] - pad, v, at, false);
		x += cw[i] + 1;
	}
}

size_t ui_wrap(const char *s, int width, char ***out)
{
	if (width < 1)
		width = 1;
	size_t n = 0, cap = 4;
	char **lines = xmalloc(cap * sizeof *lines);
	size_t nw;
	size_t *off;
	wchar_t *w = decode(s ? s : "", &nw, &off);
	size_t start = 0;
	while (start < nw || n == 0) {
		/* the longest run of whole words from start that fits */
		int cells = 0;
		size_t end = start, brk = 0;
		bool have_brk = false;
		while (end < nw && cells + wc_cells(w[end]) <= width) {
			cells += wc_cells(w[end]);
			end++;
			if (end < nw && w[end] == ' ') {
				brk = end;
				have_brk = true;
			}
		}
		if (end < nw && w[end] != ' ' && have_brk)
			end = brk; /* break at the last space; a longer word is cut */
		if (end == start && end < nw)
			end++; /* a character wider than the line */
		if (n == cap) {
			cap *= 2;
			lines = xrealloc(lines, cap * sizeof *lines);
		}
		lines[n++] = xstrndup(s ? s + off[start] : "", off[end] - off[start]);
		start = end;
		while (start < nw && w[start] == ' ')
			start++;
		if (nw == 0)
			break;
	}
	free(w);
	free(off);
	*out = lines;
	return n;
}

const char *ui_customer_status_label(pd_customer_status s)
{
	switch (s) {
	case PD_CS_ACTIVE:
		return _("active");
	case PD_CS_TRIAL:
		return _("trial");
	case PD_CS_TRIAL_EXPIRED:
		return _("trial-expired");
	case PD_CS_DISABLED:
		return _("disabled");
	case PD_CS_DELETED:
		return _("deleted");
	}
	return pd_customer_status_name(s);
}

int ui_text_width(const char *s)
{
	size_t n;
	wchar_t *w = decode(s ? s : "", &n, NULL);
	int cells = 0;
	for (size_t i = 0; i < n; i++)
		cells += wc_cells(w[i]);
	free(w);
	return cells;
}
