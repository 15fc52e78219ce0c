# test_connection_flood.py - connection admission and timeouts
# (src/broker/http_conn.c, src/core/conn_limit.c): thousands of idle TCP
# connections from one address do not keep other clients from /healthz and
# /oauth/token; the flooding address is refused beyond
# max_connections_per_ip; a connection that has not sent a complete request
# is closed after header_timeout while a kept-alive one stays for
# idle_timeout; the last 10 % of max_connections go to addresses below
# their share; the connection limit is sized to the open-files limit.
# Only loopback: the flood comes from 127.0.0.1, the other
# client binds 127.0.0.2 (all of 127/8 is loopback on Linux).
# bench/conn_flood_bench.py measures the same flood with these helpers.
import errno
import resource
import select
import socket
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from tollgate_e2e import ASSERTION_TYPE, SLOW, Broker, session, wait_for

FLOOD = 4300
OTHER = "127.0.0.2"


class SourceAddressAdapter(HTTPAdapter):
    """Makes requests' connections from a given local address."""

    def __init__(self, source, **kw):
        self.source = (source, 0)
        super().__init__(**kw)

    def init_poolmanager(self, connections, maxsize, block=False, **kw):
        kw["source_address"] = self.source
        super().init_poolmanager(connections, maxsize, block=block, **kw)


def session_from(source):
    s = session()
    s.mount("http://", SourceAddressAdapter(source))
    return s


def raise_fd_limit(want):
    """Raises this process's open-files limit for want sockets; returns how
    many it may open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want + 256 if hard == resource.RLIM_INFINITY else min(hard, want + 256)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return min(want, target - 256)


def open_flood(port, n, deadline_s=60 * SLOW):
    """Opens n idle TCP connections from 127.0.0.1 (non-blocking connects,
    bounded in time); returns the sockets."""
    socks = []
    deadline = time.monotonic() + deadline_s
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            continue
        socks.append(s)
    # Wait until every connect has completed (or failed): writable.
    poller = select.poll()
    pending = {s.fileno() for s in socks}
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(1000):
            poller.unregister(fd)
            pending.discard(fd)
    return socks


def closed_by_server(s):
    """True when the server has closed s (EOF or reset); never blocks."""
    p = select.poll()
    p.register(s.fileno(), select.POLLIN)
    if not p.poll(0):
        return False
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, socket.timeout):
        return False
    except OSError:
        return True


def close_all(socks):
    for s in socks:
        s.close()


def token_request(b, http, ident, timeout):
    form = {"grant_type": "client_credentials", "scope": "orders.read@Api:orders",
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": b.assertion(ident)}
    return http.post(b.token_endpoint, data=form, timeout=timeout)


def _answered(call):
    try:
        return call().status_code == 200
    except requests.RequestException:
        return False


def count_answered(b, ident, n=20, timeout=5, trace=None, before_each=None):
    """How many of n /healthz and of n token requests from OTHER succeed,
    each within timeout seconds (a new connection for each). trace, when
    given, collects "h"/"t" (answered) or "H"/"T" (not) in order;
    before_each() runs before each pair."""
    ok_health = ok_token = 0
    for _ in range(n):
        if before_each is not None:
            before_each()
        with session_from(OTHER) as http:
            ok = _answered(lambda: http.get(b.url + "/healthz", timeout=timeout))
            ok_health += ok
        if trace is not None:
            trace.append("h" if ok else "H")
        with session_from(OTHER) as http:
            ok = _answered(lambda: token_request(b, http, ident, timeout))
            ok_token += ok
        if trace is not None:
            trace.append("t" if ok else "T")
    return ok_health, ok_token


def test_a_flood_from_one_address_does_not_starve_others(broker_factory):
    per_ip = 256  # the default max_connections_per_ip
    # header_timeout is raised so that the admitted part of the flood stays
    # open for the whole test (the next test covers the timeout itself).
    b = broker_factory(name="flood", args=["--set", "header_timeout=600"])
    ident = b.create_identity()
    b.http.close()  # its keep-alive connection would count for 127.0.0.1
    n = raise_fd_limit(FLOOD)
    flood = open_flood(b.port, n)
    try:
        assert len(flood) >= min(n, 1000), f"could open only {len(flood)} connections"
        # The broker keeps per_ip of them and closes the rest at once (a few
        # more may be let in while worker threads accept concurrently).
        slack = 32
        wait_for("the broker to close the connections over the per-address limit",
                 lambda: sum(closed_by_server(s) for s in flood) >= len(flood) - per_ip - slack, 60 * SLOW)
        held = sum(not closed_by_server(s) for s in flood)
        assert per_ip <= held <= per_ip + slack, f"{held} of {len(flood)} flood connections held"
        # Meanwhile other addresses are served: /healthz and token issuance.
        health, tokens = count_answered(b, ident, timeout=10 * SLOW)
        assert (health, tokens) == (20, 20), f"answered {health}/20 /healthz and {tokens}/20 token requests"
        # ...and the flooding address gets nothing more.
        s = socket.create_connection(("127.0.0.1", b.port), timeout=10 * SLOW)
        assert _request_on(s) == b""
        s.close()
        assert "per-address connection limit reached" in b.log_text()
    finally:
        close_all(flood)
    with session() as http:
        wait_for("127.0.0.1 to be admitted again once its flood is gone",
                 lambda: _healthz_ok(http, b.url), 30 * SLOW)


def _healthz_ok(http, url):
    try:
        return http.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _request_on(s, path="/healthz"):
    """Sends a keep-alive GET on connected socket s; returns the status line
    (b"" when the server closed the connection)."""
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return b""
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int([ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")][0])
        while len(rest) < length:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        return head.split(b"\r\n")[0]
    except (ConnectionResetError, BrokenPipeError):
        return b""


def test_the_flooding_address_is_refused_beyond_its_limit(broker_factory):
    limit = 24
    b = broker_factory(name="perip", args=["--set", f"max_connections_per_ip={limit}", "--set", "header_timeout=60"])
    b.http.close()  # the fixture's own keep-alive connection counts for 127.0.0.1 too
    held, refused = [], 0
    try:
        # One at a time, each proving itself with a request: the first
        # `limit` are answered and stay open, every further one is closed.
        for _ in range(limit + 10):
            s = socket.create_connection(("127.0.0.1", b.port), timeout=10 * SLOW)
            status = _request_on(s)
            if status:
                assert status.startswith(b"HTTP/1.1 200"), status
                held.append(s)
            else:
                refused += 1
                s.close()
        assert (len(held), refused) == (limit, 10)
        with session_from(OTHER) as http:
            assert http.get(b.url + "/healthz", timeout=10 * SLOW).status_code == 200
        log = b.log_text()
        assert '"msg":"connections refused"' in log and "per-address connection limit" in log, log[-2000:]
        # A held connection keeps working; closing one makes room for one.
        assert _request_on(held[0]).startswith(b"HTTP/1.1 200")
        held.pop().close()
        s = wait_for("a place for 127.0.0.1 again", lambda: _admitted(b.port), 30 * SLOW)
        held.append(s)
    finally:
        close_all(held)


def _admitted(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
    if _request_on(s):
        return s
    s.close()
    return None


def test_incomplete_requests_time_out_before_established_connections(broker_factory):
    b = broker_factory(name="timeouts", args=["--set", "header_timeout=1", "--set", "idle_timeout=120"])
    established = socket.create_connection(("127.0.0.1", b.port), timeout=10 * SLOW)
    silent = socket.create_connection(("127.0.0.1", b.port), timeout=10 * SLOW)
    partial = socket.create_connection(("127.0.0.1", b.port), timeout=10 * SLOW)
    try:
        assert _request_on(established).startswith(b"HTTP/1.1 200")
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # no end of the headers
        wait_for("the broker to close the connection that sent nothing", lambda: closed_by_server(silent),
                 20 * SLOW)
        wait_for("the broker to close the connection with half a request", lambda: closed_by_server(partial),
                 20 * SLOW)
        # The connection that completed a request is kept (idle_timeout) and
        # still answers; then its next request is complete at once.
        assert not closed_by_server(established)
        assert _request_on(established).startswith(b"HTTP/1.1 200")
    finally:
        close_all([established, silent, partial])


def test_connection_limit_fits_the_open_files_limit(tmp_path):
    # Started with a soft limit of 300 open files and a hard one of 600: the
    # broker raises its soft limit to 600 and lowers max_connections (4096)
    # to what fits beside its own descriptors.
    class Limited(Broker):
        def command(self):
            return ["prlimit", "--nofile=300:600", "--"] + super().command()

    b = Limited(tmp_path / "nofile").start()
    try:
        limits = Path(f"/proc/{b.proc.pid}/limits").read_text()
        soft = int(next(ln for ln in limits.splitlines() if ln.startswith("Max open files")).split()[3])
        assert soft == 600, limits
        ev = next(e for e in b.log_events() if e.get("msg") == "max_connections lowered to fit the open-files limit")
        assert ev["max_connections"] == "4096" and 16 < int(ev["lowered_to"]) < 600, ev
        assert b.get("/healthz").json() == {"status": "ok"}
    finally:
        b.stop()


def _hold_while_admitted(port, source, at_most):
    """Opens connections from source one at a time, each proving itself with
    a request, until one is refused (closed unanswered); returns the held."""
    held = []
    for _ in range(at_most):
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW, source_address=(source, 0))
        if not _request_on(s):
            s.close()
            break
        held.append(s)
    return held


def test_the_last_places_are_kept_for_new_addresses(broker_factory):
    # max_connections 20 keeps 2 (10 %) as headroom: with no per-address
    # limit, one address gets 18, a second address the last 2, a third none.
    b = broker_factory(name="headroom", args=["--set", "max_connections=20", "--set", "max_connections_per_ip=0",
                                              "--set", "header_timeout=60"])
    b.http.close()
    held = []
    try:
        first = _hold_while_admitted(b.port, "127.0.0.1", 40)
        held += first
        second = _hold_while_admitted(b.port, OTHER, 40)
        held += second
        third = _hold_while_admitted(b.port, "127.0.0.3", 40)
        held += third
        assert (len(first), len(second), len(third)) == (18, 2, 0)
        log = b.log_text()
        # The first refusal is logged (later ones are counted into the next line).
        assert "near the connection limit, and the address holds its share" in log, log[-2000:]
    finally:
        close_all(held)
