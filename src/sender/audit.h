/**
 * @file audit.h  The audit log: one JSON line per final delivery
 */

int audit_reopen(struct sender *s);
int audit_init(struct sender *s);
