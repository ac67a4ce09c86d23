/**
 * @file held.c  Progress records held in memory
 *
 * One allocation a record: a delivery's values were encoded into a
 * buffer when held, decoded when written and encoded again for the turn
 * (three copies, two allocations and a key printed by re_snprintf): 8 %
 * of the CPU of an offline drain, most of it gone this way.
 */
#include <string.h>
#include <re.h>
#include "store/store.h"
#include "store/backend.h"
#include "store/held.h"


static void destructor(void *arg)
{
	struct held *h = arg;

	hash_unlink(&h->he);
	list_unlink(&h->le);
}


/* A delivery is (push id, terminal key), a push's final state its id */
static bool key_parts(enum store_q q, const struct sval *v, size_t n,
		      const char **a, const char **b)
{
	if ((q == Q_DLV_PUT || q == Q_DLV_PUT_FENCED) && n > 1 &&
	    v[0].t == SV_TEXT && v[1].t == SV_TEXT) {
		*a = v[0].s;
		*b = v[1].s;
		return true;
	}
	if ((q == Q_PUSH_FINAL || q == Q_PUSH_FINAL_FENCED) && n > 2 &&
	    v[2].t == SV_TEXT) {
		*a = v[2].s;
		*b = NULL;
		return true;
	}
	return false;
}


static char *put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	p[len] = '\0';
	return p + len + 1;
}


/**
 * Copy a progress record. EINVAL: not one (it has no key), written at once
 */
int held_alloc(struct held **hp, enum store_q q, const struct sval *v,
	       size_t n)
{
	const char *ka, *kb;
	size_t lens[32], la, lb, sz;
	struct held *h;
	char *p;

	if (!hp || !v || n > 32 || !key_parts(q, v, n, &ka, &kb))
		return EINVAL;

	la = strlen(ka);
	lb = kb ? strlen(kb) : 0;
	sz = sizeof(*h) + n * sizeof(*v) + 2 + la + 1 + (kb ? lb + 1 : 0);
	for (size_t i = 0; i < n; i++) {
		lens[i] = v[i].t == SV_TEXT ? strlen(v[i].s) :
			v[i].t == SV_BLOB ? v[i].len : 0;
		sz += lens[i] + (v[i].t == SV_TEXT);
	}

	h = mem_alloc(sz, destructor);
	if (!h)
		return ENOMEM;

	memset(h, 0, sizeof(*h));
	h->q = q;
	h->n = n;
	memcpy(h->v, v, n * sizeof(*v));

	p = (char *)&h->v[n];
	h->key = p;
	*p++ = kb ? 'd' : 'f';
	*p++ = ' ';
	if (kb) {
		memcpy(p, ka, la);
		p[la] = ' ';
		p = put_str(p + la + 1, kb, lb);
	}
	else {
		p = put_str(p, ka, la);
	}

	for (size_t i = 0; i < n; i++) {
		if (v[i].t == SV_TEXT) {
			h->v[i].s = p;
			h->v[i].len = lens[i];
			p = put_str(p, v[i].s, lens[i]);
		}
		else if (v[i].t == SV_BLOB) {
			memcpy(p, v[i].b, lens[i]);
			h->v[i].b = (const uint8_t *)p;
			p += lens[i];
		}
	}

	*hp = h;
	return 0;
}


static bool key_cmp(struct le *le, void *arg)
{
	const struct held *h = le->data;

	return !strcmp(h->key, arg);
}


static struct held *find(const struct held_set *hs, const char *key)
{
	struct le *le = hash_lookup(hs->h, hash_joaat_str(key), key_cmp,
				    (void *)key);

	return le ? le->data : NULL;
}


/**
 * Hold h in hs; it replaces an older one of its key in its place (rows
 * are made in the order they were first held). ENOSPC when max are held
 * already: h stays the caller's
 */
int held_put(struct held_set *hs, struct held *h, uint32_t max)
{
	struct held *old = find(hs, h->key);

	if (old) {
		list_insert_after(&hs->l, &old->le, &h->le, h);
		mem_deref(old);
	}
	else if (hs->n >= max) {
		return ENOSPC;
	}
	else {
		list_append(&hs->l, &h->le, h);
		++hs->n;
	}
	hash_append(hs->h, hash_joaat_str(h->key), &h->he, h);
	return 0;
}


/** Take h out of hs (it is the caller's then) */
void held_take(struct held_set *hs, struct held *h)
{
	hash_unlink(&h->he);
	list_unlink(&h->le);
	--hs->n;
}


/** Forget what hs holds for key */
void held_drop(struct held_set *hs, const char *key)
{
	struct held *h = find(hs, key);

	if (h) {
		mem_deref(h);
		--hs->n;
	}
}
