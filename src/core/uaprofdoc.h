/**
 * @file uaprofdoc.h  The PushCharacteristics of a UAProf (RDF/XML) document
 *
 * Parsed with expat; a DOCTYPE, an entity declaration, nesting deeper than
 * UAPROFDOC_DEPTH or lists beyond their buffers give EBADMSG/EOVERFLOW, so
 * a hostile document costs bounded memory and time. Element names are
 * matched by their local part (after the namespace prefix).
 */

enum { UAPROFDOC_DEPTH = 32, UAPROFDOC_LIST = 1024 };

struct uaprofdoc {
	char push_accept[UAPROFDOC_LIST];  /**< "type/sub,type/sub"     */
	char push_appids[UAPROFDOC_LIST];  /**< "mms.ua,0x04"           */
	uint32_t push_msgsize;             /**< 0: not given            */
	bool has_push;                     /**< any Push-* seen         */
};

int uaprofdoc_parse(struct uaprofdoc *doc, const char *xml, size_t len);
