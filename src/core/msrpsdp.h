/**
 * @file msrpsdp.h  SDP for an MSRP file push (RFC 4975 §8, RFC 5547)
 *
 * One m-line per file: m=message <port> TCP/MSRP *, a=sendonly (offer) or
 * a=recvonly (answer), a=accept-types, a=path, a=file-selector (name,
 * type, size, SHA-1), a=file-transfer-id, a=file-disposition, and in the
 * answer a=max-size; a=setup (RFC 6135: who connects) when given. A
 * refused file is its m-line with port 0. Include core/msrpsetup.h first.
 */

enum { MSRPSDP_MAX = 8 };

/** One file (m-line) to print */
struct msrpsdp_file {
	const char *name;         /**< file-selector name, or NULL        */
	const char *type;         /**< its content type                   */
	uint64_t size;
	const uint8_t *sha1;      /**< 20 bytes, or NULL                  */
	const char *ftid;         /**< file-transfer-id                   */
	const char *disposition;  /**< "render" or "attachment", or NULL  */
	const char *path;         /**< a=path (MSRP URI)                  */
	uint16_t port;            /**< 0: refused (answer)                */
	enum msrp_setup setup;    /**< a=setup, or none                   */
};

struct msrpsdp_spec {
	const char *addr;         /**< c= and o= IPv4/IPv6 address        */
	uint64_t sess_id;
	uint64_t sess_ver;
	bool answer;              /**< recvonly + max-size                */
	bool tls;                 /**< TCP/TLS/MSRP (msrps paths)         */
	const uint8_t *fp;        /**< our certificate's SHA-256, or NULL */
	uint64_t max_size;        /**< answer: a=max-size (0: none)       */
	const struct msrpsdp_file *filev;
	size_t n;
};

/** One decoded m-line (views into the SDP) */
struct msrpsdp_media {
	uint16_t port;
	struct pl proto;          /**< "TCP/MSRP" or "TCP/TLS/MSRP"       */
	struct pl accept_types;
	struct pl path;
	struct pl dir;            /**< sendonly, recvonly, sendrecv       */
	struct pl name;           /**< file-selector name (unquoted)      */
	struct pl type;           /**< file-selector type                 */
	uint64_t size;
	bool has_size;
	uint8_t sha1[20];
	bool has_hash;
	struct pl ftid;
	struct pl disposition;
	uint64_t max_size;
	enum msrp_setup setup;    /**< its a=setup, else the session's    */
	bool msrp;                /**< an MSRP m-line at all              */
};

struct msrpsdp {
	struct pl addr;
	uint8_t fp[32];           /**< a=fingerprint:SHA-256               */
	bool has_fp;
	enum msrp_setup setup;    /**< session-level a=setup              */
	struct msrpsdp_media m[MSRPSDP_MAX];
	size_t n;
};

int msrpsdp_print(struct re_printf *pf, const struct msrpsdp_spec *s);
int msrpsdp_accept_meet(char *buf, size_t sz, const struct pl *types,
			const char *accept);
int msrpsdp_decode(struct msrpsdp *sd, const struct pl *body);
