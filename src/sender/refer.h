/**
 * @file refer.h  REFER a terminal into subscription mode
 */

int refer_start(struct target *t, struct delivery *d);
bool refer_notify(struct sender *s, const struct sip_msg *msg);
