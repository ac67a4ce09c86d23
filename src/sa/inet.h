/**
 * @file inet.h  libre's address conversions, replaced (src/sa/inet.c)
 *
 * libre.a's ntop.o and pton.o each hold one of these; an object defining
 * them keeps the linker from taking those. Same contract as libre 1.1.0.
 */

struct sa;

extern const char sippush_inet_own[];

int net_inet_ntop(const struct sa *sa, char *buf, int size);
int net_inet_pton(const char *addr, struct sa *sa);
