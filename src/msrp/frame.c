/**
 * @file frame.c  MSRP serializer, report rules and byte-range reassembly
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "msrp/msrp.h"


static int range_print(struct re_printf *pf, const struct msrp_range *r)
{
	int err = re_hprintf(pf, "Byte-Range: %llu-",
			     (unsigned long long)r->start);

	err |= r->end_star ? re_hprintf(pf, "*") :
		re_hprintf(pf, "%llu", (unsigned long long)r->end);
	err |= r->total_star ? re_hprintf(pf, "/*\r\n") :
		re_hprintf(pf, "/%llu\r\n", (unsigned long long)r->total);
	return err;
}


static bool hval_ok(const char *v)
{
	return !v || !strpbrk(v, "\r\n");
}


/**
 * Start line and headers of a SEND or REPORT, Content-Type last, and the
 * blank line when a body follows (RFC 4975 §7.1.1). The end-line comes
 * from msrp_end_print() after the body.
 */
int msrp_req_print(struct re_printf *pf, const struct msrp_req_spec *s)
{
	struct pl tid;
	int err;

	if (!pf || !s || !s->method || !s->tid || !s->to_path ||
	    !s->from_path || !s->message_id)
		return EINVAL;

	pl_set_str(&tid, s->tid);
	if (!msrp_tid_valid(&tid) || !hval_ok(s->to_path) ||
	    !hval_ok(s->from_path) || !hval_ok(s->message_id) ||
	    !hval_ok(s->cdisp) || !hval_ok(s->cdesc) || !hval_ok(s->ctype) ||
	    !hval_ok(s->status) || !hval_ok(s->success_report) ||
	    !hval_ok(s->failure_report))
		return EINVAL;

	err  = re_hprintf(pf, "MSRP %s %s\r\n", s->tid, s->method);
	err |= re_hprintf(pf, "To-Path: %s\r\n", s->to_path);
	err |= re_hprintf(pf, "From-Path: %s\r\n", s->from_path);
	err |= re_hprintf(pf, "Message-ID: %s\r\n", s->message_id);
	if (s->success_report)
		err |= re_hprintf(pf, "Success-Report: %s\r\n",
				  s->success_report);
	if (s->failure_report)
		err |= re_hprintf(pf, "Failure-Report: %s\r\n",
				  s->failure_report);
	if (s->range)
		err |= range_print(pf, s->range);
	if (s->status)
		err |= re_hprintf(pf, "Status: %s\r\n", s->status);
	if (s->ctype) {
		if (s->cdisp)
			err |= re_hprintf(pf, "Content-Disposition: %s\r\n",
					  s->cdisp);
		if (s->cdesc)
			err |= re_hprintf(pf, "Content-Description: %s\r\n",
					  s->cdesc);
		err |= re_hprintf(pf, "Content-Type: %s\r\n\r\n", s->ctype);
	}

	return err;
}


/** The end-line; with a body, the CRLF that ends the body goes first */
int msrp_end_print(struct re_printf *pf, const char *tid, char flag,
		   bool body)
{
	if (!pf || !tid || (flag != '$' && flag != '+' && flag != '#'))
		return EINVAL;

	return re_hprintf(pf, "%s-------%s%c\r\n", body ? "\r\n" : "", tid,
			  flag);
}


/**
 * A transaction response (RFC 4975 §7.2): To-Path is the request's
 * From-Path (no relays), From-Path ours.
 */
int msrp_resp_print(struct re_printf *pf, const char *tid, uint16_t scode,
		    const char *reason, const struct pl *to_path,
		    const char *from_path)
{
	int err;

	if (!pf || !tid || !to_path || !from_path || scode < 200 ||
	    scode > 999 || !hval_ok(reason))
		return EINVAL;

	err  = re_hprintf(pf, "MSRP %s %03u%s%s\r\n", tid, scode,
			  reason ? " " : "", reason ? reason : "");
	err |= re_hprintf(pf, "To-Path: %r\r\nFrom-Path: %s\r\n", to_path,
			  from_path);
	err |= msrp_end_print(pf, tid, '$', false);
	return err;
}


/**
 * Can this body go in a chunk with this transaction id? It must not hold
 * the end-line (RFC 4975 §7.1.1: pick another id, or split).
 */
bool msrp_body_safe(const uint8_t *p, size_t n, const char *tid)
{
	char pat[7 + MSRP_TID_MAX + 1];
	const size_t tl = tid ? strlen(tid) : 0;

	if (!tid || tl > MSRP_TID_MAX)
		return false;

	memcpy(pat, "-------", 7);
	memcpy(pat + 7, tid, tl);
	for (size_t i = 0; i + 7 + tl <= n; i++) {
		const uint8_t *q = memchr(p + i, '-', n - i);

		if (!q)
			return true;
		i = (size_t)(q - p);
		if (i + 7 + tl <= n && !memcmp(q, pat, 7 + tl))
			return false;
	}
	return true;
}


/**
 * Which answers a received request gets, given the status we would give
 * it: Failure-Report absent = yes; "no" = no response at all; "partial" =
 * only error responses. A success REPORT only on Success-Report: yes and
 * when the request succeeded. A REPORT is never answered.
 */
void msrp_answer_rules(struct msrp_answer *a, const struct msrp_hdrs *h,
		       uint16_t scode)
{
	if (!a || !h)
		return;

	memset(a, 0, sizeof(*a));
	if (!h->req || !pl_strcmp(&h->method, "REPORT"))
		return;

	if (!pl_isset(&h->failure_report) ||
	    !pl_strcasecmp(&h->failure_report, "yes"))
		a->response = true;
	else if (!pl_strcasecmp(&h->failure_report, "partial"))
		a->response = scode >= 300;

	a->report = scode < 300 && pl_isset(&h->success_report) &&
		!pl_strcasecmp(&h->success_report, "yes");
}


/**
 * Note that body octets [start, start+len) of a message arrived (1-based
 * start, as in Byte-Range). Overlaps and repeats are fine.
 *
 * @return 0, or EOVERFLOW when too many separate holes would be tracked
 */
int msrp_reasm_add(struct msrp_reasm *r, uint64_t start, uint64_t len)
{
	uint64_t a, b;
	size_t i, k;

	if (!r || !start)
		return EINVAL;
	if (!len)
		return 0;

	a = start - 1;
	b = a + len;

	/* first interval that ends at or after a */
	for (i = 0; i < r->n && r->iv[i].b < a; i++)
		;

	/* merge every interval that touches [a, b) */
	for (k = i; k < r->n && r->iv[k].a <= b; k++) {
		if (r->iv[k].a < a)
			a = r->iv[k].a;
		if (r->iv[k].b > b)
			b = r->iv[k].b;
	}

	if (k == i) {
		if (r->n >= MSRP_REASM_MAX)
			return EOVERFLOW;
		memmove(&r->iv[i + 1], &r->iv[i], (r->n - i) * sizeof(r->iv[0]));
		++r->n;
	}
	else if (k > i + 1) {
		memmove(&r->iv[i + 1], &r->iv[k], (r->n - k) * sizeof(r->iv[0]));
		r->n -= k - i - 1;
	}
	r->iv[i].a = a;
	r->iv[i].b = b;

	r->have = 0;
	for (i = 0; i < r->n; i++)
		r->have += r->iv[i].b - r->iv[i].a;
	return 0;
}


bool msrp_reasm_complete(const struct msrp_reasm *r)
{
	return r && r->total && r->n == 1 && r->iv[0].a == 0 &&
		r->iv[0].b >= r->total;
}
