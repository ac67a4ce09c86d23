/**
 * @file fuzz_pap.c  libFuzzer target: PAP documents and WAPPUSH addresses
 */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "core/pap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pap_doc d;
	char frag[PAP_FRAG_MAX];
	const char *why;

	if (pap_decode(&d, (const char *)data, size, frag, sizeof(frag),
		       &why))
		return 0;

	for (size_t i = 0; i < d.naddr; i++) {
		struct pap_addr a;

		(void)pap_addr_decode(&a, d.addr[i]);
	}
	return 0;
}
