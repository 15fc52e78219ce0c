#!/usr/bin/env python3
"""edge_bench.py - the edge (docs/edge.md) in front of nginx, and how fast a
revocation reaches every edge, in one run on loopback.

Starts `tollgate serve --dev` (fresh data directory, free port), one edge
identity per edge (kind edge, in a role the policy permits edge.sync on
Api::"tollgate"), workload identities and their tokens (orders.read on
Api::"orders", Bearer, 1 h), then measures:

  forward-auth  one nginx with one server per variant, all with the same
                `location /` (auth_request, the docs' auth_request_set and
                proxy_set_header lines, proxy_pass with keep-alive to an
                origin server of the same nginx answering `return 200`):
                (a)  auth_request to an internal `return 204` location (the
                     peer: forward-auth that costs nothing);
                (a') auth_request proxied over loopback (keep-alive) to an
                     nginx server answering `return 204` (the hop alone);
                (b)  auth_request proxied (keep-alive) to the edge's /auth,
                     one hot token;
                (c)  the same with 1,000 tokens, cycled by wrk's Lua script;
                (d)  wrk straight at the edge's /auth with X-Original-* (the
                     edge's decisions/s, hot token).
                wrk -t2 -c64: a warm-up of WARMUP s, then DURATION s;
                ROUNDS rounds alternating the variants; the median round.
                The CPU of wrk, nginx, the edge and the broker (utime +
                stime from /proc) and of the whole machine over each
                window; the edge's audit spool (a record per decision,
                shipped to the broker) is left to drain before each
                window and after it.
  propagation   EDGES edges on the broker; REVOCATIONS times: a token is
                issued, every edge must allow it, it is revoked (POST
                /oauth/revoke), and from the moment that call returns one
                thread per edge asks that edge's /auth in a tight loop (its
                own keep-alive connection) until it refuses with
                X-Tollgate-Reason: revoked; the sample is the time until
                the last edge refused. Meanwhile another process measures
                the broker's GET /healthz and a token issuance, one after
                the other, every PROBE_GAP s.
  1,000 feeds   the same with FEED_CLIENTS more long polls held by the
                broker (GET /v1/feed?since=HEAD&wait=30, one more edge
                identity's Bearer token, each on its own connection, asked
                again when answered, opened again when the broker closes
                it; a child process with asyncio), checked to be held
                before the first revocation; the broker started with
                max_connections_per_ip=0, max_connections=8192 and the
                open-files limit raised to the hard limit.

    edge_bench.py run --bin build/tollgate [--duration 10] [--warmup 2]
        [--rounds 3] [--edges 10] [--revocations 100] [--feed-clients 1000]
        [--only forward,edges,feeds] [--keep DIR] [--out RESULTS]
            appends one result line (JSON) per measurement to RESULTS
    edge_bench.py report RESULTS [--only forward|intake|propagation]
            prints RESULTS as the Markdown tables of docs/benchmarks.md
            (stdlib only); intake: the broker's audit intake, each drain
            of the spool after a window that left INTAKE_MIN records or
            more (records/s, the broker's CPU per record)

Bounded: fixed durations and counts; every HTTP call has a timeout; a
revocation not refused everywhere within 10 s counts as a failure. Every
process is started by this script and stopped by it (SIGTERM also unwinds;
the children get SIGTERM when it dies). Needs Debian's python3 with
python3-requests, -jwt and -cryptography (tests/e2e/tollgate_e2e.py's
broker helpers), nginx and wrk."""
import argparse
import asyncio
import ctypes
import json
import multiprocessing as mp
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
SCOPE = "orders.read@Api:orders"
EDGE_SCOPE = "edge.sync@Api:tollgate"
EDGE_ROLE = "bench-edge"
POLICY = f"""@id("bench-edges-sync")
permit(principal in Role::"{EDGE_ROLE}", action == Action::"edge.sync", resource == Api::"tollgate");

@id("bench-orders-read")
permit(principal in Role::"bench", action == Action::"orders.read", resource == Api::"orders");
"""
ROUTE = "GET /orders/{id} orders.read Api:orders"
URI = "/orders/17"
TOKEN_TTL = 3600
WORKLOADS = 10
MIX = 1000
HTTP_TIMEOUT = 30
REFUSE_DEADLINE = 10.0   # s for every edge to refuse a revoked token
MAX_FAILURES = 5         # revocations not refused everywhere before a setting stops
FEED_WAIT = 30           # the feed clients' long poll
VARIANTS = ("static", "hop", "edge", "edge_mix", "direct")
VARIANT_TEXT = {
    "static": "(a) nginx, auth_request to an internal `return 204` location (peer)",
    "hop": "(a′) nginx, auth_request proxied to an nginx `return 204` server",
    "edge": "(b) nginx, auth_request to the edge, one hot token",
    "edge_mix": "(c) nginx, auth_request to the edge, 1,000 tokens",
    "direct": "(d) wrk straight at the edge's /auth, one hot token",
}
BAR_RATIO = 0.90
INTAKE_MIN = 10000       # records in the spool for a drain to count as an intake measurement
# nginx: the same `location /` in every variant (docs/edge.md's lines, with
# keep-alive to the origin); the variants differ in the auth subrequest.
NGINX_KEEPALIVE = '            proxy_http_version 1.1;\n            proxy_set_header Connection "";\n'
NGINX_FRONT = ("        location / {\n"
               "            auth_request /_auth;\n"
               "            auth_request_set $tg_inject $upstream_http_authorization;\n"
               "            auth_request_set $tg_subject $upstream_http_x_tollgate_subject;\n"
               "            proxy_set_header Authorization $tg_inject;\n"
               "            proxy_set_header X-Tollgate-Subject $tg_subject;\n"
               "            proxy_pass http://origin;\n" + NGINX_KEEPALIVE + "        }\n")
NGINX_FORWARD = ("            internal;\n"
                 "            proxy_pass_request_body off;\n"
                 '            proxy_set_header Content-Length "";\n'
                 "            proxy_set_header X-Original-Method $request_method;\n"
                 "            proxy_set_header X-Original-URI $request_uri;\n"
                 "            proxy_set_header X-Real-IP $remote_addr;\n"
                 "            proxy_set_header X-Forwarded-Proto $scheme;\n"
                 "            proxy_set_header X-Forwarded-Host $host;\n"
                 "            proxy_set_header Host $host;\n" + NGINX_KEEPALIVE)
NGINX_AUTH = {
    "static": "        location = /_auth { internal; return 204; }\n",
    "hop": "        location = /_auth {\n" + NGINX_FORWARD + "            proxy_pass http://peer/auth;\n        }\n",
    "edge": "        location = /_auth {\n" + NGINX_FORWARD + "            proxy_pass http://edge/auth;\n        }\n",
}
BAR_P99_MS = {"edges": 100.0, "feeds": 250.0}


class BenchError(Exception):
    pass


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def e2e():
    """tests/e2e/tollgate_e2e.py (imported late: report needs only the stdlib)."""
    sys.path.insert(0, str(E2E_DIR))
    import tollgate_e2e
    return tollgate_e2e


def say(msg):
    print(f"edge_bench: {msg}", file=sys.stderr, flush=True)


# ---- processes ----

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """preexec_fn: SIGTERM to the child when this script dies (PR_SET_PDEATHSIG)."""
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def spawn(cmd, log_path, env=None, cwd=None):
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, preexec_fn=_die_with_parent)


def stop(proc, sig=signal.SIGTERM, timeout=30):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_until(what, pred, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while not pred():
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def cpu_seconds(pid):
    """User + system CPU time of process pid (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def quantiles_ms(values):
    v = sorted(values)
    if not v:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {"n": len(v), "p50": 1000 * statistics.median(v), "p99": 1000 * v[min(len(v) - 1, int(0.99 * len(v)))],
            "max": 1000 * v[-1]}


def get_raw(port, path):
    """The body of GET path on 127.0.0.1:port (a connection of its own), or
    None when it does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data.split(b"\r\n\r\n", 1)[1]
    except (OSError, IndexError):
        return None


class Edge:
    """One `tollgate edge run` on a free port: its identity (kind edge), key
    file (0600), configuration, state_dir and log in its own directory."""

    def __init__(self, binary, broker, workdir: Path, name):
        t = e2e()
        self.binary, self.name = binary, name
        self.dir = workdir / name
        self.dir.mkdir(parents=True)
        self.ident = broker.create_identity(ident_id=name, kind="edge", key=t.Key(), permit=[], roles=[EDGE_ROLE],
                                            owner="team-bench")
        key_file = self.dir / "edge.key"
        key_file.write_text(self.ident.key.priv_pem)
        os.chmod(key_file, 0o600)
        cred = self.dir / "upstream.cred"
        cred.write_text("Basic dXBzdHJlYW06YmVuY2g=\n")
        self.port = t.free_port()
        self.config = self.dir / "edge.conf"
        self.config.write_text(f"broker = {broker.url}\nidentity = {name}\nkey_file = {key_file}\n"
                               f"listen = 127.0.0.1:{self.port}\nstate_dir = {self.dir / 'state'}\n"
                               f"route = {ROUTE} inject=Authorization:file:{cred}\n")
        self.proc = None

    def start(self):
        self.proc = spawn([str(self.binary), "edge", "run", "--config", str(self.config)], self.dir / "edge.log")
        wait_until(f"edge {self.name}'s /healthz", lambda: self.health() is not None and self.health()["status"] == "ok",
                   30, self.proc)
        return self

    def health(self):
        """/healthz's JSON, or None."""
        body = get_raw(self.port, "/healthz")
        try:
            return json.loads(body) if body is not None else None
        except ValueError:
            return None

    def decisions(self):
        """The edge's decision counters by reason (/metrics)."""
        out = {}
        for line in (get_raw(self.port, "/metrics") or b"").decode(errors="replace").splitlines():
            if line.startswith("tollgate_edge_decisions_total{"):
                k, v = line.rsplit(" ", 1)
                out[k.split('"')[1]] = int(v)
        return out

    def stop(self):
        stop(self.proc)
        self.proc = None


def nginx_binary():
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if exe is None:
        raise BenchError("nginx is not installed")
    return exe


class Nginx:
    """One nginx (worker_processes auto) with a server per variant: static,
    hop and edge share `location /` and differ in the auth subrequest's
    location only; origin answers `return 200`, peer `return 204`."""

    def __init__(self, workdir: Path, edge_port):
        t = e2e()
        self.dir = workdir / "nginx"
        self.dir.mkdir()
        self.ports = {name: t.free_port() for name in ("static", "hop", "edge", "origin", "peer")}
        self.edge_port = edge_port
        self.proc = None

    def config(self):
        d, p = self.dir, self.ports
        user = "user root;\n" if os.geteuid() == 0 else ""
        temps = "".join(f"    {k}_temp_path {d}/tmp-{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))

        def server(port, body):
            return f"    server {{\n        listen 127.0.0.1:{port};\n{body}    }}\n"

        def front(auth):
            return server(p[auth], NGINX_FRONT + NGINX_AUTH[auth])
        return (f"{user}worker_processes auto;\nerror_log {d}/error.log warn;\n"
                "events { worker_connections 4096; }\nhttp {\n    access_log off;\n" + temps +
                f"    upstream origin {{ server 127.0.0.1:{p['origin']}; keepalive 128; }}\n"
                f"    upstream peer {{ server 127.0.0.1:{p['peer']}; keepalive 128; }}\n"
                f"    upstream edge {{ server 127.0.0.1:{self.edge_port}; keepalive 128; }}\n" +
                server(p["origin"], '        location / { return 200 "ok"; }\n') +
                server(p["peer"], "        location / { return 204; }\n") +
                front("static") + front("hop") + front("edge") + "}\n")

    def start(self):
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        self.proc = spawn([nginx_binary(), "-e", str(self.dir / "error.log"), "-c", str(conf), "-p", str(self.dir),
                           "-g", f"daemon off; pid {self.dir}/nginx.pid;"], self.dir / "process.log")
        for name, port in self.ports.items():
            wait_until(f"nginx on {port}", lambda: port_open(port), 20, self.proc)
        return self

    def cpu_seconds(self):
        return sum(cpu_seconds(pid) for pid in [self.proc.pid] + children(self.proc.pid))

    def stop(self):
        stop(self.proc, signal.SIGQUIT)
        self.proc = None


# ---- wrk ----

WRK_LUA = r"""-- cycles prebuilt requests, one per token of args[1]; args[2] the path,
-- args[3] "direct" adds the proxy's X-Original-* headers
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
local reqs, n, i = {}, 0, 0
function init(args)
  local direct = args[3] == "direct"
  for tok in io.lines(args[1]) do
    local h = "GET " .. (direct and "/auth" or args[2]) .. " HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port ..
              "\r\nAuthorization: Bearer " .. tok .. "\r\n"
    if direct then
      h = h .. "X-Original-Method: GET\r\nX-Original-URI: " .. args[2] .. "\r\n"
    end
    n = n + 1
    reqs[n] = h .. "\r\n"
  end
  i = ((id or 1) * 331) % n
end
function request()
  i = i % n + 1
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n', summary.requests, summary.duration, e.status,
    e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def wrk(url, script, tokens_file, seconds, direct=False, threads=2, conns=64):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url, "--",
           str(tokens_file), URI, "direct" if direct else "proxy"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=_die_with_parent)
    if p.returncode != 0:
        raise BenchError(f"wrk failed ({p.returncode}): {p.stderr.strip()[:500]}")
    line = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if not line:
        raise BenchError(f"wrk printed no result: {p.stdout[-500:]}")
    return json.loads(line[-1])


# ---- tokens ----

def issue_one(b, ident, **kw):
    """One token (asked again once when the broker closed the kept-alive
    connection just as the request went out: requests does not retry a POST)."""
    import requests
    for attempt in (1, 2):
        try:
            r = b.token(ident, SCOPE, timeout=HTTP_TIMEOUT, **kw)
            break
        except requests.ConnectionError:
            if attempt == 2:
                raise
    if r.status_code != 200:
        raise BenchError(f"token for {ident.id}: {r.status_code} {r.text[:300]}")
    return r.json()["access_token"]


def issue_tokens(b, n):
    """n Bearer tokens for orders.read@Api:orders, spread over WORKLOADS identities."""
    idents = [b.create_identity(f"bench-wl-{i}", permit=[], roles=["bench"], owner="team-bench")
              for i in range(WORKLOADS)]
    return idents, [issue_one(b, idents[i % WORKLOADS], ttl=TOKEN_TTL) for i in range(n)]


# ---- forward-auth through nginx ----

def wait_drained(edge, broker=None, timeout=180):
    """Waits until the edge's audit spool is shipped: (the backlog at the
    start, seconds it took, the broker's CPU seconds meanwhile or None)."""
    h = edge.health() or {}
    first, t0 = h.get("audit_backlog", 0), time.monotonic()
    c0 = cpu_seconds(broker.proc.pid) if broker is not None else None
    while (h or {}).get("audit_backlog", 0) > 0:
        if time.monotonic() - t0 > timeout:
            raise BenchError(f"the edge's audit spool did not drain within {timeout} s: {h}")
        time.sleep(0.05)
        h = edge.health()
    cpu = cpu_seconds(broker.proc.pid) - c0 if broker is not None else None
    return first, time.monotonic() - t0, cpu


def children_cpu_seconds():
    """CPU time of this script's waited-for children (wrk) so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cpu_sample(b, nginx, edge):
    return {"edge": cpu_seconds(edge.proc.pid), "nginx": nginx.cpu_seconds(), "broker": cpu_seconds(b.proc.pid),
            "wrk": children_cpu_seconds(), "machine": machine_busy_seconds(), "t": time.monotonic()}


def measure_variant(variant, b, nginx, edge, files, a):
    """One variant: warm-up, then the window, with each process's CPU over it."""
    direct = variant == "direct"
    port = edge.port if direct else nginx.ports["edge" if variant.startswith("edge") else variant]
    url = f"http://127.0.0.1:{port}"
    tokens = files["mix"] if variant == "edge_mix" else files["hot"]
    wrk(url, files["lua"], tokens, a.warmup, direct)
    wait_drained(edge)
    d0, c0 = edge.decisions(), cpu_sample(b, nginx, edge)
    r = wrk(url, files["lua"], tokens, a.duration, direct)
    c1, d1 = cpu_sample(b, nginx, edge), edge.decisions()
    cpu = {k: c1[k] - c0[k] for k in c0}
    ok = r["requests"] - r["non2xx"]
    r.update(kind="forward", variant=variant, seconds=cpu.pop("t"), rps=ok / (r["duration_us"] / 1e6), cpu_s=cpu,
             decisions={k: d1[k] - d0.get(k, 0) for k in d1 if d1[k] != d0.get(k, 0)})
    r["spool_backlog"], r["drain_s"], r["drain_broker_cpu_s"] = wait_drained(edge, b)
    return r


def check_variants(nginx, edge, hot):
    """Every variant answers the hot token 200 before anything is measured,
    and the edge variant refuses a request without one (it does ask the edge)."""
    http = e2e().session()
    h = {"Authorization": f"Bearer {hot}"}
    for v in ("static", "hop", "edge"):
        r = http.get(f"http://127.0.0.1:{nginx.ports[v]}{URI}", headers=h, timeout=HTTP_TIMEOUT)
        if r.status_code != 200 or r.text != "ok":
            raise BenchError(f"nginx {v}: {r.status_code} {r.text[:200]}")
    r = http.get(f"http://127.0.0.1:{nginx.ports['edge']}{URI}", timeout=HTTP_TIMEOUT)
    if r.status_code != 401:
        raise BenchError(f"nginx edge without a token: {r.status_code}, not 401")
    r = http.get(f"http://127.0.0.1:{edge.port}/auth", headers=dict(h, **{"X-Original-Method": "GET",
                                                                           "X-Original-URI": URI}),
                 timeout=HTTP_TIMEOUT)
    if r.status_code != 200 or r.headers.get("X-Tollgate-Reason") != "allow":
        raise BenchError(f"edge /auth: {r.status_code} {dict(r.headers)}")
    http.close()


def run_forward(a, workdir: Path):
    t = e2e()
    b = t.Broker(workdir / "broker", policy=POLICY).start(timeout=30)
    edge = nginx = None
    try:
        say(f"forward-auth: issuing {MIX} tokens")
        _, tokens = issue_tokens(b, MIX)
        files = {"lua": workdir / "cycle.lua", "hot": workdir / "hot.txt", "mix": workdir / "mix.txt"}
        files["lua"].write_text(WRK_LUA)
        files["hot"].write_text(tokens[0] + "\n")
        files["mix"].write_text("\n".join(tokens) + "\n")
        edge = Edge(a.bin, b, workdir, "bench-edge-fwd").start()
        nginx = Nginx(workdir, edge.port).start()
        check_variants(nginx, edge, tokens[0])
        out = []
        for rnd in range(1, a.rounds + 1):
            for v in VARIANTS:
                say(f"forward-auth round {rnd}/{a.rounds}: {v}, {a.warmup}+{a.duration} s")
                r = measure_variant(v, b, nginx, edge, files, a)
                r["round"] = rnd
                out.append(r)
        out.append({"kind": "forward_meta", "nginx": nginx_version(), "wrk": wrk_version(),
                    "edge_metrics": {k: v for k, v in edge.decisions().items() if v}})
        return out
    finally:
        if nginx:
            nginx.stop()
        if edge:
            edge.stop()
        b.stop()


def nginx_version():
    p = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True)
    return (p.stderr or p.stdout).strip().split("/")[-1]


def wrk_version():
    p = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (p.stdout or p.stderr).split()[1] if (p.stdout or p.stderr).split() else "?"


# ---- propagation ----

class AuthAsker:
    """GET /auth on one edge over one keep-alive connection, as nginx asks."""

    def __init__(self, port):
        self.port = port
        self.sock = None

    def ask(self, token):
        """(status, X-Tollgate-Reason)."""
        req = (f"GET /auth HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer {token}\r\n"
               f"X-Original-Method: GET\r\nX-Original-URI: {URI}\r\n\r\n").encode()
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock.sendall(req)
                return self._read()
            except OSError:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _read(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        need = int(headers.get("content-length", "0")) - len(body)
        while need > 0:
            chunk = self.sock.recv(need)
            if not chunk:
                raise OSError("connection closed")
            need -= len(chunk)
        return status, headers.get("x-tollgate-reason")

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Pollers:
    """One thread per edge. warm(token): each edge must allow it. race(token,
    t0): each thread asks its edge in a tight loop until it refuses with
    reason revoked; the seconds from t0 to the last refusal."""

    def __init__(self, edges):
        self.askers = [AuthAsker(e.port) for e in edges]
        self.n = len(edges)
        self.start = threading.Barrier(self.n + 1)
        self.done = threading.Barrier(self.n + 1)
        self.job = None
        self.results = [None] * self.n
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(self.n)]
        for th in self.threads:
            th.start()

    def _loop(self, i):
        while True:
            try:
                self.start.wait()
            except threading.BrokenBarrierError:
                return
            job = self.job
            if job is None:
                return
            try:
                self.results[i] = job(self.askers[i])
            except Exception as e:  # reported by the caller
                self.results[i] = e
            self.done.wait()

    def _run(self, job):
        self.job = job
        self.results = [None] * self.n
        self.start.wait()
        self.done.wait()
        for r in self.results:
            if isinstance(r, Exception):
                raise BenchError(f"asking an edge failed: {r}")
        return list(self.results)

    def warm(self, token):
        for status, why in self._run(lambda asker: asker.ask(token)):
            if status != 200:
                raise BenchError(f"an edge refused a fresh token: {status} {why}")

    def race(self, token, trigger):
        """Runs trigger(), then releases the threads: [(time.monotonic() of
        the refusal as revoked or None, asks, last reason)]; the release
        time is self.released."""

        def job(asker):
            asks = 0
            deadline = self.released + REFUSE_DEADLINE
            while True:
                status, why = asker.ask(token)
                now = time.monotonic()
                asks += 1
                if status != 200:
                    return (now if why == "revoked" else None, asks, why)
                if now > deadline:
                    return (None, asks, why)
        self.job = job
        self.results = [None] * self.n
        trigger()
        self.released = time.monotonic()
        self.start.wait()
        self.done.wait()
        for r in self.results:
            if isinstance(r, Exception):
                raise BenchError(f"asking an edge failed: {r}")
        return list(self.results)

    def close(self):
        self.job = None
        self.start.abort()
        for a in self.askers:
            a.close()


def revoke_and_race(b, http, pollers, token):
    """Revokes token; the seconds from the revoke call's return until the
    last edge refused it as revoked (None when one did not within
    REFUSE_DEADLINE), and the per-edge answers."""

    def revoke():
        r = http.post(b.revocation_endpoint, data={"token": token},
                      headers={"Authorization": f"Bearer {b.admin_token}"}, timeout=HTTP_TIMEOUT)
        if r.status_code != 200:
            raise BenchError(f"POST /oauth/revoke: {r.status_code} {r.text[:300]}")
    res = pollers.race(token, revoke)
    if any(t is None for t, _, _ in res):
        return None, res
    return max(t for t, _, _ in res) - pollers.released, res


def probe_proc(url, token_endpoint, ident_id, key_pem, gap, stop_evt, out):
    """A child process: GET /healthz and one token issuance, each timed, every gap s."""
    t = e2e()
    from cryptography.hazmat.primitives import serialization
    key = t.Key(serialization.load_pem_private_key(key_pem.encode(), None))
    http = t.session()
    health, issue, errors = [], [], []
    while not stop_evt.is_set():
        try:
            t0 = time.perf_counter()
            r = http.get(url + "/healthz", timeout=HTTP_TIMEOUT)
            t1 = time.perf_counter()
            if r.status_code == 200:
                health.append(t1 - t0)
            else:
                errors.append(f"healthz {r.status_code}")
            now = int(time.time())
            assertion = key.encode({"iss": ident_id, "sub": ident_id, "aud": token_endpoint,
                                    "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60},
                                   headers={"kid": key.thumbprint})
            form = {"grant_type": "client_credentials", "scope": SCOPE, "client_assertion_type": t.ASSERTION_TYPE,
                    "client_assertion": assertion}
            t2 = time.perf_counter()
            r = http.post(token_endpoint, data=form, timeout=HTTP_TIMEOUT)
            t3 = time.perf_counter()
            if r.status_code == 200:
                issue.append(t3 - t2)
            else:
                errors.append(f"token {r.status_code} {r.text[:100]}")
        except Exception as e:
            errors.append(str(e)[:200])
        stop_evt.wait(gap)
    out.put({"healthz": health, "token": issue, "errors": errors})


# ---- the feed clients (a child process) ----

async def _feed_poll(reader, writer, token, since):
    """One long poll on an open connection: (status, body)."""
    writer.write((f"GET /v1/feed?since={since}&wait={FEED_WAIT} HTTP/1.1\r\nHost: broker\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    return int(lines[0].split()[1]), await reader.readexactly(int(headers.get("content-length", "0")))


async def _feed_client(port, token, since, st, answered):
    """Polls for ever, asking again as soon as answered; a connection the
    broker closes is opened again (counted)."""
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            st["errors"] += 1
            st["last_error"] = str(e)
            await asyncio.sleep(1)
            continue
        st["open"] += 1
        try:
            while True:
                status, body = await _feed_poll(reader, writer, token, since)
                if status != 200:
                    st["errors"] += 1
                    st["last_error"] = f"{status} {body[:200]!r}"
                    await asyncio.sleep(5)  # a refused poll is a failed authentication: do not flood
                    continue
                doc = json.loads(body)
                st["answers"] += 1
                answered.append(time.monotonic())
                since = doc["seq"]
        except (OSError, asyncio.IncompleteReadError) as e:
            st["reconnects"] += 1
            st["last_error"] = f"connection lost: {e!r}"[:200]
        finally:
            st["open"] -= 1
            writer.close()


async def _feed_clients(port, token, since, n, ready_file):
    st = {"open": 0, "answers": 0, "errors": 0, "reconnects": 0, "last_error": None}
    answered, tasks = [], []
    for _ in range(n):
        tasks.append(asyncio.ensure_future(_feed_client(port, token, since, st, answered)))
        await asyncio.sleep(0)
    while st["open"] < n and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    Path(ready_file).write_text(json.dumps(st))
    stop_evt = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop_evt.set)
    while not stop_evt.is_set():
        try:
            await asyncio.wait_for(stop_evt.wait(), 1)
        except asyncio.TimeoutError:
            pass
        Path(ready_file).write_text(json.dumps(st))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    st["answered_at"] = answered
    return st


def run_feed_clients(a):
    st = asyncio.run(_feed_clients(a.port, Path(a.token_file).read_text().strip(), a.since, a.n, a.state))
    Path(a.state).write_text(json.dumps(st))


def answer_bursts(revoked_at, answered_at):
    """Per revocation: seconds from the revoke call's return to the last
    feed-client answer before the next revocation (how long the broker
    took to answer the polls it held)."""
    out = []
    ends = revoked_at[1:] + [float("inf")]
    answered_at = sorted(answered_at)
    for start, end in zip(revoked_at, ends):
        inside = [t for t in answered_at if start <= t < end]
        if inside:
            out.append(inside[-1] - start)
    return out


def established(port):
    """TCP connections in ESTABLISHED state whose local port is port (the broker's side)."""
    n = 0
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except OSError:
            pass
    return n


def feed_head(b, token):
    r = b.http.get(b.url + "/v1/feed?since=0&wait=0", headers={"Authorization": f"Bearer {token}"},
                   timeout=HTTP_TIMEOUT)
    if r.status_code != 200:
        raise BenchError(f"GET /v1/feed: {r.status_code} {r.text[:300]}")
    return r.json()["seq"]


def start_feed_clients(b, workdir: Path, n):
    """The feed clients' process, with all n polls held; (process, state file)."""
    t = e2e()
    extra = b.create_identity("bench-feed-clients", kind="edge", permit=[], roles=[EDGE_ROLE], owner="team-bench")
    r = b.token(extra, EDGE_SCOPE, ttl=TOKEN_TTL, timeout=HTTP_TIMEOUT)
    if r.status_code != 200 or r.json().get("token_type") != "Bearer":
        raise BenchError(f"the feed clients' token: {r.status_code} {r.text[:300]}")
    token_file, state = workdir / "feed.token", workdir / "feed-clients.json"
    token_file.write_text(r.json()["access_token"])
    head = feed_head(b, r.json()["access_token"])
    before = established(b.port)
    proc = spawn([sys.executable, __file__, "_feed_clients", "--port", str(b.port), "--token-file", str(token_file),
                  "--since", str(head), "--n", str(n), "--state", str(state)], workdir / "feed-clients.log")
    wait_until("the feed clients' connections", lambda: state.exists(), 60, proc)
    st = json.loads(state.read_text())
    if st["open"] < n:
        raise BenchError(f"only {st['open']} of {n} feed clients connected: {st}")
    time.sleep(1.0)
    st = json.loads(state.read_text())
    held = established(b.port) - before
    if st["answers"] > 0 or held < n:
        raise BenchError(f"the feed polls are not held: {st['answers']} answered, {held} connections at the broker")
    del t
    return proc, state, held


def run_propagation(a, workdir: Path, feed_clients):
    """One broker, a.edges edges, a.revocations revocations; with
    feed_clients more long polls held when > 0."""
    t = e2e()
    label = "feeds" if feed_clients else "edges"
    args = ["--set", "max_connections_per_ip=0", "--set", "max_connections=8192"] if feed_clients else []
    b = t.Broker(workdir / f"broker-{label}", args=args, policy=POLICY).start(timeout=30)
    edges, pollers, feeder, probe, stop_evt = [], None, None, None, None
    try:
        idents, _ = issue_tokens(b, 0)
        say(f"propagation ({label}): starting {a.edges} edges")
        for i in range(a.edges):
            edges.append(Edge(a.bin, b, workdir / label, f"bench-edge-{label}-{i}").start())
        held = 0
        if feed_clients:
            say(f"propagation ({label}): {feed_clients} long polls")
            feeder, state, held = start_feed_clients(b, workdir / label, feed_clients)
        ctx = mp.get_context("fork")
        stop_evt, out = ctx.Event(), ctx.Queue()
        probe_ident = idents[-1]
        probe = ctx.Process(target=probe_proc, args=(b.url, b.token_endpoint, probe_ident.id,
                                                     probe_ident.key.priv_pem, a.probe_gap, stop_evt, out))
        probe.start()
        pollers = Pollers(edges)
        http = t.session()
        samples, failures, asks, revoked_at = [], [], [], []
        pids = {"broker": [b.proc.pid], "edges": [e.proc.pid for e in edges],
                "feed_clients": [feeder.pid] if feeder else []}
        c0 = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
        m0 = machine_busy_seconds()
        t0 = time.monotonic()
        for n in range(a.revocations):
            token = issue_one(b, idents[n % (WORKLOADS - 1)])
            pollers.warm(token)
            dt, res = revoke_and_race(b, http, pollers, token)
            revoked_at.append(pollers.released)
            asks.append(sum(x[1] for x in res))
            if dt is None:
                failures.append([x[2] for x in res])
            else:
                samples.append(dt)
            if len(failures) >= MAX_FAILURES:
                say(f"propagation ({label}): {len(failures)} revocations not refused everywhere; stopping")
                break
            if (n + 1) % 25 == 0:
                say(f"propagation ({label}): {n + 1}/{a.revocations}, last {1000 * (dt or 0):.1f} ms")
        seconds = time.monotonic() - t0
        cpu = {k: sum(cpu_seconds(p) for p in v) - c0[k] for k, v in pids.items()}
        cpu["machine"] = machine_busy_seconds() - m0
        stop_evt.set()
        resp = out.get(timeout=60)
        probe.join(30)
        probe = None
        fc = None
        if feeder:
            stop(feeder)
            fc = json.loads(state.read_text())
            fc["burst_s"] = answer_bursts(revoked_at, fc.pop("answered_at", []))
            feeder = None
        return [{"kind": "propagation", "setting": label, "edges": a.edges, "feed_clients": feed_clients,
                 "held": held, "revocations": len(samples) + len(failures), "seconds": seconds, "samples_s": samples,
                 "failures": failures, "asks": asks, "healthz_s": resp["healthz"], "token_s": resp["token"],
                 "probe_errors": resp["errors"][:5], "n_probe_errors": len(resp["errors"]), "feed": fc,
                 "cpu_s": cpu}]
    finally:
        if pollers:
            pollers.close()
        if stop_evt is not None:
            stop_evt.set()
        if probe is not None:
            probe.join(30)
            if probe.is_alive():
                probe.kill()
        stop(feeder)
        for e in edges:
            e.stop()
        b.stop()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run(a):
    only = set(a.only.split(","))
    e2e().BIN = Path(a.bin).resolve()
    nofile = raise_nofile()
    out = [{"kind": "meta", "nofile": nofile, "duration": a.duration, "warmup": a.warmup, "rounds": a.rounds,
            "probe_gap": a.probe_gap}]
    with tempfile.TemporaryDirectory(prefix="tollgate-edgebench-") as tmp:
        d = Path(a.keep or tmp)
        d.mkdir(parents=True, exist_ok=True)
        if "forward" in only:
            (d / "fwd").mkdir()
            out += run_forward(a, d / "fwd")
        if only & {"propagation", "edges"}:
            say(f"propagation to {a.edges} edges: {a.revocations} revocations")
            out += run_propagation(a, d, 0)
        if only & {"propagation", "feeds"}:
            say(f"propagation to {a.edges} edges with {a.feed_clients} feed clients held")
            out += run_propagation(a, d, a.feed_clients)
    return out


# ---- report ----

def fmt(v, digits=1):
    return "–" if v is None else f"{v:,.{digits}f}"


def median_round(rows):
    """The round whose requests/s is the median."""
    s = sorted(rows, key=lambda r: r["rps"])
    return s[len(s) // 2]


def cpu_split(r):
    """CPU cores busy in the window: wrk / nginx / edge / broker / the rest."""
    c, secs = r["cpu_s"], r["seconds"]
    rest = max(0.0, c["machine"] - c["wrk"] - c["nginx"] - c["edge"] - c["broker"])
    return " / ".join(f"{v / secs:.2f}" for v in (c["wrk"], c["nginx"], c["edge"], c["broker"], rest))


def report_forward(rows):
    fwd = [r for r in rows if r["kind"] == "forward"]
    meta = next((r for r in rows if r["kind"] == "forward_meta"), {})
    by = {v: [r for r in fwd if r["variant"] == v] for v in VARIANTS}
    med = {v: median_round(rs) for v, rs in by.items() if rs}
    base, hop = med.get("static"), med.get("hop")
    print("| variant | 200s/s | each round | p50 ms | p99 ms | vs (a) | vs (a′) "
          "| CPU cores: wrk / nginx / edge / broker / rest | edge CPU per request | not 200 |")
    print("|---|---:|---|---:|---:|---:|---:|---|---:|---:|")
    for v, r in med.items():
        through_nginx = v != "direct"
        vs_a = f"{100 * r['rps'] / base['rps']:.0f} %" if base and through_nginx else "–"
        vs_hop = f"{100 * r['rps'] / hop['rps']:.0f} %" if hop and through_nginx else "–"
        per_req = f"{1e6 * r['cpu_s']['edge'] / r['requests']:.1f} µs" if v in ("edge", "edge_mix", "direct") else "–"
        bad = sum(x["non2xx"] + x["connect"] + x["read"] + x["write"] + x["timeout"] for x in by[v])
        rounds = " / ".join(format(x["rps"], ",.0f") for x in by[v])
        print(f"| {VARIANT_TEXT[v]} | {r['rps']:,.0f} | {rounds} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} "
              f"| {vs_a} | {vs_hop} | {cpu_split(r)} | {per_req} | {bad} |")
    print()
    for v in ("edge", "edge_mix"):
        if v in med and base:
            ratio = med[v]["rps"] / base["rps"]
            print(f"- {VARIANT_TEXT[v][:3]}: {100 * ratio:.0f} % of (a)'s requests/s "
                  f"(bar ≥ {100 * BAR_RATIO:.0f} %: {'met' if ratio >= BAR_RATIO else '**missed**'})")
    for v, rs in by.items():
        refused = sum(x["non2xx"] for x in rs)
        if refused:
            reasons = {}
            for x in rs:
                for k, n in x.get("decisions", {}).items():
                    if k != "allow":
                        reasons[k] = reasons.get(k, 0) + n
            print(f"- {VARIANT_TEXT[v][:4].strip()}: {refused:,} answers in its windows were not 200 (the 200s/s "
                  f"column counts the 200s only); the edge's refusals in them: "
                  + ", ".join(f"{k} {n:,}" for k, n in sorted(reasons.items())))
    spooled = [x for x in fwd if x.get("spool_backlog")]
    if spooled:
        worst = max(spooled, key=lambda x: x["spool_backlog"])
        rates = [x["spool_backlog"] / x["drain_s"] for x in spooled if x["drain_s"] > 1]
        print(f"- the edge's audit spool (a record per decision, shipped to the broker's chain) held up to "
              f"{worst['spool_backlog']:,} records not yet shipped at the end of a window ({worst['variant']}); "
              f"every window started with it empty (drained after the warm-up and after each window)" +
              (f", the broker taking them at {statistics.median(rates):,.0f} records/s (median, the intake "
               f"table below) with nothing else running" if rates else ""))
    if meta.get("edge_metrics"):
        print("- the edge's decisions over the whole run, by reason: " +
              ", ".join(f"{k} {v:,}" for k, v in sorted(meta["edge_metrics"].items())))
    if meta:
        print(f"- nginx {meta.get('nginx')}, wrk {meta.get('wrk')}")


def report_intake(rows):
    """The broker's audit intake: each spool drained after a window that
    left at least INTAKE_MIN records, with nothing else running."""
    drains = [x for x in rows if x["kind"] == "forward" and x.get("spool_backlog", 0) >= INTAKE_MIN
              and x["drain_s"] > 0]
    if not drains:
        print(f"No window left {INTAKE_MIN:,} records or more in the spool: the intake was not measured.")
        return
    print("| spool drained after | round | records | seconds | records/s | broker CPU per record |")
    print("|---|---:|---:|---:|---:|---:|")
    for x in drains:
        cpu = x.get("drain_broker_cpu_s")
        per = f"{1e6 * cpu / x['spool_backlog']:.1f} µs" if cpu is not None else "–"
        print(f"| {VARIANT_TEXT[x['variant']][:4].strip()} | {x['round']} | {x['spool_backlog']:,} "
              f"| {x['drain_s']:.2f} | {x['spool_backlog'] / x['drain_s']:,.0f} | {per} |")
    rates = sorted(x["spool_backlog"] / x["drain_s"] for x in drains)
    print()
    print(f"- median intake {statistics.median(rates):,.0f} records/s over {len(drains)} drains "
          f"(min {rates[0]:,.0f}, max {rates[-1]:,.0f})")


def report_propagation(rows):
    prop = [r for r in rows if r["kind"] == "propagation"]
    print("| setting | revocations | refused everywhere | p50 ms | p99 ms | max ms | bar (p99) "
          "| broker `GET /healthz` p50 / p99 ms | broker token issuance p50 / p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in prop:
        q = quantiles_ms(r["samples_s"])
        h, tk = quantiles_ms(r["healthz_s"]), quantiles_ms(r["token_s"])
        bar = BAR_P99_MS[r["setting"]]
        ok = q["p99"] is not None and q["p99"] <= bar and not r["failures"]
        what = (f"{r['edges']} edges" if not r["feed_clients"] else
                f"{r['edges']} edges + {r['feed_clients']:,} feed long polls held")
        print(f"| {what} | {r['revocations']} | {len(r['samples_s'])} | {fmt(q['p50'])} | {fmt(q['p99'])} "
              f"| {fmt(q['max'])} | ≤ {bar:.0f} ms: {'met' if ok else '**missed**'} "
              f"| {fmt(h['p50'])} / {fmt(h['p99'])} (n = {h['n']}) | {fmt(tk['p50'])} / {fmt(tk['p99'])} (n = {tk['n']}) |")
    print()
    for r in prop:
        name = "with the feed clients" if r["feed_clients"] else f"{r['edges']} edges"
        if r["failures"]:
            print(f"- {name}: {len(r['failures'])} revocations not refused everywhere within "
                  f"{REFUSE_DEADLINE:.0f} s; the last answers of the first: {r['failures'][0]}")
        if r["n_probe_errors"]:
            print(f"- {name}: {r['n_probe_errors']} broker probes failed, e.g. `{r['probe_errors'][0]}`")
        if r.get("feed"):
            f = r["feed"]
            burst = quantiles_ms(f.get("burst_s", []))
            print(f"- {name}: {r['held']:,} connections held at the broker before the first revocation; "
                  f"{f['answers']:,} answers to them in the run ({f['answers'] / r['revocations']:,.0f} per "
                  f"revocation), {f['errors']} errors, {f['reconnects']} connections lost and opened again; "
                  f"from the revoke call's return to the feed clients' last answer before the next revocation: "
                  f"p50 {fmt(burst['p50'])} ms, p99 {fmt(burst['p99'])} ms")
        if r["asks"]:
            c, secs = r["cpu_s"], r["seconds"]
            rest = max(0.0, c["machine"] - c["broker"] - c["edges"] - c["feed_clients"])
            asks = statistics.median(r["asks"])
            first = (" (one ask per edge: each had the revocation by the time its thread first asked, so the "
                     "figures are mostly the time it takes to ask)") if asks <= r["edges"] else ""
            print(f"- {name}: {secs:.1f} s for the {r['revocations']} revocations; the threads asked "
                  f"the edges {asks:,.0f} times per revocation (median, all edges){first}; "
                  f"CPU cores busy: broker {c['broker'] / secs:.2f}, edges {c['edges'] / secs:.2f}, "
                  + (f"feed clients {c['feed_clients'] / secs:.2f}, " if r["feed_clients"] else "")
                  + f"the rest (this script, the probe, other processes) {rest / secs:.2f}")


def report(path, only):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    if "forward" in only and any(r["kind"] == "forward" for r in rows):
        report_forward(rows)
    if "intake" in only and any(r["kind"] == "forward" for r in rows):
        report_intake(rows)
    if only == {"forward", "propagation"}:
        print()
    if "propagation" in only and any(r["kind"] == "propagation" for r in rows):
        report_propagation(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    rn = sub.add_parser("run")
    rn.add_argument("--bin", required=True)
    rn.add_argument("--duration", type=int, default=10)
    rn.add_argument("--warmup", type=int, default=2)
    rn.add_argument("--rounds", type=int, default=3)
    rn.add_argument("--edges", type=int, default=10)
    rn.add_argument("--revocations", type=int, default=100)
    rn.add_argument("--feed-clients", type=int, default=1000)
    rn.add_argument("--probe-gap", type=float, default=0.05)
    rn.add_argument("--only", default="forward,propagation", help="forward, edges, feeds (propagation: both)")
    rn.add_argument("--keep", help="work in this directory and leave it (logs, configurations) afterwards")
    rn.add_argument("--out")
    rp = sub.add_parser("report")
    rp.add_argument("results")
    rp.add_argument("--only", default="forward,propagation", help="forward, intake, propagation")
    fc = sub.add_parser("_feed_clients")
    fc.add_argument("--port", type=int, required=True)
    fc.add_argument("--token-file", required=True)
    fc.add_argument("--since", type=int, required=True)
    fc.add_argument("--n", type=int, required=True)
    fc.add_argument("--state", required=True)
    a = p.parse_args()
    if a.cmd == "report":
        report(a.results, set(a.only.split(",")))
        return
    if a.cmd == "_feed_clients":
        run_feed_clients(a)
        return
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        rows = run(a)
    except BenchError as e:
        sys.exit(f"edge_bench: {e}")
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if a.out:
        with open(a.out, "a") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
