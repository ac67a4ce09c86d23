/**
 * @file method.c  Push method and terminal selection
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/appid.h"
#include "core/featuretag.h"
#include "core/pagemsg.h"
#include "core/outcome.h"
#include "core/method.h"


/**
 * Does an Accept list ("a/b, c/any, any/any;q=0.5", any being a star)
 * take ctype? An empty list
 * means unknown, which is taken as yes.
 */
bool ctype_accepted(const struct pl *accept, const char *ctype)
{
	struct pl rest, item, want, wtype;
	const char *slash;

	if (!accept || !accept->l)
		return true;
	if (!ctype)
		return false;

	pl_set_str(&want, ctype);
	slash = pl_strchr(&want, '/');
	if (!slash)
		return false;
	wtype.p = want.p;
	wtype.l = (size_t)(slash - want.p);

	rest = *accept;
	while (0 == list_next(&rest, ',', &item)) {
		const char *semi = pl_strchr(&item, ';');

		if (semi)
			item.l = (size_t)(semi - item.p);
		pl_trim_lws(&item);

		if (!pl_strcmp(&item, "*/*") || !pl_casecmp(&item, &want))
			return true;

		/* "type/" followed by a star */
		if (item.l == wtype.l + 2 && item.p[item.l - 1] == '*' &&
		    item.p[item.l - 2] == '/' &&
		    !strncasecmp(item.p, wtype.p, wtype.l))
			return true;
	}

	return false;
}


/* An unknown methods list allows anything: the terminal said nothing. */
static bool has_method(const struct term_caps *t, const char *met)
{
	return !t->methods.l || ftag_value_has(&t->methods, met);
}


static bool is_target(const struct term_caps *t, const char *target)
{
	if (!target || !strcasecmp(target, "all"))
		return true;

	return (t->instance && !strcmp(t->instance, target)) ||
		(t->gruu && !strcmp(t->gruu, target)) ||
		(t->contact && !strcmp(t->contact, target));
}


static void none(struct plan *p, enum plan_reason r)
{
	p->kind = PLAN_NONE;
	p->indirect = false;
	p->reason = r;
}


static void pick(struct plan *p, enum plan_kind k, bool indirect)
{
	p->kind = k;
	p->indirect = indirect;
	p->reason = PR_OK;
}


/* MESSAGE inline if it fits, else by indirection if the terminal takes it */
static void plan_message(struct plan *p, const struct term_caps *t,
			 bool fits)
{
	if (!has_method(t, "MESSAGE"))
		none(p, PR_METHOD);
	else if (fits)
		pick(p, PLAN_MESSAGE, false);
	else if (ctype_accepted(&t->accept, "message/external-body"))
		pick(p, PLAN_MESSAGE, true);
	else
		none(p, PR_TOO_LARGE);
}


static void plan_one(struct plan *p, const struct push_spec *ps,
		     const struct term_caps *t, bool fits)
{
	struct pl app;

	pl_set_str(&app, ps->app);
	if (t->apps.l && !appid_list_has(&t->apps, &app)) {
		none(p, PR_NO_APP);
		return;
	}

	/* what the app's subscription takes, and what the device can */
	if (!ctype_accepted(&t->accept, ps->ctype) ||
	    !ctype_accepted(&t->dev_accept, ps->ctype)) {
		none(p, PR_TYPE);
		return;
	}

	switch (ps->method) {

	case PM_MESSAGE:
		plan_message(p, t, fits);
		return;

	case PM_NOTIFY:
		if (t->sub_active)
			pick(p, PLAN_NOTIFY, !fits);
		else
			none(p, PR_NO_SUBSCRIPTION);
		return;

	case PM_REFER:
		if (has_method(t, "REFER"))
			pick(p, PLAN_REFER, !fits);
		else
			none(p, PR_METHOD);
		return;

	case PM_SESSION:
		if (t->methods.l && ftag_value_has(&t->methods, "INVITE"))
			pick(p, PLAN_SESSION, false);
		else
			none(p, PR_METHOD);
		return;

	case PM_AUTO:
		break;
	}

	if (t->sub_active) {
		pick(p, PLAN_NOTIFY, !fits);
		return;
	}

	if (ps->require_sub) {
		if (has_method(t, "REFER")) {
			pick(p, PLAN_REFER, !fits);
			return;
		}
		/* the preference cannot be met: page mode, and the status
		 * says why (TS §7.2: MESSAGE is the fallback of REFER) */
		plan_message(p, t, fits);
		if (p->kind != PLAN_NONE)
			p->reason = PR_NO_REFER;
		return;
	}

	if (!fits && t->methods.l && ftag_value_has(&t->methods, "INVITE")) {
		pick(p, PLAN_SESSION, false);
		return;
	}

	plan_message(p, t, fits);
}


/**
 * Plan the push for each terminal.
 *
 * @param planv     One plan per terminal (out)
 * @param nplanned  Number of terminals with a plan other than PLAN_NONE
 * @param ps        The push
 * @param tv        The user's terminals
 * @param n         Number of terminals
 *
 * @return 0, EINVAL, or ENOENT when a named target matches no terminal
 */
int method_plan(struct plan *planv, size_t *nplanned,
		const struct push_spec *ps, const struct term_caps *tv,
		size_t n)
{
	const size_t limit = ps && ps->msg_limit ? ps->msg_limit :
		PAGEMSG_LIMIT;
	size_t i, targeted = 0, sz;

	if (!planv || !nplanned || !ps || !ps->app || !ps->ctype ||
	    (n && !tv))
		return EINVAL;

	*nplanned = 0;

	for (i = 0; i < n; i++) {
		if (!is_target(&tv[i], ps->target)) {
			none(&planv[i], PR_NOT_TARGETED);
			continue;
		}

		++targeted;
		/* the terminal's own limit (UAProf Push-MsgSize) counts too */
		sz = tv[i].msg_size ? tv[i].msg_size : ps->msg_size;
		plan_one(&planv[i], ps, &tv[i], sz <= limit &&
			 (!tv[i].msg_max || sz <= tv[i].msg_max));
		if (planv[i].kind != PLAN_NONE)
			++*nplanned;
	}

	if (ps->target && strcasecmp(ps->target, "all") && !targeted)
		return ENOENT;

	return 0;
}


static const char *const kinds[] = {"none", "message", "notify", "refer",
			      "session"};
static const char *const reasons[] = {
	"ok", "not targeted", "application not registered",
	"content type not accepted", "method not supported",
	"no active subscription", "too large and no indirection",
	"subscription mode preferred, no REFER",
};
static const char *const methods[] = {"auto", "message", "notify", "refer",
				"session"};


const char *plan_kind_name(enum plan_kind k)
{
	return (size_t)k < ARRAY_SIZE(kinds) ? kinds[k] : "?";
}


const char *plan_reason_name(enum plan_reason r)
{
	return (size_t)r < ARRAY_SIZE(reasons) ? reasons[r] : "?";
}


/** A kind from its name (as stored: "message", "notify", ...) */
int plan_kind_decode(enum plan_kind *k, const struct pl *name)
{
	int i, err;

	if (!k)
		return EINVAL;
	err = name_decode(&i, kinds, ARRAY_SIZE(kinds), name);
	if (!err)
		*k = (enum plan_kind)i;
	return err;
}


int push_method_decode(enum push_method *pm, const struct pl *name)
{
	int i, err;

	if (!pm)
		return EINVAL;
	err = name_decode(&i, methods, ARRAY_SIZE(methods), name);
	if (!err)
		*pm = (enum push_method)i;
	return err;
}


/**
 * Does an attempt's answer move a delivery to another method? The one
 * place this is decided, from the outcome's other_method (the planner
 * then picks which: push.c). NOTIFY: the subscription is gone (481, 408,
 * no answer; RFC 6665 §4.1.2) or cannot carry it (405, 501, 413...), but
 * the push is not. MESSAGE too large (413, 513): by reference or a
 * session. INVITE refused as a method: MESSAGE. REFER refused on a push
 * that did not name "refer": the terminal may still take MESSAGE;
 * 408/480/500/503 retry as usual. named: the push asked for this method.
 */
bool method_fallback(enum plan_kind kind, enum outcome_event ev,
		     uint16_t scode, bool named)
{
	struct outcome o;

	/* "this method cannot work here": the core's outcome says so */
	outcome_map(&o, ev, scode, false, NULL);

	switch (kind) {

	case PLAN_NOTIFY:
		return ev == OE_TIMEOUT || o.other_method ||
			(ev == OE_SIP && scode == 408);

	case PLAN_MESSAGE:
		/* too large for MESSAGE (413, 513): by reference, or a
		 * session; refused outright (405, 501), it ends there */
		return o.other_method && (scode == 413 || scode == 513);

	case PLAN_SESSION:
		/* INVITE refused as a method (405, 501, 488...): MESSAGE,
		 * unless the push asked for a session by name */
		return !named && o.other_method;

	case PLAN_REFER:
		if (named || ev != OE_SIP || scode < 300)
			return false;
		switch (scode) {

		case 408: case 480: case 500: case 503:
			return false;
		default:
			return true;
		}

	default:
		return false;
	}
}


/**
 * Does an answer to a request sent to a GRUU move the delivery to the
 * public identity (with the terminal's +sip.instance as a caller
 * preference)? When the core no longer knows the GRUU (404, 410), cannot
 * take the URI (416) or has nobody there now (480): the terminal may be
 * registered again under another GRUU, or the core builds none.
 */
bool gruu_fallback(enum outcome_event ev, uint16_t scode)
{
	if (ev != OE_SIP)
		return false;
	switch (scode) {

	case 404: case 410: case 416: case 480:
		return true;
	default:
		return false;
	}
}
