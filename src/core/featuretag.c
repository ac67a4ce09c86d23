/**
 * @file featuretag.c  RFC 3840 feature tags and RFC 3841 Accept-Contact
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/featuretag.h"
#include "core/pfput.h"


/* RFC 3840 §10 base tags, written without the "+sip." prefix */
static const char *const base_tags[] = {
	"audio", "automata", "class", "duplex", "data", "control",
	"mobility", "description", "events", "priority", "methods",
	"schemes", "application", "video", "language", "type", "isfocus",
	"actor", "text", "extensions",
};


static struct pl tag_name(const struct pl *name)
{
	struct pl n = *name;

	if (n.l && n.p[0] == '+')
		pl_advance(&n, 1);

	return n;
}


bool ftag_is_feature(const struct pl *name)
{
	size_t i;

	if (!name || !name->l)
		return false;

	if (name->p[0] == '+')
		return name->l > 1;

	for (i = 0; i < ARRAY_SIZE(base_tags); i++) {
		if (!pl_strcasecmp(name, base_tags[i]))
			return true;
	}

	return false;
}


static int ftag_add(struct ftag_set *fs, const struct pl *name,
		    const struct pl *val, bool quoted)
{
	struct ftag *t;

	if (fs->n >= FTAG_MAX)
		return EOVERFLOW;

	t = &fs->v[fs->n++];
	t->name = *name;
	t->value = *val;
	t->quoted = quoted;

	return 0;
}


/**
 * Collect the feature parameters of a ";a=b;+c=\"d\"" list; other
 * parameters are skipped.
 */
int ftag_set_decode(struct ftag_set *fs, const struct pl *params)
{
	struct pl rest, n, v;
	bool q;
	int err;

	if (!fs || !params)
		return EINVAL;

	fs->n = 0;
	rest = *params;

	while (0 == (err = param_next(&rest, &n, &v, &q))) {
		if (!ftag_is_feature(&n))
			continue;

		err = ftag_add(fs, &n, &v, q);
		if (err)
			return err;
	}

	return err == ENOENT ? 0 : err;
}


static const struct ftag *find_pl(const struct ftag_set *fs,
				  const struct pl *name)
{
	const struct pl want = tag_name(name);
	size_t i;

	for (i = 0; i < fs->n; i++) {
		const struct pl have = tag_name(&fs->v[i].name);

		if (!pl_casecmp(&have, &want))
			return &fs->v[i];
	}

	return NULL;
}


/** Find a feature tag by name; a leading '+' is optional on either side */
const struct ftag *ftag_find(const struct ftag_set *fs, const char *name)
{
	struct pl want;

	if (!fs || !name)
		return NULL;

	pl_set_str(&want, name);

	return find_pl(fs, &want);
}


/** Next item of a tag-value-list ("a,b,!c"), trimmed */
int ftag_value_next(struct pl *list, struct pl *item)
{
	return list_next(list, ',', item);
}


/** True if the tag-value-list holds token (case-insensitive) */
bool ftag_value_has(const struct pl *list, const char *token)
{
	struct pl rest, item;

	if (!list || !token)
		return false;

	rest = *list;
	while (0 == ftag_value_next(&rest, &item)) {
		if (!pl_strcasecmp(&item, token))
			return true;
	}

	return false;
}


static int strip_angle(struct pl *pl)
{
	if (pl->l < 2 || pl->p[0] != '<' || pl->p[pl->l - 1] != '>')
		return EBADMSG;

	++pl->p;
	pl->l -= 2;

	return pl->l ? 0 : EBADMSG;
}


/**
 * Decode one Contact header value (one contact) and its SIP Push parameters.
 */
int contact_feat_decode(struct contact_feat *cf, const struct pl *hval)
{
	struct sip_addr addr;
	struct pl rest, n, v;
	bool q;
	int err;

	if (!cf || !hval)
		return EINVAL;

	memset(cf, 0, sizeof(*cf));

	if (addr_decode(&addr, hval))
		return EBADMSG;

	cf->uri = addr.auri;
	rest = addr.params;

	while (0 == (err = param_next(&rest, &n, &v, &q))) {

		if (!pl_strcasecmp(&n, "expires")) {
			if (pl_u32_strict(&v, &cf->expires))
				return EBADMSG;
			cf->has_expires = true;
			continue;
		}
		else if (!pl_strcasecmp(&n, "reg-id")) {
			if (pl_u32_strict(&v, &cf->reg_id) || !cf->reg_id)
				return EBADMSG;
			cf->has_reg_id = true;
			continue;
		}
		else if (!pl_strcasecmp(&n, "pub-gruu")) {
			if (!v.l)
				return EBADMSG;
			cf->pub_gruu = v;
			continue;
		}
		else if (!pl_strcasecmp(&n, "temp-gruu")) {
			if (!v.l)
				return EBADMSG;
			cf->temp_gruu = v;
			continue;
		}

		if (!ftag_is_feature(&n))
			continue;

		if (!pl_strcasecmp(&n, "+sip.instance")) {
			cf->instance = v;
			if (!q || strip_angle(&cf->instance))
				return EBADMSG;
		}
		else if (!pl_strcasecmp(&n, "+g.oma.pusheventapp")) {
			if (!v.l)
				return EBADMSG;
			cf->apps = v;
		}
		else if (!pl_strcasecmp(&n, "methods")) {
			if (!v.l)
				return EBADMSG;
			cf->methods = v;
		}

		err = ftag_add(&cf->tags, &n, &v, q);
		if (err)
			return err;
	}

	return err == ENOENT ? 0 : err;
}


/* An ARI that is not a token (a URN has ':') goes in the "<...>" form. */
static int print_app_value(struct re_printf *pf, const char *app)
{
	struct pl pl;

	pl_set_str(&pl, app);

	if (pl_is_token(&pl) || strchr(app, ','))
		return PF_LIT(pf, "\"") | pf_puts(pf, app) | PF_LIT(pf, "\"");

	return PF_LIT(pf, "\"<") | pf_puts(pf, app) | PF_LIT(pf, ">\"");
}


int contact_spec_print(struct re_printf *pf, const struct contact_spec *cs)
{
	int err;

	if (!pf || !cs || !cs->uri)
		return EINVAL;

	err = re_hprintf(pf, "<%s>", cs->uri);

	if (cs->apps) {
		err |= re_hprintf(pf, ";+g.oma.pusheventapp=");
		err |= print_app_value(pf, cs->apps);
	}
	if (cs->methods)
		err |= re_hprintf(pf, ";methods=\"%s\"", cs->methods);
	if (cs->instance)
		err |= re_hprintf(pf, ";+sip.instance=\"<%s>\"", cs->instance);
	if (cs->reg_id)
		err |= re_hprintf(pf, ";reg-id=%u", cs->reg_id);
	if (cs->expires >= 0)
		err |= re_hprintf(pf, ";expires=%lld",
				  (long long)cs->expires);

	return err;
}


/**
 * Decode the Accept-Contact values of one header field and append them to
 * predv[*np..maxn). Call once per Accept-Contact header.
 */
int ac_decode(struct ac_pred *predv, size_t maxn, size_t *np,
	      const struct pl *hval)
{
	struct pl rest, item;
	int err;

	if (!predv || !np || !hval)
		return EINVAL;

	rest = *hval;

	while (0 == (err = list_next(&rest, ',', &item))) {
		struct ac_pred *pr;
		struct pl params, n, v;
		bool q;

		if (*np >= maxn)
			return EOVERFLOW;

		if (item.p[0] != '*')
			return EBADMSG;

		pr = &predv[*np];
		memset(pr, 0, sizeof(*pr));

		params.p = item.p + 1;
		params.l = item.l - 1;

		while (0 == (err = param_next(&params, &n, &v, &q))) {
			if (!pl_strcasecmp(&n, "require")) {
				if (v.l || pr->require)
					return EBADMSG;
				pr->require = true;
			}
			else if (!pl_strcasecmp(&n, "explicit")) {
				if (v.l || pr->explicit_)
					return EBADMSG;
				pr->explicit_ = true;
			}
			else if (ftag_is_feature(&n)) {
				/* one instance of a tag per value */
				if (find_pl(&pr->tags, &n))
					return EBADMSG;
				err = ftag_add(&pr->tags, &n, &v, q);
				if (err)
					return err;
			}
		}
		if (err != ENOENT)
			return err;

		++*np;
	}

	return err == ENOENT ? 0 : err;
}


int ac_print(struct re_printf *pf, const struct ac_spec *as)
{
	int err;

	if (!pf || !as || !as->app)
		return EINVAL;

	/* per MESSAGE (and per size estimate): no format parsed */
	err  = PF_LIT(pf, "*;+g.oma.pusheventapp=");
	err |= print_app_value(pf, as->app);

	if (as->methods) {
		err |= PF_LIT(pf, ";methods=\"");
		err |= pf_puts(pf, as->methods);
		err |= PF_LIT(pf, "\"");
	}
	if (as->instance) {
		err |= PF_LIT(pf, ";+sip.instance=\"<");
		err |= pf_puts(pf, as->instance);
		err |= PF_LIT(pf, ">\"");
	}
	if (as->require)
		err |= PF_LIT(pf, ";require");
	if (as->explicit_)
		err |= PF_LIT(pf, ";explicit");

	return err;
}


/* A numeric value "#=5", "#>=3", "#<=4", "#1:5" as a closed interval */
static bool numeric(const struct pl *item, double *lo, double *hi)
{
	char buf[64], *end;
	const char *s;

	if (item->l < 3 || item->l >= sizeof(buf) || item->p[0] != '#')
		return false;

	pl_strcpy(item, buf, sizeof(buf));
	s = buf + 1;

	if (!strncmp(s, ">=", 2)) {
		*lo = strtod(s + 2, &end);
		*hi = 1e308;
	}
	else if (!strncmp(s, "<=", 2)) {
		*lo = -1e308;
		*hi = strtod(s + 2, &end);
	}
	else if (s[0] == '=') {
		*lo = *hi = strtod(s + 1, &end);
	}
	else {
		*lo = strtod(s, &end);
		if (*end != ':')
			return false;
		*hi = strtod(end + 1, &end);
	}

	return *end == '\0' && *lo <= *hi;
}


static bool item_match(struct pl p, struct pl c)
{
	const bool pneg = p.l && p.p[0] == '!';
	const bool cneg = c.l && c.p[0] == '!';
	double plo, phi, clo, chi;
	bool pnum, cnum, eq;

	if (pneg)
		pl_advance(&p, 1);
	if (cneg)
		pl_advance(&c, 1);

	/* two negations always share some value */
	if (pneg && cneg)
		return true;

	pnum = numeric(&p, &plo, &phi);
	cnum = numeric(&c, &clo, &chi);

	if (pnum != cnum)
		return false;

	if (pnum) {
		const bool overlap = plo <= chi && clo <= phi;

		if (!pneg && !cneg)
			return overlap;
		/* complement of N meets M unless M lies inside N */
		if (pneg)
			return !(clo >= plo && chi <= phi);
		return !(plo >= clo && phi <= chi);
	}

	eq = !pl_casecmp(&p, &c);

	return (pneg || cneg) ? !eq : eq;
}


static bool is_string_value(const struct ftag *t)
{
	return t->quoted && t->value.l >= 2 && t->value.p[0] == '<' &&
		t->value.p[t->value.l - 1] == '>';
}


static bool tag_match(const struct ftag *p, const struct ftag *c)
{
	static const struct pl truev = {"TRUE", 4};
	struct pl prest, pitem;

	/* string values compare exactly, case-sensitively */
	if (is_string_value(p) || is_string_value(c))
		return is_string_value(p) && is_string_value(c) &&
			!pl_cmp(&p->value, &c->value);

	prest = p->value.l ? p->value : truev;

	while (0 == ftag_value_next(&prest, &pitem)) {
		struct pl crest = c->value.l ? c->value : truev, citem;

		while (0 == ftag_value_next(&crest, &citem)) {
			if (item_match(pitem, citem))
				return true;
		}
	}

	return false;
}


/**
 * RFC 3841 §7.2.4 Accept-Contact processing of one contact. A feature tag
 * of a predicate the contact does not declare matches implicitly (any value);
 * "explicit" demands that the contact declares all of them. With "require",
 * a contact that fails is discarded; without, it only scores lower. The
 * score is the mean over predicates of Ns/Nt (declared/total tags), 0 for a
 * failed predicate.
 */
void ac_match(struct ac_result *res, const struct ac_pred *predv, size_t n,
	      const struct ftag_set *contact)
{
	static const struct ftag_set empty;
	double sum = 0;
	size_t i, j;

	if (!res)
		return;

	res->keep = true;
	res->score = 1.0;

	if (!predv || !n)
		return;

	if (!contact)
		contact = &empty;

	for (i = 0; i < n; i++) {
		const struct ac_pred *pr = &predv[i];
		size_t ns = 0;
		bool matched = true;

		for (j = 0; j < pr->tags.n; j++) {
			const struct ftag *pt = &pr->tags.v[j];
			const struct ftag *ct = find_pl(contact, &pt->name);

			if (!ct)
				continue;

			++ns;
			if (!tag_match(pt, ct))
				matched = false;
		}

		if (!matched || (pr->explicit_ && ns < pr->tags.n)) {
			if (pr->require)
				res->keep = false;
			continue;
		}

		sum += pr->tags.n ? (double)ns / (double)pr->tags.n : 1.0;
	}

	res->score = sum / (double)n;
}
