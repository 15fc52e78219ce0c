/* fuzz_config.c - config_parse() and config_validate() on arbitrary
 * configuration files; every key stays printable afterwards. */
#include "core/config.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tg_config_t c;
	char err[256], value[TG_CFG_STR];
	config_defaults(&c);
	err[0] = '\0';
	if (config_parse(&c, (const char *)data, size, err, sizeof err) != 0) {
		fz_require(err[0] != '\0', "parse error explains");
		return 0;
	}
	if (config_validate(&c, err, sizeof err) != 0)
		fz_require(err[0] != '\0', "validation error explains");
	for (size_t i = 0; i < config_key_count(); i++) {
		config_key_value(&c, i, value, sizeof value);
		fz_require(config_set(&c, config_key_name(i), value, err, sizeof err) == 0,
			   "printed value sets back");
	}
	return 0;
}
