# tollgate_e2e.py - shared helpers for the end-to-end suite: run a real
# `tollgate serve` process (start, wait for /healthz, SIGTERM/SIGKILL,
# restart on the same data directory, sanitizer checks), Ed25519 keys made
# with python3-cryptography, client assertions and DPoP proofs made with
# PyJWT, thin wrappers over the broker's HTTP API, and a real receiver for
# its alert webhook.
import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
BIN = Path(os.environ.get("TOLLGATE_BIN") or REPO / "build" / "tollgate").resolve()
SANITIZED = os.environ.get("TOLLGATE_SANITIZED") == "1"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Every identity the helpers create has the role "e2e" (unless the test
# names its own permits), and every broker starts with E2E_POLICY, which
# permits that role these scope tokens.
DEFAULT_SCOPES = ["orders.read@Api:orders", "orders.write@Api:orders", "modbus.read@Zone:line-3"]
E2E_ROLE = "e2e"


def scope_permit(principal: str, scope: str, policy_id: str = None, annotations: str = "") -> str:
    """A Cedar permit for one scope token ACTION@Type:id."""
    action, _, resource = scope.partition("@")
    rtype, _, rid = resource.partition(":")
    pid = f'@id("{policy_id}")\n' if policy_id else ""
    return (f'{pid}{annotations}permit(principal {principal}, action == Action::"{action}", '
            f'resource == {rtype}::"{rid}");\n')


E2E_POLICY = "".join(scope_permit(f'in Role::"{E2E_ROLE}"', s, f"e2e-{i}") for i, s in enumerate(DEFAULT_SCOPES))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
# Sanitized builds are several times slower; give them room.
SLOW = 4 if SANITIZED else 1


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def compact(header: dict, payload: dict, sign) -> str:
    """A JWS compact serialization with exactly these header and payload
    members; sign(signing_input_bytes) -> signature bytes."""
    si = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64u(json.dumps(payload, separators=(",", ":")).encode())
    return si + "." + b64u(sign(si.encode()))


def jwt_parts(token: str):
    """(header, payload) of a compact JWS, without verifying it."""
    h, p, _ = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session() -> requests.Session:
    """A requests session that ignores the environment: no proxies, and no
    REQUESTS_CA_BUNDLE overriding an explicit verify= (requests #3829)."""
    s = requests.Session()
    s.trust_env = False
    return s


def sanitizer_findings(text: str):
    return [m for m in SANITIZER_MARKERS if m in text]


class Key:
    """An Ed25519 key pair in every encoding the broker and the peers use."""

    def __init__(self, priv: Ed25519PrivateKey = None):
        self.priv = priv or Ed25519PrivateKey.generate()
        self.pub = self.priv.public_key()
        self.raw_pub = self.pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.raw_seed = self.priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                serialization.NoEncryption())
        self.pub_pem = self.pub.public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.priv_pem = self.priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode()

    @property
    def jwk(self) -> dict:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64u(self.raw_pub)}

    @property
    def private_jwk(self) -> dict:
        return dict(self.jwk, d=b64u(self.raw_seed))

    @property
    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint, computed independently of the broker."""
        canon = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64u(self.raw_pub)},
                           separators=(",", ":"), sort_keys=True)
        return b64u(hashlib.sha256(canon.encode()).digest())

    def pem_body(self) -> str:
        """The base64 body of the private key PEM (what must never leak)."""
        return "".join(l for l in self.priv_pem.splitlines() if not l.startswith("-----"))

    def encode(self, payload: dict, headers: dict = None) -> str:
        """A JWT signed with PyJWT (EdDSA)."""
        return jwt.encode(payload, self.priv, algorithm="EdDSA", headers=headers)

    def sign_raw(self, header: dict, payload: dict) -> str:
        return compact(header, payload, self.priv.sign)


class Identity:
    def __init__(self, ident_id: str, key: Key, doc: dict):
        self.id = ident_id
        self.key = key
        self.doc = doc


class Broker:
    """One `tollgate serve --dev` process on a free port with its own data
    directory. start() may be called again after stop()/kill() and reuses
    the data directory and the port (so the issuer, and with it every token
    issued before, stays valid)."""

    def __init__(self, workdir: Path, args=(), tls=None, policy=E2E_POLICY):
        self.policy = policy  # installed at the first start when no policy is stored
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data = self.workdir / "data"
        self.args = list(args)
        self.tls = tls  # dict with cert, key, ca (server CA bundle to verify), client_ca
        self.port = free_port()
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.proc = None
        self.runs = 0
        self.log_path = None
        self.http = session()
        if tls:
            self.http.verify = str(tls["ca"])

    # ---- process life cycle ----

    def command(self):
        cmd = [str(BIN), "serve", "--dev", "--data", str(self.data), "--listen", f"127.0.0.1:{self.port}"]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls["cert"]), "--tls-key", str(self.tls["key"])]
            if self.tls.get("client_ca"):
                cmd += ["--client-ca", str(self.tls["client_ca"])]
        return cmd + self.args

    def start(self, timeout=10 * SLOW):
        assert BIN.exists(), f"{BIN} does not exist: build it (cmake --build build) or set TOLLGATE_BIN"
        self.runs += 1
        self.log_path = self.workdir / f"broker-{self.runs}.log"
        env = dict(os.environ)
        if SANITIZED:
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"broker exited with {self.proc.returncode} at start:\n{self.log_text(last=True)}")
            try:
                if self.http.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"broker did not answer /healthz within {timeout}s:\n{self.log_text(last=True)}")
            time.sleep(0.05)
        self.admin_token = (self.data / "admin.token").read_text().strip()
        self.meta = self.http.get(self.url + "/.well-known/oauth-authorization-server").json()
        self.issuer = self.meta["issuer"]
        self.token_endpoint = self.meta["token_endpoint"]
        self.introspection_endpoint = self.meta["introspection_endpoint"]
        self.revocation_endpoint = self.meta["revocation_endpoint"]
        self.jwks_uri = self.meta["jwks_uri"]
        if self.policy is not None and self.get_policy()["version"] == 0:
            self.set_policy(self.policy, comment="e2e default")
        return self

    def stop(self, timeout=30 * SLOW):
        """Graceful SIGTERM shutdown. Fails when the broker does not exit 0
        or, in a sanitized build, when it reported anything."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        self.http.close()  # idle keep-alive connections delay MHD's stop by ~2 s
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"broker did not stop within {timeout}s of SIGTERM:\n{self.log_text(last=True)}")
        text = self.log_text(last=True)
        found = sanitizer_findings(text)
        assert not found, f"sanitizer reported {found} (log {self.log_path}):\n{text[-20000:]}"
        assert rc == 0, f"broker exited {rc} after SIGTERM (log {self.log_path}):\n{text[-5000:]}"
        assert '"stopped cleanly"' in text, f"no clean stop in the log:\n{text[-5000:]}"

    def kill(self):
        """SIGKILL: no shutdown at all, as in a power cut of the process."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, last=False) -> str:
        paths = [self.log_path] if last else [self.workdir / f"broker-{i}.log" for i in range(1, self.runs + 1)]
        return "".join(p.read_text(errors="replace") for p in paths if p and p.exists())

    def log_events(self):
        """The JSON log lines (the --dev banner is plain text)."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    # ---- HTTP ----

    def get(self, path, **kw):
        return self.http.get(self.url + path, **kw)

    def api(self, method, path, json_body=None, token=None, **kw):
        """A /v1 call, as admin unless token is given ("" for none)."""
        headers = dict(kw.pop("headers", {}) or {})
        tok = self.admin_token if token is None else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        if json_body is not None:
            kw["json"] = json_body
        return self.http.request(method, self.url + path, headers=headers, **kw)

    # ---- Cedar policies and entities ----

    def get_policy(self, version=None) -> dict:
        r = self.api("GET", "/v1/policies" if version is None else f"/v1/policies/{version}")
        assert r.status_code == 200, r.text
        return r.json()

    def set_policy(self, text: str, comment=None) -> dict:
        """Replaces the policy set (PUT /v1/policies); returns the answer."""
        body = {"policies": text}
        if comment is not None:
            body["comment"] = comment
        r = self.api("PUT", "/v1/policies", body)
        assert r.status_code == 200, r.text
        return r.json()

    def add_policy(self, text: str) -> dict:
        """Appends policies to the set in force."""
        return self.set_policy(self.get_policy()["text"] + "\n" + text)

    def set_entities(self, entities: list) -> dict:
        r = self.api("PUT", "/v1/entities", entities)
        assert r.status_code == 200, r.text
        return r.json()

    def authorize(self, **body) -> dict:
        r = self.api("POST", "/v1/authorize", body)
        assert r.status_code == 200, r.text
        return r.json()

    def create_identity(self, ident_id=None, key=None, permit=None, kind="workload", owner="team-e2e",
                        public_keys=None, roles=None, **members) -> Identity:
        """An identity. permit=None: it has the role "e2e" (E2E_POLICY grants
        DEFAULT_SCOPES); permit=[scope tokens]: no such role, and a policy
        permitting exactly those tokens to this identity is added."""
        key = key or Key()
        roles = list(roles or [])
        if permit is None:
            roles.append(E2E_ROLE)
        doc = {"id": ident_id or unique("wl"), "kind": kind, "owner": owner, "roles": roles,
               "public_keys": [key.pub_pem] if public_keys is None else public_keys}
        doc.update(members)
        r = self.api("POST", "/v1/identities", doc)
        assert r.status_code == 201, r.text
        if permit:
            self.add_policy("".join(scope_permit(f'== Workload::"{doc["id"]}"', sc) for sc in permit))
        return Identity(doc["id"], key, r.json())

    def identities(self, **query):
        r = self.api("GET", "/v1/identities", params=dict({"limit": 1000}, **query))
        assert r.status_code == 200, r.text
        return r.json()["identities"]

    def assertion(self, ident: Identity, aud=None, key: Key = None, lifetime=60, kid=True,
                  headers=None, **claims) -> str:
        """An RFC 7523 client assertion; claims given as None are left out."""
        key = key or ident.key
        now = int(time.time())
        payload = {"iss": ident.id, "sub": ident.id, "aud": aud or self.token_endpoint,
                   "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + lifetime}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        hdr = {"kid": key.thumbprint} if kid is True else ({"kid": kid} if kid else {})
        hdr.update(headers or {})
        return key.encode(payload, headers=hdr)

    def dpop_proof(self, key: Key, htu=None, htm="POST", iat=None, jti=None, typ="dpop+jwt", jwk=None,
                   sign_key: Key = None, **claims) -> str:
        payload = {"htm": htm, "htu": htu or self.token_endpoint, "iat": int(time.time()) if iat is None else iat,
                   "jti": jti or secrets.token_urlsafe(16)}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return (sign_key or key).encode(payload, headers={"typ": typ, "jwk": jwk or key.jwk})

    def token(self, ident: Identity = None, scope=" ".join(DEFAULT_SCOPES[:1]), ttl=None, dpop=None,
              assertion=None, form=None, headers=None, **kw):
        """POST /oauth/token; returns the response. form entries given as
        None are left out (e.g. form={"scope": None})."""
        f = {"grant_type": "client_credentials", "scope": scope}
        if ident is not None or assertion is not None:
            f["client_assertion_type"] = ASSERTION_TYPE
            f["client_assertion"] = assertion or self.assertion(ident)
        if ttl is not None:
            f["ttl"] = str(ttl)
        f.update(form or {})
        f = {k: v for k, v in f.items() if v is not None}
        hdrs = dict(headers or {})
        if dpop:
            hdrs["DPoP"] = dpop
        return self.http.post(self.token_endpoint, data=f, headers=hdrs, **kw)

    def issue(self, ident: Identity, scope=DEFAULT_SCOPES[0], **kw) -> str:
        r = self.token(ident, scope, **kw)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def _oauth_form(self, endpoint, token, as_ident: Identity = None, assertion=None):
        f = {"token": token}
        headers = {}
        if as_ident is not None or assertion is not None:
            f["client_assertion_type"] = ASSERTION_TYPE
            f["client_assertion"] = assertion or self.assertion(as_ident, aud=endpoint)
        else:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        return self.http.post(endpoint, data=f, headers=headers)

    def introspect_response(self, token, as_ident: Identity = None, assertion=None):
        return self._oauth_form(self.introspection_endpoint, token, as_ident, assertion)

    def introspect(self, token, as_ident: Identity = None) -> dict:
        r = self.introspect_response(token, as_ident)
        assert r.status_code == 200, r.text
        return r.json()

    def revoke(self, token, as_ident: Identity = None, assertion=None):
        return self._oauth_form(self.revocation_endpoint, token, as_ident, assertion)

    def metrics(self) -> str:
        r = self.get("/metrics")
        assert r.status_code == 200, r.text
        return r.text


# ---- response checks ----

def assert_problem(r, status):
    """RFC 9457 problem details with the given status."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("application/problem+json"), f"Content-Type {ct!r}: {r.text}"
    body = r.json()
    assert body.get("status") == status, body
    assert isinstance(body.get("title"), str) and body["title"], body
    return body


def assert_oauth_error(r, status, error):
    """RFC 6749 §5.2 error response."""
    assert r.status_code == status, f"expected {status} {error}, got {r.status_code}: {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body.get("error") == error, body
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    return body


def verify_pyjwt(broker: Broker, token: str, leeway=0, audience="tollgate"):
    """Verifies like an independent resource server would: key from the
    JWKS by kid, EdDSA only, audience and issuer required."""
    client = jwt.PyJWKClient(broker.jwks_uri)
    if broker.tls:  # PyJWT 2.6's client cannot be given a CA: fetch the JWKS ourselves
        client.fetch_data = lambda: broker.http.get(broker.jwks_uri).json()
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["EdDSA"], audience=audience, issuer=broker.issuer,
                      leeway=leeway, options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})


def run_cli(args, env_extra=None, stdin=None, timeout=30 * SLOW):
    """Runs the tollgate CLI; in a sanitized build its stderr must be clean."""
    env = dict(os.environ)
    env.update(env_extra or {})
    if SANITIZED:
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([str(BIN)] + list(args), capture_output=True, text=True, env=env, input=stdin,
                       timeout=timeout)
    found = sanitizer_findings(p.stderr)
    assert not found, f"sanitizer reported {found} in `tollgate {' '.join(args)}`:\n{p.stderr}"
    return p


_PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')


def parse_metrics(text: str) -> dict:
    """Prometheus text format -> {'name{labels}': value}; fails on any line
    that is not a comment or a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line == "" or line.startswith("# HELP ") or line.startswith("# TYPE "), line
            continue
        m = _PROM_LINE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


# ---- audit chain (docs/audit.md) ----

AUDIT_VERIFY_PY = REPO / "docs" / "audit_verify.py"


def audit_records(broker: Broker, **query) -> list:
    """Every record of GET /v1/audit that matches query, following `next`."""
    out, after = [], query.pop("after", 0)
    while True:
        r = broker.api("GET", "/v1/audit", params=dict(query, after=after, limit=1000))
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["records"]
        if body["next"] is None:
            return out
        after = body["next"]


def audit_checkpoints(broker: Broker) -> list:
    r = broker.api("GET", "/v1/audit/checkpoints", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return r.json()["checkpoints"]


def audit_canonical(value) -> bytes:
    """The canonical JSON that audit hashes and checkpoint signatures cover."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def audit_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(record["prev"].encode() + audit_canonical(body)).hexdigest()


def cli_env(broker: Broker) -> dict:
    return {"TOLLGATE_ADDR": broker.url, "TOLLGATE_TOKEN": broker.admin_token}


def wait_for(what, pred, timeout, interval=0.05):
    """Polls pred until it returns something true (returned), or fails
    after timeout seconds naming what it waited for."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class AlertWebhook:
    """A real HTTP receiver for a broker's alert_webhook (set it to .url):
    every POST answered 204 and kept in .requests as (path, Content-Type,
    JSON body); .received is the bodies. stop() when done."""

    def __init__(self):
        hook = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.requests.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def received(self):
        return [body for _, _, body in self.requests]

    def stop(self):
        self.server.shutdown()
