/**
 * @file aor.h  One spelling per address-of-record (RFC 3261 §19.1.4)
 *
 * Every table and lookup keys users by this form: scheme and host in
 * lower case, the user part as it is (it compares case-sensitively) with
 * escaped unreserved characters decoded and other escapes in upper case,
 * an IPv6 host in brackets, the port only when the URI has one, no
 * parameters or headers.
 */

struct uri;

int aor_print(char *buf, size_t sz, const struct uri *u);
int aor_canon(char *buf, size_t sz, const char *aor);
