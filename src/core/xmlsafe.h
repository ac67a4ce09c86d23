/**
 * @file xmlsafe.h  expat set up for documents from the network: no DTD,
 *                  no entity declaration, nothing expands or is fetched.
 *
 * The parser's user data must start with struct xmlsafe: the handlers
 * stop the parser and leave EBADMSG in its err.
 */

struct xmlsafe {
	XML_Parser p;
	int err;
	const char *why;         /**< what stopped it, or NULL             */
};

int  xmlsafe_create(struct xmlsafe *xs, void *user, bool ns);
void xmlsafe_stop(struct xmlsafe *xs, int err);
int  xmlsafe_parse(struct xmlsafe *xs, const char *xml, size_t len);
const char *xmlsafe_attr(const XML_Char **atts, const char *name);
