/**
 * @file param.c  libre's msg_param_decode() and msg_param_exists() without
 *                re_regex() for a plain name: it replaces libre.a's param.o
 *                on the link line (CMakeLists.txt)
 *
 * libre 1.1.0 prints the expression ";[ \t\r\n]*NAME..." with re_snprintf()
 * on every call and then matches it with re_regex(): five calls per
 * delivered push (the 200's tags and branch, the MESSAGE's maddr and
 * transport), some 1,000 instructions each. A name of plain bytes (no
 * '[' or '\', short enough not to be cut) is a run of literals in that
 * expression, which is walked here by hand (scan.h). Any other name
 * still gets libre's expression, byte for byte (put together with
 * memcpy, or re_snprintf() for a name cut at libre's 128 bytes), and
 * re_regex(). Either way the results are libre's (tests/unit/
 * test_regex.c and test_sipdec.c compare the two).
 */
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_msg.h>
#include "regex/scan.h"


enum { XPR_SIZE = 128 };   /* libre's buffer */


static void xpr_put(char *xpr, const char *pre, size_t prel,
		    const char *name, const char *post, size_t postl)
{
	const size_t n = strlen(name);

	if (prel + n + postl >= XPR_SIZE) {
		/* what libre's re_snprintf() leaves, truncation included */
		(void)re_snprintf(xpr, XPR_SIZE, "%s%s%s", pre, name, post);
		return;
	}

	memcpy(xpr, pre, prel);
	memcpy(xpr + prel, name, n);
	memcpy(xpr + prel + n, post, postl + 1);
}


#define XPR_PUT(xpr, pre, name, post) \
	xpr_put((xpr), (pre), sizeof(pre) - 1, (name), (post), \
		sizeof(post) - 1)

#define PRE         ";[ \t\r\n]*"
#define EXISTS_POST "[ \t\r\n;=]*"
#define DECODE_POST "[ \t\r\n]*=[ \t\r\n]*[~ \t\r\n;]+"


/* a name that is literals only in libre's expression, and not cut */
static bool name_plain(const char *name, const char *post)
{
	const size_t n = strcspn(name, "[\\");

	return !name[n] && sizeof(PRE) - 1 + n + strlen(post) < XPR_SIZE;
}


/* after NAME in ";[ \t\r\n]*NAME[ \t\r\n;=]*" (ws: the optional space
 * before it): 0, or ENOENT */
static int exists_tail(const struct pl *pl, struct scan *sc,
		       const struct pl *ws, struct pl *val)
{
	const struct pl tail = scan_in(sc, SC_WS | SC_SEMI | SC_EQ);

	/* the name must end the parameter (as below) */
	if (!tail.l && tail.p < pl->p + pl->l)
		return ENOENT;

	val->p = ws->p - 1;
	val->l = (size_t)(tail.p - val->p);
	return 0;
}


/* after NAME in ";[ \t\r\n]*NAME[ \t\r\n]*=[ \t\r\n]*[~ \t\r\n;]+":
 * 0, ENOENT, or EAGAIN for the next start position */
static int decode_tail(struct scan *sc, struct pl *val)
{
	struct pl v;

	(void)scan_in(sc, SC_WS);
	if (!sc->l)
		return ENOENT;
	if (*sc->p != '=')
		return EAGAIN;
	(void)scan_take(sc, 1);
	(void)scan_in(sc, SC_WS);

	/* a value of "" is stripped to nothing: too few */
	v = scan_quoted(sc, SC_WS | SC_SEMI);
	if (!v.l)
		return EAGAIN;

	*val = v;
	return 0;
}


/* either expression of a plain name, from each ';' in turn (the start
 * positions before one fail at once) */
static int param_plain(const struct pl *pl, const char *name, bool decode,
		       struct pl *val)
{
	const char *semi;
	size_t s;

	for (s = 0; (semi = memchr(pl->p + s, ';', pl->l - s)); ) {
		struct scan sc;
		struct pl ws;
		int err;

		s = (size_t)(semi - pl->p) + 1;
		sc.p = semi + 1;
		sc.l = pl->l - s;
		ws = scan_in(&sc, SC_WS);

		switch (scan_lit(&sc, name)) {

		case LIT_END:
			return ENOENT;

		case LIT_DIFF:
			continue;

		case LIT_OK:
			break;
		}

		err = decode ? decode_tail(&sc, val) :
			exists_tail(pl, &sc, &ws, val);
		if (err != EAGAIN)
			return err;
	}

	return ENOENT;
}


int msg_param_exists(const struct pl *pl, const char *name, struct pl *val)
{
	char xpr[XPR_SIZE];
	struct pl v1, v2;

	if (!pl || !name || !val)
		return EINVAL;
	if (!pl->p)
		return ENOENT;    /* re_regex()'s EINVAL */

	if (name_plain(name, EXISTS_POST))
		return param_plain(pl, name, false, val);

	XPR_PUT(xpr, PRE, name, EXISTS_POST);
	if (re_regex(pl->p, pl->l, xpr, &v1, &v2))
		return ENOENT;

	/* the name must end the parameter: followed by space, ';', '='
	 * or the end */
	if (!v2.l && v2.p < pl->p + pl->l)
		return ENOENT;

	val->p = v1.p - 1;
	val->l = (size_t)(v2.p - val->p);
	return 0;
}


int msg_param_decode(const struct pl *pl, const char *name, struct pl *val)
{
	char xpr[XPR_SIZE];
	struct pl v;

	if (!pl || !name || !val)
		return EINVAL;
	if (!pl->p)
		return ENOENT;    /* re_regex()'s EINVAL */

	if (name_plain(name, DECODE_POST))
		return param_plain(pl, name, true, val);

	XPR_PUT(xpr, PRE, name, DECODE_POST);
	if (re_regex(pl->p, pl->l, xpr, NULL, NULL, NULL, &v))
		return ENOENT;

	*val = v;
	return 0;
}
