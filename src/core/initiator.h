/**
 * @file initiator.h  Named push initiators (who may push, what, how fast,
 *                    and as whom)
 *
 * "NAME token=T user=U pass=P apps=mms.ua,syncml.dm rate=N
 *  identity=sip:mmsc@op.example trusted admin"
 * (token-file=PATH, pass-file=PATH: the secret is that file's content;
 * token-env=VAR, pass-env=VAR: that environment variable's value; read
 * by the program, so it never shows on a command line)
 * token: Bearer for the REST API; user/pass: HTTP Basic for PAP; apps:
 * the applications it may push to (absent: any); rate: pushes per second
 * (token bucket, burst = rate; absent: unlimited); identity: the From of
 * its pushes; trusted: that identity is asserted (P-Asserted-Identity,
 * TS §7.1.2), otherwise no PAI is sent; admin: it may also administer
 * (credentials, every push, metrics), like --api-token. Without admin it
 * sees and cancels only its own pushes, and terminals and events of its
 * applications. Credentials are compared in constant time. Pure: the
 * clock is passed in.
 */

enum { INITIATOR_MAX = 32 };

struct initiator {
	char name[64];
	char token[128];
	char user[64];
	char pass[128];
	char apps[256];
	char identity[256];
	uint32_t rate;
	bool trusted;
	bool admin;
	bool token_file;     /**< token holds a file's path, to be read */
	bool pass_file;      /**< pass holds a file's path, to be read  */
	bool token_env;      /**< token holds an environment variable's name */
	bool pass_env;       /**< pass holds an environment variable's name */
	double tokens;
	uint64_t last_ms;
};

int  initiator_decode(struct initiator *in, const char *spec);
struct initiator *initiator_auth(struct initiator *v, size_t n,
				 const char *authorization);
bool initiator_app_ok(const struct initiator *in, const char *app);
bool initiator_take(struct initiator *in, uint64_t now_ms, uint32_t n);
