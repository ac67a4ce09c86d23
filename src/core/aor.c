/**
 * @file aor.c  One spelling per address-of-record (RFC 3261 §19.1.4)
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/aor.h"


/* RFC 3261 unreserved: alphanum / mark; their escapes mean the same */
static bool unreserved(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("-_.!~*'()", c));
}


static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


static int user_print(struct re_printf *pf, const struct pl *user)
{
	int err = 0;

	for (size_t i = 0; !err && i < user->l; i++) {
		const char c = user->p[i];
		int hi, lo;

		if (c != '%' || i + 2 >= user->l ||
		    (hi = hexval(user->p[i + 1])) < 0 ||
		    (lo = hexval(user->p[i + 2])) < 0) {
			err = re_hprintf(pf, "%c", c);
			continue;
		}
		i += 2;
		if (unreserved((char)(hi << 4 | lo)))
			err = re_hprintf(pf, "%c", (char)(hi << 4 | lo));
		else
			err = re_hprintf(pf, "%%%02X", hi << 4 | lo);
	}
	return err;
}


static int lower_print(struct re_printf *pf, const struct pl *pl)
{
	int err = 0;

	for (size_t i = 0; !err && i < pl->l; i++)
		err = re_hprintf(pf, "%c", tolower((unsigned char)pl->p[i]));
	return err;
}


static int aor_hprint(struct re_printf *pf, const struct uri *u)
{
	const bool v6 = u->af == AF_INET6;
	int err;

	err  = lower_print(pf, &u->scheme);
	err |= re_hprintf(pf, ":");
	if (pl_isset(&u->user)) {
		err |= user_print(pf, &u->user);
		err |= re_hprintf(pf, "@");
	}
	err |= re_hprintf(pf, "%s", v6 ? "[" : "");
	err |= lower_print(pf, &u->host);
	err |= re_hprintf(pf, "%s", v6 ? "]" : "");
	if (u->port)
		err |= re_hprintf(pf, ":%u", u->port);
	return err;
}


/** The canonical "scheme:user@host[:port]" of a URI (an AoR key) */
int aor_print(char *buf, size_t sz, const struct uri *u)
{
	int n;

	if (!buf || !sz || !u || !pl_isset(&u->scheme) ||
	    !pl_isset(&u->host))
		return EBADMSG;

	n = re_snprintf(buf, sz, "%H", aor_hprint, u);
	/* libre gives -1 rather than a truncated key (someone else's) */
	return n < 0 ? ENOMEM : 0;
}


/** The canonical form of an AoR given as text (the API, the store) */
int aor_canon(char *buf, size_t sz, const char *aor)
{
	struct uri u;
	struct pl pl;

	if (!aor)
		return EINVAL;
	pl_set_str(&pl, aor);
	if (uri_decode(&u, &pl))
		return EBADMSG;
	return aor_print(buf, sz, &u);
}
