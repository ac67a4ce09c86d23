/**
 * @file msrpsetup.h  Who opens an MSRP session's TCP connection (RFC 6135)
 *
 * RFC 4975 has the offerer connect; RFC 6135 lets the two ends choose with
 * RFC 4145's a=setup, so that a terminal behind a NAT, which nobody can
 * reach, connects out instead. The offer says actpass (either) or a fixed
 * role, the answer picks; an SDP without a=setup keeps RFC 4975's rule.
 */

enum msrp_setup {
	MSRP_SETUP_NONE = 0,      /**< absent: offerer active, answerer passive */
	MSRP_SETUP_ACTIVE,        /**< connects                             */
	MSRP_SETUP_PASSIVE,       /**< listens                              */
	MSRP_SETUP_ACTPASS,       /**< either (an offer only)               */
	MSRP_SETUP_HOLDCONN,      /**< no connection for now                */
};

const char *msrp_setup_name(enum msrp_setup s);
int msrp_setup_decode(enum msrp_setup *s, const struct pl *v);
int msrp_setup_answer(enum msrp_setup *ans, enum msrp_setup offer,
		      bool prefer_active);
int msrp_setup_offerer_connects(bool *connects, enum msrp_setup offer,
				enum msrp_setup answer);
