/* The BroadWorks model (src/pbx/xsi/xsi_model.h; docs/architecture.md,
 * "BroadWorks Xsi"). Halves, calls, agents and users are arrays bounded by
 * pd_model_limits; lookups are linear (a first piece: the caps bound them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/util.h"
#include "xsi_model.h"

typedef enum { HALF_ALERTING, HALF_ACTIVE, HALF_HELD } half_state;

typedef struct {
	char *target, *call_id, *call_key;
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
} call;

typedef struct {
	char *id, *acd_state, *code;
	pd_agent_state disp;
	char *reason;
	int64_t since_ms;
} agent;

typedef struct {
	char *id, *name, *group, *email;
} user;

struct xsi_model {
	pd_model_limits lim;
	pd_model_stats st;
	half *h;
	size_t nh;
	call *c;
	size_t nc;
	agent *a;
	size_t na;
	user *u;
	size_t nu, refused;
	pd_synced_user *sync_buf;
};

/* A value from the PBX made safe: unsafe code points (controls, bidi) as
 * '?'; expat hands over valid UTF-8 only. NULL for "". */
static char *clean(xsi_model *m, const char *s)
{
	if (!s || !*s)
		return NULL;
	size_t n = strlen(s), o = 0;
	char *r = xmalloc(n + 1);
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

static void half_free(half *h)
{
	free(h->target), free(h->call_id), free(h->call_key), free(h->remote_name);
	free(h->remote_number), free(h->queue), free(h->queue_number);
}

static void call_free(call *c)
{
	free(c->id), free(c->from), free(c->from_name), free(c->to), free(c->queue), free(c->agent);
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
	m->nu = m->refused = 0;
}

void xsi_model_reset_live(xsi_model *m)
{
	for (size_t i = 0; i < m->nh; i++)
		half_free(&m->h[i]);
	for (size_t i = 0; i < m->nc; i++)
		call_free(&m->c[i]);
	for (size_t i = 0; i < m->na; i++)
		agent_free(&m->a[i]);
	free(m->h), free(m->c), free(m->a);
	m->h = NULL, m->c = NULL, m->a = NULL;
	m->nh = m->nc = m->na = 0;
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

static const user *user_find(const xsi_model *m, const char *id)
{
	for (size_t i = 0; id && i < m->nu; i++)
		if (!strcmp(m->u[i].id, id))
			return &m->u[i];
	return NULL;
}

static const char *user_name(const xsi_model *m, const char *id)
{
	const user *u = user_find(m, id);
	return u && u->name ? u->name : id;
}

static call *call_find(xsi_model *m, const char *id)
{
	for (size_t i = 0; i < m->nc; i++)
		if (!strcmp(m->c[i].id, id))
			return &m->c[i];
	return NULL;
}

static half *half_find(xsi_model *m, const char *target, const char *call_id)
{
	for (size_t i = 0; i < m->nh; i++)
		if (!strcmp(m->h[i].target, target) && !strcmp(m->h[i].call_id, call_id))
			return &m->h[i];
	return NULL;
}

static void replace(char **p, const char *v)
{
	char *n = xstrdup(v);
	free(*p);
	*p = n;
}

/* The call's state, direction, parties and agent from its halves. */
static bool call_update(xsi_model *m, call *c, int64_t now_ms)
{
	if (c->state == PD_CALL_ENDED)
		return false;
	const half *orig = NULL, *term = NULL, *agent_h = NULL;
	bool held = false, active = false, alerting_agent = false, internal = false;
	size_t n = 0;
	const char *queue = NULL, *queue_number = NULL;
	for (size_t i = 0; i < m->nh; i++) {
		const half *h = &m->h[i];
		if (strcmp(h->call_key, c->id))
			continue;
		n++;
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
		const half *any = src;
		for (size_t i = 0; !any && i < m->nh; i++)
			if (!strcmp(m->h[i].call_key, c->id))
				any = &m->h[i];
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
		for (size_t i = 0; i < m->nh; i++) {
			const half *h = &m->h[i];
			if (strcmp(h->target, a->id))
				continue;
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
	for (size_t i = 0; i < m->na; i++)
		if (!strcmp(m->a[i].id, target))
			return agent_update(m, &m->a[i], now_ms);
	return false;
}

static void half_remove(xsi_model *m, size_t i)
{
	half_free(&m->h[i]);
	m->h[i] = m->h[--m->nh];
}

static bool apply_call(xsi_model *m, const xsi_msg *e, int64_t now_ms)
{
	if (!e->target_id[0] || !e->call_id[0]) {
		m->st.bad_fields++;
		return false;
	}
	/* halves of one call share the extTrackingId; without one, a call of its own */
	char key[XSI_VALUE_MAX * 2 + 2];
	if (e->ext_tracking_id[0])
		snprintf(key, sizeof key, "%s", e->ext_tracking_id);
	else
		snprintf(key, sizeof key, "%s/%s", e->target_id, e->call_id);
	half *h = half_find(m, e->target_id, e->call_id);
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
		return changed | agent_update_for(m, e->target_id, now_ms);
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
		m->c = xrealloc(m->c, (m->nc + 1) * sizeof *m->c);
		c = &m->c[m->nc++];
		*c = (call){.id = xstrdup(key),
		            .state = PD_CALL_RINGING,
		            .start_ms = now_ms,
		            .state_since_ms = now_ms,
		            .dir = PD_DIR_INBOUND};
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
		m->h = xrealloc(m->h, (m->nh + 1) * sizeof *m->h);
		h = &m->h[m->nh++];
		*h = (half){.target = xstrdup(e->target_id),
		            .call_id = xstrdup(e->call_id),
		            .call_key = xstrdup(key)};
		changed = true; /* the user's device state */
	} else if (strcmp(h->call_key, key)) {
		replace(&h->call_key, key); /* a transfer joined it to another call */
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
	return changed | agent_update_for(m, e->target_id, now_ms);
}

static bool apply_agent(xsi_model *m, const xsi_msg *e, int64_t now_ms)
{
	if (!e->target_id[0] || !e->agent_state[0]) {
		m->st.bad_fields++;
		return false;
	}
	agent *a = NULL;
	for (size_t i = 0; i < m->na && !a; i++)
		if (!strcmp(m->a[i].id, e->target_id))
			a = &m->a[i];
	if (!a) {
		if (m->na >= m->lim.max_channels) {
			m->st.dropped_other++;
			return false;
		}
		m->a = xrealloc(m->a, (m->na + 1) * sizeof *m->a);
		a = &m->a[m->na++];
		*a = (agent){
		    .id = clean(m, e->target_id), .disp = PD_AGENT_OFFLINE, .since_ms = now_ms};
	}
	replace(&a->acd_state, e->agent_state);
	free(a->code);
	a->code = clean(m, e->unavailable_code);
	return agent_update(m, a, now_ms);
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
		return apply_call(m, e, now_ms);
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
		if (user_find(m, d->user_id))
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
		m->u = xrealloc(m->u, (m->nu + 1) * sizeof *m->u);
		m->u[m->nu++] = (user){.id = clean(m, d->user_id),
		                       .name = clean(m, name),
		                       .group = clean(m, d->group_id),
		                       .email = clean(m, d->email)};
		free(name);
	}
	m->refused += p->refused;
}

size_t xsi_model_user_count(const xsi_model *m)
{
	return m->nu;
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
			for (size_t j = 0; j < m->nh;)
				if (!strcmp(m->h[j].call_key, c->id))
					half_remove(m, j);
				else
					j++;
			call_update(m, c, now_ms);
			m->st.aged_out++;
			changed = true;
		}
		if (c->state == PD_CALL_ENDED && now_ms - c->end_ms >= XSI_ENDED_LINGER_MS) {
			call_free(c);
			m->c[i] = m->c[--m->nc];
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

/* qsort has no context argument: the model being sorted, per thread. */
static _Thread_local const xsi_model *sort_users;

static int cmp_user(const void *a, const void *b)
{
	return strcmp(sort_users->u[*(const size_t *)a].id, sort_users->u[*(const size_t *)b].id);
}

void xsi_model_view(xsi_model *m, int64_t now_ms, pd_live_view *v)
{
	(void)now_ms;
	/* device states in one pass over the halves: users sorted by id */
	size_t *by_id = xcalloc(m->nu ? m->nu : 1, sizeof *by_id);
	int *busy = xcalloc(m->nu ? m->nu : 1, sizeof *busy); /* 1 ringing, 2 in use */
	for (size_t i = 0; i < m->nu; i++)
		by_id[i] = i;
	sort_users = m;
	qsort(by_id, m->nu, sizeof *by_id, cmp_user);
	for (size_t j = 0; j < m->nh; j++) {
		size_t lo = 0, hi = m->nu;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(m->u[by_id[mid]].id, m->h[j].target);
			if (c == 0) {
				int b = m->h[j].st == HALF_ALERTING ? 1 : 2;
				busy[by_id[mid]] = b > busy[by_id[mid]] ? b : busy[by_id[mid]];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
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
	free(by_id);
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
		for (size_t j = 0; j < m->nh; j++)
			if (!strcmp(m->h[j].target, a->id) && m->h[j].queue) {
				if (qb.len)
					pd_buf_add(&qb, ", ");
				pd_buf_add(&qb, m->h[j].queue);
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
