#!/usr/bin/env python3
"""auth_flood_bench.py - does a flood of failed client authentications from
one address slow down other clients' token issuance?

Starts `tollgate serve --dev` (fresh data directory, 127.0.0.1, free port),
installs one permit for the role "bench", creates the issuing identities and
one identity the flood claims to be. Issuers: PROCS processes of THREADS
threads, each a keep-alive connection from 127.0.0.1 that signs a fresh
private_key_jwt assertion (EdDSA) and asks for a token, back to back. After
a warm-up, a baseline window measures their tokens/s with no flood; then
FLOOD_PROCS processes (8) send FLOOD pre-generated assertions for the flood
identity signed with a key it does not have, from 127.0.0.2 (all of
127.0.0.0/8 is local on Linux), each on one keep-alive connection, 32
requests pipelined at a time, as fast as the broker answers, and the
issuers' tokens/s is measured over the flood's duration. Finally the auth.failed records from 127.0.0.2 are read
back through GET /v1/audit until their details.count (1 for a record
without one) add up to the failures sent, or 15 s pass.

    auth_flood_bench.py --bin build/tollgate [--label L] [--flood 10000]
        [--procs 2] [--threads 4] [--flood-procs 8] [--warmup 1]
        [--baseline 5] [--max-flood 30] [--out RESULTS]
            appends one result line (JSON) to RESULTS, or prints it
    auth_flood_bench.py --report RESULTS
            prints RESULTS as a Markdown table

Bounded: the flood phase stops after --max-flood seconds (the table says
how many were answered by then: a broker that holds a throttled request
before its 429 answers a flood at the pace of its connections); everything
else takes a few seconds."""
import argparse
import base64
import http.client
import json
import multiprocessing as mp
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

FLOOD_SRC = "127.0.0.2"
PIPELINE = 32
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")
SCOPE = "orders.read@Api:orders"
POLICY = '@id("bench")\npermit(principal in Role::"bench", action == Action::"orders.read", resource == Api::"orders");\n'
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: Ed25519PrivateKey, client_id: str, aud: str) -> str:
    now = int(time.time())
    head = b64u(json.dumps({"alg": "EdDSA", "typ": "JWT"}).encode())
    body = b64u(json.dumps({"iss": client_id, "sub": client_id, "aud": aud, "jti": secrets.token_urlsafe(12),
                            "iat": now, "exp": now + 120}).encode())
    si = f"{head}.{body}".encode()
    return f"{head}.{body}.{b64u(key.sign(si))}"


def token_form(key, client_id, aud) -> str:
    return urllib.parse.urlencode({"grant_type": "client_credentials", "scope": SCOPE,
                                   "client_assertion_type": ASSERTION_TYPE,
                                   "client_assertion": assertion(key, client_id, aud)})


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class Conn:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, port, source=None):
        self.port, self.source, self.c = port, source, None

    def post(self, path, body):
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                                        source_address=(self.source, 0) if self.source else None)
                self.c.request("POST", path, body=body, headers=FORM_HEADERS)
                r = self.c.getresponse()
                r.read()
                return r.status
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    return 0


# ---- workers (processes) ----

def issuer_proc(port, path, aud, idents, threads, stop, out):
    import threading
    done = []

    def loop(i):
        client_id, pem = idents[i % len(idents)]
        key = serialization.load_pem_private_key(pem, password=None)
        c = Conn(port)
        while not stop.is_set():
            body = token_form(key, client_id, aud)
            t = time.monotonic()
            status = c.post(path, body)
            done.append((time.monotonic(), time.monotonic() - t, status))

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(done)


def flood_proc(port, path, bodies, deadline, nice, out):
    """Sends bodies from FLOOD_SRC, pipelined PIPELINE at a time on one
    keep-alive connection (so that the flooding client costs little CPU and
    the broker, not the client, sets the pace), and counts the answers by
    status."""
    reqs = [(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
             f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(b)}\r\n\r\n{b}").encode()
            for b in bodies]
    os.nice(nice)
    statuses = {}
    t0 = time.monotonic()
    sent = written = 0
    sock, buf = None, b""
    while sent < len(reqs) and time.monotonic() < deadline:
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(FLOOD_SRC, 0))
            buf = b""
        batch = reqs[sent:sent + PIPELINE]
        got = 0
        try:
            sock.sendall(b"".join(batch))
            written += len(batch)
            while got < len(batch):
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                data = sock.recv(1 << 16)
                if not data:
                    raise ConnectionError("closed")
                buf += data
                end = 0
                for m in STATUS_LINE.finditer(buf):
                    code = m.group(1).decode()
                    statuses[code] = statuses.get(code, 0) + 1
                    got += 1
                    end = m.end()
                buf = buf[end:]
        except socket.timeout:  # the deadline: what is unanswered was not sent
            sent += got
            break
        except OSError:
            sock.close()
            sock = None
        sent += got
    if sock is not None:
        sock.close()
    cpu = os.times()
    out.put({"t0": t0, "t1": time.monotonic(), "sent": sent, "written": written, "statuses": statuses,
             "cpu_s": cpu.user + cpu.system})


# ---- the broker ----

def cpu_seconds(pid):
    """User + system CPU time of process pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def api(port, token, method, path, doc=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    if doc is not None:
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=json.dumps(doc) if doc is not None else None, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body) if body else None


def start_broker(binary, data):
    port = free_port()
    log = open(os.path.join(data, "broker.log"), "wb")
    proc = subprocess.Popen([binary, "serve", "--dev", "--data", data, "--listen", f"127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            ok = c.getresponse().status == 200
            c.close()
            if ok and os.path.exists(os.path.join(data, "admin.token")):
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"auth_flood_bench: the broker did not start; see {data}/broker.log")


def stop_broker(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def create_identity(port, token, ident_id):
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    status, body = api(port, token, "POST", "/v1/identities",
                       {"id": ident_id, "kind": "workload", "owner": "bench", "roles": ["bench"],
                        "public_keys": [pub.decode()]})
    if status != 201:
        sys.exit(f"auth_flood_bench: creating {ident_id}: {status} {body}")
    return ident_id, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())


def recorded_failures(port, token):
    """(failures the auth.failed records from FLOOD_SRC stand for, records)."""
    count = records = 0
    after = 0
    while True:
        status, body = api(port, token, "GET", f"/v1/audit?type=auth.failed&limit=1000&after={after}")
        if status != 200:
            sys.exit(f"auth_flood_bench: GET /v1/audit: {status} {body}")
        for r in body["records"]:
            if r.get("src") == FLOOD_SRC:
                records += 1
                count += (r.get("details") or {}).get("count", 1)
        if body["next"] is None:
            return count, records
        after = body["next"]


# ---- the run ----

def rate(done, t0, t1):
    ok = [lat for (t, lat, s) in done if t0 <= t < t1 and s == 200]
    errors = sum(1 for (t, lat, s) in done if t0 <= t < t1 and s != 200)
    if not ok or t1 <= t0:
        return {"tokens_per_s": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": errors}
    ok.sort()
    return {"tokens_per_s": len(ok) / (t1 - t0), "p50_ms": 1000 * statistics.median(ok),
            "p99_ms": 1000 * ok[min(len(ok) - 1, int(0.99 * len(ok)))], "errors": errors}


def run(a):
    data = tempfile.mkdtemp(prefix="tollgate-flood-")
    proc = None
    try:
        proc, port = start_broker(a.bin, data)
        token = open(os.path.join(data, "admin.token")).read().strip()
        status, body = api(port, token, "PUT", "/v1/policies", {"policies": POLICY})
        if status != 200:
            sys.exit(f"auth_flood_bench: PUT /v1/policies: {status} {body}")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/.well-known/oauth-authorization-server")
        aud = json.loads(c.getresponse().read())["token_endpoint"]
        c.close()
        path = urllib.parse.urlparse(aud).path
        idents = [create_identity(port, token, f"bench-{i}") for i in range(a.procs * a.threads)]
        target, _ = create_identity(port, token, "flood-target")
        stranger = Ed25519PrivateKey.generate()
        bodies = [token_form(stranger, target, aud) for _ in range(a.flood)]

        ctx = mp.get_context("fork")
        stop, out = ctx.Event(), ctx.Queue()
        per = [idents[i * a.threads:(i + 1) * a.threads] for i in range(a.procs)]
        issuers = [ctx.Process(target=issuer_proc, args=(port, path, aud, per[i], a.threads, stop, out))
                   for i in range(a.procs)]
        for p in issuers:
            p.start()
        time.sleep(a.warmup)
        b0, c0 = time.monotonic(), cpu_seconds(proc.pid)
        time.sleep(a.baseline)
        b1, c1 = time.monotonic(), cpu_seconds(proc.pid)
        fout = ctx.Queue()
        deadline = time.monotonic() + a.max_flood
        chunk = (len(bodies) + a.flood_procs - 1) // a.flood_procs
        floods = [ctx.Process(target=flood_proc, args=(port, path, bodies[i * chunk:(i + 1) * chunk], deadline, a.flood_nice, fout))
                  for i in range(a.flood_procs)]
        for p in floods:
            p.start()
        fres = [fout.get() for _ in floods]
        c2 = cpu_seconds(proc.pid)
        for p in floods:
            p.join()
        stop.set()
        done = []
        for _ in issuers:
            done += out.get()
        for p in issuers:
            p.join()
        f0, f1 = min(r["t0"] for r in fres), max(r["t1"] for r in fres)
        sent = sum(r["sent"] for r in fres)
        written = sum(r["written"] for r in fres)
        statuses = {}
        for r in fres:
            for s, n in r["statuses"].items():
                statuses[str(s)] = statuses.get(str(s), 0) + n
        wait_until = time.monotonic() + 15
        while True:
            recorded, records = recorded_failures(port, token)
            if recorded >= sent or time.monotonic() > wait_until:
                break
            time.sleep(0.2)
        base, during = rate(done, b0, b1), rate(done, f0, f1)
        # The broker's CPU for the flood: its CPU during the flood minus what
        # the tokens issued meanwhile cost at the baseline's CPU per token
        # (an estimate: the flood's window starts a moment before c1).
        per_token = (c1 - c0) / max(1, base["tokens_per_s"] * (b1 - b0))
        flood_cpu = max(0.0, (c2 - c1) - per_token * during["tokens_per_s"] * (f1 - f0))
        return {"label": a.label, "baseline": base, "flood": during,
                "broker_cpu_s": {"baseline": c1 - c0, "flood": c2 - c1},
                "broker_us_per_flood_request": 1e6 * flood_cpu / max(1, sent),
                "flood_client_cpu_s": sum(r["cpu_s"] for r in fres),
                "flood_seconds": f1 - f0, "flood_sent": sent, "flood_written": written, "flood_statuses": statuses,
                "recorded": recorded, "records": records, "issuers": a.procs * a.threads,
                "flood_connections": a.flood_procs}
    finally:
        if proc is not None:
            stop_broker(proc)
        shutil.rmtree(data, ignore_errors=True)


def report(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("| build | issuers | tokens/s, no flood | tokens/s, during the flood | change | p99 ms, no flood / flood "
          "| flood: answered in s (answers) | broker CPU per flood request | flooding client CPU "
          "| auth.failed records (failures they stand for) |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for r in rows:
        b, f = r["baseline"], r["flood"]
        change = 100 * (f["tokens_per_s"] / b["tokens_per_s"] - 1) if b["tokens_per_s"] else 0
        answers = ", ".join(f"{n:,} × {s}" for s, n in sorted(r["flood_statuses"].items()))
        print(f"| {r['label']} | {r['issuers']} | {b['tokens_per_s']:,.0f} | {f['tokens_per_s']:,.0f} | {change:+.0f} % "
              f"| {b['p99_ms']:.1f} / {f['p99_ms']:.1f} | {r['flood_sent']:,} in {r['flood_seconds']:.1f} s ({answers}"
              f"{', ' + format(r['flood_written'] - r['flood_sent'], ',') + ' unanswered at the end' if r.get('flood_written', r['flood_sent']) > r['flood_sent'] else ''}) "
              f"| {r['broker_us_per_flood_request']:.0f} µs | {r['flood_client_cpu_s']:.1f} s "
              f"| {r['records']:,} ({r['recorded']:,}) |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin")
    p.add_argument("--label", default="this build")
    p.add_argument("--flood", type=int, default=10000)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--flood-procs", type=int, default=8)
    p.add_argument("--flood-nice", type=int, default=0,
                   help="run the flooding client at this nice value (19: it gets the CPU only when the "
                        "broker and the issuers leave some, as an attacker on another machine would)")
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--baseline", type=float, default=5)
    p.add_argument("--max-flood", type=float, default=30)
    p.add_argument("--out")
    p.add_argument("--report")
    a = p.parse_args()
    if a.report:
        report(a.report)
        return
    if not a.bin:
        p.error("--bin is required")
    line = json.dumps(run(a))
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    main()
