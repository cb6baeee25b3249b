/* The BroadWorks model (src/pbx/xsi/xsi_model.h; docs/architecture.md,
 * "BroadWorks Xsi"). Halves, calls, agents and users are arrays bounded by
 * pd_model_limits, each indexed by a hash of its id (as the FreeSWITCH model
 * does: open addressing, tombstones, swap-remove renumbering), so an event
 * costs the same with 5,000 calls and 20,000 users as with one. A call and a
 * target (the user an event is about) keep the indexes of their halves in
 * ascending order, which is the order a scan of the halves' array would give:
 * the "first originator", "first queue" rules do not depend on the index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model_index.h"
#include "provdesk/util.h"
#include "xsi_model.h"

typedef enum { HALF_ALERTING, HALF_ACTIVE, HALF_HELD } half_state;

/* Indexes of halves, kept ascending. */
typedef struct {
	size_t *v;
	size_t n, cap;
} ilist;

typedef struct {
	char *target, *call_id, *call_key;
	char *key; /* target and call_id as one index key */
	half_state st;
	bool originator, queue_half, remote_internal;
	char *remote_name, *remote_number, *queue, *queue_number;
} half;

typedef struct {
	char *id;
	char *from, *from_name, *to, *queue, *agent;
	pd_call_dir dir;
	pd_call_state state;
	int64_t start_ms, state_since_ms, end_ms;
	ilist hs; /* its halves */
} call;

typedef struct {
	char *id, *acd_state, *code;
	pd_agent_state disp;
	char *reason;
	int64_t since_ms;
	uint64_t mark; /* marks when its last AgentStateEvent came */
} agent;

typedef struct {
	char *id, *name, *group, *email;
	uint64_t call_mark; /* marks when its last call event came */
} user;

/* A user that has halves now (an agent, a call center, any user). */
typedef struct {
	char *id;
	ilist hs;
} xtarget;

/* id -> index into an array (model_index.h) */
typedef pd_sidx sidx;

struct xsi_model {
	pd_model_limits lim;
	pd_model_stats st;
	half *h;
	size_t nh, hcap;
	call *c;
	size_t nc, ccap;
	agent *a;
	size_t na, acap;
	xtarget *t;
	size_t nt, tcap;
	user *u;
	size_t nu, ucap, refused;
	/* halves by target+callId, calls by id (extTrackingId), agents, targets
	 * and users by user id */
	sidx hidx, cidx, aidx, tidx, uidx;
	pd_synced_user *sync_buf;
	uint64_t marks; /* agent and call events applied (xsi_model_mark) */
};

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap)*2 : 4;                                               \
			(arr) = xrealloc((arr), (cap) * sizeof *(arr));                            \
		}                                                                                  \
	} while (0)

/* A value from the PBX made safe into r (room for strlen(s) + 1 bytes: the
 * result is never longer): unsafe code points (controls, bidi) as '?';
 * expat hands over valid UTF-8 only. */
static void clean_to(xsi_model *m, const char *s, char *r)
{
	size_t n = strlen(s), o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp = c;
		size_t len = 1;
		if (c >= 0xf0)
			cp = c & 7, len = 4;
		else if (c >= 0xe0)
			cp = c & 15, len = 3;
		else if (c >= 0xc0)
			cp = c & 31, len = 2;
		if (i + len > n)
			len = n - i;
		for (size_t k = 1; k < len; k++)
			cp = cp << 6 | ((unsigned char)s[i + k] & 63);
		if (pd_cp_unsafe(cp)) {
			r[o++] = '?';
			m->st.bad_fields++;
		} else {
			memcpy(r + o, s + i, len);
			o += len;
		}
		i += len;
	}
	r[o] = '\0';
}

/* The same, allocated; NULL for "". */
static char *clean(xsi_model *m, const char *s)
{
	if (!s || !*s)
		return NULL;
	char *r = xmalloc(strlen(s) + 1);
	clean_to(m, s, r);
	return r;
}

static void set(xsi_model *m, char **p, const char *v)
{
	if (!v || !*v)
		return;
	free(*p);
	*p = clean(m, v);
}

xsi_model *xsi_model_new(void)
{
	xsi_model *m = xcalloc(1, sizeof *m);
	m->lim = pd_model_limits_fill(NULL);
	return m;
}

/* ---- index lists ---- */

static void il_add(ilist *l, size_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	size_t k = l->n++;
	for (; k && l->v[k - 1] > x; k--)
		l->v[k] = l->v[k - 1];
	l->v[k] = x;
}

static void il_del(ilist *l, size_t x)
{
	for (size_t k = l->n; k-- > 0;)
		if (l->v[k] == x) {
			memmove(l->v + k, l->v + k + 1, (l->n - k - 1) * sizeof *l->v);
			l->n--;
			return;
		}
}

/* ---- hash indexes ---- */

#define SLOT_EMPTY PD_SIDX_NONE

static const char *half_key(const void *p, size_t i)
{
	const xsi_model *m = p;
	return m->h[i].key;
}

static const char *call_key(const void *p, size_t i)
{
	const xsi_model *m = p;
	return m->c[i].id;
}

static const char *agent_key(const void *p, size_t i)
{
	const xsi_model *m = p;
	return m->a[i].id;
}

static const char *target_key(const void *p, size_t i)
{
	const xsi_model *m = p;
	return m->t[i].id;
}

static const char *user_key(const void *p, size_t i)
{
	const xsi_model *m = p;
	return m->u[i].id;
}

/* ---- freeing ---- */

static void half_free(half *h)
{
	free(h->target), free(h->call_id), free(h->call_key), free(h->key);
	free(h->remote_name), free(h->remote_number), free(h->queue), free(h->queue_number);
}

static void call_free(call *c)
{
	free(c->id), free(c->from), free(c->from_name), free(c->to), free(c->queue), free(c->agent);
	free(c->hs.v);
}

static void agent_free(agent *a)
{
	free(a->id), free(a->acd_state), free(a->code), free(a->reason);
}

void xsi_model_reset_users(xsi_model *m)
{
	for (size_t i = 0; i < m->nu; i++)
		free(m->u[i].id), free(m->u[i].name), free(m->u[i].group), free(m->u[i].email);
	free(m->u);
	m->u = NULL;
	m->nu = m->ucap = m->refused = 0;
	pd_sidx_free(&m->uidx);
}

void xsi_model_reset_live(xsi_model *m)
{
	for (size_t i = 0; i < m->nh; i++)
		half_free(&m->h[i]);
	for (size_t i = 0; i < m->nc; i++)
		call_free(&m->c[i]);
	for (size_t i = 0; i < m->na; i++)
		agent_free(&m->a[i]);
	for (size_t i = 0; i < m->nt; i++)
		free(m->t[i].id), free(m->t[i].hs.v);
	free(m->h), free(m->c), free(m->a), free(m->t);
	m->h = NULL, m->c = NULL, m->a = NULL, m->t = NULL;
	m->nh = m->nc = m->na = m->nt = 0;
	m->hcap = m->ccap = m->acap = m->tcap = 0;
	pd_sidx_free(&m->hidx), pd_sidx_free(&m->cidx), pd_sidx_free(&m->aidx),
	    pd_sidx_free(&m->tidx);
}

void xsi_model_free(xsi_model *m)
{
	if (!m)
		return;
	xsi_model_reset_live(m);
	xsi_model_reset_users(m);
	free(m->sync_buf);
	free(m);
}

void xsi_model_set_limits(xsi_model *m, const pd_model_limits *l)
{
	m->lim = pd_model_limits_fill(l);
}

void xsi_model_get_stats(const xsi_model *m, pd_model_stats *out)
{
	*out = m->st;
	out->calls = m->nc;
	out->channels = m->nh;
	out->calls_full = m->nc >= m->lim.max_calls;
	out->channels_full = m->nh >= m->lim.max_channels;
}

static void replace(char **p, const char *v)
{
	char *n = xstrdup(v);
	free(*p);
	*p = n;
}

/* ---- look-ups ---- */

static user *user_find(const xsi_model *m, const char *id)
{
	size_t i = pd_sidx_find(m, &m->uidx, user_key, id);
	return i == SLOT_EMPTY ? NULL : &m->u[i];
}

static const char *user_name(const xsi_model *m, const char *id)
{
	const user *u = user_find(m, id);
	return u && u->name ? u->name : id;
}

static call *call_find(xsi_model *m, const char *id)
{
	size_t i = pd_sidx_find(m, &m->cidx, call_key, id);
	return i == SLOT_EMPTY ? NULL : &m->c[i];
}

static agent *agent_find(xsi_model *m, const char *id)
{
	size_t i = pd_sidx_find(m, &m->aidx, agent_key, id);
	return i == SLOT_EMPTY ? NULL : &m->a[i];
}

static xtarget *target_find(const xsi_model *m, const char *id)
{
	size_t i = pd_sidx_find(m, &m->tidx, target_key, id);
	return i == SLOT_EMPTY ? NULL : &m->t[i];
}

/* The halves of a user: none when it has no call now. */
static const ilist *halves_of(const xsi_model *m, const char *id)
{
	const xtarget *t = target_find(m, id);
	return t ? &t->hs : NULL;
}

/* One index key for a target and a call id: the target's length first, so
 * no two pairs give the same key whatever characters they hold. */
static char *pair_key(const char *target, const char *call_id)
{
	pd_buf b = {0};
	pd_buf_printf(&b, "%zu:%s/%s", strlen(target), target, call_id);
	return pd_buf_steal(&b);
}

static half *half_find(xsi_model *m, const char *target, const char *call_id)
{
	if (!m->hidx.cap)
		return NULL;
	char *k = pair_key(target, call_id);
	size_t i = pd_sidx_find(m, &m->hidx, half_key, k);
	free(k);
	return i == SLOT_EMPTY ? NULL : &m->h[i];
}

/* ---- adding and removing halves ---- */

static xtarget *target_get(xsi_model *m, const char *id)
{
	xtarget *t = target_find(m, id);
	if (t)
		return t;
	GROW(m->t, m->nt, m->tcap);
	t = &m->t[m->nt++];
	*t = (xtarget){.id = xstrdup(id)};
	pd_sidx_added(m, &m->tidx, target_key, m->nt);
	return t;
}

static void target_drop_half(xsi_model *m, const char *id, size_t hi)
{
	size_t i = pd_sidx_find(m, &m->tidx, target_key, id);
	if (i == SLOT_EMPTY)
		return;
	il_del(&m->t[i].hs, hi);
	if (m->t[i].hs.n)
		return;
	size_t last = m->nt - 1;
	pd_sidx_remove(m, &m->tidx, target_key, i, last);
	free(m->t[i].id), free(m->t[i].hs.v);
	m->t[i] = m->t[last];
	m->nt--;
}

/* A new half of call c (the caller checked the caps). */
static half *half_add(xsi_model *m, call *c, const char *target, const char *call_id)
{
	GROW(m->h, m->nh, m->hcap);
	size_t hi = m->nh++;
	half *h = &m->h[hi];
	*h = (half){.target = xstrdup(target),
	            .call_id = xstrdup(call_id),
	            .call_key = xstrdup(c->id),
	            .key = pair_key(target, call_id)};
	pd_sidx_added(m, &m->hidx, half_key, m->nh);
	il_add(&c->hs, hi);
	il_add(&target_get(m, target)->hs, hi);
	return h;
}

/* Half i leaves its call and its target; the array's last half moves to i
 * (renumbered in its call's and its target's lists). */
static void half_remove(xsi_model *m, size_t i)
{
	size_t last = m->nh - 1;
	half *h = &m->h[i];
	call *c = call_find(m, h->call_key);
	if (c)
		il_del(&c->hs, i);
	target_drop_half(m, h->target, i);
	pd_sidx_remove(m, &m->hidx, half_key, i, last);
	half_free(h);
	if (last != i) {
		m->h[i] = m->h[last];
		const half *mv = &m->h[i];
		if ((c = call_find(m, mv->call_key)) != NULL)
			il_del(&c->hs, last), il_add(&c->hs, i);
		xtarget *t = target_find(m, mv->target);
		if (t)
			il_del(&t->hs, last), il_add(&t->hs, i);
	}
	m->nh--;
}

/* Half h joins call `to` (a transfer). */
static void half_move(xsi_model *m, half *h, call *to)
{
	size_t hi = (size_t)(h - m->h);
	call *from = call_find(m, h->call_key);
	if (from)
		il_del(&from->hs, hi);
	il_add(&to->hs, hi);
	replace(&h->call_key, to->id);
}

/* The call's state, direction, parties and agent from its halves. */
static bool call_update(xsi_model *m, call *c, int64_t now_ms)
{
	if (c->state == PD_CALL_ENDED)
		return false;
	const half *orig = NULL, *term = NULL, *agent_h = NULL;
	bool held = false, active = false, alerting_agent = false, internal = false;
	size_t n = c->hs.n;
	const char *queue = NULL, *queue_number = NULL;
	for (size_t i = 0; i < c->hs.n; i++) {
		const half *h = &m->h[c->hs.v[i]];
		if (h->originator && !orig)
			orig = h;
		if (!h->originator && !h->queue_half && !term)
			term = h;
		if (h->queue && !queue)
			queue = h->queue, queue_number = h->queue_number;
		if (h->remote_internal)
			internal = true;
		if (h->queue_half)
			continue;
		if (h->st == HALF_HELD)
			held = true;
		if (h->st == HALF_ACTIVE || h->st == HALF_HELD) {
			active = true;
			if (h->queue || queue)
				agent_h = h;
		}
		if (h->st == HALF_ALERTING && !h->originator) {
			alerting_agent = true;
			if (!agent_h && (h->queue || queue))
				agent_h = h;
		}
	}
	if (n == 0) { /* every half released */
		c->state = PD_CALL_ENDED;
		c->state_since_ms = c->end_ms = now_ms;
		return true;
	}
	pd_call_state s = held             ? PD_CALL_HELD
	                  : active         ? PD_CALL_CONNECTED
	                  : alerting_agent ? PD_CALL_RINGING
	                  : queue          ? PD_CALL_QUEUED
	                                   : PD_CALL_RINGING;
	bool changed = s != c->state;
	if (changed)
		c->state = s, c->state_since_ms = now_ms;
	pd_call_dir dir = (orig && term) || internal ? PD_DIR_INTERNAL
	                  : orig                     ? PD_DIR_OUTBOUND
	                                             : PD_DIR_INBOUND;
	changed |= dir != c->dir;
	c->dir = dir;
	const half *src = orig ? orig : term;
	if (orig) {
		replace(&c->from, orig->target);
		replace(&c->from_name, user_name(m, orig->target));
		replace(&c->to, term ? term->target : orig->remote_number);
	} else if (src || queue) {
		const half *any = src ? src : &m->h[c->hs.v[0]];
		replace(&c->from, any ? any->remote_number : NULL);
		replace(&c->from_name, any ? any->remote_name : NULL);
		replace(&c->to, queue ? (queue_number ? queue_number : queue) : term->target);
	}
	replace(&c->queue, queue);
	const char *ag = agent_h ? user_name(m, agent_h->target) : NULL;
	if ((ag == NULL) != (c->agent == NULL) || (ag && strcmp(ag, c->agent)))
		changed = true;
	replace(&c->agent, ag);
	return changed;
}

/* Display state of an agent: its own call halves first, then the ACD state. */
static bool agent_update(xsi_model *m, agent *a, int64_t now_ms)
{
	pd_agent_state d;
	const char *reason = NULL;
	const char *s = a->acd_state ? a->acd_state : "";
	if (!strcmp(s, "Sign-Out"))
		d = PD_AGENT_LOGGED_OFF;
	else if (!strcmp(s, "Available"))
		d = PD_AGENT_AVAILABLE;
	else if (!strcmp(s, "Wrap-Up"))
		d = PD_AGENT_WRAPUP;
	else if (!strcmp(s, "Unavailable"))
		d = PD_AGENT_NOT_READY, reason = a->code ? a->code : "Unavailable";
	else
		d = PD_AGENT_NOT_READY, reason = *s ? s : "Unknown"; /* Sign-In */
	if (d != PD_AGENT_LOGGED_OFF) {
		int best = 0; /* 1 ringing, 2 on call, 3 on hold */
		const ilist *hs = halves_of(m, a->id);
		for (size_t i = 0; hs && i < hs->n; i++) {
			const half *h = &m->h[hs->v[i]];
			int v = h->st == HALF_HELD ? 3 : h->st == HALF_ACTIVE ? 2 : 1;
			best = v > best ? v : best;
		}
		if (best)
			reason = NULL;
		if (best == 3)
			d = PD_AGENT_ON_HOLD;
		else if (best == 2)
			d = PD_AGENT_ON_CALL;
		else if (best == 1)
			d = PD_AGENT_RINGING;
	}
	bool changed = d != a->disp || (reason == NULL) != (a->reason == NULL) ||
	               (reason && strcmp(reason, a->reason));
	if (changed) {
		a->disp = d;
		a->since_ms = now_ms;
		replace(&a->reason, reason);
	}
	return changed;
}

static bool agents_update(xsi_model *m, int64_t now_ms)
{
	bool ch = false;
	for (size_t i = 0; i < m->na; i++)
		ch |= agent_update(m, &m->a[i], now_ms);
	return ch;
}

/* A call event changes only its target's agent (if that user is one). */
static bool agent_update_for(xsi_model *m, const char *target, int64_t now_ms)
{
	agent *a = agent_find(m, target);
	return a ? agent_update(m, a, now_ms) : false;
}

/* An event, or (read) a call read by Xsi-Actions: only events mark the
 * user (xsi_model_call_read). */
static bool apply_call(xsi_model *m, const xsi_msg *e, int64_t now_ms, bool read)
{
	if (!e->target_id[0] || !e->call_id[0]) {
		m->st.bad_fields++;
		return false;
	}
	/* the ids as they are kept and shown: cleaned once, then looked up */
	char tgt[sizeof e->target_id], cid[sizeof e->call_id], ext[sizeof e->ext_tracking_id];
	clean_to(m, e->target_id, tgt);
	clean_to(m, e->call_id, cid);
	clean_to(m, e->ext_tracking_id, ext);
	if (!read) {
		user *u = user_find(m, tgt);
		if (u)
			u->call_mark = ++m->marks;
	}
	/* halves of one call share the extTrackingId; without one, a call of its own */
	char key[XSI_VALUE_MAX * 2 + 2];
	if (ext[0])
		snprintf(key, sizeof key, "%s", ext);
	else
		snprintf(key, sizeof key, "%s/%s", tgt, cid);
	half *h = half_find(m, tgt, cid);
	char *old_key = h ? xstrdup(h->call_key) : NULL;
	bool changed = false;
	if (e->type == XSI_EV_CALL_RELEASED || !strcmp(e->state, "Released")) {
		if (h) {
			half_remove(m, (size_t)(h - m->h));
			changed = true;
		}
		call *c = old_key ? call_find(m, old_key) : NULL;
		if (c)
			changed |= call_update(m, c, now_ms);
		free(old_key);
		return changed | agent_update_for(m, tgt, now_ms);
	}
	call *c = call_find(m, key);
	if (!c) {
		if (m->nc >= m->lim.max_calls) {
			m->st.dropped_calls++;
			if (!h)
				m->st.dropped_channels++;
			free(old_key);
			return false;
		}
		if (!h && m->nh >= m->lim.max_channels) {
			m->st.dropped_channels++;
			free(old_key);
			return false;
		}
		GROW(m->c, m->nc, m->ccap);
		c = &m->c[m->nc++];
		*c = (call){.id = xstrdup(key),
		            .state = PD_CALL_RINGING,
		            .start_ms = now_ms,
		            .state_since_ms = now_ms,
		            .dir = PD_DIR_INBOUND};
		pd_sidx_added(m, &m->cidx, call_key, m->nc);
		changed = true;
	} else if (c->state == PD_CALL_ENDED) {
		free(old_key);
		return false; /* a late event for a call already ended */
	}
	if (!h) {
		if (m->nh >= m->lim.max_channels) {
			m->st.dropped_channels++;
			free(old_key);
			return changed;
		}
		h = half_add(m, c, tgt, cid);
		changed = true; /* the user's device state */
	} else if (strcmp(h->call_key, key)) {
		half_move(m, h, c); /* a transfer joined it to another call */
	}
	half_state before = h->st;
	if (e->personality[0])
		h->originator = !strcmp(e->personality, "Originator") ||
		                !strcmp(e->personality, "Click-to-Dial");
	if (!strcmp(e->state, "Active") || !strcmp(e->state, "Detached"))
		h->st = HALF_ACTIVE;
	else if (!strcmp(e->state, "Held"))
		h->st = HALF_HELD;
	else if (!strcmp(e->state, "Alerting"))
		h->st = HALF_ALERTING;
	if (e->type == XSI_EV_CALL_ANSWERED || e->type == XSI_EV_CALL_RETRIEVED)
		h->st = HALF_ACTIVE;
	else if (e->type == XSI_EV_CALL_HELD)
		h->st = HALF_HELD;
	changed |= h->st != before;
	set(m, &h->remote_name, e->remote_name);
	set(m, &h->remote_number, e->remote_number);
	if (e->remote_call_type[0])
		h->remote_internal = !strcmp(e->remote_call_type, "Group") ||
		                     !strcmp(e->remote_call_type, "Enterprise");
	if (e->acd_user_id[0] || e->acd_name[0]) {
		set(m, &h->queue, e->acd_name[0] ? e->acd_name : e->acd_user_id);
		set(m, &h->queue_number, e->acd_number);
		h->queue_half = e->acd_user_id[0] && !strcmp(e->acd_user_id, e->target_id);
	}
	changed |= call_update(m, c, now_ms);
	if (old_key && strcmp(old_key, key)) {
		call *oc = call_find(m, old_key);
		if (oc)
			changed |= call_update(m, oc, now_ms);
	}
	free(old_key);
	return changed | agent_update_for(m, tgt, now_ms);
}

/* Agent a of user id (made safe by clean_to; a NULL: a new row) set to an
 * ACD state; NULL past the cap. */
static agent *agent_set(xsi_model *m, agent *a, const char *id, const char *state, const char *code,
                        int64_t now_ms)
{
	if (!a) {
		if (m->na >= m->lim.max_channels) {
			m->st.dropped_other++;
			return NULL;
		}
		GROW(m->a, m->na, m->acap);
		a = &m->a[m->na++];
		*a = (agent){.id = xstrdup(id), .disp = PD_AGENT_OFFLINE, .since_ms = now_ms};
		pd_sidx_added(m, &m->aidx, agent_key, m->na);
	}
	free(a->acd_state); /* shown as the reason when it is none of the five */
	a->acd_state = clean(m, state);
	free(a->code);
	a->code = clean(m, code);
	return a;
}

static bool apply_agent(xsi_model *m, const xsi_msg *e, int64_t now_ms)
{
	if (!e->target_id[0] || !e->agent_state[0]) {
		m->st.bad_fields++;
		return false;
	}
	char id[sizeof e->target_id];
	clean_to(m, e->target_id, id);
	agent *a = agent_set(m, agent_find(m, id), id, e->agent_state, e->unavailable_code, now_ms);
	if (!a)
		return false;
	a->mark = ++m->marks;
	return agent_update(m, a, now_ms);
}

uint64_t xsi_model_mark(const xsi_model *m)
{
	return m->marks;
}

/* The user a read answered for, made safe into id; false (counted) when
 * the read names none, or the rest of it (ok) is unusable. */
static bool read_user(xsi_model *m, const char *user_id, bool ok, char id[XSI_VALUE_MAX])
{
	if (!ok || !user_id || !*user_id || strlen(user_id) >= XSI_VALUE_MAX) {
		m->st.bad_fields++;
		return false;
	}
	clean_to(m, user_id, id);
	return true;
}

bool xsi_model_agent_read(xsi_model *m, const char *user_id, const char *state, const char *code,
                          uint64_t mark, int64_t now_ms)
{
	char id[XSI_VALUE_MAX];
	if (!read_user(m, user_id, state && *state, id))
		return false;
	agent *a = agent_find(m, id);
	if (a && a->mark > mark)
		return false; /* an event since the read was sent is newer */
	a = agent_set(m, a, id, state, code, now_ms);
	return a && agent_update(m, a, now_ms);
}

bool xsi_model_call_read(xsi_model *m, const char *user_id, const xsi_msg *c, uint64_t mark,
                         int64_t start_ms, int64_t now_ms)
{
	char id[XSI_VALUE_MAX];
	if (!read_user(m, user_id, c->call_id[0] != '\0', id))
		return false;
	const user *u = user_find(m, id);
	if (u && u->call_mark > mark)
		return false; /* a call event since the list was read is newer */
	xsi_msg e = *c;
	e.type = XSI_EV_CALL_UPDATED;
	snprintf(e.target_id, sizeof e.target_id, "%s", id);
	size_t before = m->nc;
	bool changed = apply_call(m, &e, now_ms, true);
	if (m->nc > before && start_ms > 0 && start_ms < now_ms) { /* a call up before */
		m->c[m->nc - 1].start_ms = start_ms;
	}
	return changed;
}

bool xsi_model_apply(xsi_model *m, const xsi_msg *e, int64_t now_ms)
{
	if (e->kind != XSI_MSG_EVENT)
		return false;
	switch (e->type) {
	case XSI_EV_CALL_RECEIVED:
	case XSI_EV_CALL_ORIGINATED:
	case XSI_EV_CALL_ANSWERED:
	case XSI_EV_CALL_HELD:
	case XSI_EV_CALL_RETRIEVED:
	case XSI_EV_CALL_TRANSFERRED:
	case XSI_EV_CALL_RELEASED:
	case XSI_EV_CALL_UPDATED:
		return apply_call(m, e, now_ms, false);
	case XSI_EV_AGENT_STATE:
		return apply_agent(m, e, now_ms);
	default:
		return false;
	}
}

void xsi_model_add_directory(xsi_model *m, const xsi_dir_page *p)
{
	for (size_t i = 0; i < p->n_users; i++) {
		const xsi_dir_user *d = &p->users[i];
		char id[sizeof d->user_id];
		if (!d->user_id[0])
			continue; /* the parser keeps none; the index needs a key */
		clean_to(m, d->user_id, id);
		if (user_find(m, id))
			continue; /* pages overlap when the directory changed between reads */
		if (m->nu >= m->lim.max_users) {
			m->refused++;
			m->st.dropped_other++;
			continue;
		}
		pd_buf nb = {0};
		pd_buf_add(&nb, d->first_name);
		if (d->first_name[0] && d->last_name[0])
			pd_buf_add(&nb, " ");
		pd_buf_add(&nb, d->last_name);
		char *name = pd_buf_steal(&nb);
		GROW(m->u, m->nu, m->ucap);
		m->u[m->nu++] = (user){.id = xstrdup(id),
		                       .name = clean(m, name),
		                       .group = clean(m, d->group_id),
		                       .email = clean(m, d->email)};
		pd_sidx_added(m, &m->uidx, user_key, m->nu);
		free(name);
	}
	m->refused += p->refused;
}

size_t xsi_model_user_count(const xsi_model *m)
{
	return m->nu;
}

const char *xsi_model_user_id(const xsi_model *m, size_t i)
{
	return i < m->nu ? m->u[i].id : NULL;
}

size_t xsi_model_users_refused(const xsi_model *m)
{
	return m->refused;
}

size_t xsi_model_synced_users(xsi_model *m, pd_synced_user **out)
{
	free(m->sync_buf);
	m->sync_buf = xcalloc(m->nu ? m->nu : 1, sizeof *m->sync_buf);
	for (size_t i = 0; i < m->nu; i++)
		m->sync_buf[i] = (pd_synced_user){.endpoint = m->u[i].id,
		                                  .display_name = m->u[i].name,
		                                  .email = m->u[i].email,
		                                  .sub_account = m->u[i].group};
	*out = m->sync_buf;
	return m->nu;
}

bool xsi_model_tick(xsi_model *m, int64_t now_ms)
{
	bool changed = false;
	for (size_t i = 0; i < m->nc;) {
		call *c = &m->c[i];
		if (c->state != PD_CALL_ENDED && now_ms - c->start_ms >= m->lim.max_call_age_ms) {
			while (c->hs.n)
				half_remove(m, c->hs.v[c->hs.n - 1]);
			call_update(m, c, now_ms);
			m->st.aged_out++;
			changed = true;
		}
		if (c->state == PD_CALL_ENDED && now_ms - c->end_ms >= XSI_ENDED_LINGER_MS) {
			size_t last = m->nc - 1;
			pd_sidx_remove(m, &m->cidx, call_key, i, last);
			call_free(c);
			m->c[i] = m->c[last];
			m->nc--;
			changed = true;
			continue;
		}
		i++;
	}
	return changed | (changed && agents_update(m, now_ms));
}

int64_t xsi_model_next_deadline(const xsi_model *m)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < m->nc; i++) {
		const call *c = &m->c[i];
		int64_t t = c->state == PD_CALL_ENDED ? c->end_ms + XSI_ENDED_LINGER_MS
		                                      : c->start_ms + m->lim.max_call_age_ms;
		next = t < next ? t : next;
	}
	return next;
}

void xsi_model_view(xsi_model *m, int64_t now_ms, pd_live_view *v)
{
	(void)now_ms;
	/* device states: each user's own halves (1 ringing, 2 in use) */
	int *busy = xcalloc(m->nu ? m->nu : 1, sizeof *busy);
	for (size_t i = 0; i < m->nu; i++) {
		const ilist *hs = halves_of(m, m->u[i].id);
		for (size_t j = 0; hs && j < hs->n; j++) {
			int b = m->h[hs->v[j]].st == HALF_ALERTING ? 1 : 2;
			busy[i] = b > busy[i] ? b : busy[i];
		}
	}
	v->users = xcalloc(m->nu ? m->nu : 1, sizeof *v->users);
	v->n_users = m->nu;
	for (size_t i = 0; i < m->nu; i++) {
		const char *ds = busy[i] == 2 ? "In use" : busy[i] == 1 ? "Ringing" : "Not in use";
		v->users[i] = (pd_live_user){.endpoint = xstrdup(m->u[i].id),
		                             .name = xstrdup(m->u[i].name),
		                             .sub_account = xstrdup(m->u[i].group),
		                             .device_state = xstrdup(ds)};
	}
	free(busy);
	v->calls = xcalloc(m->nc ? m->nc : 1, sizeof *v->calls);
	v->n_calls = m->nc;
	for (size_t i = 0; i < m->nc; i++) {
		const call *c = &m->c[i];
		v->calls[i] = (pd_live_call){.id = xstrdup(c->id),
		                             .from = xstrdup(c->from),
		                             .from_name = xstrdup(c->from_name),
		                             .to = xstrdup(c->to),
		                             .queue = xstrdup(c->queue),
		                             .agent = xstrdup(c->agent),
		                             .dir = c->dir,
		                             .state = c->state,
		                             .start_ms = c->start_ms,
		                             .state_since_ms = c->state_since_ms,
		                             .end_ms = c->end_ms};
	}
	v->agents = xcalloc(m->na ? m->na : 1, sizeof *v->agents);
	v->n_agents = m->na;
	for (size_t i = 0; i < m->na; i++) {
		const agent *a = &m->a[i];
		/* the queues an agent serves: those of its calls (Xsi events name no others) */
		pd_buf qb = {0};
		const ilist *hs = halves_of(m, a->id);
		for (size_t j = 0; hs && j < hs->n; j++) {
			const half *h = &m->h[hs->v[j]];
			if (h->queue) {
				if (qb.len)
					pd_buf_add(&qb, ", ");
				pd_buf_add(&qb, h->queue);
			}
		}
		v->agents[i] = (pd_live_agent){
		    .interface = xstrdup(a->id),
		    .name = xstrdup(user_name(m, a->id)),
		    .queues = pd_buf_steal(&qb),
		    .reason = a->disp == PD_AGENT_NOT_READY ? xstrdup(a->reason) : NULL,
		    .state = a->disp,
		    .since_ms = a->since_ms};
	}
	pd_model_stats ms;
	xsi_model_get_stats(m, &ms);
	v->input = pd_model_input(&ms, 0);
}
