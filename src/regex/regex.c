/**
 * @file regex.c  libre's re_regex(), the same matches at a fraction of the
 *                cost: it replaces libre.a's regex.o on the link line
 *                (CMakeLists.txt, like tmr.o and rand.o)
 *
 * libre's SIP stack decodes every response with re_regex() (the status
 * line, Via, From and To through uri_decode(), their tags through
 * msg_param_decode(), CSeq): some 20 calls and 40,000 instructions per
 * delivered push. libre 1.1.0's matcher reads its expression again for
 * every start position it tries and lowers each character through the C
 * library's tolower(), and tests each character against a class's list
 * of ranges. This one reads an expression into steps once and keeps them
 * (a small per-thread cache keyed by the expression's address and
 * checked against its text, so an expression built in a buffer is never
 * mistaken for another), a class as a 256-bit set, and skips start
 * positions that cannot match a first literal.
 *
 * What it matches is libre 1.1.0's re_regex() to the byte, errors and
 * oddities included (tests/unit/test_regex.c compares the two on the
 * project's and libre's expressions and on random ones):
 *  - a literal matches itself, case-insensitively (ASCII); a class
 *    "[...]" followed by '*', '+' or a digit 1-9 matches greedily, and
 *    never gives back: a later step that fails makes the whole match
 *    start one character later;
 *  - inside a class '^' (first) negates, '~' (first) negates and skips
 *    quoted strings and backslash escapes, which it then strips of one
 *    pair of quotes; "a-z" is a range; '\' escapes a character anywhere;
 *  - each class fills the next struct pl argument (may be NULL) as soon
 *    as it matches, in failed attempts too;
 *  - an input that ends before a literal gives ENOENT at once; an empty
 *    input ENOENT; a class without a count, or of more than 64 ranges,
 *    EINVAL, but only once a match gets that far.
 */
#include <stdarg.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>


enum {
	MAX_CHR   = 64,   /* ranges per class, as libre's chrv[64]          */
	C_SETS    = 8,    /* the cache: sets of C_WAYS expressions          */
	C_WAYS    = 4,
	C_TEXT    = 80,   /* an expression longer than this is not kept ... */
	C_STEPS   = 24,   /* ... nor one of more steps or classes: it is    */
	C_CLASSES = 10,   /* read again at every start position, as libre's */
};

enum step_kind {
	S_LIT,      /* one character, lowered                        */
	S_CLASS,    /* a class with its count                        */
	S_END,      /* the expression matched                        */
	S_EINVAL,   /* the expression is malformed from here on      */
};

struct step {
	uint8_t kind;
	uint8_t c;          /* S_LIT: the character, lowered             */
	bool qesc;          /* S_CLASS: skips quotes and escapes          */
	uint8_t set;        /* S_CLASS: its set in the owner's setv       */
	uint32_t nmin;
	uint32_t nmax;
};

/* which input bytes a class takes (case and negation applied) */
struct cset {
	uint64_t w[4];
};

struct prog {
	const char *key;
	uint8_t nstep;
	uint8_t nclass;
	struct step stepv[C_STEPS];
	struct cset setv[C_CLASSES];
	char text[C_TEXT];
};

static _Thread_local struct prog cache[C_SETS][C_WAYS];
static _Thread_local uint8_t cache_next[C_SETS];


static inline uint8_t lc(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? (uint8_t)(c + ('a' - 'A')) : c;
}


static inline bool in_set(const struct cset *cs, uint8_t c)
{
	return (cs->w[c >> 6] >> (c & 63)) & 1;
}


/* The ranges (lowered) as the set of input bytes that match them */
static void make_set(struct cset *cs, const uint8_t (*chrv)[2], uint32_t n,
		     bool neg)
{
	uint64_t a;

	memset(cs, 0, sizeof(*cs));
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t lo = chrv[i][0], hi = chrv[i][1];

		for (uint32_t w = lo >> 6; lo <= hi && w <= hi >> 6; w++) {
			const uint32_t b0 = w == lo >> 6 ? (lo & 63) : 0;
			const uint32_t b1 = w == hi >> 6 ? (hi & 63) : 63;

			cs->w[w] |= (~0ull >> (63 - b1)) & (~0ull << b0);
		}
	}

	/* 'A'-'Z' (bits 1-26 of word 1) are lowered first: as 'a'-'z' */
	a = (cs->w[1] >> 33) & 0x3ffffffull;
	cs->w[1] = (cs->w[1] & ~(0x3ffffffull << 1)) | (a << 1);

	if (neg) {
		for (int w = 0; w < 4; w++)
			cs->w[w] = ~cs->w[w];
	}
}


/*
 * The next step of the expression at *epp, read as libre's loop reads it
 * (its states: escape, literal, class body, class count); a class's set
 * goes to *cs. *epp is left after the step.
 */
static void next_step(const char **epp, struct step *st, struct cset *cs)
{
	uint8_t chrv[MAX_CHR][2];
	bool fm = false, ec = false, range = false, neg = false;
	bool qesc = false, eesc = false;
	uint32_t n = 0;
	const char *ep;

	for (ep = *epp; *ep; ep++) {
		const uint8_t ch = (uint8_t)*ep;

		if ('\\' == ch && !eesc) {
			eesc = true;
			continue;
		}

		if (!fm) {
			if ('[' == ch && !eesc) {
				fm = true;
				continue;
			}
			st->kind = S_LIT;
			st->c = lc(ch);
			*epp = ep + 1;
			return;
		}
		else if (ec) {
			if ('*' == ch) {
				st->nmin = 0;
				st->nmax = UINT32_MAX;
			}
			else if ('+' == ch) {
				st->nmin = 1;
				st->nmax = UINT32_MAX;
			}
			else if ('1' <= ch && ch <= '9') {
				st->nmin = st->nmax = ch - '0';
			}
			else
				goto einval;

			st->kind = S_CLASS;
			st->qesc = qesc;
			make_set(cs, (const uint8_t (*)[2])chrv, n, neg);
			*epp = ep + 1;
			return;
		}

		if (eesc) {
			eesc = false;
			goto chr;
		}

		switch (ch) {

		case ']':
			ec = true;
			continue;

		case '~':
			if (n)
				break;
			qesc = true;
			neg  = true;
			continue;

		case '^':
			if (n)
				break;
			neg = true;
			continue;

		case '-':
			if (!n || range)
				break;
			range = true;
			--n;
			continue;
		}

	chr:
		if (n >= MAX_CHR)
			goto einval;
		chrv[n][1] = lc(ch);
		if (range)
			range = false;
		else
			chrv[n][0] = lc(ch);
		++n;
	}

	/* the end: inside a class (no count yet) it is malformed */
	*epp = ep;
	st->kind = fm ? S_EINVAL : S_END;
	return;

 einval:
	*epp = ep;
	st->kind = S_EINVAL;
}


/* One class step at *pp: its match, or false when its count fails */
static inline bool match_class(const struct step *st, const struct cset *cs,
			       const char **pp, size_t *lp, struct pl *out)
{
	const char *p = *pp;
	size_t l = *lp;
	uint32_t nm;
	struct pl lpl = {p, 0};

	if (!st->qesc) {
		for (nm = 0; l && nm < st->nmax && in_set(cs, (uint8_t)*p);
		     nm++, p++, l--)
			;
		lpl.l = nm;
	}
	else {
		bool quote = false, esc = false;

		for (nm = 0; l && nm < st->nmax; nm++, p++, l--, lpl.l++) {
			if (esc) {
				esc = false;
				continue;
			}
			if (*p == '\\') {
				esc = true;
				continue;
			}
			if (*p == '"') {
				quote = !quote;
				continue;
			}
			if (quote)
				continue;
			if (!in_set(cs, (uint8_t)*p))
				break;
		}

		if (lpl.l > 1 && lpl.p[0] == '"' && lpl.p[lpl.l - 1] == '"') {
			lpl.p += 1;
			lpl.l -= 2;
			nm    -= 2;
		}
	}

	if (nm < st->nmin || nm > st->nmax)
		return false;

	*out = lpl;
	*pp = p;
	*lp = l;
	return true;
}


enum {
	R_NEXT    = -1,   /* try the next start position */
	R_MATCHED = -2,   /* the expression matched       */
};

/* The result of one step at *pp: 0 to go on, R_NEXT, R_MATCHED, or an
 * error (ENOENT, EINVAL) that is the call's result */
static inline int run_step(const struct step *st, const struct cset *cs,
			   const char **pp, size_t *lp, struct pl *arg)
{
	switch (st->kind) {

	case S_LIT:
		if (!*lp)
			return ENOENT;
		if (lc((uint8_t)**pp) != st->c)
			return R_NEXT;
		++*pp;
		--*lp;
		return 0;

	case S_CLASS: {
		struct pl m;

		if (!match_class(st, cs, pp, lp, &m))
			return R_NEXT;
		if (arg)
			*arg = m;
		return 0;
	}

	case S_END:
		return R_MATCHED;

	default:
		return EINVAL;
	}
}


/* An expression too long to keep: read again for every start position */
static int match_long(const char *ptr, size_t len, const char *expr,
		      va_list ap0)
{
	size_t start;

	for (start = 0; start < len; start++) {
		const char *p = ptr + start, *ep = expr;
		size_t l = len - start;
		va_list ap;
		int r;

		va_copy(ap, ap0);
		for (;;) {
			struct step st;
			struct cset cs;

			next_step(&ep, &st, &cs);
			r = run_step(&st, &cs, &p, &l, st.kind == S_CLASS ?
				     va_arg(ap, struct pl *) : NULL);
			if (r)
				break;
		}
		va_end(ap);

		if (r == R_MATCHED)
			return 0;
		if (r != R_NEXT)
			return r;
	}

	return *expr ? ENOENT : 0;
}


/* The expression's steps, kept or read now; NULL if too long to keep */
static const struct prog *prog_get(const char *expr)
{
	const uintptr_t h = (uintptr_t)expr;
	const uint32_t set = (uint32_t)((h >> 3) ^ (h >> 9)) % C_SETS;
	struct prog *pg;
	const char *ep;
	size_t len;

	for (int w = 0; w < C_WAYS; w++) {
		pg = &cache[set][w];
		if (pg->key == expr && !strcmp(pg->text, expr))
			return pg;
	}

	len = strlen(expr);
	if (len >= C_TEXT)
		return NULL;

	pg = &cache[set][cache_next[set]];
	cache_next[set] = (uint8_t)((cache_next[set] + 1) % C_WAYS);
	pg->key = NULL;
	pg->nstep = pg->nclass = 0;
	for (ep = expr;;) {
		struct step *st = &pg->stepv[pg->nstep];

		if (pg->nstep == C_STEPS || pg->nclass == C_CLASSES)
			return NULL;
		next_step(&ep, st, &pg->setv[pg->nclass]);
		++pg->nstep;
		if (st->kind == S_CLASS)
			st->set = pg->nclass++;
		else if (st->kind != S_LIT)
			break;
	}
	memcpy(pg->text, expr, len + 1);
	pg->key = expr;
	return pg;
}


int re_regex(const char *ptr, size_t len, const char *expr, ...)
{
	struct pl *plv[C_CLASSES];
	const struct prog *pg;
	const struct step *st0;
	size_t start;
	va_list ap;

	if (!ptr || !expr)
		return EINVAL;

	pg = prog_get(expr);
	if (!pg) {
		int err;

		va_start(ap, expr);
		err = match_long(ptr, len, expr, ap);
		va_end(ap);
		return err;
	}

	/* the arguments, one per class, fetched once */
	va_start(ap, expr);
	for (uint32_t i = 0; i < pg->nclass; i++)
		plv[i] = va_arg(ap, struct pl *);
	va_end(ap);

	st0 = &pg->stepv[0];
	for (start = 0;; start++) {
		const char *p;
		size_t l;

		/* an attempt failing on its first literal changes nothing */
		if (st0->kind == S_LIT) {
			if ((uint8_t)(st0->c - 'a') >= 26) {
				const char *q = memchr(ptr + start, st0->c,
						       len - start);

				start = q ? (size_t)(q - ptr) : len;
			}
			else {
				while (start < len &&
				       lc((uint8_t)ptr[start]) != st0->c)
					++start;
			}
		}

		if (start >= len)
			return *expr ? ENOENT : 0;

		p = ptr + start;
		l = len - start;

		for (const struct step *st = st0;; st++) {
			const bool cls = st->kind == S_CLASS;
			const int r = run_step(st, cls ? &pg->setv[st->set] :
					       NULL, &p, &l,
					       cls ? plv[st->set] : NULL);

			if (!r)
				continue;
			if (r == R_MATCHED)
				return 0;
			if (r == R_NEXT)
				break;
			return r;
		}
	}
}
