/**
 * @file log.h  Leveled logging to stderr (--log-level)
 */

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_level_set(enum log_level lvl);
int  log_level_decode(enum log_level *lvl, const char *name);
bool log_enabled(enum log_level lvl);
void plog(enum log_level lvl, const char *module, const char *fmt, ...);
void log_route_libre(void);
