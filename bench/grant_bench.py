#!/usr/bin/env python3
"""grant_bench.py - just-in-time grant round trips and operator logins
(issue 9) against a real `tollgate serve --dev` (fresh data directory,
127.0.0.1, free port).

grants: the policy makes `orders.write@Api:orders` need a grant with one
approval (`@requires_grant("1")`) and lets the role "approver" approve
grants on Api::"orders" (docs/grants.md, Walkthrough). Two operators in
that role, alice and bob, are created with the admin token, confirmed
with the current TOTP step's code (oathtool) and logged in with the next
step's; one workload identity per concurrent workflow (Ed25519 key). One
round trip: alice requests a grant for the workload (POST /v1/grants), bob
approves it (POST /v1/grants/{id}/approve), the workload signs a
private_key_jwt assertion (PyJWT, EdDSA) and gets a token under the grant
(POST /oauth/token, client_credentials, grant_id), and ends the grant with
that token (POST /v1/grants/{id}/end). Each answer is checked (201/200,
the grant active after the approval, ended after the end); each phase and
the whole round trip are timed. For each concurrency level W (default
1,8): W processes, each one workflow, one untimed round trip each to warm
up, then GRANTS round trips in all, spread over them. The broker runs with
`--set stepup_max_age=3600` so that the approver's MFA does not age out
during a long run.

login: a broker with the default configuration (Argon2id cost
operator_pwhash_ops / operator_pwhash_mem, read from `serve
--print-config`). A TOTP step can be used once per operator, so every
login of the timed windows has an operator of its own: they are all
created (each creation is an Argon2id hash) and confirmed before any
window. For each client count C (default 1,2,4), C threads (one keep-alive
connection each) log in LOGINS operators back to back, each with the code
of the step after the current one, computed in-process (RFC 6238, checked
against oathtool once). Measured: logins/s, p50/p99 latency, the broker's
CPU (utime + stime from /proc/PID/stat) and its peak RSS over the window
(VmHWM after clearing it through /proc/PID/clear_refs) above its idle RSS.
With --pwhash-bench, bench/pwhash_bench then measures the bare libsodium
hash at the same cost in its own process, the broker stopped (the peer).

    grant_bench.py grants --bin build/tollgate [--grants 200]
        [--concurrency 1,8] [--label L] [--out RESULTS]
    grant_bench.py login --bin build/tollgate [--logins 48]
        [--clients 1,2,4] [--pwhash-bench build/bench/pwhash_bench]
        [--label L] [--out RESULTS]
            append one result line (JSON) per level to RESULTS, or print them
    grant_bench.py report grants|login RESULTS
            prints RESULTS as a Markdown table (stdlib only)

Bounded: every HTTP call has a 30 s timeout and every run a fixed count of
round trips or logins. Needs Debian's python3 with python3-requests,
python3-jwt and python3-cryptography, and oathtool (scripts/deps.sh
--test); the broker helpers are tests/e2e/tollgate_e2e.py's."""
import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
SCOPE = "orders.write@Api:orders"
POLICY = """@id("bench-needs-a-grant")
@requires_grant("1")
permit(principal in Role::"bench", action == Action::"orders.write", resource == Api::"orders");

@id("bench-approvers")
permit(principal in Role::"approver", action == Action::"grant.approve", resource == Api::"orders");
"""
PASSWORD = "correct horse battery staple"
PHASES = ("request", "approve", "token", "end")
HTTP_TIMEOUT = 30
PROBE_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # checks totp() against oathtool


class BenchError(Exception):
    pass


def e2e():
    """tests/e2e/tollgate_e2e.py (imported late: --report needs only the stdlib)."""
    sys.path.insert(0, str(E2E_DIR))
    import tollgate_e2e
    return tollgate_e2e


def expect(r, status, what):
    if r.status_code != status:
        raise BenchError(f"{what}: {r.status_code} {r.text[:300]}")
    return r.json()


def quantiles(values):
    v = sorted(values)
    if not v:
        return {"p50": 0.0, "p99": 0.0, "mean": 0.0}
    return {"p50": 1000 * statistics.median(v), "p99": 1000 * v[min(len(v) - 1, int(0.99 * len(v)))],
            "mean": 1000 * statistics.fmean(v)}


def cpu_seconds(pid):
    """User + system CPU time of process pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU time all processes of the machine spent so far (not idle, not iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss(pid):
    """Clears VmHWM (Linux >= 4.0, needs ptrace rights on pid); False when it cannot."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def start_broker(binary, workdir, args, policy):
    t = e2e()
    t.BIN = Path(binary).resolve()
    return t.Broker(Path(workdir), args=args, policy=policy).start(timeout=30)


# ---- TOTP ----

def oathtool(secret, when=None):
    cmd = ["oathtool", "--totp", "-b", secret] + (["-N", when] if when else [])
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def totp(secret, t):
    """RFC 6238 (SHA-1, 30 s, 6 digits) of a base32 secret at Unix time t."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


def secret_of(uri):
    import urllib.parse
    return urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]


def create_operator(b, http, user, roles):
    """Creates and confirms an operator (current step's code); its TOTP secret."""
    body = expect(http.post(b.url + "/v1/operators", json={"username": user, "roles": roles, "password": PASSWORD},
                            headers={"Authorization": f"Bearer {b.admin_token}"}, timeout=HTTP_TIMEOUT),
                  201, f"creating operator {user}")
    secret = secret_of(body["otpauth_uri"])
    expect(http.post(b.url + f"/v1/operators/{user}/confirm", json={"totp": oathtool(secret)},
                     headers={"Authorization": f"Bearer {b.admin_token}"}, timeout=HTTP_TIMEOUT),
           200, f"confirming operator {user}")
    return secret


def login(http, url, user, code, close=False):
    return http.post(url + "/v1/login", json={"username": user, "password": PASSWORD, "totp": code},
                     headers={"Connection": "close"} if close else None, timeout=HTTP_TIMEOUT)


# ---- grants ----

class Workflow:
    """One workload's grant round trips, on its own keep-alive connection."""

    def __init__(self, b, ident, alice, bob):
        self.b, self.ident = b, ident
        self.http = e2e().session()
        self.requester = {"Authorization": f"Bearer {alice}"}
        self.approver = {"Authorization": f"Bearer {bob}"}

    def post(self, path, doc, headers):
        return self.http.post(self.b.url + path, json=doc, headers=headers, timeout=HTTP_TIMEOUT)

    def round_trip(self, n):
        """(start, [request, approve, token, end] seconds)."""
        t0 = time.monotonic()
        g = expect(self.post("/v1/grants", {"identity": self.ident.id, "scope": SCOPE, "duration": 300,
                                            "reason": "grant bench", "ticket": f"BENCH-{n}"}, self.requester),
                   201, "POST /v1/grants")
        t1 = time.monotonic()
        g = expect(self.post(f"/v1/grants/{g['id']}/approve", {"comment": "bench"}, self.approver),
                   200, "approve")
        if g["state"] != "active":
            raise BenchError(f"approved grant is {g['state']}, not active")
        t2 = time.monotonic()
        form = {"grant_type": "client_credentials", "scope": SCOPE, "grant_id": g["id"],
                "client_assertion_type": e2e().ASSERTION_TYPE, "client_assertion": self.b.assertion(self.ident)}
        tok = expect(self.http.post(self.b.token_endpoint, data=form, timeout=HTTP_TIMEOUT), 200,
                     "POST /oauth/token under the grant")["access_token"]
        t3 = time.monotonic()
        g = expect(self.post(f"/v1/grants/{g['id']}/end", {"reason": "done"}, {"Authorization": f"Bearer {tok}"}),
                   200, "end (the workload's token)")
        if g["state"] != "ended":
            raise BenchError(f"ended grant is {g['state']}")
        t4 = time.monotonic()
        self.last_token = tok
        return t0, [t1 - t0, t2 - t1, t3 - t2, t4 - t3]


def workflow_proc(b, ident, alice, bob, count, first, barrier, out):
    """A child process: one warm-up round trip, the barrier, count timed ones."""
    try:
        w = Workflow(b, ident, alice, bob)
        w.round_trip(first - 1)
    except Exception as e:  # reported to the parent, which fails the run
        out.put({"fatal": str(e)})
        barrier.abort()
        return
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        out.put({"fatal": "another workflow's warm-up failed"})
        return
    c0, rows, errors = os.times(), [], []
    for n in range(first, first + count):
        try:
            rows.append(w.round_trip(n))
        except Exception as e:
            errors.append(str(e))
    c1 = os.times()
    out.put({"rows": rows, "errors": errors, "cpu_s": (c1.user + c1.system) - (c0.user + c0.system),
             "last_token": w.last_token})


def grants_level(b, idents, alice, bob, grants, workers, start_n):
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    b.http.close()  # the children must not share the parent's keep-alive connection
    per = [grants // workers + (i < grants % workers) for i in range(workers)]
    procs, first = [], start_n
    for i in range(workers):
        procs.append(ctx.Process(target=workflow_proc,
                                 args=(b, idents[i], alice, bob, per[i], first + 1, barrier, out)))
        first += per[i] + 1
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    t0, c0, m0, o0 = time.monotonic(), cpu_seconds(b.proc.pid), machine_busy_seconds(), own_cpu_seconds()
    res = [out.get(timeout=600) for _ in procs]
    t1, c1, m1, o1 = time.monotonic(), cpu_seconds(b.proc.pid), machine_busy_seconds(), own_cpu_seconds()
    for p in procs:
        p.join()
    fatal = [r["fatal"] for r in res if "fatal" in r]
    if fatal:
        raise BenchError(f"warm-up round trip failed: {fatal[0]}")
    rows = [row for r in res for row in r["rows"]]
    errors = [e for r in res for e in r["errors"]]
    # The window: from the barrier to the last answer.
    seconds = t1 - t0
    phases = {name: quantiles([ph[i] for _, ph in rows]) for i, name in enumerate(PHASES)}
    return {"kind": "grants", "workflows": workers, "grants": len(rows), "seconds": seconds,
            "grants_per_s": len(rows) / seconds if seconds > 0 else 0.0,
            "round_trip": quantiles([sum(ph) for _, ph in rows]), "phases": phases,
            "errors": len(errors), "first_error": errors[0] if errors else None,
            "broker_cpu_s": c1 - c0, "client_cpu_s": sum(r["cpu_s"] for r in res) + (o1 - o0),
            "machine_cpu_s": m1 - m0, "last_token": res[-1]["last_token"]}


def check_token_inactive(b, token):
    """A token issued under a grant that has ended must be inactive."""
    r = b.introspect(token)
    if r.get("active") is not False:
        raise BenchError(f"a token under an ended grant is still active: {r}")


def run_grants(a):
    levels = [int(x) for x in a.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="tollgate-grantbench-") as d:
        b = start_broker(a.bin, d, ["--set", "stepup_max_age=3600"], POLICY)
        try:
            t = e2e()
            sessions = {}
            for user in ("alice", "bob"):
                secret = create_operator(b, b.http, user, ["approver"])
                body = expect(login(b.http, b.url, user, oathtool(secret, "now + 30 seconds")), 200,
                              f"login {user}")
                sessions[user] = body["session_token"]
            idents = [b.create_identity(f"bench-wl-{i}", permit=[], roles=["bench"], owner="team-bench")
                      for i in range(max(levels))]
            out, n = [], 0
            for w in levels:
                r = grants_level(b, idents, sessions["alice"], sessions["bob"], a.grants, w, n)
                n += a.grants + w
                check_token_inactive(b, r.pop("last_token"))
                r["label"] = a.label
                out.append(r)
            return out
        finally:
            b.stop()


# ---- login ----

def serve_config(binary):
    out = subprocess.run([binary, "serve", "--print-config"], check=True, capture_output=True, text=True).stdout
    conf = {}
    for line in out.splitlines():
        k, sep, v = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            conf[k.strip()] = v.split("#", 1)[0].strip().strip('"')
    return conf


def create_operators(b, users, parallel):
    """Creates and confirms users, parallel at a time; {user: secret}."""
    from concurrent.futures import ThreadPoolExecutor
    local = threading.local()

    def one(user):
        if not hasattr(local, "http"):
            local.http = e2e().session()
        return user, create_operator(b, local.http, user, ["auditor"])

    with ThreadPoolExecutor(parallel) as pool:
        return dict(pool.map(one, users))


def login_level(b, secrets_, clients):
    users = list(secrets_)
    lock, lat, errors = threading.Lock(), [], []
    barrier = threading.Barrier(clients + 1)

    def client(i):
        http = e2e().session()
        mine = users[i::clients]
        barrier.wait()
        for user in mine:
            code = totp(secrets_[user], time.time() + 30)
            t = time.monotonic()
            r = login(http, b.url, user, code, close=True)
            dt = time.monotonic() - t
            with lock:
                if r.status_code == 200 and r.json().get("session_token"):
                    lat.append(dt)
                else:
                    errors.append(f"{user}: {r.status_code} {r.text[:200]}")
        http.close()

    pid = b.proc.pid
    idle_rss = proc_status_kib(pid, "VmRSS")
    hwm_ok = reset_peak_rss(pid)
    ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    barrier.wait()
    t0, c0, m0, o0 = time.monotonic(), cpu_seconds(pid), machine_busy_seconds(), own_cpu_seconds()
    for t in ts:
        t.join()
    t1, c1, m1, o1 = time.monotonic(), cpu_seconds(pid), machine_busy_seconds(), own_cpu_seconds()
    q = quantiles(lat)
    return {"kind": "login", "clients": clients, "logins": len(lat), "seconds": t1 - t0,
            "per_s": len(lat) / (t1 - t0), "p50_ms": q["p50"], "p99_ms": q["p99"], "errors": len(errors),
            "first_error": errors[0] if errors else None, "broker_cpu_s": c1 - c0, "client_cpu_s": o1 - o0,
            "machine_cpu_s": m1 - m0,
            "idle_rss_kib": idle_rss, "peak_rss_kib": proc_status_kib(pid, "VmHWM") if hwm_ok else None}


def run_peer(binary, ops, mem, levels, n):
    p = subprocess.run([binary, "-o", str(ops), "-m", str(mem), "-c", levels, "-n", str(n)],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"pwhash_bench failed: {p.stderr.strip()}")
    rows = [dict(json.loads(line), kind="pwhash") for line in p.stdout.splitlines() if line.strip()]
    for r in rows:
        r["per_s"] = r["ops"] / r["seconds"]
    return rows


def run_login(a):
    levels = [int(x) for x in a.clients.split(",")]
    conf = serve_config(a.bin)
    ops, mem = int(conf["operator_pwhash_ops"]), int(conf["operator_pwhash_mem"])
    now = time.time()
    if totp(PROBE_SECRET, now) != oathtool(PROBE_SECRET, f"@{int(now)}"):
        raise BenchError("the in-process TOTP code differs from oathtool's")
    out = []
    with tempfile.TemporaryDirectory(prefix="tollgate-loginbench-") as d:
        b = start_broker(a.bin, d, [], None)
        try:
            users = {c: [f"login-{c}-{i}" for i in range(a.logins)] for c in levels}
            t0 = time.monotonic()
            secrets_ = create_operators(b, [u for c in levels for u in users[c]], a.create_parallel)
            created_s = time.monotonic() - t0
            for c in levels:
                r = login_level(b, {u: secrets_[u] for u in users[c]}, c)
                r.update(ops=ops, mem=mem, label=a.label, operators=len(secrets_), created_s=created_s)
                out.append(r)
        finally:
            b.stop()
    if a.pwhash_bench:
        for r in run_peer(a.pwhash_bench, ops, mem, a.clients, a.logins):
            r.update(ops_limit=ops, mem=mem, label=a.label)
            out.append(r)
    return out


# ---- reports ----

def fmt_ms(v):
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def cores(r, key):
    return f"{r[key] / r['seconds']:.2f}"


def other_cores(r):
    """Cores the rest of the machine kept busy in the window."""
    return f"{max(0.0, r['machine_cpu_s'] - r['broker_cpu_s'] - r['client_cpu_s']) / r['seconds']:.2f}"


def report_grants(rows):
    print("| concurrent workflows | grants | grants/s | round trip p50 ms | p99 ms "
          "| request p50 / p99 | approve p50 / p99 | token p50 / p99 | end p50 / p99 "
          "| errors | CPU cores: broker / client / other |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ph = " | ".join(f"{fmt_ms(r['phases'][p]['p50'])} / {fmt_ms(r['phases'][p]['p99'])}" for p in PHASES)
        print(f"| {r['workflows']} | {r['grants']} in {r['seconds']:.1f} s | {r['grants_per_s']:.1f} "
              f"| {fmt_ms(r['round_trip']['p50'])} | {fmt_ms(r['round_trip']['p99'])} | {ph} | {r['errors']} "
              f"| {cores(r, 'broker_cpu_s')} / {cores(r, 'client_cpu_s')} / {other_cores(r)} |")
    print()
    print("Mean share of the round trip, per phase:")
    print()
    print("| concurrent workflows | " + " | ".join(PHASES) + " |")
    print("|---:|" + "---:|" * len(PHASES))
    for r in rows:
        total = sum(r["phases"][p]["mean"] for p in PHASES) or 1
        print(f"| {r['workflows']} | " + " | ".join(
            f"{fmt_ms(r['phases'][p]['mean'])} ms ({100 * r['phases'][p]['mean'] / total:.0f} %)" for p in PHASES)
            + " |")
    for r in rows:
        if r["first_error"]:
            print(f"\nFirst error with {r['workflows']} workflows: `{r['first_error']}`")


def report_login(rows):
    logins = [r for r in rows if r["kind"] == "login"]
    peer = {r["threads"]: r for r in rows if r["kind"] == "pwhash" and r["what"] == "verify"}
    hashes = [r for r in rows if r["kind"] == "pwhash" and r["what"] == "str"]
    if not logins:
        return
    mib = logins[0]["mem"] / (1 << 20)
    print("| clients | what | done | per s | p50 ms | p99 ms | CPU cores busy | CPU per op "
          "| other processes' CPU cores: client / rest | memory |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in logins:
        c = r["clients"]
        peak = ("peak RSS " + f"{(r['peak_rss_kib'] - r['idle_rss_kib']) / 1024:,.0f} MiB above idle "
                f"({r['idle_rss_kib'] / 1024:,.0f} MiB)") if r["peak_rss_kib"] else "peak RSS not readable"
        cpu_per = 1000 * r["broker_cpu_s"] / max(1, r["logins"])
        print(f"| {c} | `POST /v1/login` (broker) | {r['logins']} in {r['seconds']:.1f} s | {r['per_s']:.2f} "
              f"| {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p99_ms'])} | {cores(r, 'broker_cpu_s')} "
              f"| {cpu_per:.0f} ms | {cores(r, 'client_cpu_s')} / {other_cores(r)} | {peak} |")
        p = peer.get(c)
        if p:
            print(f"| {c} | bare `crypto_pwhash_str_verify` (peer) | {p['ops']} in {p['seconds']:.1f} s "
                  f"| {p['per_s']:.2f} | {fmt_ms(p['p50_ms'])} | {fmt_ms(p['p99_ms'])} "
                  f"| {p['cpu_s'] / p['seconds']:.2f} | {1000 * p['cpu_s'] / p['ops']:.0f} ms "
                  f"| – / {max(0.0, p['machine_cpu_s'] - p['cpu_s']) / p['seconds']:.2f} "
                  f"| {mib:,.0f} MiB per verification in progress |")
    if peer:
        print()
        print("| clients | login p50 / bare verify p50 | logins/s / bare verifies/s |")
        print("|---:|---:|---:|")
        for r in logins:
            p = peer.get(r["clients"])
            if p:
                print(f"| {r['clients']} | {r['p50_ms'] / p['p50_ms']:.2f}× | {r['per_s'] / p['per_s']:.2f}× |")
    for h in hashes:
        print(f"\nOne `crypto_pwhash_str` (a new hash, as at operator creation), one thread: "
              f"p50 {fmt_ms(h['p50_ms'])} ms over {h['ops']}.")
    r0 = logins[0]
    print(f"\nCreating and confirming the {r0['operators']} operators before the windows took "
          f"{r0['created_s']:.1f} s.")
    for r in logins:
        if r["first_error"]:
            print(f"\nFirst error with {r['clients']} clients: `{r['first_error']}`")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grants")
    g.add_argument("--grants", type=int, default=200)
    g.add_argument("--concurrency", default="1,8")
    lg = sub.add_parser("login")
    lg.add_argument("--logins", type=int, default=48, help="logins per client count")
    lg.add_argument("--clients", default="1,2,4")
    lg.add_argument("--create-parallel", type=int, default=4)
    lg.add_argument("--pwhash-bench", help="bench/pwhash_bench binary: measure the peer too")
    for s in (g, lg):
        s.add_argument("--bin", required=True)
        s.add_argument("--label", default="this build")
        s.add_argument("--out")
    rp = sub.add_parser("report")
    rp.add_argument("what", choices=("grants", "login"))
    rp.add_argument("results")
    a = p.parse_args()
    if a.cmd == "report":
        rows = [json.loads(line) for line in open(a.results) if line.strip()]
        (report_grants if a.what == "grants" else report_login)(rows)
        return
    try:
        rows = run_grants(a) if a.cmd == "grants" else run_login(a)
    except BenchError as e:
        sys.exit(f"grant_bench: {e}")
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if a.out:
        with open(a.out, "a") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
