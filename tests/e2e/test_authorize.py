# test_authorize.py - POST /v1/authorize, the decision API (issue 3): with a
# principal or with an access token (verified as introspection does:
# signature, expiry, revocation, identity status; the principal is its sub
# and its scope must cover the request through the entity hierarchy and
# action groups, docs/architecture.md, "Scope"); decisions with determining and errored
# policy ids and unmet obligations; context defaults (now, hour, weekday,
# src_ip, token_age_s) that the caller may override; authz.allow /
# authz.deny audit records; malformed, wrong-typed and oversized requests.
import json
import time

import pytest

from tollgate_e2e import assert_problem, audit_records, jwt_parts, parse_metrics

POLICY = """\
@id("line-3-read")
permit(principal in Role::"e2e", action in Action::"modbus.read", resource in Zone::"line-3");

@id("orders-read")
@max_ttl("120")
permit(principal in Role::"e2e", action in Action::"orders.all", resource in Api::"orders");

@id("write-with-grant")
@requires_grant("2")
permit(principal in Role::"e2e", action == Action::"modbus.write", resource in Zone::"line-3");

@id("admin-with-mfa")
@requires_mfa("300")
permit(principal == Operator::"alice", action == Action::"config.write", resource == Device::"plc-7");

@id("no-coils")
forbid(principal, action == Action::"modbus.read", resource == Device::"plc-9");

@id("erroring")
permit(principal, action == Action::"modbus.diag", resource)
when { context.level > 3 };

@id("business-hours")
permit(principal, action == Action::"clock.check", resource == Api::"clock")
when { context.hour == 25 };

@id("from-lab")
permit(principal, action == Action::"lab.use", resource == Api::"lab")
when { context.src_ip.isInRange(ip("192.168.50.0/24")) };

@id("sane-defaults")
permit(principal, action == Action::"defaults.check", resource == Api::"defaults")
when { context.now > 1700000000 && context.weekday >= 1 && context.weekday <= 7 &&
       context.hour >= 0 && context.hour <= 23 && context.src_ip.isLoopback() };

@id("fresh-token")
permit(principal in Role::"e2e", action == Action::"orders.read", resource == Api::"fresh")
when { context.token_age_s < 60 };

// For issuance of the scopes the tests use.
@id("issue-e2e")
permit(principal in Role::"e2e", action, resource == Zone::"line-3");
@id("issue-orders")
permit(principal in Role::"e2e", action == Action::"orders.all", resource == Api::"orders");
@id("issue-fresh")
permit(principal in Role::"e2e", action == Action::"orders.read", resource == Api::"fresh")
unless { context has token_age_s };
"""

ENTITIES = [
    {"uid": "Zone:line-3"},
    {"uid": "Device:plc-7", "parents": ["Zone:line-3"]},
    {"uid": "Device:plc-9", "parents": ["Zone:line-3"]},
    {"uid": "Device:plc-1", "parents": []},
    {"uid": "Api:orders"},
    {"uid": "Api:orders-v2", "parents": ["Api:orders"]},
    {"uid": 'Action::"orders.read"', "parents": ['Action::"orders.all"']},
    {"uid": 'Action::"orders.create"', "parents": ['Action::"orders.all"']},
]


@pytest.fixture(scope="module")
def zb(broker_factory):
    b = broker_factory(name="authorize", policy=POLICY)
    b.set_entities(ENTITIES)
    b.ident = b.create_identity()
    return b


def authz(b, **body):
    return b.authorize(**body)


# ---- with a principal ----

def test_principal_allow_and_deny(zb):
    p = f"Workload:{zb.ident.id}"
    d = authz(zb, principal=p, action="modbus.read", resource="Device:plc-7")
    assert d["decision"] == "allow" and d["reasons"] == ["line-3-read"] and d["errors"] == []
    assert d["policy_version"] == zb.get_policy()["version"]
    d = authz(zb, principal=p, action="modbus.read", resource="Device:plc-9")
    assert d["decision"] == "deny" and d["reasons"] == ["no-coils"]
    d = authz(zb, principal=p, action="modbus.read", resource="Device:plc-1")
    assert d["decision"] == "deny" and d["reasons"] == []
    d = authz(zb, principal=p, action="orders.read", resource="Api:orders-v2")  # action group, resource child
    assert d["decision"] == "allow" and d["reasons"] == ["orders-read"] and d["max_ttl"] == 120


@pytest.mark.parametrize("principal, action, resource", [
    ("Workload:{id}", "modbus.read", "Device:plc-7"),
    ('Workload::"{id}"', 'Action::"modbus.read"', 'Device::"plc-7"'),
    ({"type": "Workload", "id": "{id}"}, {"type": "Action", "id": "modbus.read"}, {"type": "Device", "id": "plc-7"}),
    ({"__entity": {"type": "Workload", "id": "{id}"}}, "Action:modbus.read", {"__entity": {"type": "Device", "id": "plc-7"}}),
])
def test_entity_reference_forms(zb, principal, action, resource):
    fill = lambda v: json.loads(json.dumps(v).replace("{id}", zb.ident.id))
    d = authz(zb, principal=fill(principal), action=action, resource=resource)
    assert d["decision"] == "allow", d


def test_errors_are_reported(zb):
    p = f"Workload:{zb.ident.id}"
    d = authz(zb, principal=p, action="modbus.diag", resource="Device:plc-7", context={"level": "high"})
    assert d["decision"] == "deny" and d["errors"] == ["erroring"]
    d = authz(zb, principal=p, action="modbus.diag", resource="Device:plc-7", context={"level": 4})
    assert d["decision"] == "allow" and d["reasons"] == ["erroring"]
    d = authz(zb, principal=p, action="modbus.diag", resource="Device:plc-7")  # no such key
    assert d["decision"] == "deny" and d["errors"] == ["erroring"]


def test_obligations(zb):
    p = f"Workload:{zb.ident.id}"
    d = authz(zb, principal=p, action="modbus.write", resource="Device:plc-7")
    assert d["decision"] == "deny" and "unmet" in d and "write-with-grant" in json.dumps(d["unmet"])
    d = authz(zb, principal=p, action="modbus.write", resource="Device:plc-7", grant_approvals=1)
    assert d["decision"] == "deny"
    d = authz(zb, principal=p, action="modbus.write", resource="Device:plc-7", grant_approvals=2)
    assert d["decision"] == "allow" and d["reasons"] == ["write-with-grant"]
    alice = 'Operator::"alice"'
    d = authz(zb, principal=alice, action="config.write", resource="Device:plc-7", mfa_age_s=1000)
    assert d["decision"] == "deny" and "admin-with-mfa" in json.dumps(d["unmet"])
    d = authz(zb, principal=alice, action="config.write", resource="Device:plc-7", mfa_age_s=30)
    assert d["decision"] == "allow"
    d = authz(zb, principal=alice, action="config.write", resource="Device:plc-7", mfa_age_s=None)
    assert d["decision"] == "deny"


def test_context_defaults_and_overrides(zb):
    p = f"Workload:{zb.ident.id}"
    assert authz(zb, principal=p, action="defaults.check", resource="Api:defaults")["decision"] == "allow"
    # Given keys win over the defaults.
    assert authz(zb, principal=p, action="clock.check", resource="Api:clock")["decision"] == "deny"
    assert authz(zb, principal=p, action="clock.check", resource="Api:clock",
                 context={"hour": 25})["decision"] == "allow"
    assert authz(zb, principal=p, action="lab.use", resource="Api:lab")["decision"] == "deny"
    lab = {"src_ip": {"__extn": {"fn": "ip", "arg": "192.168.50.9"}}}
    assert authz(zb, principal=p, action="lab.use", resource="Api:lab", context=lab)["decision"] == "allow"


# ---- with a token ----

def test_token_principal_and_scope_coverage(zb):
    tok = zb.issue(zb.ident, "modbus.read@Zone:line-3")
    d = authz(zb, token=tok, action="modbus.read", resource="Device:plc-7")  # a descendant of the scope's zone
    assert d["decision"] == "allow" and d["reasons"] == ["line-3-read"]
    assert d["token"]["active"] is True and d["token"]["sub"] == zb.ident.id
    assert d["token"]["jti"] == jwt_parts(tok)[1]["jti"]
    d = authz(zb, token=tok, action="modbus.read", resource="Zone:line-3")    # the scope's resource itself
    assert d["decision"] == "allow"
    d = authz(zb, token=tok, action="modbus.read", resource="Device:plc-1")   # outside the zone
    assert d["decision"] == "deny" and "scope" in d["reason"] and d["reasons"] == []
    d = authz(zb, token=tok, action="orders.read", resource="Api:orders")     # policy would allow; scope does not
    assert d["decision"] == "deny" and "scope" in d["reason"]
    d = authz(zb, token=tok, action="modbus.write", resource="Device:plc-7", grant_approvals=5)
    assert d["decision"] == "deny" and "scope" in d["reason"]


def test_token_scope_through_action_group(zb):
    tok = zb.issue(zb.ident, "orders.all@Api:orders")
    d = authz(zb, token=tok, action="orders.read", resource="Api:orders-v2")
    assert d["decision"] == "allow" and d["reasons"] == ["orders-read"]
    d = authz(zb, token=tok, action="orders.delete", resource="Api:orders")   # not in the group
    assert d["decision"] == "deny" and "scope" in d["reason"]


def test_token_age_in_context(zb):
    tok = zb.issue(zb.ident, "orders.read@Api:fresh")  # at issuance there is no token_age_s
    d = authz(zb, token=tok, action="orders.read", resource="Api:fresh")
    assert d["decision"] == "allow" and d["reasons"] == ["fresh-token"]
    assert authz(zb, token=tok, action="orders.read", resource="Api:fresh",
                 context={"token_age_s": 61})["decision"] == "deny"


def test_inactive_tokens_are_denied(zb):
    ident = zb.create_identity()
    tok = zb.issue(ident, "modbus.read@Zone:line-3")
    assert authz(zb, token=tok, action="modbus.read", resource="Zone:line-3")["decision"] == "allow"
    assert zb.revoke(tok).status_code == 200
    d = authz(zb, token=tok, action="modbus.read", resource="Zone:line-3")
    assert d["decision"] == "deny" and d["token"]["active"] is False and "revoked" in d["token"]["reason"]

    tok = zb.issue(ident, "modbus.read@Zone:line-3")
    assert zb.api("PATCH", f"/v1/identities/{ident.id}", {"status": "suspended"}).status_code == 200
    d = authz(zb, token=tok, action="modbus.read", resource="Zone:line-3")
    assert d["decision"] == "deny" and d["token"]["active"] is False
    assert zb.api("PATCH", f"/v1/identities/{ident.id}", {"status": "active"}).status_code == 200
    assert authz(zb, token=tok, action="modbus.read", resource="Zone:line-3")["decision"] == "allow"

    h, p, s = tok.split(".")
    for bad in ("garbage", f"{h}.{p}.{s[:-4]}AAAA", tok + "x"):
        d = authz(zb, token=bad, action="modbus.read", resource="Zone:line-3")
        assert d["decision"] == "deny" and d["token"]["active"] is False


def test_expired_token_is_denied(broker_factory):
    b = broker_factory(name="authz-expiry", args=["--set", "clock_leeway=0"], policy=POLICY)
    ident = b.create_identity()
    tok = b.issue(ident, "modbus.read@Zone:line-3", ttl=1)
    time.sleep(2.1)
    d = b.authorize(token=tok, action="modbus.read", resource="Zone:line-3")
    assert d["decision"] == "deny" and d["token"]["active"] is False


# ---- audit and metrics ----

def test_decisions_are_audited(zb):
    start = audit_records(zb)[-1]["seq"]
    p = f"Workload:{zb.ident.id}"
    authz(zb, principal=p, action="modbus.read", resource="Device:plc-7")
    authz(zb, principal=p, action="modbus.read", resource="Device:plc-9")
    tok = zb.issue(zb.ident, "modbus.read@Zone:line-3")
    authz(zb, token=tok, action="modbus.read", resource="Device:plc-1")
    recs = [r for r in audit_records(zb, after=start) if r["type"].startswith("authz.")]
    assert [(r["type"], r["decision"], r["resource"], r["policies"]) for r in recs] == [
        ("authz.allow", "allow", "Device:plc-7", ["line-3-read"]),
        ("authz.deny", "deny", "Device:plc-9", ["no-coils"]),
        ("authz.deny", "deny", "Device:plc-1", []),
    ]
    assert recs[0]["actor"] == p and recs[0]["action"] == "modbus.read" and recs[0]["jti"] is None
    assert recs[0]["details"]["policy_version"] == zb.get_policy()["version"]
    ctx = recs[0]["details"]["context"]  # what was decided on, defaults included
    assert {"now", "hour", "weekday", "src_ip"} <= set(ctx) and ctx["src_ip"]["__extn"]["arg"] == "127.0.0.1"
    assert recs[2]["actor"] == zb.ident.id and recs[2]["jti"] == jwt_parts(tok)[1]["jti"]
    assert "scope" in recs[2]["details"]["reason"]
    assert tok.split(".")[2] not in json.dumps(recs)


def test_metrics_count_authorize_decisions(zb):
    m0 = parse_metrics(zb.metrics())
    p = f"Workload:{zb.ident.id}"
    authz(zb, principal=p, action="modbus.read", resource="Device:plc-7")
    authz(zb, principal=p, action="modbus.read", resource="Device:plc-9")
    m1 = parse_metrics(zb.metrics())
    for dec in ("allow", "deny"):
        k = f'tollgate_policy_decisions_total{{decision="{dec}"}}'
        assert m1[k] - m0[k] == 1
    assert m1['tollgate_http_requests_total{route="authorize",status="200"}'] >= 2


# ---- bad requests ----

BAD = {
    "array": [1],
    "empty": {},
    "both token and principal": {"token": "x", "principal": "Workload:a", "action": "a", "resource": "Api:x"},
    "neither": {"action": "a", "resource": "Api:x"},
    "unknown member": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "extra": 1},
    "no action": {"principal": "Workload:a", "resource": "Api:x"},
    "no resource": {"principal": "Workload:a", "action": "a"},
    "principal is a number": {"principal": 5, "action": "a", "resource": "Api:x"},
    "principal bad text": {"principal": "Workload", "action": "a", "resource": "Api:x"},
    "principal object without id": {"principal": {"type": "Workload"}, "action": "a", "resource": "Api:x"},
    "resource bad": {"principal": "Workload:a", "action": "a", "resource": "::x"},
    "action empty": {"principal": "Workload:a", "action": "", "resource": "Api:x"},
    "action is a number": {"principal": "Workload:a", "action": 7, "resource": "Api:x"},
    "context is a list": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "context": []},
    "context is a string": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "context": "{}"},
    "context bad extension": {"principal": "Workload:a", "action": "a", "resource": "Api:x",
                              "context": {"ip": {"__extn": {"fn": "ip", "arg": "999.1.1.1"}}}},
    "context float": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "context": {"x": 0.5}},
    "context null": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "context": {"x": None}},
    "grant_approvals negative": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "grant_approvals": -1},
    "grant_approvals string": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "grant_approvals": "2"},
    "mfa_age_s float": {"principal": "Workload:a", "action": "a", "resource": "Api:x", "mfa_age_s": 1.5},
    "token is a number": {"token": 5, "action": "a", "resource": "Api:x"},
    "token empty": {"token": "", "action": "a", "resource": "Api:x"},
    "token too long": {"token": "a" * 9000, "action": "a", "resource": "Api:x"},
    "deep context": {"principal": "Workload:a", "action": "a", "resource": "Api:x",
                     "context": json.loads('{"a":' * 20 + "1" + "}" * 20)},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_requests_are_400(zb, name):
    start = audit_records(zb)[-1]["seq"]
    body = assert_problem(zb.api("POST", "/v1/authorize", BAD[name]), 400)
    assert body["detail"]
    assert not [r for r in audit_records(zb, after=start) if r["type"].startswith("authz.")]


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1, "a": 2}', b"\xff", b"null"])
def test_malformed_json_is_400(zb, raw):
    assert_problem(zb.api("POST", "/v1/authorize", data=raw, headers={"Content-Type": "application/json"}), 400)


def test_wrong_content_type_auth_method_size(zb):
    body = {"principal": "Workload:a", "action": "a", "resource": "Api:x"}
    assert_problem(zb.api("POST", "/v1/authorize", data=json.dumps(body), headers={"Content-Type": "text/plain"}), 415)
    assert_problem(zb.api("POST", "/v1/authorize", body, token=""), 401)
    assert_problem(zb.api("POST", "/v1/authorize", body, token="not-the-admin"), 401)
    assert_problem(zb.api("GET", "/v1/authorize"), 405)
    big = dict(body, context={"pad": "x" * (70 * 1024)})
    assert_problem(zb.api("POST", "/v1/authorize", big), 413)  # the decision API keeps max_body
