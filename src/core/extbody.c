/**
 * @file extbody.c  Content indirection (RFC 4483): message/external-body
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/extbody.h"


static const char *const wdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue",
			      "Wed"};   /* 1970-01-01 was a Thursday */
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
			       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};


/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's method). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	const int64_t era = (y - (m <= 2)) / 400 - ((y - (m <= 2)) < 0);
	const unsigned yoe = (unsigned)(y - (m <= 2) - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}


static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}


/** RFC 1123 date, "Mon, 24 Jun 2030 09:00:00 GMT" */
int httpdate_print(struct re_printf *pf, uint64_t *t)
{
	int64_t y, days;
	unsigned m, d, secs;

	if (!pf || !t)
		return EINVAL;

	days = (int64_t)(*t / 86400);
	secs = (unsigned)(*t % 86400);
	civil_from_days(days, &y, &m, &d);

	return re_hprintf(pf, "%s, %02u %s %04lld %02u:%02u:%02u GMT",
			  wdays[days % 7], d, months[m - 1], (long long)y,
			  secs / 3600, secs / 60 % 60, secs % 60);
}


static int num(const struct pl *pl, size_t off, size_t len, unsigned *v)
{
	struct pl p;
	uint32_t x;

	if (off + len > pl->l)
		return EBADMSG;

	p.p = pl->p + off;
	p.l = len;
	if (pl_u32_strict(&p, &x))
		return EBADMSG;

	*v = x;
	return 0;
}


/** Parse an RFC 1123 date (the only form RFC 4483 allows) */
int httpdate_decode(uint64_t *t, const struct pl *pl)
{
	unsigned d = 0, y = 0, hh = 0, mm = 0, ss = 0, m;
	struct pl mon;
	int err;

	if (!t || !pl)
		return EINVAL;

	/* "Www, DD Mmm YYYY HH:MM:SS GMT" is exactly 29 characters */
	if (pl->l != 29 || pl->p[3] != ',' || pl->p[4] != ' ' ||
	    pl->p[7] != ' ' || pl->p[11] != ' ' || pl->p[16] != ' ' ||
	    pl->p[19] != ':' || pl->p[22] != ':' || pl->p[25] != ' ' ||
	    memcmp(pl->p + 26, "GMT", 3))
		return EBADMSG;

	err  = num(pl, 5, 2, &d);
	err |= num(pl, 12, 4, &y);
	err |= num(pl, 17, 2, &hh);
	err |= num(pl, 20, 2, &mm);
	err |= num(pl, 23, 2, &ss);
	if (err)
		return EBADMSG;

	mon.p = pl->p + 8;
	mon.l = 3;
	for (m = 0; m < 12; m++) {
		if (!pl_strcasecmp(&mon, months[m]))
			break;
	}

	if (m == 12 || d < 1 || d > 31 || y < 1970 || hh > 23 || mm > 59 ||
	    ss > 60)
		return EBADMSG;

	*t = (uint64_t)days_from_civil(y, m + 1, d) * 86400u +
		hh * 3600u + mm * 60u + ss;

	return 0;
}


bool extbody_is(const struct pl *ctype)
{
	struct pl type;
	const char *semi;

	if (!ctype)
		return false;

	type = *ctype;
	semi = pl_strchr(&type, ';');
	if (semi)
		type.l = (size_t)(semi - type.p);
	pl_trim_lws(&type);

	return !pl_strcasecmp(&type, "message/external-body");
}


/**
 * The SIP answer to a push whose indirect content could not be had, by
 * cause (the errno of fetch.h, or ETIME: past its expiration,
 * EPROTONOSUPPORT: not an http/https URL, ENAMETOOLONG: URL too long).
 * What may pass (a timeout, a content server down or busy) is a 503 the
 * sender retries; the rest is final and says why, so the sender reports
 * an undeliverable push rather than a delivered one.
 */
void extbody_fail(struct extbody_fail *f, int cause)
{
	static const struct {
		int cause;
		uint16_t scode;
		const char *reason;
		bool detail;
	} map[] = {
		{ETIMEDOUT,       503, "Content fetch timed out",      false},
		{EIO,             503, "Content server unreachable",   false},
		{EAGAIN,          503, "Content server unavailable",   true},
		{ENOENT,          400, "Content not found",            true},
		{EACCES,          400, "Content refused by its server", true},
		{EBADMSG,         400, "Content does not match its hash", false},
		{ETIME,           400, "Content expired",              false},
		{ENAMETOOLONG,    400, "Content URL too long",         false},
		{EFBIG,           413, "Content too large",            false},
		{EPERM,           403, "Content address not allowed",  false},
		{EPROTONOSUPPORT, 415, "Content URL scheme not supported", false},
	};

	if (!f)
		return;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (map[i].cause != cause)
			continue;
		f->scode = map[i].scode;
		f->reason = map[i].reason;
		f->detail = map[i].detail;
		f->final = map[i].scode != 503;
		f->retry_after = f->final ? 0 : 5;
		return;
	}

	/* ours (out of memory...): the sender retries a 500 */
	f->scode = 500;
	f->reason = "Content not fetched";
	f->detail = false;
	f->final = false;
	f->retry_after = 0;
}


static bool safe_value(const char *s)
{
	return s && *s && !strpbrk(s, "\"\\\r\n");
}


int extbody_ctype_print(struct re_printf *pf, const struct extbody_spec *es)
{
	uint64_t t;
	int err;

	if (!pf || !es || !safe_value(es->url))
		return EINVAL;

	t = es->expiration;
	err = re_hprintf(pf, "message/external-body; access-type=\"URL\"; "
			 "expiration=\"%H\"; URL=\"%s\"", httpdate_print, &t,
			 es->url);
	if (es->size >= 0)
		err |= re_hprintf(pf, "; size=%lld", (long long)es->size);
	if (es->sha1)
		err |= re_hprintf(pf, "; hash=%w", es->sha1,
				  (size_t)EXTBODY_SHA1_LEN);

	return err;
}


int extbody_entity_print(struct re_printf *pf, const struct extbody_spec *es)
{
	if (!pf || !es || !safe_value(es->ctype) || !safe_value(es->cid) ||
	    !safe_value(es->disposition) || strpbrk(es->cid, "<>"))
		return EINVAL;

	return re_hprintf(pf, "Content-Type: %s\r\n"
			  "Content-ID: <%s>\r\n"
			  "Content-Disposition: %s\r\n"
			  "\r\n", es->ctype, es->cid, es->disposition);
}


/**
 * Next header line of a MIME entity (continuation lines folded in).
 *
 * @return 0, ENOENT at the blank line ending the headers (rest then points
 *         past it), or EBADMSG
 */
int mime_hdr_next(struct pl *rest, struct pl *name, struct pl *val)
{
	size_t i = 0, eol;
	const char *colon;
	struct pl line;

	if (!rest || !name || !val)
		return EINVAL;

	if (rest->l >= 2 && rest->p[0] == '\r' && rest->p[1] == '\n') {
		pl_advance(rest, 2);
		return ENOENT;
	}
	if (!rest->l)
		return ENOENT;

	/* the line ends at a CRLF not followed by whitespace */
	for (;;) {
		while (i + 1 < rest->l && !(rest->p[i] == '\r' &&
					    rest->p[i + 1] == '\n'))
			++i;
		if (i + 1 >= rest->l)
			return EBADMSG;          /* no CRLF at all */
		if (i + 2 < rest->l && (rest->p[i + 2] == ' ' ||
					rest->p[i + 2] == '\t')) {
			i += 2;
			continue;
		}
		break;
	}
	eol = i;

	line.p = rest->p;
	line.l = eol;
	colon = pl_strchr(&line, ':');
	if (!colon || colon == line.p)
		return EBADMSG;

	name->p = line.p;
	name->l = (size_t)(colon - line.p);
	if (!pl_is_token(name))
		return EBADMSG;

	val->p = colon + 1;
	val->l = eol - name->l - 1;
	pl_trim_lws(val);

	pl_advance(rest, (ssize_t)eol + 2);
	return 0;
}


static int hex_sha1(uint8_t *out, const struct pl *hex)
{
	size_t i;

	if (hex->l != 2 * EXTBODY_SHA1_LEN)
		return EBADMSG;

	for (i = 0; i < hex->l; i++) {
		if (!strchr("0123456789abcdefABCDEF", hex->p[i]))
			return EBADMSG;
	}

	for (i = 0; i < EXTBODY_SHA1_LEN; i++) {
		struct pl b = {hex->p + 2 * i, 2};

		out[i] = (uint8_t)pl_x32(&b);
	}

	return 0;
}


/**
 * Decode a message/external-body entity: the Content-Type header value and
 * the body holding the referenced content's headers.
 */
int extbody_decode(struct extbody *eb, const struct pl *ctype,
		   const struct pl *body)
{
	struct pl rest, n, v, access = PL_INIT, exp = PL_INIT;
	bool have_ctype = false;
	const char *semi;
	int err;

	if (!eb || !ctype || !body)
		return EINVAL;

	memset(eb, 0, sizeof(*eb));

	if (!extbody_is(ctype))
		return EBADMSG;

	semi = pl_strchr(ctype, ';');
	if (!semi)
		return EBADMSG;
	rest.p = semi;
	rest.l = ctype->l - (size_t)(semi - ctype->p);

	while (0 == (err = param_next(&rest, &n, &v, NULL))) {
		if (!pl_strcasecmp(&n, "access-type"))
			access = v;
		else if (!pl_strcasecmp(&n, "URL"))
			eb->url = v;
		else if (!pl_strcasecmp(&n, "expiration"))
			exp = v;
		else if (!pl_strcasecmp(&n, "size")) {
			if (pl_u64_strict(&v, &eb->size))
				return EBADMSG;
			eb->has_size = true;
		}
		else if (!pl_strcasecmp(&n, "hash")) {
			if (hex_sha1(eb->sha1, &v))
				return EBADMSG;
			eb->has_hash = true;
		}
	}
	if (err != ENOENT)
		return err;

	if (pl_strcasecmp(&access, "URL") || !eb->url.l)
		return EBADMSG;

	if (!pl_isset(&exp) || httpdate_decode(&eb->expiration, &exp))
		return EBADMSG;

	rest = *body;
	while (0 == (err = mime_hdr_next(&rest, &n, &v))) {
		if (!pl_strcasecmp(&n, "Content-Type")) {
			eb->ctype = v;
			have_ctype = true;
		}
		else if (!pl_strcasecmp(&n, "Content-ID")) {
			if (v.l < 3 || v.p[0] != '<' || v.p[v.l - 1] != '>')
				return EBADMSG;
			eb->cid.p = v.p + 1;
			eb->cid.l = v.l - 2;
		}
		else if (!pl_strcasecmp(&n, "Content-Disposition")) {
			semi = pl_strchr(&v, ';');
			eb->disposition = v;
			if (semi)
				eb->disposition.l = (size_t)(semi - v.p);
			pl_trim_lws(&eb->disposition);
		}
	}
	if (err != ENOENT)
		return err;

	if (!have_ctype || !eb->ctype.l || !eb->cid.l ||
	    !eb->disposition.l)
		return EBADMSG;

	return 0;
}


int extbody_multipart_print(struct re_printf *pf,
			    const struct extbody_list *el)
{
	size_t i;
	int err = 0;

	if (!pf || !el || !el->n || !safe_value(el->boundary))
		return EINVAL;

	for (i = 0; i < el->n && !err; i++) {
		err = re_hprintf(pf, "--%s\r\nContent-Type: %H\r\n\r\n%H"
				 "\r\n", el->boundary, extbody_ctype_print,
				 &el->specv[i], extbody_entity_print,
				 &el->specv[i]);
	}

	if (!err)
		err = re_hprintf(pf, "--%s--\r\n", el->boundary);

	return err;
}


static const char *find(const struct pl *hay, size_t from, const char *s,
			size_t sl)
{
	size_t i;

	for (i = from; i + sl <= hay->l; i++) {
		if (!memcmp(hay->p + i, s, sl))
			return hay->p + i;
	}

	return NULL;
}


/**
 * Split a multipart body into parts (RFC 2046), using the boundary
 * parameter of its Content-Type.
 */
int mpart_decode(struct mpart *partv, size_t maxn, size_t *np,
		 const struct pl *ctype, const struct pl *body)
{
	struct pl rest, bnd, n, v;
	char delim[80];
	size_t dl, pos;
	const char *semi, *p;
	int err;

	if (!partv || !np || !ctype || !body)
		return EINVAL;

	*np = 0;

	semi = pl_strchr(ctype, ';');
	if (!semi)
		return EBADMSG;
	rest.p = semi;
	rest.l = ctype->l - (size_t)(semi - ctype->p);

	err = param_get(&rest, "boundary", &bnd, NULL);
	if (err || bnd.l < 1 || bnd.l > 70)
		return EBADMSG;

	/* "\r\n--" + boundary; the first delimiter may open the body */
	dl = (size_t)re_snprintf(delim, sizeof(delim), "\r\n--%r", &bnd);

	if (body->l >= dl - 2 && !memcmp(body->p, delim + 2, dl - 2))
		pos = dl - 2;
	else if ((p = find(body, 0, delim, dl)))
		pos = (size_t)(p - body->p) + dl;
	else
		return EBADMSG;

	for (;;) {
		struct mpart *mp;
		struct pl part, hrest;

		/* after a delimiter: "--" closes, else CRLF opens a part */
		if (pos + 2 <= body->l && !memcmp(body->p + pos, "--", 2))
			break;
		while (pos < body->l && (body->p[pos] == ' ' ||
					 body->p[pos] == '\t'))
			++pos;
		if (pos + 2 > body->l || memcmp(body->p + pos, "\r\n", 2))
			return EBADMSG;
		pos += 2;

		p = find(body, pos, delim, dl);
		if (!p)
			return EBADMSG;   /* no closing delimiter */

		if (*np >= maxn)
			return EOVERFLOW;

		mp = &partv[(*np)++];
		memset(mp, 0, sizeof(*mp));
		part.p = body->p + pos;
		part.l = (size_t)(p - part.p);

		hrest = part;
		while (0 == (err = mime_hdr_next(&hrest, &n, &v))) {
			if (!pl_strcasecmp(&n, "Content-Type"))
				mp->ctype = v;
		}
		if (err != ENOENT)
			return err;

		mp->hdrs.p = part.p;
		mp->hdrs.l = (size_t)(hrest.p - part.p);
		mp->body = hrest;

		pos = (size_t)(p - body->p) + dl;
	}

	return *np ? 0 : EBADMSG;
}
