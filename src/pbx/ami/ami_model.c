/* Asterisk call/agent/user model built from AMI events and list items.
 * A call is the set of channels sharing a Linkedid; an agent is a queue
 * member interface across all its queues. See ami_model.h. */
#include "ami_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../model_index.h"
#include "provdesk/util.h"

typedef struct {
	char *endpoint, *name, *context, *dstate;
	char *mailbox; /* the endpoint's first "Mailboxes" entry ("1001@default"), if any */
} user;

/* A mailbox of app_voicemail (VoicemailUserEntry): where the PBX keeps a
 * user's email. */
typedef struct {
	char *context, *mailbox, *fullname, *email;
} vmbox;

typedef struct {
	char *uid, *lid, *name, *cid_num, *cid_name, *exten;
	size_t lid_h; /* pd_str_hash(lid): its call found without hashing it again */
	bool origin;  /* uid == lid: the call's first leg */
	int state;    /* ChannelState: 4 Ring, 5 Ringing, 6 Up */
	bool bridged, held, dialing;
	bool seen; /* in the running CoreShowChannels snapshot (or new since it began) */
} chan;

typedef struct {
	char *lid, *queue, *agent, *dialed;
	/* who called and what: the first leg's caller id (the origin's once it
	 * has one), kept to the end: Asterisk changes a Local origin's caller id
	 * to the agent's just before its hangup (tests/fixtures/asterisk) */
	char *from_num, *from_name, *exten;
	bool from_origin, dir_known;
	pd_call_dir dir;
	char *agent_iface; /* "PJSIP/1003": the agent leg of a call found up in a snapshot */
	bool queued, agent_connected;
	int64_t start, since, end;
	pd_call_state state;
	size_t order; /* creation order, for display */
	size_t *ch;   /* its channels: indexes into ami_model.c */
	size_t nch, cch;
} call;

typedef struct {
	char *queue, *reason;
	bool paused;
	int wrapup;
} membership;

typedef struct {
	char *iface, *state_iface, *name;
	membership *q;
	size_t nq;
	int status; /* AST_DEVICE_*: 1 not in use, 2 in use, 5 unavailable, 6 ringing, 8 on hold */
	bool ringing, on_call;
	int64_t wrapup_until;
	pd_agent_state state;
	uint32_t si_hash; /* pd_str_hash of the device its state follows (device_event) */
	int64_t since;
} agent;

typedef struct {
	char *name;
	int wrapup;
} queue_param;

struct ami_model {
	user *u;
	size_t nu, cu;
	size_t users_refused; /* at lim.max_users, since the last reset_users */
	pd_sidx uidx;         /* users by endpoint: 10,000 users stay O(1) */
	chan *c;
	size_t nc, cc;
	pd_sidx cidx; /* channels by Uniqueid */
	call *k;
	size_t nk, ck;
	pd_sidx kidx; /* calls by Linkedid */
	pd_sidx aidx; /* agents by interface: a QueueStatus of 10,000 members stays O(n) */
	size_t call_seq;
	ami_model_limits lim;
	ami_model_stats st;
	bool snap_active;
	agent *a;
	size_t na, ca;
	queue_param *qp;
	size_t nqp, cqp;
	int default_wrapup;
	size_t n_wrapup; /* agents with wrapup_until set: tick and deadline skip
	                    the agents while there is none */
	pd_synced_user *sync_buf;
	vmbox *vm;
	size_t nvm, cvm;
	bool vm_sorted;
};

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap)*2 : 4;                                               \
			(arr) = xrealloc((arr), (cap) * sizeof *(arr));                            \
		}                                                                                  \
	} while (0)

ami_model *ami_model_new(void)
{
	ami_model *m = xcalloc(1, sizeof(ami_model));
	m->lim = pd_model_limits_fill(NULL);
	return m;
}

void ami_model_set_limits(ami_model *m, const ami_model_limits *l)
{
	m->lim = pd_model_limits_fill(l);
}

size_t ami_model_users_refused(const ami_model *m)
{
	return m->users_refused;
}

void ami_model_get_stats(const ami_model *m, ami_model_stats *out)
{
	*out = m->st;
	out->calls = m->nk;
	out->channels = m->nc;
}

static void chan_free(chan *c)
{
	free(c->uid);
	free(c->lid);
	free(c->name);
	free(c->cid_num);
	free(c->cid_name);
	free(c->exten);
}

static void call_free(call *k)
{
	free(k->ch);
	free(k->lid);
	free(k->queue);
	free(k->agent);
	free(k->dialed);
	free(k->from_num);
	free(k->from_name);
	free(k->exten);
	free(k->agent_iface);
}

static void agent_free(agent *a)
{
	free(a->iface);
	free(a->state_iface);
	free(a->name);
	for (size_t i = 0; i < a->nq; i++) {
		free(a->q[i].queue);
		free(a->q[i].reason);
	}
	free(a->q);
}

void ami_model_reset_live(ami_model *m)
{
	for (size_t i = 0; i < m->nc; i++)
		chan_free(&m->c[i]);
	for (size_t i = 0; i < m->nk; i++)
		call_free(&m->k[i]);
	for (size_t i = 0; i < m->na; i++)
		agent_free(&m->a[i]);
	for (size_t i = 0; i < m->nqp; i++)
		free(m->qp[i].name);
	m->nc = m->nk = m->na = m->nqp = m->n_wrapup = 0;
	pd_idx_clear(&m->aidx);
	pd_idx_clear(&m->cidx);
	pd_idx_clear(&m->kidx);
	m->snap_active = false;
	m->st.calls_full = m->st.channels_full = false;
	/* after a reconnect the arrays are refilled from a snapshot: do not
	 * keep a flood's worth of capacity */
	if (m->cc > 64) {
		free(m->c);
		m->c = NULL;
		m->cc = 0;
		pd_sidx_free(&m->cidx);
	}
	if (m->ck > 64) {
		free(m->k);
		m->k = NULL;
		m->ck = 0;
		pd_sidx_free(&m->kidx);
	}
}

void ami_model_reset_users(ami_model *m)
{
	for (size_t i = 0; i < m->nu; i++) {
		free(m->u[i].endpoint);
		free(m->u[i].name);
		free(m->u[i].context);
		free(m->u[i].dstate);
		free(m->u[i].mailbox);
	}
	m->nu = 0;
	m->users_refused = 0;
	for (size_t i = 0; i < m->nvm; i++) {
		free(m->vm[i].context);
		free(m->vm[i].mailbox);
		free(m->vm[i].fullname);
		free(m->vm[i].email);
	}
	m->nvm = 0;
	m->vm_sorted = false;
	pd_idx_clear(&m->uidx);
}

void ami_model_free(ami_model *m)
{
	if (!m)
		return;
	ami_model_reset_live(m);
	ami_model_reset_users(m);
	free(m->u);
	pd_sidx_free(&m->uidx);
	free(m->c);
	free(m->k);
	pd_sidx_free(&m->cidx);
	pd_sidx_free(&m->kidx);
	pd_sidx_free(&m->aidx);
	free(m->a);
	free(m->qp);
	free(m->sync_buf);
	free(m->vm);
	free(m);
}

void ami_model_set_default_wrapup(ami_model *m, int seconds)
{
	m->default_wrapup = seconds;
}

/* C1 controls (U+0080-U+009F: CSI is U+009B) and bidi embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069): valid UTF-8 that a
 * terminal obeys or that makes a name read other than it is. Length of the
 * sequence at s, 0 when none. (C0 bytes never get here: the parser
 * replaces them.) */
static size_t hostile_seq(const unsigned char *s)
{
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
	                     (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)))
		return 3;
	return 0;
}

/* Values from the wire may hold invalid UTF-8, C1 controls or bidi
 * overrides: never let them reach the UI/DB ('?' instead). */
static char *clean(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (pd_ascii(s, n)) { /* most of what a PBX sends: nothing to look for */
		char *r = xmalloc(n + 1);
		memcpy(r, s, n + 1);
		return r;
	}
	bool bad = false;
	for (size_t i = 0; i < n && !bad; i++)
		bad = (unsigned char)s[i] >= 0xc2 && hostile_seq((const unsigned char *)s + i);
	if (!bad && pd_utf8_valid(s, n))
		return xstrdup(s);
	char *r = xstrdup(s);
	if (!pd_utf8_valid(s, n)) {
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)r[i] >= 0x80)
				r[i] = '?';
		return r;
	}
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t h = hostile_seq((const unsigned char *)s + i);
		if (h) {
			r[o++] = '?';
			i += h;
		} else {
			r[o++] = s[i++];
		}
	}
	r[o] = '\0';
	return r;
}

static void set(char **p, const char *v)
{
	free(*p);
	*p = clean(v);
}

/* The same, but a value that did not change is not copied again (most
 * events repeat a channel's name and caller id). A value that clean()
 * changes never compares equal and is cleaned each time, as before. */
static bool update(char **p, const char *v)
{
	if (*p && v && !strcmp(*p, v))
		return false;
	set(p, v);
	return true;
}

static const char *getk0(const ami_msg *msg, ami_key k)
{
	const char *v = ami_getk(msg, k);
	return v ? v : "";
}

/* atoi for the codes and counts AMI sends ("6", "0", "120"): plain digits
 * read here, anything else (a sign, spaces, ten digits or more) as atoi
 * reads it (strtol showed in the driver's profile). */
static int num(const char *s)
{
	int v = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9' && p - s < 9)
		v = v * 10 + (*p++ - '0');
	return p > s && !*p ? v : atoi(s);
}

static bool unknown(const char *s)
{
	return !s || !*s || (*s == '<' && !strcmp(s, "<unknown>"));
}

/* ---- users ---- */

static const char *user_key(const void *m, size_t i)
{
	return ((const ami_model *)m)->u[i].endpoint;
}

static user *user_find(ami_model *m, const char *ep)
{
	size_t i = pd_sidx_find(m, &m->uidx, user_key, ep);
	return i == PD_SIDX_NONE ? NULL : &m->u[i];
}

/* Asterisk's device states, by their AST_DEVICE_* code, and as shown. */
static const struct {
	const char *code, *text;
} dstates[] = {
    {"UNKNOWN", "Unknown"}, {"NOT_INUSE", "Not in use"},      {"INUSE", "In use"},
    {"BUSY", "Busy"},       {"INVALID", "Invalid"},           {"UNAVAILABLE", "Unavailable"},
    {"RINGING", "Ringing"}, {"RINGINUSE", "Ringing, in use"}, {"ONHOLD", "On hold"}};

/* The code of device state s (case-insensitive), -1 when none: one string
 * compare, where the first letters agree (a device event reads it twice). */
static int dstate_index(const char *s)
{
	for (int i = 0; i < (int)(sizeof dstates / sizeof dstates[0]); i++)
		if ((s[0] | 0x20) == (dstates[i].code[0] | 0x20) && !strcasecmp(s, dstates[i].code))
			return i;
	return -1;
}

static const char *dstate_text(const char *s)
{
	int i = dstate_index(s);
	return i < 0 ? s : dstates[i].text; /* EndpointList already gives text ("Not in use") */
}

void ami_model_user_add(ami_model *m, const char *ep, const char *dstate)
{
	if (unknown(ep))
		return;
	user *u = user_find(m, ep);
	if (!u) {
		if (m->nu >= m->lim.max_users) {
			m->users_refused++;
			return;
		}
		GROW(m->u, m->nu, m->cu);
		u = &m->u[m->nu++];
		memset(u, 0, sizeof *u);
		u->endpoint = clean(ep);
		pd_sidx_added(m, &m->uidx, user_key, m->nu);
	}
	if (dstate && *dstate)
		set(&u->dstate, dstate_text(dstate));
}

char *ami_callerid_name(const char *cid)
{
	if (!cid)
		return NULL;
	const char *lt = strrchr(cid, '<');
	size_t n = lt ? (size_t)(lt - cid) : strlen(cid);
	while (n && cid[n - 1] == ' ')
		n--;
	if (n >= 2 && cid[0] == '"' && cid[n - 1] == '"') {
		cid++;
		n -= 2;
	}
	if (n == 0)
		return NULL;
	char *raw = xstrndup(cid, n);
	char *r = clean(raw);
	free(raw);
	return r;
}

static void user_detail(ami_model *m, const ami_msg *msg)
{
	const char *ep = ami_getk(msg, AMI_K_OBJECTNAME);
	if (unknown(ep))
		return;
	ami_model_user_add(m, ep, NULL);
	user *u = user_find(m, ep);
	const char *cid = ami_getk(msg, AMI_K_CALLERID);
	if (cid) {
		free(u->name);
		u->name = ami_callerid_name(cid);
	}
	const char *ctx = ami_getk(msg, AMI_K_CONTEXT);
	if (ctx)
		set(&u->context, ctx);
	const char *ds = ami_getk(msg, AMI_K_DEVICESTATE);
	if (ds && *ds)
		set(&u->dstate, dstate_text(ds));
	/* PJSIP's "Mailboxes: 1001@default,1002@default" (chan_sip's SIPshowpeer
	 * says "VoiceMailbox"): the first one is the user's own */
	const char *mb = ami_getk(msg, AMI_K_MAILBOXES);
	if (!mb)
		mb = ami_getk(msg, AMI_K_VOICEMAILBOX);
	free(u->mailbox);
	u->mailbox = NULL;
	if (mb && *mb) {
		size_t n = strcspn(mb, ", &");
		if (n) {
			char *one = xstrndup(mb, n);
			u->mailbox = clean(one);
			free(one);
		}
	}
}

void ami_model_mailbox_add(ami_model *m, const char *context, const char *mailbox,
                           const char *fullname, const char *email)
{
	if (unknown(mailbox))
		return;
	GROW(m->vm, m->nvm, m->cvm);
	vmbox *v = &m->vm[m->nvm++];
	v->context = clean(context && *context ? context : "default");
	v->mailbox = clean(mailbox);
	v->fullname = fullname && *fullname ? clean(fullname) : NULL;
	v->email = email && *email ? clean(email) : NULL;
	m->vm_sorted = false;
}

size_t ami_model_mailbox_count(const ami_model *m)
{
	return m->nvm;
}

static int cmp_vm(const void *a, const void *b)
{
	const vmbox *x = a, *y = b;
	int c = strcmp(x->mailbox, y->mailbox);
	return c ? c : strcmp(x->context, y->context);
}

/* The mailbox of user u: the endpoint's own "Mailboxes" entry when it named
 * one, else the mailbox numbered like the endpoint in the endpoint's context,
 * else in "default", else the only mailbox with that number. NULL when none
 * (or several and none of those rules picks one). */
static const vmbox *mailbox_of(ami_model *m, const user *u)
{
	if (!m->nvm)
		return NULL;
	if (!m->vm_sorted) {
		qsort(m->vm, m->nvm, sizeof *m->vm, cmp_vm);
		m->vm_sorted = true;
	}
	char *num = xstrdup(u->mailbox ? u->mailbox : u->endpoint);
	char *at = strchr(num, '@');
	const char *want_ctx = u->context;
	if (at) {
		*at = '\0';
		want_ctx = at + 1;
	}
	/* the first entry with this number */
	size_t lo = 0, hi = m->nvm;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(m->vm[mid].mailbox, num) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	const vmbox *same_ctx = NULL, *deflt = NULL;
	size_t n = 0;
	for (size_t i = lo; i < m->nvm && !strcmp(m->vm[i].mailbox, num); i++, n++) {
		if (want_ctx && !strcmp(m->vm[i].context, want_ctx))
			same_ctx = &m->vm[i];
		if (!strcmp(m->vm[i].context, "default"))
			deflt = &m->vm[i];
	}
	free(num);
	if (same_ctx)
		return same_ctx;
	if (at) /* the endpoint named its mailbox: nothing else is it */
		return NULL;
	if (deflt)
		return deflt;
	return n == 1 ? &m->vm[lo] : NULL;
}

/* ---- agents ---- */
static const char *agent_key(const void *m, size_t i)
{
	return ((const ami_model *)m)->a[i].iface;
}

static agent *agent_find(ami_model *m, const char *iface, bool create)
{
	size_t i = pd_sidx_find(m, &m->aidx, agent_key, iface);
	if (i != PD_SIDX_NONE)
		return &m->a[i];
	if (!create)
		return NULL;
	if (m->na >= m->lim.max_channels) { /* a flood of queue members */
		m->st.dropped_other++;
		return NULL;
	}
	GROW(m->a, m->na, m->ca);
	agent *a = &m->a[m->na++];
	memset(a, 0, sizeof *a);
	a->iface = clean(iface);
	a->si_hash = (uint32_t)pd_str_hash(a->iface);
	a->state = PD_AGENT_LOGGED_OFF;
	pd_sidx_added(m, &m->aidx, agent_key, m->na);
	return a;
}

/* Sets (until > 0) or ends (0) an agent's wrap-up, keeping the count. */
static void wrapup_set(ami_model *m, agent *a, int64_t until)
{
	m->n_wrapup -= a->wrapup_until != 0;
	a->wrapup_until = until;
	m->n_wrapup += until != 0;
}

static int queue_wrapup(ami_model *m, const char *q)
{
	for (size_t i = 0; i < m->nqp; i++)
		if (!strcmp(m->qp[i].name, q))
			return m->qp[i].wrapup;
	return -1;
}

static pd_agent_state agent_compute(ami_model *m, agent *a, int64_t now)
{
	if (a->nq == 0)
		return PD_AGENT_LOGGED_OFF;
	if (a->status == 8)
		return PD_AGENT_ON_HOLD;
	if (a->ringing || a->status == 6 || a->status == 7)
		return PD_AGENT_RINGING;
	if (a->on_call || a->status == 2 || a->status == 3)
		return PD_AGENT_ON_CALL;
	if (a->status == 4 || a->status == 5)
		return PD_AGENT_OFFLINE;
	if (a->wrapup_until > now)
		return PD_AGENT_WRAPUP;
	bool all_paused = true;
	for (size_t i = 0; i < a->nq; i++)
		all_paused &= a->q[i].paused;
	(void)m;
	return all_paused ? PD_AGENT_NOT_READY : PD_AGENT_AVAILABLE;
}

static bool agent_update(ami_model *m, agent *a, int64_t now)
{
	pd_agent_state st = agent_compute(m, a, now);
	if (st == a->state && a->since)
		return false;
	if (st != a->state || !a->since)
		a->since = now;
	a->state = st;
	return true;
}

static membership *member_of(agent *a, const char *q, bool create)
{
	for (size_t i = 0; i < a->nq; i++)
		if (!strcmp(a->q[i].queue, q))
			return &a->q[i];
	if (!create)
		return NULL;
	a->q = xrealloc(a->q, (a->nq + 1) * sizeof *a->q);
	membership *mb = &a->q[a->nq++];
	memset(mb, 0, sizeof *mb);
	mb->queue = clean(q);
	return mb;
}

/* QueueMember / QueueMemberStatus / Added / Pause: all carry the full member. */
static bool member_event(ami_model *m, const ami_msg *msg, int64_t now, bool removed)
{
	const char *q = ami_getk(msg, AMI_K_QUEUE);
	const char *iface = ami_getk(msg, AMI_K_INTERFACE);
	if (!iface)
		iface = ami_getk(msg, AMI_K_LOCATION); /* QueueMember list item */
	if (unknown(iface) || !q)
		return false;
	agent *a = agent_find(m, iface, true);
	if (!a)
		return false;
	const char *name = ami_getk(msg, AMI_K_MEMBERNAME);
	if (!name)
		name = ami_getk(msg, AMI_K_NAME);
	if (name && *name)
		update(&a->name, name);
	const char *si = ami_getk(msg, AMI_K_STATEINTERFACE);
	if (si && *si && update(&a->state_iface, si))
		a->si_hash = (uint32_t)pd_str_hash(a->state_iface);
	if (removed) {
		membership *mb = member_of(a, q, false);
		if (mb) {
			free(mb->queue);
			free(mb->reason);
			*mb = a->q[--a->nq];
		}
		return agent_update(m, a, now) || true;
	}
	membership *mb = member_of(a, q, true);
	const char *v;
	if ((v = ami_getk(msg, AMI_K_STATUS)))
		a->status = num(v);
	if ((v = ami_getk(msg, AMI_K_PAUSED)))
		mb->paused = num(v) != 0 || !strcasecmp(v, "true");
	if ((v = ami_getk(msg, AMI_K_PAUSEDREASON)) || (v = ami_getk(msg, AMI_K_REASON)))
		set(&mb->reason, *v ? v : NULL);
	if (!mb->paused) {
		free(mb->reason);
		mb->reason = NULL;
	}
	if ((v = ami_getk(msg, AMI_K_WRAPUPTIME)))
		mb->wrapup = num(v);
	if ((v = ami_getk(msg, AMI_K_INCALL)))
		a->on_call = num(v) != 0 && a->status != 1;
	agent_update(m, a, now);
	return true;
}

static bool agent_call_event(ami_model *m, const ami_msg *msg, ami_event type, int64_t now)
{
	const char *iface = ami_getk(msg, AMI_K_INTERFACE);
	if (unknown(iface))
		return false;
	agent *a = agent_find(m, iface, false);
	if (!a)
		return false;
	if (type == AMI_EV_AGENTCALLED) {
		a->ringing = true;
	} else if (type == AMI_EV_AGENTCONNECT) {
		a->ringing = false;
		a->on_call = true;
		wrapup_set(m, a, 0);
	} else if (type == AMI_EV_AGENTRINGNOANSWER) {
		a->ringing = false;
	} else if (type == AMI_EV_AGENTCOMPLETE) {
		a->ringing = false;
		a->on_call = false;
		const char *q = getk0(msg, AMI_K_QUEUE);
		membership *mb = member_of(a, q, false);
		int w = mb && mb->wrapup > 0 ? mb->wrapup : queue_wrapup(m, q);
		if (w <= 0)
			w = m->default_wrapup;
		if (a->status == 2 || a->status == 3)
			a->status = 1; /* the device state follows; do not stay "On call" */
		wrapup_set(m, a, w > 0 ? now + (int64_t)w * 1000 : 0);
	}
	agent_update(m, a, now);
	return true;
}

static bool device_event(ami_model *m, const ami_msg *msg, int64_t now)
{
	const char *dev = ami_getk(msg, AMI_K_DEVICE);
	const char *st = ami_getk(msg, AMI_K_STATE);
	if (unknown(dev) || !st)
		return false;
	bool changed = false;
	int code = dstate_index(st);
	const char *slash = strchr(dev, '/');
	if (slash && (!strncmp(dev, "PJSIP/", 6) || !strncmp(dev, "SIP/", 4))) {
		user *u = user_find(m, slash + 1);
		/* a device repeats its state (each call's legs, each queue):
		 * nothing to copy or publish then */
		if (u)
			changed = update(&u->dstate, code < 0 ? st : dstates[code].text);
	}
	uint32_t h = (uint32_t)pd_str_hash(dev);
	for (size_t i = 0; i < m->na; i++) {
		agent *a = &m->a[i];
		if (a->si_hash != h)
			continue;
		const char *si = a->state_iface ? a->state_iface : a->iface;
		if (!strcmp(si, dev)) {
			int status = a->status;
			bool on_call = a->on_call, ringing = a->ringing;
			a->status = code < 0 ? 0 : code;
			if (a->status == 1 || a->status == 5 || a->status == 4)
				a->on_call = a->ringing = false;
			changed |= agent_update(m, a, now) || a->status != status ||
			           a->on_call != on_call || a->ringing != ringing;
		}
	}
	return changed;
}

/* ---- channels and calls ---- */

static const char *chan_key(const void *m, size_t i)
{
	return ((const ami_model *)m)->c[i].uid;
}

static const char *call_key(const void *m, size_t i)
{
	return ((const ami_model *)m)->k[i].lid;
}

static chan *chan_find(ami_model *m, const char *uid)
{
	size_t i = pd_sidx_find(m, &m->cidx, chan_key, uid);
	return i == PD_SIDX_NONE ? NULL : &m->c[i];
}

static call *call_get(ami_model *m, const char *lid)
{
	size_t i = pd_sidx_find(m, &m->kidx, call_key, lid);
	return i == PD_SIDX_NONE ? NULL : &m->k[i];
}

/* The channel's call, by the hash kept with its Linkedid. */
static call *chan_call(ami_model *m, const chan *c)
{
	size_t i = pd_sidx_find_h(m, &m->kidx, call_key, c->lid, c->lid_h);
	return i == PD_SIDX_NONE ? NULL : &m->k[i];
}

static void chan_set_lid(chan *c, const char *lid)
{
	free(c->lid);
	c->lid = xstrdup(lid);
	c->lid_h = pd_str_hash(lid);
	c->origin = !strcmp(c->uid, lid);
}

/* NULL when create is false and there is none, or when the per-link cap is
 * reached (counted: a flood of calls must not grow the model). */
static call *call_find(ami_model *m, const char *lid, bool create, int64_t now)
{
	call *k = call_get(m, lid);
	if (k || !create)
		return k;
	if (m->nk >= m->lim.max_calls) {
		m->st.dropped_calls++;
		m->st.calls_full = true;
		return NULL;
	}
	char *id = clean(lid);
	if (call_get(m, id)) { /* cleaned to an id that exists: one call */
		free(id);
		return call_get(m, lid);
	}
	GROW(m->k, m->nk, m->ck);
	k = &m->k[m->nk++];
	memset(k, 0, sizeof *k);
	k->lid = id;
	k->start = k->since = now;
	k->state = PD_CALL_RINGING;
	k->order = m->call_seq++;
	pd_sidx_added(m, &m->kidx, call_key, m->nk);
	return k;
}

static void call_add_chan(call *k, size_t ci)
{
	GROW(k->ch, k->nch, k->cch);
	k->ch[k->nch++] = ci;
}

static void call_del_chan(call *k, size_t ci)
{
	for (size_t i = 0; i < k->nch; i++)
		if (k->ch[i] == ci) {
			k->ch[i] = k->ch[--k->nch];
			return;
		}
}

/* Remove channel ci (its call keeps going, or ends: the caller updates it). */
static void chan_remove(ami_model *m, size_t ci)
{
	size_t last = m->nc - 1;
	call *k = chan_call(m, &m->c[ci]);
	if (k)
		call_del_chan(k, ci);
	pd_sidx_remove(m, &m->cidx, chan_key, ci, last);
	if (ci != last) {
		call *k2 = chan_call(m, &m->c[last]);
		if (k2)
			for (size_t i = 0; i < k2->nch; i++)
				if (k2->ch[i] == last)
					k2->ch[i] = ci;
	}
	chan_free(&m->c[ci]);
	m->c[ci] = m->c[last];
	m->nc--;
	if (m->nc < m->lim.max_channels)
		m->st.channels_full = false;
}

static void call_remove(ami_model *m, size_t ki)
{
	size_t last = m->nk - 1;
	pd_sidx_remove(m, &m->kidx, call_key, ki, last);
	call_free(&m->k[ki]);
	m->k[ki] = m->k[last];
	m->nk--;
	if (m->nk < m->lim.max_calls)
		m->st.calls_full = false;
}

static bool call_update(ami_model *m, call *k, int64_t now);

/* The call's caller is its first leg's caller id: the origin's (Uniqueid ==
 * Linkedid) the first time it has one, else, until then, the first leg seen
 * with one. Never replaced after: neither by the origin's later caller id
 * (a Local origin takes the agent's at hangup) nor by another leg's. */
static void call_keep_caller(const chan *c, call *k)
{
	if (!k)
		return;
	bool origin = c->origin;
	if (origin && !k->exten && c->exten)
		k->exten = xstrdup(c->exten);
	if (k->from_origin || !c->cid_num || (!origin && k->from_num))
		return;
	free(k->from_num);
	free(k->from_name);
	k->from_num = xstrdup(c->cid_num);
	k->from_name = xstrdup(c->cid_name);
	k->from_origin = origin;
}

/* Only Newchannel, DialBegin and the snapshot create a channel: events that
 * follow a Hangup (AgentComplete, BridgeLeave…) must not bring it back. */
/* The channel's keys in an event: its own, or the Dest* ones of a dial. */
typedef struct {
	ami_key uid, lid, name, state, cid_num, cid_name, exten;
} chan_keys;

static const chan_keys chan_own = {AMI_K_UNIQUEID,     AMI_K_LINKEDID,    AMI_K_CHANNEL,
                                   AMI_K_CHANNELSTATE, AMI_K_CALLERIDNUM, AMI_K_CALLERIDNAME,
                                   AMI_K_EXTEN};
static const chan_keys chan_dest = {
    AMI_K_DESTUNIQUEID,    AMI_K_DESTLINKEDID,     AMI_K_DESTCHANNEL, AMI_K_DESTCHANNELSTATE,
    AMI_K_DESTCALLERIDNUM, AMI_K_DESTCALLERIDNAME, AMI_K_DESTEXTEN};

/* The channel of the event (created when create allows), NULL when none;
 * *kp: its call, looked up once for the caller too (valid until a call is
 * added or removed). */
static chan *chan_upsert(ami_model *m, const ami_msg *msg, const chan_keys *ck, int64_t now,
                         bool create, call **kp)
{
	*kp = NULL;
#define F(k) ami_getk(msg, ck->k)
	const char *uid = F(uid);
	const char *lid = F(lid);
	if (unknown(uid))
		return NULL;
	chan *c = chan_find(m, uid);
	if (!c) {
		if (unknown(lid) || !create)
			return NULL;
		if (m->nc >= m->lim.max_channels) {
			m->st.dropped_channels++;
			m->st.channels_full = true;
			return NULL;
		}
		char *cu = clean(uid);
		if (chan_find(m, cu)) { /* cleaned to an id that exists */
			free(cu);
			return NULL;
		}
		call *k = call_find(m, lid, true, now);
		if (!k) { /* the call cap: the channel goes with its call */
			free(cu);
			m->st.dropped_channels++;
			return NULL;
		}
		GROW(m->c, m->nc, m->cc);
		c = &m->c[m->nc++];
		memset(c, 0, sizeof *c);
		c->uid = cu;
		chan_set_lid(c, k->lid);
		c->seen = true;
		pd_sidx_added(m, &m->cidx, chan_key, m->nc);
		call_add_chan(k, m->nc - 1);
	} else if (!unknown(lid) && strcmp(lid, c->lid) != 0) {
		/* a masquerade/transfer moved it */
		size_t ci = (size_t)(c - m->c);
		call *nk = call_find(m, lid, true, now);
		if (nk && strcmp(nk->lid, c->lid) != 0) {
			call *old = chan_call(m, c);
			if (old) {
				call_del_chan(old, ci);
				call_update(m, old, now);
			}
			chan_set_lid(c, nk->lid);
			call_add_chan(nk, ci);
		}
	}
	const char *v;
	if ((v = F(name)))
		update(&c->name, v);
	if ((v = F(state)))
		c->state = num(v);
	if ((v = F(cid_num)) && !unknown(v))
		update(&c->cid_num, v);
	if ((v = F(cid_name)) && !unknown(v))
		update(&c->cid_name, v);
	if (!c->exten && (v = F(exten)) && *v)
		set(&c->exten, v);
#undef F
	*kp = chan_call(m, c);
	call_keep_caller(c, *kp);
	return c;
}

static bool is_endpoint_channel(ami_model *m, const char *name)
{
	/* chan_pjsip, or chan_sip on Asterisk 13-16 (SIPpeers discovery) */
	size_t tl = !name ? 0 : !strncmp(name, "PJSIP/", 6) ? 6 : !strncmp(name, "SIP/", 4) ? 4 : 0;
	if (!tl)
		return false;
	const char *ep = name + tl, *dash = strrchr(ep, '-');
	size_t n = dash ? (size_t)(dash - ep) : strlen(ep);
	char key[128];
	if (n >= sizeof key)
		return false;
	memcpy(key, ep, n);
	key[n] = '\0';
	return user_find(m, key) != NULL;
}

static pd_call_state call_compute(ami_model *m, call *k)
{
	size_t n = 0, bridged = 0;
	bool held = false, ringing = false, up = false;
	for (size_t i = 0; i < k->nch; i++) {
		chan *c = &m->c[k->ch[i]];
		n++;
		bridged += c->bridged;
		held |= c->held;
		ringing |= c->dialing || c->state == 4 || c->state == 5;
		up |= c->state == 6;
	}
	if (n == 0)
		return PD_CALL_ENDED;
	if (held)
		return PD_CALL_HELD;
	if (bridged >= 2 || k->agent_connected)
		return PD_CALL_CONNECTED;
	if (k->queued)
		return PD_CALL_QUEUED;
	if (ringing)
		return PD_CALL_RINGING;
	return up ? PD_CALL_CONNECTED : PD_CALL_RINGING;
}

static bool call_update(ami_model *m, call *k, int64_t now)
{
	if (!k)
		return false;
	pd_call_state st = call_compute(m, k);
	if (st == k->state)
		return false;
	if (st == PD_CALL_ENDED)
		k->end = now;
	else
		k->end = 0;
	k->state = st;
	k->since = now;
	return true;
}

/* A CoreShowChannel's Duration, "HH:MM:SS" (hours past 99 too), in
 * seconds; -1 when absent or not that (read by hand: sscanf showed in the
 * driver's profile). */
static int64_t hms_seconds(const char *s)
{
	if (!s)
		return -1;
	int64_t part[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		const char *b = s;
		while (*s >= '0' && *s <= '9' && s - b < 9)
			part[i] = part[i] * 10 + (*s++ - '0');
		if (s == b || (i < 2 ? *s++ != ':' : *s != '\0'))
			return -1;
	}
	return part[0] * 3600 + part[1] * 60 + part[2];
}

static bool chan_event(ami_model *m, const ami_msg *msg, ami_event t, int64_t now)
{
	if (t == AMI_EV_HANGUP) {
		const char *uid = ami_getk(msg, AMI_K_UNIQUEID);
		chan *c = uid ? chan_find(m, uid) : NULL;
		if (!c)
			return false;
		call *k = chan_call(m, c);
		chan_remove(m, (size_t)(c - m->c));
		call_update(m, k, now);
		return true;
	}
	if (t == AMI_EV_DIALBEGIN || t == AMI_EV_DIALEND) {
		bool begin = t == AMI_EV_DIALBEGIN;
		call *unused;
		chan *d = chan_upsert(m, msg, &chan_dest, now, begin, &unused);
		if (d)
			d->dialing = begin;
		/* the caller's leg may be created now, moving the channel array:
		 * the dialed leg is found again by its place (channels are only
		 * appended here) */
		size_t di = d ? (size_t)(d - m->c) : SIZE_MAX;
		chan *s = chan_upsert(m, msg, &chan_own, now, begin, &unused);
		d = di != SIZE_MAX ? &m->c[di] : NULL;
		if (s && begin) {
			call *k = chan_call(m, s);
			const char *ds = ami_getk(msg, AMI_K_DIALSTRING);
			if (k && ds && !k->dialed)
				set(&k->dialed, ds);
		}
		if (d)
			call_update(m, chan_call(m, d), now);
		if (s)
			call_update(m, chan_call(m, s), now);
		return d || s;
	}
	call *k;
	chan *c = chan_upsert(m, msg, &chan_own, now,
	                      t == AMI_EV_NEWCHANNEL || t == AMI_EV_CORESHOWCHANNEL, &k);
	if (!c)
		return false;
	if (t == AMI_EV_CORESHOWCHANNEL)
		c->seen = true;
	if (!k)
		return false;
	if (t == AMI_EV_BRIDGEENTER)
		c->bridged = true;
	else if (t == AMI_EV_BRIDGELEAVE)
		c->bridged = false;
	else if (t == AMI_EV_HOLD)
		c->held = true;
	else if (t == AMI_EV_UNHOLD)
		c->held = false;
	else if (t == AMI_EV_QUEUECALLERJOIN) {
		k->queued = true;
		update(&k->queue, ami_getk(msg, AMI_K_QUEUE));
	} else if (t == AMI_EV_QUEUECALLERLEAVE || t == AMI_EV_QUEUECALLERABANDON) {
		k->queued = false;
	} else if (t == AMI_EV_AGENTCALLED) {
		const char *n = ami_getk(msg, AMI_K_MEMBERNAME);
		if (!k->agent_connected && n)
			update(&k->agent, n);
		call *dk;
		chan *d = chan_upsert(m, msg, &chan_dest, now, false, &dk);
		if (d)
			d->dialing = true;
		/* a masquerade seen on the agent's leg may have added a call,
		 * moving the array k points into */
		k = chan_call(m, c);
	} else if (t == AMI_EV_AGENTCONNECT) {
		k->agent_connected = true;
		k->queued = false;
		update(&k->agent, ami_getk(msg, AMI_K_MEMBERNAME));
	} else if (t == AMI_EV_AGENTCOMPLETE) {
		k->agent_connected = false;
	} else if (t == AMI_EV_CORESHOWCHANNEL) {
		const char *bid = ami_getk(msg, AMI_K_BRIDGEID);
		c->bridged = bid && *bid;
		const char *app = getk0(msg, AMI_K_APPLICATION);
		if (!strcasecmp(app, "Queue")) {
			/* the caller's leg runs Queue() until the call ends, bridged
			 * to its agent or still waiting */
			const char *data = getk0(msg, AMI_K_APPLICATIONDATA);
			const char *comma = strchr(data, ',');
			char *q = xstrndup(data, comma ? (size_t)(comma - data) : strlen(data));
			if (*q)
				set(&k->queue, q);
			free(q);
			k->queued = !c->bridged && !k->agent_connected;
		} else if (!strcasecmp(app, "AppQueue")) {
			/* an agent's leg (ringing, or bridged: connected); its Exten
			 * is the queue, its name the member's interface */
			const char *ex = ami_getk(msg, AMI_K_EXTEN);
			if (!k->queue && ex && *ex)
				set(&k->queue, ex);
			const char *dash = c->name ? strrchr(c->name, '-') : NULL;
			if (dash && dash > c->name) {
				char *iface = xstrndup(c->name, (size_t)(dash - c->name));
				set(&k->agent_iface, iface);
				free(iface);
			}
			if (c->bridged) {
				k->agent_connected = true;
				k->queued = false;
			}
		}
		int64_t secs = hms_seconds(ami_getk(msg, AMI_K_DURATION));
		if (secs >= 0) {
			int64_t start = now - secs * 1000;
			if (start < k->start)
				k->start = k->since = start;
		}
	}
	call_update(m, k, now);
	return true;
}

static bool queue_entry(ami_model *m, const ami_msg *msg, int64_t now)
{
	const char *uid = ami_getk(msg, AMI_K_UNIQUEID);
	chan *c = uid ? chan_find(m, uid) : NULL;
	call *k = c ? chan_call(m, c) : NULL;
	if (!k)
		return false;
	k->queued = true;
	update(&k->queue, ami_getk(msg, AMI_K_QUEUE));
	call_update(m, k, now);
	return true;
}

static void queue_params(ami_model *m, const ami_msg *msg)
{
	const char *q = ami_getk(msg, AMI_K_QUEUE);
	if (!q)
		return;
	queue_param *p = NULL;
	for (size_t i = 0; i < m->nqp; i++)
		if (!strcmp(m->qp[i].name, q))
			p = &m->qp[i];
	if (!p && m->nqp >= m->lim.max_calls) {
		m->st.dropped_other++;
		return;
	}
	if (!p) {
		GROW(m->qp, m->nqp, m->cqp);
		p = &m->qp[m->nqp++];
		p->name = clean(q);
		p->wrapup = -1;
	}
	const char *w = ami_getk(msg, AMI_K_WRAPUPTIME);
	if (w)
		p->wrapup = num(w);
}

bool ami_model_apply(ami_model *m, const ami_msg *msg, int64_t now)
{
	if (msg->kind == AMI_MSG_RESPONSE) {
		/* SIPshowpeer answers with the peer's fields in the response itself */
		if (ami_getk(msg, AMI_K_OBJECTNAME) && ami_getk(msg, AMI_K_CALLERID)) {
			user_detail(m, msg);
			return true;
		}
		return false;
	}
	if (msg->kind != AMI_MSG_EVENT)
		return false;
	ami_event t = ami_msg_event(msg);
	switch (t) {
	case AMI_EV_ENDPOINTLIST:
		ami_model_user_add(m, ami_getk(msg, AMI_K_OBJECTNAME),
		                   ami_getk(msg, AMI_K_DEVICESTATE));
		return true;
	case AMI_EV_PEERENTRY: {
		/* chan_sip lists qualify status, not device state: an unreachable or
		 * never-qualified peer is what Asterisk's device state calls it;
		 * a reachable one is idle until a DeviceStateChange says otherwise */
		const char *st = getk0(msg, AMI_K_STATUS);
		const char *ds = !strncmp(st, "UNREACHABLE", 11) ? "UNAVAILABLE"
		                 : !strncmp(st, "UNKNOWN", 7)    ? "UNKNOWN"
		                 : (!strncmp(st, "OK", 2) || !strncmp(st, "LAGGED", 6))
		                     ? "NOT_INUSE"
		                     : NULL;
		ami_model_user_add(m, ami_getk(msg, AMI_K_OBJECTNAME), ds);
		return true;
	}
	case AMI_EV_ENDPOINTDETAIL:
		user_detail(m, msg);
		return true;
	case AMI_EV_VOICEMAILUSERENTRY:
		ami_model_mailbox_add(m, ami_getk(msg, AMI_K_VMCONTEXT),
		                      ami_getk(msg, AMI_K_VOICEMAILBOX),
		                      ami_getk(msg, AMI_K_FULLNAME), ami_getk(msg, AMI_K_EMAIL));
		return false; /* nothing shown changes: the email goes to the sync */
	case AMI_EV_DEVICESTATECHANGE:
		return device_event(m, msg, now);
	case AMI_EV_QUEUEPARAMS:
		queue_params(m, msg);
		return false;
	case AMI_EV_QUEUEMEMBER:
	case AMI_EV_QUEUEMEMBERSTATUS:
	case AMI_EV_QUEUEMEMBERADDED:
	case AMI_EV_QUEUEMEMBERPAUSE:
	case AMI_EV_QUEUEMEMBERPAUSED:
		return member_event(m, msg, now, false);
	case AMI_EV_QUEUEMEMBERREMOVED:
		return member_event(m, msg, now, true);
	case AMI_EV_QUEUEENTRY:
		return queue_entry(m, msg, now);
	case AMI_EV_AGENTCALLED:
	case AMI_EV_AGENTCONNECT:
	case AMI_EV_AGENTCOMPLETE: {
		bool changed = agent_call_event(m, msg, t, now);
		return chan_event(m, msg, t, now) || changed;
	}
	case AMI_EV_AGENTRINGNOANSWER:
		return agent_call_event(m, msg, t, now);
	case AMI_EV_NEWCHANNEL:
	case AMI_EV_NEWSTATE:
	case AMI_EV_NEWCALLERID:
	case AMI_EV_HANGUP:
	case AMI_EV_DIALBEGIN:
	case AMI_EV_DIALEND:
	case AMI_EV_BRIDGEENTER:
	case AMI_EV_BRIDGELEAVE:
	case AMI_EV_HOLD:
	case AMI_EV_UNHOLD:
	case AMI_EV_QUEUECALLERJOIN:
	case AMI_EV_QUEUECALLERLEAVE:
	case AMI_EV_QUEUECALLERABANDON:
	case AMI_EV_CORESHOWCHANNEL:
		return chan_event(m, msg, t, now);
	default:
		return false;
	}
}

bool ami_model_tick(ami_model *m, int64_t now)
{
	bool changed = false;
	for (size_t i = 0; m->n_wrapup && i < m->na; i++)
		if (m->a[i].wrapup_until && m->a[i].wrapup_until <= now) {
			wrapup_set(m, &m->a[i], 0);
			changed |= agent_update(m, &m->a[i], now);
		}
	for (size_t i = 0; i < m->nk;) {
		call *k = &m->k[i];
		if (k->state != PD_CALL_ENDED && k->start + m->lim.max_call_age_ms <= now) {
			/* its hangup never came: end it (it lingers like any other) */
			while (k->nch)
				chan_remove(m, k->ch[k->nch - 1]);
			call_update(m, k, now);
			m->st.aged_out++;
			changed = true;
		}
		if (k->state == PD_CALL_ENDED && k->nch == 0 &&
		    k->end + AMI_ENDED_LINGER_MS <= now) {
			call_remove(m, i);
			changed = true;
		} else {
			i++;
		}
	}
	return changed;
}

void ami_model_snapshot_begin(ami_model *m)
{
	for (size_t i = 0; i < m->nc; i++)
		m->c[i].seen = false;
	m->snap_active = true;
}

bool ami_model_snapshot_end(ami_model *m, int64_t now)
{
	if (!m->snap_active)
		return false;
	m->snap_active = false;
	bool changed = false;
	for (size_t i = 0; i < m->nc;) {
		if (m->c[i].seen) {
			i++;
			continue;
		}
		/* the PBX no longer has it: its Hangup was lost */
		call *k = chan_call(m, &m->c[i]);
		chan_remove(m, i);
		call_update(m, k, now);
		m->st.stale_channels++;
		changed = true;
	}
	return changed;
}

int64_t ami_model_next_deadline(const ami_model *m)
{
	int64_t d = INT64_MAX;
	for (size_t i = 0; m->n_wrapup && i < m->na; i++)
		if (m->a[i].wrapup_until && m->a[i].wrapup_until < d)
			d = m->a[i].wrapup_until;
	for (size_t i = 0; i < m->nk; i++) {
		if (m->k[i].state == PD_CALL_ENDED && m->k[i].end + AMI_ENDED_LINGER_MS < d)
			d = m->k[i].end + AMI_ENDED_LINGER_MS;
		if (m->k[i].state != PD_CALL_ENDED && m->k[i].start + m->lim.max_call_age_ms < d)
			d = m->k[i].start + m->lim.max_call_age_ms;
	}
	return d;
}

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

static void call_view(ami_model *m, call *k, pd_live_call *o)
{
	chan *origin = NULL, *named = NULL;
	bool other_endpoint = false;
	for (size_t i = 0; i < k->nch; i++) {
		chan *c = &m->c[k->ch[i]];
		if (c->origin)
			origin = c;
		else if (is_endpoint_channel(m, c->name))
			other_endpoint = true;
		if (!named && c->cid_num)
			named = c;
	}
	if (origin && origin->cid_num)
		named = origin;
	o->id = xstrdup(k->lid);
	/* the caller kept since its first leg (call_keep_caller) */
	o->from = xstrdup(k->from_num ? k->from_num : named ? named->cid_num : NULL);
	o->from_name = xstrdup(k->from_num ? k->from_name : named ? named->cid_name : NULL);
	o->queue = xstrdup(k->queue);
	if (!k->agent && k->agent_iface) { /* found up in a snapshot: the member's name */
		agent *a = agent_find(m, k->agent_iface, false);
		if (a && a->name)
			set(&k->agent, a->name); /* looked up once */
	}
	o->agent = xstrdup(k->agent ? k->agent : k->agent_iface);
	/* the queue, else what the caller dialled (the origin's extension; the
	 * DialString carries a technology prefix such as "trunk/") */
	const char *to = k->queue                  ? k->queue
	                 : origin && origin->exten ? origin->exten
	                 : k->exten                ? k->exten
	                                           : k->dialed;
	o->to = xstrdup(to);
	/* the direction is the origin's: kept once its leg has gone */
	if (origin) {
		k->dir = is_endpoint_channel(m, origin->name)
		             ? (other_endpoint ? PD_DIR_INTERNAL : PD_DIR_OUTBOUND)
		             : PD_DIR_INBOUND;
		k->dir_known = true;
	}
	o->dir = k->dir_known ? k->dir : PD_DIR_INBOUND;
	o->state = k->state;
	o->start_ms = k->start;
	o->state_since_ms = k->since;
	o->end_ms = k->end;
}

void ami_model_view(ami_model *m, int64_t now, pd_live_view *v)
{
	(void)now;
	v->n_users = m->nu;
	v->users = m->nu ? xcalloc(m->nu, sizeof *v->users) : NULL;
	for (size_t i = 0; i < m->nu; i++) {
		v->users[i].endpoint = xstrdup(m->u[i].endpoint);
		v->users[i].name = xstrdup(m->u[i].name ? m->u[i].name : m->u[i].endpoint);
		v->users[i].sub_account = xstrdup(m->u[i].context);
		v->users[i].device_state = xstrdup(m->u[i].dstate);
	}
	v->n_calls = m->nk;
	v->calls = m->nk ? xcalloc(m->nk, sizeof *v->calls) : NULL;
	for (size_t i = 0; i < m->nk; i++)
		call_view(m, &m->k[i], &v->calls[i]);
	if (v->n_calls > 1)
		qsort(v->calls, v->n_calls, sizeof *v->calls, cmp_call);
	v->n_agents = m->na;
	v->agents = m->na ? xcalloc(m->na, sizeof *v->agents) : NULL;
	for (size_t i = 0; i < m->na; i++) {
		agent *a = &m->a[i];
		pd_live_agent *o = &v->agents[i];
		o->interface = xstrdup(a->iface);
		o->name = xstrdup(a->name ? a->name : a->iface);
		pd_buf qb = {0};
		bool all_paused = a->nq > 0;
		for (size_t j = 0; j < a->nq; j++) {
			if (j)
				pd_buf_add(&qb, ", ");
			pd_buf_add(&qb, a->q[j].queue);
			all_paused &= a->q[j].paused;
			if (a->q[j].paused && a->q[j].reason && !o->reason)
				o->reason = xstrdup(a->q[j].reason);
		}
		o->queues = pd_buf_steal(&qb);
		/* a paused agent keeps its reason through a call ("On call
		 * (paused: Lunch)"); paused in some queues only, it is not
		 * shown as paused */
		o->paused = all_paused && a->state != PD_AGENT_LOGGED_OFF;
		if (!o->paused && a->state != PD_AGENT_NOT_READY) {
			free(o->reason);
			o->reason = NULL;
		}
		o->state = a->state;
		o->since_ms = a->since;
		o->until_ms = a->state == PD_AGENT_WRAPUP ? a->wrapup_until : 0;
	}
	if (v->n_agents > 1)
		qsort(v->agents, v->n_agents, sizeof *v->agents, cmp_agent);
}

size_t ami_model_synced_users(ami_model *m, pd_synced_user **out)
{
	free(m->sync_buf);
	m->sync_buf = xcalloc(m->nu ? m->nu : 1, sizeof *m->sync_buf);
	for (size_t i = 0; i < m->nu; i++) {
		const vmbox *vm = mailbox_of(m, &m->u[i]);
		/* the caller id's name first; the mailbox's full name when the
		 * endpoint has none */
		const char *name = m->u[i].name         ? m->u[i].name
		                   : vm && vm->fullname ? vm->fullname
		                                        : m->u[i].endpoint;
		m->sync_buf[i] = (pd_synced_user){
		    .endpoint = m->u[i].endpoint,
		    .display_name = name,
		    .email = vm ? vm->email : NULL,
		    .sub_account = m->u[i].context,
		    .device_state = m->u[i].dstate,
		};
	}
	*out = m->sync_buf;
	return m->nu;
}

size_t ami_model_user_count(const ami_model *m)
{
	return m->nu;
}

const char *ami_model_user_endpoint(const ami_model *m, size_t i)
{
	return i < m->nu ? m->u[i].endpoint : NULL;
}
