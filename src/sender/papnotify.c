/**
 * @file papnotify.c  PAP result notifications: when a push that came with
 *                    ppg-notify-requested-to ends, a resultnotification-
 *                    message is POSTed there
 *
 * Written to the store in the transaction that makes the push final, so a
 * restart sends what was not confirmed; POSTed with libcurl inside the
 * loop, retried with backoff (1 s doubling to 10 min) until a 2xx, given
 * up after NOTE_MAX_ATTEMPTS; at most NOTE_MAX waiting.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "fetch/fetch.h"
#include "core/pap.h"
#include "engine.h"
#include "clock.h"
#include "observe.h"
#include "papnotify.h"

#include <sippush/log.h>

#define MOD "papnotify"

enum {
	NOTE_MAX = 100000,
	NOTE_MAX_ATTEMPTS = 20,
	NOTE_BACKOFF_MAX_MS = 600000,
};

struct note {
	struct le le;            /**< in sender.notes                      */
	struct sender *s;
	int64_t id;
	char *url;
	char *body;
	uint32_t attempts;
	struct tmr tmr;
	bool busy;
};


static void note_destructor(void *arg)
{
	struct note *n = arg;

	list_unlink(&n->le);
	tmr_cancel(&n->tmr);
	mem_deref(n->url);
	mem_deref(n->body);
}


static void send_tmr(void *arg);


static void posted_h(int err, const char *why, struct mbuf *mb, void *arg)
{
	struct note *n = arg;
	uint64_t backoff;
	(void)mb;

	n->busy = false;
	if (!err) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: result notification delivered",
		     n->url);
		(void)store_note_del(n->s->st, n->id);
		mem_deref(n);
		return;
	}

	if (++n->attempts >= NOTE_MAX_ATTEMPTS) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: given up after %u attempts (%s)",
		     n->url, n->attempts, why);
		(void)store_note_del(n->s->st, n->id);
		mem_deref(n);
		return;
	}

	backoff = 1000ull << (n->attempts < 20 ? n->attempts - 1 : 19);
	if (backoff > NOTE_BACKOFF_MAX_MS)
		backoff = NOTE_BACKOFF_MAX_MS;
	plog(SIPPUSH_LOG_INFO, MOD, "%s: %s; again in %llu ms", n->url, why,
	     (unsigned long long)backoff);
	(void)store_note_update(n->s->st, n->id, n->attempts,
				sender_now_ms(n->s) + (int64_t)backoff);
	tmr_start(&n->tmr, backoff, send_tmr, n);
}


static void send_tmr(void *arg)
{
	struct note *n = arg;
	int err;

	n->busy = true;
	err = fetch_post(n->s->notifier, n->url, "application/xml",
			 (const uint8_t *)n->body, strlen(n->body), posted_h,
			 n);
	if (err)
		posted_h(err, "cannot POST", NULL, n);
}


static int note_new(struct sender *s, int64_t id, const char *url,
		    const char *body, uint32_t attempts, int64_t next_ms)
{
	struct note *n;
	int64_t wait = next_ms - sender_now_ms(s);

	n = mem_zalloc(sizeof(*n), note_destructor);
	if (!n)
		return ENOMEM;
	n->s = s;
	n->id = id;
	n->attempts = attempts;
	tmr_init(&n->tmr);
	if (str_dup(&n->url, url) || str_dup(&n->body, body)) {
		mem_deref(n);
		return ENOMEM;
	}
	list_append(&s->notes, &n->le, n);
	tmr_start(&n->tmr, wait > 0 ? (uint64_t)wait : 0, send_tmr, n);
	return 0;
}


struct final {
	struct push *p;
	const char *state;
	uint16_t code;
};


static void pap_h(const struct pap_rec *r, void *arg)
{
	struct final *f = arg;
	struct sender *s = f->p->s;
	const int64_t rt = r->created_ms / 1000, et = sender_now_ms(s) / 1000;
	char *body = NULL;
	int64_t id;
	int err;

	if (!r->notify_to)
		return;
	const uint32_t max = s->conf.max_notes ? s->conf.max_notes : NOTE_MAX;

	if (list_count(&s->notes) >= max) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: more than %u waiting: not sent",
		     r->pap_id, max);
		return;
	}

	err = re_sdprintf(&body, "<?xml version=\"1.0\"?>\n<!DOCTYPE pap "
			  "PUBLIC \"-//WAPFORUM//DTD PAP 2.1//EN\" \"http://"
			  "www.openmobilealliance.org/tech/DTD/pap_2.1.dtd\">"
			  "\n<pap><resultnotification-message push-id=\"%H\" "
			  "received-time=\"%H\" event-time=\"%H\" "
			  "message-state=\"%s\" code=\"%u\"><address "
			  "address-value=\"%H\"/></resultnotification-message>"
			  "</pap>\n", pap_escape_print, r->pap_id,
			  pap_time_print, &rt, pap_time_print, &et,
			  f->state, f->code, pap_escape_print, r->addr);
	err = err ? err : store_note_add(s->st, r->notify_to, body,
					 sender_now_ms(s), &id);
	err = err ? err : note_new(s, id, r->notify_to, body, 0,
				   sender_now_ms(s));
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "%s: notification not kept (%m)",
		     r->pap_id, err);
	mem_deref(body);
}


/* A push reached its final state: its PAP initiator may want to know
 * (observer). Only a PAP push has a row to read: its notification
 * address; the code is the one the status query would give, from memory. */
static void push_h(const struct push *p, enum push_state ps, void *arg)
{
	struct final f = {(struct push *)p, push_state_name(ps), 0};
	(void)arg;

	if (str_cmp(p->initiator, "pap"))
		return;
	f.code = p->pap_code ? p->pap_code : outcome_pap_of_state(ps);
	if (ps == PS_PARTIAL)
		f.state = "delivered";
	(void)store_pap_by_push(p->s->st, p->id, pap_h, &f);
}


/** PAP result notifications listen to final pushes */
int papnotify_init(struct sender *s)
{
	return observer_add(s, NULL, push_h, s);
}


static void load_h(int64_t id, const char *url, const char *body,
		   uint32_t attempts, int64_t next_ms, void *arg)
{
	(void)note_new(arg, id, url, body, attempts, next_ms);
}


/** After a restart: the notifications not yet confirmed */
int papnotify_load(struct sender *s)
{
	return store_note_load(s->st, load_h, s);
}
