/**
 * @file metrics.h  sippushd's counters for /metrics
 */

int metrics_init(struct sender *s);
