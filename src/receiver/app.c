/**
 * @file app.c  The terminal's push applications: which one a request is
 *              for (page and session mode)
 */
#include <errno.h>
#include <re.h>
#include <sippush/receiver.h>
#include "core/appid.h"
#include "core/featuretag.h"
#include "app.h"


/* The application Accept-Contact names, or ENOENT when it names none */
static int ac_app(struct pl *app, const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_ACCEPT_CONTACT);
	struct ac_pred predv[AC_MAX];
	size_t n = 0;

	if (!h)
		return ENOENT;
	if (ac_decode(predv, ARRAY_SIZE(predv), &n, &h->val))
		return EBADMSG;

	for (size_t i = 0; i < n; i++) {
		const struct ftag *t = ftag_find(&predv[i].tags,
						 "+g.oma.pusheventapp");
		struct pl rest, item;

		if (!t)
			continue;
		rest = t->value;
		if (ftag_value_next(&rest, &item))
			return EBADMSG;
		return appid_normalize(app, &item) ? EBADMSG : 0;
	}
	return ENOENT;
}


const struct receiver_app *app_find(const struct receiver_conf *conf,
				    const struct pl *id)
{
	for (size_t i = 0; i < conf->appn; i++) {
		struct pl a;

		pl_set_str(&a, conf->appv[i].id);
		if (appid_equal(&a, id))
			return &conf->appv[i];
	}
	return NULL;
}


/**
 * The application a request is for: Accept-Contact's, else the first one
 * configured. EBADMSG: a bad Accept-Contact (400); ENOENT: an application
 * this terminal does not have (404).
 */
int app_pick(const struct receiver_app **appp,
	     const struct receiver_conf *conf, const struct sip_msg *msg)
{
	struct pl id;
	int err;

	err = ac_app(&id, msg);
	if (err == EBADMSG)
		return EBADMSG;
	if (err)
		pl_set_str(&id, conf->appv[0].id);   /* the default app */

	*appp = app_find(conf, &id);
	return *appp ? 0 : ENOENT;
}
