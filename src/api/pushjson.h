/**
 * @file pushjson.h  The JSON push request of POST /v1/pushes, validated
 *
 * Every field is checked; a failure names it ("to: not a SIP or tel URI").
 * Strings in struct push_req point into the decoded document or into
 * buffers owned by struct pushjson, valid while both live. Values that end
 * up in SIP headers (content type, app, topic, url) are refused if they
 * hold anything that could break a header (CR, LF, quotes where quoted).
 */

struct push_req;
struct json_t;

struct pushjson_limits {
	size_t max_body;          /**< --max-push-size                     */
	uint32_t max_ttl;
	size_t max_batch;
	size_t files;             /**< file parts of a multipart POST: no
				       body fields, content_type optional */
};

/** Decoded storage for one push: its normalized AoR, app, and body */
struct pushjson {
	char aor[256];
	char app[65];
	uint8_t *body;            /**< mem_alloc'd (base64 decoded), or NULL */
};

int pushjson_decode(struct push_req *r, struct pushjson *pj,
		    struct json_t *obj, const struct pushjson_limits *lim,
		    char *why, size_t whysz);
int pushjson_aor(char *buf, size_t sz, const char *uri);
bool pushjson_ctype_ok(const char *ct);
bool pushjson_name_ok(const char *name);
