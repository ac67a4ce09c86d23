/**
 * @file deliver.c  Every push's way to the application: a push handed
 *                  over before is not handed over again, one the
 *                  application took is remembered (seen.c) before it is
 *                  answered, and the method hears how it ended
 *
 * Page mode, subscription mode and session mode all end here, so that
 * the rules are the same whatever brought the push.
 */
#include <errno.h>
#include <re.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "deliver.h"
#include "seen.h"

#define MOD "deliver"

struct deliver {
	struct seen *seen;
	struct list waiting;     /**< struct wait                        */
	receiver_push_h *ph;
	void *arg;
};

/* A push whose handler returned EINPROGRESS: receiver_push_done() ends
 * it */
struct wait {
	struct le le;
	char *push_id;
	deliver_end_h *endh;
	void *arg;               /**< a reference: the method's request  */
};


static void destructor(void *arg)
{
	struct deliver *d = arg;

	list_flush(&d->waiting);
	mem_deref(d->seen);
}


static void wait_destructor(void *arg)
{
	struct wait *w = arg;

	list_unlink(&w->le);
	mem_deref(w->push_id);
	mem_deref(w->arg);
}


int deliver_alloc(struct deliver **dp, const char *state_dir,
		  uint32_t seen_max, receiver_push_h *ph, void *arg)
{
	struct deliver *d;
	int err;

	if (!dp || !state_dir || !ph)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;
	d->ph = ph;
	d->arg = arg;

	err = seen_open(&d->seen, state_dir, seen_max);
	if (err)
		mem_deref(d);
	else
		*dp = d;
	return err;
}


/** Handed over before (then a re-sent copy is answered as taken) */
bool deliver_seen(const struct deliver *d, const char *push_id)
{
	if (!seen_has(d->seen, push_id))
		return false;
	plog(SIPPUSH_LOG_INFO, MOD, "%s: already handed over", push_id);
	return true;
}


/* Remembered before the answer: a copy re-sent after it is not handed
 * over twice, even after a restart */
static void end(struct deliver *d, const char *push_id, int err,
		deliver_end_h *endh, void *arg)
{
	if (!err) {
		int e = seen_add(d->seen, push_id);

		if (e)
			plog(SIPPUSH_LOG_WARN, MOD, "%s: not remembered: %m",
			     push_id, e);
	}
	endh(err, arg);
}


/**
 * Hand one push to the application, unless it was handed over before;
 * endh hears how it ended, at once or (p->deferrable, and the handler
 * returned EINPROGRESS) at deliver_done(). arg is a mem object, held
 * meanwhile.
 */
void deliver_push(struct deliver *d, const struct receiver_push *p,
		  deliver_end_h *endh, void *arg)
{
	struct wait *w;
	int err;

	if (deliver_seen(d, p->push_id)) {
		endh(0, arg);
		return;
	}

	err = d->ph(p, d->arg);
	if (err != EINPROGRESS || !p->deferrable) {
		end(d, p->push_id, err, endh, arg);
		return;
	}

	w = mem_zalloc(sizeof(*w), wait_destructor);
	if (!w || str_dup(&w->push_id, p->push_id)) {
		/* the handler runs on: the sender tries again */
		mem_deref(w);
		endh(EBUSY, arg);
		return;
	}
	w->endh = endh;
	w->arg = mem_ref(arg);
	list_append(&d->waiting, &w->le, w);
}


/**
 * Tell the application of a push that failed (p->error set): not
 * remembered, its answer not waited for; the method answers by the
 * failure, whatever the handler says
 */
void deliver_failed(struct deliver *d, const struct receiver_push *p)
{
	int err = d->ph(p, d->arg);

	if (err && err != EINPROGRESS)
		plog(SIPPUSH_LOG_INFO, MOD, "%s: the failure not handed "
		     "over: %m", p->push_id, err);
}


/** A handler that returned EINPROGRESS is done (0: taken, EBUSY: busy,
 *  else failed); an unknown push_id is ignored */
void deliver_done(struct deliver *d, const char *push_id, int err)
{
	for (struct le *le = d->waiting.head; le; le = le->next) {
		struct wait *w = le->data;

		if (str_cmp(w->push_id, push_id))
			continue;
		list_unlink(&w->le);
		end(d, w->push_id, err, w->endh, w->arg);
		mem_deref(w);
		return;
	}
}
