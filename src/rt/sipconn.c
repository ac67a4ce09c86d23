/**
 * @file sipconn.c  The connection a SIP request came on: its TLS
 *                  certificate, closing it
 */
#include <string.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <re.h>
#include <sippush/log.h>
#include "rt/sipconn.h"
#include "rt/tlspeer.h"

#define MOD "sipconn"

/* libre 1.1.0's struct sip_conn (src/sip/transp.c) up to its TCP
 * connection; msg->sock of a TCP/TLS request points to one */
struct sip_conn_shadow {
	struct le he;
	struct list ql;
	struct list kal;
	struct tmr tmr;
	struct tmr tmr_ka;
	struct sa laddr;
	struct sa paddr;
	struct tls_conn *sc;
	struct tcp_conn *tc;
};

/* libre's struct tls_conn begins with its SSL (libre's own tls.c relies
 * on that: "shadow struct") */
struct tls_conn_shadow {
	SSL *ssl;
};


static SSL *ssl_of(const struct sip_msg *msg)
{
	const struct sip_conn_shadow *c = msg->sock;
	struct tcp_conn *tc = sip_msg_tcpconn(msg);

	/* the copy must agree with what libre says of this connection */
	if (!c || !tc || c->tc != tc || !c->sc ||
	    !sa_cmp(&c->paddr, &msg->src, SA_ALL)) {
		plog(SIPPUSH_LOG_WARN, MOD, "%J: cannot read the TLS connection of "
		     "this request (libre's layout differs): not trusted",
		     &msg->src);
		return NULL;
	}
	return ((const struct tls_conn_shadow *)(void *)c->sc)->ssl;
}


/**
 * Did this request come over TLS from a peer whose certificate, verified
 * against our CAs, names name (a DNS name or an IP address)?
 */
bool sipconn_cert_names(const struct sip_msg *msg, const char *name)
{
	X509 *cert;
	SSL *ssl;
	bool ok;

	if (!msg || !name || msg->tp != SIP_TRANSP_TLS)
		return false;

	ssl = ssl_of(msg);
	if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;

	cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return false;   /* none presented: nothing was verified */

	ok = tlspeer_names(cert, name) == 1;
	X509_free(cert);
	return ok;
}


/*
 * The streams shut in this loop turn. libre goes on parsing what it has
 * already read from one (its receive buffer) and hands each request up
 * in the same turn: those are dropped, unanswered, since what follows a
 * lost framing cannot be told apart from the body before it. A 0 ms
 * timer (the end of the turn, before libre reads the end of the stream
 * and frees the connection) forgets them.
 */
enum { SHUT_MAX = 32 };
static const struct tcp_conn *shutv[SHUT_MAX];
static size_t shutn;
static struct tmr shut_tmr;


static void shut_forget(void *arg)
{
	(void)arg;
	shutn = 0;
}


/**
 * Close the stream a request came on, after its answer: libre 1.1.0 has
 * no call for it, so the socket is shut down under it (the answer already
 * written goes first) and libre, reading the end, lets the connection go.
 */
void sipconn_shutdown(const struct sip_msg *msg)
{
	struct tcp_conn *tc = sip_msg_tcpconn(msg);
	const int fd = tc ? tcp_conn_fd(tc) : -1;

	if (fd < 0)
		return;
	(void)shutdown(fd, SHUT_RDWR);
	if (shutn < SHUT_MAX)
		shutv[shutn++] = tc;
	tmr_start(&shut_tmr, 0, shut_forget, NULL);
}


/** Did this request come on a stream shut in this turn? Drop it then */
bool sipconn_is_shut(const struct sip_msg *msg)
{
	const struct tcp_conn *tc;

	if (!shutn || !msg || msg->tp == SIP_TRANSP_UDP)
		return false;
	tc = sip_msg_tcpconn(msg);
	for (size_t i = 0; tc && i < shutn; i++)
		if (shutv[i] == tc)
			return true;
	return false;
}
