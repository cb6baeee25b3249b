/* libFuzzer target: any bytes as a catalogue file must give PD_OK or an
 * error naming the input, never a crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "provdesk/catalogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pd_catalogue c;
	pd_err e = {0};
	pd_status st = pd_catalogue_load_buffer("fuzz.json", (const char *)data, size, &c, &e);
	if (st == PD_OK)
		pd_catalogue_free(&c);
	else if (!strstr(e.message, "fuzz.json"))
		__builtin_trap(); /* every error names the file */
	return 0;
}
