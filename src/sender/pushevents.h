/**
 * @file pushevents.h  The feed's events of pushes and deliveries
 */

int  pushevents_init(struct sender *s);
void event_accepted(const struct push *p);
void event_attempt(const struct delivery *d, uint16_t scode,
		   const char *why, uint64_t retry_ms);
