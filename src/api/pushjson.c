/**
 * @file pushjson.c  The JSON push request of POST /v1/pushes, validated
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "../re_nojson.h"
#include <re_base64.h>
#include "core/appid.h"
#include "core/param.h"
#include "core/imshdr.h"
#include "core/outcome.h"
#include "core/method.h"
#include "sender/sender.h"
#include "api/pushjson.h"

enum { MAX_STR = 1024, MAX_TOPIC = 128, MAX_TARGET = 256 };

/* The members a push may have; pushjson_decode() reads each from its
 * slot, found in one pass over the object */
enum field {
	F_TO,
	F_APP,
	F_CONTENT_TYPE,
	F_BODY,
	F_BODY_BASE64,
	F_URL,
	F_METHOD,
	F_TERMINALS,
	F_TTL,
	F_TOPIC,
	F_PRIORITY,
	F_FILENAME,
	F_DISPOSITION,
	F_DISPOSITIONS,
	F_PRIVACY,
	F_N
};

static const char *const fields[F_N] = {
	[F_TO] = "to", [F_APP] = "app", [F_CONTENT_TYPE] = "content_type",
	[F_BODY] = "body", [F_BODY_BASE64] = "body_base64", [F_URL] = "url",
	[F_METHOD] = "method", [F_TERMINALS] = "terminals", [F_TTL] = "ttl",
	[F_TOPIC] = "topic", [F_PRIORITY] = "priority",
	[F_FILENAME] = "filename", [F_DISPOSITION] = "disposition",
	[F_DISPOSITIONS] = "dispositions", [F_PRIVACY] = "privacy",
};


static int fail(char *why, size_t sz, const char *field, const char *msg)
{
	re_snprintf(why, sz, "%s: %s", field, msg);
	return EINVAL;
}


/* Printable ASCII only: nothing that could end or split a header */
static bool header_safe(const char *s, bool allow_quote)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
		if (!allow_quote && (*s == '"' || *s == '\\'))
			return false;
	}
	return true;
}


/** "sip:user@host" (no parameters, no port unless given) of a URI */
int pushjson_aor(char *buf, size_t sz, const char *uri)
{
	struct uri u;
	struct pl pl;

	if (!buf || !uri || strlen(uri) > 255 || !header_safe(uri, false))
		return EINVAL;

	pl_set_str(&pl, uri);
	if (uri_decode(&u, &pl) || !pl_isset(&u.host))
		return EINVAL;

	if (pl_strcasecmp(&u.scheme, "sip") &&
	    pl_strcasecmp(&u.scheme, "sips"))
		return EINVAL;

	if (!pl_isset(&u.user))
		return EINVAL;

	return aor_print(buf, sz, &u) ? EINVAL : 0;
}


static bool ctype_ok(const char *ct)
{
	struct pl pl, type, sub, rest;

	if (strlen(ct) > 128 || !header_safe(ct, true))
		return false;

	pl_set_str(&pl, ct);
	if (re_regex(pl.p, pl.l, "[^/]+/[^;]+[^]*", &type, &sub, &rest))
		return false;
	if (type.p != pl.p)
		return false;
	pl_trim_lws(&sub);
	return pl_is_token(&type) && pl_is_token(&sub);
}


static int get_str(const char **v, json_t *const *f, enum field i,
		   bool required, char *why, size_t sz)
{
	json_t *m = f[i];
	const char *name = fields[i];

	*v = NULL;
	if (!m || json_is_null(m))
		return required ? fail(why, sz, name, "missing") : 0;
	if (!json_is_string(m))
		return fail(why, sz, name, "must be a string");
	if (json_string_length(m) != strlen(json_string_value(m)))
		return fail(why, sz, name, "contains NUL");
	*v = json_string_value(m);
	return 0;
}


static int get_int(int64_t *v, bool *set, json_t *const *f, enum field i,
		   int64_t min, int64_t max, char *why, size_t sz)
{
	json_t *m = f[i];
	const char *name = fields[i];

	*set = false;
	if (!m || json_is_null(m))
		return 0;
	if (!json_is_integer(m))
		return fail(why, sz, name, "must be an integer");
	*v = json_integer_value(m);
	if (*v < min || *v > max) {
		char msg[64];
		re_snprintf(msg, sizeof(msg), "must be in %lld..%lld",
			    (long long)min, (long long)max);
		return fail(why, sz, name, msg);
	}
	*set = true;
	return 0;
}


/* Each member into its slot; one not known is refused */
static int members(json_t **f, json_t *obj, char *why, size_t sz)
{
	const char *key;
	json_t *m;

	memset(f, 0, F_N * sizeof(*f));
	json_object_foreach(obj, key, m) {
		size_t i = 0;

		while (i < F_N && strcmp(key, fields[i]))
			++i;
		if (i == F_N)
			return fail(why, sz, key, "unknown field");
		f[i] = m;   /* names are unique: JSON_REJECT_DUPLICATES */
	}
	return 0;
}


/* libre's decoder skips what it does not know; refuse it instead */
static bool b64_strict(const char *s, size_t n)
{
	size_t pad = 0;

	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char c = s[i];

		if (c == '=') {
			++pad;     /* only at the end: a later char fails */
			continue;
		}
		if (pad || !(isalnum((unsigned char)c) || c == '+' ||
			     c == '/'))
			return false;
	}
	return pad <= 2;
}


static int content(struct push_req *r, struct pushjson *pj,
		   json_t *const *f,
		   const struct pushjson_limits *lim, char *why, size_t sz)
{
	const char *body, *b64, *url;
	int n = 0, err;

	err  = get_str(&body, f, F_BODY, false, why, sz);
	err = err ? err : get_str(&b64, f, F_BODY_BASE64, false, why,
				  sz);
	err = err ? err : get_str(&url, f, F_URL, false, why, sz);
	if (err)
		return err;

	n = !!body + !!b64 + !!url;
	if (lim->files)
		return n ? fail(why, sz, body ? "body" : b64 ? "body_base64" :
				"url", "not with file parts") : 0;
	if (n != 1)
		return fail(why, sz, "body", n ? "give only one of body, "
			    "body_base64, url" : "missing (or body_base64, "
			    "url)");

	if (body) {
		r->body = (const uint8_t *)body;
		r->body_len = strlen(body);
	}
	else if (b64) {
		size_t ilen = strlen(b64), olen = ilen / 4 * 3 + 3;

		if (olen > lim->max_body + 3)
			return fail(why, sz, "body_base64", "too large");
		if (!b64_strict(b64, ilen))
			return fail(why, sz, "body_base64", "not base64");
		pj->body = mem_alloc(olen ? olen : 1, NULL);
		if (!pj->body)
			return ENOMEM;
		if (base64_decode(b64, ilen, pj->body, &olen))
			return fail(why, sz, "body_base64", "not base64");
		r->body = pj->body;
		r->body_len = olen;
	}
	else {
		if (strlen(url) > MAX_STR || !header_safe(url, false) ||
		    (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		    || strchr(url, ' '))
			return fail(why, sz, "url", "must be an http or https "
				    "URL");
		r->url = url;
	}

	if (r->body_len > lim->max_body)
		return fail(why, sz, body ? "body" : "body_base64",
			    "larger than --max-push-size");
	return 0;
}


/**
 * Validate one push object. EINVAL with *why naming the field;
 * the caller frees pj->body with mem_deref().
 */
int pushjson_decode(struct push_req *r, struct pushjson *pj, json_t *obj,
		    const struct pushjson_limits *lim, char *why,
		    size_t whysz)
{
	const char *to, *app, *ct, *method, *target, *topic;
	json_t *f[F_N];
	int64_t v;
	bool set;
	struct pl in, norm;
	int err;

	if (!r || !pj || !lim || !why)
		return EINVAL;

	memset(r, 0, sizeof(*r));
	memset(pj, 0, sizeof(*pj));
	if (!json_is_object(obj))
		return fail(why, whysz, "push", "must be a JSON object");

	err = members(f, obj, why, whysz);
	err = err ? err : get_str(&to, f, F_TO, true, why, whysz);
	if (err)
		return err;
	if (pushjson_aor(pj->aor, sizeof(pj->aor), to))
		return fail(why, whysz, "to", "not a SIP URI with a user "
			    "(sip:user@host)");
	r->aor = pj->aor;
	r->aor_canonical = true;   /* pushjson_aor() printed it */

	err = get_str(&app, f, F_APP, true, why, whysz);
	if (err)
		return err;
	pl_set_str(&in, app);
	if (strlen(app) > 64 || appid_normalize(&norm, &in) ||
	    !pl_is_token(&norm) || pl_strcpy(&norm, pj->app, sizeof(pj->app)))
		return fail(why, whysz, "app", "not an application ID "
			    "(e.g. mms.ua)");
	r->app = pj->app;

	/* with file parts it defaults to the first file's type */
	err = get_str(&ct, f, F_CONTENT_TYPE, !lim->files, why,
		      whysz);
	if (err)
		return err;
	if (ct && !ctype_ok(ct))
		return fail(why, whysz, "content_type", "not a media type "
			    "(type/subtype)");
	r->ctype = ct;

	err = content(r, pj, f, lim, why, whysz);
	if (err)
		return err;

	err = get_str(&method, f, F_METHOD, false, why, whysz);
	if (err)
		return err;
	if (method) {
		enum push_method pm;
		struct pl m;

		/* the names are the core's (method.c) */
		pl_set_str(&m, method);
		if (push_method_decode(&pm, &m))
			return fail(why, whysz, "method", "must be auto, "
				    "message, notify, refer or session");
	}
	r->method = method ? method : "auto";

	err = get_str(&target, f, F_TERMINALS, false, why, whysz);
	if (err)
		return err;
	if (target && (!*target || strlen(target) > MAX_TARGET ||
		       !header_safe(target, true)))
		return fail(why, whysz, "terminals", "must be \"all\", a GRUU "
			    "or a +sip.instance");
	r->target = target;

	err = get_str(&topic, f, F_TOPIC, false, why, whysz);
	if (err)
		return err;
	if (topic && (!*topic || strlen(topic) > MAX_TOPIC ||
		      !header_safe(topic, true)))
		return fail(why, whysz, "topic", "must be 1..128 printable "
			    "characters");
	r->topic = topic;

	err = get_str(&r->privacy, f, F_PRIVACY, false, why, whysz);
	if (err)
		return err;
	if (r->privacy && !ims_privacy_valid(r->privacy))
		return fail(why, whysz, "privacy", "must be priv-values "
			    "joined by ';': header, session, user, none, "
			    "critical, id (RFC 3323)");

	/* session mode: the file-selector name and Content-Disposition */
	err = get_str(&r->filename, f, F_FILENAME, false, why, whysz);
	if (err)
		return err;
	if (r->filename && !pushjson_name_ok(r->filename))
		return fail(why, whysz, "filename", "must be 1..255 printable "
			    "characters without '\"' or '/'");
	err = get_str(&r->disposition, f, F_DISPOSITION, false, why,
		      whysz);
	if (err)
		return err;
	if (r->disposition && strcmp(r->disposition, "render") &&
	    strcmp(r->disposition, "attachment"))
		return fail(why, whysz, "disposition", "must be render or "
			    "attachment");

	err = get_int(&v, &set, f, F_TTL, 1, lim->max_ttl, why, whysz);
	if (err)
		return err;
	r->ttl = set ? (uint32_t)v : 0;

	err = get_int(&v, &set, f, F_PRIORITY, 0, 9, why, whysz);
	if (err)
		return err;
	r->priority = set ? (int)v : 0;

	return 0;
}


bool pushjson_ctype_ok(const char *ct)
{
	return ct && ctype_ok(ct);
}


/** A file name that can go in an SDP file-selector and a file system */
bool pushjson_name_ok(const char *name)
{
	return name && *name && strlen(name) <= 255 &&
		header_safe(name, true) && !strchr(name, '"') &&
		!strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}
