/**
 * @file udp.c  libre's udp_* API, reading a burst of datagrams per wake-up
 *
 * libre 1.1.0 reads one datagram each time its loop finds a UDP socket
 * readable, and then runs the turn's timers. sippushd's turn ends with the
 * store's commit (an fsync) whenever an HTTP request wrote, so under HTTP
 * load its SIP socket was read at about one datagram per commit: in
 * bench/notify_e2e the NOTIFYs' 200s waited 110 ms (p50) in the socket
 * while the loop was idle a third of the time. This file provides the same
 * public functions (re_udp.h), linked as an object ahead of libre.a like
 * src/tmr/tmr.c, so the archive's udp.o is never pulled in; each wake-up
 * reads up to UDP_BURST datagrams.
 *
 * Each datagram is read into the socket's scratch buffer and copied into
 * an mbuf of its own size: a handler may keep the mbuf (libre's SIP
 * messages point into it for a transaction's life), so it holds no more
 * than the datagram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <re.h>


/* what the own_udp test finds in a program linked with this file */
const char sippush_udp_own[] = "src/udp/udp.c";

enum {
	RXSZ_DEFAULT = 8192,   /* libre's: a larger datagram is cut */
	UDP_BURST = 32,        /* datagrams read per wake-up, at most */
};

struct udp_sock {
	struct list helpers;   /* struct udp_helper, layer ascending */
	udp_recv_h *rh;
	udp_error_h *eh;
	void *arg;
	bool *gone;            /* set by the destructor; a burst holds it */
	uint8_t *scratch;      /* rxsz bytes, allocated at the first read */
	size_t scratch_sz;
	size_t rxsz;
	size_t rx_presz;       /* headroom before the datagram's bytes */
	int fd;
	int fd6;
	bool conn;
	bool attached;         /* in this thread's loop */
};

struct udp_helper {
	struct le le;
	int layer;
	udp_helper_send_h *sendh;
	udp_helper_recv_h *recvh;
	void *arg;
};


static void close_fd(int *fd)
{
	if (*fd < 0)
		return;
	fd_close(*fd);
	(void)close(*fd);
	*fd = -1;
}


static void sock_destructor(void *arg)
{
	struct udp_sock *us = arg;

	list_flush(&us->helpers);
	close_fd(&us->fd);
	close_fd(&us->fd6);
	mem_deref(us->scratch);
	if (us->gone)
		*us->gone = true;
	mem_deref(us->gone);
}


/* The datagram of n bytes in the scratch buffer, in an mbuf of its own */
static void deliver(struct udp_sock *us, struct sa *src, size_t n)
{
	struct mbuf *mb = mbuf_alloc(us->rx_presz + n + 1);
	struct le *le;

	if (!mb)
		return;
	mb->pos = us->rx_presz;
	mb->end = us->rx_presz + n;
	memcpy(mb->buf + mb->pos, us->scratch, n);

	for (le = us->helpers.head; le; ) {
		struct udp_helper *uh = le->data;

		le = le->next;
		if (uh->recvh(src, mb, uh->arg))
			goto out;
	}
	if (us->rh)
		us->rh(src, mb, us->arg);
 out:
	mem_deref(mb);
}


/* Read one datagram and hand it on; false when none was waiting */
static bool read_one(struct udp_sock *us, int fd)
{
	struct sa src;
	ssize_t n;

	if (us->scratch_sz != us->rxsz) {
		us->scratch = mem_deref(us->scratch);
		us->scratch_sz = 0;
		us->scratch = mem_alloc(us->rxsz, NULL);
		if (!us->scratch)
			return false;
		us->scratch_sz = us->rxsz;
	}

	memset(&src, 0, sizeof(src));
	src.len = sizeof(src.u);
	n = recvfrom(fd, us->scratch, us->scratch_sz, 0, &src.u.sa, &src.len);
	if (n < 0) {
		const int err = errno;

		if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR &&
		    us->eh)
			us->eh(err, us->arg);
		return false;
	}

	deliver(us, &src, (size_t)n);
	return true;
}


/*
 * Up to UDP_BURST datagrams. A handler may free the socket (its sockets
 * close at once, as libre's do: the handler may bind the port again) or
 * take it out of the loop: the burst holds the socket's "gone" flag, not
 * the socket, and stops at either.
 */
static void read_burst(struct udp_sock *us, const int *fdp)
{
	bool *gone = mem_ref(us->gone);

	for (int i = 0; i < UDP_BURST; i++) {
		if (*fdp < 0 || !read_one(us, *fdp) || *gone ||
		    !us->attached)
			break;
	}
	mem_deref(gone);
}


static void readable4_h(int flags, void *arg)
{
	struct udp_sock *us = arg;

	(void)flags;
	read_burst(us, &us->fd);
}


static void readable6_h(int flags, void *arg)
{
	struct udp_sock *us = arg;

	(void)flags;
	read_burst(us, &us->fd6);
}


/*
 * A non-blocking socket bound to addr. v6only: an IPv6 one takes no IPv4
 * (the any-address pair); else an IPv6 socket keeps the system's default,
 * as libre's do (on Linux "::" takes IPv4 too)
 */
static int bound_socket(int *fdp, const struct sa *addr, bool v6only)
{
	const int af = sa_af(addr);
	int fd, err;

	fd = socket(af, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		return errno;

	if (af == AF_INET6 && v6only) {
		const int on = 1;

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
				 sizeof(on));
	}

	err = net_sockopt_blocking_set(fd, false);
	if (!err && bind(fd, &addr->u.sa, addr->len) < 0)
		err = errno;
	if (err) {
		(void)close(fd);
		return err;
	}

	*fdp = fd;
	return 0;
}


/**
 * A UDP socket on local (NULL: any IPv4 and, where the host has it, any
 * IPv6 address, on ephemeral ports), in this thread's loop
 */
int udp_listen(struct udp_sock **usp, const struct sa *local,
	       udp_recv_h *rh, void *arg)
{
	struct udp_sock *us;
	struct sa any;
	int err;

	if (!usp)
		return EINVAL;

	us = mem_zalloc(sizeof(*us), sock_destructor);
	if (!us)
		return ENOMEM;
	us->gone = mem_zalloc(sizeof(*us->gone), NULL);
	us->fd = -1;
	us->fd6 = -1;
	us->rxsz = RXSZ_DEFAULT;
	us->rh = rh;
	us->arg = arg;

	if (!us->gone) {
		err = ENOMEM;
		goto out;
	}

	if (local) {
		err = bound_socket(sa_af(local) == AF_INET6 ? &us->fd6 :
				   &us->fd, local, false);
	}
	else {
		(void)sa_set_str(&any, "0.0.0.0", 0);
		err = bound_socket(&us->fd, &any, true);
		(void)sa_set_str(&any, "::", 0);
		if (bound_socket(&us->fd6, &any, true) == 0)
			err = 0;
	}
	if (err)
		goto out;

	err = udp_thread_attach(us);

 out:
	if (err)
		mem_deref(us);
	else
		*usp = us;
	return err;
}


/** Receive only from peer, send only to it */
int udp_connect(struct udp_sock *us, const struct sa *peer)
{
	int fd;

	if (!us || !peer)
		return EINVAL;

	fd = udp_sock_fd(us, sa_af(peer));
	if (connect(fd, &peer->u.sa, peer->len) < 0)
		return errno;
	us->conn = true;
	return 0;
}


/* Send helpers from le toward the head (the highest layer first) */
static int send_from(struct udp_sock *us, const struct sa *dst,
		     struct mbuf *mb, struct le *le)
{
	struct sa hdst;
	ssize_t n;
	int err = 0;
	int fd;

	if (le) {
		sa_cpy(&hdst, dst);
		dst = &hdst;
	}
	while (le) {
		struct udp_helper *uh = le->data;

		le = le->prev;   /* a helper may free itself */
		if (uh->sendh(&err, &hdst, mb, uh->arg) || err)
			return err;
	}

	fd = udp_sock_fd(us, sa_af(dst));
	if (us->conn)
		n = send(fd, mb->buf + mb->pos, mb->end - mb->pos, 0);
	else
		n = sendto(fd, mb->buf + mb->pos, mb->end - mb->pos, 0,
			   &dst->u.sa, dst->len);
	return n < 0 ? errno : 0;
}


int udp_send(struct udp_sock *us, const struct sa *dst, struct mbuf *mb)
{
	if (!us || !dst || !mb)
		return EINVAL;

	return send_from(us, dst, mb, us->helpers.tail);
}


/** Send from a socket of its own, closed at once */
int udp_send_anon(const struct sa *dst, struct mbuf *mb)
{
	struct udp_sock *us;
	int err;

	if (!dst || !mb)
		return EINVAL;

	err = udp_listen(&us, NULL, NULL, NULL);
	if (err)
		return err;
	err = send_from(us, dst, mb, NULL);
	mem_deref(us);
	return err;
}


int udp_local_get(const struct udp_sock *us, struct sa *local)
{
	if (!us || !local)
		return EINVAL;

	local->len = sizeof(local->u);
	if (getsockname(us->fd >= 0 ? us->fd : us->fd6, &local->u.sa,
			&local->len) < 0)
		return errno;
	return 0;
}


int udp_setsockopt(struct udp_sock *us, int level, int optname,
		   const void *optval, uint32_t optlen)
{
	int err = 0;

	if (!us)
		return EINVAL;

	if (us->fd >= 0 &&
	    setsockopt(us->fd, level, optname, optval, optlen) < 0)
		err = errno;
	if (us->fd6 >= 0 &&
	    setsockopt(us->fd6, level, optname, optval, optlen) < 0)
		err = errno;
	return err;
}


/** Both directions' kernel buffers */
int udp_sockbuf_set(struct udp_sock *us, int size)
{
	int err;

	err = udp_setsockopt(us, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (!err)
		err = udp_setsockopt(us, SOL_SOCKET, SO_SNDBUF, &size,
				     sizeof(size));
	return err;
}


/** Largest datagram read whole (larger ones are cut to rxsz) */
void udp_rxsz_set(struct udp_sock *us, size_t rxsz)
{
	if (us && rxsz)
		us->rxsz = rxsz;
}


void udp_rxbuf_presz_set(struct udp_sock *us, size_t rx_presz)
{
	if (us)
		us->rx_presz = rx_presz;
}


void udp_handler_set(struct udp_sock *us, udp_recv_h *rh, void *arg)
{
	if (!us)
		return;
	us->rh = rh;
	us->arg = arg;
}


void udp_error_handler_set(struct udp_sock *us, udp_error_h *eh)
{
	if (us)
		us->eh = eh;
}


/** The socket for af: an IPv6 peer goes from the IPv6 one if there is one */
int udp_sock_fd(const struct udp_sock *us, int af)
{
	if (!us)
		return -1;
	if (af == AF_INET6 && us->fd6 >= 0)
		return us->fd6;
	return us->fd >= 0 ? us->fd : us->fd6;
}


/** Read in the calling thread's loop */
int udp_thread_attach(struct udp_sock *us)
{
	int err = 0;

	if (!us)
		return EINVAL;

	if (us->fd >= 0)
		err = fd_listen(us->fd, FD_READ, readable4_h, us);
	if (!err && us->fd6 >= 0)
		err = fd_listen(us->fd6, FD_READ, readable6_h, us);
	if (err) {
		udp_thread_detach(us);
		return err;
	}
	us->attached = true;
	return 0;
}


void udp_thread_detach(struct udp_sock *us)
{
	if (!us)
		return;
	if (us->fd >= 0)
		fd_close(us->fd);
	if (us->fd6 >= 0)
		fd_close(us->fd6);
	us->attached = false;
}


static void helper_destructor(void *arg)
{
	struct udp_helper *uh = arg;

	list_unlink(&uh->le);
}


static bool no_send_h(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	(void)err;
	(void)dst;
	(void)mb;
	(void)arg;
	return false;
}


static bool no_recv_h(struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src;
	(void)mb;
	(void)arg;
	return false;
}


/**
 * A layer between the socket and its user: received datagrams pass the
 * helpers from the lowest layer up, sent ones from the highest down. The
 * socket owns it until the caller releases it.
 */
int udp_register_helper(struct udp_helper **uhp, struct udp_sock *us,
			int layer, udp_helper_send_h *sh,
			udp_helper_recv_h *rh, void *arg)
{
	struct udp_helper *uh;
	struct le *le;

	if (!us)
		return EINVAL;

	uh = mem_zalloc(sizeof(*uh), helper_destructor);
	if (!uh)
		return ENOMEM;
	uh->layer = layer;
	uh->sendh = sh ? sh : no_send_h;
	uh->recvh = rh ? rh : no_recv_h;
	uh->arg = arg;

	/* after the helpers of its layer and below */
	for (le = us->helpers.tail; le; le = le->prev) {
		if (((struct udp_helper *)le->data)->layer <= layer)
			break;
	}
	if (le)
		list_insert_after(&us->helpers, le, &uh->le, uh);
	else
		list_prepend(&us->helpers, &uh->le, uh);

	if (uhp)
		*uhp = uh;
	return 0;
}


/** Send through the helpers below uh (uh's own send handler calls this) */
int udp_send_helper(struct udp_sock *us, const struct sa *dst,
		    struct mbuf *mb, struct udp_helper *uh)
{
	if (!us || !dst || !mb || !uh)
		return EINVAL;

	return send_from(us, dst, mb, uh->le.prev);
}


struct udp_helper *udp_helper_find(const struct udp_sock *us, int layer)
{
	struct le *le;

	if (!us)
		return NULL;

	for (le = us->helpers.head; le; le = le->next) {
		struct udp_helper *uh = le->data;

		if (uh->layer == layer)
			return uh;
	}
	return NULL;
}
