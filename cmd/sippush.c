/**
 * @file sippush.c  Command-line client of sippushd's HTTP API
 *
 * Exit status: 0 success (for send --wait: delivered), 1 error (one line on
 * stderr), 2 usage, 3 the push ended in another state than delivered.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_base64.h>
#include <re_sa.h>
#include "rt/opts.h"
#include "cli_opts.h"

enum { MAX_FILE = 16 << 20, MAX_RESP = 64 << 20 };

struct buf {
	char *p;
	size_t len;
};

/* --server's list: a request goes to the current one and moves on to
 * the next only when it could not connect (nothing was sent, so even a
 * POST cannot have been taken twice); the one that answered stays */
enum { MAX_SERVERS = 8 };
static char *serverv[MAX_SERVERS];
static size_t servern, servercur;
static const char *server;
static const char *token;
static bool soft;   /* a transport error returns -1 instead of exiting */
static CURLcode soft_rc;


static void die(const char *fmt, const char *arg)
{
	(void)fprintf(stderr, "sippush: ");
	(void)fprintf(stderr, fmt, arg);
	(void)fputc('\n', stderr);
	exit(1);
}


/* A command's options (cli_opts.c): a bad value exits 1, what is no
 * option 2; returns the index of the first other word */
static int options(const struct opt *tab, void *conf, int argc, char **argv,
		   enum opts_args args, const struct opt **action)
{
	char why[512];
	int argi = argc, err;

	err = opts_defaults(tab, conf, 0, why, sizeof(why));
	err = err ? err : opts_parse(tab, conf, argc, argv, args,
				     args == OPTS_ARGS_NONE ? NULL : &argi,
				     action, why, sizeof(why));
	if (err) {
		(void)fprintf(stderr, "sippush: %s%s%s\n",
			      tab == cli_opts ? "" : argv[0],
			      tab == cli_opts ? "" : ": ", why);
		exit(err == ENOENT ? 2 : 1);
	}
	return argi;
}


static size_t write_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = sz * n;
	char *q;

	if (b->len + len > MAX_RESP)
		return 0;
	q = realloc(b->p, b->len + len + 1);
	if (!q)
		return 0;
	memcpy(q + b->len, p, len);
	b->p = q;
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}


/* One request; returns the HTTP status and the parsed JSON body */
static long http_mime(const char *method, const char *path,
		      const char *body, struct curl_httppost *unused,
		      const char *const *files, size_t nfiles, const char *type,
		      json_t **out);


static long http(const char *method, const char *path, const char *body,
		 json_t **out)
{
	return http_mime(method, path, body, NULL, NULL, 0, NULL, out);
}


/* Perform on the current server, then on the next ones when it cannot
 * connect; the buffer of a failed attempt is dropped */
static CURLcode perform(CURL *c, const char *path, struct buf *b)
{
	char url[2048];
	CURLcode rc = CURLE_COULDNT_CONNECT;

	for (size_t i = 0; i < servern; i++) {
		(void)snprintf(url, sizeof(url), "%s%s", server, path);
		(void)curl_easy_setopt(c, CURLOPT_URL, url);
		rc = curl_easy_perform(c);
		if (rc != CURLE_COULDNT_CONNECT || i + 1 == servern)
			break;
		(void)fprintf(stderr, "sippush: %s: %s; trying the next\n",
			      server, curl_easy_strerror(rc));
		free(b->p);
		b->p = NULL;
		b->len = 0;
		servercur = (servercur + 1) % servern;
		server = serverv[servercur];
	}
	return rc;
}


/* "URL[,URL...]": every one an http(s) URL */
static void servers_set(const char *list)
{
	char *dup = strdup(list), *save = NULL;

	if (!dup)
		die("%s", "out of memory");
	for (char *u = strtok_r(dup, ",", &save); u;
	     u = strtok_r(NULL, ",", &save)) {
		if (servern == MAX_SERVERS)
			die("--server: more than %s URLs", "8");
		serverv[servern++] = u;
	}
	if (!servern)
		die("%s", "--server: no URL");
	server = serverv[0];
}


/*
 * One request; returns the HTTP status and the parsed JSON body. With
 * files, a multipart/form-data POST: the JSON as part "push", each file a
 * part "file" read by libcurl as it sends (never loaded here).
 */
static long http_mime(const char *method, const char *path,
		      const char *body, struct curl_httppost *unused,
		      const char *const *files, size_t nfiles, const char *type,
		      json_t **out)
{
	curl_mime *mime = NULL;
	struct curl_slist *hdrs = NULL;
	struct buf b = {NULL, 0};
	char auth[512];
	long status = 0;
	CURL *c;
	CURLcode rc;

	c = curl_easy_init();
	if (!c)
		die("%s", "cannot initialise libcurl");

	(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, nfiles ? 0L : 60L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)unused;
	if (nfiles) {
		curl_mimepart *part;

		mime = curl_mime_init(c);
		part = curl_mime_addpart(mime);
		(void)curl_mime_name(part, "push");
		(void)curl_mime_type(part, "application/json");
		(void)curl_mime_data(part, body, CURL_ZERO_TERMINATED);
		for (size_t i = 0; i < nfiles; i++) {
			part = curl_mime_addpart(mime);
			(void)curl_mime_name(part, "file");
			if (curl_mime_filedata(part, files[i]) != CURLE_OK)
				die("--file: cannot read %s", files[i]);
			(void)curl_mime_type(part, type);
		}
		(void)curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
		/* no "Expect: 100-continue" round trip */
		hdrs = curl_slist_append(hdrs, "Expect:");
	}
	else if (body) {
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/json");
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (token) {
		(void)snprintf(auth, sizeof(auth),
			       "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	rc = perform(c, path, &b);
	if (rc != CURLE_OK && soft) {
		soft_rc = rc;
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(c);
		free(b.p);
		*out = NULL;
		return -1;
	}
	if (rc != CURLE_OK) {
		(void)fprintf(stderr, "sippush: %s: %s\n", server,
			      curl_easy_strerror(rc));
		exit(1);
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_mime_free(mime);
	curl_easy_cleanup(c);

	*out = b.p ? json_loads(b.p, 0, NULL) : NULL;
	if (status >= 400) {
		const char *msg = json_string_value(json_object_get(
			*out, "error"));
		(void)fprintf(stderr, "sippush: HTTP %ld: %s\n", status,
			      msg ? msg : (b.p ? b.p : "no body"));
		free(b.p);
		exit(1);
	}
	free(b.p);
	return status;
}


/* "/v1/<prefix><segment><suffix>", the segment percent-encoded (an AoR
 * holds ':' and '@') */
static void api_path(char *out, size_t sz, const char *prefix,
		     const char *seg, const char *suffix)
{
	char *enc = curl_easy_escape(NULL, seg, 0);

	if (!enc)
		die("%s", "out of memory");
	(void)snprintf(out, sz, "%s%s%s", prefix, enc, suffix);
	curl_free(enc);
}


static void print_status(json_t *st, bool all)
{
	size_t i;
	json_t *d;

	const char *why = json_string_value(json_object_get(st, "waiting"));

	(void)printf("%s %s\n", json_string_value(json_object_get(st, "id")),
		     json_string_value(json_object_get(st, "state")));
	if (why)
		(void)printf("  waiting: %s\n", why);
	json_array_foreach(json_object_get(st, "deliveries"), i, d) {
		const char *err = json_string_value(json_object_get(
			d, "last_error"));
		if (!all)
			continue;
		(void)printf("  %s %s sip=%lld pap=%lld attempts=%lld%s%s\n",
			     json_string_value(json_object_get(d, "terminal")),
			     json_string_value(json_object_get(d, "state")),
			     json_integer_value(json_object_get(d,
							      "sip_status")),
			     json_integer_value(json_object_get(d,
							      "pap_code")),
			     json_integer_value(json_object_get(d,
							      "attempts")),
			     err ? " " : "", err ? err : "");
	}
}


#define ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

/* Files above this go as a multipart stream, not base64 in JSON */
enum { STREAM_ABOVE = 1 << 20 };


static long long file_size(const char *path)
{
	struct stat sb;

	if (stat(path, &sb))
		die("--file: cannot open %s", path);
	return (long long)sb.st_size;
}


static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;

	if (!f)
		die("--file: cannot open %s", path);
	p = malloc(MAX_FILE + 1);
	if (!p)
		die("%s", "out of memory");
	*len = fread(p, 1, MAX_FILE + 1, f);
	if (ferror(f))
		die("--file: cannot read %s", path);
	(void)fclose(f);
	if (*len > MAX_FILE)
		die("--file %s: larger than 16 MiB (use --url)", path);
	return p;
}


static char *b64(const unsigned char *in, size_t n)
{
	size_t olen = (n + 2) / 3 * 4 + 1;
	char *out = malloc(olen);

	if (!out || base64_encode(in, n, out, &olen))
		die("%s", "out of memory");
	out[olen] = '\0';
	return out;
}


static bool is_final(const char *state)
{
	return state && strcmp(state, "pending");
}


static int wait_final(const char *id, unsigned timeout_s)
{
	char path[128], last[4096] = "";
	time_t end = time(NULL) + timeout_s;
	json_t *st = NULL;
	int ret = 1;

	(void)snprintf(path, sizeof(path), "/v1/pushes/%s", id);
	for (;;) {
		const char *state;
		char *now;

		json_decref(st);
		(void)http("GET", path, NULL, &st);
		state = json_string_value(json_object_get(st, "state"));
		now = json_dumps(json_object_get(st, "deliveries"),
				 JSON_COMPACT);
		/* show progress when something changed */
		if (now && strcmp(now, last)) {
			print_status(st, true);
			(void)snprintf(last, sizeof(last), "%s", now);
		}
		free(now);
		if (is_final(state)) {
			ret = strcmp(state, "delivered") ? 3 : 0;
			break;
		}
		if (time(NULL) >= end) {
			const char *why = json_string_value(
				json_object_get(st, "waiting"));

			(void)fprintf(stderr, "sippush: %s still pending after "
				      "%u s%s%s\n", id, timeout_s,
				      why ? ": " : "", why ? why : "");
			ret = 3;
			break;
		}
		(void)usleep(200 * 1000);
	}
	json_decref(st);
	return ret;
}


/* Read a whole small file (a PAP document or its content) */
static char *slurp(const char *path, size_t *len, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *p;
	size_t n;

	if (!f)
		die("cannot open %s", path);
	p = malloc(max + 1);
	if (!p)
		die("%s", "out of memory");
	n = fread(p, 1, max + 1, f);
	(void)fclose(f);
	if (n > max)
		die("%s: larger than the PAP limit", path);
	p[n] = '\0';
	*len = n;
	return p;
}


/*
 * sippush pap DOC [--content FILE --type T --app ID] [--user U
 * --password P]: POST an OMA PAP document (push-message with its content
 * as multipart/related), print the answer, exit 0 for a 1xxx code.
 */
static int cmd_pap(int argc, char **argv)
{
	struct pap_conf o = {0};
	struct curl_slist *hdrs = NULL;
	struct buf b = {NULL, 0};
	char *doc, *cnt = NULL, *body, hdr[600], userpwd[300];
	size_t dlen, clen = 0, blen;
	const char *bnd = "sippush-pap-4f1d9a0c";
	const char *content, *type, *app, *user, *pass;
	long status = 0;
	int argi, code;
	CURL *e;

	argi = options(pap_opts, &o, argc, argv, OPTS_ARGS_ANY, NULL);
	if (argi != argc - 1)
		die("%s", "pap: give one PAP document (a file)");
	content = o.content;
	type = o.type;
	app = o.app;
	user = o.user;
	pass = o.password ? o.password : getenv("SIPPUSH_PASSWORD");

	doc = slurp(argv[argi], &dlen, 65536);
	if (content)
		cnt = slurp(content, &clen, 16u << 20);

	if (cnt) {
		blen = dlen + clen + 512;
		body = malloc(blen);
		if (!body)
			die("%s", "out of memory");
		blen = (size_t)snprintf(body, blen, "--%s\r\nContent-Type: "
					"application/xml\r\n\r\n%s\r\n--%s\r\n"
					"Content-Type: %s\r\n%s%s%s\r\n", bnd, doc,
					bnd, type, app ? "X-Wap-Application-Id: "
					: "", app ? app : "", app ? "\r\n" : "");
		memcpy(body + blen, cnt, clen);
		blen += clen;
		blen += (size_t)sprintf(body + blen, "\r\n--%s--\r\n", bnd);
		(void)snprintf(hdr, sizeof(hdr), "Content-Type: multipart/"
			       "related; type=\"application/xml\"; "
			       "boundary=%s", bnd);
	}
	else {
		body = doc;
		doc = NULL;
		blen = dlen;
		(void)snprintf(hdr, sizeof(hdr), "Content-Type: "
			       "application/xml");
	}

	e = curl_easy_init();
	if (!e)
		die("%s", "cannot initialise libcurl");
	hdrs = curl_slist_append(hdrs, hdr);
	if (token) {
		char auth[512];

		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			       token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	else if (user) {
		if (!pass)
			die("%s", "pap: --user needs --password or "
			    "SIPPUSH_PASSWORD");
		(void)snprintf(userpwd, sizeof(userpwd), "%s:%s", user, pass);
		(void)curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		(void)curl_easy_setopt(e, CURLOPT_USERPWD, userpwd);
	}
	(void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
	(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	(void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	(void)curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	(void)curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
	(void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (perform(e, "/pap", &b) != CURLE_OK)
		die("%s: cannot reach the server", server);
	(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	free(body);
	free(doc);
	free(cnt);

	(void)printf("%s", b.p ? b.p : "");
	if (status == 401 || status >= 500 || !b.p) {
		(void)fprintf(stderr, "sippush: HTTP %ld\n", status);
		free(b.p);
		return 1;
	}

	/* the first PAP code of the answer decides */
	{
		const char *cp = strstr(b.p, "code=\"");

		code = cp ? atoi(cp + 6) : 0;
	}
	free(b.p);
	return code >= 1000 && code < 2000 ? 0 : 3;
}


static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "-";
}


static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}


/* One event as an operator reads it */
static void print_event(json_t *ev)
{
	const char *type = jstr(ev, "type");
	long long ms = jint(ev, "time_ms");
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char when[32];

	(void)gmtime_r(&t, &tm);
	(void)strftime(when, sizeof(when), "%H:%M:%S", &tm);
	(void)printf("%s.%03lld %-12s ", when, ms % 1000, type);

	if (!strcmp(type, "accepted"))
		(void)printf("%s to %s app %s by %s\n", jstr(ev, "push"),
			     jstr(ev, "to"), jstr(ev, "app"),
			     jstr(ev, "initiator"));
	else if (!strcmp(type, "attempt")) {
		(void)printf("%s %s %s #%lld: ", jstr(ev, "push"),
			     jstr(ev, "terminal"), jstr(ev, "method"),
			     jint(ev, "attempt"));
		if (json_object_get(ev, "reason"))
			(void)printf("%s", jstr(ev, "reason"));
		else
			(void)printf("%lld", jint(ev, "sip_status"));
		if (jint(ev, "retry_ms"))
			(void)printf(", retry in %.1f s",
				     (double)jint(ev, "retry_ms") / 1000.);
		(void)printf("\n");
	}
	else if (!strcmp(type, "delivery"))
		(void)printf("%s %s %s %s (SIP %lld, PAP %lld)\n",
			     jstr(ev, "push"), jstr(ev, "terminal"),
			     jstr(ev, "method"), jstr(ev, "state"),
			     jint(ev, "sip_status"), jint(ev, "pap_code"));
	else if (!strcmp(type, "push"))
		(void)printf("%s %s (to %s)\n", jstr(ev, "push"),
			     jstr(ev, "state"), jstr(ev, "to"));
	else if (!strcmp(type, "registered") ||
		 !strcmp(type, "unregistered"))
		(void)printf("%s %s apps %s (%s)\n", jstr(ev, "user"),
			     jstr(ev, "terminal"), jstr(ev, "apps"),
			     jstr(ev, "source"));
	else {
		char *txt = json_dumps(ev, JSON_COMPACT);

		(void)printf("%s\n", txt ? txt : "");
		free(txt);
	}
}


/*
 * sippush watch: the daemon's live events, one line each, by long polls
 * of GET /v1/events. Survives a restart of the daemon (retries every
 * second). --count N / --for S stop it (exit 0).
 */
static int cmd_watch(int argc, char **argv)
{
	struct watch_conf o = {0};
	unsigned long long after = 0, count, seen = 0;
	char boot[24] = "";
	bool json, have_after, down = false;
	long secs;
	time_t end = 0;
	int argi;

	argi = options(watch_opts, &o, argc, argv, OPTS_ARGS_ANY, NULL);
	if (argi < argc)
		die("watch: unexpected '%s'", argv[argi]);
	have_after = o.after != NULL;
	if (have_after)
		after = strtoull(o.after, NULL, 10);
	count = o.count;
	secs = (long)o.secs;
	json = o.json;
	if (secs)
		end = time(NULL) + secs;
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	for (;;) {
		char path[96];
		long wait = 25, status;
		json_t *ans = NULL, *ev;
		size_t i;

		if (end) {
			long left = (long)(end - time(NULL));

			if (left <= 0)
				return 0;
			if (left < wait)
				wait = left;
		}
		if (have_after)
			(void)snprintf(path, sizeof(path),
				       "/v1/events?after=%llu%s%s&wait=%ld",
				       after, boot[0] ? "&boot=" : "", boot,
				       wait);
		else
			(void)snprintf(path, sizeof(path),
				       "/v1/events?wait=%ld", wait);

		/* a daemon that was never there is an error; one that goes
		 * away (a restart) is waited for */
		soft = true;
		status = http("GET", path, NULL, &ans);
		if (status < 0 && !have_after && !down &&
		    soft_rc == CURLE_COULDNT_CONNECT)
			die("%s", curl_easy_strerror(soft_rc));
		if (status < 0) {
			if (!down)
				(void)fprintf(stderr, "sippush: %s: not "
					      "answering, retrying\n", server);
			down = true;
			(void)sleep(1);
			continue;
		}
		if (down)
			(void)fprintf(stderr, "sippush: %s: back\n", server);
		down = false;

		if (jint(ans, "missed"))
			(void)printf("(%lld events missed)\n",
				     jint(ans, "missed"));
		json_array_foreach(json_object_get(ans, "events"), i, ev) {
			char *txt;

			if (json) {
				txt = json_dumps(ev, JSON_COMPACT |
						 JSON_PRESERVE_ORDER);
				(void)printf("%s\n", txt ? txt : "");
				free(txt);
			}
			else {
				print_event(ev);
			}
			if (count && ++seen >= count) {
				json_decref(ans);
				return 0;
			}
		}
		after = (unsigned long long)jint(ans, "next");
		(void)snprintf(boot, sizeof(boot), "%s", jstr(ans, "boot"));
		have_after = true;
		json_decref(ans);
	}
}


static void usage(void)
{
	(void)re_printf(
"usage: sippush [options] COMMAND ...\n%H"
"send --to AOR --app ID (--data S | --file F... | --url U) [options]\n"
"  send a push; prints its id. Several --file, or one above 1 MiB (or\n"
"  --stream), go as a multipart upload streamed from disk (session mode\n"
"  content)\n%H"
"status ID\n"
"  state and one line per terminal\n"
"cancel ID\n"
"  cancel what is not yet delivered\n"
"terminals AOR\n"
"  the user's registered terminals (JSON)\n"
"users add AOR [options]\n"
"  set digest credentials (users add needs the admin token)\n%H"
"pap DOC [options]\n"
"  POST an OMA PAP document (a push-message with its content as\n"
"  multipart/related); prints the answer, exit 0 for a 1xxx code, 3 for\n"
"  another\n%H"
"watch [options]\n"
"  live events: pushes accepted, each attempt, each delivery and push\n"
"  ending, terminals coming and going\n%H",
		opts_help, cli_opts, opts_help, send_opts, opts_help,
		users_opts, opts_help, pap_opts, opts_help, watch_opts);
}


static int cmd_send(int argc, char **argv)
{
	struct send_conf o = {0};
	const char *to, *app, *type, *data, *file, *url;
	json_t *req = json_object(), *ans = NULL;
	char *txt;
	int ret = 0;

	(void)options(send_opts, &o, argc, argv, OPTS_ARGS_NONE, NULL);
	to = o.to;
	app = o.app;
	type = o.type;
	data = o.data;
	url = o.url;
	file = o.nfiles ? o.files[o.nfiles - 1] : NULL;
	if (o.method)
		json_object_set_new(req, "method", json_string(o.method));
	if (o.terminal)
		json_object_set_new(req, "terminals",
				    json_string(o.terminal));
	if (o.topic)
		json_object_set_new(req, "topic", json_string(o.topic));
	if (o.ttl)
		json_object_set_new(req, "ttl",
				    json_integer(strtoll(o.ttl, NULL, 10)));
	if (o.priority)
		json_object_set_new(req, "priority", json_integer(
					    strtoll(o.priority, NULL, 10)));
	if (o.disposition)
		json_object_set_new(req, "disposition",
				    json_string(o.disposition));

	if (!to)
		die("%s", "send: --to AOR is required");
	if (!app)
		die("%s", "send: --app ID is required");
	if (!!data + !!file + !!url != 1)
		die("%s", "send: give exactly one of --data, --file, --url");

	json_object_set_new(req, "to", json_string(to));
	json_object_set_new(req, "app", json_string(app));
	json_object_set_new(req, "content_type", json_string(
		type ? type : data ? "text/plain" :
		"application/octet-stream"));

	/* several files, or a large one: streamed as multipart parts */
	if (file && (o.nfiles > 1 || o.stream ||
		     file_size(file) > STREAM_ABOVE)) {
		txt = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		(void)http_mime("POST", "/v1/pushes", txt, NULL, o.files,
				o.nfiles,
				type ? type : "application/octet-stream",
				&ans);
		free(txt);
		goto answered;
	}

	if (data) {
		json_object_set_new(req, "body", json_string(data));
	}
	else if (file) {
		size_t len;
		char *p = read_file(file, &len), *enc = b64((void *)p, len);

		json_object_set_new(req, "body_base64", json_string(enc));
		free(p);
		free(enc);
	}
	else {
		json_object_set_new(req, "url", json_string(url));
	}

	txt = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	(void)http("POST", "/v1/pushes", txt, &ans);
	free(txt);

 answered:
	{
		const char *id = json_string_value(json_object_get(ans, "id"));
		char idbuf[64];

		if (!id)
			die("%s", "server answered without an id");
		(void)printf("%s\n", id);
		(void)fflush(stdout);
		(void)snprintf(idbuf, sizeof(idbuf), "%s", id);
		json_decref(ans);
		if (o.wait)
			ret = wait_final(idbuf, o.timeout);
	}
	return ret;
}


int main(int argc, char **argv)
{
	struct cli_conf o = {0};
	const struct opt *action = NULL;
	const char *cmd;
	char path[1024];
	json_t *ans = NULL;
	int argi;

	/* the program's options stop at the command */
	argi = options(cli_opts, &o, argc, argv, OPTS_ARGS_STOP, &action);
	if (action && action->type == OPTS_HELP) {
		usage();
		return 0;
	}
	if (action) {
		(void)printf("sippush %s\n", SIPPUSH_VERSION);
		return 0;
	}
	if (argi >= argc) {
		usage();
		return 2;
	}
	servers_set(o.server);
	token = o.token ? o.token : getenv("SIPPUSH_TOKEN");

	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	cmd = argv[argi];
	argc -= argi;
	argv += argi;

	if (!strcmp(cmd, "send"))
		return cmd_send(argc, argv);

	if (!strcmp(cmd, "pap"))
		return cmd_pap(argc, argv);

	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc, argv);

	if (!strcmp(cmd, "status") || !strcmp(cmd, "cancel")) {
		if (argc != 2)
			die("%s: give one push id", cmd);
		api_path(path, sizeof(path), "/v1/pushes/", argv[1], "");
		(void)http(strcmp(cmd, "status") ? "DELETE" : "GET", path,
			   NULL, &ans);
		print_status(ans, true);
		json_decref(ans);
		return 0;
	}

	if (!strcmp(cmd, "terminals")) {
		char *txt;

		if (argc != 2)
			die("%s", "terminals: give one AoR");
		api_path(path, sizeof(path), "/v1/users/", argv[1],
			 "/terminals");
		(void)http("GET", path, NULL, &ans);
		txt = json_dumps(ans, JSON_INDENT(2));
		(void)printf("%s\n", txt ? txt : "");
		free(txt);
		json_decref(ans);
		return 0;
	}

	if (!strcmp(cmd, "users")) {
		struct users_conf uo = {0};
		const char *pw;
		json_t *req;
		char *txt;
		int i;

		i = options(users_opts, &uo, argc, argv, OPTS_ARGS_ANY, NULL);
		pw = uo.password ? uo.password : getenv("SIPPUSH_PASSWORD");
		if (argc - i != 2 || strcmp(argv[i], "add"))
			die("%s", "users: use 'users add AOR'");
		if (!pw)
			die("%s", "users add: give --password P or set "
			    "SIPPUSH_PASSWORD");
		api_path(path, sizeof(path), "/v1/users/", argv[i + 1],
			 "/credentials");
		req = json_pack("{s:s}", "password", pw);
		txt = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		(void)http("PUT", path, txt, &ans);
		free(txt);
		json_decref(ans);
		(void)printf("credentials stored for %s\n", argv[i + 1]);
		return 0;
	}

	die("unknown command '%s' (send, status, cancel, terminals, users, "
	    "pap, watch)",
	    cmd);
	return 2;
}
