/**
 * @file fuzz_pushjson.c  libFuzzer target: the JSON of POST /v1/pushes,
 *                        one push or a batch, as the API validates it
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "../src/re_nojson.h"
#include "sender/sender.h"
#include "api/pushjson.h"
#include "api/jsonmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void one(json_t *obj)
{
	const struct pushjson_limits lim = {
		.max_body = 65536, .max_ttl = 86400, .max_batch = 16,
	};
	struct push_req r;
	struct pushjson pj;
	char why[128];

	memset(&r, 0, sizeof(r));
	memset(&pj, 0, sizeof(pj));
	(void)pushjson_decode(&r, &pj, obj, &lim, why, sizeof(why));
	mem_deref(pj.body);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool installed;
	struct jsonmem_stats st;
	json_error_t jerr;
	json_t *doc;
	size_t i;
	json_t *v;

	/* as sippushd parses: jansson on its arena (jsonmem.h) */
	if (!installed) {
		jsonmem_install();
		installed = true;
	}

	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			 &jerr);
	if (!doc)
		goto out;
	if (json_is_array(doc)) {
		json_array_foreach(doc, i, v) {
			if (i >= 16)
				break;
			one(v);
		}
	}
	else {
		one(doc);
	}
	json_decref(doc);

 out:
	/* every value jansson made for this input was freed */
	jsonmem_stats(&st);
	if (st.live)
		abort();
	return 0;
}
