/**
 * @file test_jsonr.c  The JSON reader accepts what jansson's
 *                     json_loadb(JSON_REJECT_DUPLICATES) accepts, refuses
 *                     what it refuses, and reads the same values: on known
 *                     documents, at jansson's depth limit, and on 300,000
 *                     generated and mutated ones
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "../src/re_nojson.h"
#include "core/jsonr.h"


/* The same value in both readings (jansson keeps no member order) */
static bool same(const struct jsonr *j, const struct jsonr_val *v,
		 const json_t *t)
{
	const struct jsonr_val *c;
	size_t i = 0;

	switch (v->type) {

	case JSONR_NULL:   return json_is_null(t);
	case JSONR_TRUE:   return json_is_true(t);
	case JSONR_FALSE:  return json_is_false(t);
	case JSONR_INT:
		return json_is_integer(t) && json_integer_value(t) == v->u.i;
	case JSONR_REAL:
		return json_is_real(t) &&
			!memcmp(&v->u.d, &(double){json_real_value(t)},
				sizeof(double));
	case JSONR_STRING:
		return json_is_string(t) && json_string_length(t) == v->n &&
			!memcmp(json_string_value(t), v->u.s, v->n) &&
			v->u.s[v->n] == '\0';
	case JSONR_ARRAY:
		if (!json_is_array(t) || json_array_size(t) != v->n)
			return false;
		JSONR_EACH(j, v, c)
			if (!same(j, c, json_array_get(t, i++)))
				return false;
		return i == v->n;
	case JSONR_OBJECT:
		if (!json_is_object(t) || json_object_size(t) != v->n)
			return false;
		JSONR_EACH(j, v, c) {
			const json_t *m = json_object_get(t, c->key);

			if (!m || !same(j, c, m) ||
			    jsonr_get(j, v, c->key) != c)
				return false;
			++i;
		}
		return i == v->n;
	}
	return false;
}


/* Both read buf alike; returns whether it was JSON */
static bool agree(const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *t = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	struct jsonr *j = NULL;
	char why[128] = "";
	int err = jsonr_parse(&j, buf, len, why, sizeof(why));

	if (!!t != !err) {
		fprintf(stderr, "disagree on %zu bytes '%.*s': jansson %s "
			"(%s), jsonr %s (%s)\n", len, (int)(len > 200 ? 200 :
			len), buf, t ? "accepts" : "refuses", jerr.text,
			err ? "refuses" : "accepts", why);
		fail();
	}
	if (err) {
		assert_int_equal(err, EINVAL);
		assert_true(why[0] != '\0');
	}
	else if (!same(j, jsonr_root(j), t)) {
		fprintf(stderr, "different values for '%.*s'\n", (int)len,
			buf);
		fail();
	}
	mem_deref(j);
	json_decref(t);
	return !err;
}


static bool agree_str(const char *s)
{
	return agree(s, strlen(s));
}


static const char *known[] = {
	/* accepted */
	"{}", "[]", " \t\r\n{ } \n", "[1,-1,0,-0,9223372036854775807]",
	"[-9223372036854775808]", "[1.5,-0.0,1e10,1E-5,2.5e+3,0.1e1]",
	"[1e-400]", "[true,false,null]", "{\"a\":{\"b\":[{}]}}",
	"{\"to\":\"sip:alice@example.com\",\"app\":\"mms.ua\","
	"\"content_type\":\"text/plain\",\"body\":\"hi\",\"ttl\":60}",
	"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\u00e9\\u20AC\"]",
	"[\"\\ud83d\\ude00\"]", "[\"caf\xc3\xa9 \xe2\x82\xac "
	"\xf0\x9f\x98\x80\"]", "[\"\x7f\"]", "{\"\":1}",
	"{\"a\":1,\"A\":2}", "[\"\\u0001\"]",
	/* refused */
	"", " ", "1", "\"s\"", "null", "{", "[", "[1,]", "[,1]", "{,}",
	"{\"a\":1,}", "{\"a\"}", "{\"a\":}", "{a:1}", "[01]", "[-]",
	"[1.]", "[.5]", "[1e]", "[1e+]", "[+1]", "[0x10]", "[1 2]",
	"[9223372036854775808]", "[-9223372036854775809]",
	"[99999999999999999999]", "[1e400]", "[-1e400]", "[truex]",
	"[tru]", "[nul]", "[True]", "[\"a\nb\"]", "[\"a\tb\"]",
	"[\"\\x\"]", "[\"\\u12\"]", "[\"\\u00g0\"]", "[\"\\u0000\"]",
	"[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
	"[\"\\ud800x\"]", "[\"\xff\"]", "[\"\xc0\xaf\"]",
	"[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
	"[\"\xc3\"]", "[\"\xc3(\"]", "\xef\xbb\xbf{}", "{} x", "{}{}",
	"[\"abc", "[\"abc\\", "{\"a\":1,\"a\":2}",
	"{\"a\":1,\"b\":{\"a\":1},\"a\":3}", "[1]]", "[[1]",
};


static void test_known(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		(void)agree_str(known[i]);

	/* a NUL byte, inside and outside a string */
	(void)agree("[\"a\0b\"]", 7);
	(void)agree("[1,\0 2]", 7);
	(void)agree("{}\0", 3);
}


/* Nesting at, below and above jansson's limit, for arrays and objects */
static void test_depth(void **state)
{
	enum { MAX = 2060 };
	char *buf = malloc(5 * MAX + 16);
	size_t accepted = 0;
	(void)state;

	assert_non_null(buf);
	for (size_t d = 2040; d < MAX; d++) {
		size_t n = 0;

		for (size_t k = 0; k < d; k++)
			buf[n++] = '[';
		buf[n++] = '1';
		for (size_t k = 0; k < d; k++)
			buf[n++] = ']';
		accepted += agree(buf, n);

		n = 0;
		for (size_t k = 0; k < d; k++) {
			memcpy(buf + n, "{\"\":", 4);
			n += 4;
		}
		buf[n++] = '1';
		for (size_t k = 0; k < d; k++)
			buf[n++] = '}';
		accepted += agree(buf, n);
	}
	/* the limit lies inside the range tried */
	assert_true(accepted > 0 && accepted < 2 * (MAX - 2040));
	free(buf);
}


/* Many members: duplicates found among them, quickly */
static void test_many_members(void **state)
{
	enum { N = 20000 };
	struct mbuf *mb = mbuf_alloc(N * 16);
	(void)state;

	assert_non_null(mb);
	for (int dup = 0; dup < 2; dup++) {
		mbuf_rewind(mb);
		mbuf_write_str(mb, "{");
		for (int i = 0; i < N; i++)
			mbuf_printf(mb, "%s\"k%d\":%d", i ? "," : "",
				    dup && i == N - 1 ? 17 : i, i);
		mbuf_write_str(mb, "}");
		assert_true(agree((const char *)mb->buf, mb->end) == !dup);
	}
	mem_deref(mb);
}


static const char *pieces[] = {
	"{", "}", "[", "]", ",", ":", "\"", "\\", "\"a\"", "\"to\"",
	"\"app\"", "0", "-", "1", "12", ".", "5", "e", "E", "+", "true",
	"false", "null", " ", "\n", "\\u", "00e9", "d83d", "de00", "\\n",
	"\xc3\xa9", "\xc3", "\xff", "\x01", "9223372036854775807", "8",
	"\"\\ud800\"", "tru", "1e400", "x",
};

static const char *seeds[] = {
	"{\"to\":\"sip:alice@example.com\",\"app\":\"mms.ua\","
	"\"content_type\":\"text/plain\",\"body\":\"caf\xc3\xa9 \\u20ac\","
	"\"ttl\":60,\"priority\":5,\"topic\":null}",
	"[{\"to\":\"sip:a@b\",\"app\":\"x\",\"body\":\"\\ud83d\\ude00\"},"
	"{\"to\":\"sip:c@d\",\"n\":[1,2.5,-3e2,true,false,null]}]",
	"{\"a\":{\"b\":{\"c\":[[],{},[{}]]}},\"d\":\"\\\"\\\\\\/\"}",
};


/* xorshift64*: the same sequence from the printed seed */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}


static void test_generated(void **state)
{
	uint64_t seed = 0x5eed15c0ffeeULL, s = seed;
	size_t accepted = 0, refused = 0;
	char buf[512];
	(void)state;

	printf("seed %016llx\n", (unsigned long long)seed);
	for (int i = 0; i < 300000; i++) {
		size_t n = 0;

		if (i % 2) {
			/* a valid document, mutated once to four times */
			const char *sd = seeds[rnd(&s) % 3];
			unsigned k = 1 + (unsigned)(rnd(&s) % 4);

			n = strlen(sd);
			memcpy(buf, sd, n);
			while (k--) {
				size_t at = (size_t)(rnd(&s) % n);

				switch (rnd(&s) % 4) {

				case 0:   /* a byte changed */
					buf[at] = (char)rnd(&s);
					break;
				case 1:   /* a byte removed */
					memmove(buf + at, buf + at + 1,
						n - at - 1);
					--n;
					break;
				case 2:   /* a piece inserted */
				{
					const char *p = pieces[rnd(&s) %
						ARRAY_SIZE(pieces)];
					size_t pl = strlen(p);

					if (n + pl >= sizeof(buf))
						break;
					memmove(buf + at + pl, buf + at,
						n - at);
					memcpy(buf + at, p, pl);
					n += pl;
					break;
				}
				default:  /* cut short */
					n = at;
					break;
				}
				if (!n)
					break;
			}
		}
		else {
			/* pieces strung together */
			unsigned k = 1 + (unsigned)(rnd(&s) % 24);

			while (k--) {
				const char *p = pieces[rnd(&s) %
						       ARRAY_SIZE(pieces)];
				size_t pl = strlen(p);

				if (n + pl >= sizeof(buf))
					break;
				memcpy(buf + n, p, pl);
				n += pl;
			}
		}
		if (agree(buf, n))
			++accepted;
		else
			++refused;
	}
	printf("generated: %zu accepted, %zu refused alike\n", accepted,
	       refused);
	/* both kinds were tried in numbers */
	assert_true(accepted > 1000 && refused > 1000);
}


/* The accessors: members by name, elements by place, iteration */
static void test_access(void **state)
{
	const char *doc = "{\"a\":[10,{\"x\":\"y\"},[]],\"b\":\"str\","
		"\"c\":{}}";
	const struct jsonr_val *root, *a, *c;
	struct jsonr *j = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(jsonr_parse(&j, doc, strlen(doc), NULL, 0), 0);
	root = jsonr_root(j);
	assert_int_equal(root->type, JSONR_OBJECT);
	assert_int_equal(root->n, 3);
	a = jsonr_get(j, root, "a");
	assert_non_null(a);
	assert_int_equal(a->type, JSONR_ARRAY);
	assert_int_equal(jsonr_at(j, a, 0)->u.i, 10);
	assert_string_equal(jsonr_get(j, jsonr_at(j, a, 1), "x")->u.s, "y");
	assert_int_equal(jsonr_at(j, a, 2)->n, 0);
	assert_null(jsonr_at(j, a, 3));
	assert_null(jsonr_first(j, jsonr_at(j, a, 2)));
	assert_string_equal(jsonr_get(j, root, "b")->u.s, "str");
	assert_null(jsonr_get(j, root, "z"));
	assert_null(jsonr_get(j, a, "x"));
	JSONR_EACH(j, root, c)
		++n;
	assert_int_equal(n, 3);
	mem_deref(j);

	/* the error names what and where */
	{
		char why[80];

		assert_int_equal(jsonr_parse(&j, "{\n\"a\":01}", 9, why,
					     sizeof(why)), EINVAL);
		assert_non_null(strstr(why, "line 2"));
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_many_members),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
