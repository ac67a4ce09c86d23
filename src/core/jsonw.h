/**
 * @file jsonw.h  One flat JSON object written into the caller's buffer,
 *                as jansson's json_dumps(JSON_COMPACT) prints it: members
 *                in the order written, strings escaped as it escapes them
 *                (keys are the caller's literals, plain ASCII). For the
 *                lines printed on the push's path (the event feed, the
 *                202), where building a json_t, dumping it and freeing it
 *                cost more than the rest of the line's work.
 */

struct jsonw {
	char *buf;
	size_t sz;
	size_t len;
	int err;          /**< ENOSPC: too long; EILSEQ: a string not UTF-8 */
	bool members;     /**< one member written already                  */
	bool rec;         /**< a record to replay later, not JSON yet      */
};

void jsonw_begin(struct jsonw *w, char *buf, size_t sz);
void jsonw_begin_rec(struct jsonw *w, char *buf, size_t sz);
int  jsonw_replay(struct jsonw *w, const char *rec, size_t len);
void jsonw_str(struct jsonw *w, const char *key, const char *val);
void jsonw_int(struct jsonw *w, const char *key, int64_t val);
int  jsonw_end(struct jsonw *w);
