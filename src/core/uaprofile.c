/**
 * @file uaprofile.c  The ua-profile Event header (RFC 6080 + OMA oma-app)
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/appid.h"
#include "core/uaprofile.h"


/* event-type = event-package *("." event-template), token characters */
static int decode_package(struct pl *pkg, struct pl *rest,
			  const struct pl *hval)
{
	size_t i = 0;

	*rest = *hval;
	pl_trim_lws(rest);

	while (i < rest->l && token_char(rest->p[i]))
		++i;

	if (!i)
		return EBADMSG;

	pkg->p = rest->p;
	pkg->l = i;
	pl_advance(rest, (ssize_t)i);

	return 0;
}


static int set_once(struct pl *dst, const struct pl *val)
{
	if (pl_isset(dst))
		return EBADMSG;   /* a parameter given twice */

	if (!val->l)
		return EBADMSG;

	*dst = *val;
	return 0;
}


/**
 * Decode an Event header value. Any package is decoded; callers check
 * the package with pl_strcasecmp(&ev->package, "ua-profile").
 */
int uaprof_event_decode(struct uaprof_event *ev, const struct pl *hval)
{
	struct pl rest, n, v;
	bool q;
	int err;

	if (!ev || !hval)
		return EINVAL;

	memset(ev, 0, sizeof(*ev));

	err = decode_package(&ev->package, &rest, hval);
	if (err)
		return err;

	while (0 == (err = param_next(&rest, &n, &v, &q))) {

		if (!pl_strcasecmp(&n, "profile-type")) {
			err = set_once(&ev->profile_type, &v);
		}
		else if (!pl_strcasecmp(&n, "event-app-id")) {
			struct pl lr = v, item, id;

			err = set_once(&ev->app_ids, &v);
			while (!err && 0 == (err = list_next(&lr, ',', &item)))
				err = appid_normalize(&id, &item);
			if (err == ENOENT)
				err = 0;
		}
		else if (!pl_strcasecmp(&n, "vendor")) {
			err = set_once(&ev->vendor, &v);
		}
		else if (!pl_strcasecmp(&n, "model")) {
			err = set_once(&ev->model, &v);
		}
		else if (!pl_strcasecmp(&n, "version")) {
			err = set_once(&ev->version, &v);
		}
		else if (!pl_strcasecmp(&n, "dev-cap")) {
			err = set_once(&ev->dev_cap, &v);
		}
		else if (!pl_strcasecmp(&n, "id")) {
			err = set_once(&ev->id, &v);
		}
		else if (!pl_strcasecmp(&n, "effective-by")) {
			if (ev->has_effective_by ||
			    pl_u32_strict(&v, &ev->effective_by))
				err = EBADMSG;
			ev->has_effective_by = true;
		}
		/* other generic parameters are allowed and ignored */

		if (err)
			return err;
	}

	return err == ENOENT ? 0 : err;
}


bool uaprof_is_oma_app(const struct uaprof_event *ev)
{
	return ev && !pl_strcasecmp(&ev->package, "ua-profile") &&
		!pl_strcasecmp(&ev->profile_type, "oma-app");
}


/**
 * The oma-app rule (TS §7.2): dev-cap when a UAProf exists, otherwise all of
 * vendor, model and version.
 *
 * @return 0 if satisfied, else EPROTO
 */
int uaprof_check_caps(const struct uaprof_event *ev)
{
	if (!ev)
		return EINVAL;

	if (pl_isset(&ev->dev_cap))
		return 0;

	if (pl_isset(&ev->vendor) && pl_isset(&ev->model) &&
	    pl_isset(&ev->version))
		return 0;

	return EPROTO;
}


static int print_quoted(struct re_printf *pf, const char *name,
			const char *val)
{
	if (!val)
		return 0;

	/* a quoted-string cannot carry a bare quote or backslash here */
	if (strpbrk(val, "\"\\\r\n"))
		return EINVAL;

	return re_hprintf(pf, ";%s=\"%s\"", name, val);
}


int uaprof_event_print(struct re_printf *pf, const struct uaprof_spec *us)
{
	int err;

	if (!pf || !us || !us->app_id)
		return EINVAL;

	if (!us->dev_cap && !(us->vendor && us->model && us->version))
		return EINVAL;

	err = re_hprintf(pf, "ua-profile;profile-type=%s",
			 us->profile_type ? us->profile_type : "oma-app");
	if (err)
		return err;

	err = print_quoted(pf, "event-app-id", us->app_id);
	if (!err) err = print_quoted(pf, "vendor", us->vendor);
	if (!err) err = print_quoted(pf, "model", us->model);
	if (!err) err = print_quoted(pf, "version", us->version);
	if (!err) err = print_quoted(pf, "dev-cap", us->dev_cap);

	return err;
}
