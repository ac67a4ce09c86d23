/**
 * @file jsonr.c  A JSON document read into one array of values and one
 *                buffer of decoded strings (jsonr.h)
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include "core/jsonr.h"

/* jansson's JSON_PARSER_MAX_DEPTH: every value counts, scalars too */
enum { MAX_DEPTH = 2048, FIRST_CAP = 32, FEW_MEMBERS = 16 };

struct jsonr {
	struct jsonr_val *v;
	uint32_t n, cap;
	char str[];        /**< the strings, decoded, each with its NUL    */
};

/* The reader's place. A decoded string is never longer than its JSON
 * form (the closing quote makes room for the NUL), so the strings of a
 * document of len bytes fit in len + 1 */
struct rd {
	struct jsonr *j;
	const char *p, *e;
	char *s;           /**< the next free byte of j->str               */
	unsigned depth;
	const char *why;   /**< what went wrong, and where                 */
	const char *at;
};


static void destructor(void *arg)
{
	struct jsonr *j = arg;

	mem_deref(j->v);
}


static int fail(struct rd *r, const void *at, const char *why)
{
	r->why = why;
	r->at = at;
	return EINVAL;
}


static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}


static void ws(struct rd *r)
{
	while (r->p < r->e && (*r->p == ' ' || *r->p == '\t' ||
			       *r->p == '\n' || *r->p == '\r'))
		++r->p;
}


/* A new value at the end of the array; indices, not pointers, stay
 * valid while the array grows */
static int add(struct rd *r, const char *key, uint32_t *ip)
{
	struct jsonr *j = r->j;

	if (j->n == j->cap) {
		uint32_t cap = j->cap * 2;
		struct jsonr_val *v = mem_realloc(j->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		j->v = v;
		j->cap = cap;
	}
	memset(&j->v[j->n], 0, sizeof(j->v[j->n]));
	j->v[j->n].key = key;
	*ip = j->n++;
	return 0;
}


static int hex4(const unsigned char *p, const unsigned char *e,
		uint32_t *u)
{
	if (e - p < 4)
		return EINVAL;
	*u = 0;
	for (int i = 0; i < 4; i++) {
		const unsigned char c = p[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return EINVAL;
		*u = *u << 4 | d;
	}
	return 0;
}


/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF); 0: none */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e)
{
	uint32_t c = p[0], min;
	size_t n;

	if (c < 0xc2)
		return 0;           /* ASCII is not asked; 80..c1 never lead */
	if (c < 0xe0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	}
	else if (c < 0xf0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	}
	else if (c < 0xf5) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	}
	else {
		return 0;
	}
	if ((size_t)(e - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}


static char *utf8_put(char *o, uint32_t c)
{
	if (c < 0x80) {
		*o++ = (char)c;
	}
	else if (c < 0x800) {
		*o++ = (char)(0xc0 | c >> 6);
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	else if (c < 0x10000) {
		*o++ = (char)(0xe0 | c >> 12);
		*o++ = (char)(0x80 | (c >> 6 & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	else {
		*o++ = (char)(0xf0 | c >> 18);
		*o++ = (char)(0x80 | (c >> 12 & 0x3f));
		*o++ = (char)(0x80 | (c >> 6 & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	return o;
}


/* \uXXXX at p (past the backslash's u), a surrogate pair as one */
static int unicode(struct rd *r, const unsigned char **pp, char **op)
{
	const unsigned char *p = *pp, *e = (const unsigned char *)r->e;
	uint32_t u, lo;

	if (hex4(p, e, &u))
		return fail(r, p, "invalid \\u escape");
	p += 4;
	if (u >= 0xdc00 && u <= 0xdfff)
		return fail(r, p, "invalid Unicode (a lone low surrogate)");
	if (u >= 0xd800 && u <= 0xdbff) {
		if (e - p < 6 || p[0] != '\\' || p[1] != 'u' ||
		    hex4(p + 2, e, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail(r, p, "invalid Unicode (a lone high "
				    "surrogate)");
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	if (!u)
		return fail(r, p, "\\u0000 is not allowed");
	*op = utf8_put(*op, u);
	*pp = p;
	return 0;
}


/* The string at r->p (its opening quote), decoded into r->s */
static int string(struct rd *r, const char **sp, uint32_t *np)
{
	const unsigned char *p = (const unsigned char *)r->p + 1;
	const unsigned char *e = (const unsigned char *)r->e;
	char *o = r->s;
	int err;

	for (;;) {
		const unsigned char *q = p;

		/* the plain run, copied at once */
		while (q < e && *q >= 0x20 && *q < 0x80 && *q != '"' &&
		       *q != '\\')
			++q;
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		p = q;
		if (p >= e)
			return fail(r, p, "premature end of input in a string");
		if (*p == '"')
			break;
		if (*p < 0x20)
			return fail(r, p, "control character in a string");
		if (*p >= 0x80) {
			const size_t n = utf8_seq(p, e);

			if (!n)
				return fail(r, p, "invalid UTF-8");
			memcpy(o, p, n);
			o += n;
			p += n;
			continue;
		}

		/* a backslash */
		if (e - p < 2)
			return fail(r, p, "premature end of input in a string");
		switch (p[1]) {

		case '"':
		case '\\':
		case '/': *o++ = (char)p[1]; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			p += 2;
			err = unicode(r, &p, &o);
			if (err)
				return err;
			continue;
		default:
			return fail(r, p, "invalid escape");
		}
		p += 2;
	}

	*o++ = '\0';
	*sp = r->s;
	*np = (uint32_t)(o - r->s - 1);
	r->s = o;
	r->p = (const char *)p + 1;
	return 0;
}


static int digits(struct rd *r, const char **pp, const char *what)
{
	const char *p = *pp;

	if (p >= r->e || !is_digit(*p))
		return fail(r, p, what);
	while (p < r->e && is_digit(*p))
		++p;
	*pp = p;
	return 0;
}


/* A number: an integer when it has neither fraction nor exponent */
static int number(struct rd *r, struct jsonr_val *v)
{
	const char *p0 = r->p, *p = p0;
	bool real = false, neg = *p == '-';
	int err;

	if (neg)
		++p;
	if (p < r->e && *p == '0') {
		if (++p < r->e && is_digit(*p))
			return fail(r, p, "invalid number (a leading zero)");
	}
	else {
		err = digits(r, &p, "invalid number");
		if (err)
			return err;
	}
	if (p < r->e && *p == '.') {
		++p;
		err = digits(r, &p, "invalid number (no digit after '.')");
		if (err)
			return err;
		real = true;
	}
	if (p < r->e && (*p == 'e' || *p == 'E')) {
		if (++p < r->e && (*p == '+' || *p == '-'))
			++p;
		err = digits(r, &p, "invalid number (no exponent)");
		if (err)
			return err;
		real = true;
	}

	if (!real) {
		uint64_t u = 0;

		for (const char *q = p0 + neg; q < p; q++) {
			const unsigned d = (unsigned)(*q - '0');

			if (u > (UINT64_MAX - d) / 10)
				return fail(r, p0, "too big integer");
			u = u * 10 + d;
		}
		if (u > (uint64_t)INT64_MAX + neg)
			return fail(r, p0, "too big integer");
		v->type = JSONR_INT;
		v->u.i = !neg ? (int64_t)u : u > (uint64_t)INT64_MAX ?
			INT64_MIN : -(int64_t)u;
	}
	else {
		/* strtod wants a NUL: the token, copied where the strings
		 * go, fits there (the buffer stays ahead of the input) and
		 * is written over by the next string */
		const size_t n = (size_t)(p - p0);
		double d;

		memcpy(r->s, p0, n);
		r->s[n] = '\0';
		errno = 0;
		d = strtod(r->s, NULL);
		if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
			return fail(r, p0, "real number overflow");
		v->type = JSONR_REAL;
		v->u.d = d;
	}
	r->p = p;
	return 0;
}


static int literal(struct rd *r, struct jsonr_val *v, const char *word,
		   enum jsonr_type t)
{
	const size_t n = strlen(word);

	if ((size_t)(r->e - r->p) < n || memcmp(r->p, word, n))
		return fail(r, r->p, "invalid token");
	v->type = t;
	r->p += n;
	return 0;
}


static int value(struct rd *r, const char *key);


static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}


/* Duplicate names: pairwise for a few members, sorted for many (an
 * object of 100k members must not cost 10^10 comparisons) */
static int unique(struct rd *r, uint32_t idx)
{
	const struct jsonr *j = r->j;
	const uint32_t n = j->v[idx].n;
	const char **keys;
	uint32_t c, k = 0;
	int err = 0;

	if (n < 2)
		return 0;
	if (n <= FEW_MEMBERS) {
		for (c = idx + 1; c < j->v[idx].end; c = j->v[c].end)
			for (uint32_t d = j->v[c].end; d < j->v[idx].end;
			     d = j->v[d].end)
				if (!strcmp(j->v[c].key, j->v[d].key))
					return fail(r, j->v[d].key,
						    "duplicate object key");
		return 0;
	}

	keys = mem_alloc(n * sizeof(*keys), NULL);
	if (!keys)
		return ENOMEM;
	for (c = idx + 1; c < j->v[idx].end; c = j->v[c].end)
		keys[k++] = j->v[c].key;
	qsort(keys, k, sizeof(*keys), cmp_key);
	for (c = 1; c < k; c++)
		if (!strcmp(keys[c - 1], keys[c])) {
			err = fail(r, keys[c], "duplicate object key");
			break;
		}
	mem_deref(keys);
	return err;
}


/* Past '[' or '{': true when the container is empty (its close read) */
static bool empty(struct rd *r, char close)
{
	++r->p;
	ws(r);
	if (r->p < r->e && *r->p == close) {
		++r->p;
		return true;
	}
	return false;
}


/* After an element or member: ',' (another follows) or the close */
static int next(struct rd *r, char close, bool *more)
{
	ws(r);
	if (r->p < r->e && (*r->p == ',' || *r->p == close)) {
		*more = *r->p++ == ',';
		return 0;
	}
	return fail(r, r->p, close == '}' ? "',' or '}' expected" :
		    "',' or ']' expected");
}


static int object(struct rd *r, uint32_t idx)
{
	bool more = !empty(r, '}');
	uint32_t n = 0;
	int err;

	while (more) {
		const char *key;
		uint32_t klen;

		ws(r);
		if (r->p >= r->e || *r->p != '"')
			return fail(r, r->p, "string or '}' expected");
		err = string(r, &key, &klen);
		if (err)
			return err;
		ws(r);
		if (r->p >= r->e || *r->p != ':')
			return fail(r, r->p, "':' expected");
		++r->p;
		err = value(r, key);
		err = err ? err : next(r, '}', &more);
		if (err)
			return err;
		++n;
	}
	r->j->v[idx].n = n;
	r->j->v[idx].end = r->j->n;
	return unique(r, idx);
}


static int array(struct rd *r, uint32_t idx)
{
	bool more = !empty(r, ']');
	uint32_t n = 0;
	int err;

	while (more) {
		err = value(r, NULL);
		err = err ? err : next(r, ']', &more);
		if (err)
			return err;
		++n;
	}
	r->j->v[idx].n = n;
	return 0;
}


static int value(struct rd *r, const char *key)
{
	struct jsonr_val *v;
	uint32_t idx;
	int err;

	ws(r);
	if (++r->depth > MAX_DEPTH)
		return fail(r, r->p, "maximum parsing depth reached");
	if (r->p >= r->e)
		return fail(r, r->p, "premature end of input");
	err = add(r, key, &idx);
	if (err)
		return err;
	v = &r->j->v[idx];

	switch (*r->p) {

	case '{':
		v->type = JSONR_OBJECT;
		err = object(r, idx);
		break;
	case '[':
		v->type = JSONR_ARRAY;
		err = array(r, idx);
		break;
	case '"':
		v->type = JSONR_STRING;
		err = string(r, &v->u.s, &v->n);
		break;
	case 't':
		err = literal(r, v, "true", JSONR_TRUE);
		break;
	case 'f':
		err = literal(r, v, "false", JSONR_FALSE);
		break;
	case 'n':
		err = literal(r, v, "null", JSONR_NULL);
		break;
	default:
		if (*r->p == '-' || is_digit(*r->p))
			err = number(r, v);
		else
			err = fail(r, r->p, "invalid token");
		break;
	}
	/* object() and array() may have moved the values */
	r->j->v[idx].end = r->j->n;
	--r->depth;
	return err;
}


/**
 * Read a document of len bytes. EINVAL with *why ("what, line N") when
 * it is not JSON or not an object or array at the top.
 */
int jsonr_parse(struct jsonr **jp, const char *buf, size_t len,
		char *why, size_t whysz)
{
	struct rd r;
	struct jsonr *j;
	int err;

	if (!jp || (!buf && len) || len >= UINT32_MAX)
		return EINVAL;

	j = mem_alloc(sizeof(*j) + len + 1, destructor);
	if (!j)
		return ENOMEM;
	j->n = 0;
	j->cap = FIRST_CAP;
	j->v = mem_alloc(j->cap * sizeof(*j->v), NULL);
	if (!j->v) {
		err = ENOMEM;
		goto out;
	}

	memset(&r, 0, sizeof(r));
	r.j = j;
	r.p = buf ? buf : "";
	r.e = r.p + len;
	r.s = j->str;

	ws(&r);
	if (r.p < r.e && (*r.p == '{' || *r.p == '['))
		err = value(&r, NULL);
	else
		err = fail(&r, r.p, "'[' or '{' expected");
	if (!err) {
		ws(&r);
		if (r.p < r.e)
			err = fail(&r, r.p, "end of file expected");
	}

	if (err == EINVAL && why && whysz) {
		unsigned line = 1;

		/* where: a place in the input, or a key in the strings */
		if (r.at >= buf && r.at <= buf + len)
			for (const char *q = buf; q < r.at; q++)
				line += *q == '\n';
		else
			line = 0;
		if (line)
			(void)re_snprintf(why, whysz, "%s, line %u", r.why,
					  line);
		else
			(void)re_snprintf(why, whysz, "%s", r.why);
	}

 out:
	if (err)
		mem_deref(j);
	else
		*jp = j;
	return err;
}


/** The document's top value (an object or an array) */
const struct jsonr_val *jsonr_root(const struct jsonr *j)
{
	return j && j->n ? &j->v[0] : NULL;
}


/** The first child of an array or object; NULL when it has none */
const struct jsonr_val *jsonr_first(const struct jsonr *j,
				    const struct jsonr_val *v)
{
	if (!j || !v || (v->type != JSONR_ARRAY && v->type != JSONR_OBJECT)
	    || !v->n)
		return NULL;
	return v + 1;
}


/** The child after this one; NULL after the last */
const struct jsonr_val *jsonr_next(const struct jsonr *j,
				   const struct jsonr_val *parent,
				   const struct jsonr_val *child)
{
	if (!j || !parent || !child || child->end >= parent->end)
		return NULL;
	return &j->v[child->end];
}


/** An object's member by name; NULL: none (or not an object) */
const struct jsonr_val *jsonr_get(const struct jsonr *j,
				  const struct jsonr_val *obj,
				  const char *key)
{
	const struct jsonr_val *c;

	if (!obj || obj->type != JSONR_OBJECT || !key)
		return NULL;
	JSONR_EACH(j, obj, c)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}


/** An array's element i; NULL: none */
const struct jsonr_val *jsonr_at(const struct jsonr *j,
				 const struct jsonr_val *arr, size_t i)
{
	const struct jsonr_val *c;

	if (!arr || arr->type != JSONR_ARRAY || i >= arr->n)
		return NULL;
	JSONR_EACH(j, arr, c)
		if (!i--)
			return c;
	return NULL;
}
