/**
 * @file appid.c  Push application identifiers (OMNA) and ARIs
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/appid.h"


/* docs/protocol.md, "Application IDs", from the OMNA registry. cpm:ua is written with a
 * colon in the registry copies read; it is kept as registered. */
const struct appid_info appid_omna[] = {
	{0x00, "x-wap-application:*",           "any application"},
	{0x01, "x-wap-application:push.sia",    "Session Initiation Application"},
	{0x02, "x-wap-application:wml.ua",      "WML user agent"},
	{0x03, "x-wap-application:wta.ua",      "WTA user agent"},
	{0x04, "x-wap-application:mms.ua",      "MMS notification dispatch"},
	{0x05, "x-wap-application:push.syncml", "SyncML (DS) alert"},
	{0x06, "x-wap-application:loc.ua",      "location invocation"},
	{0x07, "x-wap-application:syncml.dm",   "OMA DM notification"},
	{0x08, "x-wap-application:drm.ua",      "DRM user agent"},
	{0x09, "x-wap-application:emn.ua",      "e-mail notification (EMN)"},
	{0x0a, "x-wap-application:wv.ua",       "Wireless Village (IMPS)"},
	{0x10, "x-oma-application:ulp.ua",      "SUPL ULP"},
	{0x11, "x-oma-application:dlota.ua",    "download OTA"},
	{0x12, "x-oma-application:java-ams",    "Java AMS"},
	{0x13, "x-oma-application:bcast.ua",    "BCAST"},
	{0x14, "x-oma-application:dpe.ua",      "DPE"},
	{0x15, "x-oma-application:cpm:ua",      "CPM"},
};

const size_t appid_omna_count = ARRAY_SIZE(appid_omna);

static const char *const nids[] = {"x-wap-application:", "x-oma-application:"};


static bool strip_prefix(struct pl *pl, const char *prefix)
{
	const size_t n = strlen(prefix);
	struct pl head;

	if (pl->l < n)
		return false;

	head.p = pl->p;
	head.l = n;
	if (pl_strcasecmp(&head, prefix))
		return false;

	pl_advance(pl, (ssize_t)n);
	return true;
}


/**
 * Reduce one application id to its bare form ("mms.ua"), as a view into in.
 *
 * @return 0, or EBADMSG if it is empty or has characters no id can have
 */
int appid_normalize(struct pl *id, const struct pl *in)
{
	struct pl v;
	size_t i;

	if (!id || !in)
		return EINVAL;

	v = *in;
	pl_trim_lws(&v);

	if (v.l >= 2 && v.p[0] == '"' && v.p[v.l - 1] == '"') {
		++v.p;
		v.l -= 2;
	}
	if (v.l >= 2 && v.p[0] == '<' && v.p[v.l - 1] == '>') {
		++v.p;
		v.l -= 2;
	}

	for (i = 0; i < ARRAY_SIZE(nids); i++) {
		if (strip_prefix(&v, nids[i]))
			break;
	}

	if (!v.l)
		return EBADMSG;

	for (i = 0; i < v.l; i++) {
		if (!token_char(v.p[i]) && v.p[i] != ':')
			return EBADMSG;
	}

	*id = v;
	return 0;
}


bool appid_equal(const struct pl *a, const struct pl *b)
{
	struct pl na, nb;

	if (appid_normalize(&na, a) || appid_normalize(&nb, b))
		return false;

	return !pl_casecmp(&na, &nb);
}


/** True if a comma list of ids ("mms.ua,syncml.dm") holds app */
bool appid_list_has(const struct pl *list, const struct pl *app)
{
	struct pl rest, item;

	if (!list || !app)
		return false;

	rest = *list;
	while (0 == list_next(&rest, ',', &item)) {
		if (appid_equal(&item, app))
			return true;
	}

	return false;
}


/** Whether two comma lists name an application in common */
bool appid_lists_meet(const struct pl *a, const struct pl *b)
{
	struct pl rest, item;

	if (!a || !b)
		return false;

	rest = *a;
	while (0 == list_next(&rest, ',', &item)) {
		if (appid_list_has(b, &item))
			return true;
	}

	return false;
}


/**
 * Find the OMNA entry of an id given by name ("mms.ua", a URN) or by code
 * ("0x04", "4", as in X-Wap-Application-Id).
 */
const struct appid_info *appid_lookup(const struct pl *app)
{
	struct pl id;
	uint32_t code;
	size_t i;

	if (!app)
		return NULL;

	if (app->l > 2 && app->p[0] == '0' && (app->p[1] | 0x20) == 'x') {
		struct pl hex = {app->p + 2, app->l - 2};

		for (i = 0; i < hex.l; i++) {
			if (!strchr("0123456789abcdefABCDEF", hex.p[i]))
				return NULL;
		}
		code = hex.l <= 8 ? pl_x32(&hex) : UINT32_MAX;
		goto by_code;
	}

	if (0 == pl_u32_strict(app, &code))
		goto by_code;

	if (appid_normalize(&id, app))
		return NULL;

	for (i = 0; i < appid_omna_count; i++) {
		struct pl urn, bare;

		pl_set_str(&urn, appid_omna[i].urn);
		if (0 == appid_normalize(&bare, &urn) && !pl_casecmp(&bare, &id))
			return &appid_omna[i];
	}

	return NULL;

 by_code:
	for (i = 0; i < appid_omna_count; i++) {
		if (appid_omna[i].code == code)
			return &appid_omna[i];
	}

	return NULL;
}


/**
 * "NAME=ARI" (--icsi): an ICSI or service name, then the application it
 * stands for; split at the last '=' (a URN may hold one, an ARI cannot).
 * Views into in; ari normalized ("x-wap-application:" dropped).
 *
 * @return 0, or EBADMSG naming no application or with white space
 */
int appid_alias_decode(struct pl *name, struct pl *ari, const struct pl *in)
{
	struct pl n, a;
	size_t i;

	if (!name || !ari || !in)
		return EINVAL;

	for (i = in->l; i > 0 && in->p[i - 1] != '='; i--)
		;
	if (!i)
		return EBADMSG;
	n = (struct pl){in->p, i - 1};
	a = (struct pl){in->p + i, in->l - i};
	if (appid_normalize(name, &n) || appid_normalize(ari, &a) ||
	    !pl_is_token(ari))
		return EBADMSG;
	return 0;
}


/** The ARI a name stands for in v (case-insensitive), or NULL */
const char *appid_alias_ari(const struct appid_alias *v, size_t n,
			    const struct pl *name)
{
	struct pl id;

	if (!v || !name || appid_normalize(&id, name))
		return NULL;

	for (size_t i = 0; i < n; i++) {
		struct pl a, b;

		pl_set_str(&a, v[i].name);
		if (!appid_normalize(&b, &a) && !pl_casecmp(&b, &id))
			return v[i].ari;
	}
	return NULL;
}
