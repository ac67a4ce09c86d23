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

extern const struct appid_info appid_omna[];
extern const size_t appid_omna_count;

int  appid_normalize(struct pl *id, const struct pl *in);
bool appid_equal(const struct pl *a, const struct pl *b);
bool appid_list_has(const struct pl *list, const struct pl *app);
bool appid_lists_meet(const struct pl *a, const struct pl *b);
const struct appid_info *appid_lookup(const struct pl *app);
