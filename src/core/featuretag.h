/**
 * @file featuretag.h  RFC 3840 feature tags and RFC 3841 Accept-Contact
 *
 * Pure: parsing works on struct pl views of header values, never copies, never
 * reads past the view, and returns EBADMSG on malformed input.
 */

enum { FTAG_MAX = 24, AC_MAX = 8 };

/** One feature parameter, as written: name (with any '+'), raw value */
struct ftag {
	struct pl name;     /**< e.g. "+g.oma.pusheventapp", "methods"       */
	struct pl value;    /**< inside the quotes; empty for a bare tag      */
	bool quoted;        /**< value was a quoted tag-value-list or string  */
};

/** The feature parameters of one Contact or one Accept-Contact value */
struct ftag_set {
	struct ftag v[FTAG_MAX];
	size_t n;
};

/** A Contact header value with the parameters SIP Push cares about */
struct contact_feat {
	struct pl uri;        /**< addr-spec, without angle brackets          */
	struct pl instance;   /**< +sip.instance, inside "<...>" (e.g. urn:)  */
	struct pl pub_gruu;   /**< pub-gruu parameter (registrar's 200)       */
	struct pl temp_gruu;  /**< temp-gruu parameter (registrar's 200)      */
	struct pl apps;       /**< +g.oma.pusheventapp value list, raw        */
	struct pl methods;    /**< methods value list, raw                    */
	uint32_t expires;
	uint32_t reg_id;
	bool has_expires;
	bool has_reg_id;
	struct ftag_set tags; /**< every feature parameter, for matching      */
};

/** One Accept-Contact value: a predicate */
struct ac_pred {
	struct ftag_set tags;
	bool require;
	bool explicit_;
};

/** Outcome of RFC 3841 Accept-Contact processing for one contact */
struct ac_result {
	bool keep;          /**< false: a require predicate discarded it      */
	double score;       /**< Qa in [0,1], higher is preferred             */
};

/** What a Contact of a push terminal says, for formatting */
struct contact_spec {
	const char *uri;
	const char *instance;   /**< "urn:uuid:..." (no brackets), or NULL    */
	const char *apps;       /**< "mms.ua,syncml.dm", or NULL              */
	const char *methods;    /**< "MESSAGE,OPTIONS", or NULL               */
	uint32_t reg_id;        /**< 0: none                                  */
	int64_t expires;        /**< < 0: none                                */
};

/** An Accept-Contact value naming a push application, for formatting */
struct ac_spec {
	const char *app;        /**< ARI, e.g. "mms.ua"                       */
	const char *methods;    /**< "NOTIFY", or NULL                        */
	bool require;
	bool explicit_;
	const char *instance;   /**< +sip.instance of one terminal (RFC 3841
				     caller preferences toward an AoR), or NULL */
};

int  ftag_set_decode(struct ftag_set *fs, const struct pl *params);
const struct ftag *ftag_find(const struct ftag_set *fs, const char *name);
bool ftag_is_feature(const struct pl *name);
int  ftag_value_next(struct pl *list, struct pl *item);
bool ftag_value_has(const struct pl *list, const char *token);

int  contact_feat_decode(struct contact_feat *cf, const struct pl *hval);
int  contact_spec_print(struct re_printf *pf, const struct contact_spec *cs);

int  ac_decode(struct ac_pred *predv, size_t maxn, size_t *np,
	       const struct pl *hval);
int  ac_print(struct re_printf *pf, const struct ac_spec *as);
void ac_match(struct ac_result *res, const struct ac_pred *predv, size_t n,
	      const struct ftag_set *contact);
