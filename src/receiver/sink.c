/**
 * @file sink.c  The dir: and exec: handlers of received pushes
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <re.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "rt/safefile.h"
#include "receiver/sink.h"

#define MOD "sink"

struct handler {
	struct le le;
	char *app;
	char kind;                /**< 'd' dir, 'e' exec                 */
	char *path;
};

struct child {
	pid_t pid;
	uint64_t started;
	char push_id[128];
	bool deferred;            /**< its exit status is the SIP answer */
};

struct sink {
	struct list handlers;
	struct sink_conf conf;
	char *tmp_dir;
	struct child children[SINK_EXEC_MAX];
	uint32_t nchildren;
	sink_done_h *doneh;
	void *arg;
};


static void handler_destructor(void *arg)
{
	struct handler *h = arg;

	list_unlink(&h->le);
	mem_deref(h->app);
	mem_deref(h->path);
}


static void destructor(void *arg)
{
	struct sink *s = arg;

	list_flush(&s->handlers);
	mem_deref(s->tmp_dir);
}


/* "dir:/path" or "exec:/path": its kind and path, or 0 */
static char kind_of(const char *spec, const char **path)
{
	if (!strncmp(spec, "dir:", 4)) {
		*path = spec + 4;
		return 'd';
	}
	if (!strncmp(spec, "exec:", 5)) {
		*path = spec + 5;
		return 'e';
	}
	return 0;
}


/**
 * Is spec a handler we can use? A dir: directory is created 0750 when
 * missing; one that is a symlink, or group/world-writable and not ours,
 * is refused; an exec: program must be executable. why: in words.
 */
int sink_check(const char *spec, const char **why)
{
	const char *path = NULL, *dummy;
	char kind;
	int dfd, err;

	if (!why)
		why = &dummy;
	if (!spec)
		return EINVAL;
	kind = kind_of(spec, &path);
	if (!kind) {
		*why = "HANDLER must be dir:/path or exec:/path";
		return EINVAL;
	}
	if (!*path) {
		*why = "empty handler path";
		return EINVAL;
	}
	if (kind == 'e') {
		if (access(path, X_OK)) {
			*why = "not executable";
			return EACCES;
		}
		return 0;
	}
	err = safedir_open(&dfd, path, 0750);
	if (err == EPERM)
		*why = "the directory is group/world-writable and not ours: "
			"refused";
	else if (err)
		*why = "cannot open or create the directory (a symlink is "
			"refused)";
	else
		(void)close(dfd);
	return err;
}


int sink_alloc(struct sink **sp, const struct sink_conf *conf,
	       sink_done_h *doneh, void *arg)
{
	struct sink *s;
	int err;

	if (!sp || !conf || !conf->tmp_dir || !conf->exec_max ||
	    conf->exec_max > SINK_EXEC_MAX)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	s->conf = *conf;
	err = str_dup(&s->tmp_dir, conf->tmp_dir);
	s->conf.tmp_dir = s->tmp_dir;
	s->doneh = doneh;
	s->arg = arg;
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}


/** The application's handler (checked with sink_check() before) */
int sink_add(struct sink *s, const char *app, const char *spec)
{
	struct handler *h;
	const char *path = NULL;
	char kind;
	int err;

	if (!s || !app || !spec)
		return EINVAL;
	kind = kind_of(spec, &path);
	if (!kind || !*path)
		return EINVAL;

	h = mem_zalloc(sizeof(*h), handler_destructor);
	if (!h)
		return ENOMEM;
	h->kind = kind;
	err = str_dup(&h->app, app);
	err = err ? err : str_dup(&h->path, path);
	if (err)
		mem_deref(h);
	else
		list_append(&s->handlers, &h->le, h);
	return err;
}


static void safe_name(char *out, size_t sz, const char *id)
{
	size_t i;

	for (i = 0; id[i] && i + 1 < sz; i++)
		out[i] = (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
				 "QRSTUVWXYZ0123456789._-", id[i]) && id[i])
			? id[i] : '_';
	out[i] = '\0';
}


/* A session-mode file (ours, in the state dir): renamed into the
 * handler's directory, or copied there (another fs) */
static int move_file(int dfd, const char *name, const char *src)
{
	char tmp[256];
	static uint8_t buf[1 << 16];
	int in, out, err = 0;
	ssize_t n;

	(void)chmod(src, 0640);
	if (!renameat(AT_FDCWD, src, dfd, name))
		return 0;
	if (errno != EXDEV)
		return errno;

	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return errno;
	err = safefile_tmp(&out, dfd, "copy", 0640, tmp, sizeof(tmp));
	if (err) {
		(void)close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		err = safefile_write_all(out, buf, (size_t)n);
		if (err)
			break;
	}
	if (n < 0)
		err = errno;
	(void)close(in);
	return safefile_commit(dfd, out, tmp, name, err);
}


static int to_dir(const struct handler *h, const struct receiver_push *p)
{
	char name[200], mname[210];
	char *meta = NULL;
	int dfd = -1, err;

	safe_name(name, sizeof(name) - 8, p->push_id);
	re_snprintf(mname, sizeof(mname), "%s.meta", name);
	err = re_sdprintf(&meta, "%H", receiver_meta_print, p);
	if (err)
		goto out;
	/* opened (and checked) per push: a directory replaced meanwhile is
	 * the new one, or refused */
	err = safedir_open(&dfd, h->path, 0750);
	if (err)
		goto out;

	/* the content first: a .meta file says its content is there */
	if (!p->error && p->file)
		err = move_file(dfd, name, p->file);
	else if (!p->error)
		err = safefile_write(dfd, name, p->body, p->body_len,
				     0640);
	if (!err)
		err = safefile_write(dfd, mname, meta, str_len(meta), 0640);

 out:
	if (err)
		plog(SIPPUSH_LOG_ERROR, MOD, "%s: cannot write: %m", h->path,
		     err);
	if (dfd >= 0)
		(void)close(dfd);
	mem_deref(meta);
	return err;
}


/* An open, unlinked temp file in dir holding the content, positioned at
 * its start; -errno on failure */
static int body_file(const char *dir, const uint8_t *p, size_t n)
{
	char path[600];
	int fd, err;

	re_snprintf(path, sizeof(path), "%s/.exec-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	err = safefile_write_all(fd, p, n);
	if (!err && lseek(fd, 0, SEEK_SET))
		err = errno;
	if (err) {
		(void)close(fd);
		return -err;
	}
	return fd;
}


static int to_exec(struct sink *s, const struct handler *h,
		   const struct receiver_push *p)
{
	struct child *c;
	pid_t pid;
	int fd;

	if (s->nchildren >= s->conf.exec_max)
		return EBUSY;
	if (p->file) {
		/* the file itself is stdin: opened here, it outlives its
		 * name, which the receiver removes after this call */
		fd = open(p->file, O_RDONLY);
		if (fd < 0)
			return errno;
	}
	else {
		/* the content in an unlinked temp file, not a pipe: a
		 * handler that does not read cannot stall the agent */
		fd = body_file(s->tmp_dir, p->body, p->body_len);
		if (fd < 0)
			return -fd;
	}

	pid = fork();
	if (pid < 0) {
		(void)close(fd);
		return errno;
	}
	if (pid == 0) {
		(void)dup2(fd, 0);
		/* the handler gets stdin, stdout and stderr, nothing of ours:
		 * not the SIP sockets, the epoll set, the seen file */
		closefrom(3);
		if (p->filename)
			(void)setenv("SIPPUSH_FILENAME", p->filename, 1);
		(void)setenv("SIPPUSH_APP", p->app, 1);
		(void)setenv("SIPPUSH_FROM", p->from, 1);
		(void)setenv("SIPPUSH_CONTENT_TYPE", p->ctype, 1);
		(void)setenv("SIPPUSH_METHOD", p->method, 1);
		(void)setenv("SIPPUSH_PUSH_ID", p->push_id, 1);
		if (p->error)
			(void)setenv("SIPPUSH_ERROR", p->error, 1);
		execl(h->path, h->path, (char *)NULL);
		_exit(127);
	}

	(void)close(fd);

	c = &s->children[s->nchildren++];
	c->pid = pid;
	c->started = tmr_jiffies();
	str_ncpy(c->push_id, p->push_id, sizeof(c->push_id));
	/* a page- or subscription-mode push is answered when the handler
	 * exits: 0 takes it, anything else makes the sender try again */
	c->deferred = p->deferrable;
	return p->deferrable ? EINPROGRESS : 0;
}


/**
 * Hand p to its application's handler: 0 taken, EINPROGRESS (deferrable)
 * the program runs, EBUSY no program may start now, ENOENT no handler
 * for the application, else the error.
 */
int sink_push(struct sink *s, const struct receiver_push *p)
{
	struct le *le;

	if (!s || !p || !p->app || !p->push_id)
		return EINVAL;

	for (le = s->handlers.head; le; le = le->next) {
		const struct handler *h = le->data;

		if (strcmp(h->app, p->app))
			continue;
		plog(SIPPUSH_LOG_INFO, MOD, "push %s for %s (%s, %zu bytes)%s%s",
		     p->push_id, p->app, p->ctype, p->body_len,
		     p->error ? ": " : "", p->error ? p->error : "");
		return h->kind == 'd' ? to_dir(h, p) : to_exec(s, h, p);
	}
	return ENOENT;
}


/** Programs that exited are reaped (a deferred push answered), the ones
 *  past exec_timeout_s killed; called every 100 ms or so */
void sink_poll(struct sink *s)
{
	uint64_t now = tmr_jiffies();

	if (!s)
		return;

	for (uint32_t i = 0; i < s->nchildren; ) {
		struct child *c = &s->children[i];
		int status;
		pid_t w = waitpid(c->pid, &status, WNOHANG);

		if (w == c->pid) {
			int code = WIFEXITED(status) ? WEXITSTATUS(status) :
				128 + WTERMSIG(status);

			plog(SIPPUSH_LOG_INFO, MOD, "handler for %s exited %d",
			     c->push_id, code);
			if (c->deferred && s->doneh)
				s->doneh(c->push_id, code ? EIO : 0, s->arg);
			s->children[i] = s->children[--s->nchildren];
			continue;
		}
		if (now - c->started >
		    (uint64_t)s->conf.exec_timeout_s * 1000) {
			plog(SIPPUSH_LOG_WARN, MOD, "handler for %s timed out: "
			     "killed", c->push_id);
			(void)kill(c->pid, SIGKILL);
		}
		++i;
	}
}


/** Programs running */
uint32_t sink_running(const struct sink *s)
{
	return s ? s->nchildren : 0;
}
