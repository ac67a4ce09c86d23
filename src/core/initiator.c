/**
 * @file initiator.c  Named push initiators: configuration, credentials,
 *                    applications, rate
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/appid.h"
#include "core/param.h"
#include "core/initiator.h"


static int set(char *dst, size_t sz, const struct pl *v)
{
	if (!v->l || v->l >= sz)
		return EINVAL;
	for (size_t i = 0; i < v->l; i++)
		if ((unsigned char)v->p[i] <= 0x20 || v->p[i] == '"')
			return EINVAL;
	return pl_strcpy(v, dst, sz);
}


/** "NAME key=value ... [trusted] [admin]" */
int initiator_decode(struct initiator *in, const char *spec)
{
	struct pl rest, word;
	int err = 0;

	if (!in || !spec)
		return EINVAL;

	memset(in, 0, sizeof(*in));
	pl_set_str(&rest, spec);
	while (rest.l && !err) {
		struct pl k, v;

		while (rest.l && (rest.p[0] == ' ' || rest.p[0] == '\t'))
			pl_advance(&rest, 1);
		if (!rest.l)
			break;
		word.p = rest.p;
		word.l = 0;
		while (word.l < rest.l && rest.p[word.l] != ' ' &&
		       rest.p[word.l] != '\t')
			++word.l;
		pl_advance(&rest, (ssize_t)word.l);

		if (!in->name[0]) {
			if (pl_strchr(&word, '=') || !pl_is_token(&word))
				return EINVAL;
			err = set(in->name, sizeof(in->name), &word);
			continue;
		}
		if (!pl_strcmp(&word, "trusted")) {
			in->trusted = true;
			continue;
		}
		if (!pl_strcmp(&word, "admin")) {
			in->admin = true;
			continue;
		}
		if (kv_split(&word, &k, &v))
			return EINVAL;

		if (!pl_strcmp(&k, "token"))
			err = set(in->token, sizeof(in->token), &v);
		else if (!pl_strcmp(&k, "token-file")) {
			err = set(in->token, sizeof(in->token), &v);
			in->token_file = true;
		}
		else if (!pl_strcmp(&k, "pass-file")) {
			err = set(in->pass, sizeof(in->pass), &v);
			in->pass_file = true;
		}
		else if (!pl_strcmp(&k, "token-env")) {
			err = set(in->token, sizeof(in->token), &v);
			in->token_env = true;
		}
		else if (!pl_strcmp(&k, "pass-env")) {
			err = set(in->pass, sizeof(in->pass), &v);
			in->pass_env = true;
		}
		else if (!pl_strcmp(&k, "user"))
			err = set(in->user, sizeof(in->user), &v);
		else if (!pl_strcmp(&k, "pass"))
			err = set(in->pass, sizeof(in->pass), &v);
		else if (!pl_strcmp(&k, "apps"))
			err = set(in->apps, sizeof(in->apps), &v);
		else if (!pl_strcmp(&k, "identity")) {
			struct uri u;

			err = set(in->identity, sizeof(in->identity), &v);
			if (!err && uri_decode(&u, &v))
				err = EINVAL;
		}
		else if (!pl_strcmp(&k, "rate"))
			err = pl_u32_strict(&v, &in->rate) ? EINVAL : 0;
		else
			err = EINVAL;
	}

	if (!err && (!in->name[0] || (!in->token[0] && !in->user[0]) ||
		     (!in->user[0] != !in->pass[0])))
		err = EINVAL;
	return err;
}


/* Equal, in time that does not depend on where they differ */
static bool same(const char *a, size_t al, const char *b)
{
	const size_t bl = strlen(b);
	uint8_t diff = al != bl;

	for (size_t i = 0; i < bl; i++)
		diff |= (uint8_t)(b[i] ^ (i < al ? a[i] : 0));
	return !diff && bl;
}


/**
 * Who sends this Authorization header: "Bearer TOKEN" or "Basic
 * base64(user:pass)". NULL when nobody.
 */
struct initiator *initiator_auth(struct initiator *v, size_t n,
				 const char *authz)
{
	struct initiator *found = NULL;
	char dec[256];
	size_t dl = sizeof(dec) - 1;

	if (!v || !authz)
		return NULL;

	if (!strncmp(authz, "Bearer ", 7)) {
		const char *t = authz + 7;

		/* every one compared, so timing says nothing either */
		for (size_t i = 0; i < n; i++)
			if (v[i].token[0] && same(t, strlen(t), v[i].token))
				found = &v[i];
		return found;
	}

	if (!strncmp(authz, "Basic ", 6)) {
		const char *colon;

		if (base64_decode(authz + 6, strlen(authz + 6),
				  (uint8_t *)dec, &dl))
			return NULL;
		dec[dl] = '\0';
		colon = strchr(dec, ':');
		if (!colon)
			return NULL;
		for (size_t i = 0; i < n; i++)
			if (v[i].user[0] &&
			    same(dec, (size_t)(colon - dec), v[i].user) &&
			    same(colon + 1, strlen(colon + 1), v[i].pass))
				found = &v[i];
		return found;
	}

	return NULL;
}


bool initiator_app_ok(const struct initiator *in, const char *app)
{
	struct pl list, a;

	if (!in || !in->apps[0])
		return true;
	pl_set_str(&list, in->apps);
	pl_set_str(&a, app);
	return appid_list_has(&list, &a);
}


/** Take n pushes from the initiator's bucket; false: over its rate */
bool initiator_take(struct initiator *in, uint64_t now_ms, uint32_t n)
{
	if (!in || !in->rate)
		return true;

	if (!in->last_ms)
		in->tokens = in->rate;
	else
		in->tokens += (double)(now_ms - in->last_ms) * in->rate /
			1000.;
	if (in->tokens > in->rate)
		in->tokens = in->rate;
	in->last_ms = now_ms;

	if (in->tokens < n)
		return false;
	in->tokens -= n;
	return true;
}
