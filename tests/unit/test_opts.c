/**
 * @file test_opts.c  Options as data: a table's defaults, bounds, unknown
 *                    options, config file under the command line, the
 *                    reload filter and --help
 */
#include "testutil.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sippush/cidr.h>
#include "rt/opts.h"


struct tconf {
	uint32_t n;
	uint64_t wait_ms;
	size_t size;
	char name[16];
	bool flag;
	struct sa addr;
	struct cidr nets[3];
	size_t nnets;
	char hosts[2][16];
	size_t nhosts;
	char mode[8];
	const char *arg;
	bool argv_seen;
};

#define TC(f) .off = offsetof(struct tconf, f), \
	.size = sizeof(((struct tconf *)0)->f)


static int mode_set(struct opts_ctx *ctx, const char *v)
{
	struct tconf *c = ctx->conf;

	if (v && strcmp(v, "a") && strcmp(v, "b")) {
		ctx->why = "a or b";
		return EINVAL;
	}
	str_ncpy(c->mode, v ? v : "", sizeof(c->mode));
	return 0;
}


static int name_check(struct opts_ctx *ctx, const char *v)
{
	struct tconf *c = ctx->conf;

	if (ctx->argv)
		c->argv_seen = true;
	return strchr(v, ' ') ? EINVAL : 0;
}


static const struct opt tab[] = {
	{"n", 'n', OPTS_U32, OPTS_RELOAD, TC(n), .min = 1, .max = 10,
	 .def = "5", .arg = "N", .help = "a number"},
	{"wait", .type = OPTS_DURATION, TC(wait_ms), .scale = 1000,
	 .max = 3600, .def = "30s", .arg = "DURATION", .help = "a wait"},
	{"size", .type = OPTS_SIZE, TC(size), .min = 1024, .max = 1u << 20,
	 .def = "64K", .arg = "SIZE", .help = "a size"},
	{"name", .type = OPTS_STR, OPTS_RELOAD, TC(name), .min = 1,
	 .check = name_check, .def = "dflt", .arg = "NAME",
	 .help = "a name, which is a rather long text so that it has to be "
	 "wrapped over more than one line of the help"},
	{"flag", .type = OPTS_FLAG, TC(flag), .help = "a flag"},
	{"addr", .type = OPTS_ADDR, TC(addr), .def = "127.0.0.1:5060",
	 .arg = "ADDR:PORT", .help = "an address"},
	{"net", .type = OPTS_CIDRS, .flags = OPTS_RELOAD | OPTS_REPEAT,
	 .off = offsetof(struct tconf, nets), .size = sizeof(struct cidr),
	 .noff = offsetof(struct tconf, nnets), .max = 3,
	 .def = "127.0.0.0/8", .arg = "CIDR", .help = "networks"},
	{"host", .type = OPTS_STRS, .flags = OPTS_REPEAT,
	 .off = offsetof(struct tconf, hosts), .size = 16,
	 .noff = offsetof(struct tconf, nhosts), .max = 2, .arg = "NAME",
	 .help = "hosts"},
	{"mode", .type = OPTS_FUNC, .flags = OPTS_RELOAD, .set = mode_set,
	 .def = "a", .arg = "a|b", .help = "a mode"},
	{"arg", .type = OPTS_ARG, TC(arg), .def = "none", .arg = "TEXT",
	 .help = "any text, kept where the command line has it"},
	{"config", .type = OPTS_CONFIG, .arg = "FILE", .help = "a file"},
	{"help", 'h', OPTS_HELP, .help = "this help"},
	{NULL},
};


static char tmpdir[64];


static int setup(void **state)
{
	(void)state;
	str_ncpy(tmpdir, "/tmp/sippush-opts-XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) ? 0 : -1;
}


static int teardown(void **state)
{
	char p[128];

	(void)state;
	re_snprintf(p, sizeof(p), "%s/conf", tmpdir);
	(void)unlink(p);
	return rmdir(tmpdir);
}


static const char *conf_file(const char *text)
{
	static char p[128];
	FILE *f;

	re_snprintf(p, sizeof(p), "%s/conf", tmpdir);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return p;
}


/* argv as getopt_long may permute it: a fresh writable copy each time */
static int run(struct tconf *c, char *why, size_t whysz, ...)
{
	static char store[24][128];
	static char *argv[25];
	const char *a;
	va_list ap;
	int argc = 0;

	va_start(ap, whysz);
	str_ncpy(store[argc], "prog", sizeof(store[0]));
	argv[argc] = store[argc];
	++argc;
	while ((a = va_arg(ap, const char *)) != NULL && argc < 24) {
		str_ncpy(store[argc], a, sizeof(store[0]));
		argv[argc] = store[argc];
		++argc;
	}
	va_end(ap);
	argv[argc] = NULL;
	why[0] = '\0';

	memset(c, 0, sizeof(*c));
	assert_int_equal(opts_defaults(tab, c, 0, why, whysz), 0);
	return opts_parse(tab, c, argc, argv, OPTS_ARGS_NONE, NULL, NULL,
			  why, whysz);
}


static bool one_line(const char *why)
{
	return why[0] && !strchr(why, '\n');
}


static void test_defaults(void **state)
{
	struct tconf c;
	char why[256];
	(void)state;

	assert_int_equal(run(&c, why, sizeof(why), NULL), 0);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.wait_ms, 30000);
	assert_int_equal(c.size, 64 * 1024);
	assert_string_equal(c.name, "dflt");
	assert_false(c.flag);
	assert_int_equal(sa_port(&c.addr), 5060);
	assert_int_equal(c.nnets, 1);
	assert_int_equal(c.nets[0].bits, 8);
	assert_int_equal(c.nhosts, 0);
	assert_string_equal(c.mode, "a");
	assert_string_equal(c.arg, "none");
	assert_false(c.argv_seen);

	assert_int_equal(run(&c, why, sizeof(why), "-n", "7", "--wait=2m",
			     "--size", "1M", "--name", "x", "--flag", "--addr",
			     "[::1]:5", "--mode", "b", "--host", "h1", "--host",
			     "h2", "--arg", "some text", NULL), 0);
	assert_int_equal(c.n, 7);
	assert_int_equal(c.wait_ms, 120000);
	assert_int_equal(c.size, 1 << 20);
	assert_string_equal(c.name, "x");
	assert_true(c.flag);
	assert_int_equal(sa_af(&c.addr), AF_INET6);
	assert_int_equal(c.nhosts, 2);
	assert_string_equal(c.hosts[1], "h2");
	assert_string_equal(c.mode, "b");
	assert_string_equal(c.arg, "some text");
	assert_true(c.argv_seen);

	/* the first value of a list replaces its default, the next add */
	assert_int_equal(run(&c, why, sizeof(why), "--net", "10.0.0.0/8",
			     "--net", "::1", NULL), 0);
	assert_int_equal(c.nnets, 2);
	assert_int_equal(c.nets[0].bits, 8);
	assert_int_equal(sa_af(&c.nets[1].net), AF_INET6);
}


static void test_bounds(void **state)
{
	static const struct {
		const char *opt, *val, *why;
		int err;
	} v[] = {
		{"--n", "11", "--n 11: invalid value (out of range: 1..10)",
		 ERANGE},
		{"--n", "0", "--n 0: invalid value (out of range: 1..10)",
		 ERANGE},
		{"--n", "+3", "--n +3: invalid value (not a number)", EINVAL},
		{"--n", "99999999999999999999999", NULL, EINVAL},
		{"--wait", "2h", "--wait 2h: invalid value (out of range: "
		 "0s..1h)", ERANGE},
		{"--wait", "1y", NULL, EINVAL},
		{"--size", "2M", "--size 2M: invalid value (out of range: "
		 "1K..1M)", ERANGE},
		{"--name", "", "--name: invalid value (empty)", EINVAL},
		{"--name", "12345678901234567", "--name 12345678901234567: "
		 "invalid value (too long)", ENAMETOOLONG},
		{"--name", "a b", NULL, EINVAL},
		{"--addr", "nowhere", NULL, EINVAL},
		{"--net", "10.0.0.0/33", NULL, EINVAL},
		{"--mode", "c", "--mode c: invalid value (a or b)", EINVAL},
	};
	struct tconf c;
	char why[256];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		why[0] = '\0';
		assert_int_equal(run(&c, why, sizeof(why), v[i].opt, v[i].val,
				     NULL), v[i].err);
		assert_true(one_line(why));
		assert_non_null(strstr(why, v[i].opt));
		if (v[i].why)
			assert_string_equal(why, v[i].why);
	}

	/* a list's element may be longer than the list is long (max is
	 * its capacity, not a length); the element's size bounds it */
	assert_int_equal(run(&c, why, sizeof(why), "--host", "h-twelve-ch",
			     NULL), 0);
	assert_string_equal(c.hosts[0], "h-twelve-ch");
	assert_int_equal(run(&c, why, sizeof(why), "--host",
			     "sixteen-chars-xx", NULL), ENAMETOOLONG);

	/* a list past its capacity */
	assert_int_equal(run(&c, why, sizeof(why), "--host", "a", "--host",
			     "b", "--host", "c", NULL), E2BIG);
	assert_string_equal(why, "--host c: invalid value (at most 2 of "
			    "them)");
}


static void test_unknown(void **state)
{
	struct tconf c;
	char why[256];
	(void)state;

	assert_int_equal(run(&c, why, sizeof(why), "--nope", NULL), ENOENT);
	assert_string_equal(why, "unknown option '--nope'");
	assert_int_equal(run(&c, why, sizeof(why), "-x", NULL), ENOENT);
	assert_string_equal(why, "unknown option '-x'");
	assert_int_equal(run(&c, why, sizeof(why), "--n", NULL), ENOENT);
	assert_string_equal(why, "--n needs a value");
	assert_int_equal(run(&c, why, sizeof(why), "-n", NULL), ENOENT);
	assert_string_equal(why, "-n needs a value");
	assert_int_equal(run(&c, why, sizeof(why), "-n", "7", "--wait=2m",
			     "--size", "1M", "--name", "x", "--flag", "--addr",
			     "[::1]:5", "--mode", "b", "--host", "h1", "--host",
			     NULL), ENOENT);
	assert_string_equal(why, "--host needs a value");
	assert_int_equal(run(&c, why, sizeof(why), "--flag=1", NULL),
			 ENOENT);
	assert_true(one_line(why));
	assert_int_equal(run(&c, why, sizeof(why), "extra", NULL), ENOENT);
	assert_string_equal(why, "unexpected argument 'extra'");

	/* in a file: named with its line; --config and --help are no
	 * file options */
	assert_int_equal(run(&c, why, sizeof(why), "--config",
			     conf_file("n 3\nbogus 1\n"), NULL), ENOENT);
	assert_non_null(strstr(why, "conf:2: bogus: unknown option"));
	assert_int_equal(run(&c, why, sizeof(why), "--config",
			     conf_file("help\n"), NULL), ENOENT);
	assert_int_equal(run(&c, why, sizeof(why), "--config",
			     conf_file("arg x\n"), NULL), ENOENT);
	assert_non_null(strstr(why, "conf:1: arg: not in a file"));
	assert_int_equal(run(&c, why, sizeof(why), "--config",
			     conf_file("n=30\n"), NULL), ERANGE);
	assert_non_null(strstr(why, "conf:1: --n 30: invalid value (out of "
			       "range: 1..10)"));
	assert_true(one_line(why));
}


static void test_file_then_argv(void **state)
{
	const char *file;
	struct tconf c;
	char why[256];
	(void)state;

	file = conf_file("# a comment\n n 3 \nname=fromfile\nflag yes\n"
			 "net 10.0.0.0/8\nhost h1\n\n");

	assert_int_equal(run(&c, why, sizeof(why), "--config", file, NULL),
			 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.name, "fromfile");
	assert_true(c.flag);
	assert_int_equal(c.nnets, 1);
	assert_int_equal(c.nets[0].bits, 8);
	assert_int_equal(c.nhosts, 1);
	assert_false(c.argv_seen);

	/* the command line wins, wherever --config stands in it; a list
	 * the file started goes on */
	assert_int_equal(run(&c, why, sizeof(why), "--n", "9", "--name", "cli",
			     "--config", file, "--net", "::1", NULL), 0);
	assert_int_equal(c.n, 9);
	assert_string_equal(c.name, "cli");
	assert_int_equal(c.nnets, 2);
	assert_true(c.argv_seen);

	/* a flag takes no value, yes or true in a file */
	assert_int_equal(run(&c, why, sizeof(why), "--config",
			     conf_file("flag no\n"), NULL), EINVAL);
	assert_non_null(strstr(why, "--flag no: invalid value"));

	/* an unreadable file */
	assert_int_equal(run(&c, why, sizeof(why), "--config",
			     "/nonexistent/x", NULL), ENOENT);
	assert_non_null(strstr(why, "/nonexistent/x"));
}


static void test_reload(void **state)
{
	struct tconf c, scratch;
	char *argv[] = {"prog", "--config", NULL, "--flag", NULL};
	char why[256], path[128];
	(void)state;

	str_ncpy(path, conf_file("n 3\nsize 128K\nnet 10.0.0.0/8\n"
				 "mode b\nname keep\n"), sizeof(path));
	argv[2] = path;
	memset(&c, 0, sizeof(c));
	assert_int_equal(opts_defaults(tab, &c, 0, why, sizeof(why)), 0);
	assert_int_equal(opts_parse(tab, &c, 4, argv, OPTS_ARGS_NONE, NULL,
				    NULL, why, sizeof(why)), 0);
	assert_int_equal(c.size, 128 * 1024);

	/* the file changes: the reloadable rows (n, name, net, mode) take
	 * it, a row without OPTS_RELOAD (size) keeps its running value;
	 * a reloadable row the file no longer names goes back to its
	 * default */
	(void)conf_file("n 4\nsize 256K\nnet 192.168.0.0/16\nnet ::1\n");
	memset(&scratch, 0, sizeof(scratch));
	assert_int_equal(opts_reload(tab, &c, &scratch, 4, argv, why,
				     sizeof(why)), 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.size, 128 * 1024);
	assert_int_equal(c.nnets, 2);
	assert_int_equal(c.nets[0].bits, 16);
	assert_string_equal(c.mode, "a");
	assert_string_equal(c.name, "dflt");
	assert_true(c.flag);
	assert_int_equal(scratch.size, 256 * 1024);

	/* an error in a row that is not reloaded still refuses it all */
	(void)conf_file("n 5\nsize 1\n");
	assert_int_equal(opts_reload(tab, &c, &scratch, 4, argv, why,
				     sizeof(why)), ERANGE);
	assert_non_null(strstr(why, "--size 1: invalid value"));
}


static void test_args_and_action(void **state)
{
	char *argv[] = {"prog", "--n", "2", "send", "--n", "3", NULL};
	char *help[] = {"prog", "--n", "4", "-h", "--n", "x", NULL};
	const struct opt *action;
	struct tconf c;
	char why[256];
	int argi = 0;
	(void)state;

	memset(&c, 0, sizeof(c));
	assert_int_equal(opts_parse(tab, &c, 6, argv, OPTS_ARGS_STOP, &argi,
				    NULL, why, sizeof(why)), 0);
	assert_int_equal(argi, 3);
	assert_int_equal(c.n, 2);

	assert_int_equal(opts_parse(tab, &c, 6, help, OPTS_ARGS_NONE, NULL,
				    &action, why, sizeof(why)), 0);
	assert_non_null(action);
	assert_string_equal(action->name, "help");
	assert_int_equal(c.n, 4);
}


static void test_help(void **state)
{
	char buf[4096], *line, *save = NULL;
	(void)state;

	PRINT(buf, "%H", opts_help, tab);
	assert_non_null(strstr(buf, "  -n, --n N              a number "
			       "(default 5)\n"));
	assert_non_null(strstr(buf, "  --wait DURATION        a wait (default "
			       "30s)\n"));
	assert_non_null(strstr(buf, "networks (repeatable; default "
			       "127.0.0.0/8)"));
	assert_non_null(strstr(buf, "  --flag                 a flag\n"));
	assert_non_null(strstr(buf, "  -h, --help"));
	for (const struct opt *o = tab; o->name; o++) {
		char name[32];

		re_snprintf(name, sizeof(name), "--%s", o->name);
		assert_non_null(strstr(buf, name));
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= 79);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_file_then_argv),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_args_and_action),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
