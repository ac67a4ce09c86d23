/**
 * @file connguard.c  SIP TCP connection caps and first-message deadline
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "rt/connguard.h"
#include <sippush/log.h>

#define MOD "connguard"

enum { TICK_MS = 500, MAX_TRACK = 65536 };

struct track {
	struct le he;            /**< in connguard.conns, by peer        */
	int fd;
	struct connguard_entry e;
	bool alive;              /**< seen in this scan                  */
};

struct connguard {
	struct connguard_conf conf;
	struct sa laddr;
	struct hash *conns;
	size_t n;
	uint64_t seq;
	struct tmr tmr;
	uint32_t cut;
};


static int by_age(const void *a, const void *b)
{
	const struct connguard_entry *x = *(struct connguard_entry *const *)a;
	const struct connguard_entry *y = *(struct connguard_entry *const *)b;

	/* oldest first: the newest are cut */
	if (x->since_ms != y->since_ms)
		return x->since_ms < y->since_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}


/**
 * Mark the connections to shut down: silent past the deadline, then the
 * newest beyond the per-address cap, then the newest beyond the total.
 * Returns how many are marked.
 */
size_t connguard_select(struct connguard_entry *v, size_t n,
			const struct connguard_conf *conf, uint64_t now_ms)
{
	struct connguard_entry **p;
	size_t cut = 0, kept = 0;

	if (!v || !conf)
		return 0;
	p = malloc(n * sizeof(*p) + 1);
	if (!p)
		return 0;

	for (size_t i = 0; i < n; i++) {
		v[i].cut = conf->first_ms && !v[i].msg &&
			now_ms - v[i].since_ms >= conf->first_ms;
		v[i].why = v[i].cut ? "no whole message in time" : NULL;
		p[i] = &v[i];
	}
	qsort(p, n, sizeof(*p), by_age);

	for (size_t i = 0; i < n; i++) {
		uint32_t same = 0;

		if (p[i]->cut) {
			++cut;
			continue;
		}
		/* older ones of the same address still kept */
		for (size_t j = 0; j < i && conf->max_per_peer; j++)
			if (!p[j]->cut && sa_cmp(&p[j]->peer, &p[i]->peer,
						  SA_ADDR))
				++same;
		if (conf->max_per_peer && same >= conf->max_per_peer)
			p[i]->why = "over the connections per address";
		else if (conf->max_total && kept >= conf->max_total)
			p[i]->why = "over the connections in all";
		if (p[i]->why) {
			p[i]->cut = true;
			++cut;
			continue;
		}
		++kept;
	}
	free(p);
	return cut;
}


static bool is_ours(int fd, const struct sa *laddr, struct sa *peer)
{
	struct sa la;
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) || v != SOCK_STREAM)
		return false;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) || v)
		return false;
	sa_init(&la, AF_UNSPEC);
	la.len = sizeof(la.u);
	if (getsockname(fd, &la.u.sa, &la.len))
		return false;
	/* a listener on the any address: its connections have their own */
	if (sa_is_any(laddr) ? sa_port(&la) != sa_port(laddr) ||
	    sa_af(&la) != sa_af(laddr) : !sa_cmp(&la, laddr, SA_ALL))
		return false;
	sa_init(peer, AF_UNSPEC);
	peer->len = sizeof(peer->u);
	return !getpeername(fd, &peer->u.sa, &peer->len);
}


static struct track *find(const struct connguard *cg, const struct sa *peer)
{
	const struct list *l = hash_list(cg->conns, sa_hash(peer, SA_ALL));

	for (struct le *le = l ? l->head : NULL; le; le = le->next) {
		struct track *t = le->data;

		if (sa_cmp(&t->e.peer, peer, SA_ALL))
			return t;
	}
	return NULL;
}


static struct track *track_new(struct connguard *cg, const struct sa *peer,
			       uint64_t now)
{
	struct track *t;

	if (cg->n >= MAX_TRACK)
		return NULL;
	t = mem_zalloc(sizeof(*t), NULL);
	if (!t)
		return NULL;
	t->fd = -1;
	t->e.peer = *peer;
	t->e.since_ms = now;
	t->e.seq = ++cg->seq;
	hash_append(cg->conns, sa_hash(peer, SA_ALL), &t->he, t);
	++cg->n;
	return t;
}


/* Our accepted connections, from the descriptor table */
static void scan(struct connguard *cg, uint64_t now)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		struct track *t;
		struct sa peer;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || fd < 0 || fd == dirfd(d) ||
		    !is_ours((int)fd, &cg->laddr, &peer))
			continue;
		t = find(cg, &peer);
		if (!t)
			t = track_new(cg, &peer, now);
		if (t) {
			t->fd = (int)fd;
			t->alive = true;
		}
	}
	if (d)
		(void)closedir(d);
}


static bool gone_h(struct le *le, void *arg)
{
	struct track *t = le->data;
	struct connguard *cg = arg;

	if (!t->alive) {
		hash_unlink(&t->he);
		mem_deref(t);
		--cg->n;
	}
	else {
		t->alive = false;
	}
	return false;
}


struct collect {
	struct connguard_entry *v;
	struct track **t;
	size_t n;
};


static bool collect_h(struct le *le, void *arg)
{
	struct collect *c = arg;
	struct track *t = le->data;

	c->v[c->n] = t->e;
	c->t[c->n] = t;
	++c->n;
	return false;
}


static void tick(void *arg)
{
	struct connguard *cg = arg;
	const uint64_t now = tmr_jiffies();
	struct collect c = {NULL, NULL, 0};
	size_t n;

	scan(cg, now);
	(void)hash_apply(cg->conns, gone_h, cg);   /* closed ones go */

	n = cg->n;
	if (n) {
		c.v = mem_zalloc(n * sizeof(*c.v), NULL);
		c.t = mem_zalloc(n * sizeof(*c.t), NULL);
	}
	if (c.v && c.t) {
		(void)hash_apply(cg->conns, collect_h, &c);
		if (connguard_select(c.v, c.n, &cg->conf, now)) {
			for (size_t i = 0; i < c.n; i++) {
				if (!c.v[i].cut || c.t[i]->fd < 0)
					continue;
				plog(SIPPUSH_LOG_WARN, MOD, "%J: %s: connection shut "
				     "down", &c.v[i].peer, c.v[i].why);
				(void)shutdown(c.t[i]->fd, SHUT_RDWR);
				++cg->cut;
			}
		}
	}
	mem_deref(c.v);
	mem_deref(c.t);
	tmr_start(&cg->tmr, TICK_MS, tick, cg);
}


static void destructor(void *arg)
{
	struct connguard *cg = arg;

	tmr_cancel(&cg->tmr);
	hash_flush(cg->conns);
	mem_deref(cg->conns);
}


/** Guard the connections accepted on laddr (a SIP TCP or TLS address) */
int connguard_alloc(struct connguard **cgp, const struct sa *laddr,
		    const struct connguard_conf *conf)
{
	struct connguard *cg;
	int err;

	if (!cgp || !laddr || !conf)
		return EINVAL;

	cg = mem_zalloc(sizeof(*cg), destructor);
	if (!cg)
		return ENOMEM;
	cg->conf = *conf;
	cg->laddr = *laddr;
	tmr_init(&cg->tmr);
	err = hash_alloc(&cg->conns, 256);
	if (err) {
		mem_deref(cg);
		return err;
	}
	tmr_start(&cg->tmr, TICK_MS, tick, cg);
	*cgp = cg;
	return 0;
}


/** A whole SIP message came in: its connection has kept the deadline */
void connguard_seen(struct connguard *cg, const struct sip_msg *msg)
{
	struct track *t;

	if (!cg || !msg || (msg->tp != SIP_TRANSP_TCP &&
			    msg->tp != SIP_TRANSP_TLS))
		return;
	/* also before the scan has seen the connection */
	t = find(cg, &msg->src);
	if (!t)
		t = track_new(cg, &msg->src, tmr_jiffies());
	if (t) {
		t->e.msg = true;
		t->alive = true;
	}
}


uint32_t connguard_cut_total(const struct connguard *cg)
{
	return cg ? cg->cut : 0;
}
