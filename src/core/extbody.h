/**
 * @file extbody.h  Content indirection (RFC 4483): message/external-body
 *
 * Content-Type: message/external-body; access-type="URL";
 *   expiration="Mon, 24 Jun 2030 09:00:00 GMT"; URL="https://..."; size=48211;
 *   hash=<40 hex digits of SHA-1>
 *
 * followed by a body holding the entity headers of the referenced content:
 * Content-Type, Content-ID (mandatory here: it versions the content) and
 * Content-Disposition (mandatory in RFC 4483). Several URIs travel as
 * multipart/mixed, one per part. Times are seconds since the epoch, given
 * by the caller: nothing here reads a clock.
 */

enum { EXTBODY_SHA1_LEN = 20, MPART_MAX = 16 };

struct extbody_spec {
	const char *url;
	uint64_t expiration;        /**< seconds since the epoch          */
	int64_t size;               /**< < 0: not given                   */
	const uint8_t *sha1;        /**< 20 octets, or NULL               */
	const char *ctype;          /**< type of the referenced content   */
	const char *cid;            /**< Content-ID, without <>           */
	const char *disposition;    /**< "render", "attachment", ...      */
};

struct extbody {
	struct pl url;
	uint64_t expiration;
	uint64_t size;
	bool has_size;
	uint8_t sha1[EXTBODY_SHA1_LEN];
	bool has_hash;
	struct pl ctype;
	struct pl cid;              /**< without <>                       */
	struct pl disposition;      /**< the disposition type only        */
};

/** One part of a multipart body */
struct mpart {
	struct pl ctype;            /**< its Content-Type value (or empty) */
	struct pl hdrs;             /**< all its header lines             */
	struct pl body;
};

struct extbody_list {
	const char *boundary;
	const struct extbody_spec *specv;
	size_t n;
};

/** What a receiver answers when the referenced content cannot be had
 *  (docs/protocol.md, "Content indirection") */
struct extbody_fail {
	uint16_t scode;
	const char *reason;         /**< the reason phrase                */
	uint32_t retry_after;       /**< s (Retry-After); 0: none         */
	bool detail;                /**< the fetcher's reason belongs in
				         the phrase (an HTTP status)      */
	bool final;                 /**< trying again cannot help: the
				         application hears of it          */
};

void extbody_fail(struct extbody_fail *f, int cause);
int  extbody_ctype_print(struct re_printf *pf, const struct extbody_spec *es);
int  extbody_entity_print(struct re_printf *pf, const struct extbody_spec *es);
int  extbody_decode(struct extbody *eb, const struct pl *ctype,
		    const struct pl *body);
bool extbody_is(const struct pl *ctype);

int  extbody_multipart_print(struct re_printf *pf,
			     const struct extbody_list *el);
int  mpart_decode(struct mpart *partv, size_t maxn, size_t *np,
		  const struct pl *ctype, const struct pl *body);

int  httpdate_print(struct re_printf *pf, uint64_t *t);
int  httpdate_decode(uint64_t *t, const struct pl *pl);
int  mime_hdr_next(struct pl *rest, struct pl *name, struct pl *val);
