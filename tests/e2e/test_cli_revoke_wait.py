# test_cli_revoke_wait.py - `--wait [SECS]` and `--verify` on the commands
# that revoke (token revoke, identity suspend and offboard, grant end and
# revoke) and `tollgate edge list`, against a real broker and fake edges
# written here: an identity of kind edge whose token long-polls GET
# /v1/feed from a thread (its `since` acknowledges, its `addr` names a tiny
# HTTP server of the test that answers GET /auth as an edge would). Checked:
# --wait returns once every live edge acknowledged the revocation, names
# each edge with its propagation time, says "no live edges" when there are
# none, and exits 3 naming an edge that stopped polling; --verify presents
# the revoked token (or a broker-made probe token for an identity or grant)
# with the forward-auth headers and exits 0 only when every edge refused it
# as revoked (401, X-Tollgate-Reason: revoked), 4 naming those that
# accepted it, refused it for another reason or could not be reached; the
# token is never printed. Every test has its own broker: an edge stays live
# for edge_timeout after its last poll, and would hold up the next test.
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import test_operators as ops
from test_grants import DEPLOY, POLICY as GRANT_POLICY, active_grant, deployer
from tollgate_e2e import E2E_POLICY, SLOW, cli_env, free_port, run_cli, session, unique

EDGE_SCOPE = "edge.sync@Api:tollgate"
PROBE_HEADERS = {"X-Original-Method": "GET", "X-Original-URI": "/.tollgate/probe", "X-Tollgate-Probe": "1"}


class AuthServer:
    """GET /auth answered with (status, X-Tollgate-Reason or None); keeps
    the headers of every request it had."""

    def __init__(self, status=401, reason="revoked"):
        self.status, self.reason, self.seen = status, reason, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append((self.path, dict(self.headers)))
                self.send_response(outer.status if self.path == "/auth" else 404)
                if outer.reason is not None:
                    self.send_header("X-Tollgate-Reason", outer.reason)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeEdge:
    """An identity of kind edge polling the feed from a thread, with
    addr = its AuthServer (or addr given). pause() stops the polls (the edge
    stays live for edge_timeout); resume() starts them again."""

    def __init__(self, b, auth=None, addr=None):
        self.b, self.auth = b, auth
        self.addr = addr or (auth.addr if auth else "")
        self.ident = b.create_identity(ident_id=unique("edge"), kind="edge", permit=[EDGE_SCOPE])
        self.token = b.issue(self.ident, scope=EDGE_SCOPE)
        self.http = session()
        self.since = 0
        self.polling = threading.Lock()  # held while a poll is in flight
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.poll_once()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        self.resume()

    @property
    def id(self):
        return self.ident.id

    def poll_once(self, wait=0):
        params = {"since": self.since, "wait": wait}
        if self.addr:
            params["addr"] = self.addr
        r = self.http.get(self.b.url + "/v1/feed", params=params, timeout=30 * SLOW,
                          headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 200, r.text
        self.since = r.json()["seq"]

    def _loop(self):
        while not self.stopped.is_set():
            if not self.running.wait(0.1):
                continue
            with self.polling:
                if not self.running.is_set():
                    continue
                try:
                    self.poll_once(wait=1)
                except Exception:  # the broker stopped under the thread: the test is over
                    self.stopped.wait(0.2)

    def pause(self):
        """Stops polling; returns once no poll is in flight."""
        self.running.clear()
        with self.polling:
            pass

    def resume(self):
        self.running.set()

    def close(self):
        self.stopped.set()
        self.running.set()
        self.thread.join(timeout=10 * SLOW)
        if self.auth:
            self.auth.close()


@pytest.fixture
def eb(broker_factory):
    """A broker of this test alone (see the top of the file); the fake
    edges made with edge() are closed at the end."""
    b = broker_factory(args=ops.FAST_HASH, name="revoke-wait", policy=E2E_POLICY + GRANT_POLICY)
    edges = []

    def edge(**kw):
        e = FakeEdge(b, **kw)
        edges.append(e)
        return e

    b.edge = edge
    yield b
    for e in edges:
        e.close()
    b.stop()


def cli(b, *args, **kw):
    return run_cli(list(args), env_extra=cli_env(b), **kw)


def workload_token(b):
    return b.issue(b.create_identity())


def skip_without_probes(b):
    """Skips unless the broker makes probe tokens (POST /v1/probes) for an
    offboarded identity."""
    ident = b.create_identity()
    r = b.api("POST", f"/v1/identities/{ident.id}/offboard", {})
    assert r.status_code == 200, r.text
    r = b.api("POST", "/v1/probes", {"identity": ident.id})
    if r.status_code == 404:
        pytest.skip("the broker has no POST /v1/probes yet (probe tokens for revoked identities and ended grants)")
    assert r.status_code in (200, 201) and r.json().get("token"), r.text


def out_of(p):
    return p.stdout + p.stderr


# ---- --wait -------------------------------------------------------------------

def test_wait_without_edges_says_so(eb):
    token = workload_token(eb)
    p = cli(eb, "token", "revoke", token, "--wait", "5")
    assert p.returncode == 0, out_of(p)
    assert "revoked (or already inactive)" in p.stdout
    assert "no live edges" in p.stdout, p.stdout
    assert token not in out_of(p)


def test_wait_names_each_edge_once_it_acknowledged(eb):
    e1, e2 = eb.edge(), eb.edge()
    token = workload_token(eb)
    p = cli(eb, "token", "revoke", token, "--wait", str(20 * SLOW))
    assert p.returncode == 0, out_of(p)
    for e in (e1, e2):
        line = next((l for l in p.stdout.splitlines() if e.id in l), None)
        assert line is not None and "acknowledged in" in line and line.rstrip().endswith(" ms"), p.stdout
    assert "revocation enforced at 2 of 2 live edges" in p.stdout, p.stdout
    # the broker agrees: the edges are past the revocation's seq
    enforced = eb.api("GET", "/v1/feed/enforced").json()
    assert enforced["enforced"] is True, enforced


def test_wait_takes_its_seconds_in_every_spelling(eb):
    eb.edge()
    for args in (["--wait"], [f"--wait={20 * SLOW}"], ["--wait", str(20 * SLOW)]):  # before the token
        token = workload_token(eb)
        p = cli(eb, "token", "revoke", *args, token)
        assert p.returncode == 0, out_of(p)
        assert "revocation enforced at 1 of 1 live edges" in p.stdout, p.stdout


def test_wait_times_out_naming_the_edge_that_stopped(eb):
    polling, stuck = eb.edge(), eb.edge()
    stuck.pause()
    token = workload_token(eb)
    p = cli(eb, "token", "revoke", token, "--wait", "2")
    assert p.returncode == 3, out_of(p)
    assert "waiting for 1 edge..." in p.stderr, p.stderr
    stuck_line = next(l for l in p.stdout.splitlines() if stuck.id in l)
    assert "NOT acknowledged (live)" in stuck_line, p.stdout
    assert "acknowledged in" in next(l for l in p.stdout.splitlines() if polling.id in l), p.stdout
    assert "NOT enforced" in p.stdout
    assert stuck.id in p.stderr and polling.id not in p.stderr, p.stderr
    assert "tollgate edge list" in p.stderr, p.stderr
    # once it polls again, the same revocation is enforced
    stuck.resume()
    p = cli(eb, "token", "revoke", token, "--wait", str(20 * SLOW))
    assert p.returncode == 0, out_of(p)


def test_identity_suspend_and_offboard_wait(eb):
    e = eb.edge()
    ident = eb.create_identity()
    p = cli(eb, "identity", "suspend", ident.id, "--wait", str(20 * SLOW))
    assert p.returncode == 0, out_of(p)
    assert json.loads(p.stdout)["status"] == "suspended"  # stdout stays the identity as JSON
    assert e.id in p.stderr and "revocation enforced at 1 of 1 live edges" in p.stderr, p.stderr
    p = cli(eb, "identity", "offboard", ident.id, "--wait", str(20 * SLOW))
    assert p.returncode == 0, out_of(p)
    assert json.loads(p.stdout)["status"] == "offboarded"
    assert "revocation enforced at 1 of 1 live edges" in p.stderr, p.stderr


def test_grant_end_wait(eb):
    e = eb.edge()
    g = active_grant(eb, deployer(eb), scope=DEPLOY)
    p = cli(eb, "grant", "end", g["id"], "--reason", "done", "--wait", str(20 * SLOW))
    assert p.returncode == 0, out_of(p)
    assert f"{g['id']}: ended" in p.stdout
    assert e.id in p.stdout and "revocation enforced at 1 of 1 live edges" in p.stdout, p.stdout


# ---- --verify -----------------------------------------------------------------

def test_verify_presents_the_revoked_token_and_requires_a_refusal(eb):
    auth = AuthServer(401, "revoked")
    e = eb.edge(auth=auth)
    token = workload_token(eb)
    p = cli(eb, "token", "revoke", token, "--verify")
    assert p.returncode == 0, out_of(p)
    assert "revocation enforced at 1 of 1 live edges" in p.stdout, p.stdout
    line = next(l for l in p.stdout.splitlines() if e.id in l and "refused" in l)
    assert "refused (revoked)" in line, p.stdout
    assert "verified: 1 of 1" in p.stdout, p.stdout
    assert token not in out_of(p)
    assert len(auth.seen) == 1, auth.seen
    path, headers = auth.seen[0]
    assert path == "/auth"
    assert headers["Authorization"] == f"Bearer {token}"
    for name, value in PROBE_HEADERS.items():
        assert headers.get(name) == value, headers


@pytest.mark.parametrize("status,reason,says", [
    (200, None, "ACCEPTED the revoked credential"),
    (401, "invalid", "refused, but not as revoked (HTTP 401, reason: invalid)"),
    (403, "denied", "refused, but not as revoked (HTTP 403, reason: denied)"),
])
def test_verify_fails_unless_the_edge_refused_as_revoked(eb, status, reason, says):
    good = eb.edge(auth=AuthServer(401, "revoked"))
    bad = eb.edge(auth=AuthServer(status, reason))
    token = workload_token(eb)
    p = cli(eb, "token", "revoke", token, "--verify", "--wait", str(20 * SLOW))
    assert p.returncode == 4, out_of(p)
    assert says in next(l for l in p.stdout.splitlines() if bad.id in l and "acknowledged" not in l), p.stdout
    assert "refused (revoked)" in next(l for l in p.stdout.splitlines() if good.id in l and "refused" in l)
    assert bad.id in p.stderr and good.id not in p.stderr, p.stderr
    assert token not in out_of(p)


def test_verify_names_an_unreachable_edge(eb):
    gone = eb.edge(addr=f"http://127.0.0.1:{free_port()}")
    token = workload_token(eb)
    p = cli(eb, "token", "revoke", token, "--verify")
    assert p.returncode == 4, out_of(p)
    assert "unreachable:" in next(l for l in p.stdout.splitlines() if gone.id in l and "acknowledged" not in l)
    assert gone.id in p.stderr


def test_verify_without_edges_passes(eb):
    p = cli(eb, "token", "revoke", workload_token(eb), "--verify", "--wait", "3")
    assert p.returncode == 0, out_of(p)
    assert "no live edges" in p.stdout


def test_verify_stops_when_the_revocation_is_not_enforced(eb):
    auth = AuthServer(200, None)
    e = eb.edge(auth=auth)
    e.pause()
    p = cli(eb, "token", "revoke", workload_token(eb), "--verify", "--wait", "2")
    assert p.returncode == 3, out_of(p)
    assert auth.seen == []  # nothing probed before every live edge acknowledged


def test_identity_offboard_verify_with_a_probe_token(eb):
    skip_without_probes(eb)
    auth = AuthServer(401, "revoked")
    e = eb.edge(auth=auth)
    ident = eb.create_identity()
    p = cli(eb, "identity", "offboard", ident.id, "--verify")
    assert p.returncode == 0, out_of(p)
    assert f"{e.id}" in p.stderr and "refused (revoked)" in p.stderr, p.stderr
    token = auth.seen[0][1]["Authorization"].removeprefix("Bearer ")
    assert token and token not in out_of(p)


def test_grant_revoke_verify_with_a_probe_token(eb):
    skip_without_probes(eb)
    auth = AuthServer(200, None)  # an edge that still accepts the grant's tokens
    e = eb.edge(auth=auth)
    g = active_grant(eb, deployer(eb), scope=DEPLOY)
    p = cli(eb, "grant", "revoke", g["id"], "--reason", "contained", "--verify")
    assert p.returncode == 4, out_of(p)
    assert "ACCEPTED the revoked credential" in p.stdout and e.id in p.stderr, out_of(p)
    token = auth.seen[0][1]["Authorization"].removeprefix("Bearer ")
    assert token and token not in out_of(p)


# ---- the options themselves -----------------------------------------------------

@pytest.mark.parametrize("args,says", [
    (["token", "revoke", "T", "--wait", "abc"], None),  # "abc" is the second token argument
    (["token", "revoke", "T", "--wait=abc"], "--wait takes seconds"),
    (["token", "revoke", "T", "--wait=99999"], "--wait takes seconds"),
    (["token", "issue", "--wait"], "apply to revoke only"),
    (["identity", "update", "x", "--status", "suspended", "--wait"], "apply to suspend and offboard only"),
    (["identity", "suspend", "x", "--owner", "y"], "takes the identity ID, --wait and --verify only"),
    (["grant", "approve", "g-1", "--verify"], "--verify does not apply here"),
])
def test_bad_options_exit_2_before_calling_the_broker(args, says):
    p = run_cli(args, env_extra={"TOLLGATE_ADDR": "http://127.0.0.1:9", "TOLLGATE_TOKEN": "x"})
    assert p.returncode == 2, out_of(p)
    assert says is None or says in p.stderr, p.stderr
    assert "cannot reach the broker" not in p.stderr


@pytest.mark.parametrize("args", [
    ["token", "--help"], ["identity", "--help"], ["grant", "end", "--help"], ["grant", "revoke", "--help"],
])
def test_help_lists_the_options(args):
    p = run_cli(args)
    assert p.returncode == 0, out_of(p)
    assert "--wait [SECS]" in p.stdout and "--verify" in p.stdout, p.stdout


# ---- tollgate edge list -----------------------------------------------------------

def test_edge_list(eb):
    e = eb.edge(auth=AuthServer())
    p = cli(eb, "edge", "list")
    assert p.returncode == 0, out_of(p)
    assert p.stdout.splitlines()[0].split() == ["ID", "ADDR", "LIVE", "ACKED", "SEQ", "LAG", "LAST", "SEEN"]
    row = next(l for l in p.stdout.splitlines() if e.id in l).split()
    assert row[1] == e.addr and row[2] == "yes", p.stdout
    p = cli(eb, "edge", "list", "--json")
    assert p.returncode == 0, out_of(p)
    listed = {x["id"]: x for x in json.loads(p.stdout)["edges"]}
    assert listed[e.id]["addr"] == e.addr and listed[e.id]["live"] is True


def test_edge_help():
    p = run_cli(["edge", "--help"])
    assert p.returncode == 0, out_of(p)
    assert "run --config FILE" in p.stdout and "list [--json]" in p.stdout
