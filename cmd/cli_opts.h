/**
 * @file cli_opts.h  sippush's options: the program's own, and each
 *                   command's (one table each)
 */

enum { SEND_FILES = 8 };

struct cli_conf {
	const char *server;
	const char *token;
};

struct send_conf {
	const char *to, *app, *type, *data, *url;
	const char *files[SEND_FILES];
	size_t nfiles;
	const char *method, *terminal, *topic, *disposition;
	const char *ttl, *priority;     /**< numbers, when given         */
	uint32_t timeout;
	bool wait, stream;
};

struct pap_conf {
	const char *content, *type, *app, *user, *password;
};

struct watch_conf {
	const char *after;              /**< an event number, when given */
	uint64_t count;
	uint32_t secs;
	bool json;
};

struct users_conf {
	const char *password;
};

extern const struct opt cli_opts[];
extern const struct opt send_opts[];
extern const struct opt pap_opts[];
extern const struct opt watch_opts[];
extern const struct opt users_opts[];
