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
#include "core/imshdr.h"
#include "engine.h"
#include "delivery.h"
#include "terminal.h"
#include "audit.h"
#include "clock.h"
#include "observe.h"

#include <sippush/log.h>

#define MOD "audit"


static uint64_t push_size(const struct push *p)
{
	uint64_t n = p->body_len;

	for (size_t i = 0; i < p->nfiles; i++)
		n += p->files[i].size;
	return n;
}


/* A delivery is final: its line in the audit log (observer) */
static void delivery_h(const struct delivery *d, void *arg)
{
	const struct push *p = d->p;
	struct sender *s = arg;
	json_t *j;

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

	/* for charging: the icid of sippushd's requests, and the vector
	 * of the core's third-party REGISTER of the terminal */
	{
		const struct terminal *t = term_find(user_find(s, p->aor),
						     d->tkey);
		struct ims_hdrs ims;
		char icid[64];

		dlv_ims(d, &ims, icid, sizeof(icid));
		if (ims.icid)
			(void)json_object_set_new(j, "icid",
						  json_string(ims.icid));
		if (t && t->charging)
			(void)json_object_set_new(j, "charging_vector",
						  json_string(t->charging));
	}
	if (json_dumpf(j, s->audit, JSON_COMPACT) || fputc('\n', s->audit) ==
	    EOF || fflush(s->audit))
		plog(SIPPUSH_LOG_WARN, MOD, "cannot write the audit log");
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


/** The audit log listens to final deliveries */
int audit_init(struct sender *s)
{
	return observer_add(s, delivery_h, NULL, s);
}
