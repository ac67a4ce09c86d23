/**
 * @file httpguard.h  What keeps a web page from driving the HTTP API
 *                    through a browser: Host (DNS rebinding), Origin
 *                    (cross-site requests) and the media types that an
 *                    HTML form or a no-cors fetch cannot send. Pure.
 */

struct sa;

bool httpguard_host_ok(const char *host, const struct sa *laddr,
		       const char *const *names, size_t n);
bool httpguard_origin_ok(const char *origin, const char *host);
bool httpguard_ctype_in(const char *ctype, const char *const *types,
			size_t n);
