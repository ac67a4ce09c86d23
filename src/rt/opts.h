/**
 * @file opts.h  Options as data: one table per program
 *
 * A program describes each option once, in a row: its name, the type of
 * its argument and its bounds, where it is kept (an offset into the
 * program's configuration, or a handler), its default, whether a SIGHUP
 * reload applies it, and its help. getopt_long's options, --help, the
 * config file and the reload all come from that table.
 *
 * A config file holds one option per line, "name value" or "name=value",
 * with the long option's name without "--"; '#' starts a comment; a flag
 * takes no value, "yes" or "true". The files of --config are read before
 * the command line, which overrides them.
 */

/** The argument's type, which says how it is kept at the row's offset */
enum opts_type {
	OPTS_FLAG,      /**< bool, set by its presence                     */
	OPTS_STR,       /**< char[size]; min..max: its length (max 0: any) */
	OPTS_ARG,       /**< const char *: the command line's own string
			     (or the default); not taken from a file       */
	OPTS_U32,       /**< a number in min..max, times scale, in an
			     integer of size bytes                        */
	OPTS_DURATION,  /**< 30, 30s, 5m, 2h, 7d: seconds, as OPTS_U32    */
	OPTS_SIZE,      /**< 1300, 64k, 16M, 1G: bytes, as OPTS_U32       */
	OPTS_ADDR,      /**< struct sa, ADDR:PORT                         */
	OPTS_CIDRS,     /**< struct cidr[max], its size_t count at noff   */
	OPTS_STRS,      /**< char[max][size], its size_t count at noff    */
	OPTS_FUNC,      /**< kept by the row's set handler                */
	OPTS_CONFIG,    /**< --config FILE, read before the command line  */
	OPTS_HELP,      /**< --help: parsing stops, the caller prints     */
	OPTS_VERSION,   /**< --version: the same                          */
};

enum opts_flag {
	OPTS_RELOAD = 1 << 0,   /**< a SIGHUP reload applies it           */
	OPTS_REPEAT = 1 << 1,   /**< a list: the first value given replaces
				     the default, the next ones add         */
	OPTS_OPTARG = 1 << 2,   /**< its argument is optional (--name=V);
				     without one, set gets ""                */
};

struct opt;

/** A value on its way to a row (val NULL: reset the row to unset) */
struct opts_ctx {
	void *conf;
	const struct opt *opt;
	bool argv;              /**< from the command line, not a file    */
	const char *why;        /**< a handler's word on a refused value  */
};

/** An OPTS_FUNC row's setter, or any row's check before it is kept */
typedef int (opts_set_h)(struct opts_ctx *ctx, const char *val);

struct opt {
	const char *name;       /**< without "--"; NULL ends the table     */
	char shortopt;          /**< -x, or 0                              */
	enum opts_type type;
	unsigned flags;         /**< enum opts_flag                        */
	size_t off;             /**< offsetof its target in the conf       */
	size_t size;            /**< sizeof it (one element of a list)     */
	size_t noff;            /**< lists: offsetof their size_t count    */
	uint64_t min, max;      /**< bounds; lists: max is their capacity  */
	uint32_t scale;         /**< kept as value * scale (s as ms); 0: 1 */
	opts_set_h *set;        /**< OPTS_FUNC: keeps the value            */
	opts_set_h *check;      /**< others: refuses a value first         */
	const char *def;        /**< the default, as it is written         */
	const char *arg;        /**< --help: the argument ("ADDR:PORT")    */
	const char *help;       /**< --help: what it does                  */
	const char *defhelp;    /**< --help: the default when not def as is */
};

/** What a command line may hold besides options */
enum opts_args {
	OPTS_ARGS_NONE,         /**< nothing: "unexpected argument"        */
	OPTS_ARGS_STOP,         /**< options end at the first other word   */
	OPTS_ARGS_ANY,          /**< other words anywhere (moved last)     */
};

int opts_duration(uint64_t *secs, const char *s);
int opts_size(uint64_t *bytes, const char *s);
int opts_u32(uint32_t *v, const char *s, uint32_t min, uint32_t max);
int opts_addr(struct sa *sa, const char *s);

int opts_defaults(const struct opt *tab, void *conf, unsigned only,
		  char *why, size_t whysz);
int opts_parse(const struct opt *tab, void *conf, int argc, char *argv[],
	       enum opts_args args, int *argi, const struct opt **action,
	       char *why, size_t whysz);
int opts_reload(const struct opt *tab, void *conf, void *scratch, int argc,
		char *argv[], char *why, size_t whysz);
int opts_help(struct re_printf *pf, const struct opt *tab);
const struct opt *opts_find(const struct opt *tab, const char *name);

