/**
 * @file fuzz_reginfo.c  libFuzzer target: reg event documents (RFC 3680)
 */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "core/reginfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reginfo *ri = NULL;
	char why[128];

	if (reginfo_decode(&ri, (const char *)data, size, why, sizeof(why)))
		return 0;

	/* what the watcher reads must be terminated strings */
	for (size_t i = 0; i < ri->regn; i++)
		for (size_t j = 0; j < ri->regv[i].contactn; j++)
			if (strlen(ri->regv[i].contactv[j].uri) >=
			    sizeof(ri->regv[i].contactv[j].uri))
				__builtin_trap();
	mem_deref(ri);
	return 0;
}
