# test_metrics.py - GET /metrics is Prometheus text (format 0.0.4) whose
# counters match what the broker did: tokens issued, HTTP requests by route
# and status, authentication failures, and a consistent latency histogram.
import collections
import threading
import time

import pytest

from tollgate_e2e import Key, parse_metrics, session

ISSUED = 5


@pytest.fixture(scope="module")
def mb(broker_factory):
    b = broker_factory(name="metrics")
    ident = b.create_identity()
    for _ in range(ISSUED):
        b.issue(ident)
    b.token(ident, dpop=b.dpop_proof(Key(), htm="GET"))                  # 400 invalid_dpop_proof
    b.token(ident, assertion=b.assertion(ident, key=Key()))               # 401 client assertion
    b.token(ident, "orders.read@Api:elsewhere")                           # 400 invalid_scope
    b.api("GET", "/v1/identities", token="0" * 64)                        # 401 admin token
    b.get("/no/such/path")                                                # 404
    b.ident = ident
    return b


def wait_for(b, predicate, timeout=3):
    """Request counters are updated when a response completes, which can be
    a moment after the client has it: poll briefly."""
    deadline = time.monotonic() + timeout
    while True:
        m = parse_metrics(b.metrics())
        if predicate(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def test_content_type(mb):
    r = mb.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain") and "version=0.0.4" in r.headers["Content-Type"]


def test_every_line_is_prometheus_text(mb):
    text = mb.metrics()
    m = parse_metrics(text)  # fails on any malformed line
    for family, kind in [("tollgate_http_requests_total", "counter"), ("tollgate_tokens_issued_total", "counter"),
                         ("tollgate_auth_failures_total", "counter"),
                         ("tollgate_http_request_duration_seconds", "histogram")]:
        assert f"# TYPE {family} {kind}" in text, family
        assert f"# HELP {family} " in text, family
    assert m


def test_tokens_issued_matches(mb):
    m = parse_metrics(mb.metrics())
    assert m["tollgate_tokens_issued_total"] == ISSUED
    mb.issue(mb.ident)
    assert parse_metrics(mb.metrics())["tollgate_tokens_issued_total"] == ISSUED + 1


def test_requests_by_route_and_status(mb):
    m = wait_for(mb, lambda m: m.get('tollgate_http_requests_total{route="not_found",status="404"}') == 1)
    assert m['tollgate_http_requests_total{route="token",status="200"}'] >= ISSUED
    assert m['tollgate_http_requests_total{route="token",status="400"}'] == 2
    assert m['tollgate_http_requests_total{route="token",status="401"}'] == 1
    assert m['tollgate_http_requests_total{route="identities",status="201"}'] == 1
    assert m['tollgate_http_requests_total{route="identities",status="401"}'] == 1
    assert m['tollgate_http_requests_total{route="not_found",status="404"}'] == 1
    before = m.get('tollgate_http_requests_total{route="healthz",status="200"}', 0)
    for _ in range(3):
        mb.get("/healthz")
    m = wait_for(mb, lambda m: m.get('tollgate_http_requests_total{route="healthz",status="200"}') == before + 3)
    assert m['tollgate_http_requests_total{route="healthz",status="200"}'] == before + 3


def test_auth_failures(mb):
    m = parse_metrics(mb.metrics())
    assert m['tollgate_auth_failures_total{method="client_assertion"}'] == 1
    assert m['tollgate_auth_failures_total{method="dpop"}'] == 1
    assert m['tollgate_auth_failures_total{method="admin_token"}'] == 1


def test_histogram_is_consistent(mb):
    m = parse_metrics(mb.metrics())
    buckets = sorted(((float(k.split('le="')[1].split('"')[0]), v) for k, v in m.items()
                      if k.startswith("tollgate_http_request_duration_seconds_bucket")), key=lambda x: x[0])
    assert len(buckets) >= 5 and buckets[-1][0] == float("inf")
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "histogram buckets must be cumulative"
    assert counts[-1] == m["tollgate_http_request_duration_seconds_count"]
    assert m["tollgate_http_request_duration_seconds_count"] >= ISSUED + 5
    assert 0 < m["tollgate_http_request_duration_seconds_sum"] < 60
    total = sum(v for k, v in m.items() if k.startswith("tollgate_http_requests_total"))
    assert total == m["tollgate_http_request_duration_seconds_count"]


def test_metrics_hold_no_secrets(mb):
    text = mb.metrics()
    assert mb.admin_token not in text and "eyJ" not in text


def test_concurrent_first_requests_register_each_route_once(broker_factory):
    # Routes register on first use from whichever HTTP thread gets there
    # first; racing first requests must still yield one series per
    # route/status (a lost or doubled registration duplicates or drops one).
    # (Before start-up only /healthz and the metadata have been requested.)
    b = broker_factory(["--set", "threads=8"], name="metrics-race")
    paths = ["/.well-known/jwks.json", "/v1/keys/rotate", "/no/such", "/v1/identities",
             "/v1/keys", "/v1/identities/x", "/oauth/token"]
    barrier = threading.Barrier(len(paths) * 3)

    def hit(path):
        with session() as s:
            barrier.wait()
            s.get(b.url + path, timeout=10)

    threads = [threading.Thread(target=hit, args=(p,)) for p in paths * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect = {("jwks", "200"): 3, ("not_found", "404"): 3, ("identities", "401"): 3, ("keys", "401"): 3,
              ("identity", "401"): 3, ("method_not_allowed", "other"): 6}
    want = {f'tollgate_http_requests_total{{route="{r}",status="{s}"}}': n for (r, s), n in expect.items()}
    m = wait_for(b, lambda m: all(m.get(k) == v for k, v in want.items()))
    series = [l.rsplit(" ", 1)[0] for l in b.metrics().splitlines() if l.startswith("tollgate_http_requests_total")]
    assert [s for s, n in collections.Counter(series).items() if n > 1] == []
    for k, v in want.items():
        assert m.get(k) == v, (k, m.get(k))
