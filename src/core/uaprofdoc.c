/**
 * @file uaprofdoc.c  UAProf PushCharacteristics with expat, bounded
 */
#include <errno.h>
#include <string.h>
#include <expat.h>
#include <re.h>
#include "core/appid.h"
#include "core/param.h"
#include "core/uaprofdoc.h"
#include "core/xmlsafe.h"

enum field { F_NONE = 0, F_ACCEPT, F_APPID, F_MSGSIZE };

struct pstate {
	struct xmlsafe xs;       /**< first: the hardening handlers use it  */
	struct uaprofdoc *doc;
	enum field field;        /**< inside which Push-* property          */
	unsigned depth;
	unsigned field_depth;
	char text[256];          /**< text of the current leaf              */
	size_t tlen;
};


static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}


static void stop(struct pstate *ps, int err)
{
	xmlsafe_stop(&ps->xs, err);
}


static void start_h(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct pstate *ps = arg;
	const char *ln = local_name(name);
	(void)atts;

	if (++ps->depth > UAPROFDOC_DEPTH) {
		stop(ps, EBADMSG);
		return;
	}

	ps->tlen = 0;
	if (ps->field != F_NONE)
		return;

	if (!strcmp(ln, "Push-Accept"))
		ps->field = F_ACCEPT;
	else if (!strcmp(ln, "Push-Accept-AppID"))
		ps->field = F_APPID;
	else if (!strcmp(ln, "Push-MsgSize"))
		ps->field = F_MSGSIZE;
	else
		return;

	ps->field_depth = ps->depth;
	ps->doc->has_push = true;
}


static int list_add(char *list, const char *item, size_t len)
{
	const size_t have = strlen(list);
	const size_t need = have + (have ? 1 : 0) + len + 1;

	if (need > UAPROFDOC_LIST)
		return EOVERFLOW;
	if (have)
		list[have] = ',';
	memcpy(list + have + (have ? 1 : 0), item, len);
	list[need - 1] = '\0';
	return 0;
}


/* A list item: a media type, or an application ID to normalise */
static int item_add(struct pstate *ps)
{
	struct pl v = {ps->text, ps->tlen}, id;

	pl_trim_lws(&v);
	while (v.l && (v.p[v.l - 1] == '\n' || v.p[v.l - 1] == '\r'))
		--v.l;
	while (v.l && (v.p[0] == '\n' || v.p[0] == '\r'))
		pl_advance(&v, 1);
	if (!v.l)
		return 0;

	/* nothing that could break a header or a list once reused */
	for (size_t i = 0; i < v.l; i++)
		if (v.p[i] == ',' || v.p[i] == '"' || (unsigned char)v.p[i] < 0x20)
			return EBADMSG;

	if (ps->field == F_ACCEPT)
		return list_add(ps->doc->push_accept, v.p, v.l);

	if (appid_normalize(&id, &v))
		return EBADMSG;
	return list_add(ps->doc->push_appids, id.p, id.l);
}


static void end_h(void *arg, const XML_Char *name)
{
	struct pstate *ps = arg;
	const char *ln = local_name(name);
	int err = 0;

	if (ps->field == F_MSGSIZE && ps->depth == ps->field_depth) {
		struct pl v = {ps->text, ps->tlen};

		pl_trim_lws(&v);
		while (v.l && (v.p[v.l - 1] == '\n' || v.p[v.l - 1] == '\r'))
			--v.l;
		while (v.l && (v.p[0] == '\n' || v.p[0] == '\r'))
			pl_advance(&v, 1);
		err = pl_u32_strict(&v, &ps->doc->push_msgsize);
	}
	else if ((ps->field == F_ACCEPT || ps->field == F_APPID) &&
		 !strcmp(ln, "li")) {
		err = item_add(ps);
	}

	if (err) {
		stop(ps, err == EOVERFLOW ? EOVERFLOW : EBADMSG);
		return;
	}

	if (ps->field != F_NONE && ps->depth == ps->field_depth)
		ps->field = F_NONE;
	ps->tlen = 0;
	--ps->depth;
}


static void text_h(void *arg, const XML_Char *s, int len)
{
	struct pstate *ps = arg;

	if (ps->field == F_NONE || len <= 0)
		return;
	if (ps->tlen + (size_t)len >= sizeof(ps->text)) {
		stop(ps, EOVERFLOW);
		return;
	}
	memcpy(ps->text + ps->tlen, s, (size_t)len);
	ps->tlen += (size_t)len;
}


/**
 * Read the PushCharacteristics of a UAProf document.
 *
 * @return 0, EBADMSG (not well-formed, DOCTYPE, entity, too deep, bad
 *         value), EOVERFLOW (a list or value beyond its bound), ENOMEM
 */
int uaprofdoc_parse(struct uaprofdoc *doc, const char *xml, size_t len)
{
	struct pstate ps;
	int err = 0;

	if (!doc || !xml || len > INT32_MAX)
		return EINVAL;

	memset(doc, 0, sizeof(*doc));
	memset(&ps, 0, sizeof(ps));
	ps.doc = doc;
	err = xmlsafe_create(&ps.xs, &ps, false);
	if (err)
		return err;

	XML_SetElementHandler(ps.xs.p, start_h, end_h);
	XML_SetCharacterDataHandler(ps.xs.p, text_h);
	err = xmlsafe_parse(&ps.xs, xml, len);
	if (err)
		memset(doc, 0, sizeof(*doc));
	return err;
}
