/**
 * @file referto.c  Refer-To for a REFER-triggered oma-app subscription
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/featuretag.h"
#include "core/uaprofile.h"
#include "core/referto.h"


/* Characters left as they are in an embedded header value: RFC 3261
 * unreserved minus '+' (some parsers read it as a space) plus the safe
 * hnv-unreserved ones. Everything else is %XX. */
static bool hvalue_plain(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;

	return c && strchr("-_.!~*'()[]/:$", c) != NULL;
}


static int hvalue_escape(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; *s && !err; s++) {
		if (hvalue_plain(*s))
			err = pf->vph(s, 1, pf->arg);
		else
			err = re_hprintf(pf, "%%%02X", (unsigned char)*s);
	}

	return err;
}


int referto_print(struct re_printf *pf, const struct referto_spec *rs)
{
	const struct ac_spec as = {.app = rs ? rs->app : NULL,
				   .methods = rs ? rs->methods : NULL};
	char *event = NULL, *ac = NULL;
	int err;

	if (!pf || !rs || !rs->uri || !rs->app)
		return EINVAL;

	if (strchr(rs->uri, '<') || strchr(rs->uri, '>') ||
	    strchr(rs->uri, '?'))
		return EINVAL;

	err = re_sdprintf(&event, "ua-profile;profile-type=oma-app;"
			  "event-app-id=\"%s\"", rs->app);
	if (err)
		goto out;

	err = re_sdprintf(&ac, "%H", ac_print, &as);
	if (err)
		goto out;

	err  = re_hprintf(pf, "<%s;method=SUBSCRIBE?Event=", rs->uri);
	err |= hvalue_escape(pf, event);
	err |= re_hprintf(pf, "&Accept-Contact=");
	err |= hvalue_escape(pf, ac);
	err |= re_hprintf(pf, ">");

 out:
	mem_deref(event);
	mem_deref(ac);

	return err;
}


static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;

	return -1;
}


/**
 * Percent-decode into dst (NUL-terminated). A decoded NUL, CR or LF would
 * let an embedded header smuggle in other headers: EBADMSG.
 *
 * @return 0, EBADMSG, or EOVERFLOW when dst is too small
 */
int pct_decode(char *dst, size_t size, const struct pl *src)
{
	size_t i, n = 0;

	if (!dst || !size || !src)
		return EINVAL;

	for (i = 0; i < src->l; i++) {
		char c = src->p[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= src->l)
				return EBADMSG;

			hi = hexval(src->p[i + 1]);
			lo = hexval(src->p[i + 2]);
			if (hi < 0 || lo < 0)
				return EBADMSG;

			c = (char)(hi << 4 | lo);
			i += 2;
		}

		if (c == '\0' || c == '\r' || c == '\n')
			return EBADMSG;

		if (n + 1 >= size)
			return EOVERFLOW;

		dst[n++] = c;
	}

	dst[n] = '\0';
	return 0;
}


static int take_header(char *dst, const struct pl *val)
{
	if (dst[0])
		return EBADMSG;  /* given twice */

	return pct_decode(dst, REFERTO_HDR_MAX, val);
}


int referto_decode(struct referto *rt, const struct pl *hval)
{
	struct sip_addr addr;
	struct pl hdrs = PL_INIT, rest, item;
	const char *q;
	struct uri uri;
	int err;

	if (!rt || !hval)
		return EINVAL;

	memset(rt, 0, sizeof(*rt));

	if (addr_decode(&addr, hval))
		return EBADMSG;

	rt->uri = addr.auri;
	q = pl_strchr(&addr.auri, '?');
	if (q) {
		/* headers need the name-addr form: "<...?...>" */
		if (addr.auri.p == hval->p || addr.auri.p[-1] != '<')
			return EBADMSG;

		rt->uri.l = (size_t)(q - addr.auri.p);
		hdrs.p = q + 1;
		hdrs.l = addr.auri.l - rt->uri.l - 1;
	}

	if (uri_decode(&uri, &rt->uri))
		return EBADMSG;

	err = param_get(&uri.params, "method", &rt->method, NULL);
	if (err && err != ENOENT)
		return EBADMSG;

	rest = hdrs;
	while (rest.l) {
		struct pl name, val;

		err = list_next(&rest, '&', &item);
		if (err)
			return EBADMSG;

		if (kv_split(&item, &name, &val))
			return EBADMSG;

		if (!pl_strcasecmp(&name, "Event") || !pl_strcasecmp(&name, "o"))
			err = take_header(rt->event, &val);
		else if (!pl_strcasecmp(&name, "Accept-Contact") ||
			 !pl_strcasecmp(&name, "a"))
			err = take_header(rt->accept_contact, &val);
		else if (!pl_is_token(&name))
			err = EBADMSG;

		if (err)
			return err;
	}

	return 0;
}


/**
 * Can a terminal act on this Refer-To as a push trigger?
 *
 * @return 0 if so, else the SIP status to answer the REFER with: 603 for a
 *         method other than SUBSCRIBE, 489 for an event other than
 *         ua-profile/oma-app, 400 for a malformed embedded header
 */
uint16_t referto_push_check(const struct referto *rt)
{
	struct uaprof_event ev;
	struct pl pl;

	if (!rt)
		return 400;

	if (pl_strcmp(&rt->method, "SUBSCRIBE"))
		return 603;

	if (!rt->event[0])
		return 489;

	pl_set_str(&pl, rt->event);
	if (uaprof_event_decode(&ev, &pl))
		return 400;

	if (!uaprof_is_oma_app(&ev))
		return 489;

	if (rt->accept_contact[0]) {
		struct ac_pred p[AC_MAX];
		size_t n = 0;

		pl_set_str(&pl, rt->accept_contact);
		if (ac_decode(p, AC_MAX, &n, &pl))
			return 400;
	}

	return 0;
}
