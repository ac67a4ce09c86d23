/**
 * @file examples/receiver_min.c  The smallest embedding of libsippush's
 *                                receiver: register, print every push
 *
 * usage: receiver-min AOR REGISTRAR_URI LISTEN_ADDR:PORT STATE_DIR
 * e.g.   receiver-min sip:alice@example.com sip:127.0.0.1:5060 \
 *            127.0.0.1:5070 /tmp/alice-state
 */
#include <stdio.h>
#include <re.h>
#include <sippush/cidr.h>
#include <sippush/receiver.h>

static struct receiver *rcv;


static int push_h(const struct receiver_push *p, void *arg)
{
	(void)arg;

	if (p->error)
		printf("push %s for %s failed: %s\n", p->push_id, p->app,
		       p->error);
	else
		printf("push %s for %s from %s (%s): %.*s\n", p->push_id,
		       p->app, p->from, p->ctype, (int)p->body_len,
		       (const char *)p->body);
	fflush(stdout);
	return 0;   /* taken: the sender gets a 200 */
}


static bool sip_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	return receiver_sip_request(rcv, msg);
}


static void signal_h(int sig)
{
	(void)sig;
	re_cancel();
}


int main(int argc, char *argv[])
{
	static const struct receiver_app apps[] = {{"mms.ua", NULL}};
	struct receiver_conf conf = {0};
	struct sip *sip = NULL;
	struct sip_lsnr *lsnr = NULL;
	struct cidr trust;
	char instance[64];
	struct pl loop = PL("127.0.0.0/8");
	struct sa laddr;
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: receiver-min AOR REGISTRAR LISTEN "
			"STATE_DIR\n");
		return 2;
	}

	err  = libre_init();
	err |= sa_decode(&laddr, argv[3], str_len(argv[3]));
	err |= sip_alloc(&sip, NULL, 32, 32, 32, "receiver-min", NULL, NULL);
	err |= sip_transp_add(sip, SIP_TRANSP_UDP, &laddr);
	/* pushes are believed over TCP/TLS on our registration's flow only:
	 * give a REGISTRAR with ;transport=tcp */
	err |= sip_transp_add(sip, SIP_TRANSP_TCP, &laddr);
	err |= receiver_instance_load(instance, sizeof(instance), argv[4]);
	err |= cidr_decode(&trust, &loop);
	if (err) {
		fprintf(stderr, "receiver-min: setup failed\n");
		return 1;
	}

	conf.aor = argv[1];
	conf.registrar = argv[2];
	conf.instance = instance;
	conf.appv = apps;
	conf.appn = 1;
	conf.trust = &trust;
	conf.ntrust = 1;
	conf.state_dir = argv[4];
	conf.expires = 600;
	conf.require_pref = true;
	conf.reg_id = 1;   /* RFC 5626: pushes come back on our flow */

	err  = receiver_alloc(&rcv, sip, &conf, push_h, NULL, NULL);
	err |= sip_listen(&lsnr, sip, true, sip_h, NULL);
	err |= receiver_register(rcv);
	if (err) {
		fprintf(stderr, "receiver-min: cannot start\n");
		return 1;
	}

	(void)re_main(signal_h);

	mem_deref(lsnr);
	mem_deref(rcv);
	sip_close(sip, true);
	mem_deref(sip);
	libre_close();
	return 0;
}
