/**
 * @file cidr.c  Address prefixes for --trust
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include <sippush/cidr.h>


/** "10.0.0.0/8", "::1/128" or a bare address (a full-length prefix) */
int cidr_decode(struct cidr *c, const struct pl *pl)
{
	struct pl addr, bits = PL_INIT;
	uint32_t n;
	unsigned max;
	int err;

	if (!c || !pl || !pl_isset(pl))
		return EINVAL;

	memset(c, 0, sizeof(*c));

	if (re_regex(pl->p, pl->l, "[^/]+/[0-9]+", &addr, &bits)) {
		addr = *pl;
		bits = (struct pl)PL_INIT;
	}
	else if (addr.p != pl->p || bits.p + bits.l != pl->p + pl->l)
		return EINVAL;

	err = sa_set(&c->net, &addr, 0);
	if (err)
		return EINVAL;

	max = sa_af(&c->net) == AF_INET ? 32 : 128;
	if (!pl_isset(&bits))
		n = max;
	else if (pl_u32_strict(&bits, &n) || n > max)
		return EINVAL;

	c->bits = n;
	return 0;
}


static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}


bool cidr_match(const struct cidr *c, const struct sa *addr)
{
	uint32_t a, b;

	if (!c || !addr || sa_af(&c->net) != sa_af(addr))
		return false;

	if (sa_af(addr) == AF_INET) {
		a = htonl(sa_in(&c->net));
		b = htonl(sa_in(addr));
		return prefix_eq((uint8_t *)&a, (uint8_t *)&b, c->bits);
	}

	if (sa_af(addr) == AF_INET6)
		return prefix_eq(c->net.u.in6.sin6_addr.s6_addr,
				 addr->u.in6.sin6_addr.s6_addr, c->bits);

	return false;
}


bool cidr_list_match(const struct cidr *v, size_t n, const struct sa *addr)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&v[i], addr))
			return true;
	return false;
}
