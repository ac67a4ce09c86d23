/**
 * @file opts.c  Command-line and config-file helpers
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "rt/opts.h"


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


int opts_file(const char *path, opts_apply_h *h, void *arg, char *why,
	      size_t whysz)
{
	char line[1024];
	unsigned lineno = 0;
	FILE *f;
	int err = 0;

	if (!path || !h || !why)
		return EINVAL;

	f = fopen(path, "r");
	if (!f) {
		err = errno;
		re_snprintf(why, whysz, "%s: %m", path, err);
		return err;
	}

	while (!err && fgets(line, sizeof(line), f)) {
		char *p = line, *name, *val;

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

		err = h(name, val, arg);
		if (err)
			re_snprintf(why, whysz, "%s:%u: %s: invalid (%m)",
				    path, lineno, name, err);
	}

	fclose(f);
	return err;
}


/**
 * Apply every --config FILE (or --config=FILE) of a command line before
 * its other options, so that the command line overrides the files.
 */
int opts_config_files(int argc, char *const argv[], opts_apply_h *h,
		      void *arg, char *why, size_t whysz)
{
	for (int i = 1; i < argc; i++) {
		const char *file = NULL;
		int err;

		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
		if (!file)
			continue;
		err = opts_file(file, h, arg, why, whysz);
		if (err)
			return err;
	}
	return 0;
}
