/**
 * @file clock.h  The engine's wall clock, replaceable
 */

int64_t sender_now_ms(const struct sender *s);
int64_t sender_now_s(const struct sender *s);
