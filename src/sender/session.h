/**
 * @file session.h  Session mode: INVITE and MSRP
 */

int session_start(struct target *t, struct delivery *d);
bool session_cancel(struct delivery *d);
