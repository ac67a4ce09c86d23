/**
 * @file views.h  The engine's JSON views (views.c)
 */

int  sender_terminals_print(struct re_printf *pf, struct sender *s,
			    const char *aor, const char *apps);
int  sender_push_print(struct re_printf *pf, struct sender *s,
		       const char *id);
int  sender_recent_print(struct re_printf *pf, struct sender *s,
			 const char *limit, const char *owner);
