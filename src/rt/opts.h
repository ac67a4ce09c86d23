/**
 * @file opts.h  Command-line and config-file helpers shared by the programs
 *
 * A config file holds one option per line, "name value" or "name=value",
 * with the long option's name without "--"; '#' starts a comment. It is
 * read before the command line, which overrides it.
 */

int opts_duration(uint64_t *secs, const char *s);
int opts_size(uint64_t *bytes, const char *s);
int opts_u32(uint32_t *v, const char *s, uint32_t min, uint32_t max);
int opts_addr(struct sa *sa, const char *s);

typedef int (opts_apply_h)(const char *name, const char *value, void *arg);
int opts_config_files(int argc, char *const argv[], opts_apply_h *h,
		      void *arg, char *why, size_t whysz);
int opts_file(const char *path, opts_apply_h *h, void *arg, char *why,
	      size_t whysz);
