/**
 * @file parser.c  Incremental MSRP parser (RFC 4975 §6–§9)
 *
 * States: headers (buffered, bounded), then body bytes streamed to the
 * caller while the end-line "\r\n-------<tid>" + flag + "\r\n" is matched
 * byte by byte. Only the partial end-line match (at most 44 bytes) is ever
 * held back, so chunk size costs no memory.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "msrp/msrp.h"

enum pstate { P_HDRS, P_BODY };

struct msrp_parser {
	enum pstate st;
	uint64_t max_chunk;
	msrp_hdrs_h *hh;
	msrp_data_h *dh;
	msrp_end_h *eh;
	void *arg;

	char hbuf[MSRP_HDR_MAX];
	size_t hlen;
	size_t scan;             /**< where the next header line starts   */
	struct msrp_hdrs h;
	bool first_line_done;

	/* body: the end-line pattern and how much of it is matched */
	char pat[2 + 7 + MSRP_TID_MAX + 3];
	size_t plen;             /**< "\r\n-------" + tid                 */
	size_t j;                /**< bytes of pat (+flag, CR, LF) matched */
	char flag;
	uint64_t blen;           /**< body bytes handed over              */
};


static void destructor(void *arg)
{
	(void)arg;
}


int msrp_parser_alloc(struct msrp_parser **pp, uint64_t max_chunk,
		      msrp_hdrs_h *hh, msrp_data_h *dh, msrp_end_h *eh,
		      void *arg)
{
	struct msrp_parser *p;

	if (!pp || !hh || !dh || !eh || !max_chunk)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), destructor);
	if (!p)
		return ENOMEM;

	p->max_chunk = max_chunk;
	p->hh = hh;
	p->dh = dh;
	p->eh = eh;
	p->arg = arg;
	*pp = p;
	return 0;
}


bool msrp_parser_idle(const struct msrp_parser *p)
{
	return p && p->st == P_HDRS && p->hlen == 0;
}


static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' ||
		c == '%' || c == '=';
}


bool msrp_tid_valid(const struct pl *tid)
{
	if (!tid || tid->l < MSRP_TID_MIN || tid->l > MSRP_TID_MAX)
		return false;
	/* ident = ALPHANUM 3*31ident-char */
	if (!isalnum((unsigned char)tid->p[0]))
		return false;
	for (size_t i = 0; i < tid->l; i++)
		if (!ident_char(tid->p[i]))
			return false;
	return true;
}


/** A transaction id with 64 random bits (RFC 4975 §7.1: at least 64) */
int msrp_tid_make(char *buf, size_t sz)
{
	if (!buf || sz < 17)
		return EINVAL;
	re_snprintf(buf, sz, "%016llx", (unsigned long long)rand_u64());
	return 0;
}


static int u64_part(const struct pl *v, uint64_t *n, bool *star)
{
	if (v->l == 1 && v->p[0] == '*') {
		*star = true;
		*n = 0;
		return 0;
	}
	*star = false;
	return pl_u64_strict(v, n);
}


/* Split v at the first c: head before it, v after it */
static int cut(struct pl *head, struct pl *v, char c)
{
	const char *x = pl_strchr(v, c);

	if (!x)
		return EBADMSG;
	head->p = v->p;
	head->l = (size_t)(x - v->p);
	pl_advance(v, (ssize_t)(head->l + 1));
	return 0;
}


/** Byte-Range: 1*DIGIT "-" (1*DIGIT / "*") "/" (1*DIGIT / "*") */
int msrp_range_decode(struct msrp_range *r, const struct pl *pl)
{
	struct pl s, e, v;

	if (!r || !pl)
		return EINVAL;

	v = *pl;
	pl_trim_lws(&v);
	if (cut(&s, &v, '-') || cut(&e, &v, '/'))
		return EBADMSG;

	if (pl_u64_strict(&s, &r->start) || !r->start)
		return EBADMSG;
	if (u64_part(&e, &r->end, &r->end_star))
		return EBADMSG;
	if (u64_part(&v, &r->total, &r->total_star))
		return EBADMSG;

	if (!r->end_star && r->end < r->start - 1)
		return EBADMSG;
	if (!r->total_star && !r->end_star && r->end > r->total)
		return EBADMSG;
	if (!r->total_star && r->start - 1 > r->total)
		return EBADMSG;
	return 0;
}


static int first_line(struct msrp_parser *p, struct pl *line)
{
	struct pl tid, rest, code, reason;
	struct msrp_hdrs *h = &p->h;

	if (re_regex(line->p, line->l, "MSRP [^ ]+ [^]+", &tid, &rest) ||
	    line->p != tid.p - 5)
		return EBADMSG;

	if (!msrp_tid_valid(&tid))
		return EBADMSG;
	h->tid = tid;

	/* response: 3DIGIT [SP comment]; request: a method token */
	if (rest.l >= 3 && isdigit((unsigned char)rest.p[0]) &&
	    isdigit((unsigned char)rest.p[1]) &&
	    isdigit((unsigned char)rest.p[2]) &&
	    (rest.l == 3 || rest.p[3] == ' ')) {
		code.p = rest.p;
		code.l = 3;
		reason.p = rest.p + (rest.l > 3 ? 4 : 3);
		reason.l = rest.l > 3 ? rest.l - 4 : 0;
		h->req = false;
		h->scode = (uint16_t)pl_u32(&code);
		h->reason = reason;
		return 0;
	}

	if (!pl_is_token(&rest))
		return EBADMSG;
	h->req = true;
	h->method = rest;
	return 0;
}


static int header_line(struct msrp_parser *p, const struct pl *line)
{
	struct msrp_hdrs *h = &p->h;
	struct pl name, val;
	const char *colon = pl_strchr(line, ':');

	if (!colon)
		return EBADMSG;

	name.p = line->p;
	name.l = (size_t)(colon - line->p);
	val.p = colon + 1;
	val.l = line->l - name.l - 1;
	pl_trim_lws(&val);
	if (!pl_is_token(&name))
		return EBADMSG;

#define HDR(n, field) if (!pl_strcasecmp(&name, n)) { \
		if (pl_isset(&h->field)) return EBADMSG; \
		h->field = val; return 0; }
	HDR("To-Path", to_path);
	HDR("From-Path", from_path);
	HDR("Message-ID", message_id);
	HDR("Success-Report", success_report);
	HDR("Failure-Report", failure_report);
	HDR("Status", status);
	HDR("Content-Type", ctype);
	HDR("Content-Disposition", cdisp);
	HDR("Content-ID", cid);
#undef HDR

	if (!pl_strcasecmp(&name, "Byte-Range")) {
		if (h->has_range || msrp_range_decode(&h->range, &val))
			return EBADMSG;
		h->has_range = true;
		return 0;
	}

	return 0;   /* other headers are allowed and ignored */
}


static bool is_end_line(const struct msrp_parser *p, const struct pl *line,
			char *flag)
{
	const size_t tl = p->h.tid.l;

	if (line->l != 7 + tl + 1 || memcmp(line->p, "-------", 7) ||
	    memcmp(line->p + 7, p->h.tid.p, tl))
		return false;
	*flag = line->p[7 + tl];
	return *flag == '$' || *flag == '+' || *flag == '#';
}


static int headers_done(struct msrp_parser *p)
{
	const struct msrp_hdrs *h = &p->h;

	/* RFC 4975 §7.1: To-Path then From-Path, both required */
	if (!pl_isset(&h->to_path) || !pl_isset(&h->from_path))
		return EBADMSG;
	if (h->req && !pl_strcmp(&h->method, "SEND") &&
	    !pl_isset(&h->message_id))
		return EBADMSG;
	return p->hh(h, p->arg);
}


static void reset(struct msrp_parser *p)
{
	p->st = P_HDRS;
	p->hlen = 0;
	p->scan = 0;
	p->first_line_done = false;
	p->j = 0;
	p->blen = 0;
	memset(&p->h, 0, sizeof(p->h));
}


static int finish(struct msrp_parser *p, char flag)
{
	const struct msrp_hdrs *h = &p->h;
	int err;

	/* a known end must match what came, and what came must end within
	 * a known total (an end of "*" says nothing: the body does) */
	if (h->has_range && !h->range.end_star && p->blen &&
	    h->range.end - h->range.start + 1 != p->blen)
		return EBADMSG;
	if (h->has_range && !h->range.total_star &&
	    h->range.start - 1 + p->blen > h->range.total)
		return EBADMSG;

	err = p->eh(h, flag, p->blen, p->arg);
	reset(p);
	return err;
}


/*
 * Header bytes: buffered until a blank line (body follows) or the
 * end-line (no body). Returns bytes consumed, or < 0 on error.
 */
static int feed_hdrs(struct msrp_parser *p, const uint8_t *buf, size_t len,
		     size_t *used)
{
	size_t take = len, i;
	int err;

	*used = 0;
	while (*used < len) {
		const char *nl;
		struct pl line;

		/* copy up to the next LF, or all if none */
		nl = memchr(buf + *used, '\n', len - *used);
		take = nl ? (size_t)((const uint8_t *)nl - (buf + *used)) + 1
			: len - *used;
		if (p->hlen + take > sizeof(p->hbuf))
			return EOVERFLOW;
		memcpy(p->hbuf + p->hlen, buf + *used, take);
		p->hlen += take;
		*used += take;
		if (!nl)
			return 0;

		/* a complete line in hbuf[scan, hlen) */
		i = p->hlen;
		if (i - p->scan < 2 || p->hbuf[i - 2] != '\r')
			return EBADMSG;
		line.p = p->hbuf + p->scan;
		line.l = i - 2 - p->scan;
		p->scan = i;

		if (!p->first_line_done) {
			err = first_line(p, &line);
			if (err)
				return err;
			p->first_line_done = true;
			continue;
		}

		if (!line.l) {
			/* blank line: a body follows, typed */
			if (!pl_isset(&p->h.ctype))
				return EBADMSG;
			err = headers_done(p);
			if (err)
				return err;
			p->st = P_BODY;
			p->plen = 9 + p->h.tid.l;
			memcpy(p->pat, "\r\n-------", 9);
			memcpy(p->pat + 9, p->h.tid.p, p->h.tid.l);
			p->j = 0;
			p->blen = 0;
			return 0;
		}

		{
			char flag;

			if (is_end_line(p, &line, &flag)) {
				if (pl_isset(&p->h.ctype))
					return EBADMSG;   /* typed, no body */
				err = headers_done(p);
				return err ? err : finish(p, flag);
			}
		}

		err = header_line(p, &line);
		if (err)
			return err;
	}
	return 0;
}


static int emit(struct msrp_parser *p, const uint8_t *d, size_t n)
{
	if (!n)
		return 0;
	if (p->blen + n > p->max_chunk)
		return EOVERFLOW;
	p->blen += n;
	return p->dh(d, n, p->arg);
}


/* The byte at position k of the end-line being matched */
static int pat_match(const struct msrp_parser *p, size_t k, uint8_t c)
{
	if (k < p->plen)
		return p->pat[k] == (char)c;
	if (k == p->plen)
		return c == '$' || c == '+' || c == '#';
	if (k == p->plen + 1)
		return c == '\r';
	return c == '\n';
}


static int body_byte(struct msrp_parser *p, uint8_t c, bool *done);


/*
 * A partial match failed: its first byte is body; the rest may start a
 * new match, so it goes through the matcher again (at most 44 bytes).
 */
static int mismatch(struct msrp_parser *p, uint8_t c, bool *done)
{
	char held[sizeof(p->pat) + 3];
	const size_t n = p->j;
	int err;

	for (size_t k = 0; k < n; k++)
		held[k] = k < p->plen ? p->pat[k] : k == p->plen ? p->flag :
			'\r';
	p->j = 0;

	err = emit(p, (const uint8_t *)held, 1);
	for (size_t k = 1; !err && k < n && !*done; k++)
		err = body_byte(p, (uint8_t)held[k], done);
	if (!err && !*done)
		err = body_byte(p, c, done);
	return err;
}


static int body_byte(struct msrp_parser *p, uint8_t c, bool *done)
{
	if (!pat_match(p, p->j, c)) {
		if (!p->j)
			return emit(p, &c, 1);
		return mismatch(p, c, done);
	}

	if (p->j == p->plen)
		p->flag = (char)c;
	if (++p->j == p->plen + 3) {
		*done = true;
		return finish(p, p->flag);
	}
	return 0;
}


/* Does buf (n bytes, all there is) start the end-line? full: all of it */
static bool endline_at(const struct msrp_parser *p, const uint8_t *buf,
		       size_t n, bool *full)
{
	const size_t need = p->plen + 3;
	const size_t m = n < need ? n : need;

	for (size_t k = 0; k < m; k++)
		if (!pat_match(p, k, buf[k]))
			return false;
	*full = n >= need;
	return true;
}


static int feed_body(struct msrp_parser *p, const uint8_t *buf, size_t len,
		     size_t *used)
{
	size_t i = 0;
	bool done = false;
	int err = 0;

	while (i < len && !done && !err) {
		if (!p->j) {
			/* fast path: body up to a CR that starts the
			 * end-line, handed over in one piece */
			const size_t start = i;
			bool full = false, cand = false;

			while (i < len) {
				const uint8_t *cr = memchr(buf + i, '\r',
							   len - i);

				if (!cr) {
					i = len;
					break;
				}
				i = (size_t)(cr - buf);
				cand = endline_at(p, cr, len - i, &full);
				if (cand)
					break;
				++i;
			}

			err = emit(p, buf + start, i - start);
			if (err || i == len)
				break;
			if (full) {
				p->flag = (char)buf[i + p->plen];
				i += p->plen + 3;
				*used = i;
				return finish(p, p->flag);
			}
			/* a partial end-line at the end of the data: byte
			 * by byte from here, across the next feed */
		}
		err = body_byte(p, buf[i++], &done);
	}

	*used = i;
	return err;
}


/**
 * Give the parser more of the stream.
 *
 * @return 0, EBADMSG (malformed: the connection cannot be trusted any
 *         more), EOVERFLOW (headers or a chunk beyond the bounds), or a
 *         handler's error
 */
int msrp_parser_feed(struct msrp_parser *p, const uint8_t *buf, size_t len)
{
	int err = 0;

	if (!p || (!buf && len))
		return EINVAL;

	while (len && !err) {
		size_t used = 0;

		if (p->st == P_HDRS)
			err = feed_hdrs(p, buf, len, &used);
		else
			err = feed_body(p, buf, len, &used);

		buf += used;
		len -= used;
	}

	return err;
}
