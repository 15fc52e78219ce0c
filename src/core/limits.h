/* limits.h - every bound Tollgate puts on attacker-controlled input, and the
 * protocol constants, in one place (WireGuard's messages.h habit). Change a
 * number here, not at the call site. */
#ifndef TG_LIMITS_H
#define TG_LIMITS_H

/* HTTP */
#define TG_MAX_BODY              (64 * 1024)  /* any request body */
#define TG_MAX_FORM_FIELDS       32
#define TG_MAX_FORM_VALUE        (16 * 1024)
#define TG_MAX_HEADER_VALUE      8192
#define TG_MAX_URI               8192         /* request-target (path and query): else 414 */
#define TG_MAX_REQUEST_HEADERS   (16 * 1024)  /* all header names and values: else 431 */
/* libmicrohttpd's per-connection memory: a request line and headers up to
 * this size reach the broker (which answers 414/431 past the two limits
 * above); larger ones get the library's own answer. */
#define TG_HTTP_CONNECTION_MEMORY (64 * 1024)
#define TG_MAX_JSON_DEPTH        16           /* checked by tg_json_depth() */

/* JWS / JWT */
#define TG_MAX_JWT_LEN           8192         /* compact serialization */
#define TG_MAX_JWT_HEADER        1024         /* decoded header bytes */
#define TG_MAX_JWT_PAYLOAD       4096         /* decoded payload bytes */
#define TG_MAX_JTI_LEN           128
#define TG_MAX_KID_LEN           128
#define TG_MAX_ACT_DEPTH         4            /* RFC 8693 delegation chain: actors */

/* identities */
#define TG_MAX_ID_LEN            128
#define TG_MAX_OWNER_LEN         256
#define TG_MAX_DESCRIPTION_LEN   1024
#define TG_MAX_ROLES             32
#define TG_MAX_KEYS_PER_IDENTITY 8
#define TG_MAX_LIST_LIMIT        1000

/* scope */
#define TG_MAX_SCOPE_TOKENS      32
#define TG_MAX_SCOPE_TOKEN_LEN   256
#define TG_MAX_SCOPE_LEN         (TG_MAX_SCOPE_TOKENS * (TG_MAX_SCOPE_TOKEN_LEN + 1))

/* token lifetimes (seconds); defaults, overridable by config */
#define TG_DEFAULT_TOKEN_TTL     300
#define TG_DEFAULT_TOKEN_MAX_TTL 3600
#define TG_DEFAULT_LEEWAY        30
#define TG_DEFAULT_ASSERTION_MAX 300          /* client assertion exp - now */
#define TG_DEFAULT_DPOP_MAX_AGE  60           /* DPoP proof iat freshness */

/* Cedar policies */
#define TG_MAX_POLICY_TEXT       (32 * 1024 * 1024) /* a whole policy set */
#define TG_MAX_POLICY_DEPTH      128          /* expression nesting */
#define TG_POLICY_HAS_VISITS_PER_BYTE 16    /* `x has a.b` repeats x: extra node visits per byte of text */
#define TG_POLICY_HAS_VISITS_BASE 65536       /* ... plus this many per set */
#define TG_MAX_VALUE_DEPTH       64           /* nesting of JSON attribute/context values */
#define TG_MAX_ENTITIES_TEXT     (64 * 1024 * 1024) /* a whole entities JSON document */
#define TG_MAX_ENTITY_CLOSURE    (16 * 1024 * 1024) /* ancestor entries over all entities */
#define TG_MAX_EVAL_SCRATCH      (16 * 1024 * 1024) /* memory one decision may build */
#define TG_MAX_REQUEST_JSON      (1024 * 1024)      /* one request line for policy eval */
/* Request bodies of PUT /v1/policies and PUT/POST /v1/entities (admin only:
 * unauthenticated callers get max_body). */
#define TG_MAX_POLICY_BODY       (TG_MAX_POLICY_TEXT + 64 * 1024)
#define TG_MAX_ENTITIES_BODY     TG_MAX_ENTITIES_TEXT
#define TG_MAX_POLICY_COMMENT    1024         /* the comment of a policy version */
#define TG_MAX_AUDIT_LIST        1000         /* ids or uids listed in one change record */

/* JIT grants (docs/grants.md) */
#define TG_GRANT_ID_LEN          24           /* "g-" + 22 base64url characters */
#define TG_MAX_GRANT_REASON      500          /* bytes */
#define TG_MAX_GRANT_TICKET      64
#define TG_MAX_GRANT_SOURCE      64           /* an address or CIDR range */
#define TG_GRANT_MIN_DURATION    60           /* seconds */
#define TG_GRANT_START_PAST      60           /* how far back start may lie */
#define TG_GRANT_START_AHEAD     (30 * 86400) /* how far ahead */
#define TG_DEFAULT_GRANT_MAX_DURATION (8 * 3600)
#define TG_DEFAULT_GRANT_PENDING_TTL  3600
#define TG_DEFAULT_STEPUP_MAX_AGE     300

/* the revocation feed and edges (docs/edge.md) */
#define TG_MAX_FEED_ENTRIES      20000        /* entries in one feed answer or snapshot */
#define TG_FEED_BATCH            1000         /* change entries the broker sends at once */
#define TG_MAX_FEED_BODY         (16 * 1024 * 1024) /* a feed answer or snapshot, bytes */
#define TG_MAX_FEED_WAIT         300          /* longest long poll, seconds */
#define TG_MAX_EDGES             4096         /* edges the broker keeps track of */
#define TG_MAX_EDGE_ADDR         255          /* an edge's advertised URL */

/* the edge's file, routes and forward-auth requests (core/edge_config.h,
 * core/edge_route.h, core/fwd_request.h) */
#define TG_EDGE_MAX_ROUTES        1024  /* route lines */
#define TG_EDGE_MAX_MODBUS        64    /* modbus lines */
#define TG_EDGE_MAX_MODBUS_OPTS   16    /* key=value options on one modbus line */
#define TG_EDGE_MAX_OPT_KEY       32
#define TG_EDGE_MAX_OPT_VALUE     128
#define TG_EDGE_MAX_PATTERN       512   /* a route's path pattern, bytes */
#define TG_EDGE_MAX_SEGMENTS      32    /* segments of a route's pattern */
#define TG_EDGE_MAX_PATH_SEGMENTS 256   /* segments of a request path */
#define TG_EDGE_MAX_INJECTS       4     /* inject= options on one route */
#define TG_EDGE_MAX_HEADER_NAME   64    /* an injected header's name */
#define TG_EDGE_MAX_METHOD        32    /* an HTTP method token */
#define TG_EDGE_MAX_PROXIES       32    /* trusted_proxies ranges */
#define TG_EDGE_MAX_HOST          255   /* Host or X-Forwarded-Host */

/* the Token Status List (core/status_list.h, docs/status_list.md) */
#define TG_STATUS_LIST_SIZE      65536        /* indices per list: list k holds [k*SIZE, (k+1)*SIZE) */
#define TG_MAX_STATUS_LIST_BYTES (1 << 20)    /* a decoded list (2^20 8-bit or 2^23 1-bit entries) */
#define TG_MAX_STATUS_LIST_LST   (2 << 20)    /* its base64url-encoded compressed form, characters */
#define TG_MAX_STATUS_LIST_URI   512

/* the secret store (core/secret.h has the document's own bounds) */
#define TG_MAX_SECRET_BODY       (512 * 1024) /* PUT /v1/secrets/{name}: a 64 KiB value JSON-escaped */

/* config file */
#define TG_MAX_CONFIG_BYTES      (64 * 1024)
#define TG_MAX_CONFIG_LINE       1024

#endif
