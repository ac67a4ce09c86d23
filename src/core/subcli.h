/**
 * @file subcli.h  The subscriber side of a subscription dialog (RFC 6665),
 *                 shared by the terminal's oma-app subscriptions and
 *                 sippushd's reg event watches: which NOTIFY belongs to a
 *                 dialog (also one before the 200), bringing the dialog
 *                 up to date, and when to refresh. No I/O here.
 */

struct sip_dialog;
struct sip_msg;
struct substate;

bool     subcli_match(struct sip_dialog *dlg, const struct sip_msg *msg);
uint16_t subcli_notify(struct sip_dialog *dlg, const struct sip_msg *msg,
		       struct substate *ss, const char **reason);
uint64_t subcli_refresh_ms(uint32_t expires);
