/**
 * @file fetch.h  Content-indirection fetches (RFC 4483) inside libre's loop
 *
 * libcurl's multi interface with its sockets in fd_listen() and its timeout
 * in a libre timer: no thread. Every fetch is bounded: http and https only
 * (redirects too, at most 3), a size cap (also against the announced size),
 * a time limit, and no connection to a loopback, private, link-local or
 * otherwise non-public address unless allowed (checked on the address
 * actually connected to, after DNS). The SHA-1 is checked when given.
 */

struct fetcher;

struct cidr;

struct fetch_limits {
	size_t max_size;          /**< bytes                             */
	uint32_t timeout_ms;
	bool allow_private;       /**< loopback/private targets allowed  */
	const struct cidr *allowv;/**< these non-public ones allowed only  */
	size_t allown;
	const char *proxy;        /**< every fetch through this proxy URL;
				       NULL: none (*_proxy variables are
				       ignored). The proxy's address is
				       not checked, nor names it resolves;
				       an address URL still is          */
};

/**
 * err 0: mb holds the content; else why (a short reason) and err the
 * cause: ETIMEDOUT the time limit, EIO no answer (DNS, connection),
 * EAGAIN an HTTP status that may pass (408, 429, 5xx), ENOENT 404/410,
 * EACCES another HTTP status, EBADMSG the SHA-1 differs, EFBIG over the
 * size cap, EPERM an address not allowed
 */
typedef void (fetch_h)(int err, const char *why, struct mbuf *mb,
		       void *arg);

int fetcher_alloc(struct fetcher **fp, const struct fetch_limits *lim);
int fetch_start(struct fetcher *f, const char *url, int64_t size,
		const uint8_t *sha1, fetch_h *h, void *arg);
int fetch_post(struct fetcher *f, const char *url, const char *ctype,
	       const uint8_t *body, size_t len, fetch_h *h, void *arg);
bool fetch_addr_public(const struct sa *sa);
