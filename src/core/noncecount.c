/**
 * @file noncecount.c  Digest replay: the nonce counts seen (RFC 7616 §3.4)
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/digest.h"
#include "core/param.h"
#include "core/noncecount.h"

/* a retransmission comes within a non-INVITE transaction (64*T1) */
enum { RETRANS_S = 32 };

struct entry {
	struct le he;
	char nonce[DIGEST_NONCE_LEN + 1];
	uint64_t issued;         /**< the nonce's own time, seconds        */
	uint64_t last_use;
	uint32_t nc;             /**< the highest count used               */
	uint8_t md5[MD5_SIZE];   /**< the UDP request that used it         */
	bool has_md5;
};

struct noncecount {
	struct hash *ht;
	uint32_t n, max, max_age;
	uint64_t dropped;        /**< nonces issued up to then are stale   */
};


static void nc_destructor(void *arg)
{
	struct noncecount *nc = arg;

	hash_flush(nc->ht);
	mem_deref(nc->ht);
}


int noncecount_alloc(struct noncecount **ncp, uint32_t max,
		     uint32_t max_age)
{
	struct noncecount *nc;
	int err;

	if (!ncp || !max)
		return EINVAL;

	nc = mem_zalloc(sizeof(*nc), nc_destructor);
	if (!nc)
		return ENOMEM;

	err = hash_alloc(&nc->ht, 1024);
	if (err) {
		mem_deref(nc);
		return err;
	}
	nc->max = max;
	nc->max_age = max_age;
	*ncp = nc;
	return 0;
}


static bool nonce_cmp(struct le *le, void *arg)
{
	const struct entry *e = le->data;

	return !pl_strcmp(arg, e->nonce);
}


struct sweep {
	struct noncecount *nc;
	uint64_t now;
	struct entry *oldest;
};


static bool expired_h(struct le *le, void *arg)
{
	struct sweep *sw = arg;
	struct entry *e = le->data;

	if (e->issued + sw->nc->max_age < sw->now) {
		mem_deref(e);   /* its nonce is stale by now anyway */
		--sw->nc->n;
	}
	else if (!sw->oldest || e->issued < sw->oldest->issued) {
		sw->oldest = e;
	}
	return false;
}


/* Room for one more: the expired go, then the oldest if need be */
static void make_room(struct noncecount *nc, uint64_t now)
{
	struct sweep sw = {nc, now, NULL};

	(void)hash_apply(nc->ht, expired_h, &sw);
	if (nc->n < nc->max || !sw.oldest)
		return;
	if (sw.oldest->issued > nc->dropped)
		nc->dropped = sw.oldest->issued;
	mem_deref(sw.oldest);
	--nc->n;
}


static void entry_destructor(void *arg)
{
	struct entry *e = arg;

	hash_unlink(&e->he);
}


static int count_decode(uint32_t *v, const struct pl *pl)
{
	if (pl->l != 8)
		return EPROTO;
	for (size_t i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)pl->p[i]))
			return EPROTO;
	*v = (uint32_t)pl_x32(pl);
	return *v ? 0 : EPROTO;
}


/**
 * Record the use of a verified response. 0: a first or greater count (or
 * a retransmission); EPROTO: no qop=auth and nc (nothing to count);
 * EALREADY: a replay; ESTALE: a nonce whose count was dropped for room.
 */
int noncecount_use(struct noncecount *nc, const struct pl *authz,
		   const uint8_t *msg_md5, uint64_t now)
{
	struct httpauth_digest_resp r;
	struct entry *e;
	struct le *le;
	uint32_t count, key;
	uint64_t issued;
	char ts[17];

	if (!nc || !authz)
		return EINVAL;

	if (httpauth_digest_response_decode(&r, authz) ||
	    r.nonce.l != DIGEST_NONCE_LEN || pl_strcmp(&r.qop, "auth") ||
	    !pl_isset(&r.cnonce) || count_decode(&count, &r.nc))
		return EPROTO;

	key = hash_joaat((const uint8_t *)r.nonce.p, r.nonce.l);
	le = hash_lookup(nc->ht, key, nonce_cmp, &r.nonce);
	e = le ? le->data : NULL;
	if (e) {
		if (count > e->nc)
			goto use;
		if (count == e->nc && msg_md5 && e->has_md5 &&
		    !memcmp(msg_md5, e->md5, MD5_SIZE) &&
		    now <= e->last_use + RETRANS_S)
			return 0;
		return EALREADY;
	}

	(void)pl_strcpy(&(struct pl){r.nonce.p, 16}, ts, sizeof(ts));
	issued = strtoull(ts, NULL, 16);
	if (issued <= nc->dropped)
		return ESTALE;

	if (nc->n >= nc->max)
		make_room(nc, now);
	if (issued <= nc->dropped)
		return ESTALE;

	e = mem_zalloc(sizeof(*e), entry_destructor);
	if (!e)
		return ENOMEM;
	(void)pl_strcpy(&r.nonce, e->nonce, sizeof(e->nonce));
	e->issued = issued;
	hash_append(nc->ht, key, &e->he, e);
	++nc->n;

 use:
	e->nc = count;
	e->last_use = now;
	e->has_md5 = msg_md5 != NULL;
	if (msg_md5)
		memcpy(e->md5, msg_md5, MD5_SIZE);
	return 0;
}


uint32_t noncecount_size(const struct noncecount *nc)
{
	return nc ? nc->n : 0;
}
