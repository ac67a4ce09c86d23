/**
 * @file appid.h  Push application identifiers (OMNA) and ARIs
 *
 * An application appears as "mms.ua" (the ARI of +g.oma.pusheventapp), as
 * the OMNA URN "x-wap-application:mms.ua" / "x-oma-application:ulp.ua",
 * quoted, in the "<...>" string form, or in a comma list. All compare equal
 * after appid_normalize(), case-insensitively.
 */

/** One row of the OMNA push application ID registry */
struct appid_info {
	uint32_t code;       /**< OMNA numeric code, e.g. 0x04          */
	const char *urn;     /**< "x-wap-application:mms.ua"             */
	const char *use;     /**< what it is for                         */
};

/** A name that stands for an application: an ICSI a terminal subscribes
 *  with (TS §7.2.2.1 #4), and the ARI pushes are addressed by */
struct appid_alias {
	const char *name;    /**< "urn:urn-7:3gpp-service.ims.icsi.oma.push" */
	const char *ari;     /**< "mms.ua"                                */
};

extern const struct appid_info appid_omna[];
extern const size_t appid_omna_count;

int  appid_normalize(struct pl *id, const struct pl *in);
bool appid_equal(const struct pl *a, const struct pl *b);
bool appid_list_has(const struct pl *list, const struct pl *app);
bool appid_lists_meet(const struct pl *a, const struct pl *b);
const struct appid_info *appid_lookup(const struct pl *app);
int  appid_alias_decode(struct pl *name, struct pl *ari, const struct pl *in);
const char *appid_alias_ari(const struct appid_alias *v, size_t n,
			    const struct pl *name);
