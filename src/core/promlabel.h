/**
 * @file promlabel.h  One label on every sample of a Prometheus text
 *                    exposition (the node of a cluster, say)
 */

int promlabel_print(struct re_printf *pf, const struct pl *text,
		    const char *name, const char *value);
bool promlabel_value_ok(const char *value);
