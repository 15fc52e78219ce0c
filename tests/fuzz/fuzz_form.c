/* fuzz_form.c - form_parse() on arbitrary bodies; accepted forms have
 * non-empty, unique names that form_get() finds. */
#include "core/form.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	form_t f;
	const char *why = NULL;
	if (form_parse((const char *)data, size, &f, &why) != 0) {
		fz_require(why != NULL && f.n == 0, "refusal explains and frees");
		return 0;
	}
	fz_require(f.n <= TG_MAX_FORM_FIELDS, "field count bounded");
	for (size_t i = 0; i < f.n; i++) {
		fz_require(f.key[i][0] != '\0', "names are not empty");
		fz_require(form_get(&f, f.key[i]) == f.value[i], "names are unique");
		fz_require(strlen(f.value[i]) <= TG_MAX_FORM_VALUE, "value size bounded");
	}
	form_free(&f);
	return 0;
}
