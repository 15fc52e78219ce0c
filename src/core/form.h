/* form.h - application/x-www-form-urlencoded bodies (as OAuth endpoints
 * receive them, RFC 6749 Appendix B). Strict: bad percent escapes, NUL
 * bytes, empty names and repeated parameters (RFC 6749 §3.2) are errors;
 * field count and value sizes are bounded. */
#ifndef TG_FORM_H
#define TG_FORM_H
#include "core/limits.h"
#include <stddef.h>

typedef struct {
	size_t n;
	char *key[TG_MAX_FORM_FIELDS];
	char *value[TG_MAX_FORM_FIELDS];
} form_t;

int form_parse(const char *body, size_t len, form_t *out, const char **why)
    __attribute__((warn_unused_result));
/* The value of a parameter, or NULL when it was not sent. */
const char *form_get(const form_t *f, const char *key);
void form_free(form_t *f);

#endif
