/**
 * @file audit.c  The charging/audit log: one JSON line per final delivery
 *                (who, to whom, which terminal and application, how, how
 *                big, the outcome, when), reopened on SIGHUP for rotation
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "../re_nojson.h"
#include "sender.h"

#include <sippush/log.h>

#define MOD "audit"


static uint64_t push_size(const struct push *p)
{
	uint64_t n = p->body ? p->body->end : 0;

	for (size_t i = 0; i < p->nfiles; i++)
		n += p->files[i].size;
	return n;
}


/** A delivery is final: counted, and its line in the audit log */
void audit_delivery(const struct delivery *d)
{
	const struct push *p = d->p;
	struct sender *s = p->s;
	json_t *j;

	if ((size_t)d->kind < 5 && (size_t)d->state < 7)
		++s->by_method_state[d->kind][d->state];
	if (d->state == DS_DELIVERED)
		histo_add(&s->latency, (double)(sender_now_ms(s) -
						p->created_ms) / 1000.);

	if (!s->audit)
		return;

	j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:i,s:I,"
		      "s:I,s:i}",
		      "time_ms", (json_int_t)sender_now_ms(s),
		      "push", p->id, "initiator", p->initiator ?
		      p->initiator : "api", "user", p->aor,
		      "terminal", d->terminal ? d->terminal : d->tkey,
		      "app", p->app, "method", plan_kind_name(d->kind),
		      "size", (json_int_t)push_size(p),
		      "state", delivery_state_name(d->state),
		      "sip_status", d->scode, "pap_code", d->pap,
		      "accepted_ms", (json_int_t)p->created_ms,
		      "expires_ms", (json_int_t)p->expires_ms,
		      "attempts", (int)d->attempts);
	if (!j)
		return;
	if (json_dumpf(j, s->audit, JSON_COMPACT) || fputc('\n', s->audit) ==
	    EOF || fflush(s->audit))
		plog(LOG_WARN, MOD, "cannot write the audit log");
	json_decref(j);
}


/** Open (again, after a rotation) the audit log; append-only */
int audit_reopen(struct sender *s)
{
	FILE *f;

	if (!s || !s->conf.audit_path)
		return 0;

	f = fopen(s->conf.audit_path, "a");
	if (!f)
		return errno;
	if (s->audit)
		(void)fclose(s->audit);
	s->audit = f;
	return 0;
}


/** A final SIP response to one of our requests, for /metrics */
void sender_sip_response(struct sender *s, uint16_t scode)
{
	if (s && scode >= 200 && scode < 700)
		++s->sip_codes[scode];
}


/** sippushd's counters in Prometheus text format */
int sender_metrics_print(struct re_printf *pf, const struct sender *s)
{
	static const char *const kinds[] = {"none", "message", "notify",
					    "refer", "session"};
	int err;

	if (!pf || !s)
		return EINVAL;

	err = re_hprintf(pf,
		"# TYPE sippush_pushes_accepted_total counter\n"
		"sippush_pushes_accepted_total %llu\n"
		"# TYPE sippush_pushes_accepted_by_initiator_total counter\n"
		"sippush_pushes_accepted_by_initiator_total{initiator=\"api\"}"
		" %llu\n"
		"sippush_pushes_accepted_by_initiator_total{initiator=\"pap\"}"
		" %llu\n"
		"# TYPE sippush_deliveries_delivered_total counter\n"
		"sippush_deliveries_delivered_total %llu\n"
		"# TYPE sippush_deliveries_failed_total counter\n"
		"sippush_deliveries_failed_total %llu\n"
		"# TYPE sippush_messages_sent_total counter\n"
		"sippush_messages_sent_total %llu\n"
		"# TYPE sippush_pushes_pending gauge\n"
		"sippush_pushes_pending %u\n"
		"# TYPE sippush_terminals gauge\n"
		"sippush_terminals %u\n"
		"# TYPE sippush_messages_inflight gauge\n"
		"sippush_messages_inflight %u\n"
		"# TYPE sippush_subscriptions gauge\n"
		"sippush_subscriptions %u\n"
		"# TYPE sippush_reg_watches gauge\n"
		"sippush_reg_watches %u\n"
		"# TYPE sippush_delivery_backlog gauge\n"
		"sippush_delivery_backlog %u\n",
		(unsigned long long)s->stats.accepted,
		(unsigned long long)(s->stats.accepted - s->accepted_pap),
		(unsigned long long)s->accepted_pap,
		(unsigned long long)s->stats.delivered,
		(unsigned long long)s->stats.failed,
		(unsigned long long)s->stats.sent, s->stats.pending,
		s->stats.terminals, s->stats.inflight,
		s->stats.subscriptions, regwatch_count(s), s->stats.backlog);

	err |= re_hprintf(pf, "# TYPE sippush_deliveries_total counter\n");
	for (size_t k = 1; k < 5; k++)
		for (size_t st = 1; st < 7; st++)
			if (s->by_method_state[k][st])
				err |= re_hprintf(pf, "sippush_deliveries_total"
						  "{method=\"%s\",state=\"%s\"}"
						  " %llu\n", kinds[k],
						  delivery_state_name(st),
						  (unsigned long long)
						  s->by_method_state[k][st]);

	err |= re_hprintf(pf, "# TYPE sippush_sip_responses_total "
			  "counter\n");
	for (size_t c = 200; c < 700; c++)
		if (s->sip_codes[c])
			err |= re_hprintf(pf, "sippush_sip_responses_total"
					  "{code=\"%zu\"} %llu\n", c,
					  (unsigned long long)s->sip_codes[c]);

	err |= histo_print(pf, "sippush_delivery_latency_seconds",
			   &s->latency);
	err |= histo_print(pf, "sippush_store_commit_seconds",
			   store_commit_histo(s->st));
	return err;
}
