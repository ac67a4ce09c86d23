/**
 * @file events.c  The live event feed: pushes accepted, each attempt's
 *                 answer, deliveries and pushes ending, terminals coming
 *                 and going. Kept in a bounded ring (evring.h) read by
 *                 GET /v1/events and `sippush watch`; nothing is stored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/jsonw.h"
#include "engine.h"
#include "clock.h"
#include "events.h"
#include "cluster.h"

enum { EVENTS_KEPT = 4096 };




/* A record of events_emit() as its line */
static int render_h(char *buf, size_t sz, const void *rec, size_t len)
{
	struct jsonw w;

	jsonw_begin(&w, buf, sz);
	return jsonw_replay(&w, rec, len);
}


int events_init(struct sender *s)
{
	int err;

	/* numbers restart with the daemon: readers tell runs apart by this */
	(void)re_snprintf(s->boot, sizeof(s->boot), "%016llx",
			  (unsigned long long)rand_u64());
	err = evring_alloc(&s->events, EVENTS_KEPT, EVENT_MAX_LINE);
	if (!err)
		evring_set_render(s->events, render_h);
	return err;
}


/* Adds "type" and "time_ms" to the members recorded in w (begun with
 * jsonw_begin_rec), keeps the record with its scope (who may read it:
 * events_scope_h), wakes the readers. Three or four events a push, most
 * never read: the JSON is written when one is (a line that cannot be,
 * too long or a string not UTF-8, is passed over then). */
void events_emit(struct sender *s, const char *type, struct jsonw *w,
		 const char *scope)
{
	char line[EVENT_MAX_LINE];

	jsonw_str(w, "type", type);
	jsonw_int(w, "time_ms", (int64_t)sender_now_ms(s));
	if (cluster_node(s))
		jsonw_str(w, "node", cluster_node(s));
	if (jsonw_end(w))
		return;
	if (!evring_add_rec(s->events, w->buf, w->len, scope, NULL) &&
	    s->evh)
		s->evh(s->evarg);
	/* another node of a cluster reads: it gets the line now */
	if (cluster_events_wanted(s) &&
	    !render_h(line, sizeof(line), w->buf, w->len))
		cluster_event_out(s, scope, line);
}


/** A scope of two parts, "p:" and an owner say, without a format;
 *  ENOSPC when it does not fit (the event is not for a cut scope) */
int events_scope(char *buf, size_t sz, const char *pfx, const char *name)
{
	const size_t pl = strlen(pfx), nl = name ? strlen(name) : 0;

	if (pl + nl >= sz)
		return ENOSPC;
	memcpy(buf, pfx, pl);
	memcpy(buf + pl, name ? name : "", nl + 1);
	return 0;
}


/** Another node's event (a cluster): into the feed as it came */
void events_take(struct sender *s, const char *scope, const char *line)
{
	if (!evring_add_scoped(s->events, line, scope[0] ? scope : NULL,
			       NULL) && s->evh)
		s->evh(s->evarg);
}


/** GET /v1/events was asked here: a cluster's other nodes send theirs */
void sender_events_watch(struct sender *s)
{
	cluster_watched(s);
}


/** A terminal was learnt, refreshed with a change, or went away */
void event_terminal(struct sender *s, const char *aor,
		    const struct terminal *t, const char *gruu, bool gone)
{
	char line[EVENT_MAX_LINE], scope[EVENT_MAX_LINE];
	struct jsonw w;

	/* seen by whoever may push to one of its applications */
	if (events_scope(scope, sizeof(scope), "t:", t->apps))
		return;
	jsonw_begin_rec(&w, line, sizeof(line));
	jsonw_str(&w, "user", aor);
	jsonw_str(&w, "terminal", gruu ? gruu : t->contact);
	jsonw_str(&w, "instance", t->instance);
	jsonw_str(&w, "apps", t->apps);
	jsonw_str(&w, "source", t->source);
	events_emit(s, gone ? "unregistered" : "registered", &w, scope);
}


/** Let the API know when there is something new to read */
void sender_set_event_h(struct sender *s, sender_event_h *h, void *arg)
{
	if (!s)
		return;
	s->evh = h;
	s->evarg = arg;
}


uint64_t sender_events_head(const struct sender *s)
{
	return s ? evring_head(s->events) : 0;
}


/** This run's id: a reader whose numbers came from another run reads
 *  from the start */
const char *sender_events_boot(const struct sender *s)
{
	return s ? s->boot : "";
}


/** {"boot":B,"next":N,"missed":M,"events":[...]}: at most max events
 *  numbered above after */
int sender_events_print(struct re_printf *pf, const struct sender *s,
			uint64_t after, size_t max, uint64_t *nextp,
			sender_event_scope_h *sh, void *arg)
{
	int err;

	if (!s)
		return EINVAL;
	err = re_hprintf(pf, "{\"boot\":\"%s\",", s->boot);
	err = err ? err : evring_print_if(pf, s->events, after, max, nextp,
					  sh, arg);
	return err ? err : re_hprintf(pf, "}");
}


/** Whether an event above after is for this reader (sh NULL: anyone) */
bool sender_events_any(const struct sender *s, uint64_t after,
		       sender_event_scope_h *sh, void *arg)
{
	return s && evring_any(s->events, after, sh, arg);
}
