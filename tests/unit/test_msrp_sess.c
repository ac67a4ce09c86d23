/**
 * @file test_msrp_sess.c  MSRP sessions over loopback TCP in libre's loop:
 *                         5 MiB from memory and 3 MiB from a file arrive
 *                         whole (SHA-1), a REPORT ends the send; unknown
 *                         session 481, second connection 506, 413; a
 *                         chunk past the message's declared total 400;
 *                         RFC 6135: the peer connects to the sender and
 *                         binds with an empty SEND, the sender's message
 *                         then goes on that connection; a peer that never
 *                         connects ends the message with 408
 */
#include "testutil.h"
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "msrp/msrp.h"
#include "msrp/msrpsess.h"

struct rx {
	EVP_MD_CTX *sha;
	uint64_t bytes, next;
	int begun, done, done_err;
	bool in_order;
	char ctype[64];
	uint64_t total;
};

struct tx {
	int sent, err;
	uint16_t scode;
};

static int pending;


static int begin_h(void **ctxp, const struct msrp_hdrs *h, uint64_t total,
		   void *arg)
{
	struct rx *rx = arg;

	*ctxp = rx;
	++rx->begun;
	rx->total = total;
	rx->in_order = true;
	rx->sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(rx->sha, EVP_sha1(), NULL);
	pl_strcpy(&h->ctype, rx->ctype, sizeof(rx->ctype));
	return 0;
}


static int chunk_h(void *ctx, uint64_t off, const uint8_t *p, size_t n,
		   void *arg)
{
	struct rx *rx = ctx;
	(void)arg;

	if (off != rx->next)
		rx->in_order = false;
	EVP_DigestUpdate(rx->sha, p, n);
	rx->next = off + n;
	rx->bytes += n;
	return 0;
}


static int done_h(void *ctx, int err, void *arg)
{
	struct rx *rx = ctx;
	(void)arg;

	++rx->done;
	rx->done_err = err;
	if (--pending == 0)
		re_cancel();
	return 0;
}


static void sent_h(int err, uint16_t scode, void *arg)
{
	struct tx *tx = arg;

	++tx->sent;
	tx->err = err;
	tx->scode = scode;
	if (--pending == 0)
		re_cancel();
}


static void guard_tmr(void *arg)
{
	(void)arg;
	re_cancel();   /* the test then fails on what did not happen */
}


static void run_loop(int n)
{
	struct tmr t;

	pending = n;
	tmr_init(&t);
	tmr_start(&t, 20000, guard_tmr, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}


static struct msrp_listener *listener(void)
{
	struct msrp_listener *l = NULL;
	struct sa a;

	assert_int_equal(sa_set_str(&a, "127.0.0.1", 0), 0);
	assert_int_equal(msrp_listener_alloc(&l, &a, NULL), 0);
	return l;
}


static struct msrp_sess *passive(struct msrp_listener *l, struct rx *rx,
				 uint64_t max_size)
{
	const struct msrp_sess_conf c = {
		.max_size = max_size, .beginh = begin_h, .chunkh = chunk_h,
		.doneh = done_h, .arg = rx,
	};
	struct msrp_sess *s = NULL;

	assert_int_equal(msrp_sess_alloc(&s, l, NULL, &c), 0);
	return s;
}


static struct msrp_sess *active(size_t chunk)
{
	const struct msrp_sess_conf c = {.chunk = chunk};
	struct msrp_sess *s = NULL;
	struct sa a;

	assert_int_equal(sa_set_str(&a, "127.0.0.1", 0), 0);
	assert_int_equal(msrp_sess_alloc(&s, NULL, &a, &c), 0);
	assert_non_null(strstr(msrp_sess_path(s), "msrp://127.0.0.1:9/"));
	return s;
}


static void test_memory_5mib(void **state)
{
	const size_t n = 5u << 20;
	uint8_t *data = malloc(n), want[20], got[20];
	struct msrp_listener *l = listener();
	struct rx rx;
	struct tx tx;
	struct msrp_sess *b, *a;
	struct msrp_out_spec o = {.size = n, .ctype = "application/zip",
				  .cdisp = "attachment; filename=\"f.zip\"",
				  .success_report = true, .fd = -1};
	(void)state;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 13));
	/* the end-line of some transaction inside the data, on purpose */
	memcpy(data + 1000, "\r\n-------abcdef0123456789$\r\n", 27);
	SHA1(data, n, want);
	o.data = data;

	memset(&rx, 0, sizeof(rx));
	memset(&tx, 0, sizeof(tx));
	b = passive(l, &rx, 0);
	a = active(65536);
	assert_int_equal(msrp_sess_connect(a, msrp_sess_path(b)), 0);
	assert_int_equal(msrp_sess_send(a, &o, sent_h, &tx), 0);
	run_loop(2);

	assert_int_equal(tx.sent, 1);
	assert_int_equal(tx.err, 0);
	assert_int_equal(tx.scode, 200);
	assert_int_equal(rx.begun, 1);
	assert_int_equal(rx.done, 1);
	assert_int_equal(rx.done_err, 0);
	assert_int_equal(rx.bytes, n);
	assert_int_equal(rx.total, n);
	assert_true(rx.in_order);
	assert_string_equal(rx.ctype, "application/zip");
	EVP_DigestFinal_ex(rx.sha, got, NULL);
	EVP_MD_CTX_free(rx.sha);
	assert_memory_equal(got, want, 20);
	assert_true(msrp_sess_bound(b));

	mem_deref(a);
	mem_deref(b);
	mem_deref(l);
	free(data);
}


static void test_file_3mib(void **state)
{
	const size_t n = 3u << 20;
	char path[] = "/tmp/sippush-msrp-XXXXXX";
	uint8_t *data = malloc(n), want[20], got[20];
	struct msrp_listener *l = listener();
	struct rx rx;
	struct tx tx;
	struct msrp_sess *b, *a;
	struct msrp_out_spec o = {.size = n, .ctype = "text/plain"};
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)('a' + i % 26);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	SHA1(data, n, want);
	o.fd = fd;

	memset(&rx, 0, sizeof(rx));
	memset(&tx, 0, sizeof(tx));
	b = passive(l, &rx, 0);
	a = active(1000);   /* small chunks: many transactions */
	assert_int_equal(msrp_sess_connect(a, msrp_sess_path(b)), 0);
	assert_int_equal(msrp_sess_send(a, &o, sent_h, &tx), 0);
	run_loop(2);

	assert_int_equal(tx.err, 0);
	assert_int_equal(rx.done_err, 0);
	assert_int_equal(rx.bytes, n);
	EVP_DigestFinal_ex(rx.sha, got, NULL);
	EVP_MD_CTX_free(rx.sha);
	assert_memory_equal(got, want, 20);

	mem_deref(a);
	mem_deref(b);
	mem_deref(l);
	close(fd);
	unlink(path);
	free(data);
}


static void test_refusals(void **state)
{
	static const uint8_t small[] = "0123456789";
	struct msrp_listener *l = listener();
	struct msrp_out_spec o = {.data = small, .size = 10,
				  .ctype = "text/plain", .fd = -1};
	struct rx rx;
	struct tx tx, tx2;
	struct msrp_sess *b, *a, *a2;
	char wrong[256];
	(void)state;

	memset(&rx, 0, sizeof(rx));
	b = passive(l, &rx, 5);   /* max-size 5: 10 bytes get 413 */

	/* an unknown session id: 481 */
	re_snprintf(wrong, sizeof(wrong), "%s", msrp_sess_path(b));
	memcpy(strrchr(wrong, '/') + 1, "zzzz", 4);
	memset(&tx, 0, sizeof(tx));
	a = active(0);
	assert_int_equal(msrp_sess_connect(a, wrong), 0);
	assert_int_equal(msrp_sess_send(a, &o, sent_h, &tx), 0);
	run_loop(1);
	assert_int_equal(tx.scode, 481);
	assert_int_not_equal(tx.err, 0);
	mem_deref(a);

	/* the right one, too large: 413 */
	memset(&tx, 0, sizeof(tx));
	a = active(0);
	assert_int_equal(msrp_sess_connect(a, msrp_sess_path(b)), 0);
	assert_int_equal(msrp_sess_send(a, &o, sent_h, &tx), 0);
	run_loop(1);
	assert_int_equal(tx.scode, 413);
	assert_int_equal(rx.begun, 0);

	/* a second connection to a bound session: 506 */
	memset(&tx2, 0, sizeof(tx2));
	a2 = active(0);
	assert_int_equal(msrp_sess_connect(a2, msrp_sess_path(b)), 0);
	assert_int_equal(msrp_sess_send(a2, &o, sent_h, &tx2), 0);
	run_loop(1);
	assert_int_equal(tx2.scode, 506);

	/* a path that names no literal address is refused at once */
	assert_int_equal(msrp_sess_connect(a2, "msrp://example.com:1/x;tcp"),
			 EINVAL);

	mem_deref(a2);
	mem_deref(a);
	mem_deref(b);
	mem_deref(l);
}


/*
 * A message whose first chunk declares 5 bytes in all, then a chunk with
 * an end of "*" and total "*" bringing 10 more: nothing past byte 5 is
 * handed over, the chunk is answered 400 and the message ends refused
 * (it was taken whole, 13 bytes of a 5-byte message).
 */
static void test_past_total(void **state)
{
	struct msrp_listener *l = listener();
	struct rx rx;
	struct msrp_sess *b;
	struct sockaddr_in sin;
	struct sa la;
	char req[1024], resp[1024] = "";
	ssize_t n, got = 0;
	int fd;
	(void)state;

	memset(&rx, 0, sizeof(rx));
	b = passive(l, &rx, 1 << 20);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(msrp_listener_laddr(l, &la), 0);
	sin.sin_port = htons(sa_port(&la));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);

	n = re_snprintf(req, sizeof(req),
			"MSRP a786hjs2 SEND\r\nTo-Path: %s\r\n"
			"From-Path: msrp://127.0.0.1:9/abc;tcp\r\n"
			"Message-ID: m1\r\nByte-Range: 1-3/5\r\n"
			"Content-Type: text/plain\r\n\r\nabc\r\n"
			"-------a786hjs2+\r\n"
			"MSRP b786hjs3 SEND\r\nTo-Path: %s\r\n"
			"From-Path: msrp://127.0.0.1:9/abc;tcp\r\n"
			"Message-ID: m1\r\nByte-Range: 4-*/*\r\n"
			"Content-Type: text/plain\r\n\r\n0123456789\r\n"
			"-------b786hjs3$\r\n", msrp_sess_path(b),
			msrp_sess_path(b));
	assert_true(write(fd, req, (size_t)n) == n);
	run_loop(1);

	assert_int_equal(rx.begun, 1);
	assert_int_equal(rx.done, 1);
	assert_int_not_equal(rx.done_err, 0);
	assert_true(rx.bytes <= 5);

	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < (ssize_t)sizeof(resp) - 1 &&
	       (n = read(fd, resp + got, sizeof(resp) - 1 - (size_t)got)) > 0)
		got += n;
	resp[got > 0 ? got : 0] = '\0';
	assert_non_null(strstr(resp, "MSRP a786hjs2 200"));
	assert_non_null(strstr(resp, "MSRP b786hjs3 400"));

	(void)close(fd);
	EVP_MD_CTX_free(rx.sha);
	mem_deref(b);
	mem_deref(l);
}


/*
 * RFC 6135, the sender listening: its message waits until the peer
 * connects; the peer (active, nothing to send) binds the connection with
 * a bodiless SEND; the message then goes the other way on it, whole, and
 * its REPORT comes back.
 */
static void test_peer_connects(void **state)
{
	const size_t n = 300000;
	uint8_t *data = malloc(n), want[20], got[20];
	struct msrp_listener *l = listener();
	const struct msrp_sess_conf sc = {.chunk = 4096};
	struct rx rx;
	struct tx tx;
	struct msrp_sess *snd = NULL, *rcv = NULL;
	struct msrp_out_spec o = {.size = n, .ctype = "text/plain",
				  .success_report = true, .fd = -1};
	struct msrp_sess_conf rc = {.beginh = begin_h, .chunkh = chunk_h,
				    .doneh = done_h};
	struct sa a;
	(void)state;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	SHA1(data, n, want);
	o.data = data;
	memset(&rx, 0, sizeof(rx));
	memset(&tx, 0, sizeof(tx));
	rc.arg = &rx;

	/* the sender: a session on the listener, its message queued */
	assert_int_equal(msrp_sess_alloc(&snd, l, NULL, &sc), 0);
	assert_int_equal(msrp_sess_send(snd, &o, sent_h, &tx), 0);
	assert_false(msrp_sess_bound(snd));

	/* the receiver connects out (a=setup:active): port 9 in its path */
	assert_int_equal(sa_set_str(&a, "127.0.0.1", 0), 0);
	assert_int_equal(msrp_sess_alloc(&rcv, NULL, &a, &rc), 0);
	assert_int_equal(msrp_sess_connect(rcv, msrp_sess_path(snd)), 0);
	run_loop(2);

	assert_true(msrp_sess_bound(snd));
	assert_int_equal(tx.sent, 1);
	assert_int_equal(tx.err, 0);
	assert_int_equal(tx.scode, 200);
	assert_int_equal(rx.begun, 1);
	assert_int_equal(rx.done, 1);
	assert_int_equal(rx.done_err, 0);
	assert_int_equal(rx.bytes, n);
	EVP_DigestFinal_ex(rx.sha, got, NULL);
	EVP_MD_CTX_free(rx.sha);
	assert_memory_equal(got, want, 20);

	mem_deref(rcv);
	mem_deref(snd);
	mem_deref(l);
	free(data);
}


/* RFC 6135, the sender listening: nobody connects, 408 in the end */
static void test_peer_never_connects(void **state)
{
	static const uint8_t body[] = "nobody";
	struct msrp_listener *l = listener();
	const struct msrp_sess_conf sc = {.timeout_ms = 200};
	struct msrp_out_spec o = {.data = body, .size = 6,
				  .ctype = "text/plain", .fd = -1};
	struct msrp_sess *snd = NULL;
	struct tx tx;
	(void)state;

	memset(&tx, 0, sizeof(tx));
	assert_int_equal(msrp_sess_alloc(&snd, l, NULL, &sc), 0);
	assert_int_equal(msrp_sess_send(snd, &o, sent_h, &tx), 0);
	run_loop(1);

	assert_int_equal(tx.sent, 1);
	assert_int_equal(tx.err, ETIMEDOUT);
	assert_int_equal(tx.scode, 408);
	mem_deref(snd);
	mem_deref(l);
}


static int setup(void **state)
{
	(void)state;
	return libre_init();
}


static int teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_5mib),
		cmocka_unit_test(test_file_3mib),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_past_total),
		cmocka_unit_test(test_peer_connects),
		cmocka_unit_test(test_peer_never_connects),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
