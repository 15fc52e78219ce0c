# edge_e2e.py - fixtures for the edge's end-to-end tests (issue 10,
# docs/edge.md): a real `tollgate edge run` process (its file written from
# routes and options, /healthz waited for, stop, kill and restart keeping
# state_dir), an upstream that answers 200 and echoes the headers it got,
# a real nginx (auth_request) and a real Caddy (forward_auth) in front of
# it, each on a free loopback port, and what a broker needs for edges: an
# identity of kind edge with its key in a 0600 file, the policy permitting
# it edge.sync on Api::"tollgate", workloads and their tokens (Bearer and
# DPoP-bound) and the headers that present them.
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tollgate_e2e import (BIN, E2E_POLICY, SANITIZED, SLOW, Key, b64u, free_port, sanitizer_findings, session,
                          unique, wait_for)

EDGE_SCOPE = "edge.sync@Api:tollgate"
EDGE_ROLE = "tollgate-edge"
EDGE_POLICY = (f'@id("edges-sync")\npermit(principal in Role::"{EDGE_ROLE}", action == Action::"edge.sync", '
               'resource == Api::"tollgate");\n')
# What the upstream receives instead of the workload's token.
UPSTREAM_CREDENTIAL = "Basic dXBzdHJlYW06czNjcjN0"
PROBE_HEADERS = {"X-Original-Method": "GET", "X-Original-URI": "/.tollgate/probe", "X-Tollgate-Probe": "1"}
# Orders as entities under Api::"orders": the e2e workloads' token for
# orders.read@Api:orders covers each, policy permits them but Order::"666".
ORDER_ENTITIES = [{"uid": {"type": "Order", "id": i}, "attrs": {}, "parents": [{"type": "Api", "id": "orders"}]}
                  for i in ("17", "666")]
ORDER_POLICY = """\
@id("order-items")
permit(principal in Role::"e2e", action == Action::"orders.read", resource in Api::"orders");
@id("no-order-666")
forbid(principal, action, resource == Order::"666");
"""
ORDER_SCOPE = "orders.read@Api:orders"
STARTUP = 20 * SLOW   # a process answering after start
EVENT = 60 * SLOW     # a background event (a feed entry applied, staleness, recovery)


def edge_broker(broker_factory, name="edge", extra_policy="", args=(), entities=None):
    """A broker whose policy permits edges (role EDGE_ROLE) edge.sync and
    the e2e workloads their default scopes, plus extra_policy; with the
    given entities."""
    b = broker_factory(args=list(args), name=name, policy=E2E_POLICY + EDGE_POLICY + extra_policy)
    if entities is not None:
        b.set_entities(entities)
    return b


def wait_port(host, port, timeout, proc=None, what="a server"):
    """Polls until a TCP connect to host:port succeeds; fails early when
    proc exits."""
    def up():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode} at start")
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False
    wait_for(f"{what} to listen on {host}:{port}", up, timeout=timeout)


def stop_process(proc, sig=signal.SIGTERM, timeout=30 * SLOW):
    """Sends sig and waits; SIGKILL when that does not end it. The exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"process {proc.pid} did not stop within {timeout}s of {sig!r}")


# ---- tokens ----

def ath(token: str) -> str:
    """The DPoP proof's access token hash (RFC 9449 §4.2)."""
    return b64u(hashlib.sha256(token.encode()).digest())


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def dpop_token(b, ident, scope, key: Key = None):
    """(token, key): an access token bound to key (a new one by default)."""
    key = key or Key()
    r = b.token(ident, scope, dpop=b.dpop_proof(key))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    return r.json()["access_token"], key


def dpop_headers(b, token, key: Key, method, url, **claims) -> dict:
    """Authorization: DPoP and a fresh proof for method and url (the htu is
    the URL without its query), signed by key, with the token's ath."""
    htu = url.split("?", 1)[0]
    return {"Authorization": f"DPoP {token}", "DPoP": b.dpop_proof(key, htu=htu, htm=method, ath=ath(token), **claims)}


def revoke(b, token):
    r = b.revoke(token)
    assert r.status_code == 200, r.text


# ---- the edge ----

class Edge:
    """One `tollgate edge run` on a free loopback port, with its own identity
    of kind edge (made on the broker unless ident is given) and its key in a
    0600 file. routes: the values of the route lines (`{cred}` stands for
    the path of a file holding UPSTREAM_CREDENTIAL); options: any other key
    of the edge's file. start() may be called again after stop() or kill():
    the port, the identity and state_dir stay."""

    def __init__(self, broker, workdir: Path, routes, name=None, ident=None, key: Key = None, **options):
        self.broker = broker
        self.name = name or unique("edge")
        self.dir = Path(workdir) / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = key or (ident.key if ident else Key())
        self.ident = ident or broker.create_identity(ident_id=self.name, kind="edge", key=self.key, permit=[],
                                                     roles=[EDGE_ROLE])
        self.id = self.ident.id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = self.dir / "state"
        self.key_file = self.dir / "edge.key"
        self.key_file.write_text(self.key.priv_pem)
        os.chmod(self.key_file, 0o600)
        self.cred_file = self.dir / "upstream.cred"
        self.cred_file.write_text(UPSTREAM_CREDENTIAL + "\n")
        self.routes = [r.replace("{cred}", str(self.cred_file)) for r in routes]
        self.options = dict({"poll_wait": 2, "max_stale": 30, "clock_leeway": 1, "log_level": "debug"}, **options)
        self.config = self.dir / "edge.conf"
        self.proc = None
        self.runs = 0
        self.http = session()

    def write_config(self):
        lines = [f"broker = {self.broker.url}", f"identity = {self.id}", f"key_file = {self.key_file}",
                 f"listen = 127.0.0.1:{self.port}", f"state_dir = {self.state_dir}"]
        lines += [f'{k} = "{v}"' if v == "" else f"{k} = {v}" for k, v in self.options.items()]
        lines += [f"route = {r}" for r in self.routes]
        self.config.write_text("\n".join(lines) + "\n")

    # ---- process life cycle ----

    def start(self, healthy=True, timeout=STARTUP):
        """Starts the edge and waits until /healthz answers 200 (healthy=True)
        or answers at all (healthy=False: e.g. while the broker is down)."""
        assert self.proc is None, "already running"
        self.write_config()
        self.runs += 1
        self.log_path = self.dir / f"edge-{self.runs}.log"
        env = dict(os.environ)
        if SANITIZED:
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(BIN), "edge", "run", "--config", str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"edge {self.name} exited with {self.proc.returncode} at start:\n"
                                     f"{self.log_text(last=True)}")
            status = self.healthz()
            return status == 200 or (not healthy and status is not None)
        try:
            wait_for(f"edge {self.name}'s /healthz", ready, timeout=timeout)
        except AssertionError as e:
            self.kill()
            raise AssertionError(f"{e}\n{self.log_text(last=True)}") from None
        return self

    def stop(self, timeout=30 * SLOW):
        """SIGTERM; the edge must exit 0 (and, sanitized, report nothing)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        self.http.close()
        rc = stop_process(proc, timeout=timeout)
        text = self.log_text(last=True)
        found = sanitizer_findings(text)
        assert not found, f"sanitizer reported {found} in edge {self.name}:\n{text[-20000:]}"
        assert rc == 0, f"edge {self.name} exited {rc} after SIGTERM:\n{text[-5000:]}"

    def kill(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()

    def restart(self, healthy=True):
        self.stop()
        return self.start(healthy=healthy)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, last=False) -> str:
        runs = [self.runs] if last else range(1, self.runs + 1)
        paths = [self.dir / f"edge-{i}.log" for i in runs]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    # ---- HTTP ----

    def healthz(self):
        """/healthz's status, or None when the edge does not answer."""
        try:
            return self.http.get(self.url + "/healthz", timeout=5).status_code
        except requests.RequestException:
            return None

    def health(self) -> dict:
        return self.http.get(self.url + "/healthz", timeout=5).json()

    def auth(self, uri="/", method="GET", token=None, headers=None, **kw):
        """GET /auth as nginx's auth_request sends it (X-Original-Method and
        X-Original-URI), with token as Bearer unless headers say otherwise."""
        h = {"X-Original-Method": method, "X-Original-URI": uri}
        if token is not None:
            h.update(bearer(token))
        h.update(headers or {})
        return self.http.get(self.url + "/auth", headers=h, timeout=30 * SLOW, **kw)

    def probe(self, token):
        """What `--verify` sends: the token with X-Tollgate-Probe."""
        return self.auth(PROBE_HEADERS["X-Original-URI"], token=token, headers=PROBE_HEADERS)


def stop_all(edges):
    """Stops every edge, then fails naming those that did not stop cleanly."""
    errors = []
    for e in edges:
        try:
            e.stop()
        except AssertionError as err:
            errors.append(str(err))
    assert not errors, "\n\n".join(errors)


def until(what, call, pred, timeout=EVENT, interval=0.1):
    """Polls call() until pred(answer) holds and returns that answer; on
    timeout fails showing the last answer."""
    last = [None]

    def probe():
        last[0] = call()
        return pred(last[0])
    try:
        wait_for(what, probe, timeout=timeout, interval=interval)
    except AssertionError as e:
        r = last[0]
        raise AssertionError(f"{e}; last answer: {r.status_code} {reason(r)} {dict(r.headers)}"
                             if isinstance(r, requests.Response) else f"{e}; last answer: {r!r}") from None
    return last[0]


def allowed(r) -> bool:
    return r.status_code == 200


def refused(r) -> bool:
    return r.status_code != 200


def reason(r) -> str:
    return r.headers.get("X-Tollgate-Reason")


def assert_refused(r, status, why):
    assert (r.status_code, reason(r)) == (status, why), \
        f"expected {status} {why}, got {r.status_code} {reason(r)}: {dict(r.headers)} {r.text[:300]}"


# ---- the upstream ----

class Upstream:
    """A threaded HTTP server on a free loopback port answering every
    request 200 with {"method", "path", "headers": {lower-case name: [values]}}."""

    def __init__(self):
        self.seen = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                headers = {}
                for k, v in self.headers.items():
                    headers.setdefault(k.lower(), []).append(v)
                echo = {"method": self.command, "path": self.path, "headers": headers}
                outer.seen.append(echo)
                body = json.dumps(echo).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Upstream", "echo")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def upstream_headers(r) -> dict:
    """The headers the upstream echoed in answer r (it must be the upstream's)."""
    assert r.status_code == 200 and r.headers.get("X-Upstream") == "echo", \
        f"not an upstream answer: {r.status_code} {dict(r.headers)} {r.text[:300]}"
    return r.json()["headers"]


# ---- the proxies ----

class Proxy:
    """A proxy process on a free loopback port in front of upstream, asking
    edge at every request. Subclasses write the configuration and the
    command."""
    name = "proxy"
    stop_signal = signal.SIGTERM

    def __init__(self, workdir: Path, edge: Edge, upstream: Upstream):
        self.dir = Path(workdir) / f"{self.name}-{free_port()}"
        self.dir.mkdir(parents=True)
        self.edge, self.upstream = edge, upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.http = session()

    def start(self):
        exe = shutil.which(self.name)
        assert exe, f"{self.name} is not installed (scripts/deps.sh --test installs it)"
        self.log_path = self.dir / "process.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(exe), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env(), cwd=self.dir)
        try:
            wait_port("127.0.0.1", self.port, STARTUP, self.proc, self.name)
        except AssertionError as e:
            self.stop()
            raise AssertionError(f"{e}\n{self.log_text()}") from None
        return self

    def env(self):
        return dict(os.environ)

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        self.http.close()
        stop_process(proc, self.stop_signal)

    def log_text(self):
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("*.log")))

    def request(self, method, path, headers=None, **kw):
        return self.http.request(method, self.url + path, headers=headers or {}, timeout=30 * SLOW, **kw)


class Nginx(Proxy):
    """nginx with auth_request to the edge: the proxy headers of
    docs/edge.md, the injected Authorization replacing the client's token
    towards the upstream, the client's DPoP proof not passed on, and the
    edge's X-Tollgate-Reason (and on 401 its WWW-Authenticate) in every
    answer. X-Forwarded-Host carries the port, so that a DPoP proof's htu
    is the URL the client called, http://127.0.0.1:PORT/path."""
    name = "nginx"
    stop_signal = signal.SIGQUIT  # graceful

    def config(self):
        d = self.dir
        user = "user root;\n" if os.geteuid() == 0 else ""
        temps = "".join(f"    {k}_temp_path {d}/tmp-{k};\n"
                        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""{user}worker_processes 1;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
{temps}    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            auth_request /_tollgate;
            auth_request_set $tg_inject $upstream_http_authorization;
            auth_request_set $tg_subject $upstream_http_x_tollgate_subject;
            auth_request_set $tg_grant $upstream_http_x_tollgate_grant;
            auth_request_set $tg_reason $upstream_http_x_tollgate_reason;
            add_header X-Tollgate-Reason $tg_reason always;
            proxy_set_header Authorization $tg_inject;
            proxy_set_header DPoP "";
            proxy_set_header X-Tollgate-Subject $tg_subject;
            proxy_set_header X-Tollgate-Grant $tg_grant;
            proxy_pass {self.upstream.url};
        }}
        location = /_tollgate {{
            internal;
            proxy_pass {self.edge.url}/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host:$server_port;
            proxy_set_header Host $host;
            proxy_set_header Authorization $http_authorization;
            proxy_set_header DPoP $http_dpop;
        }}
    }}
}}
"""

    def command(self, exe):
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        return [exe, "-e", str(self.dir / "error.log"), "-c", str(conf), "-p", str(self.dir),
                "-g", f"daemon off; pid {self.dir}/nginx.pid;"]


class Caddy(Proxy):
    """Caddy with forward_auth to the edge, copying the injected
    Authorization and X-Tollgate-Subject into the request to the upstream
    (a client's own X-Tollgate-* headers are dropped first); Caddy answers
    a refusal with the edge's own answer. Not X-Tollgate-Grant: Caddy 2.6
    sets a header the edge did not send to the literal placeholder text
    "{http.reverse_proxy.header.X-Tollgate-Grant}". No admin endpoint, no
    automatic HTTPS, its storage inside the test's directory."""
    name = "caddy"

    def config(self):
        return f"""{{
    admin off
    auto_https off
    storage file_system {{
        root {self.dir}/data
    }}
}}
http://:{self.port} {{
    bind 127.0.0.1
    log {{
        output file {self.dir}/access.log
    }}
    route {{
        request_header -X-Tollgate-*
        forward_auth 127.0.0.1:{self.edge.port} {{
            uri /auth
            copy_headers Authorization X-Tollgate-Subject
        }}
        reverse_proxy 127.0.0.1:{self.upstream.port}
    }}
}}
"""

    def env(self):
        env = dict(os.environ)
        env.update(HOME=str(self.dir), XDG_DATA_HOME=str(self.dir / "data"), XDG_CONFIG_HOME=str(self.dir / "config"))
        return env

    def command(self, exe):
        conf = self.dir / "Caddyfile"
        conf.write_text(self.config())
        return [exe, "run", "--config", str(conf), "--adapter", "caddyfile"]


PROXIES = {"nginx": Nginx, "caddy": Caddy}
