/**
 * @file refuse.c  Refusing a SIP request: the answer, and a log line an
 *                 operator can read without a capture (rate-limited)
 */
#include <re.h>
#include "engine.h"
#include "refuse.h"

#include <sippush/log.h>

#define MOD "sender"


/* An operator sees refused requests without a capture; a flood of them
 * costs at most REFUSALS_LOGGED lines a second, then one count */
enum { REFUSALS_LOGGED = 10 };


static void refused_tmr(void *arg)
{
	struct sender *s = arg;

	if (s->refused_quiet)
		plog(SIPPUSH_LOG_INFO, MOD, "%u more requests refused in that second "
		     "(not logged one by one)", s->refused_quiet);
	s->refused_quiet = 0;
}


void sender_refusal_log(struct sender *s, const struct sip_msg *msg,
			uint16_t scode, const char *reason)
{
	const uint64_t now = tmr_jiffies();

	if (now / 1000 != s->refused_sec) {
		refused_tmr(s);
		s->refused_sec = now / 1000;
		s->refused_n = 0;
	}
	if (++s->refused_n > REFUSALS_LOGGED) {
		if (!s->refused_quiet++)
			tmr_start(&s->tmr_refused, 1000 - now % 1000,
				  refused_tmr, s);
		return;
	}
	plog(SIPPUSH_LOG_INFO, MOD, "refused %r from %J (%s): %u %s", &msg->met,
	     &msg->src, sip_transp_name(msg->tp), scode, reason);
}


/** Refuse a request (4xx) and say so in the log */
void sender_refuse(struct sender *s, const struct sip_msg *msg,
		   uint16_t scode, const char *reason)
{
	sender_refusal_log(s, msg, scode, reason);
	(void)sip_reply(s->sip, msg, scode, reason);
}
