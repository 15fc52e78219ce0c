/* status_lists.h - the Token Status List at the broker
 * (draft-ietf-oauth-status-list-17; docs/status_list.md), so that resource
 * servers that run no edge can check revocation with a standard client.
 *
 * Every access token gets an index when it is signed, from a counter in
 * memory (b->status_next, no store round trip on issuance) that starts
 * above every index the store ever held; the index goes into the token's
 * "status" claim and its row. Global index g is entry g mod
 * TG_STATUS_LIST_SIZE of list g / TG_STATUS_LIST_SIZE, and each list is
 * built when asked from the store (store_status_invalid): one bit per
 * token, 0 VALID, 1 INVALID.
 *
 *   GET /v1/status-lists/{k}  the Status List Token (public): a
 *       statuslist+jwt signed with the token signing key, Cache-Control
 *       max-age = status_list_ttl; 404 for a list never allocated
 *   GET /v1/status-lists      the Status List Aggregation (§9, public):
 *       {"status_lists": [uri, ...]} from the lowest stored index's list to
 *       the newest (RFC 8414 status_list_aggregation_endpoint) */
#ifndef TG_STATUS_LISTS_H
#define TG_STATUS_LISTS_H
#include "broker/broker.h"
#include "core/limits.h"

/* Starts the counter from the store. 0, or -1 with err. */
int status_lists_open(broker_t *b, char *err, size_t err_len) __attribute__((warn_unused_result));

/* A token's entry: its global index, and the uri and idx of its claim. */
typedef struct {
	int64_t global;
	int64_t idx;
	char uri[TG_MAX_STATUS_LIST_URI + 1];
} status_entry_t;

/* A fresh index for a token about to be signed: 0, or -1 when the URI does
 * not fit (an issuer URL too long; the token then carries no status). */
int status_lists_alloc(broker_t *b, status_entry_t *out);

#endif
