/**
 * @file sink.h  Where a received push goes: a directory or a program
 *
 * Each application has a handler, given as:
 *   dir:PATH   one file per push, named by its push id (what is not
 *              [A-Za-z0-9._-] becomes '_'), written atomically through
 *              the directory's descriptor (temp + rename, 0640), then
 *              <name>.meta (receiver_meta_print): a .meta file says its
 *              content is there. A session-mode file is moved there.
 *   exec:PATH  the program runs with the content on stdin (an unlinked
 *              temp file in tmp_dir, or the session-mode file) and
 *              SIPPUSH_APP, SIPPUSH_FROM, SIPPUSH_CONTENT_TYPE,
 *              SIPPUSH_METHOD, SIPPUSH_PUSH_ID (SIPPUSH_FILENAME,
 *              SIPPUSH_ERROR when set) in its environment, descriptors
 *              0-2 only; at most exec_max run at once (beyond: EBUSY, the
 *              sender retries), each killed after exec_timeout_s. A
 *              deferrable push is answered when its program exits: done
 *              gets 0 for exit status 0, else EIO. Programs outlive the
 *              sink.
 */

struct sink;
struct receiver_push;

enum { SINK_EXEC_MAX = 64 };

struct sink_conf {
	uint32_t exec_max;        /**< programs at once (1..SINK_EXEC_MAX) */
	uint32_t exec_timeout_s;  /**< a program is killed after it      */
	const char *tmp_dir;      /**< content for programs (ours alone) */
};

/** A deferred push's end: its program exited (err 0: it took it) */
typedef void (sink_done_h)(const char *push_id, int err, void *arg);

int  sink_check(const char *spec, const char **why);
int  sink_alloc(struct sink **sp, const struct sink_conf *conf,
		sink_done_h *doneh, void *arg);
int  sink_add(struct sink *s, const char *app, const char *spec);
int  sink_push(struct sink *s, const struct receiver_push *p);
void sink_poll(struct sink *s);
uint32_t sink_running(const struct sink *s);
