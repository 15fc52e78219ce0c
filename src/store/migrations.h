/* migrations.h - versioned SQLite schema. Each entry moves the schema from
 * version i to i+1 and runs once, in order, at start-up, inside one
 * transaction with the version bump. Never edit a released entry: append. */
#ifndef TG_MIGRATIONS_H
#define TG_MIGRATIONS_H

/* The audit record types that are feed entries (core/feed.c
 * feed_audit_types; tests/unit/test_feed.c checks the two lists agree). A
 * new type needs a migration that rebuilds the audit_feed index. */
#define SQLITE_FEED_TYPES \
	"'token.revoked', 'identity.created', 'identity.updated', 'identity.suspended', " \
	"'identity.reactivated', 'identity.offboarded', 'operator.created', 'operator.confirmed', " \
	"'operator.disabled', 'grant.approved', 'grant.activated', 'grant.break_glass', 'grant.ended', 'grant.revoked', " \
	"'grant.expired', 'policy.changed', 'entities.changed', 'key.created', 'key.rotated', 'key.revoked', " \
	"'edge.session_kill', 'secret.updated', 'secret.rotated', 'secret.deleted'"

static const char *const sqlite_migrations[] = {
	/* 1: identities, keys, tokens, single-use jtis, signing keys, admin tokens */
	"CREATE TABLE identities ("
	"  id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,"
	"  roles TEXT NOT NULL DEFAULT '[]', allow TEXT NOT NULL DEFAULT '[]',"
	"  max_ttl INTEGER NOT NULL DEFAULT 0, mtls_fingerprint TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  last_used_at INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX identities_mtls ON identities(mtls_fingerprint) WHERE mtls_fingerprint != '';"
	"CREATE TABLE identity_keys ("
	"  identity_id TEXT NOT NULL REFERENCES identities(id), kid TEXT NOT NULL,"
	"  public_key BLOB NOT NULL, created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL DEFAULT 0, disabled_at INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (identity_id, kid));"
	"CREATE TABLE tokens ("
	"  jti TEXT PRIMARY KEY, identity_id TEXT NOT NULL, scope TEXT NOT NULL,"
	"  cnf_jkt TEXT NOT NULL DEFAULT '', cnf_x5t TEXT NOT NULL DEFAULT '', kid TEXT NOT NULL,"
	"  iat INTEGER NOT NULL, exp INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX tokens_exp ON tokens(exp);"
	"CREATE INDEX tokens_identity ON tokens(identity_id);"
	"CREATE TABLE used_jtis (kind TEXT NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, jti)) WITHOUT ROWID;"
	"CREATE INDEX used_jtis_exp ON used_jtis(exp);"
	"CREATE TABLE signing_keys ("
	"  kid TEXT PRIMARY KEY, public_key BLOB NOT NULL, sealed_private BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL, retired_at INTEGER NOT NULL DEFAULT 0,"
	"  drop_after INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE admin_tokens (hash BLOB PRIMARY KEY, expires_at INTEGER NOT NULL);",

	/* 2: single-use jtis keyed by (exp, kind, jti). A replay repeats the
	 * whole signed JWT, so its exp too: uniqueness per exp catches every
	 * replay, and inserts land at the end of the index (exp grows with time)
	 * instead of at a random page per token. Offboarding revokes through
	 * identities.not_before, so tokens need no index by identity. */
	"CREATE TABLE used_jtis_v2 (exp INTEGER NOT NULL, kind TEXT NOT NULL, jti TEXT NOT NULL,"
	"  PRIMARY KEY (exp, kind, jti)) WITHOUT ROWID;"
	"INSERT INTO used_jtis_v2 (exp, kind, jti) SELECT exp, kind, jti FROM used_jtis;"
	"DROP TABLE used_jtis;"
	"ALTER TABLE used_jtis_v2 RENAME TO used_jtis;"
	"DROP INDEX tokens_identity;",

	/* 3: the audit chain (core/audit.h) and its signed checkpoints; signing
	 * keys get a purpose so the audit key lives beside the token keys. */
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY, time TEXT NOT NULL, type TEXT, actor TEXT, resource TEXT,"
	"  decision TEXT, jti TEXT, grant_id TEXT, record TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE INDEX audit_actor ON audit(actor);"
	"CREATE INDEX audit_jti ON audit(jti) WHERE jti IS NOT NULL;"
	"CREATE TABLE audit_checkpoints (seq INTEGER PRIMARY KEY, record TEXT NOT NULL);"
	"ALTER TABLE signing_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'token';",

	/* 4: delivery cursors of audit forwarders (syslog). */
	"CREATE TABLE audit_forward (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);",

	/* 5: Cedar policies and entities (issue 3). Every policy set ever
	 * stored is kept; the current one is the highest version. Entities are
	 * rows keyed by their uid, each holding the entity in Cedar's entities
	 * JSON format; one counter versions the whole entity set (identity
	 * writes bump it too: identities are entities). The identity
	 * allow-list, the stand-in for policy, is gone: an upgraded broker
	 * denies every scope until a policy permits it. */
	"CREATE TABLE policies (version INTEGER PRIMARY KEY, text TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL, created_at INTEGER NOT NULL, actor TEXT NOT NULL,"
	"  comment TEXT NOT NULL DEFAULT '', count INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE entities (type TEXT NOT NULL, id TEXT NOT NULL, entity TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL, PRIMARY KEY (type, id)) WITHOUT ROWID;"
	"CREATE TABLE entities_version (one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  version INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"INSERT INTO entities_version VALUES (1, 0, 0);"
	"ALTER TABLE identities DROP COLUMN allow;",

	/* 6: (a) single-use jtis keyed by (kind, jti) alone: the same jti
	 * re-signed with another exp is a replay too (migration 2 keyed them by
	 * exp as well). Rows expire by exp, through an index. (b) tokens keep
	 * the SHA-256 of the token as issued, so that only that token is active
	 * and not another one carrying its jti; rows issued before are filled
	 * from their token.issued audit record where it is still there. */
	"CREATE TABLE used_jtis_v6 (kind TEXT NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, jti)) WITHOUT ROWID;"
	"INSERT INTO used_jtis_v6 (kind, jti, exp) SELECT kind, jti, MAX(exp) FROM used_jtis"
	"  GROUP BY kind, jti;"
	"DROP TABLE used_jtis;"
	"ALTER TABLE used_jtis_v6 RENAME TO used_jtis;"
	"CREATE INDEX used_jtis_exp ON used_jtis(exp);"
	"ALTER TABLE tokens ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';"
	"UPDATE tokens SET sha256 = COALESCE((SELECT json_extract(a.record, '$.details.token_sha256')"
	"  FROM audit a WHERE a.jti = tokens.jti AND a.type = 'token.issued' LIMIT 1), '');",
	/* 7: operators (issue 9): people with a password (Argon2id string) and
	 * TOTP (the secret sealed under the master key, the last step used for
	 * replay refusal), and their sessions, stored by the SHA-256 of the
	 * session token only. */
	"CREATE TABLE operators (username TEXT PRIMARY KEY, roles INTEGER NOT NULL,"
	"  status TEXT NOT NULL, pwhash TEXT NOT NULL, totp_sealed BLOB NOT NULL,"
	"  last_step INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE operator_sessions (hash BLOB PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	"  username TEXT NOT NULL REFERENCES operators(username), created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL, auth_time INTEGER NOT NULL, amr TEXT NOT NULL);"
	"CREATE INDEX operator_sessions_user ON operator_sessions(username);"
	"CREATE INDEX operator_sessions_exp ON operator_sessions(expires_at);",
	/* 8: just-in-time grants (issue 9, docs/grants.md). A grant's stored
	 * state moves only by compare-and-set on version; its effective state
	 * also depends on the clock (core/grant.h). Approvals are one row per
	 * approver. A break-glass grant (no approvals, active at once) stays a
	 * review item until a second operator reviews it. Tokens remember the
	 * grant they were issued under, so that they stop being active when it
	 * ends. */
	"CREATE TABLE grants (id TEXT PRIMARY KEY, identity_id TEXT NOT NULL, scope TEXT NOT NULL,"
	"  reason TEXT NOT NULL, ticket TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
	"  requester TEXT NOT NULL, requester_kind TEXT NOT NULL, state TEXT NOT NULL,"
	"  duration INTEGER NOT NULL, start INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL, approvals_required INTEGER NOT NULL,"
	"  approved_at INTEGER NOT NULL DEFAULT 0, ends_at INTEGER NOT NULL DEFAULT 0,"
	"  ended_at INTEGER NOT NULL DEFAULT 0, ended_by TEXT NOT NULL DEFAULT '',"
	"  end_reason TEXT NOT NULL DEFAULT '', break_glass INTEGER NOT NULL DEFAULT 0,"
	"  reviewed_by TEXT NOT NULL DEFAULT '', reviewed_at INTEGER NOT NULL DEFAULT 0,"
	"  review_comment TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1);"
	"CREATE INDEX grants_review ON grants(break_glass, reviewed_at) WHERE break_glass = 1;"
	"CREATE INDEX grants_identity ON grants(identity_id);"
	"CREATE INDEX grants_open ON grants(state) WHERE state IN ('pending', 'approved', 'active');"
	"CREATE TABLE grant_approvals (grant_id TEXT NOT NULL REFERENCES grants(id),"
	"  approver TEXT NOT NULL, at INTEGER NOT NULL, mfa_age INTEGER NOT NULL,"
	"  comment TEXT NOT NULL DEFAULT '', PRIMARY KEY (grant_id, approver)) WITHOUT ROWID;"
	"ALTER TABLE tokens ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';",
	/* 9: change windows (docs/change_windows.md): each the normalized
	 * window document (core/change_window.h) under its name. */
	("CREATE TABLE change_windows (name TEXT PRIMARY KEY, doc TEXT NOT NULL,"
	 "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"),
	/* 10: the revocation feed is the audit chain filtered to the feed
	 * types (core/feed.h), read through this index; the edges that poll it,
	 * each with the seq it acknowledged last. */
	("CREATE INDEX audit_feed ON audit(seq) WHERE type IN (" SQLITE_FEED_TYPES ");"
	 "CREATE TABLE edges (id TEXT PRIMARY KEY, addr TEXT NOT NULL DEFAULT '',"
	 "  version TEXT NOT NULL DEFAULT '', acked_seq INTEGER NOT NULL DEFAULT 0,"
	 "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);"),
	/* 11: the Token Status List (docs/status_list.md): each token's index,
	 * handed out when it is signed, unique; and the floor below which no
	 * index is handed out again once pruning has deleted the rows that
	 * held the highest ones. */
	("ALTER TABLE tokens ADD COLUMN status_idx INTEGER;"
	 "CREATE UNIQUE INDEX tokens_status ON tokens(status_idx) WHERE status_idx IS NOT NULL;"
	 "CREATE TABLE status_list_floor (one INTEGER PRIMARY KEY CHECK (one = 1), next_idx INTEGER NOT NULL);"
	 "INSERT INTO status_list_floor VALUES (1, 0);"),
	/* 12: the feed index over today's feed types (SQLITE_FEED_TYPES):
	 * key.revoked, an operator's kill of a Modbus session at an edge
	 * (edge.session_kill) and the secret store's changes (secret.updated,
	 * secret.rotated, secret.deleted). The index's WHERE must be the
	 * queries' own text for SQLite to use it. */
	("DROP INDEX IF EXISTS audit_feed;"
	 "CREATE INDEX audit_feed ON audit(seq) WHERE type IN (" SQLITE_FEED_TYPES ");"),
	/* 13: the secret store (docs/secrets.md, core/secret.h). A secret's
	 * data key is stored wrapped under the master key named by
	 * master_key_id (core/secret_box.h); each version's value sealed under
	 * the data key; at most one current and one pending version per
	 * secret. Deleting is soft (deleted = 1). A one-time wrap handle is
	 * kept by the SHA-256 of its text only, and used once (used_at). */
	("CREATE TABLE secrets (name TEXT PRIMARY KEY, metadata TEXT NOT NULL, wrapped_key BLOB NOT NULL,"
	 "  master_key_id TEXT NOT NULL, current_version INTEGER NOT NULL DEFAULT 0,"
	 "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_rotated INTEGER NOT NULL DEFAULT 0,"
	 "  next_due INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0);"
	 "CREATE INDEX secrets_due ON secrets(next_due) WHERE deleted = 0 AND next_due > 0;"
	 "CREATE INDEX secrets_master_key ON secrets(master_key_id);"
	 "CREATE TABLE secret_versions (name TEXT NOT NULL REFERENCES secrets(name), version INTEGER NOT NULL,"
	 "  sealed BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('current', 'previous', 'pending',"
	 "  'retired', 'failed')), created_at INTEGER NOT NULL, retire_after INTEGER NOT NULL DEFAULT 0,"
	 "  PRIMARY KEY (name, version)) WITHOUT ROWID;"
	 "CREATE UNIQUE INDEX secret_versions_current ON secret_versions(name) WHERE state = 'current';"
	 "CREATE UNIQUE INDEX secret_versions_pending ON secret_versions(name) WHERE state = 'pending';"
	 "CREATE INDEX secret_versions_previous ON secret_versions(retire_after) WHERE state = 'previous';"
	 "CREATE TABLE secret_wraps (id_hash BLOB PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,"
	 "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL DEFAULT 0)"
	 "  WITHOUT ROWID;"
	 "CREATE INDEX secret_wraps_exp ON secret_wraps(expires_at);"),
	/* 14: the history of the posture report's shares (docs/report.md):
	 * one row per report run and per daily snapshot, shares as JSON text. */
	("CREATE TABLE posture_history (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, source TEXT NOT NULL,"
	 "  shares TEXT NOT NULL);"
	 "CREATE INDEX posture_history_time ON posture_history(time);"),
	/* monitor: the behaviour monitor (docs/monitoring.md, core/monitor.h):
	 * each identity's baseline as its JSON document; the alerts, each its
	 * JSON document with the columns the API filters on; the seq of the
	 * last audit record the monitor has read (one row). */
	("CREATE TABLE monitor_baselines (identity TEXT PRIMARY KEY, doc TEXT NOT NULL,"
	 "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"
	 "CREATE TABLE monitor_alerts (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	 "  created_at INTEGER NOT NULL, identity TEXT NOT NULL, detector TEXT NOT NULL,"
	 "  severity TEXT NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL);"
	 "CREATE INDEX monitor_alerts_state ON monitor_alerts(state, n);"
	 "CREATE INDEX monitor_alerts_identity ON monitor_alerts(identity, n);"
	 "CREATE TABLE monitor_cursor (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL);"
	 "INSERT INTO monitor_cursor VALUES (1, 0);"),
	/* rotation: secret rotation (docs/secrets.md, core/rotation.h): per
	 * secret its rotation target document (core/rotation_driver.h) and the
	 * persisted state of the rotation in progress (phase, back-off, the
	 * versions it moves), so a broker killed at any step resumes; and the
	 * one lease that lets exactly one broker rotate (taken by compare-and-set). */
	("CREATE TABLE secret_rotations (name TEXT PRIMARY KEY REFERENCES secrets(name), target TEXT NOT NULL,"
	 "  phase TEXT NOT NULL DEFAULT 'idle', failures INTEGER NOT NULL DEFAULT 0,"
	 "  not_before INTEGER NOT NULL DEFAULT 0, retire_after INTEGER NOT NULL DEFAULT 0,"
	 "  new_version INTEGER NOT NULL DEFAULT 0, old_version INTEGER NOT NULL DEFAULT 0,"
	 "  requested INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
	 "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"
	 "CREATE TABLE rotation_lease (one INTEGER PRIMARY KEY CHECK (one = 1), owner TEXT NOT NULL,"
	 "  until INTEGER NOT NULL);"
	 "INSERT INTO rotation_lease VALUES (1, '', 0);"),
	/* leases: dynamic database credentials (docs/secrets.md, store_leases.h):
	 * each dynamic role definition's document; and the leases, one row
	 * per generated role, kept (revoked ones too) so that every role is
	 * revoked after a restart and none is left behind silently. */
	("CREATE TABLE secret_dynamic (name TEXT PRIMARY KEY, doc TEXT NOT NULL, created_at INTEGER NOT NULL,"
	 "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"
	 "CREATE TABLE secret_leases (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL UNIQUE,"
	 "  identity TEXT NOT NULL, jti TEXT NOT NULL, grant_id TEXT NOT NULL DEFAULT '',"
	 "  state TEXT NOT NULL CHECK (state IN ('active', 'revoking', 'revoked', 'failed')),"
	 "  reason TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',"
	 "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, ended_at INTEGER NOT NULL DEFAULT 0,"
	 "  not_before INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	 "CREATE INDEX secret_leases_active ON secret_leases(expires_at) WHERE state = 'active';"
	 "CREATE INDEX secret_leases_pending ON secret_leases(name, not_before) WHERE state IN ('revoking', 'failed');"
	 "CREATE INDEX secret_leases_state ON secret_leases(state, id);"),
};

#define SQLITE_SCHEMA_VERSION ((int)(sizeof sqlite_migrations / sizeof sqlite_migrations[0]))

#endif
