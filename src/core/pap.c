/**
 * @file pap.c  OMA PAP request documents with expat, hostile input refused
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <expat.h>
#include <re.h>
#include "core/pap.h"
#include "core/referto.h"
#include "core/xmlsafe.h"

/* Public identifiers of the PAP DTDs (docs/protocol.md, "PAP") */
static const char *const pubids[] = {
	"-//WAPFORUM//DTD PAP 2.0//EN",
	"-//WAPFORUM//DTD PAP 2.1//EN",
	"-//OMA//DTD PAP 2.2//EN",
};

struct pstate {
	struct xmlsafe xs;       /**< first: the hardening handlers use it  */
	struct pap_doc *doc;
	unsigned depth;
	bool root;
};


static void stop(struct pstate *ps, int err, const char *why)
{
	if (!ps->xs.err)
		ps->xs.why = why;
	xmlsafe_stop(&ps->xs, err);
}


static bool copy(struct pstate *ps, char *dst, size_t sz, const char *v,
		 const char *what)
{
	if (!v)
		return true;
	if (strlen(v) >= sz) {
		stop(ps, EOVERFLOW, what);
		return false;
	}
	str_ncpy(dst, v, sz);
	return true;
}


static void message_attrs(struct pstate *ps, const XML_Char **atts)
{
	struct pap_doc *d = ps->doc;
	const char *v;

	if (!copy(ps, d->push_id, sizeof(d->push_id), xmlsafe_attr(atts, "push-id"),
		  "push-id too long"))
		return;

	if (d->kind == PAP_CCQ) {
		(void)copy(ps, d->query_id, sizeof(d->query_id),
			   xmlsafe_attr(atts, "query-id"), "query-id too long");
		(void)copy(ps, d->app_id, sizeof(d->app_id),
			   xmlsafe_attr(atts, "app-id"), "app-id too long");
		return;
	}

	if (d->kind == PAP_RN_RESPONSE)
		return;

	if (!d->push_id[0]) {
		stop(ps, EBADMSG, "push-id missing");
		return;
	}
	if (d->kind != PAP_PUSH)
		return;

	if (!copy(ps, d->source_ref, sizeof(d->source_ref),
		  xmlsafe_attr(atts, "source-reference"), "source-reference too long")
	    || !copy(ps, d->notify_to, sizeof(d->notify_to),
		     xmlsafe_attr(atts, "ppg-notify-requested-to"),
		     "ppg-notify-requested-to too long"))
		return;

	v = xmlsafe_attr(atts, "deliver-before-timestamp");
	if (v && pap_time_decode(&d->deliver_before, v)) {
		stop(ps, EBADMSG, "deliver-before-timestamp");
		return;
	}
	v = xmlsafe_attr(atts, "deliver-after-timestamp");
	if (v && pap_time_decode(&d->deliver_after, v))
		stop(ps, EBADMSG, "deliver-after-timestamp");
}


static void start_h(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct pstate *ps = arg;
	struct pap_doc *d = ps->doc;

	for (size_t i = 0; atts[i]; i += 2)
		if (strlen(atts[i + 1]) >= PAP_ATTR_MAX) {
			stop(ps, EOVERFLOW, "attribute too long");
			return;
		}

	if (++ps->depth > PAP_DEPTH) {
		stop(ps, EBADMSG, "nesting too deep");
		return;
	}

	if (ps->depth == 1) {
		if (strcmp(name, "pap"))
			stop(ps, EBADMSG, "root element is not <pap>");
		ps->root = true;
		return;
	}

	if (ps->depth == 2) {
		if (d->kind) {
			stop(ps, EBADMSG, "more than one message");
			return;
		}
		if (!strcmp(name, "push-message"))
			d->kind = PAP_PUSH;
		else if (!strcmp(name, "statusquery-message"))
			d->kind = PAP_STATUSQUERY;
		else if (!strcmp(name, "cancel-message"))
			d->kind = PAP_CANCEL;
		else if (!strcmp(name, "ccq-message"))
			d->kind = PAP_CCQ;
		else if (!strcmp(name, "resultnotification-response"))
			d->kind = PAP_RN_RESPONSE;
		else {
			stop(ps, ENOTSUP, "not a PAP request this server "
			     "takes");
			return;
		}
		message_attrs(ps, atts);
		return;
	}

	if (!strcmp(name, "address")) {
		const char *v = xmlsafe_attr(atts, "address-value");

		if (!v || !*v) {
			stop(ps, EBADMSG, "address-value missing");
			return;
		}
		if (d->naddr >= PAP_ADDR_MAX) {
			stop(ps, EOVERFLOW, "too many addresses");
			return;
		}
		str_ncpy(d->addr[d->naddr++], v, PAP_ATTR_MAX);
	}
	else if (!strcmp(name, "quality-of-service")) {
		(void)copy(ps, d->priority, sizeof(d->priority),
			   xmlsafe_attr(atts, "priority"), "priority");
		(void)copy(ps, d->delivery_method, sizeof(d->delivery_method),
			   xmlsafe_attr(atts, "delivery-method"), "delivery-method");
	}
	else if (!strcmp(name, "response-result")) {
		(void)copy(ps, d->code, sizeof(d->code), xmlsafe_attr(atts, "code"),
			   "code");
	}
	/* other children (progress-notes, ...) are allowed and ignored */
}


static void end_h(void *arg, const XML_Char *name)
{
	struct pstate *ps = arg;
	(void)name;
	--ps->depth;
}


/* Only the DTD of a known PAP version, and no internal subset */
static void doctype_h(void *arg, const XML_Char *name, const XML_Char *sys,
		      const XML_Char *pub, int internal)
{
	struct pstate *ps = arg;
	(void)sys;

	if (internal) {
		stop(ps, EPERM, "DOCTYPE with an internal subset");
		return;
	}
	if (strcmp(name, "pap")) {
		stop(ps, EBADMSG, "DOCTYPE is not pap");
		return;
	}
	for (size_t i = 0; pub && i < ARRAY_SIZE(pubids); i++)
		if (!strcmp(pub, pubids[i]))
			return;
	stop(ps, ENOTSUP, "unknown PAP version (DOCTYPE public id)");
}


/* A reference to an entity that is not declared (external ones) */
static void skipped_h(void *arg, const XML_Char *name, int param)
{
	(void)name;
	(void)param;
	stop(arg, EPERM, "entity reference");
}


/**
 * Parse one PAP request document.
 *
 * @param frag  Set to the document around the error (badmessage-response)
 * @param why   Set to a short reason on error
 *
 * @return 0; EBADMSG malformed; EPERM forbidden construct (entities,
 *         internal subset); ENOTSUP unknown version or message;
 *         EOVERFLOW a bound exceeded
 */
int pap_decode(struct pap_doc *doc, const char *xml, size_t len,
	       char *frag, size_t fragsz, const char **why)
{
	struct pstate ps;
	int err = 0;

	if (!doc || !xml || !frag || !fragsz || !why)
		return EINVAL;

	memset(doc, 0, sizeof(*doc));
	memset(&ps, 0, sizeof(ps));
	frag[0] = '\0';
	*why = NULL;
	if (len > PAP_DOC_MAX) {
		*why = "document too large";
		return EOVERFLOW;
	}

	ps.doc = doc;
	err = xmlsafe_create(&ps.xs, &ps, false);
	if (err)
		return err;

	/* a PAP DOCTYPE is allowed (without internal subset): our own */
	XML_SetElementHandler(ps.xs.p, start_h, end_h);
	XML_SetStartDoctypeDeclHandler(ps.xs.p, doctype_h);
	XML_SetSkippedEntityHandler(ps.xs.p, skipped_h);

	if (XML_Parse(ps.xs.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		const long at = XML_GetCurrentByteIndex(ps.xs.p);
		const size_t from = at > 40 ? (size_t)at - 40 : 0;

		err = ps.xs.err ? ps.xs.err : EBADMSG;
		*why = ps.xs.why ? ps.xs.why :
			XML_ErrorString(XML_GetErrorCode(ps.xs.p));
		re_snprintf(frag, fragsz, "%b",
			    xml + (from < len ? from : len),
			    from < len ? (len - from < fragsz - 1 ?
					  len - from : fragsz - 1) : 0);
	}
	else if (!doc->kind) {
		err = EBADMSG;
		*why = "no PAP message";
	}
	else if (doc->kind == PAP_PUSH && !doc->naddr) {
		err = EBADMSG;
		*why = "push-message without an address";
	}

	XML_ParserFree(ps.xs.p);
	return err;
}


/** WAPPUSH=<value>/TYPE=<type>@<ppg>, value %-decoded (Kannel's form) */
int pap_addr_decode(struct pap_addr *a, const char *av)
{
	struct pl val, type, ppg;

	if (!a || !av)
		return EINVAL;

	memset(a, 0, sizeof(*a));
	if (re_regex(av, strlen(av), "WAPPUSH=[^/]+/TYPE=[^@]+@[^]*", &val,
		     &type, &ppg) || av[0] != 'W')
		return EBADMSG;
	if (pl_strcpy(&type, a->type, sizeof(a->type)))
		return EBADMSG;

	/* the AoR or number, %-escaped; no control character in it */
	if (pct_decode(a->value, sizeof(a->value), &val) || !a->value[0])
		return EBADMSG;
	for (const char *c = a->value; *c; c++)
		if ((unsigned char)*c < 0x20)
			return EBADMSG;
	return 0;
}


/** PAP time: YYYY-MM-DDThh:mm:ssZ (UTC) */
int pap_time_decode(int64_t *t, const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, se, n = 0;

	if (!t || !s)
		return EINVAL;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi,
		   &se, &n) != 6 || s[n] || n != 20)
		return EBADMSG;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || y < 1970)
		return EBADMSG;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)timegm(&tm);
	return 0;
}


int pap_time_print(struct re_printf *pf, const int64_t *t)
{
	struct tm tm;
	time_t tt;

	if (!pf || !t)
		return EINVAL;
	tt = (time_t)*t;
	if (!gmtime_r(&tt, &tm))
		return EINVAL;
	return re_hprintf(pf, "%04d-%02d-%02dT%02d:%02d:%02dZ",
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			  tm.tm_hour, tm.tm_min, tm.tm_sec);
}


/** Text as an XML attribute value (&, <, >, ", ' escaped) */
int pap_escape_print(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++) {
		switch (*s) {
		case '&':  err = re_hprintf(pf, "&amp;");  break;
		case '<':  err = re_hprintf(pf, "&lt;");   break;
		case '>':  err = re_hprintf(pf, "&gt;");   break;
		case '"':  err = re_hprintf(pf, "&quot;"); break;
		case '\'': err = re_hprintf(pf, "&apos;"); break;
		default:
			err = (unsigned char)*s < 0x20 ?
				re_hprintf(pf, "&#%u;", (unsigned char)*s) :
				re_hprintf(pf, "%c", *s);
		}
	}
	return err;
}
