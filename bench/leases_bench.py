#!/usr/bin/env python3
"""leases_bench.py - dynamic PostgreSQL credentials (docs/secrets.md,
"Dynamic database credentials"): a real `tollgate serve --dev` (fresh data
directory, 127.0.0.1, free port) and a throw-away PostgreSQL cluster
(tests/e2e/pg_cluster.py: initdb + pg_ctl as the postgres user, loopback,
scram-sha-256).

Timed, from the client:
  * creation: N leases (default 200) by POST /v1/secrets/{name}/lease, one
    client and then 8 clients at once - each a scope and policy check, the
    lease row with its audit record, a client-side SCRAM hash and CREATE
    ROLE + GRANTs at the target over the admin connection the previous
    creation kept;
  * revocation through the API: the same N leases ended by DELETE
    /v1/leases/{id}, until GET /v1/leases shows none left to revoke -
    terminate sessions, REASSIGN/DROP OWNED, DROP ROLE, verify, 100 roles
    per transaction, audited per batch;
  * 10,000 leases: REVOKE_N (default 10,000) roles created in the cluster
    by one DO block and as many lease rows put into the stopped broker's
    store in state revoking (creating them through the API would time the
    creation again); the broker is started and timed until every one is
    revoked, and every role checked gone;
  * the peers: the same 10,000 roles dropped by one DO block in psql (the
    database's own work, no sessions to terminate, no verification), with
    DROP ROLE alone and with REASSIGN OWNED + DROP OWNED + DROP ROLE.

    leases_bench.py run --bin BUILD/tollgate [--n 200] [--revoke-n 10000] [--out RESULTS]
    leases_bench.py report RESULTS     prints RESULTS as a Markdown table"""
import argparse
import json
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
CREATE = ("CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{expiry}}; "
          "GRANT USAGE ON SCHEMA app TO {{name}}; GRANT SELECT ON ALL TABLES IN SCHEMA app TO {{name}};")


def helpers():
    sys.path.insert(0, str(E2E_DIR))
    import pg_cluster
    import tollgate_e2e
    return tollgate_e2e, pg_cluster


def left(b, name):
    """Leases of name not yet revoked (revoking or failed)."""
    n = 0
    for state in ("revoking", "failed", "active"):
        r = b.api("GET", "/v1/leases", params={"state": state, "secret": name, "limit": 1000})
        assert r.status_code == 200, r.text
        n += len(r.json()["leases"])
    return n


def wait_revoked(b, name, deadline_s=1800):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if left(b, name) == 0:
            return
        time.sleep(0.05)
    raise SystemExit(f"{name}: leases not revoked within {deadline_s}s")


def create_leases(b, name, token, n, clients):
    def one(_):
        r = b.api("POST", f"/v1/secrets/{name}/lease", token=token, params={"ttl": 3600})
        assert r.status_code == 201, r.text
        return r.json()["lease_id"]
    t0 = time.perf_counter()
    if clients == 1:
        ids = [one(i) for i in range(n)]
    else:
        with ThreadPoolExecutor(clients) as ex:
            ids = list(ex.map(one, range(n)))
    return ids, time.perf_counter() - t0


def seed_revoking(db, name, n, now):
    con = sqlite3.connect(db)
    with con:
        con.executemany("INSERT INTO secret_leases (id, name, role, identity, jti, state, reason, created_at,"
                        " expires_at, ended_at) VALUES (?, ?, ?, 'bench', 'bench', 'revoking', 'operator', ?, ?, ?)",
                        [(f"ls-bench{i:06d}", name, f"tg_bench_{i:06d}", now, now + 3600, now) for i in range(n)])
    con.close()


def run(args):
    t, pgc = helpers()
    with tempfile.TemporaryDirectory(prefix="tollgate-leasebench-") as work:
        work = Path(work)
        pg = pgc.PgCluster().start()
        b = t.Broker(work / "broker")
        try:
            t.BIN = Path(args.bin).resolve()
            b.start()
            pg.sql("CREATE SCHEMA app; CREATE TABLE app.orders (id int)")
            pwfile = pg.admin_password_file(work)
            name = "bench-pg"
            r = b.api("PUT", f"/v1/secrets/{name}/dynamic", {"driver": "postgres", "dsn": pg.dsn(),
                                                              "password_file": str(pwfile), "creation": CREATE,
                                                              "max_ttl": 3600})
            assert r.status_code == 200, r.text
            scope = f"secret.read@Secret:{name}"
            ident = b.create_identity(permit=[scope])
            token = b.issue(ident, scope)
            res = {"n": args.n, "revoke_n": args.revoke_n}
            ids1, res["create_1_s"] = create_leases(b, name, token, args.n, 1)
            ids8, res["create_8_s"] = create_leases(b, name, b.issue(ident, scope), args.n, 8)
            ids = ids1 + ids8
            t0 = time.perf_counter()
            for lid in ids:
                assert b.api("DELETE", f"/v1/leases/{lid}").status_code == 202
            wait_revoked(b, name)
            res["revoke_api_s"] = time.perf_counter() - t0
            res["revoke_api_n"] = len(ids)
            # 10,000 at once
            n = args.revoke_n
            b.stop()
            pg.sql(f"DO $$ BEGIN FOR i IN 0..{n - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', "
                   f"'tg_bench_' || lpad(i::text, 6, '0')); END LOOP; END $$")
            seed_revoking(b.data / "tollgate.db", name, n, int(time.time()))
            t0 = time.perf_counter()
            b.start()
            wait_revoked(b, name)
            res["revoke_bulk_s"] = time.perf_counter() - t0
            gone = pg.sql("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tg_bench_%'")
            assert gone == "0", gone
            pg.sql(f"DO $$ BEGIN FOR i IN 0..{n - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', "
                   f"'tg_peer_' || lpad(i::text, 6, '0')); END LOOP; END $$")
            t0 = time.perf_counter()
            pg.sql(f"DO $$ BEGIN FOR i IN 0..{n - 1} LOOP EXECUTE format('DROP ROLE %I', "
                   f"'tg_peer_' || lpad(i::text, 6, '0')); END LOOP; END $$")
            res["peer_drop_s"] = time.perf_counter() - t0
            pg.sql(f"DO $$ BEGIN FOR i IN 0..{n - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', "
                   f"'tg_peer_' || lpad(i::text, 6, '0')); END LOOP; END $$")
            t0 = time.perf_counter()
            pg.sql(f"DO $$ DECLARE r text; BEGIN FOR i IN 0..{n - 1} LOOP r := 'tg_peer_' || lpad(i::text, 6, '0'); "
                   "EXECUTE format('REASSIGN OWNED BY %I TO CURRENT_USER; DROP OWNED BY %I; DROP ROLE %I', r, r, r);"
                   " END LOOP; END $$")
            res["peer_full_s"] = time.perf_counter() - t0
        finally:
            b.stop()
            pg.stop()
    Path(args.out).write_text(json.dumps(res))
    report_table(res)


def report_table(res):
    n, rn = res["n"], res["revoke_n"]
    print("| what | leases | time | rate |")
    print("|---|---:|---:|---:|")
    print(f"| lease creation, 1 client (POST .../lease: check, row + audit, SCRAM hash, CREATE ROLE + GRANTs) | {n} | "
          f"{res['create_1_s']:.2f} s | {n / res['create_1_s']:.0f} /s |")
    print(f"| lease creation, 8 clients | {n} | {res['create_8_s']:.2f} s | {n / res['create_8_s']:.0f} /s |")
    print(f"| revocation through the API (DELETE /v1/leases/{{id}} each, until all revoked) | "
          f"{res['revoke_api_n']} | {res['revoke_api_s']:.2f} s | {res['revoke_api_n'] / res['revoke_api_s']:.0f} /s |")
    print(f"| revocation of {rn:,} leases (broker start to the last revoked) | {rn} | {res['revoke_bulk_s']:.2f} s | "
          f"{rn / res['revoke_bulk_s']:.0f} /s |")
    print(f"| the peer: DROP ROLE of {rn:,} roles in one DO block (psql) | {rn} | {res['peer_drop_s']:.2f} s | "
          f"{rn / res['peer_drop_s']:.0f} /s |")
    if "peer_full_s" in res:
        print(f"| the peer: REASSIGN OWNED, DROP OWNED, DROP ROLE of {rn:,} roles, one by one in one DO block | {rn} | "
              f"{res['peer_full_s']:.2f} s | {rn / res['peer_full_s']:.0f} /s |")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--n", type=int, default=200)
    r.add_argument("--revoke-n", type=int, default=10000)
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
