#!/usr/bin/env python3
"""rotation_bench.py - secret rotation end to end against PostgreSQL
(docs/secrets.md, "Rotation"): a real `tollgate serve --dev` (fresh data
directory, 127.0.0.1, free port) and a throw-away PostgreSQL cluster
(tests/e2e/pg_cluster.py: initdb + pg_ctl as the postgres user, loopback,
scram-sha-256).

N secrets (default 20), each the password of its own LOGIN role, with the
postgres driver and no grace period. Timed, from the client:
  * one at a time: POST /v1/secrets/{name}/rotate, then GET .../rotation
    every 5 ms until the rotation is over (idle, not requested) - generate,
    seal, store pending, ALTER ROLE with a client-side SCRAM hash, a login
    with the new password, promote (secret.rotated), revoke (nothing for
    PostgreSQL), a refused login with the old one, retire: each step
    persisted with its audit record;
  * all N requested at once, until the last is over (the engine rotates one
    secret at a time);
  * the peer: the same PostgreSQL work alone - the driver's set, verify new
    and verify old as three runs of tests/tools/rotation_driver_probe (one
    process each, as the exec driver would cost too).
Every rotated password is checked to log in, and the old one to be refused.

    rotation_bench.py run --bin BUILD/tollgate [--n 20] [--out RESULTS]
    rotation_bench.py report RESULTS     prints RESULTS as a Markdown table

Needs Debian's python3 with python3-requests, -jwt and -cryptography, and
the postgresql package (scripts/deps.sh --test); run as root or postgres."""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"


def helpers():
    sys.path.insert(0, str(E2E_DIR))
    import pg_cluster
    import tollgate_e2e
    return tollgate_e2e, pg_cluster


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def wait_idle(b, name, deadline_s=120):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        s = b.api("GET", f"/v1/secrets/{name}/rotation").json()
        if s["phase"] == "idle" and not s["requested"]:
            if s["failures"]:
                raise SystemExit(f"{name}: rotation failed: {s['last_error']}")
            return
        time.sleep(0.005)
    raise SystemExit(f"{name}: rotation not over within {deadline_s}s")


def read_value(t, b, name):
    scope = f"secret.read@Secret:{name}"
    ident = b.create_identity(permit=[scope])
    r = b.api("GET", f"/v1/secrets/{name}", token=b.issue(ident, scope))
    assert r.status_code == 200, r.text
    return r.json()["value"]


def probe_ops(probe, target_file, role, old, new):
    """The driver's three operations of one rotation, each its own process."""
    t0 = time.perf_counter()
    for op, a, b in (("set", new, old), ("verify", new, ""), ("verify", old, "")):
        r = subprocess.run([str(probe), str(target_file), role, op], input=f"{a}\n{b}\n", capture_output=True,
                           text=True, timeout=60)
        want = "refused" if (op, a) == ("verify", old) else "ok"
        if json.loads(r.stdout)["rc"] != want:
            raise SystemExit(f"probe {op}: {r.stdout} {r.stderr}")
    return time.perf_counter() - t0


def run(args):
    t, pgc = helpers()
    n = args.n
    probe = Path(args.bin).resolve().parent / "rotation_driver_probe"
    with tempfile.TemporaryDirectory(prefix="tollgate-rotbench-") as work:
        work = Path(work)
        pg = pgc.PgCluster().start()
        b = t.Broker(work / "broker")
        try:
            t.BIN = Path(args.bin).resolve()
            b.start()
            pwfile = pg.admin_password_file(work)
            names = []
            for i in range(n):
                role, name = f"bench_role_{i}", f"bench-db-{i}"
                pg.create_role(role, f"initial-{i}")
                r = b.api("PUT", f"/v1/secrets/{name}", {"value": f"initial-{i}", "metadata": {
                    "rotation": {"rotate_every": "30d", "grace": 0}}})
                assert r.status_code == 201, r.text
                r = b.api("PUT", f"/v1/secrets/{name}/rotation", {
                    "driver": "postgres", "dsn": pg.dsn(), "role": role, "password_file": str(pwfile)})
                assert r.status_code == 200, r.text
                names.append((name, role))
            one = []
            for name, _ in names:
                t0 = time.perf_counter()
                assert b.api("POST", f"/v1/secrets/{name}/rotate").status_code == 202
                wait_idle(b, name)
                one.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for name, _ in names:
                assert b.api("POST", f"/v1/secrets/{name}/rotate").status_code == 202
            for name, _ in names:
                wait_idle(b, name)
            all_s = time.perf_counter() - t0
            for i, (name, role) in enumerate(names):
                value = read_value(t, b, name)
                assert pg.can_login(role, value) and not pg.can_login(role, f"initial-{i}")
            peer = []
            target = work / "probe-target.json"
            for i in range(n):
                role = f"peer_role_{i}"
                pg.create_role(role, f"p-old-{i}")
                target.write_text(json.dumps({"driver": "postgres", "dsn": pg.dsn(), "role": role,
                                              "password_file": str(pwfile)}))
                peer.append(probe_ops(probe, target, role, f"p-old-{i}", f"p-new-{i}-xxxxxxxxxxxxxxxx"))
        finally:
            b.stop()
            pg.stop()
    res = {"n": n, "one_ms": [x * 1000 for x in one], "all_s": all_s, "peer_ms": [x * 1000 for x in peer]}
    Path(args.out).write_text(json.dumps(res))
    report_table(res)


def report_table(res):
    one, peer = res["one_ms"], res["peer_ms"]
    print("| what | n | p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|")
    print(f"| one rotation, request to retired (Tollgate, postgres driver) | {res['n']} | "
          f"{statistics.median(one):.0f} ms | {pct(one, 95):.0f} ms | {max(one):.0f} ms |")
    print(f"| the PostgreSQL work alone: set, verify new, verify old (rotation_driver_probe, 3 processes) | "
          f"{res['n']} | {statistics.median(peer):.0f} ms | {pct(peer, 95):.0f} ms | {max(peer):.0f} ms |")
    print()
    print(f"All {res['n']} requested at once: {res['all_s']:.2f} s until the last was retired "
          f"({res['n'] / res['all_s']:.1f} rotations/s; the engine rotates one secret at a time).")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--n", type=int, default=20)
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("results")
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        report_table(json.loads(Path(args.results).read_text()))


if __name__ == "__main__":
    main()
