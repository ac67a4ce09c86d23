/**
 * @file udpbuf.c  Size the receive buffer of libre's UDP socket
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "rt/udpbuf.h"

enum { FD_SCAN = 4096 };


int udpbuf_set(const struct sa *laddr, int bytes, int *got)
{
	for (int fd = 0; fd < FD_SCAN; fd++) {
		struct sa sa;
		int type = 0;
		socklen_t len = sizeof(type);

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
		    type != SOCK_DGRAM)
			continue;

		sa_init(&sa, AF_UNSPEC);
		sa.len = sizeof(sa.u);
		if (getsockname(fd, &sa.u.sa, &sa.len) ||
		    !sa_cmp(&sa, laddr, SA_ALL))
			continue;

		/* SO_RCVBUFFORCE passes rmem_max when we may (root) */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
			       sizeof(bytes)) &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes,
			       sizeof(bytes)))
			return errno;

		len = sizeof(*got);
		if (got)
			(void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, got, &len);
		return 0;
	}

	return ENOENT;
}
