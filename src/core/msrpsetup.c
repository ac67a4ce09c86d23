/**
 * @file msrpsetup.c  Who opens an MSRP session's TCP connection (RFC 6135)
 */
#include <errno.h>
#include <re.h>
#include "core/msrpsetup.h"


/** The a=setup value, or NULL for MSRP_SETUP_NONE (no attribute) */
const char *msrp_setup_name(enum msrp_setup s)
{
	switch (s) {

	case MSRP_SETUP_ACTIVE:   return "active";
	case MSRP_SETUP_PASSIVE:  return "passive";
	case MSRP_SETUP_ACTPASS:  return "actpass";
	case MSRP_SETUP_HOLDCONN: return "holdconn";
	default:                  return NULL;
	}
}


int msrp_setup_decode(enum msrp_setup *s, const struct pl *v)
{
	static const enum msrp_setup all[] = {
		MSRP_SETUP_ACTIVE, MSRP_SETUP_PASSIVE, MSRP_SETUP_ACTPASS,
		MSRP_SETUP_HOLDCONN,
	};

	if (!s || !v)
		return EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (!pl_strcasecmp(v, msrp_setup_name(all[i]))) {
			*s = all[i];
			return 0;
		}
	}
	return EBADMSG;
}


/**
 * The answerer's role for an offer (RFC 4145 §4.1): the opposite of a
 * fixed one, its own choice for actpass. EPROTO: it cannot take the offer
 * (holdconn, or actpass in an answer's place).
 */
int msrp_setup_answer(enum msrp_setup *ans, enum msrp_setup offer,
		      bool prefer_active)
{
	if (!ans)
		return EINVAL;

	switch (offer) {

	case MSRP_SETUP_NONE:
		/* an offerer that knows no a=setup connects (RFC 4975) */
		*ans = MSRP_SETUP_NONE;
		return 0;

	case MSRP_SETUP_ACTIVE:
		*ans = MSRP_SETUP_PASSIVE;
		return 0;

	case MSRP_SETUP_PASSIVE:
		*ans = MSRP_SETUP_ACTIVE;
		return 0;

	case MSRP_SETUP_ACTPASS:
		*ans = prefer_active ? MSRP_SETUP_ACTIVE : MSRP_SETUP_PASSIVE;
		return 0;

	default:
		return EPROTO;
	}
}


/**
 * Whether the offerer connects, given what it offered and what came back.
 * An answer without a=setup means passive (RFC 4145 §4.1's default).
 * EPROTO: the answer does not fit the offer.
 */
int msrp_setup_offerer_connects(bool *connects, enum msrp_setup offer,
				enum msrp_setup answer)
{
	if (!connects)
		return EINVAL;

	if (answer == MSRP_SETUP_NONE)
		answer = MSRP_SETUP_PASSIVE;

	switch (offer) {

	case MSRP_SETUP_NONE:
	case MSRP_SETUP_ACTIVE:
		if (answer != MSRP_SETUP_PASSIVE)
			return EPROTO;
		*connects = true;
		return 0;

	case MSRP_SETUP_PASSIVE:
		if (answer != MSRP_SETUP_ACTIVE)
			return EPROTO;
		*connects = false;
		return 0;

	case MSRP_SETUP_ACTPASS:
		if (answer != MSRP_SETUP_ACTIVE &&
		    answer != MSRP_SETUP_PASSIVE)
			return EPROTO;
		*connects = answer == MSRP_SETUP_PASSIVE;
		return 0;

	default:
		return EPROTO;
	}
}
