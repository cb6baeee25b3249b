/* libFuzzer target: any text as provdesk.conf, then the field rules on the
 * same bytes. Errors must name "fuzz.conf:LINE:"; nothing may crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/config.h"
#include "provdesk/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size); /* config text stops at NUL */
	pd_config c;
	pd_err e = {0};
	if (pd_config_load_string("fuzz.conf", text, &c, &e) == PD_OK)
		pd_config_free(&c);
	else if (strncmp(e.message, "fuzz.conf:", 10) != 0)
		__builtin_trap();

	/* The same bytes through the pure field rules. */
	char *norm = NULL;
	if (pd_check_name(text, &norm, &e) == PD_OK)
		free(norm);
	pd_check_email(text, "email", &e);
	pd_check_extension(text, "extension", &e);
	pd_check_notes(text, &e);
	free(pd_fold_key(text));
	free(pd_trim(text));
	pd_day d;
	int n;
	pd_day_parse(text, &d);
	pd_period_parse(text, &d, &n);
	free(text);
	return 0;
}
