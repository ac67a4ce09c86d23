/**
 * @file histo.h  A Prometheus histogram with fixed buckets (seconds)
 */

enum { HISTO_MAX = 16 };

struct histo {
	const double *le;         /**< upper bounds, ascending            */
	size_t n;
	uint64_t bucket[HISTO_MAX];   /**< per bucket (not cumulative)    */
	uint64_t count;
	double sum;
};

void histo_init(struct histo *h, const double *le, size_t n);
void histo_add(struct histo *h, double v);
int  histo_print(struct re_printf *pf, const char *name,
		 const struct histo *h);
