# test_modbus_limits.py - the Modbus/TCP proxy's options (docs/edge.md,
# Modbus/TCP proxy) with real peers, on the fixtures of test_modbus_proxy.py
# (a pymodbus device, an edge with a modbus line, a grant with source
# 127.0.0.1/32): the stale modes with the broker killed and restarted,
# reads=full vs minute in the broker's chain, max_conn, rate, idle_timeout
# and max_outstanding (checked at a device that holds its answers).
import socket
import struct
import threading

import pytest

import test_modbus_proxy as mb
import test_operators as ops
from edge_e2e import EVENT, edge_broker, stop_all
from tollgate_e2e import SLOW, audit_records, free_port, wait_for

STALE = 3 * SLOW  # max_stale of the stale-mode edges


@pytest.fixture(scope="module")
def env(broker_factory, tmp_path_factory):
    """A broker, a device and a grant that admits 127.0.0.1."""
    b = edge_broker(broker_factory, name="modbus-limits", extra_policy=mb.POLICY, args=ops.FAST_HASH,
                    entities=mb.ENTITIES)
    device = mb.Device()
    mb.grant(b)
    return b, device, tmp_path_factory


def proxy(env, options, name, device=None, **kw):
    b, dev, tmp = env
    return mb.ModbusEdge(b, tmp.mktemp(name), device or dev, options=options, **kw).start()


def ask(s, frame):
    s.sendall(frame)
    return mb.recv_adu(s)


def answers_normally(resp, function):
    return resp[7] == function


def mine(b, edge, **query):
    return [r for r in audit_records(b, **query) if r.get("edge") == edge.id]


# ---- the broker gone: stale=reads|closed|open ----

def test_stale_modes_and_recovery(broker_factory, tmp_path_factory):
    b = edge_broker(broker_factory, name="modbus-stale", extra_policy=mb.POLICY, args=ops.FAST_HASH,
                    entities=mb.ENTITIES)
    device = mb.Device()
    mb.grant(b)
    edges = {mode: mb.ModbusEdge(b, tmp_path_factory.mktemp(f"stale-{mode}"), device,
                                 options=f"units=1 idle_timeout=3600 stale={mode}", max_stale=STALE,
                                 poll_wait=1).start()
             for mode in ("reads", "closed", "open")}
    socks = {}
    try:
        socks = {mode: mb.admitted(e) for mode, e in edges.items()}
        for s in socks.values():
            s.settimeout(mb.IO)
        b.kill()
        for e in edges.values():
            wait_for("/healthz to say stale", lambda e=e: e.healthz() == 503, timeout=EVENT, interval=0.2)
        n = device.requests()

        # reads: reads answered, writes 0x0A and never at the device
        s = socks["reads"]
        assert answers_normally(ask(s, mb.adu(2, 1, mb.read_hr(0, 2))), 3)
        assert mb.exception_code(ask(s, mb.adu(3, 1, mb.write_regs(100, [11]))), 16) == 0x0A
        assert device.registers(100, 1) != [11] and device.requests() == n + 1

        # closed: every request refused, and every new connection
        s = socks["closed"]
        assert mb.exception_code(ask(s, mb.adu(4, 1, mb.read_hr(0, 2))), 3) == 0x0A
        assert mb.exception_code(ask(s, mb.adu(5, 1, mb.write_regs(100, [12]))), 16) == 0x0A
        with socket.create_connection(("127.0.0.1", edges["closed"].mb_port), timeout=mb.IO) as c:
            c.sendall(mb.adu(1, 1, mb.read_hr(0, 1)))
            assert mb.closed_at_once(c)
        assert device.requests() == n + 1

        # open: the last state decides, writes pass
        s = socks["open"]
        assert answers_normally(ask(s, mb.adu(6, 1, mb.write_regs(100, [13]))), 16)
        assert device.registers(100, 1) == [13]
        assert answers_normally(ask(s, mb.adu(7, 1, mb.read_hr(100, 1))), 3)

        b.start()
        for e in edges.values():
            wait_for("the edge to recover", lambda e=e: e.healthz() == 200, timeout=EVENT, interval=0.2)
        assert answers_normally(ask(socks["reads"], mb.adu(8, 1, mb.write_regs(101, [14]))), 16)
        assert answers_normally(ask(socks["closed"], mb.adu(9, 1, mb.write_regs(102, [15]))), 16)
        assert device.registers(101, 2) == [14, 15]
        mb.admitted(edges["closed"]).close()  # new connections admitted again

        # the stale refusals reach the chain once the spool ships
        def stale_denies():
            return [r for r in audit_records(b, type="authz.deny") if r.get("edge") in
                    (edges["reads"].id, edges["closed"].id) and (r.get("details") or {}).get("reason", "")
                    .startswith("the edge has not heard from the broker")]
        wait_for("the stale refusals in the chain", lambda: len(stale_denies()) >= 3, timeout=EVENT, interval=0.5)
    finally:
        for s in socks.values():
            s.close()
        stop_all(list(edges.values()))


# ---- the audit of reads ----

def test_reads_full_records_every_read(env):
    b = env[0]
    edge = proxy(env, "units=1 reads=full", "reads-full")
    try:
        with mb.admitted(edge) as s:
            for i in range(3):
                assert answers_normally(ask(s, mb.adu(20 + i, 1, mb.read_hr(20 + i, 1))), 3)

        def reads():
            recs = [r for r in mine(b, edge, type="authz.allow") if r["action"] == "modbus.read"]
            return recs if {r["details"].get("address") for r in recs} >= {20, 21, 22} else None
        recs = wait_for("a record per read in the chain", reads, timeout=EVENT, interval=0.5)
        assert all("aggregated" not in r["details"] and r["details"]["count"] == 1 for r in recs), recs
        assert all(r["details"]["function"] == "read_holding_registers" and r["src"] == "127.0.0.1" for r in recs)
    finally:
        stop_all([edge])


def test_reads_minute_aggregates_per_connection(env):
    b = env[0]
    edge = proxy(env, "units=1", "reads-minute")  # reads=minute is the default
    try:
        with mb.admitted(edge) as s:  # one read there
            for i in range(4):
                assert answers_normally(ask(s, mb.adu(30 + i, 1, mb.read_hr(30 + i, 1))), 3)
        # written at the minute boundary or, at the latest, when the connection closes

        def aggregated():
            recs = [r for r in mine(b, edge, type="authz.allow") if r["action"] == "modbus.read"]
            return recs if sum(r["details"].get("requests", 0) for r in recs) >= 5 else None
        recs = wait_for("the aggregated reads in the chain", aggregated, timeout=EVENT, interval=0.5)
        assert all(r["details"]["aggregated"] == "minute" and "address" not in r["details"] for r in recs), recs
        assert sum(r["details"]["requests"] for r in recs) == 5, recs
    finally:
        stop_all([edge])


# ---- per-connection limits ----

def test_max_conn_refuses_the_third(env):
    b, device, _ = env
    edge = proxy(env, "units=1 max_conn=2", "max-conn")
    try:
        first, second = mb.admitted(edge), mb.admitted(edge)
        with first, second:
            n = device.requests()
            with socket.create_connection(("127.0.0.1", edge.mb_port), timeout=mb.IO) as third:
                third.sendall(mb.adu(1, 1, mb.read_hr(0, 1)))
                assert mb.closed_at_once(third)
            assert device.requests() == n
            assert answers_normally(ask(second, mb.adu(2, 1, mb.read_hr(0, 1))), 3)  # the two stay
        mb.admitted(edge).close()  # room again once they closed
        wait_for("the refusal in the chain", lambda: [
            r for r in mine(b, edge, type="authz.deny") if r["action"] == "modbus.connect"
            and r["details"]["reason"] == "max_conn connections are open already"], timeout=EVENT, interval=0.5)
    finally:
        stop_all([edge])


def test_rate_answers_0x06_beyond_it(env):
    b, device, _ = env
    edge = proxy(env, "units=1 rate=3", "rate")
    try:
        with mb.admitted(edge) as s:
            n, passed, busy = device.requests(), 0, 0

            def until_busy():
                nonlocal passed, busy
                r = ask(s, mb.adu(40, 1, mb.read_hr(0, 1)))
                if answers_normally(r, 3):
                    passed += 1
                    return False
                assert mb.exception_code(r, 3) == 0x06
                busy += 1
                return True
            wait_for("a request over the rate", until_busy, timeout=EVENT, interval=0)
            assert device.requests() == n + passed  # the busy one never reached the device
        wait_for("the refusal in the chain", lambda: [
            r for r in mine(b, edge, type="authz.deny") if r["details"].get("exception") == 6
            and r["details"]["reason"] == "over the connection's rate"], timeout=EVENT, interval=0.5)
    finally:
        stop_all([edge])


def test_idle_connection_closed(env):
    edge = proxy(env, "units=1 idle_timeout=1", "idle")
    try:
        with mb.admitted(edge) as s:
            s.settimeout(EVENT)
            assert mb.closed_at_once(s)
        wait_for("the reason in the log", lambda: "idle_timeout" in edge.log_text(), timeout=EVENT)
        mb.admitted(edge).close()
    finally:
        stop_all([edge])


class HoldingDevice:
    """A device on one connection that answers read_holding_registers only
    when release() says so, oldest first, and notes for each request how
    many answers it had sent when the request arrived."""

    def __init__(self):
        self.port = free_port()
        self.srv = socket.create_server(("127.0.0.1", self.port))
        self.cond = threading.Condition()
        self.arrived = []  # (request ADU, answers sent before it arrived)
        self.sent = 0
        self.conn = None
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        with self.cond:
            self.conn = conn
        try:
            while True:
                req = mb.recv_adu(conn)
                with self.cond:
                    self.arrived.append((req, self.sent))
                    self.cond.notify_all()
        except (ConnectionError, OSError):
            return

    def release(self):
        with self.cond:
            req, _ = self.arrived[self.sent]
            self.sent += 1
            self.conn.sendall(mb.adu(struct.unpack(">H", req[:2])[0], req[6], b"\x03\x02\x00\x07"))

    def count(self):
        with self.cond:
            return len(self.arrived)

    def close(self):
        self.srv.close()
        with self.cond:
            if self.conn is not None:
                self.conn.close()


def admitted_without_device(edge):
    """An admitted connection, found by a write policy refuses (0x02): it
    never reaches the device."""
    def attempt():
        s = socket.create_connection(("127.0.0.1", edge.mb_port), timeout=mb.IO)
        try:
            if mb.exception_code(ask(s, mb.adu(1, 1, mb.write_regs(0, [1]))), 16) == 0x02:
                return s
        except (ConnectionError, OSError):
            pass
        s.close()
        return None
    return wait_for("the proxy to admit the connection", attempt, timeout=EVENT, interval=0.2)


def test_max_outstanding_holds_pipelined_requests(env):
    device = HoldingDevice()
    edge = proxy(env, "units=1 max_outstanding=2 upstream_timeout=60000", "outstanding", device=device)
    try:
        s = admitted_without_device(edge)
        with s:
            # three frames at once, none answered yet
            s.sendall(b"".join(mb.adu(50 + i, 1, mb.read_hr(i, 1)) for i in range(3)))
            wait_for("the first two at the device", lambda: device.count() >= 2, timeout=EVENT, interval=0.05)
            device.release()
            wait_for("the third at the device", lambda: device.count() == 3, timeout=EVENT, interval=0.05)
            device.release()
            device.release()
            tids = sorted(struct.unpack(">H", mb.recv_adu(s)[:2])[0] for _ in range(3))
            assert tids == [50, 51, 52]
        # the third reached the device only after an answer: never more than two in flight
        assert [sent for _, sent in device.arrived] == [0, 0, 1], device.arrived
    finally:
        stop_all([edge])
        device.close()
