/**
 * @file reginfo.h  application/reginfo+xml (RFC 3680), with the RFC 5628
 *                  pub-gruu/temp-gruu elements and the unknown-param
 *                  elements that carry a contact's feature tags.
 *
 * Parsed with expat (xmlsafe.h: no DTD, no entities), at most
 * REGINFO_MAX_DOC bytes, REGINFO_DEPTH levels, REGINFO_REGS registrations
 * of REGINFO_CONTACTS contacts; every text and attribute is bounded.
 * Elements of other namespaces are skipped (RFC 3680 §5.4: extensible).
 */

enum {
	REGINFO_MAX_DOC  = 65536,
	REGINFO_DEPTH    = 8,
	REGINFO_REGS     = 8,
	REGINFO_CONTACTS = 16,
};

struct reginfo_contact {
	char id[64];
	char uri[256];
	char state[16];          /**< active, terminated                   */
	char event[16];          /**< registered, created, refreshed, ...  */
	uint32_t expires;
	bool has_expires;
	char instance[160];      /**< +sip.instance, unquoted: "urn:..."   */
	char apps[256];          /**< +g.oma.pusheventapp, unquoted        */
	char methods[160];       /**< methods, unquoted                    */
	bool has_push;           /**< the +g.oma.pusheventapp tag is there  */
	char pub_gruu[384];
	char temp_gruu[384];
};

struct reginfo_reg {
	char aor[256];
	char id[64];
	char state[16];          /**< init, active, terminated             */
	struct reginfo_contact contactv[REGINFO_CONTACTS];
	size_t contactn;
};

struct reginfo {
	uint32_t version;
	bool full;               /**< state="full"; else partial           */
	struct reginfo_reg regv[REGINFO_REGS];
	size_t regn;
};

int reginfo_decode(struct reginfo **rip, const char *xml, size_t len,
		   char *why, size_t whysz);
