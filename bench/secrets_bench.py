#!/usr/bin/env python3
"""secrets_bench.py - secret reads per second with their audit records
(docs/secrets.md, GET /v1/secrets/{name}) against a real `tollgate serve
--dev` (fresh data directory, 127.0.0.1, free port), beside the same
broker's POST /v1/authorize as the baseline.

No fair peer runs here: a secret manager on this machine (Vault is not
packaged in Debian) is not available, and reading a row of PostgreSQL over
libpq skips everything that makes a read a governed read. The baseline is
the broker's own decision API, which does the same authorization work
without the store read and the decryption: verify an access token
(signature, time, recorded, not revoked, identity active), check its scope
coverage, decide Cedar policy at request time and append one audit record
(authz.allow). A secret read does all of that (the token verified at
dispatch with its binding, then its claims again for the scope), then reads
the secret and its version from the store, unwraps the data key, opens the
value (XChaCha20-Poly1305) and commits its secret.read record before the
answer leaves.

wrk (-t2, CONNS connections, keep-alive) sends one request over and over:
GET /v1/secrets/bench-db.password (a 32-byte value) with a workload's
Bearer token whose scope covers secret.read@Secret:bench-db.password,
and POST /v1/authorize with the admin token and {"token", "action",
"resource"} for the same workload's orders.read on Api::"orders". ROUNDS
alternating rounds of WARMUP + DURATION s each; every answer must be 2xx,
and the audit trail must hold a record per request.

    secrets_bench.py run --bin build/tollgate [--duration 10] [--warmup 2]
        [--rounds 3] [--conns 16,64] [--out RESULTS]
    secrets_bench.py report RESULTS     prints RESULTS as a Markdown table

Needs wrk and Debian's python3 with python3-requests, -jwt and
-cryptography (scripts/deps.sh --test)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
SECRET = "bench-db.password"
POLICY = (f'@id("bench-secret")\npermit(principal == Workload::"bench-reader", action == Action::"secret.read", '
          f'resource == Secret::"{SECRET}");\n'
          '@id("bench-authz")\npermit(principal == Workload::"bench-reader", action == Action::"orders.read", '
          'resource == Api::"orders");\n')

WRK_LUA = r"""-- one prebuilt request (args: method, path, auth header, body or "")
local req
function init(args)
  local body = args[4] or ""
  req = wrk.format(args[1], args[2], {["Authorization"] = args[3], ["Content-Type"] = "application/json"},
                   body ~= "" and body or nil)
end
function request() return req end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def e2e():
    sys.path.insert(0, str(E2E_DIR))
    import tollgate_e2e
    return tollgate_e2e


def wrk(url, script, args, seconds, conns):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url, "--"] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not line:
        raise SystemExit(f"wrk failed ({p.returncode}): {p.stderr.strip()[:500]} {p.stdout[-500:]}")
    return json.loads(line[-1])


def audit_count(b, rtype):
    return len(e2e().audit_records(b, type=rtype))


def run(a):
    os.environ["TOLLGATE_BIN"] = a.bin
    t = e2e()
    out = {"load": os.getloadavg()[0], "rounds": []}
    with tempfile.TemporaryDirectory() as tmp:
        b = t.Broker(Path(tmp) / "b", policy=POLICY).start()
        try:
            r = b.api("PUT", f"/v1/secrets/{SECRET}", {"value": "x" * 32, "metadata": {"owner": "bench"}})
            assert r.status_code == 201, r.text
            ident = b.create_identity("bench-reader", permit=[])
            tok = b.issue(ident, f"secret.read@Secret:{SECRET} orders.read@Api:orders", ttl=3600)
            script = Path(tmp) / "bench.lua"
            script.write_text(WRK_LUA)
            body = json.dumps({"token": tok, "action": "orders.read", "resource": 'Api::"orders"'})
            variants = {
                "secret": ["GET", f"/v1/secrets/{SECRET}", f"Bearer {tok}", ""],
                "authorize": ["POST", "/v1/authorize", f"Bearer {b.admin_token}", body],
            }
            assert b.api("GET", f"/v1/secrets/{SECRET}", token=tok).status_code == 200
            assert b.authorize(token=tok, action="orders.read", resource='Api::"orders"')["decision"] == "allow"
            for conns in a.conns:
                for rnd in range(a.rounds):
                    for name, args in variants.items():
                        wrk(b.url, script, args, a.warmup, conns)
                        kind = "secret.read" if name == "secret" else "authz.allow"
                        before = audit_count(b, kind)
                        res = wrk(b.url, script, args, a.duration, conns)
                        res["audited"] = audit_count(b, kind) - before
                        res.update(variant=name, conns=conns, round=rnd)
                        out["rounds"].append(res)
                        print(json.dumps(res), file=sys.stderr)
        finally:
            b.stop()
    Path(a.out).write_text(json.dumps(out))


def report(path):
    data = json.loads(Path(path).read_text())
    rows = {}
    for r in data["rounds"]:
        rows.setdefault((r["variant"], r["conns"]), []).append(r)
    print("| request | connections | requests/s (median of rounds) | p50 | p99 | non-2xx | audit records / requests |")
    print("|---|---|---|---|---|---|---|")
    label = {"secret": "`GET /v1/secrets/{name}` (value, audited)",
             "authorize": "`POST /v1/authorize` (baseline, audited)"}
    for (variant, conns), rs in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0] != "secret")):
        rps = statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in rs)
        p50 = statistics.median(r["p50_us"] for r in rs) / 1000
        p99 = statistics.median(r["p99_us"] for r in rs) / 1000
        bad = sum(r["non2xx"] + r["errors"] for r in rs)
        audited = sum(r["audited"] for r in rs)
        reqs = sum(r["requests"] for r in rs)
        print(f"| {label[variant]} | {conns} | {rps:,.0f} | {p50:.2f} ms | {p99:.2f} ms | {bad} | "
              f"{audited:,} / {reqs:,} |")
    print(f"\nLoad average (1 min) when the run started: {data['load']:.2f}.")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--duration", type=int, default=10)
    r.add_argument("--warmup", type=int, default=2)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--conns", type=lambda s: [int(x) for x in s.split(",")], default=[16, 64])
    r.add_argument("--out", default="secrets_bench.json")
    q = sub.add_parser("report")
    q.add_argument("results")
    a = p.parse_args()
    if a.cmd == "run":
        run(a)
    else:
        report(a.results)


if __name__ == "__main__":
    main()
