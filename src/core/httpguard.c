/**
 * @file httpguard.c  Host, Origin and Content-Type checks of the HTTP API
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "core/httpguard.h"


/* Whether s is empty or all digits */
static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}


/* "name:port", "1.2.3.4:port", "[v6]:port" (port optional) -> the host */
static int host_part(struct pl *h, const char *hostport)
{
	const size_t n = strlen(hostport);
	const char *end;

	if (hostport[0] == '[') {
		end = memchr(hostport, ']', n);
		if (!end || end == hostport + 1)
			return EINVAL;
		h->p = hostport + 1;
		h->l = (size_t)(end - h->p);
		++end;
	}
	else {
		end = memchr(hostport, ':', n);
		if (!end)
			end = hostport + n;
		if (end == hostport || memchr(hostport, '[', n) ||
		    memchr(hostport, ']', n))
			return EINVAL;
		h->p = hostport;
		h->l = (size_t)(end - hostport);
	}

	/* then nothing, or ":" and a port */
	if (!*end)
		return 0;
	if (*end != ':')
		return EINVAL;
	return digits(end + 1, strlen(end + 1)) ? 0 : EINVAL;
}


/**
 * Whether a request's Host names this listener: its own address (any IP
 * literal when it listens on a wildcard address), "localhost" when it
 * listens on loopback or a wildcard, or one of names ("*": any). A DNS
 * rebinding page sends its own name, which is none of these.
 */
bool httpguard_host_ok(const char *host, const struct sa *laddr,
		       const char *const *names, size_t n)
{
	struct pl h;
	struct sa a;
	char buf[256];

	if (!host || !laddr || host_part(&h, host) || pl_strcpy(&h, buf,
								sizeof(buf)))
		return false;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], "*") || !str_casecmp(names[i], buf))
			return true;

	if (!sa_set_str(&a, buf, 0))
		return sa_is_any(laddr) || sa_cmp(&a, laddr, SA_ADDR);

	return !str_casecmp(buf, "localhost") &&
		(sa_is_any(laddr) || sa_is_loopback(laddr));
}


/**
 * Whether an Origin (absent: not a cross-origin browser request) is this
 * very host and port, as the request's Host names it. "null" (a sandboxed
 * or file: page) is no origin of ours.
 */
bool httpguard_origin_ok(const char *origin, const char *host)
{
	const char *hp;

	if (!origin)
		return true;
	if (!host)
		return false;
	if (!strncasecmp(origin, "http://", 7))
		hp = origin + 7;
	else if (!strncasecmp(origin, "https://", 8))
		hp = origin + 8;
	else
		return false;
	return *hp && !strchr(hp, '/') && !str_casecmp(hp, host);
}


/** Whether a Content-Type's media type (parameters aside) is one of
 *  types */
bool httpguard_ctype_in(const char *ctype, const char *const *types,
			size_t n)
{
	struct pl mt;

	if (!ctype)
		return false;
	while (*ctype == ' ' || *ctype == '\t')
		++ctype;
	mt.p = ctype;
	mt.l = strcspn(ctype, " \t;");
	if (!mt.l)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!pl_strcasecmp(&mt, types[i]))
			return true;
	return false;
}
