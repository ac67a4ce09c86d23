/**
 * @file log.c  Leveled logging to stderr
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <re.h>
#define DEBUG_MODULE "log"
#define DEBUG_LEVEL 0
#include <re_dbg.h>
#include <sippush/log.h>

static enum log_level level = SIPPUSH_LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};


void log_level_set(enum log_level lvl)
{
	level = lvl;
}


int log_level_decode(enum log_level *lvl, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (name && !strcmp(name, names[i])) {
			*lvl = (enum log_level)i;
			return 0;
		}
	}
	return EINVAL;
}


bool log_enabled(enum log_level lvl)
{
	return lvl <= level;
}


void plog(enum log_level lvl, const char *module, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	va_list ap;

	if (!log_enabled(lvl))
		return;

	va_start(ap, fmt);
	(void)re_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)fprintf(stderr, "%lld.%03ld %s %s: %s\n", (long long)ts.tv_sec,
		      ts.tv_nsec / 1000000, names[lvl], module, buf);
}


/* libre's own messages ("msg decode err", "unhandled response") in our
 * format and under --log-level, not bare on stderr */
static void libre_h(int dlvl, const char *p, size_t len, void *arg)
{
	enum log_level lvl = dlvl <= DBG_ERR ? SIPPUSH_LOG_ERROR :
		dlvl == DBG_WARNING ? SIPPUSH_LOG_WARN :
		dlvl == DBG_DEBUG ? SIPPUSH_LOG_DEBUG : SIPPUSH_LOG_INFO;
	(void)arg;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		--len;
	plog(lvl, "re", "%b", p, len);
}


/** Route libre's debug output through plog() (after libre_init) */
void log_route_libre(void)
{
	dbg_handler_set(libre_h, NULL);
}
