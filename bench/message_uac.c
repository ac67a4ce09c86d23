/**
 * @file bench/message_uac.c  Page-mode MESSAGE sending rate of sippushd's
 *                            SIP layer (libre + src/tmr + pagemsg)
 *
 * Keeps a window of stateful MESSAGE transactions outstanding toward one
 * UAS (a SIPp answering 200, or Kamailio relaying to it) over UDP, built
 * exactly as sippushd builds them, and counts final responses per second.
 *
 * usage: bench-message-uac TARGET_ADDR:PORT RURI SECONDS WINDOW [USERS TOTAL]
 *
 * With USERS, the Request-URI and To cycle through sip:u<i>@<RURI's host>
 * (many users' AoRs, e.g. for a store-and-forward server); with TOTAL, it
 * stops after that many requests instead of after SECONDS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/featuretag.h"
#include "core/pagemsg.h"
#include "rt/udpbuf.h"

struct bench {
	struct sip *sip;
	struct uri route;
	char ruri[256];
	char route_str[128];
	uint64_t sent, ok, fail, timeouts;
	uint64_t seq;
	double t_end;
	bool stopping;
	uint32_t inflight;
	uint32_t run;
	uint16_t fail_code;
	uint32_t users;
	uint64_t total;
	char host[128];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_one(struct bench *b);


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct bench *b = arg;

	if (!err && msg->scode < 200)
		return;

	--b->inflight;
	if (err)
		++b->timeouts;
	else if (msg->scode < 300)
		++b->ok;
	else {
		++b->fail;
		b->fail_code = msg->scode;
	}

	if (now_s() >= b->t_end || (b->total && b->sent >= b->total)) {
		if (!b->stopping) {
			b->stopping = true;
		}
		if (!b->inflight)
			re_cancel();
		return;
	}
	(void)send_one(b);
}


static int send_one(struct bench *b)
{
	static const char body[] = "application/vnd.wap.mms-message "
		"notification: 128 bytes of push content, as an MMS "
		"notification would roughly carry, padded to size.....";
	const struct ac_spec ac = {.app = "mms.ua", .require = true,
				   .explicit_ = true};
	char cid[40], tag[20], aor[160];
	const char *ruri = b->ruri;
	struct pagemsg_spec ms;
	struct mbuf *mb;
	int err;

	if (b->users) {
		re_snprintf(aor, sizeof(aor), "sip:u%u@%s",
			    (unsigned)(b->seq % b->users), b->host);
		ruri = aor;
	}

	/* unique across runs: SIPp treats a known Call-ID as a retransmission */
	re_snprintf(cid, sizeof(cid), "%08x-%llx@bench", b->run,
		    (unsigned long long)++b->seq);
	re_snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)b->seq);
	ms = (struct pagemsg_spec){
		.ruri = ruri, .from = "sip:push@localhost", .from_tag = tag,
		.to = b->users ? ruri : "sip:user@example.com",
		.call_id = cid, .cseq = 1,
		.pai = "sip:push@localhost", .ac = &ac,
		.ctype = "text/plain", .body_len = sizeof(body) - 1,
	};

	/* as message.c sends it */
	mb = mbuf_alloc(2048);
	if (!mb)
		return ENOMEM;
	err = pagemsg_encode(mb, NULL, &ms, (const uint8_t *)body);
	if (!err)
		err = sip_request(NULL, b->sip, true, "MESSAGE", -1, ruri, -1,
				  &b->route, mb, (size_t)b, NULL, resp_h, b);
	mem_deref(mb);
	if (err)
		return err;
	++b->sent;
	++b->inflight;
	return 0;
}


int main(int argc, char *argv[])
{
	struct bench b;
	struct sa laddr;
	struct pl pl;
	double secs, t0, el;
	unsigned window;
	int err, got = 0;

	if (argc != 5 && argc != 7) {
		(void)fprintf(stderr, "usage: bench-message-uac ADDR:PORT RURI "
			      "SECONDS WINDOW [USERS TOTAL]\n");
		return 2;
	}
	memset(&b, 0, sizeof(b));
	if (argc == 7) {
		struct uri u;
		struct pl r;

		b.users = (uint32_t)atoi(argv[5]);
		b.total = (uint64_t)atoll(argv[6]);
		pl_set_str(&r, argv[2]);
		if (uri_decode(&u, &r))
			return 2;
		(void)pl_strcpy(&u.host, b.host, sizeof(b.host));
	}
	b.run = (uint32_t)rand_u32();
	secs = atof(argv[3]);
	window = (unsigned)atoi(argv[4]);
	str_ncpy(b.ruri, argv[2], sizeof(b.ruri));
	re_snprintf(b.route_str, sizeof(b.route_str), "sip:%s", argv[1]);
	pl_set_str(&pl, b.route_str);
	if (uri_decode(&b.route, &pl) || secs <= 0 || !window)
		return 2;

	err = libre_init();
	err = err ? err : sip_alloc(&b.sip, NULL, 32768, 32768, 32768,
				    "bench", NULL, NULL);
	(void)sa_set_str(&laddr, "127.0.0.1", 0);
	err = err ? err : sip_transp_add(b.sip, SIP_TRANSP_UDP, &laddr);
	err = err ? err : sip_transp_laddr(b.sip, &laddr, SIP_TRANSP_UDP,
					   NULL);
	if (err) {
		(void)fprintf(stderr, "setup: %s\n", strerror(err));
		return 1;
	}
	(void)udpbuf_set(&laddr, 8 << 20, &got);

	t0 = now_s();
	b.t_end = t0 + secs;
	for (unsigned i = 0; i < window; i++)
		if ((b.total && b.sent >= b.total) || send_one(&b))
			break;

	(void)re_main(NULL);
	el = now_s() - t0;

	(void)printf("sent=%llu ok=%llu fail=%llu timeout=%llu seconds=%.2f "
		     "rate=%.0f last_fail_code=%u\n", (unsigned long long)b.sent,
		     (unsigned long long)b.ok, (unsigned long long)b.fail,
		     (unsigned long long)b.timeouts, el, (double)b.ok / el,
		     b.fail_code);
	sip_close(b.sip, true);
	mem_deref(b.sip);
	libre_close();
	return 0;
}
