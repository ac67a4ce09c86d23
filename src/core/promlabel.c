/**
 * @file promlabel.c  One label on every sample of a Prometheus text
 *                    exposition
 *
 * The metrics are printed once, without it; a cluster's node adds its
 * name here, so no metric's own format has to know about nodes:
 *   "m 1"           -> "m{node=\"a\"} 1"
 *   "m{k=\"v\"} 1"  -> "m{node=\"a\",k=\"v\"} 1"
 * Comment lines (# TYPE, # HELP) and empty lines pass as they are.
 */
#include <string.h>
#include <re.h>
#include "core/promlabel.h"


/** A label value that needs no escaping: [A-Za-z0-9._-], 1..63 */
bool promlabel_value_ok(const char *value)
{
	size_t n;

	if (!value)
		return false;
	n = strlen(value);
	if (!n || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char c = value[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}


static int line_print(struct re_printf *pf, const struct pl *line,
		      const char *name, const char *value)
{
	size_t i = 0;

	if (!line->l || line->p[0] == '#')
		return re_hprintf(pf, "%r\n", line);

	while (i < line->l && line->p[i] != '{' && line->p[i] != ' ')
		++i;
	if (i == line->l)
		return EINVAL;   /* a sample has a value */
	if (line->p[i] == '{')
		return re_hprintf(pf, "%b%s=\"%s\",%b\n", line->p, i + 1, name,
				  value, line->p + i + 1, line->l - i - 1);
	return re_hprintf(pf, "%b{%s=\"%s\"}%b\n", line->p, i, name, value,
			  line->p + i, line->l - i);
}


/**
 * Print the exposition with name="value" added to every sample.
 *
 * @return 0, or EINVAL for a bad label (name or value) or a sample line
 *         without a value
 */
int promlabel_print(struct re_printf *pf, const struct pl *text,
		    const char *name, const char *value)
{
	struct pl rest, line;
	int err = 0;

	if (!pf || !text || !promlabel_value_ok(name) ||
	    strpbrk(name, ".-") || !promlabel_value_ok(value))
		return EINVAL;

	rest = *text;
	while (rest.l && !err) {
		const char *nl = pl_strchr(&rest, '\n');

		line.p = rest.p;
		line.l = nl ? (size_t)(nl - rest.p) : rest.l;
		err = line_print(pf, &line, name, value);
		pl_advance(&rest, nl ? line.l + 1 : line.l);
	}
	return err;
}
