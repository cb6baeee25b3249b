/* The lab PBX's hostile faults (labpbx.h): what an untrusted PBX may send.
 *  - flood: Newchannel events without hangups, as fast as the client reads,
 *    for fault_ms (a new call and Linkedid each);
 *  - huge: one 16 MB event of 200-byte lines (a cap of 16 MB let it in);
 *  - ctrl: a call with control bytes in header values and keys (ESC, BEL,
 *    NUL, DEL);
 *  - bidi: a call whose caller name holds a bidi override, a C1 CSI and ESC.
 * The ctrl and bidi calls never hang up: the lab does not list them in
 * CoreShowChannels, so a resync (or max_call_age) removes them.
 * The client's output buffer is topped up as it drains, so memory stays
 * bounded on this side too. */
#include <stdio.h>
#include <string.h>

#include "labpbx_internal.h"

#define HUGE_BYTES (16u * 1024 * 1024)
#define FILL_TO (256u * 1024)

static bool listening(const session *s)
{
	return s->logged_in && s->events && !s->mute;
}

static void new_ids(pd_labpbx *l, char *uid, size_t n)
{
	snprintf(uid, n, "%lld.%u", (long long)(l->epoch + (l->now - l->boot_ms) / 1000),
	         l->uid_seq++);
}

static void newchannel(pd_labpbx *l, pd_buf *b, const char *name)
{
	char uid[32];
	new_ids(l, uid, sizeof uid);
	pd_buf_printf(b,
	              "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-%08x\r\n"
	              "ChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: 0612345678\r\n"
	              "CallerIDName: %s\r\nConnectedLineNum: <unknown>\r\n"
	              "ConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\n"
	              "Context: from-trunk\r\nExten: 500\r\nPriority: 1\r\nUniqueid: %s\r\n"
	              "Linkedid: %s\r\n\r\n",
	              l->chan_seq++, name, uid, uid);
}

void lab_hostile_inject(pd_labpbx *l, unsigned f)
{
	for (int i = 0; i < l->ns; i++) {
		session *s = l->s[i];
		if (!listening(s))
			continue;
		if (l->esl) { /* the same faults in ESL bytes (labpbx_esl.c) */
			lab_esl_hostile_inject(l, s, f);
			continue;
		}
		if (f & PD_LAB_FAULT_FLOOD)
			s->flood_until = l->now + l->o.fault_ms;
		if ((f & PD_LAB_FAULT_HUGE) && !s->huge_left) {
			static const char head[] = "Event: UserEvent\r\nPrivilege: user,all\r\n"
			                           "UserEvent: huge\r\n";
			lab_sess_send(s, head, sizeof head - 1);
			s->huge_left = HUGE_BYTES;
		}
		if (f & PD_LAB_FAULT_CTRL) {
			/* a call whose fields hold control bytes; it stays (this PBX
			 * has no such channel: a resync removes it) */
			pd_buf b = {0};
			char uid[32];
			new_ids(l, uid, sizeof uid);
			pd_buf_printf(
			    &b,
			    "Event: Newchannel\r\nPrivilege: call,all\r\n"
			    "Channel: PJSIP/trunk-ctl\r\nChannelState: 4\r\n"
			    "CallerIDNum: 06\a12\x7f\r\nCallerIDName: Ev\x1b[2Jil\x1b]0;owned\a\r\n"
			    "Bad\x01Key: x\r\nNul: a");
			pd_buf_addc(&b, '\0');
			pd_buf_printf(&b, "b\r\nExten: 500\r\nUniqueid: %s\r\nLinkedid: %s\r\n\r\n",
			              uid, uid);
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
		}
		if (f & PD_LAB_FAULT_BIDI) {
			/* U+202E RIGHT-TO-LEFT OVERRIDE, U+009B (C1 CSI), ESC: the call
			 * stays (this PBX has no such channel: a resync removes it) */
			pd_buf b = {0};
			newchannel(l, &b,
			           "\xe2\x80\xae"
			           "gro.live\xc2\x9b"
			           "31m \x1b[5mBidi");
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
		}
	}
}

bool lab_hostile_fill(pd_labpbx *l, session *s)
{
	if (l->esl)
		return lab_esl_hostile_fill(l, s);
	bool busy = false;
	if (s->flood_until > l->now && listening(s)) {
		busy = true;
		if (s->out.len - s->off < FILL_TO) {
			pd_buf b = {0};
			for (int i = 0; i < 200; i++)
				newchannel(l, &b, "Flood");
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
		}
	}
	if (s->huge_left) {
		busy = true;
		if (s->out.len - s->off < FILL_TO) {
			char line[80];
			pd_buf b = {0};
			while (b.len < 64 * 1024 && s->huge_left) {
				int n = snprintf(
				    line, sizeof line,
				    "Variable: v%08zu=0123456789abcdef0123456789abcdef\r\n",
				    (size_t)(HUGE_BYTES - s->huge_left));
				pd_buf_addn(&b, line, (size_t)n);
				s->huge_left =
				    s->huge_left > (size_t)n ? s->huge_left - (size_t)n : 0;
			}
			if (!s->huge_left) {
				pd_buf_add(&b, "\r\n");
				atomic_fetch_add(&l->huge_sent, 1);
			}
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
		}
	}
	return busy;
}
