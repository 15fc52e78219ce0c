/* canonical_json.h - the one byte string a JSON value hashes to, so that an
 * auditor can recompute audit hashes in any language. The form (also in
 * docs/audit.md) is exactly Python's
 *   json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
 * for the values audit records hold: objects with keys sorted by code point
 * (= UTF-8 byte order), no whitespace, integers in plain decimal, true,
 * false, null, and strings with only '"', '\\' and control characters
 * escaped (\b \f \n \r \t short, others as \u00xx lower-case); every other
 * character, non-ASCII included, is written as its UTF-8 bytes. Reals are
 * refused: records carry none. */
#ifndef TG_CANONICAL_JSON_H
#define TG_CANONICAL_JSON_H
#include <jansson.h>

/* malloc'd canonical text, or NULL (a real number, or out of memory). */
char *canonical_json(const json_t *v);

#endif
