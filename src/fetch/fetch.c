/**
 * @file fetch.c  Content-indirection fetches with libcurl inside libre's loop
 */
#include <errno.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <re.h>
#include "core/addrclass.h"
#include <sippush/cidr.h>
#include "fetch/fetch.h"
#include <sippush/log.h>

#define MOD "fetch"

enum { MAX_REDIRS = 3 };

struct fetcher {
	CURLM *multi;
	struct fetch_limits lim;
	struct tmr tmr;
	struct list jobs;
	int running;
	bool inited;
};

struct job {
	struct le le;
	struct fetcher *f;
	CURL *easy;
	struct mbuf *mb;
	fetch_h *h;
	void *arg;
	uint8_t sha1[20];
	bool check_sha1;
	bool refused;             /**< the address was not allowed       */
	bool post;                /**< a POST: any 2xx is success        */
	struct mbuf *req;         /**< its body                          */
	struct curl_slist *hdrs;
	bool too_big;
	char err[CURL_ERROR_SIZE];
};

/* One watched socket */
struct sock {
	struct fetcher *f;
	curl_socket_t fd;
};


static void job_destructor(void *arg)
{
	struct job *j = arg;

	list_unlink(&j->le);
	if (j->easy) {
		(void)curl_multi_remove_handle(j->f->multi, j->easy);
		curl_easy_cleanup(j->easy);
	}
	mem_deref(j->mb);
	mem_deref(j->req);
	curl_slist_free_all(j->hdrs);
}


static void destructor(void *arg)
{
	struct fetcher *f = arg;

	tmr_cancel(&f->tmr);
	list_flush(&f->jobs);
	if (f->multi)
		(void)curl_multi_cleanup(f->multi);
	if (f->inited)
		curl_global_cleanup();
}


/** Public unicast only: nothing of IANA's special-purpose registries */
bool fetch_addr_public(const struct sa *sa)
{
	return addr_is_public(sa);
}


/* The URL's host, when it is an address (a proxy resolves names) */
static bool url_host_allowed(const struct fetcher *f, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	struct pl pl;
	struct sa sa;
	bool ok = true;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		ok = false;
		goto out;
	}
	pl_set_str(&pl, host);
	if (pl.l > 2 && host[0] == '[') {   /* an IPv6 literal */
		++pl.p;
		pl.l -= 2;
	}
	if (!f->lim.allow_private && !sa_set(&sa, &pl, 0))
		ok = fetch_addr_public(&sa) ||
			cidr_list_match(f->lim.allowv, f->lim.allown, &sa);

 out:
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}


static curl_socket_t open_h(void *arg, curlsocktype purpose,
			    struct curl_sockaddr *addr)
{
	struct job *j = arg;
	struct sa sa;
	(void)purpose;

	sa_init(&sa, AF_UNSPEC);
	if (addr->addrlen <= sizeof(sa.u)) {
		memcpy(&sa.u, &addr->addr, addr->addrlen);
		sa.len = addr->addrlen;
	}

	/* every connection: after DNS, and for each redirect (through
	 * --fetch-proxy: the proxy, which the operator chose) */
	if (!j->f->lim.proxy && !j->f->lim.allow_private &&
	    !fetch_addr_public(&sa) &&
	    !cidr_list_match(j->f->lim.allowv, j->f->lim.allown, &sa)) {
		j->refused = true;
		return CURL_SOCKET_BAD;
	}

	return socket(addr->family, addr->socktype, addr->protocol);
}


static size_t write_h(char *p, size_t sz, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = sz * n;

	if (j->mb->end + len > j->f->lim.max_size) {
		j->too_big = true;
		return 0;
	}
	return mbuf_write_mem(j->mb, (uint8_t *)p, len) ? 0 : len;
}


/* What an HTTP status says of trying again later (fetch.h) */
static int http_errno(long status)
{
	if (status == 408 || status == 429 || (status >= 500 && status < 600))
		return EAGAIN;
	if (status == 404 || status == 410)
		return ENOENT;
	return EACCES;
}


static void finish(struct job *j, CURLcode rc)
{
	long status = 0;
	uint8_t md[20];
	char why[160] = "";
	int err = 0;

	(void)curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);

	if (j->refused) {
		err = EPERM;
		str_ncpy(why, "address not allowed (loopback/private)",
			 sizeof(why));
	}
	else if (j->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		err = EFBIG;
		str_ncpy(why, "content larger than the limit", sizeof(why));
	}
	else if (rc != CURLE_OK) {
		err = rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO;
		re_snprintf(why, sizeof(why), "fetch failed: %s",
			    j->err[0] ? j->err : curl_easy_strerror(rc));
	}
	else if (j->post ? (status < 200 || status > 299) : status != 200) {
		err = http_errno(status);
		re_snprintf(why, sizeof(why), "HTTP status %ld", status);
	}
	else if (j->check_sha1) {
		SHA1(j->mb->buf, j->mb->end, md);
		if (memcmp(md, j->sha1, sizeof(md))) {
			err = EBADMSG;
			str_ncpy(why, "SHA-1 does not match the hash given",
				 sizeof(why));
		}
	}

	j->h(err, err ? why : NULL, err ? NULL : j->mb, j->arg);
	mem_deref(j);
}


static void check_done(struct fetcher *f)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left))) {
		struct job *j = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
					(char **)&j);
		if (j)
			finish(j, m->data.result);
	}
}


static void sock_fd_h(int flags, void *arg)
{
	struct sock *s = arg;
	struct fetcher *f = s->f;
	int ev = 0;

	if (flags & FD_READ)
		ev |= CURL_CSELECT_IN;
	if (flags & FD_WRITE)
		ev |= CURL_CSELECT_OUT;
	if (flags & FD_EXCEPT)
		ev |= CURL_CSELECT_ERR;
	(void)curl_multi_socket_action(f->multi, s->fd, ev, &f->running);
	check_done(f);
}


static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct fetcher *f = userp;
	struct sock *s = socketp;
	int flags = 0;
	(void)easy;

	if (what == CURL_POLL_REMOVE) {
		fd_close(fd);
		mem_deref(s);
		(void)curl_multi_assign(f->multi, fd, NULL);
		return 0;
	}

	if (!s) {
		s = mem_zalloc(sizeof(*s), NULL);
		if (!s)
			return -1;
		s->f = f;
		s->fd = fd;
		(void)curl_multi_assign(f->multi, fd, s);
	}

	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		flags |= FD_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		flags |= FD_WRITE;
	return fd_listen(fd, flags, sock_fd_h, s) ? -1 : 0;
}


static void timeout_tmr(void *arg)
{
	struct fetcher *f = arg;

	(void)curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0,
				       &f->running);
	check_done(f);
}


static int timer_cb(CURLM *multi, long ms, void *userp)
{
	struct fetcher *f = userp;
	(void)multi;

	if (ms < 0)
		tmr_cancel(&f->tmr);
	else
		tmr_start(&f->tmr, (uint64_t)ms, timeout_tmr, f);
	return 0;
}


int fetcher_alloc(struct fetcher **fp, const struct fetch_limits *lim)
{
	struct fetcher *f;

	if (!fp || !lim)
		return EINVAL;

	f = mem_zalloc(sizeof(*f), destructor);
	if (!f)
		return ENOMEM;

	f->lim = *lim;
	tmr_init(&f->tmr);
	/* reference-counted by libcurl; paired in the destructor */
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	f->inited = true;
	f->multi = curl_multi_init();
	if (!f->multi) {
		mem_deref(f);
		return ENOMEM;
	}
	(void)curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	(void)curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	(void)curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	(void)curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	*fp = f;
	return 0;
}


/**
 * POST a body (a PAP result notification) with the same bounds; any 2xx
 * is success, redirects are not followed.
 */
int fetch_post(struct fetcher *f, const char *url, const char *ctype,
	       const uint8_t *body, size_t len, fetch_h *h, void *arg)
{
	struct job *j;
	char hdr[160];
	int err;

	if (!f || !url || !ctype || !body || !h)
		return EINVAL;

	err = fetch_start(f, url, -1, NULL, h, arg);
	if (err)
		return err;

	j = f->jobs.tail->data;
	(void)curl_multi_remove_handle(f->multi, j->easy);
	j->post = true;
	j->req = mbuf_alloc(len ? len : 1);
	re_snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
	j->hdrs = curl_slist_append(NULL, hdr);
	if (!j->req || !j->hdrs || mbuf_write_mem(j->req, body, len)) {
		mem_deref(j);
		return ENOMEM;
	}
	(void)curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->req->buf);
	(void)curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			       (curl_off_t)len);
	(void)curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdrs);
	(void)curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_multi_add_handle(f->multi, j->easy) != CURLM_OK) {
		mem_deref(j);
		return ENOMEM;
	}
	return 0;
}


int fetch_start(struct fetcher *f, const char *url, int64_t size,
		const uint8_t *sha1, fetch_h *h, void *arg)
{
	struct job *j;
	CURL *e;

	if (!f || !url || !h)
		return EINVAL;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return EPROTONOSUPPORT;
	if (size >= 0 && (uint64_t)size > f->lim.max_size)
		return EFBIG;
	if (f->lim.proxy && !url_host_allowed(f, url))
		return EPERM;

	j = mem_zalloc(sizeof(*j), job_destructor);
	if (!j)
		return ENOMEM;
	j->f = f;
	j->h = h;
	j->arg = arg;
	j->mb = mbuf_alloc(size > 0 ? (size_t)size : 4096);
	if (sha1) {
		memcpy(j->sha1, sha1, sizeof(j->sha1));
		j->check_sha1 = true;
	}
	j->easy = e = curl_easy_init();
	if (!e || !j->mb) {
		mem_deref(j);
		return ENOMEM;
	}

	(void)curl_easy_setopt(e, CURLOPT_URL, url);
	/* "" turns off libcurl's *_proxy environment variables: a proxy
	 * is used only when given (--fetch-proxy) */
	(void)curl_easy_setopt(e, CURLOPT_PROXY, f->lim.proxy ?
			       f->lim.proxy : "");
	if (f->lim.proxy)
		(void)curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	(void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	(void)curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)MAX_REDIRS);
	(void)curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)f->lim.timeout_ms);
	(void)curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
			       (curl_off_t)f->lim.max_size);
	(void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_h);
	(void)curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	(void)curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_h);
	(void)curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
	(void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->err);
	(void)curl_easy_setopt(e, CURLOPT_PRIVATE, j);

	if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
		mem_deref(j);
		return ENOMEM;
	}
	list_append(&f->jobs, &j->le, j);
	plog(SIPPUSH_LOG_DEBUG, MOD, "fetching %s", url);
	return 0;
}
