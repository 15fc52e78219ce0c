# test_monitor.py - the behaviour monitor end to end (docs/monitoring.md):
# brokers with a short learning window, workloads whose normal traffic
# (token issuance and /v1/authorize decisions) raises nothing, then
# misbehaviour that each raises its alert with the right identity and
# evidence: a new action, a token used from another address than it was
# issued to, a revoked token presented, a burst of denies. Dry run records
# the containment without doing it; enforce suspends the identity and
# revokes its tokens (refused at /v1/authorize and introspection) until an
# operator releases it. Alerts are acknowledged, reach a webhook (a small
# local HTTP server), are counted in /metrics, and the API answers bad
# input with problem+json. A second replay (its own broker) reaches the
# other detectors: a new resource, a rate spike, use from an operator
# workstation range and by a browser (an edge's shipped record with its
# user agent, also one longer than the monitor keeps), a grant ended unused and one used below
# monitor_grant_min_use; its normal identities raise nothing. off_hours is
# not here: it judges the chain's own record time (the broker's clock),
# so an end-to-end case would need hours of traffic or a fake clock; the
# unit test (tests/unit/test_monitor.c) covers it. Every wait polls for
# its event.
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import test_operators as ops
from test_edge_audit import Caller, record
from test_grants import Op, act, active_grant
from tollgate_e2e import (E2E_POLICY, SLOW, assert_problem, audit_records, cli_env, free_port, parse_metrics,
                          run_cli, wait_for)

LEARN = 3  # s: monitor_learning_window of these brokers
TWO_SCOPES = "orders.read@Api:orders orders.write@Api:orders"
CONTAIN = "deny_burst:high=suspend+end_grants+revoke_tokens"
WAIT = 30 * SLOW


class Webhook:
    """A local HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self):
        self.bodies = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook():
    w = Webhook()
    yield w
    w.stop()


def monitor_args(mode, learn=LEARN, **more):
    args = ["--set", "monitor=true", "--set", f"monitor_learning_window={learn}", "--set", "monitor_cooldown=0",
            "--set", "monitor_deny_burst=5", "--set", f"monitor_containment={mode}", "--set", f"monitor_contain={CONTAIN}"]
    for k, v in more.items():
        args += ["--set", f"{k}={v}"]
    return args


def alerts(b, **query):
    r = b.api("GET", "/v1/alerts", params=query)
    assert r.status_code == 200, r.text
    return r.json()["alerts"]


def wait_alert(b, identity, detector):
    return wait_for(f"a {detector} alert for {identity}",
                    lambda: next((a for a in alerts(b, identity=identity) if a["detector"] == detector), None), WAIT)


def caught_up(b):
    """Waits until the monitor has read every record of the chain."""
    head = audit_records(b)[-1]["seq"]
    wait_for(f"the monitor to read up to seq {head}",
             lambda: parse_metrics(b.metrics()).get("tollgate_monitor_cursor", 0) >= head, WAIT)


def authorize(b, token, action="orders.read", resource='Api::"orders"', src=None):
    body = {"token": token, "action": action, "resource": resource}
    if src is not None:
        body["context"] = {"src_ip": {"__extn": {"fn": "ip", "arg": src}}}
    return b.authorize(**body)


def normal_traffic(b, token, n=5):
    for _ in range(n):
        assert authorize(b, token)["decision"] == "allow"


def probe(b, token, n=5):
    """Requests outside the token's scope: each a deny."""
    for _ in range(n):
        assert authorize(b, token, resource='Api::"billing"')["decision"] == "deny"


# ---- dry run: detectors, alerts, ack, webhook, metrics ----

@pytest.fixture(scope="module")
def dry(broker_factory, webhook):
    b = broker_factory(args=monitor_args("dry_run", alert_webhook=f"http://127.0.0.1:{webhook.port}/hook"))
    ids = {name: b.create_identity() for name in ("normal", "new", "src", "rev", "probe")}
    tokens = {name: b.issue(ident, TWO_SCOPES) for name, ident in ids.items()}
    for t in tokens.values():
        normal_traffic(b, t)
    time.sleep(LEARN + 0.5)  # let the learning window pass (not an assertion: the baseline needs the time)
    normal_traffic(b, tokens["normal"])
    assert authorize(b, tokens["new"], action="orders.write")["decision"] == "allow"
    assert authorize(b, tokens["src"], src="203.0.113.9")["decision"] == "allow"
    b.revoke(tokens["rev"], as_ident=ids["rev"])
    assert authorize(b, tokens["rev"])["decision"] == "deny"
    probe(b, tokens["probe"])
    return b, ids, tokens


def test_each_misbehaviour_raises_its_alert(dry):
    b, ids, _ = dry
    a = wait_alert(b, ids["new"].id, "new_action")
    assert a["severity"] == "medium" and a["evidence"]["action"] == "orders.write"
    a = wait_alert(b, ids["src"].id, "foreign_source")
    assert a["severity"] == "high"
    assert a["evidence"]["src"] == "203.0.113.9" and a["evidence"]["issued_to"] == "127.0.0.1"
    a = wait_alert(b, ids["rev"].id, "revoked_token")
    assert a["severity"] == "high" and a["evidence"]["jti"]
    a = wait_alert(b, ids["probe"].id, "deny_burst")
    assert a["severity"] == "high" and a["evidence"]["denies"] == 5
    # each alert names the record that raised it
    rec = audit_records(b, after=a["evidence"]["seq"] - 1, limit=1)[0]
    assert rec["seq"] == a["evidence"]["seq"] and rec["type"] == "authz.deny" and rec["actor"] == ids["probe"].id


def test_normal_traffic_raises_nothing(dry):
    b, ids, _ = dry
    wait_alert(b, ids["probe"].id, "deny_burst")
    caught_up(b)
    assert alerts(b, identity=ids["normal"].id) == []
    # and nothing beyond the one alert each misbehaviour earned: no false positives
    found = sorted((a["identity"], a["detector"]) for a in alerts(b))
    assert found == sorted([(ids["new"].id, "new_action"), (ids["src"].id, "foreign_source"),
                            (ids["rev"].id, "revoked_token"), (ids["probe"].id, "deny_burst")])


def test_dry_run_records_containment_without_doing_it(dry):
    b, ids, tokens = dry
    a = wait_alert(b, ids["probe"].id, "deny_burst")
    assert a["containment"]["mode"] == "dry_run"
    assert a["containment"]["actions"] == ["suspend", "end_grants", "revoke_tokens"]
    assert "results" not in a["containment"]
    assert b.api("GET", f"/v1/identities/{ids['probe'].id}").json()["status"] == "active"
    assert authorize(b, tokens["probe"])["decision"] == "allow"
    rec = [r for r in audit_records(b, type="monitor.alert") if r["details"]["alert"] == a["id"]]
    assert len(rec) == 1 and rec[0]["details"]["containment"]["mode"] == "dry_run"
    assert rec[0]["resource"] == f"Identity:{ids['probe'].id}" and rec[0]["actor"] == "monitor"
    assert audit_records(b, type="identity.suspended") == []
    # alerts without a rule get no containment
    assert wait_alert(b, ids["new"].id, "new_action")["containment"] is None
    assert_problem(b.api("POST", f"/v1/alerts/{a['id']}/release"), 409)


def test_webhook_and_metrics(dry, webhook):
    b, ids, _ = dry
    a = wait_alert(b, ids["probe"].id, "deny_burst")
    got = wait_for("the alert at the webhook", lambda: [x for x in webhook.bodies if x.get("id") == a["id"]], WAIT)
    assert got[0]["detector"] == "deny_burst" and got[0]["identity"] == ids["probe"].id
    m = parse_metrics(b.metrics())
    assert m['tollgate_monitor_alerts_total{detector="deny_burst",severity="high"}'] == 1
    assert m['tollgate_monitor_alerts_total{detector="new_action",severity="medium"}'] == 1
    assert m['tollgate_monitor_containments_total{action="suspend",mode="dry_run"}'] == 1
    assert m['tollgate_monitor_containments_total{action="suspend",mode="enforce"}'] == 0


def test_ack(dry):
    b, ids, _ = dry
    a = wait_alert(b, ids["new"].id, "new_action")
    r = b.api("POST", f"/v1/alerts/{a['id']}/ack", {"comment": "a new release uses orders.write"})
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["state"] == "acked" and acked["acked_by"] == "admin" and acked["comment"].startswith("a new")
    assert b.api("GET", f"/v1/alerts/{a['id']}").json() == acked
    assert_problem(b.api("POST", f"/v1/alerts/{a['id']}/ack"), 409)
    assert a["id"] not in [x["id"] for x in alerts(b, state="open")]
    assert a["id"] in [x["id"] for x in alerts(b, state="acked")]
    rec = [r for r in audit_records(b, type="monitor.acked") if r["resource"] == f"Alert:{a['id']}"]
    assert len(rec) == 1 and rec[0]["actor"] == "admin"


def test_cli(dry):
    b, ids, _ = dry
    a = wait_alert(b, ids["src"].id, "foreign_source")
    env = cli_env(b)
    p = run_cli(["alerts", "list", "--json", "--identity", ids["src"].id], env)
    assert p.returncode == 0, p.stderr
    assert [x["id"] for x in json.loads(p.stdout)["alerts"]] == [a["id"]]
    p = run_cli(["alerts", "list", "--state", "open"], env)
    assert p.returncode == 0 and a["id"] in p.stdout and "foreign_source" in p.stdout
    p = run_cli(["alerts", "show", a["id"]], env)
    assert p.returncode == 0 and "issued_to" in p.stdout and "203.0.113.9" in p.stdout
    p = run_cli(["alerts", "ack", a["id"], "--comment", "known VPN move", "--json"], env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["state"] == "acked"
    p = run_cli(["alerts", "ack", a["id"]], env)
    assert p.returncode == 1 and "acknowledged already" in p.stderr
    assert run_cli(["alerts", "show", "nope"], env).returncode == 2
    assert run_cli(["alerts", "list", "--state", "closed"], env).returncode == 2
    p = run_cli(["alerts", "--help"], env)
    assert p.returncode == 0 and "release" in p.stdout


@pytest.mark.parametrize("query", [{"state": "closed"}, {"limit": "0"}, {"limit": "x"}, {"limit": "100000"},
                                   {"identity": "../etc"}, {"after": "nope"}, {"after": "al-" + "!" * 16}])
def test_list_bad_query(dry, query):
    b, _, _ = dry
    assert_problem(b.api("GET", "/v1/alerts", params=query), 400)


def test_bad_input(dry):
    b, ids, _ = dry
    a = wait_alert(b, ids["rev"].id, "revoked_token")
    assert_problem(b.api("GET", "/v1/alerts/nope"), 404)
    assert_problem(b.api("GET", "/v1/alerts/al-AAAAAAAAAAAAAAAA"), 404)
    assert_problem(b.api("POST", "/v1/alerts/al-AAAAAAAAAAAAAAAA/ack"), 404)
    path = f"/v1/alerts/{a['id']}/ack"
    for body in ({"comment": 5}, {"comment": "x" * 600}, {"comment": ""}, {"other": 1}, {"comment": "a\u0007"}):
        assert_problem(b.api("POST", path, body), 400)
    assert_problem(b.api("POST", path, data="not json", headers={"Content-Type": "application/json"}), 400)
    assert_problem(b.api("POST", path, data="[1]", headers={"Content-Type": "application/json"}), 400)
    assert_problem(b.api("POST", path, data='{"comment": "x"}', headers={"Content-Type": "text/plain"}), 415)
    big = json.dumps({"comment": "x" * (2 << 20)})
    assert_problem(b.api("POST", path, data=big, headers={"Content-Type": "application/json"}), 413)
    assert b.api("GET", f"/v1/alerts/{a['id']}").json()["state"] == "open"  # nothing changed


# ---- enforce: containment and its release ----

@pytest.fixture(scope="module")
def enforce(broker_factory):
    return broker_factory(args=monitor_args("enforce", learn=3600), name="enforce")


def test_containment_suspends_and_revokes_until_released(enforce):
    b = enforce
    w = b.create_identity()
    t1, t2 = b.issue(w, TWO_SCOPES), b.issue(w, TWO_SCOPES)
    normal_traffic(b, t1, 2)
    probe(b, t1)
    a = wait_alert(b, w.id, "deny_burst")
    wait_for("the identity suspended", lambda: b.api("GET", f"/v1/identities/{w.id}").json()["status"] == "suspended",
             WAIT)
    a = wait_for("the containment results", lambda: b.api("GET", f"/v1/alerts/{a['id']}").json()["containment"].get("results"),
                 WAIT) and b.api("GET", f"/v1/alerts/{a['id']}").json()
    res = a["containment"]["results"]
    assert res["suspend"] == "suspended"
    assert res["revoke_tokens"] == "2 of 2 live tokens revoked"
    assert res["end_grants"] == "0 of 0 active grants revoked"
    assert "tollgate alerts release" in a["containment"]["reverse"]
    # the token is refused at the decision API and at introspection
    d = authorize(b, t2)
    assert d["decision"] == "deny" and d["token"]["active"] is False
    assert b.introspect(t1)["active"] is False
    assert b.token(w, TWO_SCOPES).status_code in (400, 401)  # a suspended client gets no new token
    # audited with the alert id, through the ordinary records (feed entries)
    sus = audit_records(b, type="identity.suspended")
    assert len(sus) == 1 and sus[0]["details"]["alert"] == a["id"] and sus[0]["actor"] == "monitor"
    rev = [r for r in audit_records(b, type="token.revoked") if r["details"].get("alert") == a["id"]]
    assert len(rev) == 2 and {r["details"]["sub"] for r in rev} == {w.id}
    feed = b.api("GET", "/v1/feed", params={"since": sus[0]["seq"] - 1, "wait": 0}).json()
    assert any(e.get("kind") == "identity" and e.get("id") == w.id and e.get("state") == "suspended"
               for e in feed["entries"]), feed
    m = parse_metrics(b.metrics())
    assert m['tollgate_monitor_containments_total{action="suspend",mode="enforce"}'] == 1
    # an operator reverses it (the admin token here; operators need fresh MFA: test_access.py)
    r = b.api("POST", f"/v1/alerts/{a['id']}/release", {"comment": "probing was a misconfigured client"})
    assert r.status_code == 200, r.text
    assert r.json()["containment"]["released_by"] == "admin"
    assert b.api("GET", f"/v1/identities/{w.id}").json()["status"] == "active"
    rea = audit_records(b, type="identity.reactivated")
    assert len(rea) == 1 and rea[0]["details"]["alert"] == a["id"] and rea[0]["actor"] == "admin"
    assert_problem(b.api("POST", f"/v1/alerts/{a['id']}/release"), 409)
    t3 = b.issue(w, TWO_SCOPES)  # new tokens work again; the revoked ones stay revoked
    assert authorize(b, t3)["decision"] == "allow"
    assert b.introspect(t1)["active"] is False


def test_bad_containment_config_refused(broker_factory):
    from tollgate_e2e import Broker
    import tempfile
    for bad in (["--set", "monitor_contain=deny_burst=explode"], ["--set", "monitor_containment=sometimes"],
                ["--set", "monitor_operator_ranges=10.0.0.0/99"]):
        br = Broker(tempfile.mkdtemp(prefix="tg-monitor-"), args=["--set", "monitor=true"] + bad)
        with pytest.raises(AssertionError, match="exited"):
            br.start(timeout=10 * SLOW)
        assert "monitor" in br.log_text()


def test_containment_reaches_the_edge(broker_factory, tmp_path):
    """The denies an edge decides and ships raise the burst; the suspension
    travels back through the feed, and the edge refuses the token."""
    from edge_e2e import ORDER_ENTITIES, ORDER_POLICY, ORDER_SCOPE, Edge, allowed, edge_broker, reason, refused, until
    b = edge_broker(broker_factory, "monitor-edge", ORDER_POLICY, args=monitor_args("enforce", learn=3600),
                    entities=ORDER_ENTITIES)
    e = Edge(b, tmp_path, ["GET /orders/{id} orders.read Order:{id}"]).start()
    try:
        w = b.create_identity()
        tok = b.issue(w, ORDER_SCOPE)
        until("the edge allowing the workload", lambda: e.auth("/orders/17", token=tok), allowed)
        for _ in range(5):
            assert e.auth("/orders/666", token=tok).status_code == 403  # forbidden by policy: a deny each
        a = wait_alert(b, w.id, "deny_burst")
        assert a["evidence"]["src"] == "127.0.0.1"
        r = until("the edge refusing the contained identity's token", lambda: e.auth("/orders/17", token=tok), refused)
        assert r.status_code == 401 and reason(r) == "revoked", (r.status_code, reason(r))
    finally:
        e.stop()


# ---- the other detectors: a replay of its own ----

GRANT_POLICY = """
@id("deploy")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"deploy.run", resource == Api::"prod");

@id("rollback")
@requires_grant("1")
permit(principal in Role::"deployer", action == Action::"deploy.rollback", resource == Api::"prod");

@id("approvers")
permit(principal, action == Action::"grant.approve", resource);
"""
DEPLOY = "deploy.run@Api:prod"
ROLLBACK = "deploy.rollback@Api:prod"
ARCHIVE_SCOPES = "orders.read@Api:orders orders.read@Api:archive"
OPERATOR_NET = "10.99.0.0/16"
RATE_FLOOR = 20  # monitor_rate_floor; with monitor_rate_factor=1 the learned minutes (<= 10 requests) stay below it
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PADDED = BROWSER + " " + "x" * 400  # longer than the monitor keeps: cut, still a browser


def deploy(b, token, action="deploy.run"):
    assert b.authorize(token=token, action=action, resource='Api::"prod"')["decision"] == "allow"


def last_allow(b, identity):
    return [r for r in audit_records(b, type="authz.allow") if r["actor"] == identity][-1]


def browser_replay(b, edge, identity, edge_seq, user_agent):
    """The identity's last allowed request again, as an edge ships it,
    with a browser's User-Agent: the same action, resource, token and
    address, so nothing but the user agent is new."""
    rec = last_allow(b, identity)
    sent = record(edge_seq, allow=True, actor=identity, action=rec["action"], resource=rec["resource"],
                  jti=rec["jti"], src=rec["src"], details={"reason": "policy", "user_agent": user_agent})
    assert edge.ship([sent]) == edge_seq
    return [r for r in audit_records(b, type="authz.allow") if r["edge"] == edge.id][-1]


@pytest.fixture(scope="module")
def replay(broker_factory):
    b = broker_factory(args=ops.FAST_HASH + monitor_args(
        "dry_run", monitor_rate_floor=RATE_FLOOR, monitor_rate_factor=1, monitor_operator_ranges=OPERATOR_NET,
        monitor_grant_min_use=60), name="replay", policy=E2E_POLICY + GRANT_POLICY)
    approver = Op(b)  # logged in first, so that each grant below is active at once
    edge = Caller(b)
    ids = {name: b.create_identity() for name in ("normal", "rate", "ops", "browser", "padded")}
    ids["resource"] = b.create_identity(permit=ARCHIVE_SCOPES.split())
    tokens = {name: b.issue(ident, ARCHIVE_SCOPES if name == "resource" else TWO_SCOPES)
              for name, ident in ids.items()}
    for t in tokens.values():
        normal_traffic(b, t)
    # grants, each used (or not) while its identity learns: the first use of
    # a granted action is not what this replay is about
    grants = {}
    for name, scope in (("used", DEPLOY), ("unused", DEPLOY), ("partial", f"{DEPLOY} {ROLLBACK}")):
        ids[name] = b.create_identity(permit=[], roles=["deployer"])
        grants[name] = active_grant(b, ids[name], scope=scope, approvers=[approver])
        if name != "unused":
            tokens[name] = b.issue(ids[name], scope)
            deploy(b, tokens[name])
    deploy(b, tokens["used"])
    time.sleep(LEARN + 0.5)  # let the learning window pass (not an assertion: the baseline needs the time)
    # the normal replay after learning: the same requests, and a grant fully used that ends
    for name in ("normal", "rate", "ops", "browser", "padded", "resource"):
        normal_traffic(b, tokens[name])
    deploy(b, tokens["used"])
    assert act(b, grants["used"]["id"], "end").status_code == 200
    # misbehaviour
    for _ in range(3 * RATE_FLOOR):  # split by a minute's end, one side still holds more than RATE_FLOOR
        authorize(b, tokens["rate"])
    assert authorize(b, tokens["ops"], src="10.99.3.7")["decision"] == "allow"
    shipped = {"browser": browser_replay(b, edge, ids["browser"].id, 1, BROWSER),
               "padded": browser_replay(b, edge, ids["padded"].id, 2, PADDED)}
    assert authorize(b, tokens["resource"], resource='Api::"archive"')["decision"] == "allow"
    for name in ("unused", "partial"):
        assert act(b, grants[name]["id"], "end").status_code == 200
    return b, ids, grants, edge, shipped


def test_replay_new_resource(replay):
    b, ids, _, _, _ = replay
    a = wait_alert(b, ids["resource"].id, "new_resource")
    assert a["severity"] == "low" and a["evidence"]["resource"] == "Api:archive", a
    assert a["evidence"]["action"] == "orders.read" and a["evidence"]["baseline_size"] == 1


def test_replay_rate_spike(replay):
    b, ids, _, _, _ = replay
    a = wait_alert(b, ids["rate"].id, "rate_spike")
    ev = a["evidence"]
    # the threshold is the floor, or one more when a minute's end put part of the burst in a learned minute
    assert a["severity"] == "medium" and RATE_FLOOR <= ev["threshold"] <= RATE_FLOOR + 1, a
    assert ev["count"] == ev["threshold"] + 1
    rec = audit_records(b, after=ev["seq"] - 1, limit=1)[0]
    assert rec["type"] == "authz.allow" and rec["actor"] == ids["rate"].id
    assert len([x for x in alerts(b, identity=ids["rate"].id) if x["detector"] == "rate_spike"]) <= 2  # once a minute


def test_replay_interactive_use_from_an_operator_range(replay):
    b, ids, _, _, _ = replay
    a = wait_alert(b, ids["ops"].id, "interactive_use")
    assert a["severity"] == "high" and a["evidence"]["src"] == "10.99.3.7", a
    assert a["evidence"]["why"] == "operator workstation range"


@pytest.mark.parametrize("name, user_agent", [("browser", BROWSER), ("padded", PADDED)])
def test_replay_interactive_use_by_a_browser(replay, name, user_agent):
    b, ids, _, edge, shipped = replay
    a = wait_alert(b, ids[name].id, "interactive_use")
    assert a["severity"] == "high" and a["evidence"]["why"] == "browser user agent", a
    assert a["evidence"]["seq"] == shipped[name]["seq"]
    assert user_agent.startswith(a["evidence"]["user_agent"]) and a["evidence"]["user_agent"].startswith(BROWSER)
    assert shipped[name]["edge"] == edge.id and shipped[name]["details"]["user_agent"] == user_agent


def test_replay_unused_grants(replay):
    b, ids, grants, _, _ = replay
    a = wait_alert(b, ids["unused"].id, "unused_grant")
    ev = a["evidence"]
    assert a["severity"] == "low" and ev["grant"] == grants["unused"]["id"] and ev["uses"] == 0, a
    a = wait_alert(b, ids["partial"].id, "unused_grant")
    ev = a["evidence"]
    assert a["severity"] == "info" and ev["grant"] == grants["partial"]["id"], a
    assert (ev["uses"], ev["actions_allowed"], ev["actions_used"]) == (1, 2, 1)
    rec = audit_records(b, after=ev["seq"] - 1, limit=1)[0]
    assert rec["type"] == "grant.ended" and rec["grant"] == grants["partial"]["id"]


def test_replay_normal_traffic_raises_nothing(replay):
    """False positives on the normal replay: none. Each misbehaviour earns
    its alert and nothing else, except that the token used from an operator
    range is also a token used away from the address it was issued to
    (foreign_source, high)."""
    b, ids, _, edge, _ = replay
    for identity, detector in ((ids["partial"].id, "unused_grant"), (ids["padded"].id, "interactive_use"),
                               (ids["resource"].id, "new_resource"), (ids["rate"].id, "rate_spike")):
        wait_alert(b, identity, detector)
    caught_up(b)
    for quiet in (ids["normal"].id, ids["used"].id, edge.id):
        assert alerts(b, identity=quiet) == []
    found = sorted({(a["identity"], a["detector"]) for a in alerts(b)})
    assert found == sorted([(ids["resource"].id, "new_resource"), (ids["rate"].id, "rate_spike"),
                            (ids["ops"].id, "interactive_use"), (ids["ops"].id, "foreign_source"),
                            (ids["browser"].id, "interactive_use"), (ids["padded"].id, "interactive_use"),
                            (ids["unused"].id, "unused_grant"),
                            (ids["partial"].id, "unused_grant")])
    a = wait_alert(b, ids["ops"].id, "foreign_source")
    assert a["severity"] == "high" and a["evidence"]["issued_to"] == "127.0.0.1"
