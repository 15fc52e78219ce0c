# test_access.py - who may call a route is a column of the route table
# (src/broker/routes.c, access.h), checked once at dispatch: every /v1 route
# refuses a missing or wrong bearer token with 401 problem+json and
# WWW-Authenticate before its handler runs (so before the body is looked
# at), accepts the admin token, and the audit records of an admin's actions
# carry the actor dispatch set (r->actor: "admin" for the admin token).
import re

import pytest

from tollgate_e2e import DEFAULT_SCOPES, REPO, assert_problem, audit_records, scope_permit, unique

# Every /v1 route (method, path with {id} filled in) as routes.c lists them.
V1_ROUTES = [
    ("GET", "/v1/identities"),
    ("POST", "/v1/identities"),
    ("GET", "/v1/identities/x"),
    ("PATCH", "/v1/identities/x"),
    ("POST", "/v1/identities/x/offboard"),
    ("GET", "/v1/keys"),
    ("POST", "/v1/keys/rotate"),
    ("POST", "/v1/keys/x/revoke"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/audit/checkpoints"),
    ("GET", "/v1/policies"),
    ("PUT", "/v1/policies"),
    ("GET", "/v1/policies/x"),
    ("GET", "/v1/entities"),
    ("PUT", "/v1/entities"),
    ("POST", "/v1/entities"),
    ("DELETE", "/v1/entities/x"),
    ("POST", "/v1/authorize"),
    ("GET", "/v1/operators"),
    ("POST", "/v1/operators"),
    ("POST", "/v1/operators/x/confirm"),
    ("POST", "/v1/operators/x/disable"),
    ("POST", "/v1/grants"),
    ("GET", "/v1/grants"),
    ("GET", "/v1/grants/x"),
    ("POST", "/v1/grants/x/approve"),
    ("POST", "/v1/grants/x/deny"),
    ("POST", "/v1/grants/x/cancel"),
    ("POST", "/v1/grants/x/end"),
    ("POST", "/v1/grants/x/revoke"),
    ("POST", "/v1/grants/x/review"),
    ("GET", "/v1/change-windows"),
    ("GET", "/v1/change-windows/x"),
    ("PUT", "/v1/change-windows/x"),
    ("DELETE", "/v1/change-windows/x"),
    ("GET", "/v1/feed"),
    ("GET", "/v1/feed/enforced"),
    ("GET", "/v1/edges"),
    ("GET", "/v1/edges/sessions"),
    ("POST", "/v1/edges/sessions/x/kill"),
    ("POST", "/v1/probes"),
    ("GET", "/v1/reports/posture"),
    ("GET", "/v1/alerts"),
    ("GET", "/v1/alerts/x"),
    ("POST", "/v1/alerts/x/ack"),
    ("POST", "/v1/alerts/x/release"),
    ("PUT", "/v1/secrets/x/rotation"),
    ("GET", "/v1/secrets/x/rotation"),
    ("POST", "/v1/secrets/x/rotate"),
    ("GET", "/v1/secrets"),
    ("PUT", "/v1/secrets/x"),
    ("DELETE", "/v1/secrets/x"),
    ("GET", "/v1/secrets/x/meta"),
    ("GET", "/v1/secrets/x/versions"),
    ("PUT", "/v1/secrets/x/dynamic"),
    ("GET", "/v1/secrets/x/dynamic"),
    ("GET", "/v1/leases"),
    ("GET", "/v1/leases/x"),
    ("DELETE", "/v1/leases/x"),
    ("POST", "/v1/rekey"),
]
# /v1 routes only edges may call (an administrator has no audit spool to
# ship, and the records would carry the admin as their edge): no ACCESS_ADMIN.
V1_EDGE_ONLY = [("POST", "/v1/edges/audit"), ("PUT", "/v1/edges/self/sessions")]
# /v1 routes only workloads and edges may call with their own access token:
# a secret's value (docs/secrets.md: no operator, admins neither, reads one).
V1_WORKLOAD_ONLY = [("GET", "/v1/secrets/x"), ("POST", "/v1/secrets/x/lease")]  # a lease holds a password
# /v1 routes open to anyone: login authenticates its caller itself (password
# + TOTP, test_operators.py); init works once, from loopback (test_init.py);
# the Token Status Lists are public, as the JWKS (test_status_list.py).
V1_PUBLIC = [("POST", "/v1/login"), ("POST", "/v1/init"), ("POST", "/v1/init/confirm"),
             ("GET", "/v1/status-lists"), ("GET", "/v1/status-lists/x"),
             ("POST", "/v1/secrets/unwrap")]  # the one-time handle is the credential (test_secrets.py)
# Who besides admins may use a route (the rest: admins only), and which
# routes are sensitive (an operator needs a fresh second factor: step-up).
APPROVER, AUDITOR, WORKLOAD, FRESH = "ACCESS_APPROVER", "ACCESS_AUDITOR", "ACCESS_WORKLOAD", "ACCESS_FRESH_MFA"
EDGE = "ACCESS_EDGE"
V1_ACCESS = {
    ("GET", "/v1/audit"): [AUDITOR],
    ("GET", "/v1/audit/checkpoints"): [AUDITOR],
    ("POST", "/v1/grants"): [APPROVER, WORKLOAD],
    ("GET", "/v1/grants"): [APPROVER, AUDITOR],
    ("GET", "/v1/grants/x"): [APPROVER, AUDITOR, WORKLOAD],
    ("POST", "/v1/grants/x/approve"): [APPROVER],
    ("POST", "/v1/grants/x/deny"): [APPROVER],
    ("POST", "/v1/grants/x/cancel"): [APPROVER, WORKLOAD],
    ("POST", "/v1/grants/x/end"): [APPROVER, WORKLOAD],
    ("POST", "/v1/grants/x/revoke"): [APPROVER],
    ("POST", "/v1/grants/x/review"): [APPROVER],
    ("GET", "/v1/change-windows"): [APPROVER, AUDITOR],
    ("GET", "/v1/change-windows/x"): [APPROVER, AUDITOR],
    ("PUT", "/v1/change-windows/x"): [FRESH],
    ("DELETE", "/v1/change-windows/x"): [FRESH],
    ("POST", "/v1/identities/x/offboard"): [FRESH],
    ("POST", "/v1/keys/rotate"): [FRESH],
    ("POST", "/v1/keys/x/revoke"): [FRESH],
    ("PUT", "/v1/policies"): [FRESH],
    ("PUT", "/v1/entities"): [FRESH],
    ("POST", "/v1/entities"): [FRESH],
    ("DELETE", "/v1/entities/x"): [FRESH],
    ("POST", "/v1/operators"): [FRESH],
    ("POST", "/v1/operators/x/confirm"): [FRESH],
    ("POST", "/v1/operators/x/disable"): [FRESH],
    ("GET", "/v1/policies"): [EDGE],
    ("GET", "/v1/entities"): [EDGE],
    ("GET", "/v1/feed"): [EDGE],
    ("GET", "/v1/feed/enforced"): [APPROVER, AUDITOR, WORKLOAD],
    ("GET", "/v1/edges"): [AUDITOR],
    ("GET", "/v1/edges/sessions"): [AUDITOR],
    ("POST", "/v1/probes"): [APPROVER],
    ("GET", "/v1/reports/posture"): [AUDITOR],
    ("GET", "/v1/alerts"): [APPROVER, AUDITOR],
    ("GET", "/v1/alerts/x"): [APPROVER, AUDITOR],
    ("POST", "/v1/alerts/x/ack"): [APPROVER],
    ("POST", "/v1/alerts/x/release"): [FRESH],
    ("PUT", "/v1/secrets/x/rotation"): [FRESH],
    ("GET", "/v1/secrets/x/rotation"): [AUDITOR],
    ("GET", "/v1/secrets"): [AUDITOR],
    ("PUT", "/v1/secrets/x"): [FRESH],
    ("DELETE", "/v1/secrets/x"): [FRESH],
    ("GET", "/v1/secrets/x/meta"): [AUDITOR],
    ("GET", "/v1/secrets/x/versions"): [AUDITOR],
    ("PUT", "/v1/secrets/x/dynamic"): [FRESH],
    ("GET", "/v1/secrets/x/dynamic"): [AUDITOR],
    ("GET", "/v1/leases"): [AUDITOR],
    ("GET", "/v1/leases/x"): [AUDITOR],
    ("POST", "/v1/rekey"): [FRESH],
}

ROUTE_LINE = re.compile(r'\{"([A-Z]+)", "([^"]+)", (NULL|"[^"]*"), handle_\w+, (ACCESS_\w+(?: \| ACCESS_\w+)*),')


def table_routes():
    """(method, path, access) of every route in routes.c, {id} as x."""
    out = []
    for m in ROUTE_LINE.finditer((REPO / "src" / "broker" / "routes.c").read_text()):
        method, prefix, suffix, access = m.groups()
        path = prefix if suffix == "NULL" else prefix + "x" + suffix.strip('"')
        out.append((method, path, access))
    return out


@pytest.fixture(scope="module")
def b(broker_factory):
    # Enough failures allowed that this module's 401s are never throttled.
    return broker_factory(args=["--set", "auth_throttle_client_failures=100000",
                                "--set", "auth_throttle_source_failures=100000"])


def test_every_v1_route_has_its_access_in_the_table():
    routes = table_routes()
    assert len(routes) > 20
    v1 = [(m, p) for m, p, _ in routes if p.startswith("/v1/")]
    assert sorted(v1) == sorted(V1_ROUTES + V1_PUBLIC + V1_EDGE_ONLY + V1_WORKLOAD_ONLY)
    for m, p, access in routes:
        if (m, p) in V1_EDGE_ONLY:
            assert access == "ACCESS_EDGE", (m, p)
        elif (m, p) in V1_WORKLOAD_ONLY:
            assert access == "ACCESS_WORKLOAD | ACCESS_EDGE", (m, p)
        elif p.startswith("/v1/") and (m, p) not in V1_PUBLIC:
            assert access == " | ".join(["ACCESS_ADMIN"] + V1_ACCESS.get((m, p), [])), (m, p)
        else:
            assert access == "ACCESS_PUBLIC", (m, p)


@pytest.mark.parametrize("method,path", V1_ROUTES + V1_EDGE_ONLY + V1_WORKLOAD_ONLY)
@pytest.mark.parametrize("token", ["", "wrong-token", "0" * 64])
def test_refused_without_a_valid_token(b, method, path, token):
    # A body the handler would refuse (400/415) if it ran: the 401 comes first.
    r = b.api(method, path, token=token, data=b"{not json", headers={"Content-Type": "text/plain"})
    body = assert_problem(r, 401)
    assert r.headers.get("WWW-Authenticate") == 'Bearer realm="tollgate"', r.headers
    assert body["instance"] == path
    assert ("invalid or expired" in body["detail"]) == (token != ""), body


@pytest.mark.parametrize("method,path", V1_ROUTES)
def test_admin_token_admitted(b, method, path):
    r = b.api(method, path, data=b"{not json", headers={"Content-Type": "text/plain"})
    assert r.status_code not in (401, 403), (method, path, r.status_code, r.text)


@pytest.mark.parametrize("method,path", V1_EDGE_ONLY + V1_WORKLOAD_ONLY)
def test_admin_token_refused_where_only_edges_may(b, method, path):
    assert_problem(b.api(method, path, {"records": []}), 403)


def test_refused_request_changes_nothing(b):
    ident = unique("noauth")
    doc = {"id": ident, "kind": "workload", "owner": "team-e2e", "roles": [], "public_keys": []}
    assert_problem(b.api("POST", "/v1/identities", doc, token=""), 401)
    assert_problem(b.api("POST", "/v1/identities", doc, token="wrong-token"), 401)
    assert_problem(b.api("GET", f"/v1/identities/{ident}"), 404)
    failed = [r for r in audit_records(b, type="auth.failed") if r["resource"] == "/v1/identities"]
    assert len(failed) >= 2 and all(r["actor"] is None for r in failed), failed


def test_admin_actions_carry_the_actor(b):
    start = audit_records(b)[-1]["seq"]
    ident = b.create_identity()
    b.add_policy(scope_permit(f'== Workload::"{unique("nobody")}"', DEFAULT_SCOPES[0]))
    b.set_entities([])
    assert b.api("POST", "/v1/keys/rotate").status_code == 200
    assert b.api("POST", f"/v1/identities/{ident.id}/offboard").status_code == 200
    recs = audit_records(b, after=start)
    by_type = {r["type"]: r for r in recs}
    for t in ("identity.created", "policy.changed", "key.rotated", "identity.offboarded"):
        assert by_type[t]["actor"] == "admin", by_type[t]
    assert all(r["actor"] == "admin" for r in recs if r["type"] == "entities.changed")
    assert b.get_policy()["actor"] == "admin"
