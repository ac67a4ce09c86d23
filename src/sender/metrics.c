/**
 * @file metrics.c  sippushd's counters for /metrics (Prometheus text)
 */
#include <errno.h>
#include <re.h>
#include "engine.h"
#include "cluster.h"
#include "delivery.h"
#include "clock.h"
#include "metrics.h"
#include "observe.h"


/* A delivery is final: counted by method and state (observer) */
static void delivery_h(const struct delivery *d, void *arg)
{
	struct sender *s = arg;

	if ((size_t)d->kind < PLAN_KINDS && (size_t)d->state < DS_STATES)
		++s->by_method_state[d->kind][d->state];
	if (d->state == DS_DELIVERED)
		histo_add(&s->latency, (double)(sender_now_ms(s) -
						d->p->created_ms) / 1000.);
}


/** The counters listen to final deliveries */
int metrics_init(struct sender *s)
{
	return observer_add(s, delivery_h, NULL, s);
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
		s->stats.subscriptions, (uint32_t)list_count(&s->regwatches), s->stats.backlog);

	err |= re_hprintf(pf, "# TYPE sippush_deliveries_total counter\n");
	for (size_t k = 1; k < PLAN_KINDS; k++)
		for (size_t st = 1; st < DS_STATES; st++)
			if (s->by_method_state[k][st])
				err |= re_hprintf(pf, "sippush_deliveries_total"
						  "{method=\"%s\",state=\"%s\"}"
						  " %llu\n", plan_kind_name(k),
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

	if (s->cl)
		err |= cluster_metrics_print(pf, s);
	err |= histo_print(pf, "sippush_delivery_latency_seconds",
			   &s->latency);
	err |= histo_print(pf, "sippush_store_commit_seconds",
			   store_commit_histo(s->st));
	return err;
}
