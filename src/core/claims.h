/* claims.h - registered JWT claim checks (RFC 7519 §4.1) shared by access
 * tokens, client assertions and DPoP proofs. Pure: the caller passes the
 * current time. */
#ifndef TG_CLAIMS_H
#define TG_CLAIMS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Reads an integer NumericDate claim; false when absent or not an integer. */
bool claim_time(const json_t *payload, const char *name, int64_t *out);
/* Non-empty string claim of at most max bytes, or NULL. */
const char *claim_str(const json_t *payload, const char *name, size_t max);
/* aud is a string equal to one of the accepted values, or an array with one. */
bool claim_aud_matches(const json_t *payload, const char *const *accepted, int n_accepted);

typedef struct {
	int64_t now;
	int64_t leeway;
	bool require_exp;
	bool require_iat;
} claim_times_t;

/* exp (> now - leeway), nbf (<= now + leeway), iat (<= now + leeway), each
 * an integer when present. Returns NULL when fine, else why not. */
const char *claim_check_times(const json_t *payload, const claim_times_t *t)
    __attribute__((warn_unused_result));

#endif
