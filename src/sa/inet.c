/**
 * @file inet.c  IPv4 addresses to and from text without printf
 *
 * libre prints every Via and Contact address with "%J", which comes here
 * (sa_ntop()); glibc's inet_ntop() formats an IPv4 address with
 * sprintf(): some 1,760 instructions per MESSAGE sent, 5 % of the SIP
 * client's. Decoding a URI or a Via host tries inet_pton() three times.
 * IPv4 is done by hand here, exactly as glibc does it (a dotted quad of
 * four decimal numbers up to 255, no leading zero); IPv6 is left to glibc,
 * as libre leaves it (test_inet compares both with glibc).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <re.h>
#include "sa/inet.h"


/* what the own_inet test finds in a program linked with this file */
const char sippush_inet_own[] = "src/sa/inet.c";

/* "a.b.c.d" into buf (at least 16 bytes): its length */
static size_t ntop4(const uint8_t *a, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		const unsigned v = a[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return (size_t)(p - buf - 1);
}


/* A dotted quad into out (untouched unless it is one): true if it is */
static bool pton4(const char *s, uint8_t out[4])
{
	uint8_t tmp[4];
	unsigned octets = 0;

	for (;;) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9') {
			if (digits && !v)
				return false;            /* a leading zero */
			v = v * 10 + (unsigned)(*s++ - '0');
			if (v > 255)
				return false;
			++digits;
		}
		if (!digits || octets == 4)
			return false;
		tmp[octets++] = (uint8_t)v;
		if (!*s)
			break;
		if (*s++ != '.')
			return false;
	}
	if (octets != 4)
		return false;
	memcpy(out, tmp, 4);
	return true;
}


int net_inet_ntop(const struct sa *sa, char *buf, int size)
{
	if (!sa || !buf || !size)
		return EINVAL;

	switch (sa->u.sa.sa_family) {

	case AF_INET:
		if (size >= INET_ADDRSTRLEN)
			(void)ntop4((const uint8_t *)&sa->u.in.sin_addr, buf);
		else
			(void)inet_ntop(AF_INET, &sa->u.in.sin_addr, buf,
					(socklen_t)size);
		break;

	case AF_INET6:
		(void)inet_ntop(AF_INET6, &sa->u.in6.sin6_addr, buf,
				(socklen_t)size);
		break;

	default:
		return EAFNOSUPPORT;
	}

	return 0;
}


int net_inet_pton(const char *addr, struct sa *sa)
{
	if (!addr)
		return EINVAL;

	if (pton4(addr, (uint8_t *)&sa->u.in.sin_addr)) {
		sa->u.in.sin_family = AF_INET;
	}
	else if (inet_pton(AF_INET6, addr, &sa->u.in6.sin6_addr) > 0) {
		/* an IPv4-mapped address is the IPv4 address, as in libre */
		if (IN6_IS_ADDR_V4MAPPED(&sa->u.in6.sin6_addr)) {
			uint8_t a[4];

			memcpy(a, &sa->u.in6.sin6_addr.s6_addr[12], 4);
			sa->u.in.sin_family = AF_INET;
			memcpy(&sa->u.in.sin_addr.s_addr, a, 4);
		}
		else {
			sa->u.in6.sin6_family = AF_INET6;
		}
	}
	else {
		return EINVAL;
	}

	return 0;
}
