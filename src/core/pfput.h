/**
 * @file pfput.h  Writing to a struct re_printf without a format string
 *
 * re_hprintf() parses its format for every call; on the per-MESSAGE path
 * (the page-mode headers, printed once to size a request and once to send
 * it) the handler is called directly instead. A NULL string writes
 * nothing, as "%s" does in libre.
 */

static inline int pf_putb(struct re_printf *pf, const char *p, size_t n)
{
	return n ? pf->vph(p, n, pf->arg) : 0;
}


static inline int pf_puts(struct re_printf *pf, const char *s)
{
	return s ? pf_putb(pf, s, strlen(s)) : 0;
}


/* A string literal, its length known at compile time */
#define PF_LIT(pf, lit) pf_putb((pf), (lit), sizeof(lit) - 1)


/** An unsigned number in decimal */
static inline int pf_putu(struct re_printf *pf, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);

	return pf_putb(pf, buf + i, sizeof(buf) - i);
}
