/**
 * @file jsonw.c  A flat JSON object into a fixed buffer, jansson's way
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/jsonw.h"


static void put(struct jsonw *w, const char *p, size_t n)
{
	if (w->err)
		return;
	if (w->sz - w->len < n + 1) {
		w->err = ENOSPC;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}


/* The length of the UTF-8 sequence at p (NUL-terminated), 0 when it is
 * not one (overlong, a surrogate, above U+10FFFF: what jansson refuses) */
static size_t utf8_len(const uint8_t *p)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	cp = p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)    /* the NUL stops it too */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}


/* Bytes copied as they are: printable ASCII but '"' and '\\' */
static const uint8_t plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};


static void put_string(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *p = (const uint8_t *)s, *run = p;

	put(w, "\"", 1);
	while (*p && !w->err) {
		char esc[7] = "\\u00";
		size_t el = 2, l;

		if (plain[*p]) {
			++p;
			continue;
		}
		if (*p >= 0x80) {
			l = utf8_len(p);
			if (!l) {
				w->err = EILSEQ;
				return;
			}
			p += l;
			continue;
		}
		put(w, (const char *)run, (size_t)(p - run));
		switch (*p) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			el = 6;
		}
		put(w, esc, el);
		run = ++p;
	}
	put(w, (const char *)run, (size_t)(p - run));
	put(w, "\"", 1);
}


/* Keys are the caller's literals: plain ASCII, copied as they are */
static void put_key(struct jsonw *w, const char *key)
{
	put(w, w->members ? ",\"" : "{\"", 2);
	w->members = true;
	put(w, key, strlen(key));
	put(w, "\":", 2);
}


/** Start an object in buf (sz bytes, the NUL included) */
void jsonw_begin(struct jsonw *w, char *buf, size_t sz)
{
	*w = (struct jsonw){.buf = buf, .sz = sz};
	if (!buf || !sz)
		w->err = ENOSPC;
}


/** Start a record in buf: members kept as given, for jsonw_replay() */
void jsonw_begin_rec(struct jsonw *w, char *buf, size_t sz)
{
	jsonw_begin(w, buf, sz);
	w->rec = true;
}


/* A record's member: its tag ('s' or 'i'), its key's address, then a
 * string's length (2 bytes) and bytes, or an integer's 8 bytes */
static void put_rec(struct jsonw *w, char tag, const char *key,
		    const void *val, size_t n)
{
	const uint16_t len = (uint16_t)n;

	if (tag == 's' && n > UINT16_MAX) {
		w->err = ENOSPC;
		return;
	}
	put(w, &tag, 1);
	put(w, (const char *)&key, sizeof(key));
	if (tag == 's')
		put(w, (const char *)&len, sizeof(len));
	put(w, val, n);
}


/** A string member; val NULL: none (as json_pack's "s?") */
void jsonw_str(struct jsonw *w, const char *key, const char *val)
{
	if (!val)
		return;
	if (w->rec) {
		put_rec(w, 's', key, val, strlen(val));
		return;
	}
	put_key(w, key);
	put_string(w, val);
}


void jsonw_int(struct jsonw *w, const char *key, int64_t val)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = val < 0 ? 0 - (uint64_t)val : (uint64_t)val;

	if (w->rec) {
		put_rec(w, 'i', key, &val, sizeof(val));
		return;
	}
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (val < 0)
		d[--i] = '-';
	put_key(w, key);
	put(w, d + i, sizeof(d) - i);
}


/** Close the object (NUL-terminated): 0, or why the text is no JSON.
 *  A record ends as it is: w->len bytes. */
int jsonw_end(struct jsonw *w)
{
	if (w->rec)
		return w->err;
	put(w, w->members ? "}" : "{}", w->members ? 1 : 2);
	if (w->err)
		return w->err;
	w->buf[w->len] = '\0';
	return 0;
}


/**
 * The object a record (jsonw_begin_rec) holds, written into w (begun with
 * jsonw_begin) and ended: 0, or why it cannot be (EBADMSG: not a record)
 */
int jsonw_replay(struct jsonw *w, const char *rec, size_t len)
{
	const char *p = rec, *e = rec + len;

	while (p < e && !w->err) {
		const char tag = *p++;
		const char *key;

		if ((size_t)(e - p) < sizeof(key))
			return EBADMSG;
		memcpy(&key, p, sizeof(key));
		p += sizeof(key);

		if (tag == 's') {
			char s[256], *big = NULL;
			uint16_t n;

			if ((size_t)(e - p) < sizeof(n))
				return EBADMSG;
			memcpy(&n, p, sizeof(n));
			p += sizeof(n);
			if ((size_t)(e - p) < n)
				return EBADMSG;
			/* a NUL-terminated copy, as the writer wants one */
			if (n >= sizeof(s)) {
				big = malloc((size_t)n + 1);
				if (!big)
					return ENOMEM;
			}
			memcpy(big ? big : s, p, n);
			(big ? big : s)[n] = '\0';
			put_key(w, key);
			put_string(w, big ? big : s);
			free(big);
			p += n;
		}
		else if (tag == 'i') {
			int64_t v;

			if ((size_t)(e - p) < sizeof(v))
				return EBADMSG;
			memcpy(&v, p, sizeof(v));
			p += sizeof(v);
			jsonw_int(w, key, v);
		}
		else {
			return EBADMSG;
		}
	}
	return jsonw_end(w);
}
