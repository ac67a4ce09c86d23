/**
 * @file pushevents.c  The feed's events of pushes and deliveries: accepted,
 *                     each attempt's answer, a delivery or a push final
 */
#include <string.h>
#include <jansson.h>
#include "../re_nojson.h"
#include "engine.h"
#include "delivery.h"
#include "events.h"
#include "observe.h"
#include "pushevents.h"


/* A push's events are its owner's (and the admin's) */
static void emit_push(const struct push *p, const char *type, json_t *ev)
{
	char scope[80];

	re_snprintf(scope, sizeof(scope), "p:%s", p->owner ? p->owner : "");
	events_emit(p->s, type, ev, scope);
}


/** A push is committed: from now on it is acknowledged */
void event_accepted(const struct push *p)
{
	emit_push(p, "accepted", json_pack(
		     "{s:s,s:s,s:s,s:s,s:i}", "push", p->id, "to", p->aor,
		     "app", p->app, "initiator", p->initiator ?
		     p->initiator : "api", "priority", p->priority));
}


/** One attempt of a delivery got its answer (or none); retry_ms: when
 *  the next one goes, 0 when this was the last */
void event_attempt(const struct delivery *d, uint16_t scode,
		   const char *why, uint64_t retry_ms)
{
	json_t *ev = json_pack("{s:s,s:s,s:s,s:i,s:i}", "push", d->p->id,
			       "terminal", d->terminal ? d->terminal : d->tkey,
			       "method", plan_kind_name(d->kind),
			       "attempt", (int)d->attempts, "sip_status",
			       (int)scode);

	if (ev && why)
		(void)json_object_set_new(ev, "reason", json_string(why));
	if (ev && retry_ms)
		(void)json_object_set_new(ev, "retry_ms",
					  json_integer((json_int_t)retry_ms));
	emit_push(d->p, "attempt", ev);
}


/* A delivery reached its final state (observer) */
static void delivery_h(const struct delivery *d, void *arg)
{
	(void)arg;
	emit_push(d->p, "delivery", json_pack(
		     "{s:s,s:s,s:s,s:s,s:i,s:i}", "push", d->p->id,
		     "terminal", d->terminal ? d->terminal : d->tkey,
		     "method", plan_kind_name(d->kind),
		     "state", delivery_state_name(d->state),
		     "sip_status", (int)d->scode, "pap_code", (int)d->pap));
}


/* A push reached its final state (observer) */
static void push_h(const struct push *p, enum push_state ps, void *arg)
{
	(void)arg;
	emit_push(p, "push", json_pack("{s:s,s:s,s:s}", "push", p->id,
				     "to", p->aor, "state",
				     push_state_name(ps)));
}


/** The feed listens to final deliveries and pushes */
int pushevents_init(struct sender *s)
{
	return observer_add(s, delivery_h, push_h, s);
}
