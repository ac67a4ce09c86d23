/**
 * @file seen.c  Identities of pushes already handed to an application
 *
 * A bounded set (oldest forgotten first) backed by an append-only file in
 * the state directory, synced before the push is acknowledged, so a
 * restarted agent still recognises a re-sent push. The file is rewritten
 * with the live set when it has grown to twice the bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "seen.h"

struct entry {
	struct le he;
	struct le le;
	char *id;
};

struct seen {
	struct hash *ht;
	struct list fifo;
	uint32_t max;
	uint32_t count;          /**< entries in fifo                    */
	uint32_t lines;
	char *path;
	FILE *f;
};


static void entry_destructor(void *arg)
{
	struct entry *e = arg;

	hash_unlink(&e->he);
	list_unlink(&e->le);
	mem_deref(e->id);
}


static void destructor(void *arg)
{
	struct seen *s = arg;

	list_flush(&s->fifo);
	mem_deref(s->ht);
	if (s->f)
		(void)fclose(s->f);
	mem_deref(s->path);
}


static bool id_cmp(struct le *le, void *arg)
{
	const struct entry *e = le->data;
	return !strcmp(e->id, arg);
}


bool seen_has(const struct seen *s, const char *id)
{
	return s && id && hash_lookup(s->ht, hash_joaat_str(id), id_cmp,
				      (void *)id) != NULL;
}


static int remember(struct seen *s, const char *id)
{
	struct entry *e;

	if (seen_has(s, id))
		return 0;

	e = mem_zalloc(sizeof(*e), entry_destructor);
	if (!e || str_dup(&e->id, id)) {
		mem_deref(e);
		return ENOMEM;
	}
	hash_append(s->ht, hash_joaat_str(id), &e->he, e);
	list_append(&s->fifo, &e->le, e);

	/* a counter, not list_count(): that walks the whole list per push */
	if (++s->count > s->max) {
		mem_deref(s->fifo.head->data);
		--s->count;
	}
	return 0;
}


/* A stdio stream on path opened with flags, never through a symlink */
static FILE *open_nofollow(const char *path, int flags, const char *mode)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, mode) : NULL;

	if (!f && fd >= 0)
		(void)close(fd);
	return f;
}


static int rewrite(struct seen *s)
{
	char tmp[512];
	FILE *f;

	re_snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	/* a new file: whatever is there (a planted link) goes, not its
	 * target */
	(void)unlink(tmp);
	f = open_nofollow(tmp, O_WRONLY | O_CREAT | O_EXCL, "w");
	if (!f)
		return errno;
	for (struct le *le = s->fifo.head; le; le = le->next)
		(void)fprintf(f, "%s\n", ((struct entry *)le->data)->id);
	if (fflush(f) || fsync(fileno(f))) {
		(void)fclose(f);
		return EIO;
	}
	(void)fclose(f);
	if (rename(tmp, s->path))
		return errno;

	if (s->f)
		(void)fclose(s->f);
	s->f = open_nofollow(s->path, O_WRONLY | O_APPEND, "a");
	s->lines = s->count;
	return s->f ? 0 : errno;
}


int seen_open(struct seen **sp, const char *dir, uint32_t max)
{
	char line[512];
	struct seen *s;
	FILE *f;
	int err;

	if (!sp || !dir)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	s->max = max ? max : 10000;

	err  = hash_alloc(&s->ht, 1024);
	err |= re_sdprintf(&s->path, "%s/seen", dir);
	if (err)
		goto out;

	f = open_nofollow(s->path, O_RDONLY, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0])
				(void)remember(s, line);
		}
		(void)fclose(f);
	}

	err = rewrite(s);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}


/** Remember an identity, on disk before returning */
int seen_add(struct seen *s, const char *id)
{
	int err;

	if (!s || !id || strchr(id, '\n'))
		return EINVAL;

	err = remember(s, id);
	if (err)
		return err;

	if (fprintf(s->f, "%s\n", id) < 0 || fflush(s->f) ||
	    fdatasync(fileno(s->f)))
		return EIO;

	if (++s->lines > 2 * s->max)
		return rewrite(s);
	return 0;
}
