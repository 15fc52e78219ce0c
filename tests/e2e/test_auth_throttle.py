# test_auth_throttle.py - failed client authentications are throttled per
# source address and per (address, claimed client_id): 429 with Retry-After
# after the limit, in the OAuth error form at /oauth/ and problem+json at
# /v1, before any signature check; the block doubles while the failures go
# on; other addresses are not affected. Every failure is in the audit log:
# one record each until the key is throttled, then aggregated records whose
# details.count add up to exactly what was sent, also when the broker stops
# before the flush interval. The flooding client sends from 127.0.0.2 (all
# of 127.0.0.0/8 is local on Linux), the well-behaved one from 127.0.0.1.
import threading

import pytest
import requests
import requests.adapters

from tollgate_e2e import Key, assert_oauth_error, assert_problem, audit_records, parse_metrics, wait_for

FLOOD_SRC = "127.0.0.2"


class _SourceAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, source_ip):
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source_ip, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(ip: str) -> requests.Session:
    s = requests.Session()
    s.mount("http://", _SourceAdapter(ip))
    return s


def limits(client=3, source=1000, block=1, block_max=8, flush=1, window=60, hold=0):
    """Broker flags; hold=0: a throttled request is answered at once (the
    tests of holding set it)."""
    return ["--set", f"auth_throttle_client_failures={client}", "--set", f"auth_throttle_source_failures={source}",
            "--set", f"auth_throttle_block={block}", "--set", f"auth_throttle_block_max={block_max}",
            "--set", f"auth_failure_flush_interval={flush}", "--set", f"auth_throttle_window={window}",
            "--set", f"auth_throttle_hold={hold}"]


def bad_token_request(b, s, ident, key=None):
    """POST /oauth/token from session s with an assertion for ident signed
    by a key it does not have (or by key)."""
    form = {"grant_type": "client_credentials", "scope": "orders.read@Api:orders",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": b.assertion(ident, key=key or Key())}
    return s.post(b.token_endpoint, data=form, timeout=30)


def failed_records(b, src=FLOOD_SRC):
    return [r for r in audit_records(b, type="auth.failed") if r["src"] == src]


def counted(records):
    return sum(r["details"]["count"] for r in records)


def metrics(b):
    return parse_metrics(b.metrics())


def blocked_round(b, s, ident, limit):
    """Fails until the first 429; checks that exactly limit failures came
    first and returns that 429's Retry-After (seconds)."""
    statuses = []
    while True:
        r = bad_token_request(b, s, ident)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
        assert_oauth_error(r, 401, "invalid_client")
        assert len(statuses) <= limit, statuses
    assert statuses == [401] * limit + [429], statuses
    body = assert_oauth_error(r, 429, "temporarily_unavailable")
    assert "retry after" in body["error_description"]
    return int(r.headers["Retry-After"])


def wait_unblocked(b, s, ident):
    """Polls (with refused attempts, which do not extend the block) until
    the next bad assertion is checked again; that failure is the first of
    the next round, which the caller counts."""
    wait_for("the block to end", lambda: bad_token_request(b, s, ident).status_code == 401, timeout=30,
             interval=0.1)


def test_limit_answers_429_with_retry_after_and_the_block_grows(broker_factory):
    b = broker_factory(name="throttle", args=limits(client=3))
    ident = b.create_identity()
    flood = session_from(FLOOD_SRC)
    first = blocked_round(b, flood, ident, 3)
    assert first == 1
    # Refused before the signature check: even the right key gets 429,
    # and the refused attempts are not failures.
    r = bad_token_request(b, flood, ident, key=ident.key)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    m = metrics(b)
    assert m['tollgate_auth_failures_total{method="client_assertion"}'] == 3
    assert m["tollgate_auth_throttled_total"] == 2
    # The same client from another address is not affected.
    assert b.token(ident).status_code == 200
    wait_unblocked(b, flood, ident)
    second = blocked_round(b, flood, ident, 2)
    wait_unblocked(b, flood, ident)
    third = blocked_round(b, flood, ident, 2)
    assert first <= second <= 2 and second < third <= 4, (first, second, third)
    assert b.token(ident).status_code == 200


def test_source_limit_spans_client_ids_and_v1_answers_problem_json(broker_factory):
    b = broker_factory(name="throttle-src", args=limits(client=100, source=5))
    ident = b.create_identity()
    flood = session_from(FLOOD_SRC)
    for _ in range(5):
        r = flood.get(b.url + "/v1/identities", headers={"Authorization": "Bearer " + "0" * 64}, timeout=30)
        assert_problem(r, 401)
    r = flood.get(b.url + "/v1/identities", headers={"Authorization": "Bearer " + b.admin_token}, timeout=30)
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) >= 1 and "retry after" in r.json()["detail"]
    # The whole address is throttled, OAuth endpoints too; 127.0.0.1 is not.
    assert_oauth_error(bad_token_request(b, flood, ident, key=ident.key), 429, "temporarily_unavailable")
    assert b.api("GET", "/v1/identities").status_code == 200
    assert b.token(ident).status_code == 200


def test_every_failure_is_in_the_aggregated_records(broker_factory):
    b = broker_factory(name="throttle-agg", args=limits(client=3, block=2, block_max=2))
    ident = b.create_identity()
    flood = session_from(FLOOD_SRC)
    sent = 80
    statuses = [bad_token_request(b, flood, ident).status_code for _ in range(sent)]
    assert set(statuses) == {401, 429} and statuses[:3] == [401, 401, 401], statuses
    records = wait_for("auth.failed records standing for every failure sent",
                       lambda: (lambda recs: counted(recs) == sent and recs)(failed_records(b)), timeout=30)
    assert counted(records) == sent
    singles = [r for r in records if "reasons" not in r["details"]]
    aggregated = [r for r in records if "reasons" in r["details"]]
    assert len(singles) == 3 and all(r["details"]["count"] == 1 for r in singles)
    assert aggregated and len(records) < sent // 4, len(records)
    for r in records:
        assert r["actor"] == ident.id and r["decision"] == "deny" and r["action"] == "client_assertion"
        assert r["resource"] == "/oauth/token"
    reasons = {}
    for r in aggregated:
        d = r["details"]
        assert sum(d["reasons"].values()) == d["count"] and d["first"] <= d["last"]
        for why, n in d["reasons"].items():
            reasons[why] = reasons.get(why, 0) + n
    assert reasons["throttled"] == statuses.count(429)
    m = metrics(b)
    assert m["tollgate_auth_throttled_total"] == statuses.count(429)
    assert m['tollgate_auth_failures_total{method="client_assertion"}'] == statuses.count(401)
    assert m['tollgate_auth_failure_records_total{kind="single"}'] == len(singles)
    assert m['tollgate_auth_failure_records_total{kind="aggregated"}'] == len(aggregated)


def test_random_client_ids_from_one_address_are_all_recorded(broker_factory):
    b = broker_factory(name="throttle-ids", args=limits(client=3, source=10, block=60, block_max=60))
    ident = b.create_identity()
    flood = session_from(FLOOD_SRC)
    sent = 60
    for i in range(sent):
        ghost = type(ident)(f"ghost-{i}", Key(), {})
        assert bad_token_request(b, flood, ghost).status_code in (401, 429)
    records = wait_for("auth.failed records standing for every failure sent",
                       lambda: (lambda recs: counted(recs) == sent and recs)(failed_records(b)), timeout=30)
    assert len(records) <= 12, len(records)  # 10 single failures, then the address's aggregate
    assert b.token(ident).status_code == 200


def test_pending_failures_are_recorded_at_sigterm(broker_factory):
    b = broker_factory(name="throttle-stop", args=limits(client=1, flush=3600))
    ident = b.create_identity()
    flood = session_from(FLOOD_SRC)
    sent = 25
    for _ in range(sent):
        assert bad_token_request(b, flood, ident).status_code in (401, 429)
    assert counted(failed_records(b)) == 1  # the first; the rest wait for the hour's flush
    b.stop()
    b.start()
    records = failed_records(b)
    assert counted(records) == sent and len(records) == 2, records


def test_bad_admin_bearer_at_introspect_and_revoke_is_recorded_and_throttled(broker_factory):
    b = broker_factory(name="throttle-bearer", args=limits(source=4))
    flood = session_from(FLOOD_SRC)
    bad = {"Authorization": "Bearer " + "0" * 64}
    for ep in (b.introspection_endpoint, b.revocation_endpoint, b.introspection_endpoint, b.revocation_endpoint):
        assert_oauth_error(flood.post(ep, data={"token": "x"}, headers=bad, timeout=30), 401, "invalid_client")
    r = flood.post(b.introspection_endpoint, data={"token": "x"}, headers=bad, timeout=30)
    assert_oauth_error(r, 429, "temporarily_unavailable")
    assert int(r.headers["Retry-After"]) >= 1
    records = failed_records(b)
    assert [(r["action"], r["actor"], r["details"]) for r in records[:4]] == [
        ("admin_token", None, {"reason": "invalid or expired bearer token", "count": 1})] * 4
    assert metrics(b)['tollgate_auth_failures_total{method="admin_token"}'] == 4
    # The administrator on 127.0.0.1 is not affected.
    assert b.introspect_response("x").status_code == 200


def test_held_request_keeps_no_worker_thread_and_is_answered_at_sigterm(broker_factory):
    # One worker thread, a 10 s hold and a 60 s block: the blocked address's
    # request is held while 127.0.0.1 is served by that same thread, and a
    # graceful stop answers the held request (429) and still exits 0.
    b = broker_factory(name="throttle-hold", args=limits(client=1, block=60, block_max=60, hold=10) +
                       ["--set", "threads=1"])
    ident = b.create_identity()
    flood = session_from(FLOOD_SRC)
    assert_oauth_error(bad_token_request(b, flood, ident), 401, "invalid_client")
    answer = {}

    def held_request():
        answer["r"] = bad_token_request(b, flood, ident)

    t = threading.Thread(target=held_request)
    t.start()
    wait_for("the request to be throttled", lambda: metrics(b)["tollgate_auth_throttled_total"] == 1, timeout=30)
    assert b.token(ident).status_code == 200
    assert t.is_alive(), "the held request was answered before its hold ended"
    b.stop()
    t.join(timeout=30)
    r = answer["r"]
    assert_oauth_error(r, 429, "temporarily_unavailable")
    assert int(r.headers["Retry-After"]) > 10
