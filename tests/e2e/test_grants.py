# test_grants.py - just-in-time grants end to end (docs/grants.md), with
# real brokers and operators logging in with real TOTP codes (oathtool):
# a `@requires_grant("N")` permit counts only under an approved grant; the
# life cycle (pending, approved, active, ended, expired, revoked, denied,
# cancelled) and the transitions each state refuses (409); who may request,
# read, approve, deny, cancel, end and revoke (403 otherwise, the admin token
# never approves); step-up (401 with an RFC 9470 challenge) for an approver
# whose MFA is stale; tokens under a grant (the `grant` claim, `exp` capped
# by `ends_at`, inactive once the grant is over, source binding); concurrent
# approvals; bad input (400 problem+json naming the member); and the grant's
# story in `tollgate audit trace --grant`.
#
# Operators: one login each (the next step's code, see test_operators.py),
# so every test enrols its own. The only waits poll for an event: a stale
# MFA (the clock), a pending deadline of 2 s, a start 3 s ahead, and the
# 60 s minimum duration running out (its grant is made by the first test
# that needs it, so the wait overlaps the rest of the module).
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

import test_operators as ops
from tollgate_e2e import (SLOW, assert_oauth_error, assert_problem, audit_records, cli_env, jwt_parts,
                          run_cli, session, wait_for)

POLICY = """\
@id("status")
permit(principal in Role::"deployer", action == Action::"status.read", resource == Api::"prod");

@id("deploy")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"deploy.run", resource == Api::"prod");

@id("db-admin")
@requires_grant("2")
permit(principal in Role::"deployer", action == Action::"db.admin", resource == Api::"db");

@id("vault")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"vault.open", resource == Api::"locked");

@id("approvers")
permit(principal, action == Action::"grant.approve", resource)
unless { resource == Api::"locked" };
"""
DEPLOY = "deploy.run@Api:prod"   # one approval
DB = "db.admin@Api:db"           # two approvals
LOCKED = "vault.open@Api:locked"  # nobody may approve it
STATUS = "status.read@Api:prod"  # standing, no grant needed
STEPUP_MAX_AGE = 3 * SLOW
FINAL = {"ended", "expired", "revoked", "denied", "cancelled"}


# ---- brokers and people ----

@pytest.fixture(scope="module")
def gb(broker_factory):
    """The module's broker: default grant settings."""
    return broker_factory(args=ops.FAST_HASH, name="grants", policy=POLICY)


def deployer(b, **kw):
    """A workload with the role "deployer" (status.read standing, the rest
    only under a grant)."""
    return b.create_identity(permit=[], roles=["deployer"], **kw)


class Op:
    """An enrolled, logged-in operator."""

    def __init__(self, b, roles=("approver",)):
        self.name, self.secret = ops.create(b, roles=roles)
        ops.confirm(b, self.name, self.secret)
        r = ops.login(b, self.name, self.secret)
        assert r.status_code == 200, r.text
        self.login_done = time.time()
        body = r.json()
        self.token, self.auth_time = body["session_token"], body["auth_time"]


def request_grant(b, token=None, status=201, **body):
    doc = {"scope": DEPLOY, "duration": "10m", "reason": "deploy release 4.2"}
    doc.update(body)
    r = b.api("POST", "/v1/grants", doc, token=token)
    assert r.status_code == status, r.text
    return r.json()


def act(b, gid, what, token=None, body=None):
    return b.api("POST", f"/v1/grants/{gid}/{what}", {} if body is None else body, token=token)


def approve(b, gid, op, **body):
    r = act(b, gid, "approve", op.token, body)
    assert r.status_code == 200, r.text
    return r.json()


def get_grant(b, gid, token=None):
    r = b.api("GET", f"/v1/grants/{gid}", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def active_grant(b, ident, scope=DEPLOY, approvers=None, **body):
    """A grant requested by the admin token and approved by fresh
    approvers until it is active."""
    g = request_grant(b, identity=ident.id, scope=scope, **body)
    for op in approvers or [Op(b) for _ in range(g["approvals_required"])]:
        g = approve(b, g["id"], op)
    assert g["state"] == "active", g
    return g


def wait_state(b, gid, state, timeout):
    """Polls GET /v1/grants/ID until the grant is in state; returns it."""
    def probe():
        g = get_grant(b, gid)
        return g if g["state"] == state else None
    return wait_for(f"grant {gid} to be {state}", probe, timeout=timeout, interval=0.2)


def grant_records(b, gid, type=None):
    q = {"grant": gid}
    if type:
        q["type"] = type
    return audit_records(b, **q)


def assert_conflict(r, state):
    body = assert_problem(r, 409)
    assert state in body.get("detail", ""), body
    return body


def assert_inactive(b, token, action, resource):
    assert b.introspect(token) == {"active": False}
    d = b.authorize(token=token, action=action, resource=resource)
    assert d["decision"] == "deny" and d["token"]["active"] is False, d


def scope_refused(b, ident, scope=DEPLOY, **kw):
    assert_oauth_error(b.token(ident, scope, **kw), 400, "invalid_scope")


GRANT_MEMBERS = {"id", "identity", "scope", "reason", "ticket", "source", "state", "requester", "requester_kind",
                 "duration", "start", "created_at", "expires_at", "approvals_required", "approvals", "approved_at",
                 "ends_at", "ended_at", "ended_by", "end_reason", "break_glass"}


# ---- 2 (start): the clock of the 60 s grant starts first ----

@pytest.fixture(scope="module")
def minute_grant(gb):
    """An active grant of the shortest duration (60 s) and a token under
    it, made by the first test that asks, so that the expiry test at the
    end of the module waits less."""
    wl = deployer(gb)
    g = active_grant(gb, wl, duration=60)
    tok = gb.issue(wl, DEPLOY, ttl=3600)
    return wl, g, tok


def test_token_exp_capped_by_ends_at(gb, minute_grant):
    wl, g, tok = minute_grant
    assert g["duration"] == 60 and g["ends_at"] == max(g["start"], g["approved_at"]) + 60, g
    claims = jwt_parts(tok)[1]
    assert claims["grant"] == g["id"] and claims["exp"] <= g["ends_at"], (claims, g)
    assert gb.introspect(tok)["active"] is True


# ---- 1. the whole story ----

def test_full_story(broker_factory):
    b = broker_factory(args=ops.FAST_HASH + ["--set", f"stepup_max_age={STEPUP_MAX_AGE}"], name="grant-story",
                       policy=POLICY)
    carol = Op(b)  # first, so that her MFA goes stale while the rest is set up
    wl = deployer(b)
    # No grant: the permit needing one does not count.
    scope_refused(b, wl, DB)
    [refused] = [r for r in audit_records(b, type="token.refused") if r["actor"] == wl.id]
    assert "db-admin" in str(refused["details"].get("unmet")), refused

    alice = Op(b)
    g = request_grant(b, alice.token, identity=wl.id, scope=DB, duration="10m", reason="rotate the db password",
                      ticket="CHG-1042")
    gid = g["id"]
    assert set(g) >= GRANT_MEMBERS, g
    assert g["state"] == "pending" and g["requester"] == alice.name and g["requester_kind"] == "operator", g
    assert g["identity"] == wl.id and g["scope"] == DB and g["duration"] == 600 and g["ticket"] == "CHG-1042", g
    assert g["source"] is None and g["approvals"] == [] and g["approvals_required"] == 2, g
    assert g["approved_at"] is None and g["ends_at"] is None and g["ended_at"] is None, g
    assert g["break_glass"] is False and abs(g["start"] - g["created_at"]) <= 1, g
    assert g["expires_at"] == max(g["created_at"], g["start"]) + 3600, g

    # The requester may not approve her own grant.
    assert_problem(act(b, gid, "approve", alice.token), 403)

    # A stale second factor: step-up challenge (RFC 9470).
    wait_for("carol's MFA to be older than stepup_max_age",
             lambda: time.time() > carol.login_done + STEPUP_MAX_AGE + 1, timeout=STEPUP_MAX_AGE + 5, interval=0.1)
    r = act(b, gid, "approve", carol.token)
    body = assert_problem(r, 401)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and 'error="insufficient_user_authentication"' in challenge, challenge
    assert re.search(rf"max_age={STEPUP_MAX_AGE}\b", challenge), challenge
    assert body.get("max_age") == STEPUP_MAX_AGE, body
    # A stale session may still read.
    assert get_grant(b, gid, carol.token)["state"] == "pending"

    bob, dave = Op(b), Op(b)
    g = approve(b, gid, bob, comment="ok")
    assert g["state"] == "pending" and [a["approver"] for a in g["approvals"]] == [bob.name], g
    assert g["approvals"][0]["comment"] == "ok" and 0 <= g["approvals"][0]["mfa_age"] <= STEPUP_MAX_AGE, g
    g = approve(b, gid, dave)
    assert g["state"] == "active", g
    assert [a["approver"] for a in g["approvals"]] == [bob.name, dave.name], g
    assert g["approvals"][1]["comment"] is None, g
    assert g["ends_at"] == max(g["start"], g["approved_at"]) + 600, g

    # Tokens: found by scope, or named by grant_id.
    tokens = [b.issue(wl, DB), b.issue(wl, DB, form={"grant_id": gid})]
    for tok in tokens:
        claims = jwt_parts(tok)[1]
        assert claims["grant"] == gid and claims["scope"] == DB, claims
        assert claims["exp"] <= g["ends_at"], (claims, g)
    d = b.authorize(token=tokens[0], action="db.admin", resource="Api:db")
    assert d["decision"] == "allow" and d["reasons"] == ["db-admin"], d

    # The workload ends it with its own token.
    r = act(b, gid, "end", tokens[0], {"reason": "done"})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["state"] == "ended" and g["ended_by"] == wl.id and g["end_reason"] == "done", g
    assert g["ended_at"] is not None, g
    for tok in tokens:
        assert_inactive(b, tok, "db.admin", "Api:db")
    scope_refused(b, wl, DB)

    # The story, in order.
    p = run_cli(["audit", "trace", "--grant", gid], cli_env(b))
    assert p.returncode == 0, p.stderr
    got = [(int(m.group(1)), m.group(2)) for m in (re.search(r" #(\d+)\s+(\S+)", x) for x in p.stdout.splitlines())
           if m]
    assert [s for s, _ in got] == sorted(s for s, _ in got), got
    types = [t for _, t in got]
    want = ["grant.requested", "grant.approval_refused", "grant.approval_refused", "grant.approval",
            "grant.approved", "token.issued", "token.issued", "authz.allow", "grant.ended", "authz.deny"]
    it = iter(types)
    assert all(w in it for w in want), f"{want} is not a subsequence of {types}"
    assert types.count("grant.approved") == 1 and types.count("grant.requested") == 1, types
    recs = grant_records(b, gid)
    actors = {t: [r["actor"] for r in recs if r["type"] == t] for t in want}
    assert actors["grant.requested"] == [alice.name], recs
    assert actors["grant.approval_refused"][:2] == [alice.name, carol.name], recs
    assert actors["grant.approved"] == [dave.name] and actors["grant.ended"] == [wl.id], recs
    assert bob.name in actors["grant.approval"], recs


# ---- 2. time: start ahead, pending deadline ----

def test_start_ahead_is_approved_then_active(gb):
    wl = deployer(gb)
    start = int(time.time()) + 3
    rfc3339 = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    g = request_grant(gb, identity=wl.id, start=rfc3339, duration="1h30m")
    assert g["start"] == start and g["duration"] == 5400, g
    assert g["expires_at"] == start + 3600, g
    g = approve(gb, g["id"], Op(gb))
    if g["state"] == "approved":  # unless the approval came after start
        assert g["ends_at"] == start + 5400, g
        scope_refused(gb, wl)
        # Named while not active yet: invalid_grant (RFC 6749 section 5.2).
        assert_oauth_error(gb.token(wl, DEPLOY, form={"grant_id": g["id"]}), 400, "invalid_grant")
    wait_state(gb, g["id"], "active", timeout=15 * SLOW)
    tok = gb.issue(wl, DEPLOY)
    assert jwt_parts(tok)[1]["grant"] == g["id"]


def test_pending_grant_expires(broker_factory):
    b = broker_factory(args=ops.FAST_HASH + ["--set", "grant_pending_ttl=2"], name="grant-pending", policy=POLICY)
    wl = deployer(b)
    approver = Op(b)
    g = request_grant(b, identity=wl.id)
    assert g["state"] == "pending" and g["expires_at"] == max(g["created_at"], g["start"]) + 2, g
    g = wait_state(b, g["id"], "expired", timeout=15 * SLOW)
    assert g["ended_by"] is None and g["approvals"] == [], g
    assert_conflict(act(b, g["id"], "approve", approver.token), "expired")
    scope_refused(b, wl)
    [rec] = grant_records(b, g["id"], "grant.approval_refused")
    assert rec["actor"] == approver.name, rec


# ---- 3. transitions ----

def test_revoke_by_approver_ends_tokens(gb):
    wl = deployer(gb)
    g = active_grant(gb, wl)
    tok = gb.issue(wl, DEPLOY)
    assert gb.authorize(token=tok, action="deploy.run", resource="Api:prod")["decision"] == "allow"
    revoker = Op(gb)
    assert_problem(act(gb, g["id"], "revoke", revoker.token, {}), 400)  # a reason is required
    r = act(gb, g["id"], "revoke", revoker.token, {"reason": "wrong release"})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["state"] == "revoked" and g["ended_by"] == revoker.name and g["end_reason"] == "wrong release", g
    assert_inactive(gb, tok, "deploy.run", "Api:prod")
    scope_refused(gb, wl)
    assert_conflict(act(gb, g["id"], "end", gb.admin_token), "revoked")
    [rec] = grant_records(gb, g["id"], "grant.revoked")
    assert rec["actor"] == revoker.name


def test_deny(gb):
    wl = deployer(gb)
    g = request_grant(gb, identity=wl.id)
    approver = Op(gb)
    assert_problem(act(gb, g["id"], "deny", approver.token, {}), 400)
    r = act(gb, g["id"], "deny", approver.token, {"reason": "not during the freeze"})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["state"] == "denied" and g["ended_by"] == approver.name, g
    assert g["end_reason"] == "not during the freeze", g
    assert_conflict(act(gb, g["id"], "approve", Op(gb).token), "denied")
    scope_refused(gb, wl)
    assert [r["actor"] for r in grant_records(gb, g["id"], "grant.denied")] == [approver.name]


def test_cancel_by_requester(gb):
    wl = deployer(gb)
    alice, bob = Op(gb), Op(gb)
    g = request_grant(gb, alice.token, identity=wl.id)
    assert_problem(act(gb, g["id"], "cancel", bob.token), 403)  # not the requester
    r = act(gb, g["id"], "cancel", alice.token, {"reason": "wrong ticket"})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["state"] == "cancelled" and g["ended_by"] == alice.name and g["end_reason"] == "wrong ticket", g
    assert_conflict(act(gb, g["id"], "approve", bob.token), "cancelled")
    assert_conflict(act(gb, g["id"], "cancel", alice.token), "cancelled")
    # Once approved, the requester can no longer cancel (but may end it).
    g = request_grant(gb, alice.token, identity=wl.id)
    approve(gb, g["id"], bob)
    assert_conflict(act(gb, g["id"], "cancel", alice.token), "active")
    r = act(gb, g["id"], "end", alice.token)
    assert r.status_code == 200 and r.json()["state"] == "ended" and r.json()["ended_by"] == alice.name, r.text


def test_approve_after_end_and_double_approval(gb):
    wl = deployer(gb)
    bob, dave = Op(gb), Op(gb)
    g = request_grant(gb, identity=wl.id, scope=DB)
    approve(gb, g["id"], bob)
    assert_problem(act(gb, g["id"], "approve", bob.token), 409)  # bob has approved it already
    g = get_grant(gb, g["id"])
    assert g["state"] == "pending" and len(g["approvals"]) == 1, g
    approve(gb, g["id"], dave)
    r = act(gb, g["id"], "end", gb.admin_token, {"reason": "finished early"})
    assert r.status_code == 200 and r.json()["state"] == "ended", r.text
    body = assert_conflict(act(gb, g["id"], "approve", Op(gb).token), "ended")
    assert "only a pending grant can be approved" in body["detail"], body
    assert_conflict(act(gb, g["id"], "end", gb.admin_token), "ended")
    assert_conflict(act(gb, g["id"], "revoke", gb.admin_token, {"reason": "x"}), "ended")
    assert len(grant_records(gb, g["id"], "grant.approval_refused")) == 2


def test_policy_must_permit_the_approver(gb):
    wl = deployer(gb)
    g = request_grant(gb, identity=wl.id, scope=LOCKED)
    assert_problem(act(gb, g["id"], "approve", Op(gb).token), 403)
    assert get_grant(gb, g["id"])["state"] == "pending"


def test_owner_approval_needs_another_approver(gb):
    # grant_owner_approval_alone = false: the identity owner's approval is
    # recorded but completes nothing until someone else approves too.
    owner, other = Op(gb), Op(gb)
    wl = deployer(gb, owner=owner.name)
    g = request_grant(gb, identity=wl.id)
    assert g["approvals_required"] == 1, g
    g = approve(gb, g["id"], owner)
    assert g["state"] == "pending" and [a["approver"] for a in g["approvals"]] == [owner.name], g
    scope_refused(gb, wl)
    g = approve(gb, g["id"], other)
    assert g["state"] == "active" and [a["approver"] for a in g["approvals"]] == [owner.name, other.name], g
    [rec] = grant_records(gb, g["id"], "grant.approved")
    assert rec["actor"] == other.name, rec


def test_token_scope_must_be_inside_the_grant(gb):
    wl = deployer(gb)
    g = active_grant(gb, wl)
    scope_refused(gb, wl, f"{DEPLOY} {DB}")
    scope_refused(gb, wl, f"{DEPLOY} {DB}", form={"grant_id": g["id"]})
    assert gb.token(wl, STATUS).status_code == 200  # a standing scope still needs no grant


def test_concurrent_approvals_and_ends(gb):
    wl = deployer(gb)
    g = request_grant(gb, identity=wl.id, scope=DB)
    gid = g["id"]
    approvers = [Op(gb) for _ in range(8)]
    calls = [("approve", a.token) for a in approvers for _ in range(2)] + [("end", gb.admin_token)] * 4
    barrier = threading.Barrier(len(calls))

    def one(call):
        what, tok = call
        with session() as s:
            s.get(gb.url + "/healthz")  # open the connection before the race
            barrier.wait()
            r = s.post(f"{gb.url}/v1/grants/{gid}/{what}", json={}, headers={"Authorization": f"Bearer {tok}"})
            return what, tok, r.status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(one, calls))
    assert all(st in (200, 409) for _, _, st in results), results
    approved_by = [tok for what, tok, st in results if what == "approve" and st == 200]
    ends = [st for what, _, st in results if what == "end" and st == 200]
    assert len(approved_by) == 2 and len(set(approved_by)) == 2, results
    assert len(ends) <= 1, results
    g = get_grant(gb, gid)
    names = [a["approver"] for a in g["approvals"]]
    assert len(names) == 2 and len(set(names)) == 2, g
    assert set(names) == {a.name for a in approvers if a.token in approved_by}, g
    assert g["state"] == ("ended" if ends else "active"), g
    assert len(grant_records(gb, gid, "grant.approved")) == 1
    assert len(grant_records(gb, gid, "grant.ended")) == len(ends)
    refused = sum(1 for what, _, st in results if what == "approve" and st == 409)
    assert len(grant_records(gb, gid, "grant.approval_refused")) == refused
    if not ends:
        assert act(gb, gid, "end", gb.admin_token).status_code == 200
    assert gb.get("/healthz").status_code == 200


# ---- 4. bad input ----

MISSING = object()
DAY = 86400
BAD = [
    ("reason", ""), ("reason", "x" * 501), ("reason", "\u00e9" * 250 + "x"), ("reason", "two\nlines"),
    ("reason", "tab\there"), ("reason", "esc\u001b"), ("reason", "del\u007f"), ("reason", 5), ("reason", MISSING),
    ("duration", 28801), ("duration", "8h1s"), ("duration", 59), ("duration", "59s"), ("duration", 0),
    ("duration", -60), ("duration", "abc"), ("duration", ""), ("duration", "1d"), ("duration", "1.5h"),
    ("duration", "-5m"), ("duration", "m"), ("duration", 600.5), ("duration", True),
    ("duration", None), ("duration", ["10m"]), ("duration", MISSING),
    ("identity", "no-such-identity"), ("identity", ""), ("identity", 5), ("identity", MISSING),
    ("scope", ""), ("scope", 5), ("scope", "not a scope"), ("scope", ["deploy.run@Api:prod"]), ("scope", MISSING),
    ("ticket", ""), ("ticket", "x" * 65), ("ticket", "a\tb"), ("ticket", "caf\u00e9"), ("ticket", 5),
    ("start", lambda: int(time.time()) + 31 * DAY), ("start", lambda: int(time.time()) - 3600),
    ("start", "yesterday"), ("start", "2026-13-01T00:00:00Z"), ("start", True), ("start", 1.5),
    ("source", "300.1.1.1"), ("source", "10.0.0.0/33"), ("source", "nope"), ("source", ""), ("source", 5),
    ("source", "::1/129"),
    ("bogus", 1),
]


@pytest.fixture(scope="module")
def target(gb):
    """The identity of the refused requests: it never gets a grant."""
    return deployer(gb)


@pytest.mark.parametrize("member, value", BAD, ids=[f"{m}-{i}" for i, (m, _) in enumerate(BAD)])
def test_bad_request_400_naming_the_member(gb, target, member, value):
    doc = {"identity": target.id, "scope": DEPLOY, "duration": "10m", "reason": "r"}
    if value is MISSING:
        del doc[member]
    else:
        doc[member] = value() if callable(value) else value
    body = assert_problem(gb.api("POST", "/v1/grants", doc), 400)
    assert member in body.get("detail", ""), body


def test_scope_no_policy_could_permit_names_the_token(gb, target):
    bad = "nothing.here@Api:nowhere"
    for scope in (bad, f"{DEPLOY} {bad}"):
        body = assert_problem(gb.api("POST", "/v1/grants", {"identity": target.id, "scope": scope,
                                                            "duration": 600, "reason": "r"}), 400)
        assert bad in body.get("detail", ""), body


def test_suspended_identity_refused(gb):
    wl = deployer(gb)
    assert gb.api("PATCH", f"/v1/identities/{wl.id}", {"status": "suspended"}).status_code == 200
    body = assert_problem(gb.api("POST", "/v1/grants", {"identity": wl.id, "scope": DEPLOY, "duration": 600,
                                                        "reason": "r"}), 400)
    assert "identity" in body.get("detail", ""), body


def test_bounds_that_are_allowed(gb):
    target = deployer(gb)
    now = int(time.time())
    for extra in ({"duration": 60}, {"duration": 28800}, {"duration": "8h"}, {"reason": "\u00e9" * 250},
                  {"reason": "x" * 500}, {"ticket": "x" * 64}, {"ticket": "CHG-1042 (b)"}, {"start": now - 30},
                  {"start": now + 29 * DAY}, {"source": "10.0.3.0/24"}, {"source": "2001:db8::/32"},
                  {"source": "192.0.2.7"}):
        g = request_grant(gb, identity=target.id, **extra)
        assert g["state"] in ("pending",), g
    assert request_grant(gb, identity=target.id, duration="1h30m")["duration"] == 5400


def test_oversized_and_malformed_bodies(gb, target):
    doc = {"identity": target.id, "scope": DEPLOY, "duration": 600, "reason": "x" * (70 * 1024)}
    assert_problem(gb.api("POST", "/v1/grants", doc), 413)
    hdrs = {"Content-Type": "application/json"}
    for raw in (b"", b"{", b"[]", b"null", b'{"reason": "a", "reason": "b"}'):
        assert_problem(gb.api("POST", "/v1/grants", data=raw, headers=hdrs), 400)
    assert_problem(gb.api("POST", "/v1/grants", data=b"{}", headers={"Content-Type": "text/plain"}), 415)


def test_bad_action_bodies(gb, target):
    wl = deployer(gb)
    g = request_grant(gb, identity=wl.id)
    op = Op(gb)
    for body in ({"comment": 5}, {"comment": ""}, {"comment": "x" * 501}, {"comment": "a\nb"}, {"reason": "x"}):
        problem = assert_problem(act(gb, g["id"], "approve", op.token, body), 400)
        assert list(body)[0] in problem.get("detail", ""), problem
    assert_problem(act(gb, g["id"], "deny", op.token, {"reason": 5}), 400)
    assert_problem(act(gb, g["id"], "revoke", op.token, {"reason": ""}), 400)
    assert get_grant(gb, g["id"])["state"] == "pending"


def test_refused_requests_created_nothing(gb, target):
    r = gb.api("GET", "/v1/grants", params={"identity": target.id})
    assert r.status_code == 200 and r.json()["grants"] == [], r.text
    assert not [x for x in audit_records(gb, type="grant.requested") if target.id in str(x)]
    assert gb.get("/healthz").status_code == 200


def test_unknown_grant_is_404(gb):
    assert_problem(gb.api("GET", "/v1/grants/g-AAAAAAAAAAAAAAAAAAAAAA"), 404)
    assert_problem(act(gb, "g-AAAAAAAAAAAAAAAAAAAAAA", "approve", Op(gb).token), 404)


# ---- 5. who may do what ----

def test_auditor_reads_but_does_not_approve(gb):
    wl = deployer(gb)
    g = request_grant(gb, identity=wl.id)
    auditor = Op(gb, roles=("auditor",))
    r = gb.api("GET", "/v1/grants", token=auditor.token, params={"identity": wl.id})
    assert r.status_code == 200 and [x["id"] for x in r.json()["grants"]] == [g["id"]], r.text
    assert get_grant(gb, g["id"], auditor.token)["id"] == g["id"]
    assert_problem(act(gb, g["id"], "approve", auditor.token), 403)
    assert_problem(act(gb, g["id"], "deny", auditor.token, {"reason": "no"}), 403)
    assert_problem(gb.api("POST", "/v1/grants", {"identity": wl.id, "scope": DEPLOY, "duration": 600,
                                                  "reason": "r"}, token=auditor.token), 403)
    assert get_grant(gb, g["id"])["state"] == "pending"


def test_admin_token_cannot_approve(gb):
    wl = deployer(gb)
    g = request_grant(gb, identity=wl.id)
    assert g["requester"] == "admin", g
    assert_problem(act(gb, g["id"], "approve", gb.admin_token), 403)
    assert get_grant(gb, g["id"])["state"] == "pending"


def test_workload_requests_for_itself_only(gb):
    wl, other = deployer(gb), deployer(gb)
    tok = gb.issue(wl, STATUS)
    assert_problem(gb.api("POST", "/v1/grants", {"identity": other.id, "scope": DEPLOY, "duration": 600,
                                                  "reason": "r"}, token=tok), 403)
    g = request_grant(gb, tok, identity=wl.id, reason="nightly migration")
    assert g["requester"] == wl.id and g["requester_kind"] != "operator", g
    assert get_grant(gb, g["id"], tok)["id"] == g["id"]
    assert_problem(act(gb, g["id"], "approve", tok), 403)
    assert_problem(gb.api("GET", "/v1/grants", token=tok), 403)
    # Another workload may not read it.
    other_tok = gb.issue(other, STATUS)
    assert gb.api("GET", f"/v1/grants/{g['id']}", token=other_tok).status_code in (403, 404)
    assert get_grant(gb, g["id"])["state"] == "pending"


def test_list_filters_and_pages(gb):
    wl = deployer(gb)
    ids = [request_grant(gb, identity=wl.id)["id"] for _ in range(3)]
    active = active_grant(gb, wl)
    r = gb.api("GET", "/v1/grants", params={"identity": wl.id, "limit": 2})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [g["id"] for g in page["grants"]] == [active["id"], ids[2]] and page["next"], page
    r = gb.api("GET", "/v1/grants", params={"identity": wl.id, "limit": 2, "after": page["next"]})
    assert [g["id"] for g in r.json()["grants"]] == [ids[1], ids[0]], r.text
    r = gb.api("GET", "/v1/grants", params={"identity": wl.id, "state": "active"})
    assert [g["id"] for g in r.json()["grants"]] == [active["id"]], r.text
    for q in ({"limit": 0}, {"limit": 501}, {"state": "bogus"}):
        assert_problem(gb.api("GET", "/v1/grants", params=q), 400)


# ---- 6. source binding ----

def test_source_binding(gb):
    far, near = deployer(gb), deployer(gb)
    g = active_grant(gb, far, source="192.0.2.0/24")
    assert g["source"] == "192.0.2.0/24", g
    scope_refused(gb, far)
    assert_oauth_error(gb.token(far, DEPLOY, form={"grant_id": g["id"]}), 400, "invalid_grant")
    g = active_grant(gb, near, source="127.0.0.1/32")
    assert jwt_parts(gb.issue(near, DEPLOY))[1]["grant"] == g["id"]


# ---- 2 (end): an active grant runs out by itself ----

def test_active_grant_expires_without_end(gb, minute_grant):
    wl, g, tok = minute_grant
    g = wait_state(gb, g["id"], "expired", timeout=max(0, g["ends_at"] - time.time()) + 15 * SLOW)
    assert g["ended_by"] is None, g
    assert_inactive(gb, tok, "deploy.run", "Api:prod")
    scope_refused(gb, wl)
    assert_conflict(act(gb, g["id"], "end", gb.admin_token), "expired")
    wait_for("the sweeper's grant.expired record", lambda: grant_records(gb, g["id"], "grant.expired"),
             timeout=60 * SLOW, interval=0.5)


# ---- a workload's own sender-bound token as the /v1 credential ----

def test_dpop_bound_workload_token_needs_its_proof(gb):
    # A DPoP-bound access token works at /v1 only as `Authorization: DPoP`
    # with a fresh proof for this method and URL carrying the token's hash
    # (RFC 9449 §7), once: the bare token, a Bearer scheme, a proof by
    # another key, for another URL, or a replayed proof is unauthenticated.
    import hashlib
    from tollgate_e2e import Key, b64u
    wl = deployer(gb)
    dkey = Key()
    r = gb.token(wl, STATUS, dpop=gb.dpop_proof(dkey))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    tok = r.json()["access_token"]
    g = request_grant(gb, identity=wl.id)
    path = f"/v1/grants/{g['id']}"
    ath = b64u(hashlib.sha256(tok.encode()).digest())

    def call(scheme, proof):
        headers = {"Authorization": f"{scheme} {tok}"}
        if proof:
            headers["DPoP"] = proof
        return gb.http.get(gb.url + path, headers=headers)

    good = gb.dpop_proof(dkey, htu=gb.url + path, htm="GET", ath=ath)
    assert_problem(call("Bearer", None), 401)
    assert_problem(call("DPoP", None), 401)
    assert_problem(call("Bearer", good), 401)
    assert_problem(call("DPoP", gb.dpop_proof(Key(), htu=gb.url + path, htm="GET", ath=ath)), 401)
    assert_problem(call("DPoP", gb.dpop_proof(dkey, htu=gb.url + "/v1/grants", htm="GET", ath=ath)), 401)
    assert_problem(call("DPoP", gb.dpop_proof(dkey, htu=gb.url + path, htm="GET")), 401)  # no ath
    r = call("DPoP", good)
    assert r.status_code == 200 and r.json()["id"] == g["id"], r.text
    assert_problem(call("DPoP", good), 401)  # the same proof again
