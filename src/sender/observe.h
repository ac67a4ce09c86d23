/**
 * @file observe.h  Listeners of final deliveries and pushes
 */

int observer_add(struct sender *s, dlv_final_h *dlvh, push_final_h *pushh,
		 void *arg);
void observe_delivery(struct sender *s, const struct delivery *d);
void observe_push(struct sender *s, const struct push *p,
		  enum push_state ps);
