/**
 * @file opts.c  Options as data: values, the table's command line, config
 *               files, defaults, reload and --help
 *
 * Errors: ENOENT for what is no option at all (an unknown name, a missing
 * value, a word where none is taken), the refusing check's error for a
 * value; either way one line in why, naming the option.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include <sippush/cidr.h>
#include "rt/opts.h"


enum { OPTS_MAX = 96, HELP_COL = 25, HELP_WIDTH = 79 };


static int number(uint64_t *v, const char *s, char **end)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return EINVAL;
	errno = 0;
	*v = strtoull(s, end, 10);
	return (errno || *end == s) ? EINVAL : 0;
}


struct unit {
	char suffix;
	uint64_t mul;
};


/* A number with an optional one-letter unit from the table */
static int scaled(uint64_t *out, const char *s, const struct unit *units,
		  size_t n)
{
	uint64_t v, mul = 1;
	char *end;
	size_t i;

	if (!out || number(&v, s, &end))
		return EINVAL;

	if (*end) {
		for (i = 0; i < n && units[i].suffix != *end; i++)
			;
		if (i == n || end[1])
			return EINVAL;
		mul = units[i].mul;
	}
	if (v > UINT64_MAX / mul / 1000)
		return ERANGE;
	*out = v * mul;
	return 0;
}


/** "30", "30s", "5m", "2h", "7d" -> seconds */
int opts_duration(uint64_t *secs, const char *s)
{
	static const struct unit u[] = {
		{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400},
	};

	return scaled(secs, s, u, ARRAY_SIZE(u));
}


/** "1300", "64k", "16M", "1G" -> bytes */
int opts_size(uint64_t *bytes, const char *s)
{
	static const struct unit u[] = {
		{'k', 1ull << 10}, {'K', 1ull << 10}, {'m', 1ull << 20},
		{'M', 1ull << 20}, {'g', 1ull << 30}, {'G', 1ull << 30},
	};

	return scaled(bytes, s, u, ARRAY_SIZE(u));
}


int opts_u32(uint32_t *v, const char *s, uint32_t min, uint32_t max)
{
	uint64_t n;
	char *end;

	if (!v || number(&n, s, &end) || *end)
		return EINVAL;
	if (n < min || n > max)
		return ERANGE;
	*v = (uint32_t)n;
	return 0;
}


/** "127.0.0.1:5060" or "[::1]:5060" */
int opts_addr(struct sa *sa, const char *s)
{
	if (!sa || !s)
		return EINVAL;
	return sa_decode(sa, s, strlen(s)) ? EINVAL : 0;
}



/* One parse: where each row's value goes */
struct run {
	const struct opt *tab;
	void *conf;
	void *rest;               /**< rows outside only, to validate them */
	unsigned only;            /**< 0: every row                        */
	bool argv;
	bool given[OPTS_MAX];     /**< a list's first value replaces it    */
};


static void *at(void *conf, size_t off)
{
	return (uint8_t *)conf + off;
}


static bool is_list(const struct opt *o)
{
	return o->type == OPTS_CIDRS || o->type == OPTS_STRS;
}


static int uint_keep(const struct opt *o, void *conf, uint64_t v)
{
	const uint64_t scale = o->scale ? o->scale : 1;
	const uint64_t max = o->max ? o->max : UINT64_MAX;

	if (v < o->min || v > max || v > UINT64_MAX / scale)
		return ERANGE;
	v *= scale;
	if (o->size == sizeof(uint32_t)) {
		uint32_t u = (uint32_t)v;

		if (v > UINT32_MAX)
			return ERANGE;
		memcpy(at(conf, o->off), &u, sizeof(u));
	}
	else if (o->size == sizeof(uint64_t)) {
		memcpy(at(conf, o->off), &v, sizeof(v));
	}
	else {
		return EINVAL;
	}
	return 0;
}


/* maxlen: the longest value (0: what sz holds) */
static int str_keep(const struct opt *o, char *dst, size_t sz,
		    size_t maxlen, const char *val)
{
	const size_t len = strlen(val);

	if (len < o->min)
		return EINVAL;
	if (len >= sz || (maxlen && len > maxlen))
		return ENAMETOOLONG;
	str_ncpy(dst, val, sz);
	return 0;
}


/* The row's target takes val; val NULL resets it to unset (empty, 0) */
static int keep(struct opts_ctx *ctx, const char *val)
{
	const struct opt *o = ctx->opt;
	void *p = at(ctx->conf, o->off);
	size_t *n = is_list(o) ? at(ctx->conf, o->noff) : NULL;
	uint64_t v = 0;
	struct pl pl;
	int err;

	if (o->type == OPTS_FUNC)
		return o->set ? o->set(ctx, val) : EINVAL;
	if (!val) {
		if (n)
			*n = 0;
		else if (o->type == OPTS_FLAG)
			*(bool *)p = false;
		else if (o->type == OPTS_STR)
			*(char *)p = '\0';
		else if (o->type == OPTS_ARG)
			*(const char **)p = NULL;
		else if (o->type == OPTS_ADDR)
			sa_init(p, AF_UNSPEC);
		else if (o->type == OPTS_U32 || o->type == OPTS_DURATION ||
			 o->type == OPTS_SIZE)
			memset(p, 0, o->size);
		return 0;
	}

	switch (o->type) {

	case OPTS_FLAG:
		*(bool *)p = true;
		return 0;

	case OPTS_STR:
		return str_keep(o, p, o->size, o->max, val);

	case OPTS_ARG:
		*(const char **)p = val;
		return 0;

	case OPTS_U32:
		if (!*val || strspn(val, "0123456789") != strlen(val) ||
		    strlen(val) > 19)
			return EINVAL;
		v = strtoull(val, NULL, 10);
		return uint_keep(o, ctx->conf, v);

	case OPTS_DURATION:
	case OPTS_SIZE:
		err = o->type == OPTS_SIZE ? opts_size(&v, val) :
			opts_duration(&v, val);
		return err ? err : uint_keep(o, ctx->conf, v);

	case OPTS_ADDR:
		return opts_addr(p, val);

	case OPTS_CIDRS:
		if (*n >= o->max)
			return E2BIG;
		pl_set_str(&pl, val);
		err = cidr_decode((struct cidr *)p + *n, &pl);
		if (!err)
			++*n;
		return err;

	case OPTS_STRS:
		if (*n >= o->max)
			return E2BIG;
		/* a list's max is its capacity; its element bounds a value */
		err = str_keep(o, (char *)p + *n * o->size, o->size, 0, val);
		if (!err)
			++*n;
		return err;

	default:
		return 0;
	}
}


/* A bound as it is written: 7d, 16M, 30 */
static void bound_str(char *buf, size_t sz, const struct opt *o, uint64_t v)
{
	static const struct {
		enum opts_type type;
		uint64_t mul;
		char unit;
	} u[] = {
		{OPTS_DURATION, 86400, 'd'}, {OPTS_DURATION, 3600, 'h'},
		{OPTS_DURATION, 60, 'm'}, {OPTS_SIZE, 1ull << 30, 'G'},
		{OPTS_SIZE, 1ull << 20, 'M'}, {OPTS_SIZE, 1ull << 10, 'K'},
	};

	for (size_t i = 0; v && i < ARRAY_SIZE(u); i++) {
		if (u[i].type == o->type && !(v % u[i].mul)) {
			re_snprintf(buf, sz, "%llu%c",
				    (unsigned long long)(v / u[i].mul),
				    u[i].unit);
			return;
		}
	}
	re_snprintf(buf, sz, "%llu%s", (unsigned long long)v,
		    o->type == OPTS_DURATION ? "s" : "");
}


/* Why a value was refused, in words */
static void reason(char *buf, size_t sz, const struct opt *o, int err,
		   const char *val, const char *why)
{
	static const char *what[] = {
		[OPTS_U32] = "not a number",
		[OPTS_DURATION] = "a duration: 30, 30s, 5m, 2h, 7d",
		[OPTS_SIZE] = "a size: 1300, 64K, 16M, 1G",
		[OPTS_ADDR] = "ADDR:PORT or [IPv6]:PORT",
		[OPTS_CIDRS] = "an address or a prefix (10.0.0.0/8)",
	};
	char lo[32], hi[32];

	bound_str(lo, sizeof(lo), o, o->min);
	bound_str(hi, sizeof(hi), o, o->max);
	if (why)
		re_snprintf(buf, sz, "%s", why);
	else if (err == ERANGE && o->type >= OPTS_U32 &&
		 o->type <= OPTS_SIZE && o->max)
		re_snprintf(buf, sz, "out of range: %s..%s", lo, hi);
	else if (err == ERANGE && o->type >= OPTS_U32 && o->type <= OPTS_SIZE)
		re_snprintf(buf, sz, "at least %s", lo);
	else if (err == E2BIG && is_list(o))
		re_snprintf(buf, sz, "at most %llu of them",
			    (unsigned long long)o->max);
	else if (err == ENAMETOOLONG)
		re_snprintf(buf, sz, "too long");
	else if (err == EINVAL && val && !*val)
		re_snprintf(buf, sz, "empty");
	else if (err == EINVAL && o->type < OPTS_FUNC && what[o->type])
		re_snprintf(buf, sz, "%s", what[o->type]);
	else
		re_snprintf(buf, sz, "%m", err);
}


static void refused(char *why, size_t sz, const char *where,
		    const struct opt *o, const char *val, int err,
		    const char *hwhy)
{
	char r[128];

	reason(r, sizeof(r), o, err, val, hwhy);
	re_snprintf(why, sz, "%s--%s%s%s: invalid value (%s)", where, o->name,
		    val && *val ? " " : "", val ? val : "", r);
}


static int apply(struct run *r, const struct opt *o, const char *val,
		 const char **why)
{
	const size_t i = (size_t)(o - r->tab);
	const bool in = !r->only || (o->flags & r->only);
	struct opts_ctx ctx = {in ? r->conf : r->rest, o, r->argv, NULL};
	int err = 0;

	if (!ctx.conf)
		return 0;
	if ((o->flags & OPTS_REPEAT) && !r->given[i])
		err = keep(&ctx, NULL);
	r->given[i] = true;
	if (!err && o->check)
		err = o->check(&ctx, val);
	if (!err)
		err = keep(&ctx, val);
	*why = ctx.why;
	return err;
}


const struct opt *opts_find(const struct opt *tab, const char *name)
{
	for (; tab && name && tab->name; tab++) {
		if (!strcmp(tab->name, name))
			return tab;
	}
	return NULL;
}


static size_t rows(const struct opt *tab)
{
	size_t n = 0;

	while (tab && tab[n].name)
		++n;
	return n;
}


/**
 * Reset the rows (only: those with one of these flags; 0: all) to their
 * defaults: unset, then the default applied as if it were given.
 */
int opts_defaults(const struct opt *tab, void *conf, unsigned only,
		  char *why, size_t whysz)
{
	if (!tab || !conf || !why)
		return EINVAL;

	for (const struct opt *o = tab; o->name; o++) {
		struct opts_ctx ctx = {conf, o, false, NULL};
		int err;

		if (only && !(o->flags & only))
			continue;
		err = keep(&ctx, NULL);
		if (!err && o->def && o->check)
			err = o->check(&ctx, o->def);
		if (!err && o->def)
			err = keep(&ctx, o->def);
		if (err) {
			refused(why, whysz, "default: ", o, o->def, err,
				ctx.why);
			return err;
		}
	}
	return 0;
}


/* A config file: one "name value" or "name=value" per line */
static int file_read(struct run *r, const char *path, char *why,
		     size_t whysz)
{
	char line[1024], where[600];
	unsigned lineno = 0;
	FILE *f;
	int err = 0;

	f = fopen(path, "r");
	if (!f) {
		err = errno;
		re_snprintf(why, whysz, "%s: %m", path, err);
		return err;
	}

	while (!err && fgets(line, sizeof(line), f)) {
		char *p = line, *name, *val;
		const struct opt *o;
		const char *hwhy = NULL;

		++lineno;
		if (!strchr(line, '\n') && !feof(f)) {
			re_snprintf(why, whysz, "%s:%u: line too long", path,
				    lineno);
			err = EINVAL;
			break;
		}
		p[strcspn(p, "#\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			++p;
		if (!*p)
			continue;

		name = p;
		p += strcspn(p, " \t=");
		if (*p) {
			*p++ = '\0';
			while (*p == ' ' || *p == '\t' || *p == '=')
				++p;
		}
		val = p;
		for (size_t n = strlen(val); n && (val[n - 1] == ' ' ||
						    val[n - 1] == '\t'); n--)
			val[n - 1] = '\0';

		re_snprintf(where, sizeof(where), "%s:%u: ", path, lineno);
		o = opts_find(r->tab, name);
		if (!o || o->type >= OPTS_CONFIG || o->type == OPTS_ARG) {
			re_snprintf(why, whysz, "%s%s: %s", where, name, o ?
				    "not in a file" : "unknown option");
			err = ENOENT;
			break;
		}
		if (o->type == OPTS_FLAG && *val && strcmp(val, "yes") &&
		    strcmp(val, "true")) {
			hwhy = "a flag takes no value, yes or true";
			err = EINVAL;
		}
		else {
			err = apply(r, o, val, &hwhy);
		}
		if (err)
			refused(why, whysz, where, o, val, err, hwhy);
	}

	(void)fclose(f);
	return err;
}


static int usage_err(char *why, size_t whysz, int c, char *argv[])
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		re_snprintf(why, whysz, "%s needs a value", arg);
	else if (optopt > 0 && optopt < 256)
		re_snprintf(why, whysz, "unknown option '-%c'", optopt);
	else
		re_snprintf(why, whysz, "unknown option '%s'", arg);
	return ENOENT;
}


/* Twice over the command line: the --config files first, so that the
 * command line overrides them, then the options */
static int parse(struct run *r, int argc, char *argv[], enum opts_args args,
		 int *argi, const struct opt **action, char *why,
		 size_t whysz)
{
	struct option lo[OPTS_MAX + 1];
	char so[3 * OPTS_MAX + 3], *s = so;
	const size_t n = rows(r->tab);
	int c, err = 0;

	if (n >= OPTS_MAX || argc < 1)
		return EINVAL;

	memset(lo, 0, sizeof(lo));
	if (args == OPTS_ARGS_STOP)
		*s++ = '+';
	*s++ = ':';
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &r->tab[i];
		const int has = o->flags & OPTS_OPTARG ? optional_argument :
			o->type == OPTS_FLAG || o->type == OPTS_HELP ||
			o->type == OPTS_VERSION ? no_argument :
			required_argument;

		lo[i].name = o->name;
		lo[i].has_arg = has;
		lo[i].val = 256 + (int)i;
		if (!o->shortopt)
			continue;
		*s++ = o->shortopt;
		if (has != no_argument)
			*s++ = ':';
		if (has == optional_argument)
			*s++ = ':';
	}
	*s = '\0';
	opterr = 0;

	for (int pass = 0; pass < 2 && !err; pass++) {
		optind = 0;
		while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
			const struct opt *o = NULL;
			const char *val = optarg ? optarg : "";
			const char *hwhy = NULL;

			if (c >= 256 && c < 256 + (int)n)
				o = &r->tab[c - 256];
			for (size_t i = 0; !o && c > 0 && c < 256 && i < n;
			     i++) {
				if (r->tab[i].shortopt == c)
					o = &r->tab[i];
			}
			if (!o)
				return usage_err(why, whysz, c, argv);
			if (pass == 0) {
				if (o->type == OPTS_CONFIG)
					err = file_read(r, val, why, whysz);
				if (err)
					break;
				continue;
			}
			if (o->type == OPTS_HELP || o->type == OPTS_VERSION) {
				if (action)
					*action = o;
				return 0;
			}
			if (o->type == OPTS_CONFIG)
				continue;
			r->argv = true;
			err = apply(r, o, val, &hwhy);
			r->argv = false;
			if (err) {
				refused(why, whysz, "", o, val, err, hwhy);
				break;
			}
		}
	}
	if (err)
		return err;

	if (argi)
		*argi = optind;
	else if (optind < argc) {
		re_snprintf(why, whysz, "unexpected argument '%s'",
			    argv[optind]);
		return ENOENT;
	}
	return 0;
}


/**
 * Apply the --config files, then the command line, to conf (whose
 * defaults are set). args: what else the command line may hold; argi
 * (with OPTS_ARGS_STOP or ANY): the index of the first such word. A
 * --help or --version ends the parse with *action set.
 */
int opts_parse(const struct opt *tab, void *conf, int argc, char *argv[],
	       enum opts_args args, int *argi, const struct opt **action,
	       char *why, size_t whysz)
{
	struct run r;

	if (!tab || !conf || !argv || !why || (args != OPTS_ARGS_NONE &&
					       !argi))
		return EINVAL;
	if (action)
		*action = NULL;

	memset(&r, 0, sizeof(r));
	r.tab = tab;
	r.conf = conf;
	return parse(&r, argc, argv, args, args == OPTS_ARGS_NONE ? NULL :
		     argi, action, why, whysz);
}


/**
 * SIGHUP: conf (a copy of the running configuration) gets the rows with
 * OPTS_RELOAD anew: their defaults, then the files and the command line;
 * the other rows go to scratch (zeroed, of conf's type), checked only. A
 * value refused anywhere is an error.
 */
int opts_reload(const struct opt *tab, void *conf, void *scratch, int argc,
		char *argv[], char *why, size_t whysz)
{
	struct run r;
	int err;

	if (!tab || !conf || !scratch || !argv || !why)
		return EINVAL;

	err = opts_defaults(tab, conf, OPTS_RELOAD, why, whysz);
	if (err)
		return err;

	memset(&r, 0, sizeof(r));
	r.tab = tab;
	r.conf = conf;
	r.rest = scratch;
	r.only = OPTS_RELOAD;
	return parse(&r, argc, argv, OPTS_ARGS_NONE, NULL, NULL, why, whysz);
}


static int pad(struct re_printf *pf, size_t n)
{
	int err = 0;

	while (!err && n--)
		err = re_hprintf(pf, " ");
	return err;
}


/* Words of text, wrapped to HELP_WIDTH from column col (at HELP_COL) */
static int wrap(struct re_printf *pf, size_t *col, const char *text)
{
	int err = 0;

	while (!err && text && *text) {
		size_t w = strcspn(text, " \n");

		if (*col > HELP_COL && *col + 1 + w > HELP_WIDTH) {
			err = re_hprintf(pf, "\n") | pad(pf, HELP_COL);
			*col = HELP_COL;
		}
		else if (*col > HELP_COL) {
			err = re_hprintf(pf, " ");
			++*col;
		}
		err |= re_hprintf(pf, "%b", text, w);
		*col += w;
		text += w;
		text += strspn(text, " \n");
	}
	return err;
}


/** --help: a line per row (more when its text wraps) */
int opts_help(struct re_printf *pf, const struct opt *tab)
{
	int err = 0;

	for (const struct opt *o = tab; !err && o && o->name; o++) {
		const char *def = o->defhelp ? o->defhelp : o->def;
		const bool opt = o->arg && (o->flags & OPTS_OPTARG);
		char left[96], shrt[8] = "", note[160] = "";
		size_t col;

		if (o->shortopt)
			re_snprintf(shrt, sizeof(shrt), "-%c, ", o->shortopt);
		re_snprintf(left, sizeof(left), "  %s--%s%s%s%s", shrt,
			    o->name, opt ? "[=" : o->arg ? " " : "",
			    o->arg ? o->arg : "", opt ? "]" : "");
		col = strlen(left);
		err = re_hprintf(pf, "%s", left);
		if (col >= HELP_COL)
			err |= re_hprintf(pf, "\n") | pad(pf, HELP_COL);
		else
			err |= pad(pf, HELP_COL - col);
		col = HELP_COL;

		if ((o->flags & OPTS_REPEAT) || (def && *def))
			re_snprintf(note, sizeof(note), "(%s%s%s%s)",
				    o->flags & OPTS_REPEAT ? "repeatable" : "",
				    (o->flags & OPTS_REPEAT) && def && *def ?
				    "; " : "", def && *def ? "default " : "",
				    def ? def : "");
		err |= wrap(pf, &col, o->help);
		err |= wrap(pf, &col, note);
		err |= re_hprintf(pf, "\n");
	}
	return err;
}
