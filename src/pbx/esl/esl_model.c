/* The FreeSWITCH model: see esl_model.h for what it keeps and the rules.
 * Every value from the PBX is cleaned (invalid UTF-8, C0/C1 controls, bidi
 * overrides -> '?') and cut at ESL_FIELD_MAX bytes before it is kept; the
 * legs, calls, users and agents are bounded by the limits. */
#include "esl_model.h"
#include "../model_index.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ESL_FIELD_MAX 256       /* bytes kept of one value */
#define ESL_AGENT_QUEUES_MAX 32 /* queues listed per agent */

typedef struct {
	char *uid, *call; /* Unique-ID, and the call it belongs to */
	char *name;       /* Channel-Name */
	char *user;       /* "1001" of sofia/<profile>/1001@..., else NULL */
	char *user_ep;    /* "1002@default" of sofia/internal/1002@default */
	char *presence;   /* "1001@default" when the PBX says, else NULL */
	char *cid_num, *cid_name, *dest;
	char *cc_agent; /* the mod_callcenter agent this leg rings */
	bool inbound, internal_profile, answered, held, bridged, seen;
} leg;

typedef struct {
	char *id;
	char *queue, *agent; /* agent: mod_callcenter agent id */
	char *from, *from_name, *to;
	pd_call_dir dir;
	bool queued;
	pd_call_state state;
	int64_t start, since, end;
	size_t *lg; /* its legs (indexes into esl_model.l) */
	size_t nlg, lgcap;
} call;

typedef struct {
	char *endpoint; /* "1001@default" */
	char *user, *domain, *name, *email;
	bool in_dir; /* listed by list_users (registrations alone do not make a user) */
	int reg;     /* -1 unknown, 0 not registered, 1 registered */
} user;

enum ag_status { AS_AVAILABLE, AS_ON_DEMAND, AS_ON_BREAK, AS_LOGGED_OUT, AS_OTHER };
enum ag_state { AT_WAITING, AT_RECEIVING, AT_IN_CALL, AT_IDLE, AT_RESERVED, AT_OTHER };

typedef struct {
	char *id;      /* "1001@default" */
	char *contact; /* user endpoint of the agent ("1001@default"), else the id */
	char *status_text;
	char *leg; /* the agent's leg while on a queue call (agent list "uuid") */
	enum ag_status status;
	enum ag_state state;
	char *queues[ESL_AGENT_QUEUES_MAX];
	size_t nq;
	int wrapup; /* seconds, -1 = the default */
	int64_t wrapup_until;
	pd_agent_state disp;
	int64_t since;
	bool listed; /* seen in the agent list being applied */
} agent;

/* id -> index into an array (model_index.h) */
typedef pd_sidx sidx;

struct esl_model {
	esl_model_limits lim;
	/* The PBX's clock: its epoch ms minus our monotonic ms, from the last
	 * event's Event-Date-Timestamp; a call found by a snapshot starts at its
	 * created_epoch on this clock. */
	int64_t pbx_off_ms;
	bool have_pbx_clock;
	sidx lidx, kidx, uidx, aidx; /* legs by Unique-ID, calls by id, users by endpoint,
	                              * agents by id */
	size_t held;                 /* legs on hold now */
	esl_model_stats st;
	leg *l;
	size_t nl, lcap;
	call *k;
	size_t nk, kcap;
	user *u;
	size_t nu, ucap;
	size_t users_refused; /* at lim.max_users, in the last list_users reply */
	/* the directory (in_dir) users' indexes in u, in order, made when a
	 * list_users reply is applied: count and i-th in constant time, not a
	 * pass over the users each (a discovery asks for each user's email) */
	size_t *dir;
	size_t ndir;
	agent *a;
	size_t na, acap;
	size_t n_wrapup; /* agents with wrapup_until set: tick and deadline skip
	                  * the agents while none is */
	int default_wrapup;
	bool snap_active;
	pd_synced_user *sync_buf;
};

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap)*2 : 4;                                               \
			(arr) = xrealloc((arr), (cap) * sizeof *(arr));                            \
		}                                                                                  \
	} while (0)

esl_model *esl_model_new(void)
{
	esl_model *m = xcalloc(1, sizeof *m);
	esl_model_set_limits(m, NULL);
	return m;
}

void esl_model_set_limits(esl_model *m, const esl_model_limits *l)
{
	m->lim = pd_model_limits_fill(l);
}

size_t esl_model_users_refused(const esl_model *m)
{
	return m->users_refused;
}

void esl_model_get_stats(const esl_model *m, esl_model_stats *out)
{
	*out = m->st;
	out->calls = m->nk;
	out->channels = m->nl;
	out->calls_full = m->nk >= m->lim.max_calls;
	out->channels_full = m->nl >= m->lim.max_channels;
}

void esl_model_set_default_wrapup(esl_model *m, int seconds)
{
	m->default_wrapup = seconds > 0 ? seconds : 0;
}

static void leg_free(leg *x)
{
	free(x->uid);
	free(x->call);
	free(x->name);
	free(x->user);
	free(x->user_ep);
	free(x->presence);
	free(x->cid_num);
	free(x->cid_name);
	free(x->dest);
	free(x->cc_agent);
}

static void call_free(call *k)
{
	free(k->lg);
	free(k->id);
	free(k->queue);
	free(k->agent);
	free(k->from);
	free(k->from_name);
	free(k->to);
}

static void user_free(user *u)
{
	free(u->endpoint);
	free(u->user);
	free(u->domain);
	free(u->name);
	free(u->email);
}

static void agent_free(agent *a)
{
	free(a->id);
	free(a->contact);
	free(a->status_text);
	free(a->leg);
	for (size_t i = 0; i < a->nq; i++)
		free(a->queues[i]);
}

void esl_model_reset_live(esl_model *m)
{
	for (size_t i = 0; i < m->nl; i++)
		leg_free(&m->l[i]);
	m->nl = 0;
	for (size_t i = 0; i < m->nk; i++)
		call_free(&m->k[i]);
	m->nk = 0;
	pd_sidx_free(&m->lidx);
	pd_sidx_free(&m->kidx);
	m->held = 0;
	for (size_t i = 0; i < m->na; i++)
		agent_free(&m->a[i]);
	m->na = 0;
	m->n_wrapup = 0;
	pd_sidx_free(&m->aidx);
	m->snap_active = false;
}

void esl_model_reset_users(esl_model *m)
{
	for (size_t i = 0; i < m->nu; i++)
		user_free(&m->u[i]);
	m->nu = 0;
	m->ndir = 0;
	pd_sidx_free(&m->uidx);
}

void esl_model_free(esl_model *m)
{
	if (!m)
		return;
	esl_model_reset_live(m);
	esl_model_reset_users(m);
	free(m->l);
	free(m->k);
	free(m->u);
	free(m->dir);
	free(m->a);
	free(m->sync_buf);
	free(m);
}

/* ---- values from the PBX ---- */

/* C1 controls (U+0080-U+009F) and bidi embeddings, overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069): valid UTF-8 that a terminal obeys or that
 * makes a name read other than it is. Length of the sequence at s, 0 when
 * none. s is NUL-terminated. */
static size_t hostile_seq(const unsigned char *s)
{
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && s[1] &&
	    ((s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
	     (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)))
		return 3;
	return 0;
}

/* A clean copy of n bytes of s (NULL for NULL or empty): control bytes,
 * invalid UTF-8, C1 and bidi become '?', and the value is cut at
 * ESL_FIELD_MAX bytes on a character boundary. A repair is counted. */
static char *clean_n(esl_model *m, const char *s, size_t n)
{
	if (!s || !n)
		return NULL;
	bool repaired = false;
	if (n > ESL_FIELD_MAX) {
		n = pd_utf8_cut(s, n, ESL_FIELD_MAX);
		repaired = true;
	}
	char *r = xstrndup(s, n);
	n = strlen(r); /* a NUL inside ends it */
	bool utf8 = pd_utf8_valid(r, n);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)r[i];
		size_t h = utf8 && c >= 0xc2 ? hostile_seq((const unsigned char *)r + i) : 0;
		if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) {
			r[o++] = '?';
			i++;
			repaired = true;
		} else if (h) {
			r[o++] = '?';
			i += h;
			repaired = true;
		} else {
			r[o++] = r[i++];
		}
	}
	r[o] = '\0';
	if (repaired)
		m->st.bad_fields++;
	return r;
}

static char *clean(esl_model *m, const char *s)
{
	return s ? clean_n(m, s, strlen(s)) : NULL;
}

/* Replace *p with a clean copy of v when v is given (absent keeps the old value). */
static void keep(esl_model *m, char **p, const char *v)
{
	if (!v || !*v)
		return;
	char *c = clean(m, v);
	if (*p && !strcmp(*p, c)) {
		free(c);
		return;
	}
	free(*p);
	*p = c;
}

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* ---- indexes ---- */

#define SLOT_EMPTY PD_SIDX_NONE

static const char *leg_key(const void *p, size_t i)
{
	const esl_model *m = p;
	return m->l[i].uid;
}

static const char *call_key(const void *p, size_t i)
{
	const esl_model *m = p;
	return m->k[i].id;
}

static const char *user_key(const void *p, size_t i)
{
	const esl_model *m = p;
	return m->u[i].endpoint;
}

static const char *agent_key(const void *p, size_t i)
{
	const esl_model *m = p;
	return m->a[i].id;
}

/* ---- users ---- */

static user *user_find(esl_model *m, const char *endpoint)
{
	size_t i = pd_sidx_find(m, &m->uidx, user_key, endpoint);
	return i == SLOT_EMPTY ? NULL : &m->u[i];
}

/* The user USER@DOMAIN, created (not in the directory) when asked. */
static user *user_get(esl_model *m, const char *uid, const char *domain, bool create)
{
	if (!uid || !*uid || !domain || !*domain)
		return NULL;
	char *u = clean(m, uid), *d = clean(m, domain);
	pd_buf b = {0};
	pd_buf_printf(&b, "%s@%s", u, d);
	char *ep = pd_buf_steal(&b);
	user *r = user_find(m, ep);
	if (!r && create) {
		if (m->nu >= m->lim.max_channels || m->nu >= m->lim.max_users) {
			m->st.dropped_other++;
		} else {
			GROW(m->u, m->nu, m->ucap);
			r = &m->u[m->nu++];
			*r = (user){.endpoint = ep, .user = u, .domain = d, .reg = -1};
			pd_sidx_added(m, &m->uidx, user_key, m->nu);
			return r;
		}
	}
	free(ep);
	free(u);
	free(d);
	return r;
}

/* ---- agents ---- */

static agent *agent_find(esl_model *m, const char *id, bool create)
{
	if (!id || !*id)
		return NULL;
	size_t i = pd_sidx_find(m, &m->aidx, agent_key, id);
	if (i != SLOT_EMPTY)
		return &m->a[i];
	if (!create)
		return NULL;
	if (m->na >= m->lim.max_channels) {
		m->st.dropped_other++;
		return NULL;
	}
	GROW(m->a, m->na, m->acap);
	agent *a = &m->a[m->na++];
	/* mod_callcenter's defaults until a list or an event says otherwise */
	*a = (agent){.id = clean(m, id), .status = AS_AVAILABLE, .state = AT_WAITING, .wrapup = -1};
	a->disp = PD_AGENT_AVAILABLE;
	pd_sidx_added(m, &m->aidx, agent_key, m->na);
	return a;
}

static void agent_add_queue(esl_model *m, agent *a, const char *q)
{
	if (!q || !*q)
		return;
	for (size_t i = 0; i < a->nq; i++)
		if (!strcmp(a->queues[i], q))
			return;
	if (a->nq >= ESL_AGENT_QUEUES_MAX) {
		m->st.dropped_other++;
		return;
	}
	a->queues[a->nq++] = clean(m, q);
}

static void agent_set_status(esl_model *m, agent *a, const char *s)
{
	if (!s)
		return;
	a->status = !strcmp(s, "Available")               ? AS_AVAILABLE
	            : !strcmp(s, "Available (On Demand)") ? AS_ON_DEMAND
	            : !strcmp(s, "On Break")              ? AS_ON_BREAK
	            : !strcmp(s, "Logged Out")            ? AS_LOGGED_OUT
	                                                  : AS_OTHER;
	keep(m, &a->status_text, s);
}

static void agent_set_state(agent *a, const char *s)
{
	if (!s)
		return;
	a->state = !strcmp(s, "Waiting")           ? AT_WAITING
	           : !strcmp(s, "Receiving")       ? AT_RECEIVING
	           : !strcmp(s, "In a queue call") ? AT_IN_CALL
	           : !strcmp(s, "Idle")            ? AT_IDLE
	           : !strcmp(s, "Reserved")        ? AT_RESERVED
	                                           : AT_OTHER;
}

static int agent_reg(esl_model *m, const agent *a)
{
	user *u = user_find(m, a->contact ? a->contact : a->id);
	return u ? u->reg : -1;
}

static leg *leg_find(esl_model *m, const char *uid);

static bool agent_leg_held(esl_model *m, const agent *a)
{
	const leg *x = m->held ? leg_find(m, a->leg) : NULL;
	return x && x->held;
}

/* status x state -> what the console shows (docs/architecture.md). */
static pd_agent_state agent_compute(esl_model *m, agent *a, int64_t now)
{
	if (a->status == AS_LOGGED_OUT)
		return PD_AGENT_LOGGED_OFF;
	if (a->state == AT_RECEIVING)
		return PD_AGENT_RINGING;
	if (a->state == AT_IN_CALL)
		return agent_leg_held(m, a) ? PD_AGENT_ON_HOLD : PD_AGENT_ON_CALL;
	if (a->status == AS_ON_BREAK || a->status == AS_OTHER)
		return PD_AGENT_NOT_READY;
	if (agent_reg(m, a) == 0)
		return PD_AGENT_OFFLINE;
	if (a->state == AT_IDLE)
		return PD_AGENT_NOT_READY;
	if (a->wrapup_until > now)
		return PD_AGENT_WRAPUP;
	return PD_AGENT_AVAILABLE;
}

static const char *agent_reason(const agent *a)
{
	if (a->status == AS_ON_BREAK || a->status == AS_OTHER)
		return a->status_text ? a->status_text : "On Break";
	return a->state == AT_IDLE ? "Idle" : NULL;
}

static bool agent_update(esl_model *m, agent *a, int64_t now)
{
	pd_agent_state st = agent_compute(m, a, now);
	if (st == a->disp && a->since)
		return false;
	if (st != a->disp || !a->since)
		a->since = now;
	a->disp = st;
	return true;
}

static bool agents_update(esl_model *m, int64_t now)
{
	bool changed = false;
	for (size_t i = 0; i < m->na; i++)
		changed |= agent_update(m, &m->a[i], now);
	return changed;
}

/* ---- legs and calls ---- */

static leg *leg_find(esl_model *m, const char *uid)
{
	if (!uid || !*uid)
		return NULL;
	size_t i = pd_sidx_find(m, &m->lidx, leg_key, uid);
	return i == SLOT_EMPTY ? NULL : &m->l[i];
}

static call *call_find(esl_model *m, const char *id)
{
	size_t i = pd_sidx_find(m, &m->kidx, call_key, id);
	return i == SLOT_EMPTY ? NULL : &m->k[i];
}

static void call_add_leg(call *k, size_t li)
{
	if (k->nlg == k->lgcap) {
		k->lgcap = k->lgcap ? k->lgcap * 2 : 4;
		k->lg = xrealloc(k->lg, k->lgcap * sizeof *k->lg);
	}
	k->lg[k->nlg++] = li;
}

static void call_del_leg(call *k, size_t li)
{
	for (size_t i = 0; k && i < k->nlg; i++)
		if (k->lg[i] == li) {
			k->lg[i] = k->lg[--k->nlg];
			return;
		}
}

static void call_renumber_leg(call *k, size_t from, size_t to)
{
	for (size_t i = 0; k && i < k->nlg; i++)
		if (k->lg[i] == from)
			k->lg[i] = to;
}

static void set_held(esl_model *m, leg *x, bool on)
{
	if (x->held != on)
		m->held += on ? 1 : (size_t)-1;
	x->held = on;
}

/* The lab's call generator (tests/fixtures/freeswitch/README.md): not a call. */
static bool ignored_channel(const char *name)
{
	return name && !strncmp(name, "sofia/callgen/", 14);
}

/* "sofia/internal/1001@127.0.0.1:5271" -> profile "internal", user "1001". */
static void channel_user(esl_model *m, leg *x)
{
	const char *n = x->name;
	if (!n || strncmp(n, "sofia/", 6))
		return;
	const char *p = n + 6, *slash = strchr(p, '/');
	if (!slash)
		return;
	x->internal_profile = (size_t)(slash - p) == 8 && !strncmp(p, "internal", 8);
	const char *u = slash + 1, *at = strchr(u, '@');
	size_t len = at ? (size_t)(at - u) : strlen(u);
	free(x->user);
	x->user = clean_n(m, u, len);
	free(x->user_ep);
	x->user_ep = clean_n(m, u, strcspn(u, ":;"));
}

/* A leg of a user: a phone (the internal profile, or a directory user). */
static bool endpoint_leg(esl_model *m, const leg *x)
{
	if (x->internal_profile)
		return true;
	const user *u = x->presence ? user_find(m, x->presence) : NULL;
	if (!u && x->user_ep)
		u = user_find(m, x->user_ep);
	return u && u->in_dir;
}

static pd_call_state call_compute(esl_model *m, call *k)
{
	size_t n = 0;
	bool held = false, bridged = false, ringing = false;
	for (size_t i = 0; i < k->nlg; i++) {
		leg *x = &m->l[k->lg[i]];
		n++;
		held |= x->held;
		bridged |= x->bridged;
		ringing |= !x->answered;
	}
	if (n == 0)
		return PD_CALL_ENDED;
	if (held)
		return PD_CALL_HELD;
	if (bridged)
		return PD_CALL_CONNECTED;
	if (k->queued)
		return PD_CALL_QUEUED;
	return ringing ? PD_CALL_RINGING : PD_CALL_CONNECTED;
}

/* Who called whom, from the call's first leg (kept once the legs are gone). */
static void call_describe(esl_model *m, call *k)
{
	leg *origin = NULL;
	bool other_endpoint = false;
	for (size_t i = 0; i < k->nlg; i++)
		if (!strcmp(m->l[k->lg[i]].uid, k->id))
			origin = &m->l[k->lg[i]];
	if (!origin && k->nlg)
		origin = &m->l[k->lg[0]];
	if (!origin)
		return;
	for (size_t i = 0; i < k->nlg; i++)
		if (&m->l[k->lg[i]] != origin && endpoint_leg(m, &m->l[k->lg[i]]))
			other_endpoint = true;
	pd_set_str(&k->from, origin->cid_num);
	pd_set_str(&k->from_name, origin->cid_name);
	pd_set_str(&k->to, origin->dest);
	if (origin->inbound && endpoint_leg(m, origin))
		k->dir = other_endpoint ? PD_DIR_INTERNAL : PD_DIR_OUTBOUND;
	else
		k->dir = PD_DIR_INBOUND;
}

static bool call_update(esl_model *m, call *k, int64_t now)
{
	if (!k)
		return false;
	call_describe(m, k);
	pd_call_state st = call_compute(m, k);
	if (st == k->state)
		return false;
	k->end = st == PD_CALL_ENDED ? now : 0;
	k->state = st;
	k->since = now;
	return true;
}

/* A call without legs leaves (its legs were removed or moved). */
static void call_remove(esl_model *m, call *k)
{
	size_t i = (size_t)(k - m->k), last = m->nk - 1;
	pd_sidx_remove(m, &m->kidx, call_key, i, last);
	call_free(k);
	m->k[i] = m->k[last];
	m->nk--;
}

static call *call_new(esl_model *m, const char *id, int64_t now)
{
	if (m->nk >= m->lim.max_calls) {
		m->st.dropped_calls++;
		return NULL;
	}
	GROW(m->k, m->nk, m->kcap);
	call *k = &m->k[m->nk++];
	*k = (call){.id = xstrdup(id), .state = PD_CALL_RINGING, .start = now, .since = now};
	pd_sidx_added(m, &m->kidx, call_key, m->nk);
	return k;
}

/* Remove a leg, its call not updated; the last leg moves into its place. */
static void leg_drop(esl_model *m, leg *x)
{
	size_t i = (size_t)(x - m->l), last = m->nl - 1;
	call_del_leg(call_find(m, x->call), i);
	pd_sidx_remove(m, &m->lidx, leg_key, i, last);
	set_held(m, x, false);
	leg_free(x);
	if (last != i) {
		m->l[i] = m->l[last];
		call_renumber_leg(call_find(m, m->l[i].call), last, i);
	}
	m->nl--;
}

/* Remove a leg; its call is updated (and ends when it was the last). */
static void leg_remove(esl_model *m, leg *x, int64_t now)
{
	char *cid = xstrdup(x->call);
	leg_drop(m, x);
	call_update(m, call_find(m, cid), now);
	free(cid);
}

/* Move a leg into call id (a bridge, or the agent leg of a queue call);
 * the call it leaves goes away without "ended" when it has no leg left. */
static void leg_move(esl_model *m, leg *x, const char *id, int64_t now)
{
	if (!x || !id || !strcmp(x->call, id))
		return;
	call *to = call_find(m, id);
	if (!to)
		return;
	size_t li = (size_t)(x - m->l);
	char *old = x->call;
	x->call = xstrdup(id);
	call *from = call_find(m, old);
	call_del_leg(from, li);
	call_add_leg(to, li);
	if (from && from->nlg == 0) {
		/* merged: it keeps the earlier start */
		if (from->start < to->start)
			to->start = from->start;
		if (!to->queue && from->queue) {
			to->queue = from->queue;
			from->queue = NULL;
		}
		to->queued |= from->queued;
		if (!to->agent && from->agent) {
			to->agent = from->agent;
			from->agent = NULL;
		}
		call_remove(m, from);
		to = call_find(m, id);
	} else {
		call_update(m, from, now);
	}
	call_update(m, to, now);
	free(old);
}

/* The leg of uid, created in the call of the first link that is known. */
static leg *leg_get(esl_model *m, const char *uid, const char *name, const char *const *links,
                    size_t nlinks, int64_t now)
{
	if (!uid || !*uid || ignored_channel(name))
		return NULL;
	leg *x = leg_find(m, uid);
	if (x)
		return x;
	if (m->nl >= m->lim.max_channels) {
		m->st.dropped_channels++;
		return NULL;
	}
	const char *cid = NULL;
	for (size_t i = 0; i < nlinks && !cid; i++) {
		leg *o = leg_find(m, links[i]);
		if (o)
			cid = o->call;
	}
	char *id = clean(m, cid ? cid : uid);
	call *k = call_find(m, id);
	if (!k && !(k = call_new(m, id, now))) {
		m->st.dropped_channels++;
		free(id);
		return NULL;
	}
	GROW(m->l, m->nl, m->lcap);
	x = &m->l[m->nl++];
	*x = (leg){.uid = clean(m, uid), .call = id, .seen = true};
	pd_sidx_added(m, &m->lidx, leg_key, m->nl);
	call_add_leg(k, m->nl - 1);
	keep(m, &x->name, name);
	channel_user(m, x);
	return x;
}

/* ---- events ---- */

static const char *ev(const esl_msg *msg, const char *name)
{
	const char *v = esl_event_get(msg, name);
	return v && *v ? v : NULL;
}

static void leg_fields(esl_model *m, leg *x, const esl_msg *msg)
{
	keep(m, &x->cid_num, ev(msg, "Caller-Caller-ID-Number"));
	keep(m, &x->cid_name, ev(msg, "Caller-Caller-ID-Name"));
	keep(m, &x->dest, ev(msg, "Caller-Destination-Number"));
	keep(m, &x->presence, ev(msg, "variable_presence_id"));
	keep(m, &x->cc_agent, ev(msg, "variable_cc_agent"));
	const char *dir = ev(msg, "Call-Direction");
	if (dir)
		x->inbound = !strcmp(dir, "inbound");
	const char *ans = ev(msg, "Answer-State");
	if (ans)
		x->answered = !strcmp(ans, "answered");
	const char *cs = ev(msg, "Channel-Call-State");
	if (cs && !strcmp(cs, "HELD"))
		set_held(m, x, true);
	else if (cs && (!strcmp(cs, "UNHELD") || !strcmp(cs, "ACTIVE")))
		set_held(m, x, false);
}

static bool channel_event(esl_model *m, const esl_msg *msg, const char *name, int64_t now)
{
	const char *uid = ev(msg, "Unique-ID");
	if (!strcmp(name, "CHANNEL_HANGUP_COMPLETE")) {
		leg *x = leg_find(m, uid);
		if (!x)
			return false;
		leg_remove(m, x, now);
		agents_update(m, now);
		return true;
	}
	const char *links[] = {ev(msg, "variable_cc_member_session_uuid"),
	                       ev(msg, "Other-Leg-Unique-ID"), ev(msg, "Channel-Call-UUID")};
	leg *x = leg_get(m, uid, ev(msg, "Channel-Name"), links, 3, now);
	if (!x)
		return false;
	leg_fields(m, x, msg);
	call *k = call_find(m, x->call);
	if (k && !k->queue && ev(msg, "variable_cc_queue") && !x->cc_agent)
		keep(m, &k->queue, ev(msg, "variable_cc_queue"));
	if (!strcmp(name, "CHANNEL_BRIDGE") || !strcmp(name, "CHANNEL_UNBRIDGE")) {
		bool on = !strcmp(name, "CHANNEL_BRIDGE");
		x->bridged = on;
		leg *o = leg_find(m, ev(msg, "Other-Leg-Unique-ID"));
		if (o) {
			o->bridged = on;
			if (on) {
				char *id = xstrdup(x->call);
				leg_move(m, o, id, now);
				free(id);
			}
		}
	}
	call_update(m, call_find(m, x->call), now);
	agents_update(m, now);
	return true;
}

static call *member_call(esl_model *m, const esl_msg *msg)
{
	leg *x = leg_find(m, ev(msg, "CC-Member-Session-UUID"));
	return x ? call_find(m, x->call) : NULL;
}

static bool callcenter_event(esl_model *m, const esl_msg *msg, int64_t now)
{
	const char *act = ev(msg, "CC-Action");
	if (!act)
		return false;
	const char *aid = ev(msg, "CC-Agent");
	bool agent_action = !strncmp(act, "agent-", 6) || !strncmp(act, "bridge-agent-", 13);
	agent *a = agent_action ? agent_find(m, aid, true) : NULL;
	call *k = member_call(m, msg);
	if (!strcmp(act, "agent-status-change") && a) {
		agent_set_status(m, a, ev(msg, "CC-Agent-Status"));
	} else if (!strcmp(act, "agent-state-change") && a) {
		agent_set_state(a, ev(msg, "CC-Agent-State"));
	} else if (!strcmp(act, "member-queue-start") && k) {
		keep(m, &k->queue, ev(msg, "CC-Queue"));
		k->queued = true;
	} else if (!strcmp(act, "member-queue-end") && k) {
		k->queued = false;
	} else if (!strcmp(act, "agent-offering") && a) {
		agent_add_queue(m, a, ev(msg, "CC-Queue"));
		if (k)
			keep(m, &k->agent, aid);
	} else if (!strcmp(act, "bridge-agent-start") && a) {
		agent_add_queue(m, a, ev(msg, "CC-Queue"));
		keep(m, &a->leg, ev(msg, "CC-Agent-UUID"));
		if (k) {
			keep(m, &k->agent, aid);
			k->queued = false;
			char *id = xstrdup(k->id);
			leg_move(m, leg_find(m, ev(msg, "CC-Agent-UUID")), id, now);
			k = call_find(m, id); /* the move may have removed a merged call */
			free(id);
		}
	} else if (!strcmp(act, "bridge-agent-end") && a) {
		int w = a->wrapup >= 0 ? a->wrapup : m->default_wrapup;
		m->n_wrapup -= a->wrapup_until != 0;
		a->wrapup_until = w > 0 ? now + (int64_t)w * 1000 : 0;
		m->n_wrapup += a->wrapup_until != 0;
	} else if (!strcmp(act, "bridge-agent-fail") && a) {
		if (k && eq(k->agent, a->id)) {
			free(k->agent);
			k->agent = NULL;
		}
		/* its leg may hang up after this: it no longer rings for the call */
		for (size_t i = 0; k && i < k->nlg; i++) {
			leg *x = &m->l[k->lg[i]];
			if (eq(x->cc_agent, a->id)) {
				free(x->cc_agent);
				x->cc_agent = NULL;
			}
		}
	} else {
		return false; /* members-count, agent-max-no-answer, ... */
	}
	if (k)
		call_update(m, k, now);
	agents_update(m, now);
	return true;
}

static bool register_event(esl_model *m, const esl_msg *msg, bool on, int64_t now)
{
	const char *ex = ev(msg, "expires");
	if (on && ex && !strcmp(ex, "0"))
		on = false;
	user *u = user_get(m, ev(msg, "from-user"), ev(msg, "from-host"), true);
	if (!u)
		return false;
	int r = on ? 1 : 0;
	if (u->reg == r)
		return false;
	u->reg = r;
	agents_update(m, now);
	return true;
}

bool esl_model_apply_event(esl_model *m, const esl_msg *msg, int64_t now)
{
	if (!msg || msg->kind != ESL_MSG_EVENT || !msg->event_name)
		return false;
	const char *name = msg->event_name, *sub = msg->event_subclass;
	const char *ts = esl_event_get(msg, "Event-Date-Timestamp"); /* microseconds */
	if (ts && *ts) {
		char *end;
		long long us = strtoll(ts, &end, 10);
		if (!*end && us > 0) {
			m->pbx_off_ms = us / 1000 - now;
			m->have_pbx_clock = true;
		}
	}
	if (!strcmp(name, "CUSTOM") && sub) {
		if (!strcmp(sub, "callcenter::info"))
			return callcenter_event(m, msg, now);
		if (!strcmp(sub, "sofia::register"))
			return register_event(m, msg, true, now);
		if (!strcmp(sub, "sofia::unregister"))
			return register_event(m, msg, false, now);
		return false;
	}
	static const char *const chan_events[] = {
	    "CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_BRIDGE",         "CHANNEL_UNBRIDGE",
	    "CHANNEL_HOLD",   "CHANNEL_UNHOLD", "CHANNEL_HANGUP_COMPLETE"};
	for (size_t i = 0; i < sizeof chan_events / sizeof chan_events[0]; i++)
		if (!strcmp(name, chan_events[i]))
			return channel_event(m, msg, name, now);
	return false;
}

/* ---- api replies ---- */

esl_api_kind esl_api_kind_of(const char *c)
{
	if (!c)
		return ESL_API_OTHER;
	static const struct {
		const char *cmd;
		esl_api_kind k;
	} map[] = {{"list_users", ESL_API_LIST_USERS},
	           {"show registrations as json", ESL_API_REGISTRATIONS_JSON},
	           {"show channels as json", ESL_API_CHANNELS_JSON},
	           {"show calls as json", ESL_API_CALLS_JSON},
	           {"callcenter_config agent list", ESL_API_AGENT_LIST},
	           {"callcenter_config tier list", ESL_API_TIER_LIST},
	           {"callcenter_config queue list", ESL_API_QUEUE_LIST}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(c, map[i].cmd))
			return map[i].k;
	if (!strncmp(c, "callcenter_config queue list members ", 37) && c[37])
		return ESL_API_QUEUE_MEMBERS;
	size_t n = strlen(c);
	if (!strncmp(c, "user_data ", 10) && n > 23 && !strcmp(c + n - 12, " param email"))
		return ESL_API_USER_EMAIL;
	return ESL_API_OTHER;
}

void esl_model_email_command(const char *endpoint, pd_buf *b)
{
	pd_buf_printf(b, "user_data %s param email", endpoint);
}

/* A '|'-separated table: a header row naming the columns, then rows; empty
 * lines, "+OK" and "N total." end or separate it. A row whose field count
 * differs from the header's (a '|' in a name) is refused and counted. */
#define TABLE_COLS 32
typedef struct {
	const char *name[TABLE_COLS];
	size_t ncol;
	char *hdr;
} table;

static size_t split(char *line, char sep, const char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		char *e = strchr(p, sep);
		if (n == max)
			return max + 1;
		f[n++] = p;
		if (!e)
			break;
		*e = '\0';
		p = e + 1;
	}
	return n;
}

static int table_col(const table *t, const char *name)
{
	for (size_t i = 0; i < t->ncol; i++)
		if (!strcmp(t->name[i], name))
			return (int)i;
	return -1;
}

typedef void (*row_fn)(esl_model *m, const table *t, const char **f, void *ctx);

static bool table_walk(esl_model *m, const char *body, size_t len, row_fn fn, void *ctx)
{
	if (!body || !len || !strncmp(body, "-ERR", 4))
		return false;
	char *s = xstrndup(body, len);
	table t = {0};
	char *save = NULL;
	bool have_header = false;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!*line || !strcmp(line, "+OK"))
			continue;
		if (!have_header) {
			t.ncol = split(line, '|', t.name, TABLE_COLS);
			if (t.ncol > TABLE_COLS || t.ncol < 2)
				break;
			have_header = true;
			continue;
		}
		const char *f[TABLE_COLS];
		size_t n = split(line, '|', f, TABLE_COLS);
		if (n != t.ncol) {
			m->st.bad_fields++;
			continue;
		}
		fn(m, &t, f, ctx);
	}
	free(s);
	return have_header;
}

static const char *col(const table *t, const char **f, const char *name)
{
	int i = table_col(t, name);
	return i < 0 || !*f[i] ? NULL : f[i];
}

/* A queue member (callcenter_config queue list members): its session is
 * the caller's leg; a call found by a snapshot gets its queue and, once an
 * agent is offered or answering, that agent. */
static void members_row(esl_model *m, const table *t, const char **f, void *ctx)
{
	(void)ctx;
	const char *q = col(t, f, "queue"), *sess = col(t, f, "session_uuid");
	const char *serving = col(t, f, "serving_agent"), *state = col(t, f, "state");
	leg *x = sess ? leg_find(m, sess) : NULL;
	call *k = x ? call_find(m, x->call) : NULL;
	if (!k || !q)
		return;
	if (!k->queue)
		keep(m, &k->queue, q);
	k->queued = true;
	if (serving && !k->agent && state &&
	    (!strcmp(state, "Answered") || !strcmp(state, "Trying")))
		keep(m, &k->agent, serving);
}

size_t esl_model_queues(const esl_model *m, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < m->na; i++)
		for (size_t j = 0; j < m->a[i].nq; j++) {
			const char *q = m->a[i].queues[j];
			bool seen = false;
			for (size_t k = 0; k < n && !seen; k++)
				seen = !strcmp(out[k], q);
			if (!seen && n < max)
				out[n++] = q;
		}
	return n;
}

/* m->dir from the users' in_dir (after a list_users reply). */
static void dir_index(esl_model *m)
{
	m->dir = xrealloc(m->dir, (m->nu ? m->nu : 1) * sizeof *m->dir);
	m->ndir = 0;
	for (size_t i = 0; i < m->nu; i++)
		if (m->u[i].in_dir)
			m->dir[m->ndir++] = i;
}

static void users_row(esl_model *m, const table *t, const char **f, void *ctx)
{
	(void)ctx;
	const char *uid = col(t, f, "userid"), *dom = col(t, f, "domain");
	user *u = user_get(m, uid, dom, true);
	if (!u) {
		if (uid && *uid && dom && *dom)
			m->users_refused++; /* at the cap */
		return;
	}
	u->in_dir = true;
	keep(m, &u->name, col(t, f, "effective_caller_id_name"));
	const char *c = col(t, f, "contact");
	if (c)
		u->reg = !strncmp(c, "error/", 6) ? 0 : 1;
}

static void agents_row(esl_model *m, const table *t, const char **f, void *ctx)
{
	int64_t now = *(int64_t *)ctx;
	agent *a = agent_find(m, col(t, f, "name"), true);
	if (!a)
		return;
	a->listed = true;
	agent_set_status(m, a, col(t, f, "status"));
	agent_set_state(a, col(t, f, "state"));
	const char *w = col(t, f, "wrap_up_time");
	if (w) {
		char *end;
		long v = strtol(w, &end, 10);
		a->wrapup = !*end && v >= 0 && v <= 86400 ? (int)v : -1;
	}
	/* "[leg_timeout=12]user/1001@default" -> the user 1001@default */
	const char *c = col(t, f, "contact");
	const char *us = c ? strstr(c, "user/") : NULL;
	if (us)
		keep(m, &a->contact, us + 5);
	/* the leg may come with the channel snapshot, before or after */
	free(a->leg);
	a->leg = clean(m, col(t, f, "uuid"));
	leg *x = leg_find(m, a->leg);
	if (x)
		keep(m, &x->cc_agent, a->id);
	(void)now;
}

static void tiers_row(esl_model *m, const table *t, const char **f, void *ctx)
{
	(void)ctx;
	agent *a = agent_find(m, col(t, f, "agent"), true);
	if (a)
		agent_add_queue(m, a, col(t, f, "queue"));
}

static const char *jstr(json_t *row, const char *k)
{
	const char *s = json_string_value(json_object_get(row, k));
	return s && *s ? s : NULL;
}

/* The rows of a "show ... as json" reply, NULL when it is not one. */
static json_t *json_rows(esl_model *m, const char *body, size_t len, json_t **root)
{
	*root = NULL;
	if (!body || !len || body[0] != '{')
		return NULL;
	json_error_t err;
	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	json_t *rows = json_object_get(*root, "rows");
	if (*root && !json_object_get(*root, "row_count")) {
		m->st.bad_fields++;
		return NULL;
	}
	/* "row_count":0 comes without rows */
	return json_is_array(rows) ? rows : NULL;
}

/* The PBX's epoch ms minus our monotonic ms (see have_pbx_clock). */
static int64_t pbx_offset(const esl_model *m, int64_t now)
{
	if (m->have_pbx_clock)
		return m->pbx_off_ms;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - now;
}

static bool apply_channels(esl_model *m, const char *body, size_t len, int64_t now)
{
	json_t *root, *rows = json_rows(m, body, len, &root);
	if (!root) {
		m->snap_active = false;
		return false;
	}
	if (!m->snap_active)
		esl_model_snapshot_begin(m);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *links[] = {jstr(row, "call_uuid")};
		leg *x = leg_get(m, jstr(row, "uuid"), jstr(row, "name"), links, 1, now);
		if (!x)
			continue;
		x->seen = true;
		keep(m, &x->cid_num, jstr(row, "cid_num"));
		keep(m, &x->cid_name, jstr(row, "cid_name"));
		keep(m, &x->dest, jstr(row, "dest"));
		keep(m, &x->presence, jstr(row, "presence_id"));
		const char *dir = jstr(row, "direction"), *cs = jstr(row, "callstate");
		if (dir)
			x->inbound = !strcmp(dir, "inbound");
		if (cs) {
			x->answered = !strcmp(cs, "ACTIVE") || !strcmp(cs, "HELD");
			set_held(m, x, !strcmp(cs, "HELD"));
		}
		call *k = call_find(m, x->call);
		/* a call this snapshot found (up before we looked): its start from
		 * the PBX's clock, else this host's (both keep UTC by NTP) */
		const char *ce = jstr(row, "created_epoch");
		if (k && ce && k->start == now) {
			char *end;
			long long sec = strtoll(ce, &end, 10);
			int64_t start = (int64_t)sec * 1000 - pbx_offset(m, now);
			if (!*end && sec > 0 && start < now &&
			    start >= now - m->lim.max_call_age_ms)
				k->start = start;
		}
		if (k && eq(jstr(row, "application"), "callcenter")) {
			keep(m, &k->queue, jstr(row, "application_data"));
			k->queued = true;
		}
	}
	json_decref(root);
	m->snap_active = false;
	/* the agent list may have come first: its agents' legs */
	for (size_t j = 0; j < m->na; j++) {
		leg *x = m->a[j].state == AT_IN_CALL ? leg_find(m, m->a[j].leg) : NULL;
		if (x && !x->cc_agent)
			keep(m, &x->cc_agent, m->a[j].id);
	}
	/* the PBX no longer has them: their hangup was lost */
	for (size_t j = 0; j < m->nl;) {
		if (m->l[j].seen) {
			j++;
			continue;
		}
		leg_remove(m, &m->l[j], now);
		m->st.stale_channels++;
	}
	for (size_t j = 0; j < m->nk; j++)
		call_update(m, &m->k[j], now);
	agents_update(m, now);
	return true;
}

static bool apply_calls(esl_model *m, const char *body, size_t len, int64_t now)
{
	json_t *root, *rows = json_rows(m, body, len, &root);
	if (!root)
		return false;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		leg *a = leg_find(m, jstr(row, "uuid")), *b = leg_find(m, jstr(row, "b_uuid"));
		if (!a || !b)
			continue;
		a->bridged = b->bridged = true;
		char *id = xstrdup(a->call);
		leg_move(m, b, id, now);
		free(id);
	}
	json_decref(root);
	for (size_t j = 0; j < m->nk; j++)
		call_update(m, &m->k[j], now);
	return true;
}

static bool apply_registrations(esl_model *m, const char *body, size_t len, int64_t now)
{
	json_t *root, *rows = json_rows(m, body, len, &root);
	if (!root)
		return false;
	for (size_t j = 0; j < m->nu; j++)
		m->u[j].reg = 0;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		user *u = user_get(m, jstr(row, "reg_user"), jstr(row, "realm"), true);
		if (u)
			u->reg = 1;
	}
	json_decref(root);
	agents_update(m, now);
	return true;
}

static bool apply_email(esl_model *m, const char *command, const char *body, size_t len)
{
	/* "user_data 1001@default param email" */
	const char *ep = command + 10;
	size_t n = strlen(ep) - 12;
	char *key = xstrndup(ep, n);
	user *u = user_find(m, key);
	free(key);
	if (!u)
		return false;
	free(u->email);
	u->email = NULL;
	if (!body || !strncmp(body, "-ERR", 4))
		return true;
	while (len && (body[len - 1] == '\n' || body[len - 1] == ' '))
		len--;
	/* one address: no blank, no control byte, an '@' */
	char *e = clean_n(m, body, len);
	if (e && (strchr(e, ' ') || strchr(e, '?') || !strchr(e, '@') || strlen(e) > 254)) {
		m->st.bad_fields++;
		free(e);
		e = NULL;
	}
	u->email = e;
	return true;
}

bool esl_model_apply_api(esl_model *m, const char *command, const char *body, size_t len,
                         int64_t now)
{
	switch (esl_api_kind_of(command)) {
	case ESL_API_LIST_USERS: {
		if (!body || !strncmp(body, "-ERR", 4))
			return false;
		/* the whole directory: who is not listed any more leaves it; a
		 * reply that is no table changes nothing */
		bool *was = xcalloc(m->nu ? m->nu : 1, sizeof *was);
		size_t before = m->nu;
		m->users_refused = 0;
		for (size_t i = 0; i < m->nu; i++) {
			was[i] = m->u[i].in_dir;
			m->u[i].in_dir = false;
		}
		bool ok = table_walk(m, body, len, users_row, NULL);
		if (!ok)
			for (size_t i = 0; i < before; i++)
				m->u[i].in_dir = was[i];
		free(was);
		dir_index(m);
		agents_update(m, now);
		return ok;
	}
	case ESL_API_USER_EMAIL:
		return apply_email(m, command, body, len);
	case ESL_API_REGISTRATIONS_JSON:
		return apply_registrations(m, body, len, now);
	case ESL_API_CHANNELS_JSON:
		return apply_channels(m, body, len, now);
	case ESL_API_CALLS_JSON:
		return apply_calls(m, body, len, now);
	case ESL_API_AGENT_LIST: {
		if (!body || !strncmp(body, "-ERR", 4))
			return false;
		for (size_t i = 0; i < m->na; i++)
			m->a[i].listed = false;
		if (!table_walk(m, body, len, agents_row, &now))
			return false;
		for (size_t i = 0; i < m->na;) {
			if (m->a[i].listed) {
				i++;
				continue;
			}
			pd_sidx_remove(m, &m->aidx, agent_key, i, m->na - 1);
			m->n_wrapup -= m->a[i].wrapup_until != 0;
			agent_free(&m->a[i]);
			m->a[i] = m->a[--m->na];
		}
		agents_update(m, now);
		return true;
	}
	case ESL_API_QUEUE_MEMBERS:
		if (!body || !strncmp(body, "-ERR", 4))
			return false;
		return table_walk(m, body, len, members_row, &now);
	case ESL_API_TIER_LIST: {
		if (!body || !strncmp(body, "-ERR", 4))
			return false;
		for (size_t i = 0; i < m->na; i++) {
			for (size_t j = 0; j < m->a[i].nq; j++)
				free(m->a[i].queues[j]);
			m->a[i].nq = 0;
		}
		table_walk(m, body, len, tiers_row, NULL);
		agents_update(m, now);
		return true;
	}
	case ESL_API_QUEUE_LIST:
	case ESL_API_OTHER:
		break;
	}
	return false;
}

void esl_model_snapshot_begin(esl_model *m)
{
	for (size_t i = 0; i < m->nl; i++)
		m->l[i].seen = false;
	m->snap_active = true;
}

/* ---- time ---- */

bool esl_model_tick(esl_model *m, int64_t now)
{
	bool changed = false;
	for (size_t i = 0; m->n_wrapup && i < m->na; i++)
		if (m->a[i].wrapup_until && m->a[i].wrapup_until <= now) {
			m->a[i].wrapup_until = 0;
			m->n_wrapup--;
			changed |= agent_update(m, &m->a[i], now);
		}
	for (size_t i = 0; i < m->nk;) {
		call *k = &m->k[i];
		if (k->state != PD_CALL_ENDED && k->start + m->lim.max_call_age_ms <= now) {
			/* its hangup never came: end it (it lingers like any other) */
			while (k->nlg)
				leg_drop(m, &m->l[k->lg[k->nlg - 1]]);
			call_update(m, k, now);
			m->st.aged_out++;
			changed = true;
		}
		if (k->state == PD_CALL_ENDED && k->end + ESL_ENDED_LINGER_MS <= now) {
			call_remove(m, k);
			changed = true;
		} else {
			i++;
		}
	}
	return changed;
}

int64_t esl_model_next_deadline(const esl_model *m)
{
	int64_t d = INT64_MAX;
	for (size_t i = 0; m->n_wrapup && i < m->na; i++)
		if (m->a[i].wrapup_until && m->a[i].wrapup_until < d)
			d = m->a[i].wrapup_until;
	for (size_t i = 0; i < m->nk; i++) {
		const call *k = &m->k[i];
		if (k->state == PD_CALL_ENDED && k->end + ESL_ENDED_LINGER_MS < d)
			d = k->end + ESL_ENDED_LINGER_MS;
		if (k->state != PD_CALL_ENDED && k->start + m->lim.max_call_age_ms < d)
			d = k->start + m->lim.max_call_age_ms;
	}
	return d;
}

/* ---- view ---- */

static int cmp_call(const void *a, const void *b)
{
	const pd_live_call *x = a, *y = b;
	return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static int cmp_agent(const void *a, const void *b)
{
	const pd_live_agent *x = a, *y = b;
	return strcmp(x->interface, y->interface);
}

static int cmp_user(const void *a, const void *b)
{
	const pd_live_user *x = a, *y = b;
	return strcmp(x->endpoint, y->endpoint);
}

static const char *agent_name(esl_model *m, const char *id)
{
	const agent *a = agent_find(m, id, false);
	user *u = user_find(m, a && a->contact ? a->contact : id ? id : "");
	return u && u->in_dir && u->name ? u->name : id;
}

/* Per user: 1 a leg ringing, 2 a leg answered (one pass over the legs). */
static unsigned char *user_activity(esl_model *m)
{
	unsigned char *f = xcalloc(m->nu ? m->nu : 1, 1);
	for (size_t i = 0; i < m->nl; i++) {
		const leg *x = &m->l[i];
		size_t u =
		    x->presence ? pd_sidx_find(m, &m->uidx, user_key, x->presence) : SLOT_EMPTY;
		if (u == SLOT_EMPTY && x->internal_profile && x->user_ep)
			u = pd_sidx_find(m, &m->uidx, user_key, x->user_ep);
		if (u != SLOT_EMPTY)
			f[u] |= x->answered ? 2 : 1;
	}
	return f;
}

static const char *device_state(const user *u, unsigned char act)
{
	if (u->reg == 0)
		return "Unavailable";
	return act & 2 ? "In use" : act & 1 ? "Ringing" : u->reg == 1 ? "Not in use" : "Unknown";
}

void esl_model_view(esl_model *m, int64_t now, pd_live_view *v)
{
	(void)now;
	size_t nu = 0;
	for (size_t i = 0; i < m->nu; i++)
		nu += m->u[i].in_dir;
	v->n_users = nu;
	v->users = nu ? xcalloc(nu, sizeof *v->users) : NULL;
	unsigned char *act = user_activity(m);
	for (size_t i = 0, o = 0; i < m->nu; i++) {
		const user *u = &m->u[i];
		if (!u->in_dir)
			continue;
		v->users[o].endpoint = xstrdup(u->endpoint);
		v->users[o].name = xstrdup(u->name ? u->name : u->user);
		v->users[o].sub_account = xstrdup(u->domain);
		v->users[o].device_state = xstrdup(device_state(u, act[i]));
		o++;
	}
	free(act);
	if (nu > 1)
		qsort(v->users, nu, sizeof *v->users, cmp_user);
	v->n_calls = m->nk;
	v->calls = m->nk ? xcalloc(m->nk, sizeof *v->calls) : NULL;
	for (size_t i = 0; i < m->nk; i++) {
		const call *k = &m->k[i];
		pd_live_call *o = &v->calls[i];
		const char *ag = k->agent;
		for (size_t j = 0; !ag && j < k->nlg; j++)
			ag = m->l[k->lg[j]].cc_agent;
		o->id = xstrdup(k->id);
		o->from = xstrdup(k->from);
		o->from_name = xstrdup(k->from_name);
		o->to = xstrdup(k->queue ? k->queue : k->to);
		o->queue = xstrdup(k->queue);
		o->agent = xstrdup(ag ? agent_name(m, ag) : NULL);
		o->dir = k->dir;
		o->state = k->state;
		o->start_ms = k->start;
		o->state_since_ms = k->since;
		o->end_ms = k->end;
	}
	if (v->n_calls > 1)
		qsort(v->calls, v->n_calls, sizeof *v->calls, cmp_call);
	v->n_agents = m->na;
	v->agents = m->na ? xcalloc(m->na, sizeof *v->agents) : NULL;
	for (size_t i = 0; i < m->na; i++) {
		const agent *a = &m->a[i];
		pd_live_agent *o = &v->agents[i];
		o->interface = xstrdup(a->id);
		o->name = xstrdup(agent_name(m, a->id));
		pd_buf qb = {0};
		for (size_t j = 0; j < a->nq; j++) {
			if (j)
				pd_buf_add(&qb, ", ");
			pd_buf_add(&qb, a->queues[j]);
		}
		o->queues = pd_buf_steal(&qb);
		o->state = a->disp;
		o->reason = a->disp == PD_AGENT_NOT_READY ? xstrdup(agent_reason(a)) : NULL;
		o->since_ms = a->since;
		o->until_ms = a->disp == PD_AGENT_WRAPUP ? a->wrapup_until : 0;
	}
	if (v->n_agents > 1)
		qsort(v->agents, v->n_agents, sizeof *v->agents, cmp_agent);
}

size_t esl_model_synced_users(esl_model *m, pd_synced_user **out)
{
	free(m->sync_buf);
	m->sync_buf = xcalloc(m->nu ? m->nu : 1, sizeof *m->sync_buf);
	unsigned char *act = user_activity(m);
	size_t n = 0;
	for (size_t i = 0; i < m->nu; i++) {
		const user *u = &m->u[i];
		if (!u->in_dir)
			continue;
		m->sync_buf[n++] = (pd_synced_user){
		    .endpoint = u->endpoint,
		    .display_name = u->name ? u->name : u->user,
		    .email = u->email,
		    .sub_account = u->domain,
		    .device_state = device_state(u, act[i]),
		};
	}
	free(act);
	*out = m->sync_buf;
	return n;
}

size_t esl_model_user_count(const esl_model *m)
{
	return m->ndir;
}

const char *esl_model_user_endpoint(const esl_model *m, size_t i)
{
	return i < m->ndir ? m->u[m->dir[i]].endpoint : NULL;
}
