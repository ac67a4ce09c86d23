/**
 * @file src/receiver/app.h  The terminal's push applications: which one a
 *                           request is for
 */

struct pl;
struct receiver_app;
struct receiver_conf;
struct sip_msg;

const struct receiver_app *app_find(const struct receiver_conf *conf,
				    const struct pl *id);
int app_pick(const struct receiver_app **appp,
	     const struct receiver_conf *conf, const struct sip_msg *msg);
