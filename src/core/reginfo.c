/**
 * @file reginfo.c  RFC 3680 registration state documents, bounded
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <expat.h>
#include <re.h>
#include "core/reginfo.h"
#include "core/xmlsafe.h"

#define NS_REG  "urn:ietf:params:xml:ns:reginfo"
#define NS_GRUU "urn:ietf:params:xml:ns:gruuinfo"

enum where { W_NONE = 0, W_URI, W_PARAM };

struct pstate {
	struct xmlsafe xs;       /**< first: the hardening handlers use it  */
	struct reginfo *ri;
	struct reginfo_reg *reg;         /**< the open registration         */
	struct reginfo_contact *ct;      /**< the open contact              */
	enum where where;
	char param[32];                  /**< name of the open unknown-param */
	char text[400];
	size_t tlen;
	unsigned depth;
	bool root;
	char *why;
	size_t whysz;
};


static void fail(struct pstate *ps, int err, const char *fmt,
		 const char *arg)
{
	if (ps->why && !ps->xs.err)
		re_snprintf(ps->why, ps->whysz, fmt, arg);
	xmlsafe_stop(&ps->xs, err);
}


/* A required attribute into its bounded field */
static bool take(struct pstate *ps, char *dst, size_t sz,
		 const XML_Char **atts, const char *name, bool required)
{
	const char *v = xmlsafe_attr(atts, name);

	if (!v) {
		if (required)
			fail(ps, EBADMSG, "missing attribute %s", name);
		return !required;
	}
	if (strlen(v) >= sz) {
		fail(ps, EOVERFLOW, "attribute %s too long", name);
		return false;
	}
	str_ncpy(dst, v, sz);
	return true;
}


static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}


static const char *const reg_states[] = {"init", "active", "terminated",
					  NULL};
static const char *const ct_states[] = {"active", "terminated", NULL};
static const char *const ct_events[] = {"registered", "created",
	"refreshed", "shortened", "expired", "deactivated", "probation",
	"unregistered", "rejected", NULL};


/* "ns|local" with the namespace we want, else NULL */
static const char *in_ns(const char *name, const char *ns)
{
	size_t n = strlen(ns);

	if (strncmp(name, ns, n) || name[n] != '|')
		return NULL;
	return name + n + 1;
}


static void start_reginfo(struct pstate *ps, const XML_Char **atts)
{
	const char *v = xmlsafe_attr(atts, "version"), *st = xmlsafe_attr(atts, "state");
	char *end;
	unsigned long n;

	if (ps->root) {
		fail(ps, EBADMSG, "%s", "nested reginfo");
		return;
	}
	ps->root = true;
	if (!v || !st) {
		fail(ps, EBADMSG, "reginfo: %s missing", v ? "state" :
		     "version");
		return;
	}
	n = strtoul(v, &end, 10);
	if (*end || !*v || *v == '-' || n > UINT32_MAX) {
		fail(ps, EBADMSG, "reginfo: bad version %s", v);
		return;
	}
	ps->ri->version = (uint32_t)n;
	if (!strcmp(st, "full"))
		ps->ri->full = true;
	else if (strcmp(st, "partial"))
		fail(ps, EBADMSG, "reginfo: bad state %s", st);
}


static void start_registration(struct pstate *ps, const XML_Char **atts)
{
	struct reginfo *ri = ps->ri;

	if (ps->depth != 2 || ps->reg) {
		fail(ps, EBADMSG, "%s", "registration out of place");
		return;
	}
	if (ri->regn >= REGINFO_REGS) {
		fail(ps, EOVERFLOW, "%s", "too many registrations");
		return;
	}
	ps->reg = &ri->regv[ri->regn++];
	if (!take(ps, ps->reg->aor, sizeof(ps->reg->aor), atts, "aor", true) ||
	    !take(ps, ps->reg->id, sizeof(ps->reg->id), atts, "id", true) ||
	    !take(ps, ps->reg->state, sizeof(ps->reg->state), atts, "state",
		  true))
		return;
	if (!one_of(ps->reg->state, reg_states))
		fail(ps, EBADMSG, "registration: bad state %s",
		     ps->reg->state);
}


static void start_contact(struct pstate *ps, const XML_Char **atts)
{
	struct reginfo_reg *reg = ps->reg;
	struct reginfo_contact *ct;
	const char *ex;
	char *end;
	unsigned long n;

	if (!reg || ps->ct || ps->depth != 3) {
		fail(ps, EBADMSG, "%s", "contact out of place");
		return;
	}
	if (reg->contactn >= REGINFO_CONTACTS) {
		fail(ps, EOVERFLOW, "%s", "too many contacts");
		return;
	}
	ct = ps->ct = &reg->contactv[reg->contactn++];
	if (!take(ps, ct->id, sizeof(ct->id), atts, "id", true) ||
	    !take(ps, ct->state, sizeof(ct->state), atts, "state", true) ||
	    !take(ps, ct->event, sizeof(ct->event), atts, "event", true))
		return;
	if (!one_of(ct->state, ct_states)) {
		fail(ps, EBADMSG, "contact: bad state %s", ct->state);
		return;
	}
	if (!one_of(ct->event, ct_events)) {
		fail(ps, EBADMSG, "contact: bad event %s", ct->event);
		return;
	}
	ex = xmlsafe_attr(atts, "expires");
	if (ex) {
		n = strtoul(ex, &end, 10);
		if (*end || !*ex || *ex == '-' || n > UINT32_MAX) {
			fail(ps, EBADMSG, "contact: bad expires %s", ex);
			return;
		}
		ct->expires = (uint32_t)n;
		ct->has_expires = true;
	}
}


static void start_h(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct pstate *ps = arg;
	const char *ln;

	if (++ps->depth > REGINFO_DEPTH) {
		fail(ps, EBADMSG, "%s", "nested too deep");
		return;
	}
	ps->tlen = 0;

	if ((ln = in_ns(name, NS_GRUU))) {
		char *dst = !strcmp(ln, "pub-gruu") ? ps->ct ?
			ps->ct->pub_gruu : NULL : !strcmp(ln, "temp-gruu") &&
			ps->ct ? ps->ct->temp_gruu : NULL;

		if (dst && ps->depth == 4)
			(void)take(ps, dst, sizeof(ps->ct->pub_gruu), atts,
				   "uri", true);
		return;
	}
	ln = in_ns(name, NS_REG);
	if (!ln) {
		if (ps->depth == 1)
			fail(ps, EBADMSG, "%s", "not a reginfo document");
		return;   /* another namespace: an extension, skipped */
	}

	if (ps->depth == 1 && strcmp(ln, "reginfo"))
		fail(ps, EBADMSG, "%s", "not a reginfo document");
	else if (!strcmp(ln, "reginfo"))
		start_reginfo(ps, atts);
	else if (!strcmp(ln, "registration"))
		start_registration(ps, atts);
	else if (!strcmp(ln, "contact"))
		start_contact(ps, atts);
	else if (!strcmp(ln, "uri") && ps->ct && ps->depth == 4)
		ps->where = W_URI;
	else if (!strcmp(ln, "unknown-param") && ps->ct && ps->depth == 4) {
		if (take(ps, ps->param, sizeof(ps->param), atts, "name",
			 true))
			ps->where = W_PARAM;
	}
}


/* A feature-tag value: quotes (and the <> of an instance) as written */
static void unquote(char *dst, size_t sz, const char *v, size_t n)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		++v;
		n -= 2;
	}
	if (n >= sz)
		n = sz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}


static void end_param(struct pstate *ps)
{
	struct reginfo_contact *ct = ps->ct;
	const char *t = ps->text;
	size_t n = ps->tlen;

	/* surrounding blanks of pretty-printed XML */
	while (n && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')) {
		++t;
		--n;
	}
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' ||
		     t[n - 1] == '\n' || t[n - 1] == '\r'))
		--n;

	if (!strcasecmp(ps->param, "+sip.instance")) {
		/* as REGISTER's records keep it: without quotes and <> */
		unquote(ct->instance, sizeof(ct->instance), t, n);
		n = strlen(ct->instance);
		if (n >= 2 && ct->instance[0] == '<' &&
		    ct->instance[n - 1] == '>') {
			memmove(ct->instance, ct->instance + 1, n - 2);
			ct->instance[n - 2] = '\0';
		}
	}
	else if (!strcasecmp(ps->param, "+g.oma.pusheventapp")) {
		unquote(ct->apps, sizeof(ct->apps), t, n);
		ct->has_push = true;
	}
	else if (!strcasecmp(ps->param, "methods"))
		unquote(ct->methods, sizeof(ct->methods), t, n);
}


static void end_h(void *arg, const XML_Char *name)
{
	struct pstate *ps = arg;
	const char *ln = in_ns(name, NS_REG);

	--ps->depth;
	if (!ln)
		return;

	if (ps->where == W_URI && !strcmp(ln, "uri")) {
		if (ps->tlen >= sizeof(ps->ct->uri) || !ps->tlen) {
			fail(ps, EBADMSG, "%s", "contact: bad uri");
			return;
		}
		memcpy(ps->ct->uri, ps->text, ps->tlen);
		ps->ct->uri[ps->tlen] = '\0';
	}
	else if (ps->where == W_PARAM && !strcmp(ln, "unknown-param")) {
		end_param(ps);
	}
	else if (!strcmp(ln, "contact")) {
		if (ps->ct && !ps->ct->uri[0])
			fail(ps, EBADMSG, "contact %s: no uri", ps->ct->id);
		ps->ct = NULL;
	}
	else if (!strcmp(ln, "registration")) {
		ps->reg = NULL;
	}
	ps->where = W_NONE;
	ps->tlen = 0;
}


static void text_h(void *arg, const XML_Char *s, int len)
{
	struct pstate *ps = arg;

	if (ps->where == W_NONE || len <= 0)
		return;
	if (ps->tlen + (size_t)len >= sizeof(ps->text)) {
		fail(ps, EOVERFLOW, "%s", "text too long");
		return;
	}
	memcpy(ps->text + ps->tlen, s, (size_t)len);
	ps->tlen += (size_t)len;
}


/**
 * Decode a reginfo document into a new struct reginfo (mem_deref it).
 *
 * @return 0, EBADMSG (not well-formed, DOCTYPE/entity, not reginfo, a
 *         required attribute missing or bad), EOVERFLOW (beyond a bound),
 *         ENOMEM. why (optional) says what was wrong.
 */
int reginfo_decode(struct reginfo **rip, const char *xml, size_t len,
		   char *why, size_t whysz)
{
	struct pstate ps;
	int err;

	if (!rip || !xml)
		return EINVAL;
	if (why && whysz)
		why[0] = '\0';
	if (len > REGINFO_MAX_DOC) {
		if (why)
			re_snprintf(why, whysz, "larger than %u bytes",
				    REGINFO_MAX_DOC);
		return EOVERFLOW;
	}

	memset(&ps, 0, sizeof(ps));
	ps.why = why;
	ps.whysz = whysz;
	ps.ri = mem_zalloc(sizeof(*ps.ri), NULL);
	if (!ps.ri)
		return ENOMEM;

	err = xmlsafe_create(&ps.xs, &ps, true);
	if (err)
		goto out;
	XML_SetElementHandler(ps.xs.p, start_h, end_h);
	XML_SetCharacterDataHandler(ps.xs.p, text_h);
	err = xmlsafe_parse(&ps.xs, xml, len);
	if (!err && !ps.root)
		err = EBADMSG;
	if (err && why && !why[0])
		re_snprintf(why, whysz, "%s", err == EBADMSG ?
			    "not well-formed (or a DTD/entity)" : "too large");

 out:
	if (err)
		mem_deref(ps.ri);
	else
		*rip = ps.ri;
	return err;
}
