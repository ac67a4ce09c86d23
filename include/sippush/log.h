/**
 * @file log.h  Leveled logging to stderr (--log-level)
 */

enum log_level {
	SIPPUSH_LOG_ERROR = 0,
	SIPPUSH_LOG_WARN,
	SIPPUSH_LOG_INFO,
	SIPPUSH_LOG_DEBUG,
};

void log_level_set(enum log_level lvl);
int  log_level_decode(enum log_level *lvl, const char *name);
bool log_enabled(enum log_level lvl);
void plog(enum log_level lvl, const char *module, const char *fmt, ...);
void log_route_libre(void);
