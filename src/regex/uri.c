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


/* what follows the host and port: "[^;? ]*[^?]*[^]*" */
static void uri_tail(struct uri *uri, struct scan *sc)
{
	uri->path    = scan_out(sc, SC_SEMI | SC_QUEST | SC_SP);
	uri->params  = scan_out(sc, SC_QUEST);
	uri->headers = scan_rest(sc);
}


/* with a user part:
 * "[^:]+:[^@:]*[:]*[^@]*@[^/;? ]+" then the tail */
static int uri_with_user(struct uri *uri, const struct pl *pl,
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

		uri->user = scan_out(&sc, SC_AT | SC_COLON);
		(void)scan_in(&sc, SC_COLON);
		uri->password = scan_out(&sc, SC_AT);

		if (!sc.l)
			return ENOENT;
		(void)scan_take(&sc, 1);           /* the '@' */

		v = scan_out(&sc, SC_SLASH | SC_SEMI | SC_QUEST | SC_SP);
		if (!v.l)
			continue;
		*hostport = v;

		uri_tail(uri, &sc);
		return 0;
	}

	return ENOENT;
}


/* without: "[^:]+:[^/;? ]+" then the tail */
static int uri_without_user(struct uri *uri, const struct pl *pl,
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

		v = scan_out(&sc, SC_SLASH | SC_SEMI | SC_QUEST | SC_SP);
		if (!v.l)
			continue;
		*hostport = v;

		uri_tail(uri, &sc);
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
	if (!uri_with_user(uri, pl, &hostport) &&
	    !uri_decode_hostport(&hostport, &uri->host, &port))
		goto out;

	/* not a user part and a host after all: from the start again */
	memset(uri, 0, sizeof(*uri));
	err = uri_without_user(uri, pl, &hostport);
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


/* The lookups by name put the name into their expression, cut at
 * libre's 128 bytes, and leave the matching to re_regex(). */

int uri_param_get(const struct pl *pl, const struct pl *pname,
		  struct pl *pvalue)
{
	char xpr[128];

	if (!pl || !pname || !pvalue)
		return EINVAL;

	(void)re_snprintf(xpr, sizeof(xpr), ";%r[=]*[^;]*", pname);
	return re_regex(pl->p, pl->l, xpr, NULL, pvalue);
}


int uri_header_get(const struct pl *pl, const struct pl *hname,
		   struct pl *hvalue)
{
	char xpr[128];

	if (!pl || !hname || !hvalue)
		return EINVAL;

	(void)re_snprintf(xpr, sizeof(xpr), "[?&]1%r=[^&]+", hname);
	return re_regex(pl->p, pl->l, xpr, NULL, hvalue);
}


int uri_params_apply(const struct pl *pl, uri_apply_h *ah, void *arg)
{
	struct pl rest, name, eq, val;
	int err = 0;

	if (!pl || !ah)
		return EINVAL;

	for (rest = *pl; rest.l && !err; ) {
		err = re_regex(rest.p, rest.l, ";[^;=]+[=]*[^;]*",
			       &name, &eq, &val);
		if (err)
			break;

		/* by the match's length from rest.p, as libre's, even
		 * when the match began further on */
		pl_advance(&rest, 1 + name.l + eq.l + val.l);
		err = ah(&name, &val, arg);
	}

	return err;
}


int uri_headers_apply(const struct pl *pl, uri_apply_h *ah, void *arg)
{
	struct pl rest, sep, name, val;
	int err = 0;

	if (!pl || !ah)
		return EINVAL;

	for (rest = *pl; rest.l && !err; ) {
		err = re_regex(rest.p, rest.l, "[?&]1[^=]+=[^&]+",
			       &sep, &name, &val);
		if (err)
			break;

		pl_advance(&rest, sep.l + name.l + 1 + val.l);
		err = ah(&name, &val, arg);
	}

	return err;
}
