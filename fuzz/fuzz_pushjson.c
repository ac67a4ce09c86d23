/**
 * @file fuzz_pushjson.c  libFuzzer target: the JSON of POST /v1/pushes,
 *                        one push or a batch, as the API validates it
 */
#include <stdint.h>
#include <string.h>
#include "../src/re_nojson.h"
#include "core/jsonr.h"
#include "sender/sender.h"
#include "api/pushjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void one(const struct jsonr *j, const struct jsonr_val *obj)
{
	const struct pushjson_limits lim = {
		.max_body = 65536, .max_ttl = 86400, .max_batch = 16,
	};
	struct push_req r;
	struct pushjson pj;
	char why[128];

	memset(&r, 0, sizeof(r));
	memset(&pj, 0, sizeof(pj));
	(void)pushjson_decode(&r, &pj, j, obj, &lim, why, sizeof(why));
	mem_deref(pj.body);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct jsonr_val *root, *v;
	struct jsonr *doc = NULL;
	char why[128];
	size_t i = 0;

	if (jsonr_parse(&doc, (const char *)data, size, why, sizeof(why)))
		return 0;
	root = jsonr_root(doc);
	if (root->type == JSONR_ARRAY) {
		JSONR_EACH(doc, root, v) {
			if (i++ >= 16)
				break;
			one(doc, v);
		}
	}
	else {
		one(doc, root);
	}
	mem_deref(doc);
	return 0;
}
