# test_breakglass.py - break-glass grants, step-up on sensitive routes and
# operators as Cedar principals (issue 9, docs/grants.md): an admin operator
# with a fresh second factor opens an emergency grant that is active at
# once without approvals, alerts (audit record and a real HTTP webhook
# receiver), and stays a review item until a second operator reviews it;
# policy still decides (a forbid on context.grant.break_glass holds);
# everyone else is refused. Policy and operator changes ask a stale
# operator session for step-up (RFC 9470). Operators are the entities
# Operator::"name" with their roles as Role parents, and leave the entity
# set when disabled.
import time

import pytest

import test_operators as ops
from test_grants import DB, DEPLOY, POLICY, Op, act, deployer, get_grant, grant_records, request_grant
from tollgate_e2e import SLOW, assert_oauth_error, assert_problem, jwt_parts, wait_for

STEPUP = 3 * SLOW
BG_POLICY = POLICY + """
@id("no-glass-for-the-safe")
forbid(principal, action, resource == Api::"locked")
when { context has grant && context.grant.break_glass };
"""


@pytest.fixture(scope="module")
def bb(broker_factory, alert_webhook):
    url = alert_webhook.url
    return broker_factory(args=ops.FAST_HASH + ["--set", f"alert_webhook={url}",
                                                "--set", "breakglass_max_duration=1800"],
                          name="breakglass", policy=BG_POLICY)


def open_glass(b, op, ident, scope=DB, status=201, **body):
    doc = {"identity": ident.id, "scope": scope, "duration": "15m", "reason": "plant line 3 down",
           "break_glass": True}
    doc.update(body)
    r = b.api("POST", "/v1/grants", doc, token=op.token)
    assert r.status_code == status, r.text
    return r.json()


def test_break_glass_opens_alerts_and_waits_for_review(bb, alert_webhook):
    wl = deployer(bb)
    admin, bob = Op(bb, roles=("admin",)), Op(bb)
    g = open_glass(bb, admin, wl)
    assert g["state"] == "active" and g["break_glass"] is True and g["approvals"] == [], g
    assert g["approvals_required"] == 2 and g["ends_at"] == g["start"] + 900, g
    assert g["review"] == {"state": "open", "reviewed_by": None, "reviewed_at": None, "comment": None}, g
    # policy's @requires_grant("2") counts it as approved; the token carries the grant
    tok = bb.issue(wl, DB)
    assert jwt_parts(tok)[1]["grant"] == g["id"]
    d = bb.authorize(token=tok, action="db.admin", resource='Api::"db"')
    assert d["decision"] == "allow", d
    # the alert: an audit record, and the webhook
    [rec] = grant_records(bb, g["id"], "grant.break_glass")
    assert rec["actor"] == admin.name and rec["details"]["break_glass"] is True, rec
    alert = wait_for("the webhook alert", lambda: next((a for a in alert_webhook.requests if a[2].get("grant") == g["id"]),
                                                      None), timeout=10 * SLOW)
    path, ctype, body = alert
    assert path == "/alerts" and ctype == "application/json", alert
    assert body["alert"] == "grant.break_glass" and body["opened_by"] == admin.name, body
    assert body["identity"] == wl.id and body["scope"] == DB and body["reason"] == "plant line 3 down", body
    # the review item
    listed = bb.api("GET", "/v1/grants?review=open&limit=500").json()["grants"]
    assert g["id"] in [x["id"] for x in listed]
    assert_problem(act(bb, g["id"], "review", admin.token), 403)  # not by the one who opened it
    r = act(bb, g["id"], "review", bob.token, {"comment": "justified: PLC fault"})
    assert r.status_code == 200, r.text
    rv = r.json()["review"]
    assert rv["state"] == "done" and rv["reviewed_by"] == bob.name and rv["comment"] == "justified: PLC fault", rv
    assert_problem(act(bb, g["id"], "review", Op(bb).token), 409)
    listed = bb.api("GET", "/v1/grants?review=open&limit=500").json()["grants"]
    assert g["id"] not in [x["id"] for x in listed]
    [rec] = grant_records(bb, g["id"], "grant.reviewed")
    assert rec["actor"] == bob.name, rec


def test_review_outlives_the_grant(bb):
    wl = deployer(bb)
    admin, carol = Op(bb, roles=("admin",)), Op(bb)
    g = open_glass(bb, admin, wl, scope=DEPLOY)
    r = act(bb, g["id"], "end", admin.token, {"reason": "fixed"})
    assert r.status_code == 200 and r.json()["state"] == "ended", r.text
    assert get_grant(bb, g["id"])["review"]["state"] == "open"
    r = act(bb, g["id"], "review", carol.token)
    assert r.status_code == 200 and r.json()["review"]["state"] == "done", r.text
    assert r.json()["state"] == "ended"


def test_only_admin_operators_break_glass(bb):
    wl = deployer(bb)
    approver = Op(bb)
    doc = {"identity": wl.id, "scope": DEPLOY, "duration": 600, "reason": "r", "break_glass": True}
    assert_problem(bb.api("POST", "/v1/grants", doc, token=approver.token), 403)
    assert_problem(bb.api("POST", "/v1/grants", doc), 403)  # the admin token has no second factor
    tok = bb.issue(wl, "status.read@Api:prod")
    assert_problem(bb.api("POST", "/v1/grants", doc, token=tok), 403)
    # ordinary grants are no review items
    g = request_grant(bb, identity=wl.id)
    assert g["review"] is None and g["break_glass"] is False, g
    assert_problem(act(bb, g["id"], "review", approver.token), 409)


def test_break_glass_bounds(bb):
    wl = deployer(bb)
    admin = Op(bb, roles=("admin",))
    body = open_glass(bb, admin, wl, duration=1801, status=400)
    assert "breakglass_max_duration" in body["detail"], body
    body = open_glass(bb, admin, wl, start=int(time.time()) + 600, status=400)
    assert "start" in body["detail"], body
    body = open_glass(bb, admin, wl, break_glass="yes", status=400)
    assert "break_glass" in body["detail"], body
    open_glass(bb, admin, wl, reason="", status=400)


def test_policy_still_decides_in_an_emergency(bb):
    wl = deployer(bb)
    admin = Op(bb, roles=("admin",))
    # vault.open is permitted with a grant, but forbidden under break-glass
    g = open_glass(bb, admin, wl, scope="vault.open@Api:locked", status=400)
    assert "outside what policy could ever permit" in g["detail"], g


def test_stale_sessions_step_up(broker_factory):
    b = broker_factory(args=ops.FAST_HASH + ["--set", f"stepup_max_age={STEPUP}"], name="stepup", policy=BG_POLICY)
    wl = deployer(b)
    admin = Op(b, roles=("admin",))
    wait_for("the session's MFA to age past stepup_max_age", lambda: time.time() - admin.auth_time > STEPUP + 1,
             timeout=STEPUP + 30)
    for method, path, body in (("PUT", "/v1/policies", {"policies": BG_POLICY}),
                               ("POST", "/v1/operators", {"username": "zed", "roles": ["auditor"],
                                                          "password": "long enough pass"}),
                               ("POST", f"/v1/identities/{wl.id}/offboard", None),
                               ("POST", "/v1/grants", {"identity": wl.id, "scope": DEPLOY, "duration": 600,
                                                       "reason": "r", "break_glass": True})):
        r = b.api(method, path, body, token=admin.token)
        problem = assert_problem(r, 401)
        assert problem["max_age"] == STEPUP, problem
        chal = r.headers["WWW-Authenticate"]
        assert 'error="insufficient_user_authentication"' in chal and f"max_age={STEPUP}" in chal, chal
    # reads are not sensitive; the dev admin token has no second factor and is not asked
    assert b.api("GET", "/v1/identities", token=admin.token).status_code == 200
    assert b.api("POST", f"/v1/identities/{wl.id}/offboard").status_code == 200
    # a fresh login passes (another admin: a second login of the same one
    # would need the next TOTP step)
    fresh = Op(b, roles=("admin",))
    r = b.api("POST", "/v1/operators", {"username": "zed", "roles": ["auditor"], "password": "long enough pass"},
              token=fresh.token)
    assert r.status_code == 201, r.text


def effective(b):
    return b.api("GET", "/v1/entities?effective=true").json()["entities"]


def find(entities, type_, id_):
    return next((e for e in entities if e["uid"] == {"type": type_, "id": id_}), None)


def test_operators_are_cedar_principals(bb):
    op = Op(bb, roles=("approver", "auditor"))
    e = find(effective(bb), "Operator", op.name)
    assert e is not None, "the operator is not in the effective entity set"
    assert {"type": "Role", "id": "approver"} in e["parents"] and {"type": "Role", "id": "auditor"} in e["parents"], e
    assert e.get("attrs", {}) == {}, e
    d = bb.authorize(principal=f'Operator::"{op.name}"', action="grant.approve", resource='Api::"prod"')
    assert d["decision"] == "allow", d
    assert bb.api("POST", f"/v1/operators/{op.name}/disable").status_code == 200
    assert find(effective(bb), "Operator", op.name) is None
