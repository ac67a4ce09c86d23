/**
 * @file cli_opts.c  sippush's options: one row each (rt/opts.h), a table
 *                   for the program and one per command that has options
 *
 * The strings stay where the command line has them (OPTS_ARG): sippush
 * reads no config file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_sa.h>
#include "rt/opts.h"
#include "cli_opts.h"

#define ARG(t, f)  .type = OPTS_ARG, .off = offsetof(struct t, f), \
	.size = sizeof(((struct t *)0)->f)
#define NUM(t, f)  .type = OPTS_U32, .off = offsetof(struct t, f), \
	.size = sizeof(((struct t *)0)->f)


static int http_url(struct opts_ctx *ctx, const char *v)
{
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		ctx->why = "must be an http:// or https:// URL";
		return EINVAL;
	}
	return 0;
}


/* --server: one URL, or several separated by commas (a cluster's nodes) */
static int http_urls(struct opts_ctx *ctx, const char *v)
{
	for (const char *u = v; u; u = strchr(u, ',')) {
		if (*u == ',')
			++u;
		if (http_url(ctx, u)) {
			ctx->why = "must be http:// or https:// URLs, "
				"separated by commas";
			return EINVAL;
		}
	}
	return 0;
}


/* a number kept as it is written, for the JSON of the push */
static int digits(struct opts_ctx *ctx, const char *v)
{
	if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18) {
		ctx->why = "not a number";
		return EINVAL;
	}
	return 0;
}


static int file_add(struct opts_ctx *ctx, const char *v)
{
	struct send_conf *c = ctx->conf;

	if (!v) {
		c->nfiles = 0;
		return 0;
	}
	if (c->nfiles >= SEND_FILES) {
		ctx->why = "at most 8 --file";
		return E2BIG;
	}
	c->files[c->nfiles++] = v;
	return 0;
}


const struct opt cli_opts[] = {
	{"server", ARG(cli_conf, server), .check = http_urls,
	 .def = "http://127.0.0.1:8080", .arg = "URL[,URL...]",
	 .help = "sippushd's HTTP API; several (the nodes of a cluster): a "
	 "request that cannot connect goes to the next"},
	{"token", ARG(cli_conf, token), .arg = "T", .help = "sippushd's admin "
	 "token or an initiator's (a token on the command line shows in ps; "
	 "the one sippushd generated is in <db>.token)",
	 .defhelp = "SIPPUSH_TOKEN"},
	{"help", 'h', OPTS_HELP, .help = "this help"},
	{"version", .type = OPTS_VERSION, .help = "sippush's version"},
	{NULL},
};


const struct opt send_opts[] = {
	{"to", ARG(send_conf, to), .arg = "AOR", .help = "the user (required)"},
	{"app", ARG(send_conf, app), .arg = "ID",
	 .help = "the push application (required)"},
	{"type", ARG(send_conf, type), .arg = "T", .help = "content type",
	 .defhelp = "text/plain for --data, application/octet-stream for "
	 "--file and --url"},
	{"data", ARG(send_conf, data), .arg = "S", .help = "the content"},
	{"file", .type = OPTS_FUNC, .flags = OPTS_REPEAT, .set = file_add,
	 .arg = "F", .help = "the content from a file, up to 8"},
	{"url", ARG(send_conf, url), .arg = "U",
	 .help = "the content by reference (content indirection)"},
	{"stream", .type = OPTS_FLAG,
	 .off = offsetof(struct send_conf, stream), .size = sizeof(bool),
	 .help = "a multipart upload even for one small file"},
	{"disposition", ARG(send_conf, disposition), .arg = "D",
	 .help = "render or attachment"},
	{"method", ARG(send_conf, method), .arg = "M",
	 .help = "auto, message, notify, refer or session",
	 .defhelp = "auto"},
	{"terminal", ARG(send_conf, terminal), .arg = "T",
	 .help = "all, or one terminal's instance", .defhelp = "all"},
	{"ttl", ARG(send_conf, ttl), .check = digits, .arg = "S",
	 .help = "lifetime", .defhelp = "sippushd's --ttl, 1d"},
	{"topic", ARG(send_conf, topic), .arg = "X",
	 .help = "a newer push of the topic replaces this one"},
	{"priority", ARG(send_conf, priority), .check = digits, .arg = "N",
	 .help = "higher goes first"},
	{"wait", .type = OPTS_FLAG, .off = offsetof(struct send_conf, wait),
	 .size = sizeof(bool), .help = "follow it: exit 0 only when it is "
	 "delivered, 3 when it ended otherwise or --timeout passed"},
	{"timeout", NUM(send_conf, timeout), .def = "300", .arg = "S",
	 .help = "how long --wait waits"},
	{NULL},
};


const struct opt pap_opts[] = {
	{"content", ARG(pap_conf, content), .arg = "F",
	 .help = "the content, sent with the document as multipart/related"},
	{"type", ARG(pap_conf, type), .def = "application/octet-stream",
	 .arg = "T", .help = "its content type"},
	{"app", ARG(pap_conf, app), .arg = "ID",
	 .help = "its X-Wap-Application-Id"},
	{"user", ARG(pap_conf, user), .arg = "U", .help = "HTTP Basic user "
	 "(an initiator's), instead of the token"},
	{"password", ARG(pap_conf, password), .arg = "P",
	 .help = "its password", .defhelp = "SIPPUSH_PASSWORD"},
	{NULL},
};


const struct opt watch_opts[] = {
	{"json", .type = OPTS_FLAG, .off = offsetof(struct watch_conf, json),
	 .size = sizeof(bool), .help = "the events as JSON lines"},
	{"after", ARG(watch_conf, after), .check = digits, .arg = "N",
	 .help = "start after event N (0: the oldest kept)",
	 .defhelp = "now"},
	{"count", NUM(watch_conf, count), .min = 1, .arg = "N",
	 .help = "stop after N events"},
	{"for", NUM(watch_conf, secs), .min = 1, .arg = "S",
	 .help = "stop after S seconds"},
	{NULL},
};


const struct opt users_opts[] = {
	{"password", ARG(users_conf, password), .arg = "P",
	 .help = "the user's digest password", .defhelp = "SIPPUSH_PASSWORD"},
	{NULL},
};
