/**
 * @file param.c  libre's msg_param_decode() and msg_param_exists(), the
 *                expression written with memcpy: it replaces libre.a's
 *                param.o on the link line (CMakeLists.txt)
 *
 * libre 1.1.0 prints the expression ";[ \t\r\n]*NAME..." with re_snprintf()
 * on every call (some 800 instructions, five calls per delivered push: the
 * 200's tags and branch, the MESSAGE's maddr and transport) and then
 * matches it with re_regex(). Here the same expression, byte for byte, is
 * put together with memcpy (re_snprintf() still, for a name too long for
 * the 128-byte buffer, as libre truncates it) and matched the same way:
 * the results are libre's (tests/unit/test_regex.c compares the two).
 */
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_msg.h>


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


int msg_param_exists(const struct pl *pl, const char *name, struct pl *val)
{
	char xpr[XPR_SIZE];
	struct pl v1, v2;

	if (!pl || !name || !val)
		return EINVAL;

	XPR_PUT(xpr, ";[ \t\r\n]*", name, "[ \t\r\n;=]*");
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

	XPR_PUT(xpr, ";[ \t\r\n]*", name, "[ \t\r\n]*=[ \t\r\n]*[~ \t\r\n;]+");
	if (re_regex(pl->p, pl->l, xpr, NULL, NULL, NULL, &v))
		return ENOENT;

	*val = v;
	return 0;
}
