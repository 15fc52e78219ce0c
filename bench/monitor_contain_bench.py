#!/usr/bin/env python3
"""monitor_contain_bench.py - how long from a misbehaving request to its
containment (docs/monitoring.md), against a real `tollgate serve --dev`
(fresh data directory, 127.0.0.1, free port) with the monitor on in
enforce mode: monitor_deny_burst = 5, and the rule
deny_burst:high=suspend+revoke_tokens.

For each of N identities (default 30): a token, then 5 requests outside
its scope through POST /v1/authorize, each denied; the clock starts when
the 5th denial is answered (the misbehaving request is on the record) and
stops when the identity.suspended record is in the feed
(GET /v1/feed?since=...&wait=..., the long poll every edge holds, so this
is the moment the broker hands the containment to the edges), and again
when GET /v1/identities/{id} shows the identity suspended. An edge applies
the feed entry on the answer to that poll (its own time: the edge section's
revocation propagation).

    monitor_contain_bench.py run --bin build/tollgate [--n 30] [--out RESULTS]
    monitor_contain_bench.py report RESULTS   prints RESULTS as a Markdown table

Needs Debian's python3 with python3-requests, -jwt and -cryptography; the
broker helpers are tests/e2e/tollgate_e2e.py's."""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
ARGS = ["--set", "monitor=true", "--set", "monitor_learning_window=3600", "--set", "monitor_deny_burst=5",
        "--set", "monitor_cooldown=0", "--set", "monitor_containment=enforce",
        "--set", "monitor_contain=deny_burst:high=suspend+revoke_tokens"]


def e2e():
    sys.path.insert(0, str(E2E_DIR))
    import tollgate_e2e
    return tollgate_e2e


def feed_has(b, since, ident):
    """Long-polls the feed from since until the identity's suspension is in it."""
    while True:
        r = b.api("GET", "/v1/feed", params={"since": since, "wait": 5})
        body = r.json()
        if any(e.get("kind") == "identity" and e.get("id") == ident and e.get("state") == "suspended"
               for e in body["entries"]):
            return
        since = body["seq"]


def run(binary, n):
    t = e2e()
    t.BIN = Path(binary).resolve()
    feed_ms, api_ms = [], []
    with tempfile.TemporaryDirectory() as tmp:
        b = t.Broker(Path(tmp), args=ARGS).start(timeout=30)
        try:
            for _ in range(n):
                w = b.create_identity()
                tok = b.issue(w, "orders.read@Api:orders")
                head = t.audit_records(b)[-1]["seq"]
                for _ in range(5):
                    b.authorize(token=tok, action="orders.read", resource='Api::"billing"')
                t0 = time.monotonic()
                feed_has(b, head, w.id)
                feed_ms.append((time.monotonic() - t0) * 1000)
                while b.api("GET", f"/v1/identities/{w.id}").json()["status"] != "suspended":
                    time.sleep(0.001)
                api_ms.append((time.monotonic() - t0) * 1000)
        finally:
            b.stop()
    return {"n": n, "feed_ms": feed_ms, "api_ms": api_ms}


def pct(v, q):
    s = sorted(v)
    return s[min(len(s) - 1, int(q * len(s)))]


def report(path):
    r = json.loads(Path(path).read_text())
    print("| from the misbehaving request's answer to | identities | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for key, what in (("feed_ms", "the suspension in the edges' feed"), ("api_ms", "the identity shown suspended")):
        v = r[key]
        print(f"| {what} | {r['n']} | {statistics.median(v):.0f} ms | {pct(v, 0.99):.0f} ms | {max(v):.0f} ms |")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--n", type=int, default=30)
    r.add_argument("--out")
    p = sub.add_parser("report")
    p.add_argument("results")
    a = ap.parse_args()
    if a.cmd == "report":
        report(a.results)
        return
    res = json.dumps(run(a.bin, a.n))
    if a.out:
        Path(a.out).write_text(res + "\n")
    else:
        print(res)


if __name__ == "__main__":
    main()
