#!/usr/bin/env python3
"""posture_bench.py - how long the NHI hygiene report (docs/report.md,
GET /v1/reports/posture) takes for a fleet of 1,000 and 10,000 identities,
against a real `tollgate serve --dev` (fresh data directory, 127.0.0.1,
free port).

The fleet: ZONES zones of DEVICES devices each, ACTIONS actions
(plant.read, plant.write, plant.program, plant.diagnostic) as Action
entities, one role per zone permitting plant.read and plant.write on the
zone (a standing privileged permit), a permit for plant.program behind
@requires_grant, and one with a @max_ttl above the limit. N identities,
each in one zone's role, one Ed25519 key each, a tenth of them without an
owner, a tenth with a key 200 days old, a tenth created 200 days ago and
never used. The registry rows are written into the broker's SQLite store
while it is stopped (creating 10,000 identities over the API would time
the API); USED identities (default 50) get TOKENS real tokens each
(private_key_jwt) so the audit chain has usage to read. Each report is
computed from scratch per request: for every identity, policy is evaluated
on every candidate (action, resource) pair - 4 x (ZONES x (DEVICES + 1))
decisions per identity.

Timed: GET /v1/reports/posture (JSON) and ?format=html, ROUNDS (default 3)
each, one after another on one connection; the median and the slowest wall
time are reported, with the broker's CPU time for the request (utime +
stime from /proc/PID/stat: on a shared machine the wall time mostly says
how busy the machine was), the document's size, its decision count and the
1-minute load average when the fleet started.

    posture_bench.py run --bin build/tollgate [--sizes 1000,10000]
        [--rounds 3] [--out RESULTS]
    posture_bench.py report RESULTS     prints RESULTS as a Markdown table

Needs Debian's python3 with python3-requests, -jwt and -cryptography
(scripts/deps.sh --test); the broker helpers are tests/e2e/tollgate_e2e.py's."""
import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
DAY = 86400
ZONES, DEVICES, USED, TOKENS = 10, 9, 50, 4
ACTIONS = ["plant.read", "plant.write", "plant.program", "plant.diagnostic"]


def e2e():
    sys.path.insert(0, str(E2E_DIR))
    import tollgate_e2e
    return tollgate_e2e


def fleet_policy():
    out = []
    for z in range(ZONES):
        out.append(f'@id("zone-{z}")\npermit (principal in Role::"zone-{z}", '
                   f'action in [Action::"plant.read", Action::"plant.write"], resource in Zone::"z{z}");\n')
    out.append('@id("program")\n@requires_grant("1")\n'
               'permit (principal, action == Action::"plant.program", resource);\n')
    out.append('@id("diag")\n@max_ttl("86400")\n'
               'permit (principal in Role::"zone-0", action == Action::"plant.diagnostic", resource in Zone::"z0");\n')
    return "".join(out)


def fleet_entities():
    ents = [{"uid": {"type": "Action", "id": a}, "attrs": {}, "parents": []} for a in ACTIONS]
    for z in range(ZONES):
        ents.append({"uid": {"type": "Zone", "id": f"z{z}"}, "attrs": {}, "parents": []})
        ents += [{"uid": {"type": "Device", "id": f"z{z}-d{d}"}, "attrs": {},
                  "parents": [{"type": "Zone", "id": f"z{z}"}]} for d in range(DEVICES)]
    return ents


def seed(b, n):
    """n identities written into the stopped broker's store."""
    t = e2e()
    now = int(time.time())
    pub = t.Key().priv.public_key()
    from cryptography.hazmat.primitives import serialization
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    rows, keys = [], []
    for i in range(n):
        ident = f"fleet-{i:05d}"
        owner = "" if i % 10 == 1 else f"team-{i % 7}"
        created = now - 200 * DAY if i % 10 == 3 else now - 10 * DAY
        key_created = now - 200 * DAY if i % 10 == 2 else now - 10 * DAY
        rows.append((ident, "workload", owner, "active", json.dumps([f"zone-{i % ZONES}"]), created, created))
        keys.append((ident, f"kid-{i:05d}", raw, key_created))
    db = sqlite3.connect(b.data / "tollgate.db")
    with db:
        db.executemany("INSERT INTO identities (id, kind, owner, status, roles, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO identity_keys (identity_id, kid, public_key, created_at) VALUES (?, ?, ?, ?)",
                       keys)
    db.close()


def use(b):
    """USED identities created over the API, each issued TOKENS tokens."""
    for u in range(USED):
        z = u % ZONES
        ident = b.create_identity(f"user-{u:03d}", permit=[], roles=[f"zone-{z}"])
        for k in range(TOKENS):
            b.issue(ident, f"plant.read@Device:z{z}-d{k % DEVICES}")


def cpu_seconds(pid):
    """utime + stime of a process (/proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(b, fmt, rounds):
    times, cpus, size, doc = [], [], 0, None
    for _ in range(rounds):
        c0, t0 = cpu_seconds(b.proc.pid), time.perf_counter()
        r = b.api("GET", "/v1/reports/posture", params={"format": fmt}, timeout=600)
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds(b.proc.pid) - c0)
        if r.status_code != 200:
            raise SystemExit(f"report {fmt}: {r.status_code} {r.text[:300]}")
        size = len(r.content)
        if fmt == "json":
            doc = r.json()
    return times, cpus, size, doc


def run_size(binary, n, rounds):
    t = e2e()
    t.BIN = Path(binary).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        b = t.Broker(Path(tmp), policy=None).start(timeout=30)
        try:
            b.set_entities(fleet_entities())
            b.set_policy(fleet_policy())
            use(b)
            b.stop()
            seed(b, n)
            b.start(timeout=60)
            out = {"identities": n + USED, "load": os.getloadavg()[0]}
            for fmt in ("json", "html"):
                times, cpus, size, doc = timed(b, fmt, rounds)
                out[fmt] = {"median_s": statistics.median(times), "max_s": max(times), "bytes": size,
                            "cpu_s": statistics.median(cpus)}
                if doc is not None:
                    cov = doc["coverage"]
                    out["decisions"] = cov["considered"] * cov["candidate_actions"] * cov["candidate_resources"]
                    out["findings"] = doc["summary"]["findings"]
                    out["not_evaluated"] = cov["permissions_not_evaluated"]
        finally:
            b.stop()
    return out


def report(path):
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    print("| identities | policy decisions | findings | JSON: broker CPU | JSON: wall, median (slowest) | JSON size | "
          "HTML: broker CPU | HTML: wall, median (slowest) | HTML size | load average |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        j, h = r["json"], r["html"]
        print(f"| {r['identities']:,} | {r['decisions']:,} | {r['findings']:,} | {j['cpu_s']:.2f} s | "
              f"{j['median_s']:.2f} s ({j['max_s']:.2f} s) | {j['bytes'] / 1048576:.1f} MiB | {h['cpu_s']:.2f} s | "
              f"{h['median_s']:.2f} s ({h['max_s']:.2f} s) | {h['bytes'] / 1048576:.1f} MiB | {r['load']:.1f} |")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--sizes", default="1000,10000")
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--out")
    p = sub.add_parser("report")
    p.add_argument("results")
    a = ap.parse_args()
    if a.cmd == "report":
        report(a.results)
        return
    for n in (int(s) for s in a.sizes.split(",")):
        res = json.dumps(run_size(a.bin, n, a.rounds))
        if a.out:
            with open(a.out, "a") as f:
                f.write(res + "\n")
        else:
            print(res)


if __name__ == "__main__":
    main()
