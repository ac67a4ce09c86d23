/**
 * @file param.h  Bounded tokenizers for SIP header parameters and lists
 *
 * Shared by every parser in src/core. They walk a struct pl and never read
 * past it; malformed input gives EBADMSG, the end of input ENOENT.
 */

int  param_next(struct pl *rest, struct pl *name, struct pl *val,
		bool *quoted);
int  param_get(const struct pl *params, const char *name, struct pl *val,
	       bool *quoted);
int  list_next(struct pl *rest, char sep, struct pl *item);
int  kv_split(const struct pl *item, struct pl *k, struct pl *v);
bool token_char(char c);
bool pl_is_token(const struct pl *pl);
void pl_trim_lws(struct pl *pl);
int  pl_u32_strict(const struct pl *pl, uint32_t *v);
int  pl_u64_strict(const struct pl *pl, uint64_t *v);
int  name_index(const char *const *names, size_t n, const struct pl *name);
int  name_decode(int *i, const char *const *names, size_t n,
		 const struct pl *name);
int  addr_decode(struct sip_addr *addr, const struct pl *hval);
int  aor_print(char *buf, size_t sz, const struct uri *u);
