/**
 * @file msrpsdp.c  SDP offer/answer for MSRP file pushes
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/outcome.h"   /* before method.h, which uses it */
#include "core/method.h"
#include "core/msrpsetup.h"
#include "core/msrpsdp.h"


static bool safe(const char *v)
{
	return v && !strpbrk(v, "\r\n\"");
}


static int file_print(struct re_printf *pf, const struct msrpsdp_file *f,
		      const struct msrpsdp_spec *s)
{
	int err;

	err  = re_hprintf(pf, "m=message %u %s *\r\n", f->port,
			  s->tls ? "TCP/TLS/MSRP" : "TCP/MSRP");
	err |= re_hprintf(pf, "a=%s\r\n", s->answer ? "recvonly" : "sendonly");
	err |= re_hprintf(pf, "a=accept-types:%s\r\n", f->type);
	if (f->port || !s->answer)
		err |= re_hprintf(pf, "a=path:%s\r\n", f->path);
	if (f->port && msrp_setup_name(f->setup))
		err |= re_hprintf(pf, "a=setup:%s\r\n",
				  msrp_setup_name(f->setup));
	if (s->answer && s->max_size)
		err |= re_hprintf(pf, "a=max-size:%llu\r\n",
				  (unsigned long long)s->max_size);

	/* RFC 5547 §6: the selector identifies the file in both */
	err |= re_hprintf(pf, "a=file-selector:");
	if (f->name)
		err |= re_hprintf(pf, "name:\"%s\" ", f->name);
	err |= re_hprintf(pf, "type:%s size:%llu", f->type,
			  (unsigned long long)f->size);
	if (f->sha1) {
		err |= re_hprintf(pf, " hash:sha-1:");
		for (int i = 0; i < 20; i++)
			err |= re_hprintf(pf, "%s%02X", i ? ":" : "",
					  f->sha1[i]);
	}
	err |= re_hprintf(pf, "\r\n");
	err |= re_hprintf(pf, "a=file-transfer-id:%s\r\n", f->ftid);
	if (f->disposition)
		err |= re_hprintf(pf, "a=file-disposition:%s\r\n",
				  f->disposition);
	return err;
}


int msrpsdp_print(struct re_printf *pf, const struct msrpsdp_spec *s)
{
	const bool v6 = s && s->addr && strchr(s->addr, ':');
	int err;

	if (!pf || !s || !s->addr || !s->filev || !s->n ||
	    s->n > MSRPSDP_MAX)
		return EINVAL;

	for (size_t i = 0; i < s->n; i++) {
		const struct msrpsdp_file *f = &s->filev[i];

		if (!safe(f->type) || !safe(f->ftid) ||
		    (f->name && !safe(f->name)) ||
		    (f->disposition && !safe(f->disposition)) ||
		    ((f->port || !s->answer) && !safe(f->path)))
			return EINVAL;
	}

	err  = re_hprintf(pf, "v=0\r\n");
	err |= re_hprintf(pf, "o=- %llu %llu IN IP%c %s\r\n",
			  (unsigned long long)s->sess_id,
			  (unsigned long long)s->sess_ver, v6 ? '6' : '4',
			  s->addr);
	err |= re_hprintf(pf, "s=-\r\n");
	err |= re_hprintf(pf, "c=IN IP%c %s\r\n", v6 ? '6' : '4', s->addr);
	err |= re_hprintf(pf, "t=0 0\r\n");
	if (s->fp) {
		/* RFC 4572: what the TLS certificate must hash to */
		err |= re_hprintf(pf, "a=fingerprint:SHA-256 ");
		for (int i = 0; i < 32; i++)
			err |= re_hprintf(pf, "%s%02X", i ? ":" : "", s->fp[i]);
		err |= re_hprintf(pf, "\r\n");
	}
	for (size_t i = 0; i < s->n && !err; i++)
		err = file_print(pf, &s->filev[i], s);
	return err;
}


static int hash_decode(uint8_t *md, size_t n, const struct pl *v)
{
	size_t k = 0;

	/* n hex pairs separated by colons */
	if (v->l != n * 3 - 1)
		return EBADMSG;
	for (size_t i = 0; i < v->l; i += 3) {
		char hx[3] = {v->p[i], v->p[i + 1], 0};

		if (!isxdigit((unsigned char)hx[0]) ||
		    !isxdigit((unsigned char)hx[1]) ||
		    (i + 2 < v->l && v->p[i + 2] != ':'))
			return EBADMSG;
		md[k++] = (uint8_t)strtoul(hx, NULL, 16);
	}
	return 0;
}


/* file-selector: name:"..." type:x/y size:N hash:sha-1:XX:... (any order) */
static int selector_decode(struct msrpsdp_media *m, const struct pl *v)
{
	struct pl rest = *v;

	while (rest.l) {
		struct pl item, key, val;

		while (rest.l && rest.p[0] == ' ')
			pl_advance(&rest, 1);
		if (!rest.l)
			break;

		key.p = rest.p;
		key.l = 0;
		while (key.l < rest.l && (isalpha((unsigned char)
						  rest.p[key.l]) ||
					  rest.p[key.l] == '-'))
			++key.l;
		if (!key.l || key.l == rest.l || rest.p[key.l] != ':')
			return EBADMSG;
		pl_advance(&rest, (ssize_t)key.l + 1);

		if (rest.l && rest.p[0] == '"') {
			const char *q = memchr(rest.p + 1, '"', rest.l - 1);

			if (!q)
				return EBADMSG;
			val.p = rest.p + 1;
			val.l = (size_t)(q - val.p);
			pl_advance(&rest, (ssize_t)val.l + 2);
		}
		else {
			const char *sp = memchr(rest.p, ' ', rest.l);

			val.p = rest.p;
			val.l = sp ? (size_t)(sp - rest.p) : rest.l;
			pl_advance(&rest, (ssize_t)val.l);
		}
		item = val;

		if (!pl_strcasecmp(&key, "name"))
			m->name = item;
		else if (!pl_strcasecmp(&key, "type"))
			m->type = item;
		else if (!pl_strcasecmp(&key, "size")) {
			if (pl_u64_strict(&item, &m->size))
				return EBADMSG;
			m->has_size = true;
		}
		else if (!pl_strcasecmp(&key, "hash")) {
			const char *c = pl_strchr(&item, ':');
			struct pl alg, hex;

			if (!c)
				return EBADMSG;
			alg.p = item.p;
			alg.l = (size_t)(c - item.p);
			hex.p = c + 1;
			hex.l = item.l - alg.l - 1;
			if (!pl_strcasecmp(&alg, "sha-1")) {
				if (hash_decode(m->sha1, 20, &hex))
					return EBADMSG;
				m->has_hash = true;
			}
		}
	}
	return 0;
}


static int attr(struct msrpsdp_media *m, const struct pl *name,
		const struct pl *val)
{
	if (!pl_strcasecmp(name, "accept-types"))
		m->accept_types = *val;
	else if (!pl_strcasecmp(name, "path"))
		m->path = *val;
	else if (!pl_strcasecmp(name, "sendonly") ||
		 !pl_strcasecmp(name, "recvonly") ||
		 !pl_strcasecmp(name, "sendrecv") ||
		 !pl_strcasecmp(name, "inactive"))
		m->dir = *name;
	else if (!pl_strcasecmp(name, "file-selector"))
		return selector_decode(m, val);
	else if (!pl_strcasecmp(name, "file-transfer-id"))
		m->ftid = *val;
	else if (!pl_strcasecmp(name, "file-disposition"))
		m->disposition = *val;
	else if (!pl_strcasecmp(name, "max-size"))
		return pl_u64_strict(val, &m->max_size) ? EBADMSG : 0;
	else if (!pl_strcasecmp(name, "setup"))
		return msrp_setup_decode(&m->setup, val);
	return 0;
}


/**
 * Decode what an MSRP push needs from an SDP body. Other m-lines are
 * kept (msrp false) so an answer can refuse them by position.
 */
int msrpsdp_decode(struct msrpsdp *sd, const struct pl *body)
{
	struct msrpsdp_media *m = NULL;
	struct pl rest, line;
	int err;

	if (!sd || !body)
		return EINVAL;

	memset(sd, 0, sizeof(*sd));
	rest = *body;
	while (rest.l) {
		const char *nl = memchr(rest.p, '\n', rest.l);

		line.p = rest.p;
		line.l = nl ? (size_t)(nl - rest.p) : rest.l;
		pl_advance(&rest, (ssize_t)line.l + (nl ? 1 : 0));
		if (line.l && line.p[line.l - 1] == '\r')
			--line.l;
		if (!line.l)
			continue;
		if (line.l < 2 || line.p[1] != '=')
			return EBADMSG;

		switch (line.p[0]) {

		case 'c': {
			struct pl addr;

			if (re_regex(line.p, line.l, "c=IN IP[0-9]+ [^ ]+",
				     NULL, &addr))
				return EBADMSG;
			if (m)
				break;   /* a media-level c= is not used */
			sd->addr = addr;
			break;
		}

		case 'm': {
			struct pl media, port, proto;
			uint32_t p;

			if (sd->n >= MSRPSDP_MAX)
				return EOVERFLOW;
			m = &sd->m[sd->n++];
			if (re_regex(line.p, line.l,
				     "m=[^ ]+ [0-9]+ [^ ]+", &media, &port,
				     &proto) || pl_u32_strict(&port, &p) ||
			    p > 65535)
				return EBADMSG;
			m->port = (uint16_t)p;
			m->proto = proto;
			m->msrp = !pl_strcasecmp(&media, "message") &&
				(!pl_strcasecmp(&proto, "TCP/MSRP") ||
				 !pl_strcasecmp(&proto, "TCP/TLS/MSRP"));
			break;
		}

		case 'a': {
			struct pl name, val = PL_INIT, alg, hex;
			const char *colon = memchr(line.p, ':', line.l);

			if (!re_regex(line.p, line.l,
				      "a=fingerprint:[^ ]+ [0-9A-Fa-f:]+",
				      &alg, &hex)) {
				if (!pl_strcasecmp(&alg, "SHA-256")) {
					if (hash_decode(sd->fp, 32, &hex))
						return EBADMSG;
					sd->has_fp = true;
				}
				break;
			}
			if (!m && !re_regex(line.p, line.l, "a=setup:[^ ]*",
					    &val)) {
				if (msrp_setup_decode(&sd->setup, &val))
					return EBADMSG;
				break;
			}
			if (!m)
				break;   /* other session-level attributes */
			name.p = line.p + 2;
			name.l = colon ? (size_t)(colon - name.p) :
				line.l - 2;
			if (colon) {
				val.p = colon + 1;
				val.l = line.l - (size_t)(val.p - line.p);
			}
			err = attr(m, &name, &val);
			if (err)
				return err;
			break;
		}

		default:
			break;
		}
	}

	/* a media-level a=setup overrides the session's (RFC 4145 §4) */
	for (size_t i = 0; i < sd->n; i++)
		if (sd->m[i].setup == MSRP_SETUP_NONE)
			sd->m[i].setup = sd->setup;

	return sd->n ? 0 : EBADMSG;
}


/* Add one type to a space-separated list, once */
static int add_type(char *buf, size_t sz, size_t *len, const struct pl *t)
{
	struct pl rest, have;

	pl_set_str(&rest, buf);
	while (!re_regex(rest.p, rest.l, "[^ ]+", &have)) {
		if (!pl_casecmp(&have, t))
			return 0;
		pl_advance(&rest, have.p + have.l - rest.p);
	}
	if (*len + (*len ? 1 : 0) + t->l >= sz)
		return ENAMETOOLONG;
	*len += (size_t)re_snprintf(buf + *len, sz - *len, "%s%r",
				    *len ? " " : "", t);
	return 0;
}


/* One offered type against the application's list (ctype_accepted()'s
 * form, comma separated, wildcards and parameters allowed): what of it
 * is taken */
static int meet_one(char *buf, size_t sz, size_t *len, const struct pl *t,
		    const struct pl *acc)
{
	const bool any = !pl_strcmp(t, "*");
	const bool wild = t->l > 2 && t->p[t->l - 1] == '*' &&
		t->p[t->l - 2] == '/';
	struct pl rest = *acc, item;
	char one[128];
	int err = 0;

	if (!any && !wild) {
		if (pl_strcpy(t, one, sizeof(one)))
			return 0;
		return ctype_accepted(acc, one) ? add_type(buf, sz, len, t) : 0;
	}

	/* "*", or a type with a star subtype: the application's own types
	 * within it */
	while (!err && !list_next(&rest, ',', &item)) {
		const char *semi = pl_strchr(&item, ';');
		const char *slash;

		if (semi)
			item.l = (size_t)(semi - item.p);
		pl_trim_lws(&item);
		if (!pl_strcmp(&item, "*/*") || !pl_strcmp(&item, "*")) {
			err = add_type(buf, sz, len, t);
			continue;
		}
		slash = pl_strchr(&item, '/');
		if (!slash)
			continue;
		if (any || ((size_t)(slash - item.p) == t->l - 2 &&
			    !strncasecmp(item.p, t->p, t->l - 2)))
			err = add_type(buf, sz, len, &item);
	}
	return err;
}


/**
 * What an offer's a=accept-types (RFC 4975 §8: types separated by
 * spaces, "*" any, a star subtype any of a type) and an application's
 * types (a comma list; NULL or "": any) have in common, space separated
 * into buf for the answer's a=accept-types.
 *
 * @return 0, ENOENT when nothing, ENAMETOOLONG when buf is too small
 */
int msrpsdp_accept_meet(char *buf, size_t sz, const struct pl *types,
			const char *accept)
{
	struct pl acc, rest, t;
	size_t len = 0;
	int err = 0;

	if (!buf || !sz || !types)
		return EINVAL;

	buf[0] = '\0';
	pl_set_str(&acc, accept ? accept : "");
	rest = *types;
	while (!err && !re_regex(rest.p, rest.l, "[^ \t]+", &t)) {
		pl_advance(&rest, t.p + t.l - rest.p);
		err = acc.l ? meet_one(buf, sz, &len, &t, &acc) :
			add_type(buf, sz, &len, &t);
	}
	if (err)
		return err;
	return len ? 0 : ENOENT;
}
