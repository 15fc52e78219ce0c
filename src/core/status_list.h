/* status_list.h - the Token Status List (draft-ietf-oauth-status-list-17;
 * docs/status_list.md), pure: a byte array holding `bits` (1, 2, 4 or 8)
 * bits of status per token, index i in byte i*bits/8 counted from the least
 * significant bit up (§4.1); its "lst" form, compressed with DEFLATE in the
 * ZLIB format (RFC 1950) at the highest level and base64url-encoded; the
 * claims of a Status List Token (typ statuslist+jwt, §5.1) and their
 * checks on the client's side (§8.3); and Tollgate's paging of one global
 * index space into lists of TG_STATUS_LIST_SIZE entries. */
#ifndef TG_STATUS_LIST_H
#define TG_STATUS_LIST_H
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status Types (§7.1). */
#define STATUS_VALID     0x00
#define STATUS_INVALID   0x01
#define STATUS_SUSPENDED 0x02

#define STATUS_LIST_TYP        "statuslist+jwt"
#define STATUS_LIST_MEDIA_TYPE "application/statuslist+jwt"
#define STATUS_LIST_PATH       "/v1/status-lists" /* the aggregation; list k at PATH/k */

typedef struct {
	uint8_t *bytes; /* owned, zeroed (every entry VALID) when made */
	size_t len;     /* bytes */
	unsigned bits;  /* per entry: 1, 2, 4 or 8 */
	uint64_t size;  /* entries: len * 8 / bits */
} status_list_t;

/* A list of size entries (a multiple of 8 / bits) all VALID: 0, or -1
 * (bad bits or size, size over TG_MAX_STATUS_LIST_BYTES bytes, no memory). */
int status_list_make(status_list_t *l, unsigned bits, uint64_t size) __attribute__((warn_unused_result));
void status_list_free(status_list_t *l);
/* Sets entry idx to value (< 2^bits): 0, or -1 when either is out of range. */
int status_list_set(status_list_t *l, uint64_t idx, unsigned value);
/* Entry idx, or -1 when idx is out of range (§8.3 step 6: no statement). */
int status_list_get(const status_list_t *l, uint64_t idx);

/* The "lst" of l: malloc'd, NULL when out of memory. */
char *status_list_encode(const status_list_t *l);
/* Decodes an "lst" of len characters for entries of `bits` bits, into at
 * most max_bytes bytes (the bound a client puts on inflation; at most
 * TG_MAX_STATUS_LIST_BYTES whatever is asked): 0 and *out
 * (status_list_free), or -1 with *why. Refuses bad base64url, a stream
 * that is not one complete ZLIB stream (bad header or checksum, trailing
 * bytes), an empty list and one larger than max_bytes. */
int status_list_decode(const char *lst, size_t len, unsigned bits, size_t max_bytes, status_list_t *out,
		       const char **why) __attribute__((warn_unused_result));

/* ---- the Status List Token (§5.1) ---- */

typedef struct {
	const char *issuer; /* iss */
	const char *uri;    /* sub: the uri that referenced tokens carry */
	int64_t iat, exp, ttl;
	const char *aggregation_uri; /* status_list.aggregation_uri (§9.2), or NULL */
} status_list_token_t;

/* The Status List Token's claims set for list l, or NULL (no memory). */
json_t *status_list_token_claims(const status_list_token_t *t, const status_list_t *l);

typedef struct {
	const char *uri; /* the referenced token's status_list.uri: sub must equal it */
	int64_t now, leeway;
	size_t max_bytes; /* status_list_decode's bound */
} status_list_check_t;

/* A client's checks (§8.3 steps 3b-5) of a Status List Token whose
 * signature the caller verified: header typ statuslist+jwt (or
 * application/statuslist+jwt), sub equal to c->uri, iat an integer, exp
 * (when present) not passed, ttl (when present) a positive integer,
 * status_list an object with bits 1, 2, 4 or 8 and an lst that decodes.
 * 0 and *out (status_list_free), or -1 with *why. */
int status_list_token_read(const json_t *header, const json_t *payload, const status_list_check_t *c,
			   status_list_t *out, const char **why) __attribute__((warn_unused_result));

/* ---- Tollgate's lists: pages of one index space ---- */

/* Which list global index g falls in, and its index within that list. */
typedef struct {
	int64_t list;
	int64_t idx;
} status_ref_t;

status_ref_t status_ref_of(int64_t g);
/* The first global index of list k. */
int64_t status_list_first(int64_t k);
/* List k is allocated once an index in it or after it was: k*SIZE < next. */
bool status_list_allocated(int64_t k, int64_t next);
/* The URI of list k: ISSUER/v1/status-lists/K. 0, or -1 when it does not
 * fit in len (or in TG_MAX_STATUS_LIST_URI). */
int status_list_uri(const char *issuer, int64_t k, char *out, size_t len);
/* A list number as written in the path: decimal digits, no sign, no
 * leading zero, at most the last list of the index space. 0 or -1. */
int status_list_number_parse(const char *s, int64_t *out);

#endif
