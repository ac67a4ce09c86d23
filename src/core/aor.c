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


/* The key is written byte by byte into the caller's buffer: it is made
 * for every push and every REGISTER, and printf-ing each character cost
 * more than the URI's decoding */
struct out {
	char *p;
	size_t sz;
	size_t n;      /**< written, the NUL not counted                 */
	bool full;
};


static void put(struct out *o, char c)
{
	if (o->n + 1 >= o->sz) {
		o->full = true;
		return;
	}
	o->p[o->n++] = c;
}


static void put_pl(struct out *o, const struct pl *pl, bool lower)
{
	for (size_t i = 0; i < pl->l; i++)
		put(o, lower ? (char)tolower((unsigned char)pl->p[i]) :
		    pl->p[i]);
}


static void user_put(struct out *o, const struct pl *user)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < user->l; i++) {
		const char c = user->p[i];
		int hi, lo;

		if (c != '%' || i + 2 >= user->l ||
		    (hi = hexval(user->p[i + 1])) < 0 ||
		    (lo = hexval(user->p[i + 2])) < 0) {
			put(o, c);
			continue;
		}
		i += 2;
		if (unreserved((char)(hi << 4 | lo))) {
			put(o, (char)(hi << 4 | lo));
			continue;
		}
		put(o, '%');
		put(o, hex[hi]);
		put(o, hex[lo]);
	}
}


/** The canonical "scheme:user@host[:port]" of a URI (an AoR key) */
int aor_print(char *buf, size_t sz, const struct uri *u)
{
	struct out o = {buf, sz, 0, false};
	const bool v6 = u && u->af == AF_INET6;

	if (!buf || !sz || !u || !pl_isset(&u->scheme) ||
	    !pl_isset(&u->host))
		return EBADMSG;

	put_pl(&o, &u->scheme, true);
	put(&o, ':');
	if (pl_isset(&u->user)) {
		user_put(&o, &u->user);
		put(&o, '@');
	}
	if (v6)
		put(&o, '[');
	put_pl(&o, &u->host, true);
	if (v6)
		put(&o, ']');
	if (u->port) {
		char d[6];
		size_t i = sizeof(d);
		unsigned v = u->port;

		do {
			d[--i] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		put(&o, ':');
		while (i < sizeof(d))
			put(&o, d[i++]);
	}
	/* too long: an error, never a truncated key (someone else's) */
	if (o.full)
		return ENOMEM;
	buf[o.n] = '\0';
	return 0;
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
