/**
 * @file pushevents.c  The feed's events of pushes and deliveries: accepted,
 *                     each attempt's answer, a delivery or a push final
 *
 * Three or four per push, whether or not anyone watches (a reader may ask
 * for what came before it: `sippush watch --after 0`): each is kept as a
 * record (jsonw_begin_rec), its JSON written only if someone reads it.
 */
#include <string.h>
#include <re.h>
#include "core/jsonw.h"
#include "engine.h"
#include "delivery.h"
#include "events.h"
#include "observe.h"
#include "pushevents.h"


/* A push's events are its owner's (and the admin's) */
static void emit_push(const struct push *p, const char *type,
		      struct jsonw *w)
{
	char scope[80];

	if (!events_scope(scope, sizeof(scope), "p:", p->owner))
		events_emit(p->s, type, w, scope);
}


/** A push is committed: from now on it is acknowledged */
void event_accepted(const struct push *p)
{
	char line[EVENT_MAX_LINE];
	struct jsonw w;

	jsonw_begin_rec(&w, line, sizeof(line));
	jsonw_str(&w, "push", p->id);
	jsonw_str(&w, "to", p->aor);
	jsonw_str(&w, "app", p->app);
	jsonw_str(&w, "initiator", p->initiator ? p->initiator : "api");
	jsonw_int(&w, "priority", p->priority);
	emit_push(p, "accepted", &w);
}


static void dlv_members(struct jsonw *w, const struct delivery *d)
{
	jsonw_str(w, "push", d->p->id);
	jsonw_str(w, "terminal", d->terminal ? d->terminal : d->tkey);
	jsonw_str(w, "method", plan_kind_name(d->kind));
}


/** One attempt of a delivery got its answer (or none); retry_ms: when
 *  the next one goes, 0 when this was the last */
void event_attempt(const struct delivery *d, uint16_t scode,
		   const char *why, uint64_t retry_ms)
{
	char line[EVENT_MAX_LINE];
	struct jsonw w;

	jsonw_begin_rec(&w, line, sizeof(line));
	dlv_members(&w, d);
	jsonw_int(&w, "attempt", (int)d->attempts);
	jsonw_int(&w, "sip_status", scode);
	jsonw_str(&w, "reason", why);
	if (retry_ms)
		jsonw_int(&w, "retry_ms", (int64_t)retry_ms);
	emit_push(d->p, "attempt", &w);
}


/* A delivery reached its final state (observer) */
static void delivery_h(const struct delivery *d, void *arg)
{
	char line[EVENT_MAX_LINE];
	struct jsonw w;
	(void)arg;

	jsonw_begin_rec(&w, line, sizeof(line));
	dlv_members(&w, d);
	jsonw_str(&w, "state", delivery_state_name(d->state));
	jsonw_int(&w, "sip_status", d->scode);
	jsonw_int(&w, "pap_code", d->pap);
	emit_push(d->p, "delivery", &w);
}


/* A push reached its final state (observer) */
static void push_h(const struct push *p, enum push_state ps, void *arg)
{
	char line[EVENT_MAX_LINE];
	struct jsonw w;
	(void)arg;

	jsonw_begin_rec(&w, line, sizeof(line));
	jsonw_str(&w, "push", p->id);
	jsonw_str(&w, "to", p->aor);
	jsonw_str(&w, "state", push_state_name(ps));
	emit_push(p, "push", &w);
}


/** The feed listens to final deliveries and pushes */
int pushevents_init(struct sender *s)
{
	return observer_add(s, delivery_h, push_h, s);
}
