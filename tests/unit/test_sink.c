/**
 * @file test_sink.c  The agent's handlers: what a dir: handler leaves on
 *                    disk (names sanitised, content then .meta, modes) and
 *                    what an exec: program gets (stdin, environment, argv,
 *                    descriptors), its exit status as the push's answer,
 *                    the cap on programs at once, the timeout; bad input
 *                    refused
 */
#include "testutil.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "receiver/sink.h"


static char dir[64];

struct done {
	char push_id[128];
	int err;
	unsigned n;
};


static void done_h(const char *push_id, int err, void *arg)
{
	struct done *d = arg;

	str_ncpy(d->push_id, push_id, sizeof(d->push_id));
	d->err = err;
	++d->n;
}


static void path(char *buf, size_t sz, const char *name)
{
	re_snprintf(buf, sz, "%s/%s", dir, name);
}


/* A file's content, NUL-terminated ("" when there is none) */
static const char *slurp(const char *name)
{
	static char buf[4096];
	char p[256];
	ssize_t n;
	int fd;

	path(p, sizeof(p), name);
	buf[0] = '\0';
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	(void)close(fd);
	return buf;
}


static bool exists(const char *name)
{
	char p[256];

	path(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}


/* Entries of dir whose name starts with prefix */
static unsigned count(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	(void)closedir(d);
	return n;
}


static void script(const char *name, const char *body)
{
	char p[256];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_true(fprintf(f, "#!/bin/sh\nD=%s\n%s", dir, body) > 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, 0755), 0);
}


/* Poll the sink until cond or 10 s */
static bool poll_until(struct sink *s, bool (*cond)(void *), void *arg)
{
	const time_t end = time(NULL) + 10;

	while (!cond(arg) && time(NULL) < end) {
		sink_poll(s);
		(void)usleep(20000);
	}
	return cond(arg);
}


static bool done_seen(void *arg)
{
	return ((struct done *)arg)->n > 0;
}


static bool none_running(void *arg)
{
	struct sink *s = arg;

	sink_poll(s);
	return sink_running(s) == 0;
}


static int setup(void **state)
{
	(void)state;
	log_level_set(SIPPUSH_LOG_ERROR);
	str_ncpy(dir, "/tmp/sippush-sink-XXXXXX", sizeof(dir));
	return mkdtemp(dir) ? 0 : -1;
}


static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	re_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}


static const struct receiver_push push0 = {
	.app = "mms.ua", .from = "sip:push@example.com",
	.ctype = "text/plain", .method = "MESSAGE", .push_id = "id-1",
	.body = (const uint8_t *)"hello", .body_len = 5,
};


static void test_check(void **state)
{
	char p[256], q[256], spec[300];
	const char *why = NULL;
	struct stat st;
	(void)state;

	assert_int_equal(sink_check("file:/tmp", &why), EINVAL);
	assert_non_null(strstr(why, "dir:/path or exec:/path"));
	assert_int_equal(sink_check("dir:", &why), EINVAL);
	assert_int_equal(sink_check("exec:", &why), EINVAL);
	assert_int_equal(sink_check(NULL, &why), EINVAL);
	why = NULL;
	assert_int_equal(sink_check("exec:/nonexistent/prog", &why), EACCES);
	assert_string_equal(why, "not executable");
	assert_int_equal(sink_check("exec:/bin/sh", NULL), 0);

	/* a missing directory is made 0750 */
	path(p, sizeof(p), "inbox");
	re_snprintf(spec, sizeof(spec), "dir:%s", p);
	assert_int_equal(sink_check(spec, &why), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);

	/* a symlink to it is refused */
	path(q, sizeof(q), "link");
	assert_int_equal(symlink(p, q), 0);
	re_snprintf(spec, sizeof(spec), "dir:%s", q);
	why = NULL;
	assert_int_not_equal(sink_check(spec, &why), 0);
	assert_non_null(strstr(why, "symlink"));

	/* one anyone may write to, owned by another user (as root only) */
	if (geteuid() == 0) {
		path(q, sizeof(q), "shared");
		assert_int_equal(mkdir(q, 0777), 0);
		assert_int_equal(chmod(q, 0777), 0);
		assert_int_equal(chown(q, 65534, 65534), 0);
		re_snprintf(spec, sizeof(spec), "dir:%s", q);
		assert_int_equal(sink_check(spec, &why), EPERM);
		assert_non_null(strstr(why, "refused"));
	}
}


static void test_dir(void **state)
{
	struct sink_conf conf = {8, 30, dir};
	struct receiver_push p = push0;
	struct sink *s = NULL;
	char spec[300], file[256];
	struct stat st;
	int fd;
	(void)state;

	assert_int_equal(sink_alloc(&s, &conf, NULL, NULL), 0);
	re_snprintf(spec, sizeof(spec), "dir:%s/in", dir);
	assert_int_equal(sink_check(spec, NULL), 0);
	assert_int_equal(sink_add(s, "mms.ua", spec), 0);

	/* content, then its .meta; the id's slashes and controls become _ */
	p.push_id = "../a b/\x01" "c";
	assert_int_equal(sink_push(s, &p), 0);
	assert_string_equal(slurp("in/.._a_b__c"), "hello");
	assert_string_equal(slurp("in/.._a_b__c.meta"),
			    "app: mms.ua\nfrom: sip:push@example.com\n"
			    "content-type: text/plain\nmethod: MESSAGE\n"
			    "push-id: ../a b/\x01" "c\n");
	path(file, sizeof(file), "in/.._a_b__c");
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_false(exists("a b"));

	/* a failed push (a fetch that did not work): its .meta only */
	p.push_id = "id-err";
	p.error = "fetch failed: 404";
	p.body = NULL;
	p.body_len = 0;
	assert_int_equal(sink_push(s, &p), 0);
	assert_false(exists("in/id-err"));
	assert_non_null(strstr(slurp("in/id-err.meta"),
			       "error: fetch failed: 404\n"));

	/* a session-mode file is moved in, with its name and disposition */
	path(file, sizeof(file), "session-file");
	fd = open(file, O_CREAT | O_WRONLY | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "big content", 11), 11);
	assert_int_equal(close(fd), 0);
	p = push0;
	p.push_id = "id-file";
	p.method = "INVITE";
	p.file = file;
	p.body = NULL;
	p.body_len = 11;
	p.filename = "report.pdf";
	p.disposition = "attachment";
	assert_int_equal(sink_push(s, &p), 0);
	assert_false(exists("session-file"));
	assert_string_equal(slurp("in/id-file"), "big content");
	assert_non_null(strstr(slurp("in/id-file.meta"),
			       "filename: report.pdf\ndisposition: "
			       "attachment\n"));

	/* an application without a handler; bad input */
	p = push0;
	p.app = "other.app";
	assert_int_equal(sink_push(s, &p), ENOENT);
	assert_int_equal(sink_push(s, NULL), EINVAL);
	assert_int_equal(sink_push(NULL, &push0), EINVAL);
	assert_int_equal(sink_add(s, "x", "nope:/tmp"), EINVAL);
	assert_int_equal(sink_add(s, "x", "dir:"), EINVAL);

	/* the directory gone and replaced by a file: the push fails */
	assert_int_equal(sink_add(s, "gone.app", "dir:/nonexistent/x/y"), 0);
	p.app = "gone.app";
	assert_int_not_equal(sink_push(s, &p), 0);

	mem_deref(s);

	conf.exec_max = 0;
	assert_int_equal(sink_alloc(&s, &conf, NULL, NULL), EINVAL);
	conf.exec_max = SINK_EXEC_MAX + 1;
	assert_int_equal(sink_alloc(&s, &conf, NULL, NULL), EINVAL);
	conf.exec_max = 1;
	conf.tmp_dir = NULL;
	assert_int_equal(sink_alloc(&s, &conf, NULL, NULL), EINVAL);
}


static void test_exec(void **state)
{
	struct sink_conf conf = {8, 30, dir};
	struct receiver_push p = push0;
	struct done d;
	struct sink *s = NULL;
	char spec[300];
	const char *env;
	(void)state;

	/* what the program got: stdin, its SIPPUSH_ environment, argv and
	 * its open descriptors; exit status 3 for the id "fail" */
	script("h.sh",
	       "cat > $D/stdin.$SIPPUSH_PUSH_ID\n"
	       "env | grep '^SIPPUSH_' | sort > $D/env.$SIPPUSH_PUSH_ID\n"
	       "echo \"$0 $#\" > $D/argv.$SIPPUSH_PUSH_ID\n"
	       "ls /proc/self/fd | sort -n | tr '\\n' ' ' > "
	       "$D/fds.$SIPPUSH_PUSH_ID\n"
	       "[ \"$SIPPUSH_PUSH_ID\" = fail ] && exit 3\n"
	       "exit 0\n");
	memset(&d, 0, sizeof(d));
	assert_int_equal(sink_alloc(&s, &conf, done_h, &d), 0);
	re_snprintf(spec, sizeof(spec), "exec:%s/h.sh", dir);
	assert_int_equal(sink_check(spec, NULL), 0);
	assert_int_equal(sink_add(s, "mms.ua", spec), 0);

	/* deferrable: answered when it exits 0 */
	p.deferrable = true;
	p.filename = "a.txt";
	assert_int_equal(sink_push(s, &p), EINPROGRESS);
	assert_int_equal(sink_running(s), 1);
	assert_true(poll_until(s, done_seen, &d));
	assert_string_equal(d.push_id, "id-1");
	assert_int_equal(d.err, 0);
	assert_int_equal(sink_running(s), 0);
	assert_string_equal(slurp("stdin.id-1"), "hello");
	env = slurp("env.id-1");
	assert_string_equal(env, "SIPPUSH_APP=mms.ua\n"
			    "SIPPUSH_CONTENT_TYPE=text/plain\n"
			    "SIPPUSH_FILENAME=a.txt\n"
			    "SIPPUSH_FROM=sip:push@example.com\n"
			    "SIPPUSH_METHOD=MESSAGE\n"
			    "SIPPUSH_PUSH_ID=id-1\n");
	assert_non_null(strstr(slurp("argv.id-1"), "/h.sh 0\n"));
	/* 0-2, and 3: ls's own, of the directory it reads */
	assert_string_equal(slurp("fds.id-1"), "0 1 2 3 ");
	/* the temp file of the content is gone */
	assert_int_equal(count(".exec-"), 0);

	/* a failing program: EIO for the push */
	memset(&d, 0, sizeof(d));
	p.push_id = "fail";
	p.filename = NULL;
	p.error = "fetch failed";
	assert_int_equal(sink_push(s, &p), EINPROGRESS);
	assert_true(poll_until(s, done_seen, &d));
	assert_string_equal(d.push_id, "fail");
	assert_int_equal(d.err, EIO);
	assert_non_null(strstr(slurp("env.fail"),
			       "SIPPUSH_ERROR=fetch failed\n"));

	/* not deferrable (session mode): taken at once, never reported */
	memset(&d, 0, sizeof(d));
	p = push0;
	p.push_id = "now";
	assert_int_equal(sink_push(s, &p), 0);
	assert_true(poll_until(s, none_running, s));
	assert_int_equal(d.n, 0);
	assert_string_equal(slurp("stdin.now"), "hello");

	mem_deref(s);
}


static void test_exec_cap_and_timeout(void **state)
{
	struct sink_conf conf = {1, 1, dir};
	struct receiver_push p = push0;
	struct done d;
	struct sink *s = NULL;
	char spec[300];
	(void)state;

	script("hang.sh", "touch $D/hung\nexec sleep 30\n");
	memset(&d, 0, sizeof(d));
	assert_int_equal(sink_alloc(&s, &conf, done_h, &d), 0);
	re_snprintf(spec, sizeof(spec), "exec:%s/hang.sh", dir);
	assert_int_equal(sink_add(s, "mms.ua", spec), 0);

	p.deferrable = true;
	assert_int_equal(sink_push(s, &p), EINPROGRESS);
	/* one at a time: the next is refused until it ends */
	p.push_id = "id-2";
	assert_int_equal(sink_push(s, &p), EBUSY);

	/* killed after 1 s: the push failed */
	assert_true(poll_until(s, done_seen, &d));
	assert_string_equal(d.push_id, "id-1");
	assert_int_equal(d.err, EIO);
	assert_true(exists("hung"));
	assert_int_equal(sink_running(s), 0);

	/* free again; not deferred, killed all the same */
	p.deferrable = false;
	assert_int_equal(sink_push(s, &p), 0);
	assert_int_equal(sink_running(s), 1);
	assert_true(poll_until(s, none_running, s));
	mem_deref(s);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_exec_cap_and_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
