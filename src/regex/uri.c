/**
 * @file uri.c  libre's uri.o without re_regex() on the decoding path: it
 *              replaces libre.a's uri.o on the link line (CMakeLists.txt)
 *
 * libre's SIP stack decodes the URIs of every request and response
 * (To, From, Contact, the Request-URI) through uri_decode(), three
 * expressions a URI. Here they are walked by hand (scan.h), the same
 * results to the byte, on malformed input too (tests/unit/test_sipdec.c
 * compares them with libre's). The rest of uri.o comes along, as an
 * object is replaced whole: the encoder, and the parameter and header
 * lookups, which are not on the push path and keep their expressions.
 */
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_uri.h>
#include "regex/scan.h"


/* "\[[0-9a-f:]+\][:]*[0-9]*": host, port */
static int hostport_ipv6(const struct pl *hp, struct pl *host,
			 struct pl *port)
{
	if (!hp->p)
		return EINVAL;

	for (size_t s = 0; s < hp->l; s++) {
		const char *b = memchr(hp->p + s, '[', hp->l - s);
		struct scan sc;
		struct pl h;

		/* the start positions before a '[' fail at once */
		if (!b)
			break;
		s = (size_t)(b - hp->p);
		sc.p = b + 1;
		sc.l = hp->l - s - 1;

		h = scan_in(&sc, SC_HEX);
		if (!h.l)
			continue;
		*host = h;

		if (!sc.l)
			return ENOENT;
		if (*sc.p != ']')
			continue;
		(void)scan_take(&sc, 1);

		(void)scan_in(&sc, SC_COLON);
		*port = scan_in(&sc, SC_DIGIT);
		return 0;
	}

	return ENOENT;
}


/* "[^:]+[:]*[0-9]*": host, port */
static int hostport_name(const struct pl *hp, struct pl *host,
			 struct pl *port)
{
	if (!hp->p)
		return EINVAL;

	for (size_t s = 0; s < hp->l; s++) {
		struct scan sc = {hp->p + s, hp->l - s};

		if (*sc.p == ':')
			continue;

		*host = scan_out(&sc, SC_COLON);
		(void)scan_in(&sc, SC_COLON);
		*port = scan_in(&sc, SC_DIGIT);
		return 0;
	}

	return ENOENT;
}


int uri_decode_hostport(const struct pl *hostport, struct pl *host,
			struct pl *port)
{
	if (!hostport || !host || !port)
		return EINVAL;

	if (!hostport_ipv6(hostport, host, port))
		return 0;

	return hostport_name(hostport, host, port);
}


/* libre's two expressions of a URI, with a user part or without:
 * "[^:]+:[^@:]*[:]*[^@]*@[^/;? ]+[^;? ]*[^?]*[^]*"
 * "[^:]+:[^/;? ]+[^;? ]*[^?]*[^]*" */
static int uri_match(struct uri *uri, const struct pl *pl, bool userinfo,
		     struct pl *hostport)
{
	if (!pl->p)
		return EINVAL;

	for (size_t s = 0; s < pl->l; s++) {
		struct scan sc = {pl->p + s, pl->l - s};
		struct pl v;

		v = scan_out(&sc, SC_COLON);
		if (!v.l)
			continue;
		uri->scheme = v;

		if (!sc.l)
			return ENOENT;
		(void)scan_take(&sc, 1);           /* the ':' */

		if (userinfo) {
			uri->user = scan_out(&sc, SC_AT | SC_COLON);
			(void)scan_in(&sc, SC_COLON);
			uri->password = scan_out(&sc, SC_AT);

			if (!sc.l)
				return ENOENT;
			(void)scan_take(&sc, 1);   /* the '@' */
		}

		v = scan_out(&sc, SC_SLASH | SC_SEMI | SC_QUEST | SC_SP);
		if (!v.l)
			continue;
		*hostport = v;

		uri->path    = scan_out(&sc, SC_SEMI | SC_QUEST | SC_SP);
		uri->params  = scan_out(&sc, SC_QUEST);
		uri->headers = scan_rest(&sc);
		return 0;
	}

	return ENOENT;
}


int uri_decode(struct uri *uri, const struct pl *pl)
{
	struct pl hostport, port = PL_INIT;
	struct sa addr;
	int err;

	if (!uri || !pl)
		return EINVAL;

	memset(uri, 0, sizeof(*uri));
	if (!uri_match(uri, pl, true, &hostport) &&
	    !uri_decode_hostport(&hostport, &uri->host, &port))
		goto out;

	/* not a user part and a host after all: from the start again */
	memset(uri, 0, sizeof(*uri));
	err = uri_match(uri, pl, false, &hostport);
	if (!err)
		err = uri_decode_hostport(&hostport, &uri->host, &port);
	if (err)
		return err;

 out:
	if (scan_maybe_ip(&uri->host) && !sa_set(&addr, &uri->host, 0))
		uri->af = sa_af(&addr);
	else
		uri->af = AF_UNSPEC;
	if (pl_isset(&port))
		uri->port = (uint16_t)pl_u32(&port);

	return 0;
}


int uri_encode(struct re_printf *pf, const struct uri *uri)
{
	int err;

	if (!uri)
		return 0;
	if (!pl_isset(&uri->scheme) || !pl_isset(&uri->host))
		return EINVAL;

	err = re_hprintf(pf, "%r:", &uri->scheme);
	if (err)
		return err;

	if (pl_isset(&uri->user)) {
		/* the three writes' errors or'ed together, as libre's */
		err = re_hprintf(pf, "%r", &uri->user);
		if (pl_isset(&uri->password))
			err |= re_hprintf(pf, ":%r", &uri->password);
		err |= pf->vph("@", 1, pf->arg);
		if (err)
			return err;
	}

	err = re_hprintf(pf, uri->af == AF_INET6 ? "[%r]" : "%r",
			 &uri->host);
	if (err)
		return err;

	if (uri->port)
		err = re_hprintf(pf, ":%u", uri->port);

	return err | re_hprintf(pf, "%r%r%r", &uri->path, &uri->params,
				&uri->headers);
}


/* The lookups by name put the name into their expression (fmt), cut at
 * libre's 128 bytes, and leave the matching to re_regex(). */
static int lookup(const struct pl *pl, const char *fmt,
		  const struct pl *name, struct pl *val)
{
	char xpr[128];

	if (!pl || !name || !val)
		return EINVAL;

	(void)re_snprintf(xpr, sizeof(xpr), fmt, name);
	return re_regex(pl->p, pl->l, xpr, NULL, val);
}


int uri_param_get(const struct pl *pl, const struct pl *pname,
		  struct pl *pvalue)
{
	return lookup(pl, ";%r[=]*[^;]*", pname, pvalue);
}


int uri_header_get(const struct pl *pl, const struct pl *hname,
		   struct pl *hvalue)
{
	return lookup(pl, "[?&]1%r=[^&]+", hname, hvalue);
}


/* each match of xpr in turn, its three pieces in v[]: the name is v[nv],
 * the value v[2], the match one byte more than the three from the
 * start of what is left (as libre's, even when it began further on) */
static int apply(const struct pl *pl, const char *xpr, int nv,
		 uri_apply_h *ah, void *arg)
{
	struct pl rest, v[3];
	int err = 0;

	if (!pl || !ah)
		return EINVAL;

	for (rest = *pl; rest.l && !err; ) {
		err = re_regex(rest.p, rest.l, xpr, &v[0], &v[1], &v[2]);
		if (err)
			break;

		pl_advance(&rest, 1 + v[0].l + v[1].l + v[2].l);
		err = ah(&v[nv], &v[2], arg);
	}

	return err;
}


/* ";name=value": name, '=', value */
int uri_params_apply(const struct pl *pl, uri_apply_h *ah, void *arg)
{
	return apply(pl, ";[^;=]+[=]*[^;]*", 0, ah, arg);
}


/* "?name=value&...": '?' or '&', name, value */
int uri_headers_apply(const struct pl *pl, uri_apply_h *ah, void *arg)
{
	return apply(pl, "[?&]1[^=]+=[^&]+", 1, ah, arg);
}
