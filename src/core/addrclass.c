/**
 * @file addrclass.c  Is an address a public unicast one?
 *
 * The tables follow IANA's special-purpose registries (iana-ipv4- and
 * iana-ipv6-special-registry, as of 2024), whether or not an entry is
 * marked globally reachable: no push goes to an anycast relay either.
 */
#include <string.h>
#include <re.h>
#include "core/addrclass.h"

struct pfx {
	uint8_t a[16];
	unsigned bits;
};

static const struct pfx v4[] = {
	{{0}, 8},                       /* "this network"          */
	{{10}, 8},                      /* private                 */
	{{100, 64}, 10},                /* shared (CGNAT)          */
	{{127}, 8},                     /* loopback                */
	{{169, 254}, 16},               /* link-local              */
	{{172, 16}, 12},                /* private                 */
	{{192, 0, 0}, 24},              /* IETF protocol (DS-Lite,
					   PCP/TURN anycast, NAT64
					   discovery...)           */
	{{192, 0, 2}, 24},              /* TEST-NET-1              */
	{{192, 31, 196}, 24},           /* AS112-v4                */
	{{192, 52, 193}, 24},           /* AMT                     */
	{{192, 88, 99}, 24},            /* 6to4 relay anycast      */
	{{192, 168}, 16},               /* private                 */
	{{192, 175, 48}, 24},           /* AS112 direct delegation */
	{{198, 18}, 15},                /* benchmarking            */
	{{198, 51, 100}, 24},           /* TEST-NET-2              */
	{{203, 0, 113}, 24},            /* TEST-NET-3              */
	{{224}, 4},                     /* multicast               */
	{{240}, 4},                     /* reserved, broadcast     */
};

/* inside 2000::/3, the only global unicast space */
static const struct pfx v6[] = {
	{{0x20, 0x01, 0x00, 0x00}, 23}, /* IETF protocol: Teredo,
					   benchmarking, ORCHID,
					   AMT, AS112, DETs...     */
	{{0x20, 0x01, 0x0d, 0xb8}, 32}, /* documentation           */
	{{0x20, 0x02}, 16},             /* 6to4                    */
	{{0x26, 0x20, 0x00, 0x4f, 0x80}, 48}, /* AS112 delegation  */
	{{0x3f, 0xff, 0x00}, 20},       /* documentation (RFC 9637) */
};


static bool in(const uint8_t *addr, const struct pfx *p)
{
	unsigned whole = p->bits / 8, rest = p->bits % 8;

	if (memcmp(addr, p->a, whole))
		return false;
	return !rest || !((addr[whole] ^ p->a[whole]) &
			  (uint8_t)(0xff << (8 - rest)));
}


static bool listed(const uint8_t *addr, const struct pfx *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in(addr, &v[i]))
			return true;
	return false;
}


bool addr_is_public(const struct sa *sa)
{
	if (!sa)
		return false;

	if (sa_af(sa) == AF_INET) {
		uint32_t a = htonl(sa_in(sa));

		return !listed((const uint8_t *)&a, v4, ARRAY_SIZE(v4));
	}
	if (sa_af(sa) == AF_INET6) {
		const uint8_t *b = sa->u.in6.sin6_addr.s6_addr;

		if ((b[0] & 0xe0) != 0x20)
			return false;   /* not 2000::/3 */
		return !listed(b, v6, ARRAY_SIZE(v6));
	}
	return false;
}
