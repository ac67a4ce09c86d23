/**
 * @file message.h  Page mode: a push in one MESSAGE
 */

int message_start(struct target *t, struct delivery *d);
