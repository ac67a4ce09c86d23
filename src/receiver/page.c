/**
 * @file page.c  Page-mode pushes (MESSAGE): P-Asserted-Identity from a
 *               trusted peer (else 403), the application from
 *               Accept-Contact (unknown: 404), then the push in its body
 */
#include <errno.h>
#include <re.h>
#include <sippush/receiver.h>
#include "app.h"
#include "bodypush.h"
#include "page.h"
#include "trust.h"


/** A MESSAGE (arg: struct page): answered here or by bodypush.c */
void page_message(const struct sip_msg *msg, void *arg)
{
	const struct page *pg = arg;
	const struct receiver_app *app;
	char from[256];
	int err;

	/* identity first: nobody learns which applications exist */
	err = trust_asserted(from, sizeof(from), pg->trust, msg, false);
	if (err == EPERM) {
		(void)sip_reply(pg->sip, msg, 403, "No trusted "
				"P-Asserted-Identity");
		return;
	}
	if (err) {
		(void)sip_reply(pg->sip, msg, 400, "Bad P-Asserted-Identity");
		return;
	}

	err = app_pick(&app, pg->conf, msg);
	if (err == EBADMSG) {
		(void)sip_reply(pg->sip, msg, 400, "Bad Accept-Contact");
		return;
	}
	if (err) {
		(void)sip_reply(pg->sip, msg, 404, "Unknown push "
				"application");
		return;
	}

	(void)bodypush_push(pg->bodypush, msg, app, "MESSAGE");
}
