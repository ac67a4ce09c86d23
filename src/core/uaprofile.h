/**
 * @file uaprofile.h  The ua-profile Event header (RFC 6080 + OMA oma-app)
 *
 * Event: ua-profile;profile-type=oma-app;event-app-id="mms.ua";
 *        vendor="...";model="...";version="...";dev-cap="http://..."
 *
 * Values are views without quotes. profile-type and event-app-id may be a
 * token or a quoted string; event-app-id may be a quoted comma list.
 */

struct uaprof_event {
	struct pl package;       /**< "ua-profile"                          */
	struct pl profile_type;  /**< "oma-app", "device", ...              */
	struct pl app_ids;       /**< event-app-id list, raw                */
	struct pl vendor;
	struct pl model;
	struct pl version;
	struct pl dev_cap;       /**< UAProf URL                            */
	struct pl id;            /**< RFC 6665 id parameter                 */
	uint32_t effective_by;   /**< NOTIFY only                           */
	bool has_effective_by;
};

/** What a subscriber puts in its SUBSCRIBE Event header */
struct uaprof_spec {
	const char *profile_type;   /**< NULL: "oma-app"                    */
	const char *app_id;
	const char *vendor;
	const char *model;
	const char *version;
	const char *dev_cap;
};

int  uaprof_event_decode(struct uaprof_event *ev, const struct pl *hval);
int  uaprof_event_print(struct re_printf *pf, const struct uaprof_spec *us);
bool uaprof_is_oma_app(const struct uaprof_event *ev);
int  uaprof_check_caps(const struct uaprof_event *ev);
