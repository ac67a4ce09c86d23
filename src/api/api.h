/**
 * @file api.h  sippushd's HTTP API (libmicrohttpd on libre's loop)
 *
 * libmicrohttpd runs without a thread of its own: its epoll fd is watched
 * with fd_listen() and its timeout kept in a libre timer. A POST that
 * creates pushes is suspended until the store's group commit and answered
 * 202 only then.
 */

struct api;
struct sender;
struct store;
struct initiator;

struct api_conf {
	const struct sa *laddr;
	const char *token;        /**< Bearer token, or NULL              */
	size_t max_push_size;     /**< bytes of content per push          */
	size_t max_batch;         /**< pushes per batch request           */
	uint32_t max_ttl;
	uint32_t max_conns;       /**< HTTP connections at once (1024)   */
	uint32_t max_conns_peer;  /**< from one address (256; 0: no cap) */
	uint32_t timeout_s;       /**< idle HTTP connection closed (30)  */
	uint32_t intake;          /**< requests that write, per loop turn
				       (32); more wait for the next turn */
	const char *tls_cert_pem; /**< HTTPS: certificate (PEM text), or NULL */
	const char *tls_key_pem;  /**< HTTPS: its private key (PEM text)  */
	const char *spool;        /**< directory of file pushes           */
	const char *pap_app;      /**< PAP: application when the content
				       part names none, or NULL          */
	const char *plmn_domain;  /**< PAP TYPE=PLMN -> sip:+E164@domain  */
	struct initiator *initv;  /**< named initiators (initiator.h)     */
	size_t initn;
	uint64_t max_file_size;   /**< per file of a multipart push       */
	const char *const *http_hosts;  /**< names the API answers to as
					     Host, besides its address   */
	size_t http_hostn;
	const char *node;         /**< this node's name: a label on every
				       /metrics sample, or NULL          */
};

int api_alloc(struct api **ap, struct sender *s, struct store *st,
	      const struct api_conf *conf);
int  api_reload(struct api *api, const struct api_conf *conf);
void api_drain(struct api *api);
