/**
 * @file param.c  Bounded tokenizers for SIP header parameters and lists
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"


static inline bool lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/* RFC 3261 token characters */
bool token_char(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;

	return c && strchr("-.!%*_+`'~", c) != NULL;
}


bool pl_is_token(const struct pl *pl)
{
	size_t i;

	if (!pl || !pl->l)
		return false;

	for (i = 0; i < pl->l; i++) {
		if (!token_char(pl->p[i]))
			return false;
	}

	return true;
}


void pl_trim_lws(struct pl *pl)
{
	if (!pl || !pl->p)
		return;

	while (pl->l && lws(pl->p[0])) {
		++pl->p;
		--pl->l;
	}

	while (pl->l && lws(pl->p[pl->l - 1]))
		--pl->l;
}


static void skip_lws(struct pl *pl)
{
	while (pl->l && lws(pl->p[0]))
		pl_advance(pl, 1);
}


/* Length of a quoted-string starting at s[0] == '"', or 0 if unterminated */
static size_t quoted_len(const char *s, size_t l)
{
	size_t i;

	for (i = 1; i < l; i++) {
		if (s[i] == '\\') {
			++i;
			continue;
		}
		if (s[i] == '"')
			return i + 1;
	}

	return 0;
}


static bool value_char(char c)
{
	/* token / host / IPv6reference */
	return token_char(c) || c == ':' || c == '[' || c == ']';
}


/**
 * Take the next ";name[=value]" from rest.
 *
 * @param rest    Remaining parameters; advanced past the one returned
 * @param name    Parameter name
 * @param val     Value without quotes (empty when absent)
 * @param quoted  Optional: set when the value was a quoted-string
 *
 * @return 0, ENOENT at the end, or EBADMSG
 */
int param_next(struct pl *rest, struct pl *name, struct pl *val,
	       bool *quoted)
{
	if (!rest || !name || !val)
		return EINVAL;

	skip_lws(rest);
	if (!rest->l)
		return ENOENT;

	if (rest->p[0] != ';')
		return EBADMSG;

	pl_advance(rest, 1);
	skip_lws(rest);

	name->p = rest->p;
	name->l = 0;
	while (name->l < rest->l && token_char(rest->p[name->l]))
		++name->l;
	if (!name->l)
		return EBADMSG;
	pl_advance(rest, (ssize_t)name->l);
	skip_lws(rest);

	*val = pl_null;
	val->p = rest->p;
	if (quoted)
		*quoted = false;

	if (!rest->l || rest->p[0] != '=')
		goto check_end;

	pl_advance(rest, 1);
	skip_lws(rest);
	if (!rest->l)
		return EBADMSG;

	if (rest->p[0] == '"') {
		size_t ql = quoted_len(rest->p, rest->l);

		if (!ql)
			return EBADMSG;

		val->p = rest->p + 1;
		val->l = ql - 2;
		if (quoted)
			*quoted = true;
		pl_advance(rest, (ssize_t)ql);
	}
	else {
		val->p = rest->p;
		while (val->l < rest->l && value_char(rest->p[val->l]))
			++val->l;
		if (!val->l)
			return EBADMSG;
		pl_advance(rest, (ssize_t)val->l);
	}

 check_end:
	skip_lws(rest);
	if (rest->l && rest->p[0] != ';')
		return EBADMSG;

	return 0;
}


/**
 * Find a parameter by name (case-insensitive) in a ";a=b;c" list.
 *
 * @return 0 if found, ENOENT if absent, EBADMSG if the list is malformed
 */
int param_get(const struct pl *params, const char *name, struct pl *val,
	      bool *quoted)
{
	struct pl rest, n, v;
	bool q;
	int err;

	if (!params || !name || !val)
		return EINVAL;

	rest = *params;
	while (0 == (err = param_next(&rest, &n, &v, &q))) {
		if (!pl_strcasecmp(&n, name)) {
			*val = v;
			if (quoted)
				*quoted = q;
			return 0;
		}
	}

	return err;
}


/** "name=value" into its halves (split at the first '='); EINVAL without */
int kv_split(const struct pl *item, struct pl *k, struct pl *v)
{
	const char *eq = item ? pl_strchr(item, '=') : NULL;

	if (!eq || !k || !v)
		return EINVAL;
	k->p = item->p;
	k->l = (size_t)(eq - item->p);
	v->p = eq + 1;
	v->l = item->l - k->l - 1;
	return 0;
}


/**
 * Take the next item of a sep-separated list, skipping separators inside
 * quoted-strings and <...>. Items are trimmed; an empty item is EBADMSG.
 *
 * @return 0, ENOENT at the end, or EBADMSG
 */
int list_next(struct pl *rest, char sep, struct pl *item)
{
	size_t i = 0;
	int angle = 0;

	if (!rest || !item)
		return EINVAL;

	skip_lws(rest);
	if (!rest->l)
		return ENOENT;

	while (i < rest->l) {
		const char c = rest->p[i];

		if (c == '"') {
			size_t ql = quoted_len(rest->p + i, rest->l - i);

			if (!ql)
				return EBADMSG;
			i += ql;
			continue;
		}

		if (c == '<')
			++angle;
		else if (c == '>' && angle)
			--angle;
		else if (c == sep && !angle)
			break;

		++i;
	}

	if (angle)
		return EBADMSG;

	item->p = rest->p;
	item->l = i;
	pl_trim_lws(item);
	if (!item->l)
		return EBADMSG;

	if (i < rest->l) {
		/* a separator must be followed by another item */
		pl_advance(rest, (ssize_t)i + 1);
		skip_lws(rest);
		if (!rest->l)
			return EBADMSG;
	}
	else {
		pl_advance(rest, (ssize_t)i);
	}

	return 0;
}


/**
 * Decimal digits only, no sign, no overflow (libre's pl_u32 wraps).
 *
 * @return 0, or EBADMSG (empty, non-digit) or ERANGE (too large)
 */
int pl_u64_strict(const struct pl *pl, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!pl || !v)
		return EINVAL;

	if (!pl->p || !pl->l)
		return EBADMSG;

	for (i = 0; i < pl->l; i++) {
		const char c = pl->p[i];

		if (c < '0' || c > '9')
			return EBADMSG;

		if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return ERANGE;

		x = x * 10 + (uint64_t)(c - '0');
	}

	*v = x;
	return 0;
}


int pl_u32_strict(const struct pl *pl, uint32_t *v)
{
	uint64_t x;
	int err;

	if (!v)
		return EINVAL;

	err = pl_u64_strict(pl, &x);
	if (err)
		return err;

	if (x > UINT32_MAX)
		return ERANGE;

	*v = (uint32_t)x;
	return 0;
}


/** Index of name in a table of names (exact match), or -1 */
int name_index(const char *const *names, size_t n, const struct pl *name)
{
	size_t i;

	if (!names || !name)
		return -1;

	for (i = 0; i < n; i++) {
		if (!pl_strcmp(name, names[i]))
			return (int)i;
	}

	return -1;
}


/**
 * A name's index in names, for the *_decode() of an enum whose values are
 * the indexes: 0, EINVAL (no argument) or EBADMSG (not a name)
 */
int name_decode(int *i, const char *const *names, size_t n,
		const struct pl *name)
{
	if (!i || !name)
		return EINVAL;
	*i = name_index(names, n, name);
	return *i < 0 ? EBADMSG : 0;
}


/**
 * libre's sip_addr_decode(), plus the check it lacks: a name-addr opened
 * with '<' must be closed with '>'.
 */
int addr_decode(struct sip_addr *addr, const struct pl *hval)
{
	if (!addr || !hval)
		return EINVAL;

	if (sip_addr_decode(addr, hval) || !addr->uri.scheme.l)
		return EBADMSG;

	if (pl_strchr(hval, '<') && !pl_strchr(hval, '>'))
		return EBADMSG;

	return 0;
}
