/* secret.h - stored secrets, pure (docs/secrets.md): their names, the
 * metadata document (owner, target system, consumers, rotation policy,
 * description) with its bounds and normal form, durations ("30d", "12h"),
 * and the version states the store keeps. No I/O, no clock. */
#ifndef TG_SECRET_H
#define TG_SECRET_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_MAX_NAME        128          /* bytes of a name */
#define SECRET_MAX_VALUE       (64 * 1024)  /* bytes of one version's value */
#define SECRET_MAX_META_TEXT   256          /* owner, target, a consumer, window */
#define SECRET_MAX_DESCRIPTION 1024
#define SECRET_MAX_CONSUMERS   64
#define SECRET_MIN_ROTATE      60                   /* seconds */
#define SECRET_MAX_DURATION    (10LL * 366 * 86400) /* rotate_every, grace */
#define SECRET_MAX_META_BODY   (32 * 1024)  /* the metadata document's JSON text */

/* A version's state (secret_versions.state). A secret has at most one
 * current and at most one pending version; previous versions still work at
 * their target until retire_after (a rotation's grace); retired ones no
 * longer do; a pending version that failed to become current is failed. */
typedef enum {
	SECRET_V_CURRENT,
	SECRET_V_PREVIOUS,
	SECRET_V_PENDING,
	SECRET_V_RETIRED,
	SECRET_V_FAILED,
	SECRET_V_COUNT,
} secret_vstate_t;

const char *secret_vstate_name(secret_vstate_t s);
/* 0, or -1 when name is not a state. */
int secret_vstate_parse(const char *name, secret_vstate_t *out);

/* 1..SECRET_MAX_NAME bytes of [A-Za-z0-9._-], not "." or "..": one URL
 * path segment (/v1/secrets/NAME), a Cedar entity id (Secret::"NAME") and
 * free of the AAD separator '|'. Hierarchy goes into dots
 * ("prod.erp.db"). */
bool secret_name_valid(const char *name);

/* "90", "90s", "30m", "12h", "30d", "1d12h": whole seconds in *out. Units
 * d, h, m, s at most once each, in that order; -1 for anything else. */
int secret_duration_parse(const char *s, int64_t *out);

/* The metadata document
 *   {"owner"?, "target"?, "consumers"?: [..], "description"?,
 *    "rotation"?: {"rotate_every", "grace"?, "window"?}}
 * checked and normalized: durations as seconds (given as seconds or
 * strings like "30d"), grace defaults to 0 and is at most rotate_every,
 * consumers unique, unknown members refused. Returns a new object, or
 * NULL with why (a sentence naming the member) in why. */
json_t *secret_meta_parse(const json_t *doc, char *why, size_t why_len);
/* The rotation period of a normalized document, 0 when it has none. */
int64_t secret_meta_rotate_every(const json_t *meta);
/* Its grace period, 0 when none. */
int64_t secret_meta_grace(const json_t *meta);
/* When the next rotation is due after one at last_rotated: 0 (never) when
 * the document has no rotation policy. */
int64_t secret_next_due(const json_t *meta, int64_t last_rotated);

#endif
