/**
 * @file contact.c  How the terminal is reached: the Contact its REGISTER
 *                  gives (feature tags, +sip.instance, reg-id, methods),
 *                  its GRUU once registered
 */
#include <errno.h>
#include <re.h>
#include <sippush/receiver.h>
#include "core/featuretag.h"
#include "contact.h"


static const char *const methods = RECEIVER_METHODS ",OPTIONS";


static void destructor(void *arg)
{
	struct contact *c = arg;

	mem_deref(c->aor);
	mem_deref(c->registrar);
	mem_deref(c->instance);
	mem_deref(c->apps);
}


int contact_alloc(struct contact **cp, struct sip *sip,
		  const struct receiver_conf *conf)
{
	struct contact *c;
	struct mbuf *mb = NULL;
	int err;

	c = mem_zalloc(sizeof(*c), destructor);
	if (!c)
		return ENOMEM;

	c->sip = sip;
	c->reg_id = conf->reg_id;
	err  = str_dup(&c->aor, conf->aor);
	err |= str_dup(&c->registrar, conf->registrar);
	err |= str_dup(&c->instance, conf->instance);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	mb = mbuf_alloc(128);
	for (size_t i = 0; mb && i < conf->appn; i++)
		err |= mbuf_printf(mb, "%s%s", i ? "," : "",
				   conf->appv[i].id);
	if (!mb || err) {
		err = ENOMEM;
		goto out;
	}
	mb->pos = 0;
	err = mbuf_strdup(mb, &c->apps, mb->end);

 out:
	mem_deref(mb);
	if (err)
		mem_deref(c);
	else
		*cp = c;
	return err;
}


int contact_print(struct re_printf *pf, const struct contact *c)
{
	struct contact_spec cs = {
		.instance = c->instance,
		.apps = c->withdrawn ? NULL : c->apps,
		.methods = methods,
		.reg_id = c->reg_id,
		.expires = -1,
	};
	struct sa laddr;
	char uri[256];
	struct uri ru, reg;
	const struct pl tpn = PL("transport");
	struct pl pl, tp;
	bool tls = false, tcp = false;

	/* a registrar reached over TLS (TCP) reaches us over TLS (TCP) too:
	 * a request on a new connection from it is still not on our flow,
	 * but it is not UDP, which no --trust believes by default */
	pl_set_str(&pl, c->registrar);
	if (!uri_decode(&reg, &pl)) {
		bool has_tp = !uri_param_get(&reg.params, &tpn, &tp);

		tls = !pl_strcasecmp(&reg.scheme, "sips") ||
			(has_tp && !pl_strcasecmp(&tp, "tls"));
		tcp = !tls && has_tp && !pl_strcasecmp(&tp, "tcp");
	}

	pl_set_str(&pl, c->aor);
	if (uri_decode(&ru, &pl))
		return EINVAL;
	if (sip_transp_laddr(c->sip, &laddr, tls ? SIP_TRANSP_TLS : tcp ?
			     SIP_TRANSP_TCP : SIP_TRANSP_UDP, NULL))
		return EINVAL;
	re_snprintf(uri, sizeof(uri), "sip:%r@%J%s", &ru.user, &laddr,
		    tls ? ";transport=tls" : tcp ? ";transport=tcp" : "");
	cs.uri = uri;
	return contact_spec_print(pf, &cs);
}
