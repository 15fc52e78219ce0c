/* fuzz_edge_config.c - edge_config_parse() and edge_config_validate() on
 * arbitrary edge configuration files: an accepted file prints back (keys,
 * routes, modbus lines) to values that set and parse again, to the same
 * text. */
#include "core/edge_config.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void routes_print_back(const tg_edge_config_t *c)
{
	char text[2 * TG_MAX_CONFIG_LINE], again[2 * TG_MAX_CONFIG_LINE], err[256];
	edge_route_t r;
	for (size_t i = 0; i < c->n_routes; i++) {
		size_t n = edge_route_render(&c->routes[i], text, sizeof text);
		fz_require(n < sizeof text && n <= TG_MAX_CONFIG_LINE, "route renders within a line");
		fz_require(edge_route_parse(text, &r, err, sizeof err) == 0, "rendered route parses");
		edge_route_render(&r, again, sizeof again);
		fz_require(strcmp(text, again) == 0, "rendered route is stable");
		fz_require(r.n_seg == c->routes[i].n_seg && r.n_inject == c->routes[i].n_inject &&
				   r.stale_open == c->routes[i].stale_open,
			   "rendered route is the same route");
	}
}

static void modbus_print_back(const tg_edge_config_t *c)
{
	char text[2 * TG_MAX_CONFIG_LINE], again[2 * TG_MAX_CONFIG_LINE], err[256];
	edge_modbus_t m;
	for (size_t i = 0; i < c->n_modbus; i++) {
		size_t n = edge_modbus_render(&c->modbus[i], text, sizeof text);
		fz_require(n < sizeof text, "modbus line renders");
		fz_require(edge_modbus_parse(text, &m, err, sizeof err) == 0, "rendered modbus line parses");
		edge_modbus_render(&m, again, sizeof again);
		fz_require(strcmp(text, again) == 0, "rendered modbus line is stable");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tg_edge_config_t c;
	char err[256], value[TG_CFG_STR];
	edge_config_defaults(&c);
	err[0] = '\0';
	if (edge_config_parse(&c, (const char *)data, size, err, sizeof err) != 0) {
		fz_require(err[0] != '\0', "parse error explains");
		fz_require(c.n_routes <= TG_EDGE_MAX_ROUTES && c.n_modbus <= TG_EDGE_MAX_MODBUS, "bounded");
		edge_config_free(&c);
		return 0;
	}
	err[0] = '\0';
	if (edge_config_validate(&c, err, sizeof err) != 0)
		fz_require(err[0] != '\0', "validation error explains");
	for (size_t i = 0; i < edge_config_key_count(); i++) {
		edge_config_key_value(&c, i, value, sizeof value);
		fz_require(edge_config_set(&c, edge_config_key_name(i), value, err, sizeof err) == 0,
			   "printed value sets back");
	}
	routes_print_back(&c);
	modbus_print_back(&c);
	edge_config_free(&c);
	return 0;
}
