/* The program's one clock. Every date and time goes through pd_now(), so a
 * test (or someone checking next month's billing run) sets the day with
 * PROVDESK_TODAY or the instant with PROVDESK_NOW and the whole program,
 * stored timestamps included, agrees on it. The set clock runs on in real
 * time: durations, retry delays and ticking call timers behave as they do on
 * a real clock. It starts from the set instant at the real time named by
 * PROVDESK_CLOCK_START, else when the process first reads it; a script that
 * runs several commands sets PROVDESK_CLOCK_START once, so that their clocks
 * agree and never run backwards from one command to the next (a message
 * queued by one command is due for the next). */
#include "provdesk/i18n.h"
#include "provdesk/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;
static char clock_src[80]; /* the variable's value the offset was taken for */
static int64_t clock_offset;

static int64_t real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static bool two(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" (or a space for T), "@EPOCH". */
static bool parse_instant(const char *s, int64_t *out)
{
	if (s[0] == '@') {
		char *end;
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end)
			return false;
		*out = v;
		return true;
	}
	char day[11];
	size_t n = strlen(s);
	if (n < 10)
		return false;
	memcpy(day, s, 10);
	day[10] = 0;
	pd_day d;
	if (!pd_day_parse(day, &d))
		return false;
	int hh = 0, mm = 0, ss = 0;
	if (n > 10) {
		const char *t = s + 11;
		if ((s[10] != 'T' && s[10] != ' ') || (n != 16 && n != 19) || !two(t, &hh) ||
		    t[2] != ':' || !two(t + 3, &mm) ||
		    (n == 19 && (t[5] != ':' || !two(t + 6, &ss))) || hh > 23 || mm > 59 || ss > 59)
			return false;
	}
	*out = (int64_t)d * 86400 + hh * 3600 + mm * 60 + ss;
	return true;
}

/* The variable in force and the instant it names; false when neither is set.
 * *bad is set when one is set but malformed. */
static bool clock_setting(const char **name, const char **value, int64_t *at, bool *bad)
{
	*bad = false;
	const char *v = getenv("PROVDESK_NOW");
	if (v && *v) {
		*name = "PROVDESK_NOW";
		*value = v;
		*bad = strlen(v) >= sizeof clock_src || !parse_instant(v, at);
		return !*bad;
	}
	v = getenv("PROVDESK_TODAY");
	if (v && *v) {
		pd_day d = 0;
		*name = "PROVDESK_TODAY";
		*value = v;
		*bad = strlen(v) != 10 || !pd_day_parse(v, &d);
		*at = (int64_t)d * 86400 + 12 * 3600;
		return !*bad;
	}
	return false;
}

/* PROVDESK_CLOCK_START: the real instant at which the set clock read its
 * value; false when unset (or malformed: *bad). */
static bool clock_start(int64_t *start, bool *bad)
{
	const char *v = getenv("PROVDESK_CLOCK_START");
	*bad = false;
	if (!v || !*v)
		return false;
	*bad = !parse_instant(v, start);
	return !*bad;
}

int64_t pd_now(void)
{
	const char *name, *value;
	int64_t at, start;
	bool bad;
	int64_t real = real_now();
	if (!clock_setting(&name, &value, &at, &bad))
		return real; /* a bad value was refused at start (pd_clock_check) */
	if (clock_start(&start, &bad))
		return at + (real - start);
	char src[sizeof clock_src];
	snprintf(src, sizeof src, "%s=%s", name, value);
	pthread_mutex_lock(&clock_mu);
	if (strcmp(src, clock_src) != 0) {
		snprintf(clock_src, sizeof clock_src, "%s", src);
		clock_offset = at - real;
	}
	int64_t now = real + clock_offset;
	pthread_mutex_unlock(&clock_mu);
	return now;
}

pd_day pd_today(void)
{
	int64_t t = pd_now();
	return (pd_day)(t / 86400 - (t < 0 && t % 86400 != 0));
}

pd_status pd_clock_check(pd_err *e)
{
	const char *name, *value;
	int64_t at;
	bool bad;
	int64_t start;
	if (!clock_start(&start, &bad) && bad)
		return pd_fail(e, PD_E_CONFIG, "PROVDESK_CLOCK_START",
		               _("PROVDESK_CLOCK_START=\"%.40s\" is not a time (@EPOCH or "
		                 "YYYY-MM-DDTHH:MM[:SS] UTC)"),
		               getenv("PROVDESK_CLOCK_START"));
	clock_setting(&name, &value, &at, &bad);
	if (bad)
		return pd_fail(e, PD_E_CONFIG, name, _("%s=\"%.40s\" is not %s"), name, value,
		               strcmp(name, "PROVDESK_NOW") == 0
		                   ? _("a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] UTC, or @EPOCH)")
		                   : _("a date (YYYY-MM-DD)"));
	return PD_OK;
}
