/**
 * @file outcome.c  Delivery outcomes: SIP/MSRP results to states and PAP codes
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/outcome.h"


static void set(struct outcome *o, enum delivery_state ds, uint16_t code)
{
	o->state = ds;
	o->pap_code = code;
}


/* A retryable failure: pending while the TTL lasts, else final. */
static void retry_or(struct outcome *o, bool ttl_left,
		     enum delivery_state ds, uint16_t code)
{
	if (ttl_left) {
		set(o, DS_PENDING, 1001);
		o->retry = true;
	}
	else {
		set(o, ds, code);
	}
}


static void map_sip(struct outcome *o, uint16_t scode, bool ttl_left,
		    const struct outcome_policy *pol)
{
	switch (scode) {

	case 202:
		/* accepted by a relay or store-and-forward node (RFC 3428) */
		if (pol && pol->relay_is_delivered)
			set(o, DS_DELIVERED, 1001);
		else
			set(o, DS_PENDING, 1001);
		return;

	case 408:
		retry_or(o, ttl_left, DS_TIMEOUT, 4000);
		return;

	case 480:
	case 503:
		retry_or(o, ttl_left, DS_UNDELIVERABLE, 4001);
		return;

	case 500:
		retry_or(o, ttl_left, DS_UNDELIVERABLE, 4000);
		return;

	case 400: case 420: case 421:
		set(o, DS_UNDELIVERABLE, 2000);
		return;

	case 401: case 403: case 407:
		set(o, DS_UNDELIVERABLE, 2001);
		return;

	case 404: case 410: case 484: case 604:
		set(o, DS_UNDELIVERABLE, 2002);
		return;

	case 415: case 488:
		set(o, DS_UNDELIVERABLE, 2005);
		return;

	case 413: case 513:
		/* too large for this method: indirection or a session may do */
		set(o, DS_UNDELIVERABLE, 2006);
		o->other_method = true;
		return;

	case 405: case 489: case 501:
		set(o, DS_UNDELIVERABLE, 3007);
		o->other_method = true;
		return;

	case 481:
		/* the subscription (or dialog) is gone */
		set(o, DS_UNDELIVERABLE, 4000);
		o->other_method = true;
		return;

	case 486: case 600: case 603:
		set(o, DS_ABORTED, 5000);
		return;
	}

	if (scode >= 200 && scode < 300)
		set(o, DS_DELIVERED, 1000);
	else if (scode >= 300 && scode < 400)
		set(o, DS_UNDELIVERABLE, 2002);   /* redirects are not followed */
	else if (scode >= 400 && scode < 500)
		set(o, DS_UNDELIVERABLE, 2000);
	else if (scode >= 500 && scode < 600)
		set(o, DS_UNDELIVERABLE, 4000);
	else if (scode >= 600 && scode < 700)
		set(o, DS_ABORTED, 5000);
	else
		set(o, DS_PENDING, 1001);          /* provisional: not final */
}


static void map_msrp(struct outcome *o, uint16_t scode, bool ttl_left)
{
	switch (scode) {

	case 200:
		set(o, DS_DELIVERED, 1000);
		return;

	case 403:
		set(o, DS_ABORTED, 5000);
		return;

	case 408:
		retry_or(o, ttl_left, DS_TIMEOUT, 4000);
		return;

	case 413:
		set(o, DS_UNDELIVERABLE, 2006);
		return;

	case 415:
		set(o, DS_UNDELIVERABLE, 2005);
		return;

	case 400: case 423: case 501:
		set(o, DS_UNDELIVERABLE, 2000);
		return;

	/* not in RFC 4975's list: the terminal could not take it now (a
	 * full disk, too many transfers), as SIP 500/503 mean */
	case 500: case 503:
		retry_or(o, ttl_left, DS_UNDELIVERABLE, 4000);
		return;
	}

	set(o, DS_UNDELIVERABLE, 4000);   /* 481, 506 and the unknown */
}


/**
 * Map one event to the delivery's state, its PAP code and what to do next.
 *
 * @param ttl_left  the push's TTL has not run out (a retry is allowed)
 */
void outcome_map(struct outcome *o, enum outcome_event ev, uint16_t scode,
		 bool ttl_left, const struct outcome_policy *pol)
{
	if (!o)
		return;

	memset(o, 0, sizeof(*o));

	switch (ev) {

	case OE_SIP:
		map_sip(o, scode, ttl_left, pol);
		break;

	case OE_MSRP:
		map_msrp(o, scode, ttl_left);
		break;

	case OE_TIMEOUT:
		retry_or(o, ttl_left, DS_TIMEOUT, 4000);
		break;

	case OE_TTL_PASSED:
		/* §5.4 leaves the code open ("none or 2001") */
		set(o, DS_EXPIRED, 2001);
		break;

	case OE_CANCELLED:
		set(o, DS_CANCELLED, 1000);
		break;
	}
}


/**
 * A push's state from its deliveries, given in the order they became final:
 * pending while any is; delivered if all were; partial if some were;
 * otherwise the state of the last one. No deliveries yet: pending.
 */
enum push_state push_state_of(const enum delivery_state *v, size_t n)
{
	size_t i, delivered = 0;

	if (!v || !n)
		return PS_PENDING;

	for (i = 0; i < n; i++) {
		if (v[i] == DS_PENDING)
			return PS_PENDING;
		if (v[i] == DS_DELIVERED)
			++delivered;
	}

	if (delivered == n)
		return PS_DELIVERED;
	if (delivered)
		return PS_PARTIAL;

	switch (v[n - 1]) {

	case DS_UNDELIVERABLE: return PS_UNDELIVERABLE;
	case DS_ABORTED:       return PS_ABORTED;
	case DS_TIMEOUT:       return PS_TIMEOUT;
	case DS_EXPIRED:       return PS_EXPIRED;
	case DS_CANCELLED:     return PS_CANCELLED;
	default:               return PS_PENDING;
	}
}


/**
 * Exponential backoff: base * 2^attempt, capped at max (attempt from 0).
 */
uint64_t outcome_backoff(uint32_t attempt, uint64_t base_ms, uint64_t max_ms)
{
	uint64_t d = base_ms;

	while (attempt-- && d < max_ms)
		d *= 2;

	return d < max_ms ? d : max_ms;
}


static const char *const ds_names[] = {
	"pending", "delivered", "undeliverable", "aborted", "timeout",
	"expired", "cancelled",
};

static const char *const ps_names[] = {
	"pending", "delivered", "partial", "undeliverable", "aborted",
	"timeout", "expired", "cancelled",
};


const char *delivery_state_name(enum delivery_state ds)
{
	return (size_t)ds < ARRAY_SIZE(ds_names) ? ds_names[ds] : "?";
}


const char *push_state_name(enum push_state ps)
{
	return (size_t)ps < ARRAY_SIZE(ps_names) ? ps_names[ps] : "?";
}


int push_state_decode(enum push_state *ps, const struct pl *name)
{
	int i, err;

	if (!ps)
		return EINVAL;
	err = name_decode(&i, ps_names, ARRAY_SIZE(ps_names), name);
	if (!err)
		*ps = (enum push_state)i;
	return err;
}


int delivery_state_decode(enum delivery_state *ds, const struct pl *name)
{
	int i, err;

	if (!ds)
		return EINVAL;
	err = name_decode(&i, ds_names, ARRAY_SIZE(ds_names), name);
	if (!err)
		*ds = (enum delivery_state)i;
	return err;
}


/**
 * A push's PAP code from its deliveries' codes, folded in the order they
 * became final: a failure's code says most, else the first one given.
 */
uint16_t outcome_pap_fold(uint16_t acc, uint16_t code)
{
	if (!acc || (acc == 1000 && code != 1000 && code))
		return code;
	return acc;
}


/** The PAP code of a push state when no delivery gave one (§5.2, §5.4) */
uint16_t outcome_pap_of_state(enum push_state ps)
{
	switch (ps) {

	case PS_PENDING:   return 1001;
	case PS_DELIVERED:
	case PS_CANCELLED: return 1000;
	case PS_EXPIRED:   return 2001;
	case PS_ABORTED:   return 5000;
	default:           return 4000;
	}
}
