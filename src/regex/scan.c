/**
 * @file scan.c  The byte classes of libre's SIP expressions and the
 *               helpers of more than one decoder (scan.h)
 */
#include <re_types.h>
#include <re_fmt.h>
#include "regex/scan.h"


#define HEXL(c)  [c] = SC_HEX | SC_ALPHA
#define ALPHA(c) [c] = SC_ALPHA

const uint16_t scan_cls[256] = {
	[':']  = SC_COLON | SC_HEX,
	['@']  = SC_AT,
	['/']  = SC_SLASH,
	[';']  = SC_SEMI,
	['?']  = SC_QUEST,
	[' ']  = SC_SP | SC_WS,
	['\t'] = SC_WS, ['\r'] = SC_WS, ['\n'] = SC_WS,
	['<']  = SC_LT,
	['>']  = SC_GT,
	['=']  = SC_EQ,
	['.']  = SC_DOT,
	['"']  = SC_QESC, ['\\'] = SC_QESC,
	['0'] = SC_HEX | SC_DIGIT, ['1'] = SC_HEX | SC_DIGIT,
	['2'] = SC_HEX | SC_DIGIT, ['3'] = SC_HEX | SC_DIGIT,
	['4'] = SC_HEX | SC_DIGIT, ['5'] = SC_HEX | SC_DIGIT,
	['6'] = SC_HEX | SC_DIGIT, ['7'] = SC_HEX | SC_DIGIT,
	['8'] = SC_HEX | SC_DIGIT, ['9'] = SC_HEX | SC_DIGIT,
	HEXL('a'), HEXL('b'), HEXL('c'), HEXL('d'), HEXL('e'), HEXL('f'),
	HEXL('A'), HEXL('B'), HEXL('C'), HEXL('D'), HEXL('E'), HEXL('F'),
	ALPHA('g'), ALPHA('h'), ALPHA('i'), ALPHA('j'), ALPHA('k'),
	ALPHA('l'), ALPHA('m'), ALPHA('n'), ALPHA('o'), ALPHA('p'),
	ALPHA('q'), ALPHA('r'), ALPHA('s'), ALPHA('t'), ALPHA('u'),
	ALPHA('v'), ALPHA('w'), ALPHA('x'), ALPHA('y'), ALPHA('z'),
	ALPHA('G'), ALPHA('H'), ALPHA('I'), ALPHA('J'), ALPHA('K'),
	ALPHA('L'), ALPHA('M'), ALPHA('N'), ALPHA('O'), ALPHA('P'),
	ALPHA('Q'), ALPHA('R'), ALPHA('S'), ALPHA('T'), ALPHA('U'),
	ALPHA('V'), ALPHA('W'), ALPHA('X'), ALPHA('Y'), ALPHA('Z'),
};


/* libre's quote-escaping class "[~...]*": up to a byte in stop outside
 * quoted strings and backslash escapes, then stripped of one pair of
 * quotes around it */
struct pl scan_quoted(struct scan *sc, unsigned stop)
{
	const char *p = sc->p;
	const size_t l = sc->l;
	size_t n = 0;
	struct pl v;

	for (;;) {
		/* the plain bytes at once: the most of any value */
		while (n < l && !(scan_cls[(uint8_t)p[n]] & (stop | SC_QESC)))
			++n;
		if (n == l)
			break;

		if (p[n] == '\\') {
			/* an escape takes the next byte, whatever it is */
			n = n + 2 < l ? n + 2 : l;
		}
		else if (p[n] == '"') {
			/* a quoted string: to its closing quote, escapes
			 * inside, or the end */
			for (++n; n < l && p[n] != '"'; ++n) {
				if (p[n] == '\\' && n + 1 < l)
					++n;
			}
			n = n < l ? n + 1 : l;
		}
		else
			break;   /* a byte of stop */
	}

	v = scan_take(sc, n);
	if (v.l > 1 && v.p[0] == '"' && v.p[v.l - 1] == '"') {
		++v.p;
		v.l -= 2;
	}

	return v;
}


/* false when sa_set() cannot take this host, which spares it the call:
 * inet_pton() takes hex digits, ':' and '.' only, and sa_set() reads
 * the host as a C string of at most 63 bytes */
bool scan_maybe_ip(const struct pl *host)
{
	const size_t n = host->l < 63 ? host->l : 63;

	for (size_t i = 0; i < n && host->p[i]; i++) {
		if (!(scan_cls[(uint8_t)host->p[i]] & (SC_HEX | SC_DOT)))
			return false;
	}

	return true;
}
