/**
 * @file histo.c  Prometheus histograms: cumulative buckets when printed
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/histo.h"


void histo_init(struct histo *h, const double *le, size_t n)
{
	if (!h)
		return;
	memset(h, 0, sizeof(*h));
	h->le = le;
	h->n = n < HISTO_MAX ? n : HISTO_MAX;
}


void histo_add(struct histo *h, double v)
{
	size_t i;

	if (!h || v != v)
		return;
	for (i = 0; i < h->n && v > h->le[i]; i++)
		;
	if (i < h->n)
		++h->bucket[i];
	++h->count;
	h->sum += v;
}


int histo_print(struct re_printf *pf, const char *name,
		const struct histo *h)
{
	uint64_t cum = 0;
	int err;

	if (!pf || !name || !h)
		return EINVAL;

	err = re_hprintf(pf, "# TYPE %s histogram\n", name);
	for (size_t i = 0; i < h->n; i++) {
		char le[32];

		/* libre's printf has no %g */
		(void)snprintf(le, sizeof(le), "%g", h->le[i]);
		cum += h->bucket[i];
		err |= re_hprintf(pf, "%s_bucket{le=\"%s\"} %llu\n", name,
				  le, (unsigned long long)cum);
	}
	err |= re_hprintf(pf, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			  (unsigned long long)h->count);
	err |= re_hprintf(pf, "%s_sum %.6f\n%s_count %llu\n", name, h->sum,
			  name, (unsigned long long)h->count);
	return err;
}
