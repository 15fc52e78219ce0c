# test_change_windows.py - change windows end to end (docs/change_windows.md)
# against a real broker and the real clock: the /v1/change-windows API (put,
# get, list, delete, normalization, bad input naming the member, 404, who
# may read and write, step-up for stale operator sessions); enforcement
# (a token under a JIT grant for a resource under change control only while
# a window covering it is open, its exp capped by the window's end,
# invalid_grant naming the resource and the next opening otherwise,
# /v1/authorize denying grant tokens outside every window, standing permits
# and uncontrolled resources untouched, context.change_window for
# policies, deleting a window lifting the control); time zones (windows in
# America/New_York and Europe/Berlin built from the zone's local time now,
# their state checked against Python's zoneinfo); and `tollgate
# change-window`.
#
# Every test attaches its windows to zones and devices of its own (children
# of Zone::"plant", where the policy's permits are), so windows of one test
# never cover another's resources. Nothing waits for a window to open or
# close: "open now" windows reach back before now, "closed now" ones start
# an hour ahead, and closing a window is replacing it.
import json
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import test_operators as ops
from test_grants import Op, approve, deployer, request_grant
from tollgate_e2e import (SLOW, assert_oauth_error, assert_problem, audit_records, cli_env, jwt_parts, run_cli,
                          unique, wait_for)

POLICY = """\
@id("status")
permit(principal in Role::"deployer", action == Action::"status.read", resource == Api::"prod");

@id("deploy")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"deploy.run", resource == Api::"prod");

@id("plc-write")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"modbus.write", resource in Zone::"plant");

@id("plc-read")
permit(principal in Role::"deployer", action == Action::"modbus.read", resource in Zone::"plant");

@id("flash")
permit(principal in Role::"deployer", action == Action::"firmware.flash", resource in Zone::"plant");

@id("flash-in-windows-only")
forbid(principal, action == Action::"firmware.flash", resource)
unless { context has change_window };

@id("recipe")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"recipe.load", resource in Zone::"plant");

@id("recipe-in-windows-only")
forbid(principal, action == Action::"recipe.load", resource)
unless { context has change_window };

@id("approvers")
permit(principal, action == Action::"grant.approve", resource);
"""
STEPUP = 3 * SLOW
WINDOW_MEMBERS = {"name", "resources", "timezone", "schedule", "open"}


@pytest.fixture(scope="module")
def cb(broker_factory):
    return broker_factory(args=ops.FAST_HASH, name="change-windows", policy=POLICY)


# ---- helpers ----

def iso(t: int) -> str:
    """Unix seconds as RFC 3339 UTC with seconds."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def plant(b, n=1):
    """A zone of its own under Zone::"plant" and n devices in it:
    (zone, [device ids])."""
    zone, devices = unique("zone"), [unique("plc") for _ in range(n)]
    ents = [{"uid": "Zone:plant", "parents": []}, {"uid": f"Zone:{zone}", "parents": ["Zone:plant"]}]
    ents += [{"uid": f"Device:{d}", "parents": [f"Zone:{zone}"]} for d in devices]
    r = b.api("POST", "/v1/entities", ents)
    assert r.status_code == 200, r.text
    return zone, devices


def put_window(b, path_name, resources, schedule, tz="UTC", token=None, status=200, **extra):
    """PUT /v1/change-windows/path_name; extra members (name=...) go into
    the body."""
    doc = {"resources": resources, "timezone": tz, "schedule": schedule}
    doc.update(extra)
    r = b.api("PUT", f"/v1/change-windows/{path_name}", doc, token=token)
    assert r.status_code == status, r.text
    return r.json()


def get_window(b, name, token=None):
    r = b.api("GET", f"/v1/change-windows/{name}", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def delete_window(b, name):
    r = b.api("DELETE", f"/v1/change-windows/{name}")
    assert r.status_code == 200, r.text
    assert r.json() == {"deleted": name}


def open_now(ahead=90, behind=60):
    """A one-off schedule (instants in UTC) open now, closing `ahead` s on."""
    now = int(time.time())
    return {"start": iso(now - behind), "end": iso(now + ahead)}, now + ahead


def closed_now():
    """A one-off schedule that opens an hour from now: (schedule, start)."""
    start = int(time.time()) + 3600
    return {"start": iso(start), "end": iso(start + 3600)}, start


def granted(b, scope):
    """A deployer with an active grant for scope: (identity, grant)."""
    wl = deployer(b)
    g = request_grant(b, identity=wl.id, scope=scope)
    g = approve(b, g["id"], Op(b))
    assert g["state"] == "active", g
    return wl, g


def authz_records(b, jti):
    return [r for r in audit_records(b) if r["type"] in ("authz.allow", "authz.deny") and r.get("jti") == jti]


def decided_context(b, jti):
    """The context of the latest /v1/authorize decision on token jti."""
    recs = authz_records(b, jti)
    assert recs, f"no authz record for {jti}"
    return recs[-1]["details"].get("context", {})


# ---- 1. API ----

def test_put_get_list_delete(cb):
    base = unique("cw")
    first, second = f"a-{base}", f"b-{base}"
    doc = {"resources": ["Device:plc-7", 'Zone::"line-3"'], "timezone": "Europe/Berlin",
           "schedule": {"every": "week", "days": ["sun", "sat"], "from": "02:00", "to": "06:00"}}
    # the name may be left out (it is the path's) ...
    w = put_window(cb, second, doc["resources"], doc["schedule"], tz=doc["timezone"])
    assert set(w) >= WINDOW_MEMBERS and w["name"] == second, w
    assert w["resources"] == ['Device::"plc-7"', 'Zone::"line-3"'], w
    assert w["schedule"] == {"every": "week", "days": ["sat", "sun"], "from": "02:00", "to": "06:00"}, w
    assert w["timezone"] == "Europe/Berlin", w
    # ... or given, equal to the path
    put_window(cb, first, name=first, resources=["Api:orders"], schedule={"every": "day", "from": "22:00",
                                                                          "to": "02:00"})
    got = get_window(cb, second)
    assert {k: got[k] for k in ("name", "resources", "timezone", "schedule")} == \
        {k: w[k] for k in ("name", "resources", "timezone", "schedule")}, (got, w)
    r = cb.api("GET", "/v1/change-windows")
    assert r.status_code == 200, r.text
    names = [x["name"] for x in r.json()["windows"]]
    assert names == sorted(names) and names.index(first) < names.index(second), names

    # replacing
    w = put_window(cb, second, resources=["Device:plc-9"], schedule={"every": "day", "from": "00:00", "to": "24:00"})
    assert w["resources"] == ['Device::"plc-9"'] and w["schedule"]["to"] == "24:00", w
    assert w["open"] is True and isinstance(w["open_until"], int), w  # a whole day, every day
    assert get_window(cb, second)["resources"] == ['Device::"plc-9"']

    delete_window(cb, second)
    assert_problem(cb.api("GET", f"/v1/change-windows/{second}"), 404)
    assert_problem(cb.api("DELETE", f"/v1/change-windows/{second}"), 404)
    names = [x["name"] for x in cb.api("GET", "/v1/change-windows").json()["windows"]]
    assert first in names and second not in names, names

    sets = [r for r in audit_records(cb, type="change_window.set") if r["resource"] == f"ChangeWindow:{second}"]
    assert len(sets) == 2 and all(r["actor"] == "admin" for r in sets), sets
    assert sets[-1]["details"]["resources"] == ['Device::"plc-9"'], sets[-1]
    [gone] = [r for r in audit_records(cb, type="change_window.deleted") if r["resource"] == f"ChangeWindow:{second}"]
    assert gone["actor"] == "admin", gone
    delete_window(cb, first)


def test_state_members(cb):
    name = unique("cw")
    sched, end = open_now(ahead=600)
    w = put_window(cb, name, ["Device:nowhere"], sched)
    assert w["open"] is True and w["open_until"] == end and "next_open" not in w, w
    sched, start = closed_now()
    w = put_window(cb, name, ["Device:nowhere"], sched)
    assert w["open"] is False and w["next_open"] == start and "open_until" not in w, w
    past = int(time.time()) - 7200
    w = put_window(cb, name, ["Device:nowhere"], {"start": iso(past), "end": iso(past + 60)})
    assert w["open"] is False and w["next_open"] is None, w
    delete_window(cb, name)


def test_normalization(cb):
    name = unique("cw")
    w = put_window(cb, name, ["Device:plc-7", "Api::\"orders\""],
                   {"start": "2030-01-01T10:00:00+00:00", "end": "2030-01-01T11:00:30Z"})
    assert w["resources"] == ['Device::"plc-7"', 'Api::"orders"'], w
    assert w["schedule"] == {"start": "2030-01-01T10:00Z", "end": "2030-01-01T11:00:30Z"}, w
    assert w["next_open"] == int(datetime(2030, 1, 1, 10, tzinfo=timezone.utc).timestamp()), w
    w = put_window(cb, name, ["Device:plc-7"], {"start": "2030-01-01T10:00+02:00", "end": "2030-01-01T11:00"},
                   tz="Europe/Berlin")
    assert w["schedule"] == {"start": "2030-01-01T10:00+02:00", "end": "2030-01-01T11:00"}, w
    assert w["next_open"] == int(datetime(2030, 1, 1, 8, tzinfo=timezone.utc).timestamp()), w
    w = put_window(cb, name, ["Device:plc-7"], {"every": "week", "days": ["sun", "fri", "mon"], "from": "22:00",
                                                "to": "02:00"})
    assert w["schedule"]["days"] == ["mon", "fri", "sun"], w
    # what the broker answers, sent back, is the same window
    again = put_window(cb, name, w["resources"], w["schedule"], tz=w["timezone"], name=name)
    assert {k: again[k] for k in ("resources", "timezone", "schedule")} == \
        {k: w[k] for k in ("resources", "timezone", "schedule")}
    delete_window(cb, name)


MISSING = object()
DAILY = {"every": "day", "from": "22:00", "to": "02:00"}
BAD = [
    # (member the detail names, member path to change, value)
    ("name", "name", "other-name"), ("name", "name", 5), ("name", "name", ""),
    ("resources", "resources", []), ("resources", "resources", "Device:plc-7"), ("resources", "resources", MISSING),
    ("resources", "resources", [f"Device:d{i}" for i in range(65)]), ("resources[0]", "resources", ["nope"]),
    ("resources[1]", "resources", ["Device:a", 5]), ("resources[1]", "resources", ["Device:a", "Device:a"]),
    ("resources[0]", "resources", ["Device:" + "x" * 600]),
    ("timezone", "timezone", "Mars/Olympus"), ("timezone", "timezone", "../../etc/passwd"),
    ("timezone", "timezone", ""), ("timezone", "timezone", 5), ("timezone", "timezone", MISSING),
    ("timezone", "timezone", "Europe/Berlin/"), ("timezone", "timezone", "x" * 65),
    ("schedule", "schedule", MISSING), ("schedule", "schedule", "daily"), ("schedule", "schedule", {}),
    ("schedule.every", "schedule", {"every": "month", "from": "22:00", "to": "02:00"}),
    ("schedule.from", "schedule", {"every": "day", "from": "25:00", "to": "02:00"}),
    ("schedule.from", "schedule", {"every": "day", "from": "2200", "to": "02:00"}),
    ("schedule.to", "schedule", {"every": "day", "from": "22:00", "to": "24:01"}),
    ("schedule.to", "schedule", {"every": "day", "from": "22:00", "to": "22:00"}),
    ("schedule.to", "schedule", {"every": "day", "from": "22:00"}),
    ("schedule.days", "schedule", {"every": "week", "from": "22:00", "to": "02:00"}),
    ("schedule.days", "schedule", {"every": "week", "days": [], "from": "22:00", "to": "02:00"}),
    ("schedule.days[1]", "schedule", {"every": "week", "days": ["sat", "xyz"], "from": "22:00", "to": "02:00"}),
    ("schedule.days", "schedule", {"every": "day", "days": ["mon"], "from": "22:00", "to": "02:00"}),
    ("schedule.start", "schedule", {"start": "2030-13-01T10:00", "end": "2030-12-01T10:00"}),
    ("schedule.start", "schedule", {"start": "yesterday", "end": "2030-12-01T10:00"}),
    ("schedule.end", "schedule", {"start": "2030-01-01T10:00"}),
    ("schedule.end", "schedule", {"start": "2030-01-01T10:00", "end": "2029-01-01T10:00"}),
    ("schedule.end", "schedule", {"start": "2030-01-01T10:00", "end": "2031-01-03T10:00"}),
    ("bogus", "bogus", 1),
]


@pytest.mark.parametrize("named, member, value", BAD, ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(BAD)])
def test_bad_window_400_naming_the_member(cb, named, member, value):
    name = unique("bad")
    doc = {"resources": ["Device:plc-7"], "timezone": "UTC", "schedule": dict(DAILY)}
    if value is MISSING:
        del doc[member]
    else:
        doc[member] = value
    body = assert_problem(cb.api("PUT", f"/v1/change-windows/{name}", doc), 400)
    assert named in body.get("detail", ""), body
    assert_problem(cb.api("GET", f"/v1/change-windows/{name}"), 404)


def test_bounds_that_are_allowed(cb):
    name = unique("cw")
    w = put_window(cb, name, [f"Device:d{i}" for i in range(64)], DAILY)
    assert len(w["resources"]) == 64, w
    w = put_window(cb, name, ["Device:plc-7"], {"start": "2030-01-01T10:00", "end": "2031-01-02T10:00"})
    assert w["schedule"]["end"] == "2031-01-02T10:00", w  # 366 days
    put_window(cb, "x" * 128, ["Device:plc-7"], DAILY)
    delete_window(cb, "x" * 128)
    doc = {"resources": ["Device:plc-7"], "timezone": "UTC", "schedule": DAILY}
    body = assert_problem(cb.api("PUT", "/v1/change-windows/bad%20name", doc), 400)
    assert '"name"' in body["detail"], body
    # a path segment over 128 bytes is no route at all (the router's limit)
    r = cb.api("PUT", "/v1/change-windows/" + "x" * 129, doc)
    assert r.status_code in (400, 404), r.text
    delete_window(cb, name)


def test_oversized_and_malformed_bodies(cb):
    name = unique("cw")
    doc = {"resources": ["Device:plc-7"], "timezone": "UTC", "schedule": DAILY, "pad": "x" * (70 * 1024)}
    assert_problem(cb.api("PUT", f"/v1/change-windows/{name}", doc), 413)
    hdrs = {"Content-Type": "application/json"}
    for raw in (b"", b"{", b"[]", b"null", b'{"timezone": "UTC", "timezone": "UTC"}'):
        assert_problem(cb.api("PUT", f"/v1/change-windows/{name}", data=raw, headers=hdrs), 400)
    assert_problem(cb.api("PUT", f"/v1/change-windows/{name}", data=b"{}", headers={"Content-Type": "text/plain"}),
                   415)
    assert_problem(cb.api("GET", f"/v1/change-windows/{name}"), 404)


def test_who_may_read_and_write(cb):
    name = unique("cw")
    put_window(cb, name, ["Device:plc-7"], DAILY)
    auditor, approver, admin = Op(cb, roles=("auditor",)), Op(cb, roles=("approver",)), Op(cb, roles=("admin",))
    wl = deployer(cb)
    wl_token = cb.issue(wl, "status.read@Api:prod")
    for op in (auditor, approver, admin):
        assert get_window(cb, name, op.token)["name"] == name
        r = cb.api("GET", "/v1/change-windows", token=op.token)
        assert r.status_code == 200 and name in [w["name"] for w in r.json()["windows"]], r.text
    for op in (auditor, approver):
        assert_problem(cb.api("PUT", f"/v1/change-windows/{name}", {"resources": ["Device:other"], "timezone": "UTC",
                                                                    "schedule": DAILY}, token=op.token), 403)
        assert_problem(cb.api("DELETE", f"/v1/change-windows/{name}", token=op.token), 403)
    for method in ("GET", "PUT", "DELETE"):
        body = {"resources": ["Device:other"], "timezone": "UTC", "schedule": DAILY} if method == "PUT" else None
        assert_problem(cb.api(method, f"/v1/change-windows/{name}", body, token=wl_token), 403)
        assert_problem(cb.api(method, f"/v1/change-windows/{name}", body, token=""), 401)
    assert_problem(cb.api("GET", "/v1/change-windows", token=wl_token), 403)
    assert get_window(cb, name)["resources"] == ['Device::"plc-7"']
    # an admin operator with a fresh second factor writes, and is the actor
    w = put_window(cb, name, ["Device:plc-8"], DAILY, token=admin.token)
    assert w["resources"] == ['Device::"plc-8"'], w
    r = cb.api("DELETE", f"/v1/change-windows/{name}", token=admin.token)
    assert r.status_code == 200, r.text
    acts = [(r["type"], r["actor"]) for r in audit_records(cb) if r["resource"] == f"ChangeWindow:{name}"]
    assert acts[-2:] == [("change_window.set", admin.name), ("change_window.deleted", admin.name)], acts


def test_stale_operator_session_steps_up(broker_factory):
    b = broker_factory(args=ops.FAST_HASH + ["--set", f"stepup_max_age={STEPUP}"], name="cw-stepup", policy=POLICY)
    name = unique("cw")
    put_window(b, name, ["Device:plc-7"], DAILY)
    admin = Op(b, roles=("admin",))
    wait_for("the session's MFA to age past stepup_max_age", lambda: time.time() - admin.auth_time > STEPUP + 1,
             timeout=STEPUP + 30)
    for method, body in (("PUT", {"resources": ["Device:plc-8"], "timezone": "UTC", "schedule": DAILY}),
                         ("DELETE", None)):
        r = b.api(method, f"/v1/change-windows/{name}", body, token=admin.token)
        problem = assert_problem(r, 401)
        assert problem["max_age"] == STEPUP, problem
        chal = r.headers["WWW-Authenticate"]
        assert 'error="insufficient_user_authentication"' in chal and f"max_age={STEPUP}" in chal, chal
    # reading is not sensitive; nothing changed
    assert get_window(b, name, admin.token)["resources"] == ['Device::"plc-7"']
    # the CLI says what to do
    p = run_cli(["change-window", "delete", name], {"TOLLGATE_ADDR": b.url, "TOLLGATE_TOKEN": admin.token})
    assert p.returncode == 1 and "fresh second factor" in p.stderr and "tollgate login" in p.stderr, p.stderr
    fresh = Op(b, roles=("admin",))
    assert b.api("DELETE", f"/v1/change-windows/{name}", token=fresh.token).status_code == 200


# ---- 2. enforcement, with the real clock ----

def test_open_window_admits_grant_tokens_capped_by_its_end(cb):
    zone, [dev] = plant(cb)
    scope = f"modbus.write@Device:{dev}"
    name = unique("cw")
    sched, end = open_now(ahead=90)
    w = put_window(cb, name, [f"Zone:{zone}"], sched)
    assert w["open"] is True and w["open_until"] == end, w
    wl, g = granted(cb, scope)
    for form in (None, {"grant_id": g["id"]}):
        tok = cb.issue(wl, scope, ttl=600, form=form)
        claims = jwt_parts(tok)[1]
        assert claims["grant"] == g["id"], claims
        assert claims["exp"] <= end < claims["iat"] + 600, (claims, end)
        assert claims["exp"] <= g["ends_at"], (claims, g)
    d = cb.authorize(token=tok, action="modbus.write", resource=f"Device:{dev}")
    assert d["decision"] == "allow" and d["reasons"] == ["plc-write"], d
    assert decided_context(cb, claims["jti"]).get("change_window") == name


def test_closed_window_refuses_grant_tokens_naming_the_next_opening(cb):
    zone, [dev] = plant(cb)
    scope = f"modbus.write@Device:{dev}"
    name = unique("cw")
    sched, start = closed_now()
    w = put_window(cb, name, [f"Zone:{zone}"], sched)
    assert w["open"] is False and w["next_open"] == start, w
    # a grant can be requested and approved before its window opens
    wl, g = granted(cb, scope)
    for form in (None, {"grant_id": g["id"]}):
        body = assert_oauth_error(cb.token(wl, scope, form=form), 400, "invalid_grant")
        desc = body.get("error_description", "")
        assert dev in desc and (iso(start) in desc or str(start) in desc), body
    refused = [r for r in audit_records(cb, type="token.refused") if r["actor"] == wl.id]
    assert refused, "the refusal is not audited"
    # the standing permit on the same resource is not affected
    tok = cb.issue(wl, f"modbus.read@Device:{dev}")
    assert "grant" not in jwt_parts(tok)[1]
    d = cb.authorize(token=tok, action="modbus.read", resource=f"Device:{dev}")
    assert d["decision"] == "allow" and d["reasons"] == ["plc-read"], d
    assert "change_window" not in decided_context(cb, jwt_parts(tok)[1]["jti"])


def test_authorize_denies_grant_tokens_once_the_window_closes(cb):
    zone, [dev] = plant(cb)
    scope = f"modbus.write@Device:{dev}"
    name = unique("cw")
    sched, end = open_now(ahead=900)
    put_window(cb, name, [f"Zone:{zone}"], sched)
    wl, g = granted(cb, scope)
    tok = cb.issue(wl, scope, ttl=600)
    jti = jwt_parts(tok)[1]["jti"]
    assert cb.authorize(token=tok, action="modbus.write", resource=f"Device:{dev}")["decision"] == "allow"
    # the window is moved to the future: closed now
    sched, start = closed_now()
    put_window(cb, name, [f"Zone:{zone}"], sched)
    d = cb.authorize(token=tok, action="modbus.write", resource=f"Device:{dev}")
    assert d["decision"] == "deny", d
    assert "change" in d.get("reason", ""), d
    assert authz_records(cb, jti)[-1]["type"] == "authz.deny"
    assert_oauth_error(cb.token(wl, scope), 400, "invalid_grant")
    # deleting the window lifts the control
    delete_window(cb, name)
    d = cb.authorize(token=tok, action="modbus.write", resource=f"Device:{dev}")
    assert d["decision"] == "allow", d
    assert "change_window" not in decided_context(cb, jti)
    tok = cb.issue(wl, scope, ttl=600)
    claims = jwt_parts(tok)[1]
    assert claims["grant"] == g["id"] and claims["exp"] == min(claims["iat"] + 600, g["ends_at"]), (claims, g)


def test_a_second_window_open_is_enough(cb):
    zone, [dev] = plant(cb)
    scope = f"modbus.write@Device:{dev}"
    closed_name, open_name = unique("cw-closed"), unique("cw-open")
    put_window(cb, closed_name, [f"Zone:{zone}"], closed_now()[0])
    sched, end = open_now(ahead=120)
    put_window(cb, open_name, [f"Device:{dev}"], sched)
    wl, g = granted(cb, scope)
    tok = cb.issue(wl, scope, ttl=600)
    claims = jwt_parts(tok)[1]
    assert claims["exp"] <= end, (claims, end)
    assert cb.authorize(token=tok, action="modbus.write", resource=f"Device:{dev}")["decision"] == "allow"
    assert decided_context(cb, claims["jti"]).get("change_window") == open_name
    delete_window(cb, open_name)
    assert_oauth_error(cb.token(wl, scope), 400, "invalid_grant")
    assert cb.authorize(token=tok, action="modbus.write", resource=f"Device:{dev}")["decision"] == "deny"
    delete_window(cb, closed_name)


def test_uncontrolled_resources_are_unaffected(cb):
    zone, [dev, other] = plant(cb, 2)
    name = unique("cw")
    put_window(cb, name, [f"Device:{dev}"], closed_now()[0])
    # a device of the same zone, not attached, is not under change control
    wl, g = granted(cb, f"modbus.write@Device:{other}")
    tok = cb.issue(wl, f"modbus.write@Device:{other}", ttl=600)
    claims = jwt_parts(tok)[1]
    assert claims["grant"] == g["id"] and claims["exp"] == min(claims["iat"] + 600, g["ends_at"]), (claims, g)
    d = cb.authorize(token=tok, action="modbus.write", resource=f"Device:{other}")
    assert d["decision"] == "allow", d
    assert "change_window" not in decided_context(cb, claims["jti"])
    # nor is an API no window names
    wl, g = granted(cb, "deploy.run@Api:prod")
    tok = cb.issue(wl, "deploy.run@Api:prod")
    assert jwt_parts(tok)[1]["grant"] == g["id"]
    assert cb.authorize(token=tok, action="deploy.run", resource="Api:prod")["decision"] == "allow"
    delete_window(cb, name)


def test_standing_permits_are_unaffected(cb):
    zone, [dev] = plant(cb)
    name = unique("cw")
    put_window(cb, name, [f"Zone:{zone}"], closed_now()[0])
    wl = deployer(cb)  # no grant at all
    tok = cb.issue(wl, f"modbus.read@Device:{dev}", ttl=600)
    claims = jwt_parts(tok)[1]
    assert claims["exp"] == claims["iat"] + 600 and "grant" not in claims, claims
    assert cb.authorize(token=tok, action="modbus.read", resource=f"Device:{dev}")["decision"] == "allow"
    d = cb.authorize(principal=f"Workload:{wl.id}", action="modbus.read", resource=f"Device:{dev}")
    assert d["decision"] == "allow", d
    # and the grant-only action stays out of reach without a grant
    assert_oauth_error(cb.token(wl, f"modbus.write@Device:{dev}"), 400, "invalid_scope")
    delete_window(cb, name)


def test_policy_can_require_a_change_window(cb):
    """forbid ... unless { context has change_window }: the standing
    firmware.flash works only where a window is open now, at issuance (per
    scope token) and at /v1/authorize."""
    open_zone, [in_open] = plant(cb)
    closed_zone, [in_closed] = plant(cb)
    _, [free] = plant(cb)
    open_name, closed_name = unique("cw-open"), unique("cw-closed")
    sched, end = open_now(ahead=600)
    put_window(cb, open_name, [f"Zone:{open_zone}"], sched)
    put_window(cb, closed_name, [f"Zone:{closed_zone}"], closed_now()[0])
    wl = deployer(cb)

    tok = cb.issue(wl, f"firmware.flash@Device:{in_open}", ttl=600)
    claims = jwt_parts(tok)[1]
    assert "grant" not in claims, claims
    d = cb.authorize(token=tok, action="firmware.flash", resource=f"Device:{in_open}")
    assert d["decision"] == "allow" and d["reasons"] == ["flash"], d
    assert decided_context(cb, claims["jti"]).get("change_window") == open_name
    d = cb.authorize(principal=f"Workload:{wl.id}", action="firmware.flash", resource=f"Device:{in_open}")
    assert d["decision"] == "allow", d

    for dev in (in_closed, free):
        assert_oauth_error(cb.token(wl, f"firmware.flash@Device:{dev}"), 400, "invalid_scope")
        d = cb.authorize(principal=f"Workload:{wl.id}", action="firmware.flash", resource=f"Device:{dev}")
        assert d["decision"] == "deny" and d["reasons"] == ["flash-in-windows-only"], d
    # each scope token is decided with its own resource's window
    assert_oauth_error(cb.token(wl, f"firmware.flash@Device:{in_open} firmware.flash@Device:{in_closed}"), 400,
                       "invalid_scope")

    # A grant needing action with the same forbid: requested and approved
    # while its window is closed (as if inside it, docs/policy.md), usable
    # only once a window is open; never for a resource no window covers.
    scope = f"recipe.load@Device:{in_closed}"
    wl2, g = granted(cb, scope)
    body = assert_oauth_error(cb.token(wl2, scope, form={"grant_id": g["id"]}), 400, "invalid_grant")
    assert in_closed in body.get("error_description", ""), body
    body = assert_problem(cb.api("POST", "/v1/grants", {"identity": wl2.id, "scope": f"recipe.load@Device:{free}",
                                                        "duration": 600, "reason": "r"}), 400)
    assert f"recipe.load@Device:{free}" in body.get("detail", ""), body
    put_window(cb, closed_name, [f"Zone:{closed_zone}"], open_now(ahead=600)[0])
    tok = cb.issue(wl2, scope)
    assert jwt_parts(tok)[1]["grant"] == g["id"]
    d = cb.authorize(token=tok, action="recipe.load", resource=f"Device:{in_closed}")
    assert d["decision"] == "allow" and d["reasons"] == ["recipe"], d
    delete_window(cb, open_name)
    delete_window(cb, closed_name)


def test_closed_window_refusal_when_policy_requires_a_window(cb):
    """Without grant_id, a token request for a scope the identity holds an
    active grant for, on a resource whose windows are all closed, is
    refused as the contract says (invalid_grant, naming the resource and
    the next opening) even when a policy also forbids the action outside
    windows (recipe-in-windows-only)."""
    zone, [dev] = plant(cb)
    name = unique("cw")
    sched, start = closed_now()
    put_window(cb, name, [f"Zone:{zone}"], sched)
    scope = f"recipe.load@Device:{dev}"
    wl, g = granted(cb, scope)
    body = assert_oauth_error(cb.token(wl, scope), 400, "invalid_grant")
    desc = body.get("error_description", "")
    assert dev in desc and (iso(start) in desc or str(start) in desc), body
    delete_window(cb, name)


# ---- 3. time zones, against Python's zoneinfo ----

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def instant(z: ZoneInfo, day: date, hm: str) -> int:
    """The Unix time of local wall-clock time day hm in zone z: a time a
    forward change skips moves forward by the gap, a repeated one is the
    earlier instant (fold=0 does both, PEP 495)."""
    h, m = map(int, hm.split(":"))
    return int(datetime(day.year, day.month, day.day, h, m, tzinfo=z).timestamp())


def hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def occurrence(z, frm: datetime, to: datetime):
    """The occurrence starting at wall time frm and ending at wall time to
    (the next day when to is at or before frm): (start, end) Unix."""
    end_day = frm.date() + timedelta(days=1 if to.time() <= frm.time() else 0)
    return instant(z, frm.date(), hm(frm)), instant(z, end_day, hm(to))


@pytest.mark.parametrize("tzname", ["America/New_York", "Europe/Berlin"])
def test_time_zones_agree_with_zoneinfo(cb, tzname):
    z = ZoneInfo(tzname)
    local = datetime.now(z).replace(second=0, microsecond=0, tzinfo=None)  # the zone's wall clock now
    now = time.time()
    zone, [dev] = plant(cb)
    name = unique("cw")

    def check(schedule, want_open, want_at):
        w = put_window(cb, name, [f"Zone:{zone}"], schedule, tz=tzname)
        assert w["timezone"] == tzname and w["open"] is want_open, (schedule, w, want_at)
        assert w["open_until" if want_open else "next_open"] == want_at, (schedule, w, want_at)
        return w

    # daily, open now: from an hour ago to an hour ahead (local)
    frm, to = local - timedelta(hours=1), local + timedelta(hours=1)
    start, end = occurrence(z, frm, to)
    assert start <= now < end
    check({"every": "day", "from": hm(frm), "to": hm(to)}, True, end)
    # weekly, on the weekday that occurrence starts on
    check({"every": "week", "days": [WEEKDAYS[frm.weekday()]], "from": hm(frm), "to": hm(to)}, True, end)
    # one-off in local time
    a, b = local - timedelta(minutes=30), local + timedelta(minutes=30)
    check({"start": a.strftime("%Y-%m-%dT%H:%M"), "end": b.strftime("%Y-%m-%dT%H:%M")}, True,
          instant(z, b.date(), hm(b)))

    # daily, closed now: from two hours ahead to three
    frm, to = local + timedelta(hours=2), local + timedelta(hours=3)
    start, _ = occurrence(z, frm, to)
    assert start > now
    check({"every": "day", "from": hm(frm), "to": hm(to)}, False, start)
    # weekly, three days ahead at noon
    day = local.date() + timedelta(days=3)
    check({"every": "week", "days": [WEEKDAYS[day.weekday()]], "from": "12:00", "to": "13:00"}, False,
          instant(z, day, "12:00"))
    # one-off in local time, tomorrow 09:30-10:00
    day = local.date() + timedelta(days=1)
    w = check({"start": f"{day.isoformat()}T09:30", "end": f"{day.isoformat()}T10:00"}, False,
              instant(z, day, "09:30"))

    # enforcement follows: closed now refuses, open now admits
    scope = f"modbus.write@Device:{dev}"
    wl, g = granted(cb, scope)
    body = assert_oauth_error(cb.token(wl, scope), 400, "invalid_grant")
    assert iso(w["next_open"]) in body.get("error_description", "") or \
        str(w["next_open"]) in body.get("error_description", ""), body
    frm, to = local - timedelta(hours=1), local + timedelta(hours=1)
    _, end = occurrence(z, frm, to)
    check({"every": "day", "from": hm(frm), "to": hm(to)}, True, end)
    claims = jwt_parts(cb.issue(wl, scope, ttl=600))[1]
    assert claims["exp"] <= min(end, g["ends_at"]), (claims, end)
    delete_window(cb, name)


# ---- 4. the CLI ----

def test_cli_set_list_show_delete(cb, tmp_path):
    env = cli_env(cb)
    name = unique("cw-cli")
    doc = {"name": name, "resources": ['Zone::"line-3"', "Device:plc-7"], "timezone": "Europe/Berlin",
           "schedule": {"every": "week", "days": ["sun", "sat"], "from": "02:00", "to": "06:00"}}
    path = tmp_path / "window.json"
    path.write_text(json.dumps(doc))

    p = run_cli(["change-window", "set", str(path)], env)
    assert p.returncode == 0, p.stderr
    assert f"name:       {name}" in p.stdout and "timezone:   Europe/Berlin" in p.stdout, p.stdout
    assert "schedule:   weekly sat,sun 02:00-06:00" in p.stdout, p.stdout
    assert 'Device::"plc-7"' in p.stdout, p.stdout
    w = get_window(cb, name)
    assert w["resources"] == ['Zone::"line-3"', 'Device::"plc-7"'], w

    # from stdin, --json: the broker's answer
    doc["schedule"] = {"every": "day", "from": "22:00", "to": "02:00"}
    p = run_cli(["change-window", "set", "-", "--json"], env, stdin=json.dumps(doc))
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert answer["name"] == name and answer["schedule"] == doc["schedule"], answer
    state = "open until " if answer["open"] else "next "
    when = iso(answer["open_until"] if answer["open"] else answer["next_open"])

    p = run_cli(["change-window", "list"], env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TIMEZONE", "SCHEDULE", "STATE", "RESOURCES"], lines
    [row] = [line for line in lines if line.startswith(name + " ")]
    assert "Europe/Berlin" in row and "daily 22:00-02:00" in row and state + when in row, row
    assert 'Zone::"line-3" Device::"plc-7"' in row, row

    p = run_cli(["change-window", "list", "--json"], env)
    assert p.returncode == 0 and name in [x["name"] for x in json.loads(p.stdout)["windows"]], p.stdout
    p = run_cli(["change-window", "show", name], env)
    assert p.returncode == 0, p.stderr
    assert "schedule:   daily 22:00-02:00" in p.stdout, p.stdout
    assert ("state:      open until " if answer["open"] else "state:      closed; next opens ") + when in p.stdout
    p = run_cli(["change-window", "show", name, "--json"], env)
    assert p.returncode == 0 and json.loads(p.stdout)["schedule"] == doc["schedule"], p.stdout

    # the broker's refusal, said and exit 1
    bad = dict(doc, timezone="Mars/Olympus")
    p = run_cli(["change-window", "set", "-"], env, stdin=json.dumps(bad))
    assert p.returncode == 1 and "HTTP 400" in p.stderr and "timezone" in p.stderr, p.stderr
    approver = Op(cb, roles=("approver",))
    p = run_cli(["change-window", "set", str(path)], dict(env, TOLLGATE_TOKEN=approver.token))
    assert p.returncode == 1 and "HTTP 403" in p.stderr, p.stderr
    p = run_cli(["change-window", "list"], dict(env, TOLLGATE_TOKEN=approver.token))
    assert p.returncode == 0 and name in p.stdout, p.stderr

    p = run_cli(["change-window", "delete", name], env)
    assert p.returncode == 0 and name in p.stdout, p.stderr
    assert_problem(cb.api("GET", f"/v1/change-windows/{name}"), 404)
    p = run_cli(["change-window", "show", name], env)
    assert p.returncode == 1 and "HTTP 404" in p.stderr and "tollgate change-window list" in p.stderr, p.stderr
    p = run_cli(["change-window", "delete", name], env)
    assert p.returncode == 1 and "HTTP 404" in p.stderr, p.stderr


@pytest.mark.parametrize("args, says", [
    ([], "Usage: tollgate change-window"),
    (["lst"], "did you mean 'list'"),
    (["set"], "FILE is required"),
    (["set", "a.json", "b.json"], "one FILE only"),
    (["show"], "NAME is required"),
    (["show", "a/b"], "is not a change window name"),
    (["delete", "x" * 129], "is not a change window name"),
    (["delete", "w", "--json"], "--json does not apply"),
    (["list", "extra"], "takes options only"),
    (["list", "--bogus"], "--help"),
])
def test_cli_usage_errors_exit_2(cb, args, says):
    p = run_cli(["change-window"] + args, cli_env(cb))
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert says in p.stderr, p.stderr


def test_cli_help_and_bad_files(cb, tmp_path):
    for args in (["--help"], ["help", "set"], ["set", "--help"], ["list", "-h"], ["show", "--help"],
                 ["delete", "--help"]):
        p = run_cli(["change-window"] + args)
        assert p.returncode == 0 and p.stdout.startswith("Usage: tollgate change-window"), (args, p.stdout)
    p = run_cli(["help", "change-window"])
    assert p.returncode == 0 and "set FILE" in p.stdout, p.stdout
    p = run_cli(["--help"])
    assert "change-window" in p.stdout, p.stdout
    env = cli_env(cb)
    p = run_cli(["change-window", "set", str(tmp_path / "missing.json")], env)
    assert p.returncode == 1 and "cannot read" in p.stderr, p.stderr
    p = run_cli(["change-window", "set", "-"], env, stdin="{not json")
    assert p.returncode == 1 and "not valid JSON" in p.stderr, p.stderr
    p = run_cli(["change-window", "set", "-"], env, stdin='{"resources": ["Device:a"]}')
    assert p.returncode == 1 and '"name"' in p.stderr, p.stderr
