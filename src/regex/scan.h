/**
 * @file scan.h  What the hand-written SIP decoders in src/regex/ share
 *
 * Each decoder walks one of libre 1.1.0's expressions by hand, the way
 * re_regex() walks it: every start position of the input in turn; a
 * class takes as many bytes as it may and never gives any back (one
 * that needs a byte and gets none makes the next start position be
 * tried); a literal compares case-insensitively, the next start position
 * when it differs, the whole match ENOENT at once when the input has
 * ended before it. A class's struct pl is set as soon as it has matched,
 * in an attempt that then fails too, as libre's.
 *
 * Include it after <re_types.h> and <re_fmt.h> (which have no guards).
 */

/* the byte classes of the expressions (scan.c's table) */
enum {
	SC_COLON = 1 << 0,   /* ':'                     */
	SC_AT    = 1 << 1,   /* '@'                     */
	SC_SLASH = 1 << 2,   /* '/'                     */
	SC_SEMI  = 1 << 3,   /* ';'                     */
	SC_QUEST = 1 << 4,   /* '?'                     */
	SC_SP    = 1 << 5,   /* ' '                     */
	SC_WS    = 1 << 6,   /* ' ', '\t', '\r', '\n'   */
	SC_HEX   = 1 << 7,   /* [0-9a-f:], either case  */
	SC_DIGIT = 1 << 8,   /* [0-9]                   */
	SC_ALPHA = 1 << 9,   /* [A-Z], either case      */
	SC_LT    = 1 << 10,  /* '<'                     */
	SC_GT    = 1 << 11,  /* '>'                     */
	SC_EQ    = 1 << 12,  /* '='                     */
	SC_DOT   = 1 << 13,  /* '.'                     */
	SC_QESC  = 1 << 14,  /* '"' and '\\'            */
};

extern const uint16_t scan_cls[256];

/* what is left of the input from the current position */
struct scan {
	const char *p;
	size_t l;
};

/* a literal's outcome */
enum scan_lit {
	LIT_OK,     /* matched, taken                          */
	LIT_DIFF,   /* differs: try the next start position    */
	LIT_END,    /* the input ended: the match fails ENOENT */
};


static inline struct pl scan_take(struct scan *sc, size_t n)
{
	const struct pl pl = {sc->p, n};

	sc->p += n;
	sc->l -= n;
	return pl;
}


/* a class [...]* of the bytes in mask */
static inline struct pl scan_in(struct scan *sc, unsigned mask)
{
	size_t n = 0;

	while (n < sc->l && (scan_cls[(uint8_t)sc->p[n]] & mask))
		++n;
	return scan_take(sc, n);
}


/* a class [^...]* of the bytes not in mask */
static inline struct pl scan_out(struct scan *sc, unsigned mask)
{
	size_t n = 0;

	while (n < sc->l && !(scan_cls[(uint8_t)sc->p[n]] & mask))
		++n;
	return scan_take(sc, n);
}


/* the rest of the input: [^]* */
static inline struct pl scan_rest(struct scan *sc)
{
	return scan_take(sc, sc->l);
}


static inline char scan_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}


/* literals: libre lowers both sides (ASCII only, in the C locale) */
static inline enum scan_lit scan_lit(struct scan *sc, const char *lit)
{
	for (; *lit; ++lit) {
		if (!sc->l)
			return LIT_END;
		if (scan_lower(*sc->p) != scan_lower(*lit))
			return LIT_DIFF;
		(void)scan_take(sc, 1);
	}
	return LIT_OK;
}


struct pl scan_quoted(struct scan *sc, unsigned stop);
bool scan_maybe_ip(const struct pl *host);
