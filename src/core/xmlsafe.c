/**
 * @file xmlsafe.c  expat hardened for hostile documents
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <expat.h>
#include "core/xmlsafe.h"


/** Stop at the first error; the first reason wins */
void xmlsafe_stop(struct xmlsafe *xs, int err)
{
	if (!xs->err)
		xs->err = err;
	XML_StopParser(xs->p, XML_FALSE);
}


static void doctype_h(void *arg, const XML_Char *name, const XML_Char *sys,
		      const XML_Char *pub, int internal)
{
	(void)name;
	(void)sys;
	(void)pub;
	(void)internal;
	if (!((struct xmlsafe *)arg)->err)
		((struct xmlsafe *)arg)->why = "DOCTYPE";
	xmlsafe_stop(arg, EBADMSG);
}


static void entity_h(void *arg, const XML_Char *name, int param,
		     const XML_Char *value, int vlen, const XML_Char *base,
		     const XML_Char *sys, const XML_Char *pub,
		     const XML_Char *notation)
{
	(void)name; (void)param; (void)value; (void)vlen; (void)base;
	(void)sys; (void)pub; (void)notation;
	if (!((struct xmlsafe *)arg)->err)
		((struct xmlsafe *)arg)->why = "entity declaration";
	xmlsafe_stop(arg, EBADMSG);
}


/**
 * A parser for user (which begins with xs). ns: names come as
 * "namespace|local" (XML_ParserCreateNS), else as written.
 */
int xmlsafe_create(struct xmlsafe *xs, void *user, bool ns)
{
	if (!xs || (void *)xs != user)
		return EINVAL;

	xs->err = 0;
	xs->why = NULL;
	xs->p = ns ? XML_ParserCreateNS(NULL, '|') : XML_ParserCreate(NULL);
	if (!xs->p)
		return ENOMEM;

	XML_SetUserData(xs->p, user);
	XML_SetStartDoctypeDeclHandler(xs->p, doctype_h);
	XML_SetEntityDeclHandler(xs->p, entity_h);
	XML_SetParamEntityParsing(xs->p, XML_PARAM_ENTITY_PARSING_NEVER);
	return 0;
}


/** The value of an element's attribute, or NULL */
const char *xmlsafe_attr(const XML_Char **atts, const char *name)
{
	for (size_t i = 0; atts && atts[i]; i += 2)
		if (!strcmp(atts[i], name))
			return atts[i + 1];
	return NULL;
}


/** Parse the whole document and free the parser */
int xmlsafe_parse(struct xmlsafe *xs, const char *xml, size_t len)
{
	int err = 0;

	if (len > INT32_MAX)
		err = EOVERFLOW;
	else if (XML_Parse(xs->p, xml, (int)len, XML_TRUE) != XML_STATUS_OK)
		err = xs->err ? xs->err : EBADMSG;

	XML_ParserFree(xs->p);
	xs->p = NULL;
	return err;
}
