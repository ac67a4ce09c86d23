/**
 * @file src/api/papapi.h  POST /pap
 */
struct sender;
struct store;
struct api_conf;

struct initiator;

struct papapi {
	struct sender *s;
	struct store *st;
	const struct api_conf *conf;
	struct initiator *in;     /**< who sends it, or NULL              */
	bool admin;               /**< it sees every push-id and terminal */
};

int papapi_request(const struct papapi *pa, const char *ctype,
		   const uint8_t *body, size_t len, char **xml,
		   unsigned *status, bool *wait);
