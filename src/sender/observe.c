/**
 * @file observe.c  What happens once a delivery or a push is final
 *
 * The queue and the pushes say "final" once, here; metrics, the audit log,
 * the event feed and PAP result notifications listen (registered at setup,
 * sender.c), so none of them sits on the push's path as a direct call.
 */
#include <re.h>
#include "engine.h"
#include "observe.h"


/** Listen to final deliveries and pushes (either handler may be NULL) */
int observer_add(struct sender *s, dlv_final_h *dlvh, push_final_h *pushh,
		 void *arg)
{
	struct observer *o;

	if (s->obsn >= ARRAY_SIZE(s->obsv))
		return EOVERFLOW;
	o = &s->obsv[s->obsn++];
	o->dlvh = dlvh;
	o->pushh = pushh;
	o->arg = arg;
	return 0;
}


/** A delivery reached its final state (saved already) */
void observe_delivery(struct sender *s, const struct delivery *d)
{
	for (size_t i = 0; i < s->obsn; i++)
		if (s->obsv[i].dlvh)
			s->obsv[i].dlvh(d, s->obsv[i].arg);
}


/** A push reached its final state (recorded in this transaction) */
void observe_push(struct sender *s, const struct push *p,
		  enum push_state ps)
{
	for (size_t i = 0; i < s->obsn; i++)
		if (s->obsv[i].pushh)
			s->obsv[i].pushh(p, ps, s->obsv[i].arg);
}
