/**
 * @file test_udp.c  The project's udp_* (src/udp/udp.c) on loopback sockets
 *
 * Datagrams are sent from a plain socket before the loop runs, so they all
 * wait in the socket when it first wakes up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <re.h>


enum { MAX_SEEN = 64 };

struct rx {
	struct udp_sock *us;
	struct tmr turn;          /* 0 ms: fires at the end of a loop turn */
	size_t seen;              /* datagrams handed to the handler */
	size_t at_turn_end;       /* seen when the first turn ended */
	int first[MAX_SEEN];      /* the leading byte of each, in order */
	size_t want;              /* re_cancel() once this many are seen */
	size_t release_at;        /* mem_deref(us) at this one (0: never) */
	size_t detach_at;         /* udp_thread_detach() at this one */
	struct mbuf *kept;        /* the last one, referenced */
	struct udp_sock *rebound; /* the released one's port, bound again */
	int rebind_err;
};


static void turn_h(void *arg)
{
	struct rx *rx = arg;

	rx->at_turn_end = rx->seen;
}


static void guard_h(void *arg)
{
	(void)arg;
	re_cancel();   /* the test then fails on what did not arrive */
}


static void recv_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rx *rx = arg;

	(void)src;
	if (!rx->seen)
		tmr_start(&rx->turn, 0, turn_h, rx);
	if (rx->seen < MAX_SEEN)
		rx->first[rx->seen] = mbuf_get_left(mb) ? mb->buf[mb->pos] : -1;
	++rx->seen;
	mem_deref(rx->kept);
	rx->kept = mem_ref(mb);

	if (rx->seen == rx->release_at) {
		struct sa laddr;

		assert_int_equal(udp_local_get(rx->us, &laddr), 0);
		rx->us = mem_deref(rx->us);
		/* its port is free again at once, as with libre's */
		rx->rebind_err = udp_listen(&rx->rebound, &laddr, NULL, NULL);
	}
	if (rx->seen == rx->detach_at)
		udp_thread_detach(rx->us);
	if (rx->seen == rx->want)
		re_cancel();
}


/* n datagrams of len bytes to us's address, the i-th starting with i */
static void send_n(struct udp_sock *us, int n, size_t len)
{
	uint8_t buf[9000];
	struct sa dst;
	int fd;

	assert_true(len <= sizeof(buf));
	assert_int_equal(udp_local_get(us, &dst), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < n; i++) {
		buf[0] = (uint8_t)i;
		assert_int_equal(sendto(fd, buf, len, 0, &dst.u.sa, dst.len),
				 (ssize_t)len);
	}
	(void)close(fd);
}


/* Run the loop until the handler cancels it (at most 5 s) */
static void run(void)
{
	struct tmr guard;

	tmr_init(&guard);
	tmr_start(&guard, 5000, guard_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&guard);
}


static void rx_listen(struct rx *rx)
{
	struct sa local;

	memset(rx, 0, sizeof(*rx));
	tmr_init(&rx->turn);
	assert_int_equal(sa_set_str(&local, "127.0.0.1", 0), 0);
	assert_int_equal(udp_listen(&rx->us, &local, recv_h, rx), 0);
}


static void rx_close(struct rx *rx)
{
	tmr_cancel(&rx->turn);
	mem_deref(rx->us);
	mem_deref(rx->kept);
}


/* One wake-up reads 32 waiting datagrams (libre's udp.o read one), in
 * order; the rest come in the next turn */
static void test_burst(void **state)
{
	struct rx rx;

	(void)state;
	rx_listen(&rx);
	rx.want = 40;
	send_n(rx.us, 40, 100);
	run();

	assert_int_equal(rx.seen, 40);
	assert_int_equal(rx.at_turn_end, 32);
	for (int i = 0; i < 40; i++)
		assert_int_equal(rx.first[i], i);
	rx_close(&rx);
}


/* A handler that releases the socket gets nothing more (ASan: no use of
 * the freed socket); one that takes it out of the loop neither */
static void test_release_in_burst(void **state)
{
	struct rx rx;
	struct tmr wait;

	(void)state;
	rx_listen(&rx);
	rx.release_at = 2;
	send_n(rx.us, 5, 10);
	tmr_init(&wait);
	tmr_start(&wait, 200, guard_h, NULL);
	(void)re_main(NULL);
	assert_int_equal(rx.seen, 2);
	assert_null(rx.us);
	assert_int_equal(rx.rebind_err, 0);
	mem_deref(rx.rebound);
	rx_close(&rx);

	rx_listen(&rx);
	rx.detach_at = 3;
	send_n(rx.us, 5, 10);
	tmr_start(&wait, 200, guard_h, NULL);
	(void)re_main(NULL);
	assert_int_equal(rx.seen, 3);
	rx_close(&rx);
}


/* A kept mbuf holds its datagram, not the 8 KiB read buffer; the headroom
 * comes before it; a datagram over rxsz is cut to rxsz */
static void test_buffers(void **state)
{
	struct rx rx;

	(void)state;
	rx_listen(&rx);
	udp_rxbuf_presz_set(rx.us, 16);
	rx.want = 1;
	send_n(rx.us, 1, 300);
	run();
	assert_int_equal(rx.kept->pos, 16);
	assert_int_equal(mbuf_get_left(rx.kept), 300);
	assert_true(rx.kept->size < 400);
	assert_int_equal(rx.kept->buf[16 + 299], 'x');

	udp_rxsz_set(rx.us, 1000);
	rx.want = 2;
	send_n(rx.us, 1, 3000);
	run();
	assert_int_equal(mbuf_get_left(rx.kept), 1000);
	rx_close(&rx);
}


/* Helpers: received datagrams pass the lowest layer first, sent ones the
 * highest first; one that handles a datagram ends its way */
struct trail {
	char s[16];
	size_t n;
};

struct hl {
	struct trail *tr;
	char name;
	bool eat;
	struct udp_helper *uh;
	struct udp_sock *us;
	bool pass_down;            /* its send calls udp_send_helper() */
	bool release_self;         /* its send releases it */
};


static bool h_recv(struct sa *src, struct mbuf *mb, void *arg)
{
	struct hl *h = arg;

	(void)src;
	(void)mb;
	h->tr->s[h->tr->n++] = h->name;
	if (h->eat)
		re_cancel();
	return h->eat;
}


static bool h_send(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	struct hl *h = arg;

	h->tr->s[h->tr->n++] = (char)(h->name - 'a' + 'A');
	if (h->release_self) {
		h->uh = mem_deref(h->uh);
		return false;
	}
	if (h->pass_down) {
		*err = udp_send_helper(h->us, dst, mb, h->uh);
		return true;
	}
	return false;
}


static void test_helpers(void **state)
{
	struct trail tr = {0};
	struct hl h[3] = {
		{.tr = &tr, .name = 'b'}, {.tr = &tr, .name = 'a'},
		{.tr = &tr, .name = 'c', .eat = true}};
	const int layer[3] = {2, 1, 3};
	struct mbuf *mb = mbuf_alloc(8);
	struct sa to;
	struct rx rx;

	(void)state;
	rx_listen(&rx);
	for (int i = 0; i < 3; i++) {
		h[i].us = rx.us;
		assert_int_equal(udp_register_helper(&h[i].uh, rx.us,
			layer[i], h_send, h_recv, &h[i]), 0);
	}
	assert_ptr_equal(udp_helper_find(rx.us, 3), h[2].uh);
	assert_null(udp_helper_find(rx.us, 7));

	send_n(rx.us, 1, 20);
	run();
	assert_string_equal(tr.s, "abc");
	assert_int_equal(rx.seen, 0);

	/* to itself: C, B, A, then the socket; B sends on below itself */
	memset(&tr, 0, sizeof(tr));
	h[2].eat = false;
	h[0].pass_down = true;
	assert_int_equal(udp_local_get(rx.us, &to), 0);
	assert_int_equal(mbuf_write_str(mb, "hi"), 0);
	mb->pos = 0;
	rx.want = 1;
	assert_int_equal(udp_send(rx.us, &to, mb), 0);
	run();
	assert_string_equal(tr.s, "CBAabc");
	assert_int_equal(rx.seen, 1);
	assert_int_equal(rx.first[0], 'h');

	/* a send helper may release itself: the rest still run */
	memset(&tr, 0, sizeof(tr));
	h[0].pass_down = false;
	h[2].release_self = true;
	rx.want = 2;
	mb->pos = 0;
	assert_int_equal(udp_send(rx.us, &to, mb), 0);
	run();
	assert_string_equal(tr.s, "CBAab");
	assert_null(udp_helper_find(rx.us, 3));

	for (int i = 0; i < 2; i++)
		mem_deref(h[i].uh);
	assert_null(udp_helper_find(rx.us, 1));
	mem_deref(mb);
	rx_close(&rx);
}


/* The socket's address, descriptor and a connected peer */
static void test_address(void **state)
{
	struct rx rx, peer;
	struct mbuf *mb = mbuf_alloc(8);
	struct sa a, b;

	(void)state;
	rx_listen(&rx);
	rx_listen(&peer);
	assert_int_equal(udp_local_get(rx.us, &a), 0);
	assert_true(sa_port(&a) > 0);
	assert_true(sa_is_loopback(&a));
	assert_true(udp_sock_fd(rx.us, AF_INET) >= 0);
	assert_int_equal(udp_sock_fd(rx.us, AF_INET),
			 udp_sock_fd(rx.us, AF_INET6));
	assert_int_equal(udp_sockbuf_set(rx.us, 65536), 0);

	assert_int_equal(udp_local_get(peer.us, &b), 0);
	assert_int_equal(udp_connect(rx.us, &b), 0);
	assert_int_equal(mbuf_write_str(mb, "c"), 0);
	mb->pos = 0;
	peer.want = 1;
	assert_int_equal(udp_send(rx.us, &b, mb), 0);
	run();
	assert_int_equal(peer.seen, 1);
	assert_int_equal(peer.first[0], 'c');

	/* "::" takes IPv4 too (Linux's default, libre's behaviour) */
	{
		struct rx any6;
		struct sa six;

		memset(&any6, 0, sizeof(any6));
		tmr_init(&any6.turn);
		assert_int_equal(sa_set_str(&six, "::", 0), 0);
		if (udp_listen(&any6.us, &six, recv_h, &any6) == 0) {
			struct sa to4;

			assert_int_equal(udp_local_get(any6.us, &six), 0);
			assert_int_equal(sa_set_str(&to4, "127.0.0.1",
						    sa_port(&six)), 0);
			any6.want = 1;
			assert_int_equal(udp_send(peer.us, &to4, mb), 0);
			run();
			assert_int_equal(any6.seen, 1);
		}
		rx_close(&any6);
	}

	assert_int_equal(udp_listen(NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(udp_send(NULL, &b, mb), EINVAL);
	mem_deref(mb);
	rx_close(&rx);
	rx_close(&peer);
}


static int group_setup(void **state)
{
	(void)state;
	return libre_init();
}


static int group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_release_in_burst),
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_address),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
