/**
 * @file cluster.h  One node of several sharing a PostgreSQL store: who
 *                  delivers for which users (shard leases), and the news
 *                  passed between nodes (issue 24; docs/design.md,
 *                  "Growing past one machine")
 */

struct cluster;
struct store_fence;

int  cluster_alloc(struct cluster **clp, struct sender *s);
void cluster_leave(struct cluster *cl);
bool cluster_owns(const struct sender *s, const char *aor);
bool cluster_may_send(const struct sender *s, const char *aor);
const struct store_fence *cluster_fence(struct sender *s, const char *aor);
struct push_rec;
void cluster_push_accepted(struct sender *s, const struct push_rec *r,
			   bool whole);
void cluster_user_changed(struct sender *s, const char *aor);
void cluster_push_cancel(struct sender *s, const char *aor, const char *id);
uint32_t cluster_owned(const struct sender *s);
int cluster_tag(const struct sender *s);
const bool *cluster_mask(const struct sender *s);
int cluster_metrics_print(struct re_printf *pf, const struct sender *s);
const char *cluster_node(const struct sender *s);
void cluster_watched(struct sender *s);
bool cluster_events_wanted(const struct sender *s);
void cluster_event_out(struct sender *s, const char *scope,
		       const char *line);
