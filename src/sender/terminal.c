/**
 * @file terminal.c  The registry of users' terminals, mirrored in the store
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "engine.h"
#include "clock.h"
#include "events.h"
#include "terminal.h"
#include "cluster.h"
#include "core/lease.h"

#include <sippush/log.h>

#define MOD "terminal"


static void user_destructor(void *arg)
{
	struct user *u = arg;

	hash_unlink(&u->he);
	list_flush(&u->terms);
	/* pushes in u->waiting belong to sender.pushes; just unlink them */
	while (u->waiting.head)
		list_unlink(u->waiting.head);
	mem_deref(u->aor);
}


static bool aor_cmp(struct le *le, void *arg)
{
	struct user *u = le->data;
	return 0 == str_cmp(u->aor, arg);
}


struct user *user_find(struct sender *s, const char *aor)
{
	struct le *le;

	/* keys are canonical (aor.h): the user part is case-sensitive */
	le = hash_lookup(s->users, hash_joaat_str(aor), aor_cmp,
			 (void *)aor);
	return le ? le->data : NULL;
}


int user_get(struct user **up, struct sender *s, const char *aor)
{
	struct user *u = user_find(s, aor);
	int err;

	if (u) {
		*up = u;
		return 0;
	}

	u = mem_zalloc(sizeof(*u), user_destructor);
	if (!u)
		return ENOMEM;

	err = str_dup(&u->aor, aor);
	if (err) {
		mem_deref(u);
		return err;
	}

	u->s = s;
	hash_append(s->users, hash_joaat_str(aor), &u->he, u);
	*up = u;
	return 0;
}


static void term_destructor(void *arg)
{
	struct terminal *t = arg;

	/* its deliveries' route may now be another terminal's of that key */
	if (t->u)
		++t->u->s->route_gen;
	tmr_cancel(&t->tmr);
	list_unlink(&t->le);
	mem_deref(t->tkey);
	mem_deref(t->instance);
	mem_deref(t->contact);
	mem_deref(t->pub_gruu);
	mem_deref(t->gruu_built);
	mem_deref(t->temp_gruu);
	mem_deref(t->apps);
	mem_deref(t->methods);
	mem_deref(t->path);
	mem_deref(t->source);
	mem_deref(t->charging);
}


struct terminal *term_find(struct user *u, const char *tkey)
{
	for (struct le *le = u ? u->terms.head : NULL; le; le = le->next) {
		struct terminal *t = le->data;
		if (!str_cmp(t->tkey, tkey))
			return t;
	}
	return NULL;
}


/** May the user have one more terminal? (--max-terminals) */
bool term_room(const struct user *u)
{
	const uint32_t max = u->s->conf.max_terms;

	return !max || list_count(&u->terms) < max;
}


/** Remove a terminal from memory and the store */
void term_remove(struct terminal *t)
{
	struct sender *s = t->u->s;

	(void)store_term_del(s->st, t->u->aor, t->tkey);
	cluster_user_changed(s, t->u->aor);
	--s->stats.terminals;
	event_terminal(s, t->u->aor, t, term_gruu(t, NULL), true);
	mem_deref(t);
}


static void expire_tmr(void *arg)
{
	struct terminal *t = arg;

	/* a cluster: the user's owner removes it from the store and tells
	 * the others; this copy only leaves memory (it may be older than a
	 * refresh another node took) */
	if (!cluster_owns(t->u->s, t->u->aor)) {
		--t->u->s->stats.terminals;
		mem_deref(t);
		return;
	}

	plog(SIPPUSH_LOG_INFO, MOD, "%s: terminal %s expired", t->u->aor, t->tkey);
	term_remove(t);
}


static int set_str(char **dst, const char *src)
{
	*dst = mem_deref(*dst);
	return src && *src ? str_dup(dst, src) : 0;
}


static int term_fill(struct terminal *t, const struct term_rec *r)
{
	int err = 0;

	/* the form RFC 5627 §5.1 recommends, and Kamailio and 3GPP S-CSCFs
	 * build: used through a core that gave none unless --gruu given-only */
	t->gruu_built = mem_deref(t->gruu_built);
	if (r->instance && *r->instance && !(r->pub_gruu && *r->pub_gruu))
		err |= re_sdprintf(&t->gruu_built, "%s;gr=%s", r->aor,
				   r->instance);
	err |= set_str(&t->instance, r->instance);
	err |= set_str(&t->contact, r->contact);
	err |= set_str(&t->pub_gruu, r->pub_gruu);
	err |= set_str(&t->temp_gruu, r->temp_gruu);
	err |= set_str(&t->apps, r->apps);
	err |= set_str(&t->methods, r->methods);
	err |= set_str(&t->path, r->path);
	err |= set_str(&t->source, r->source);
	err |= set_str(&t->charging, r->charging);
	t->expires_at = r->expires_at;
	t->push = r->push;
	return err ? ENOMEM : 0;
}


static void arm(struct terminal *t, int64_t now_s)
{
	int64_t left = t->expires_at - now_s;

	tmr_start(&t->tmr, left > 0 ? (uint64_t)left * 1000 : 0,
		  expire_tmr, t);
}


/**
 * Insert or refresh a terminal (memory + store). *became is true when it
 * now takes pushes and did not before, so waiting pushes can go out.
 */
int term_upsert(struct sender *s, const struct term_rec *r, bool *became)
{
	struct terminal *t;
	struct user *u;
	bool was_push = false, fresh = false, moved = false;
	int err;

	err = user_get(&u, s, r->aor);
	if (err)
		return err;

	t = term_find(u, r->tkey);
	if (t) {
		was_push = t->push;
		moved = r->path && t->path ? strcmp(r->path, t->path) != 0 :
			r->path != t->path;
	}
	else if (!term_room(u)) {
		return E2BIG;
	}
	else {
		t = mem_zalloc(sizeof(*t), term_destructor);
		if (!t)
			return ENOMEM;
		err = str_dup(&t->tkey, r->tkey);
		if (err) {
			mem_deref(t);
			return err;
		}
		t->u = u;
		list_append(&u->terms, &t->le, t);
		++s->stats.terminals;
		fresh = true;
	}

	err = term_fill(t, r);
	if (err)
		return err;
	if (moved)
		++s->route_gen;

	/* the same contact was known only at AoR level from the reg
	 * event: this record, with its instance, replaces it */
	if (r->instance && r->contact) {
		struct le *le = u->terms.head;

		while (le) {
			struct terminal *o = le->data;

			le = le->next;
			if (o != t && !o->instance &&
			    !str_cmp(o->source, "reg") &&
			    !str_casecmp(o->contact, r->contact))
				term_remove(o);
		}
	}

	/* news only: a plain refresh is not an event */
	if (fresh || t->push != was_push)
		event_terminal(s, u->aor, t, term_gruu(t, NULL), false);

	arm(t, sender_now_s(s));

	/* a new flow or Path: what waits for a retry toward it goes now */
	if (moved)
		s->up.terminal_moved(s, u->aor, t->tkey);

	if (became)
		*became = t->push && !was_push;

	err = store_term_put(s->st, r);
	cluster_user_changed(s, u->aor);
	return err;
}


/** Learnt through a core (third-party REGISTER, reg event), not as its
 *  registrar: requests go to a GRUU or the public identity, never to
 *  the contact (docs/protocol.md, "Addressing through a core") */
bool term_via_core(const struct terminal *t)
{
	return !str_cmp(t->source, "third-party") ||
		!str_cmp(t->source, "reg");
}


/** Do requests to it cross an IMS core (learnt through one, or every
 *  request goes through --outbound)? Then they carry the IMS headers */
bool term_charged(const struct terminal *t)
{
	return term_via_core(t) || t->u->s->conf.outbound;
}


/**
 * The GRUU a request to this terminal may carry, and where it comes from
 * (*source: "core", "registrar" or "constructed"); NULL when none: the
 * registrar gave none, and either the terminal has no instance or the
 * core is not assumed to build them (--gruu given-only).
 */
const char *term_gruu(const struct terminal *t, const char **source)
{
	const char *src = NULL, *g = NULL;

	if (t->pub_gruu) {
		g = t->pub_gruu;
		src = term_via_core(t) ? "core" : "registrar";
	}
	else if (t->gruu_built && (!term_via_core(t) ||
				   !t->u->s->conf.gruu_given_only)) {
		g = t->gruu_built;
		src = "constructed";
	}
	if (source)
		*source = src;
	return g;
}


void term_caps_of(struct term_caps *tc, const struct terminal *t)
{
	memset(tc, 0, sizeof(*tc));
	tc->instance = t->instance;
	tc->gruu = term_gruu(t, NULL);
	tc->contact = t->contact;
	if (t->apps)
		pl_set_str(&tc->apps, t->apps);
	if (t->methods)
		pl_set_str(&tc->methods, t->methods);
}


static void load_h(const struct term_rec *r, void *arg)
{
	struct sender *s = arg;
	int64_t now = sender_now_s(s);
	struct terminal *t;
	struct user *u;

	if (s->load_mask && !s->load_mask[lease_shard_of(r->aor)])
		return;
	if (r->expires_at <= now) {
		(void)store_term_del(s->st, r->aor, r->tkey);
		return;
	}

	if (user_get(&u, s, r->aor))
		return;

	t = mem_zalloc(sizeof(*t), term_destructor);
	if (!t || str_dup(&t->tkey, r->tkey) || term_fill(t, r)) {
		mem_deref(t);
		return;
	}

	t->u = u;
	list_append(&u->terms, &t->le, t);
	++s->stats.terminals;
	arm(t, now);
}


int term_load(struct sender *s)
{
	return store_term_load(s->st, load_h, s);
}


/* A user's terminals leave memory only (the store keeps them) */
static void forget_terms(struct user *u)
{
	while (u->terms.head) {
		--u->s->stats.terminals;
		mem_deref(u->terms.head->data);
	}
}


/**
 * Another node of the cluster changed a user's terminals: this node's
 * copy is read again from the store (a short synchronous read)
 */
int term_reload(struct sender *s, const char *aor)
{
	struct user *u = user_find(s, aor);

	if (u)
		forget_terms(u);
	return store_term_of(s->st, aor, load_h, s);
}


static bool forget_h(struct le *le, void *arg)
{
	struct user *u = le->data;
	const bool *mask = arg;

	if (mask[lease_shard_of(u->aor)])
		forget_terms(u);
	return false;
}


/** A cluster's node took shards (mask): their users' terminals are read
 *  again, before their pushes are */
int term_reload_shards(struct sender *s, const bool *mask)
{
	int err;

	(void)hash_apply(s->users, forget_h, (void *)mask);
	s->load_mask = mask;
	err = store_term_load(s->st, load_h, s);
	s->load_mask = NULL;
	return err;
}
