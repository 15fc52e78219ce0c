# test_modbus_proxy.py - the edge's Modbus/TCP proxy (issue 11, DESIGN.md
# §3.8, docs/edge.md#modbustcp-proxy) with real peers: a pymodbus server as
# the device behind a real `tollgate edge run`, raw-socket clients (so that
# ADUs compare byte for byte) and pymodbus's client. A grant with source
# 127.0.0.1/32 and scope modbus.read + modbus.write on Device:plc-7 admits
# connections; policy bounds writes to registers 100..109.
import asyncio
import socket
import struct
import threading
import time

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncTcpServer

import test_operators as ops
from edge_e2e import EVENT, Edge, edge_broker, stop_all, wait_port
from test_grants import Op, act, active_grant
from tollgate_e2e import SLOW, audit_records, free_port, wait_for

DEVICE = "Device:plc-7"
SCOPE = "modbus.read@Device:plc-7 modbus.write@Device:plc-7"
POLICY = """\
@id("plc-read")
@requires_grant("1")
permit(principal in Role::"maint", action == Action::"modbus.read", resource == Device::"plc-7");

// Writes to registers 100-109 only: the grant request, decided before any
// Modbus request, finds the permit possible; the edge decides the range.
@id("plc-write")
@requires_grant("1")
permit(principal in Role::"maint", action == Action::"modbus.write", resource == Device::"plc-7")
when { context.address >= 100 && context.address + context.count <= 110 };

@id("approvers")
permit(principal, action == Action::"grant.approve", resource);
"""
ENTITIES = [{"uid": {"type": "Device", "id": "plc-7"}, "attrs": {}, "parents": []}]
IO = 10 * SLOW


# ---- the device ----

class CountingSlave(ModbusSlaveContext):
    """A unit's registers that count the requests reaching them."""

    def __init__(self):
        super().__init__(hr=ModbusSequentialDataBlock(0, list(range(200))),
                         co=ModbusSequentialDataBlock(0, [0] * 200), di=ModbusSequentialDataBlock(0, [0] * 200),
                         ir=ModbusSequentialDataBlock(0, [0] * 200), zero_mode=True)
        self.requests = 0

    def validate(self, fc_as_hex, address, count=1):
        self.requests += 1
        return super().validate(fc_as_hex, address, count)


class Device:
    """A pymodbus TCP server (units 1 and 2) on a thread of its own."""

    def __init__(self):
        self.units = {1: CountingSlave(), 2: CountingSlave()}
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        ctx = ModbusServerContext(slaves=self.units, single=False)

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                StartAsyncTcpServer(context=ctx, address=("127.0.0.1", self.port), defer_start=True))
            self.loop.run_until_complete(self.server.serve_forever())
        threading.Thread(target=run, daemon=True).start()
        wait_port("127.0.0.1", self.port, 20 * SLOW, what="the pymodbus server")

    def requests(self):
        return sum(u.requests for u in self.units.values())

    def registers(self, address, count, unit=1):
        return self.units[unit].getValues(3, address, count)


# ---- raw ADUs ----

def adu(tid, unit, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_adu(s) -> bytes:
    head = recv_exact(s, 6)
    return head + recv_exact(s, struct.unpack(">H", head[4:6])[0])


def exchange(port, frame: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=IO) as s:
        s.sendall(frame)
        return recv_adu(s)


def closed_at_once(s) -> bool:
    """True when the peer closes without answering."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def read_hr(address, count):
    return struct.pack(">BHH", 3, address, count)


def write_regs(address, values):
    return struct.pack(">BHHB", 16, address, len(values), 2 * len(values)) + b"".join(
        struct.pack(">H", v) for v in values)


def exception_code(resp: bytes, function: int) -> int:
    assert resp[7] == function | 0x80, resp.hex()
    return resp[8]


# ---- the edge in front of it ----

class ModbusEdge(Edge):
    """An edge with one modbus line in front of device."""

    def __init__(self, broker, workdir, device, options="units=1", **kw):
        super().__init__(broker, workdir, routes=[], **kw)
        self.mb_port = free_port()
        self.modbus = f"127.0.0.1:{self.mb_port} 127.0.0.1:{device.port} {DEVICE} {options}".strip()

    def write_config(self):
        super().write_config()
        with open(self.config, "a") as f:
            f.write(f"modbus = {self.modbus}\n")


@pytest.fixture(scope="module")
def setup(broker_factory, tmp_path_factory):
    b = edge_broker(broker_factory, name="modbus", extra_policy=POLICY, args=ops.FAST_HASH, entities=ENTITIES)
    device = Device()
    edge = ModbusEdge(b, tmp_path_factory.mktemp("modbus"), device).start()
    yield b, device, edge
    stop_all([edge])


def grant(b, source="127.0.0.1/32"):
    ident = b.create_identity(permit=[], roles=["maint"])
    g = active_grant(b, ident, scope=SCOPE, source=source, reason="calibrate plc-7")
    return ident, g


def admitted(edge, timeout=EVENT):
    """A connection the proxy keeps (it answers a read), once the grant reached the edge;
    edge.first_answer holds that answer."""
    first = [None]
    def attempt():
        s = socket.create_connection(("127.0.0.1", edge.mb_port), timeout=IO)
        try:
            s.sendall(adu(1, 1, read_hr(0, 1)))
            first[0] = recv_adu(s)
            return s
        except (ConnectionError, OSError):
            s.close()
            return None
    s = wait_for("the proxy to admit the connection", attempt, timeout=timeout, interval=0.2)
    edge.first_answer = first[0]
    return s


@pytest.fixture(scope="module")
def granted(setup):
    b, device, edge = setup
    ident, g = grant(b)
    s = admitted(edge)
    s.close()
    return ident, g


def test_no_grant_closed_at_once(broker_factory, tmp_path_factory):
    b = edge_broker(broker_factory, name="modbus-nogrant", extra_policy=POLICY, args=ops.FAST_HASH,
                    entities=ENTITIES)
    device = Device()
    edge = ModbusEdge(b, tmp_path_factory.mktemp("nogrant"), device).start()
    try:
        ident = b.create_identity(permit=[], roles=["maint"])
        active_grant(b, ident, scope=SCOPE, source="10.9.9.0/24", reason="another source")
        with socket.create_connection(("127.0.0.1", edge.mb_port), timeout=IO) as s:
            s.sendall(adu(1, 1, read_hr(0, 1)))
            assert closed_at_once(s)
        assert device.requests() == 0
        wait_for("the refusal in the chain", lambda: [
            r for r in audit_records(b, type="authz.deny") if r["edge"] == edge.id and r["resource"] == DEVICE
            and r["details"]["reason"] == "no active grant binds this source to the device"], timeout=EVENT)
    finally:
        stop_all([edge])


def test_reads_and_writes_pass_unchanged(setup, granted):
    b, device, edge = setup
    for frame in (adu(7, 1, read_hr(0, 10)), adu(8, 1, write_regs(100, [5, 6, 7])), adu(9, 1, read_hr(100, 3)),
                  adu(10, 1, struct.pack(">BHH", 6, 105, 42))):
        via_proxy = exchange(edge.mb_port, frame)
        direct = exchange(device.port, frame)
        assert via_proxy == direct, (frame.hex(), via_proxy.hex(), direct.hex())
    assert device.registers(100, 3) == [5, 6, 7] and device.registers(105, 1) == [42]
    c = ModbusTcpClient("127.0.0.1", port=edge.mb_port, timeout=IO)
    assert c.connect()
    try:
        r = c.read_holding_registers(0, 10, slave=1)
        assert not r.isError() and r.registers == list(range(10)), r
        assert not c.write_register(101, 77, slave=1).isError()
        assert device.registers(101, 1) == [77]
    finally:
        c.close()


def test_write_outside_range_is_0x02_and_unchanged(setup, granted):
    b, device, edge = setup
    before = device.registers(0, 5)
    n = device.requests()
    for frame in (adu(3, 1, write_regs(0, [9, 9, 9])), adu(4, 1, write_regs(108, [1, 2, 3]))):
        assert exception_code(exchange(edge.mb_port, frame), 16) == 0x02
    assert device.registers(0, 5) == before and device.requests() == n


def test_forbidden_function_and_unit(setup, granted):
    b, device, edge = setup
    n = device.requests()
    # diagnostics (FC 8, return query data) is not in the grant's scope
    assert exception_code(exchange(edge.mb_port, adu(5, 1, struct.pack(">BHH", 8, 0, 0x1234))), 8) == 0x01
    # unit 2 is not on the listener's units=1
    assert exception_code(exchange(edge.mb_port, adu(6, 2, read_hr(0, 1))), 3) == 0x0A
    # an unknown function code
    assert exception_code(exchange(edge.mb_port, adu(7, 1, b"\x41\x00")), 0x41) == 0x01
    assert device.requests() == n


def test_concurrent_clients_keep_their_tids(setup, granted):
    b, device, edge = setup
    socks = [admitted(edge) for _ in range(2)]
    try:
        for rounds in range(20):
            for i, s in enumerate(socks):  # both send tid 42 for different ranges
                s.sendall(adu(42, 1, read_hr(10 * i, 2)))
            for i, s in enumerate(socks):
                r = recv_adu(s)
                assert r[:2] == b"\x00\x2a" and r[7] == 3, r.hex()
                assert list(struct.unpack(">HH", r[9:13])) == device.registers(10 * i, 2)
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("frame", [
    struct.pack(">HHHB", 1, 1, 6, 1) + read_hr(0, 1),          # protocol id 1
    struct.pack(">HHH", 1, 0, 0),                               # length 0
    struct.pack(">HHHB", 1, 0, 300, 1) + b"\x03" * 299,          # length 300
    adu(1, 1, read_hr(0, 1))[:9],                                # truncated, then closed
])
def test_malformed_frames_never_reach_the_device(setup, granted, frame):
    b, device, edge = setup
    n = device.requests()
    s = admitted(edge)
    n_after_admit = device.requests()
    with s:
        s.sendall(frame)
        if len(frame) == 9:
            s.shutdown(socket.SHUT_WR)
        assert closed_at_once(s)
    assert device.requests() == n_after_admit and n_after_admit == n + 1
    assert edge.alive()
    s = admitted(edge)  # the proxy stays up
    s.close()


def test_audit_records_in_chain(setup, granted):
    b, device, edge = setup
    ident, g = granted

    def mine():
        recs = [r for r in audit_records(b, type="authz") if r["edge"] == edge.id and r["actor"] == ident.id]
        writes = [r for r in recs if r["action"] == "modbus.write" and r["decision"] == "allow"]
        denies = [r for r in recs if r["decision"] == "deny"]
        return (writes, denies) if writes and denies else None
    writes, denies = wait_for("the proxy's records in the chain", mine, timeout=EVENT, interval=0.5)
    w = writes[0]
    assert w["resource"] == DEVICE and w["grant"] == g["id"] and w["src"] == "127.0.0.1", w
    assert w["details"]["function"] == "write_multiple_registers" and w["details"]["unit"] == 1, w
    assert {d["details"].get("exception") for d in denies} >= {2}, denies


class BadDevice:
    """A device that answers its first request with a response that does not
    fit it (a byte count of 1 for one register) and never answers again."""

    def __init__(self):
        self.port = free_port()
        self.srv = socket.create_server(("127.0.0.1", self.port))
        self.requests = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        with conn:
            try:
                while True:
                    req = recv_adu(conn)
                    self.requests += 1
                    if self.requests == 1:
                        conn.sendall(adu(struct.unpack(">H", req[:2])[0], req[6], b"\x03\x01\x00"))
            except (ConnectionError, OSError):
                return


def test_device_garbage_is_0x04_and_silence_0x0b(setup, granted, tmp_path_factory):
    b, device, edge = setup
    bad = BadDevice()
    proxy = ModbusEdge(b, tmp_path_factory.mktemp("baddevice"), bad, options="upstream_timeout=300").start()
    try:
        s = admitted(proxy)  # its read is the device's first request: answered with garbage
        with s:
            assert exception_code(proxy.first_answer, 3) == 0x04
            s.sendall(adu(11, 1, read_hr(0, 1)))
            assert exception_code(recv_adu(s), 3) == 0x0B
            assert bad.requests == 2
        bad.srv.close()
    finally:
        stop_all([proxy])


def test_grant_end_closes_and_refuses(setup, granted):
    """Last: it ends the module's grants (the earlier one first: it binds the source too)."""
    b, device, edge = setup
    revoker = Op(b)
    r = act(b, granted[1]["id"], "revoke", revoker.token, {"reason": "the earlier grant binds the source too"})
    assert r.status_code == 200, r.text
    ident, g = grant(b)
    s = admitted(edge)
    r = act(b, g["id"], "revoke", revoker.token, {"reason": "job done"})
    assert r.status_code == 200, r.text
    with s:
        s.settimeout(EVENT)
        assert closed_at_once(s)

    def refused():
        with socket.create_connection(("127.0.0.1", edge.mb_port), timeout=IO) as c:
            c.sendall(adu(1, 1, read_hr(0, 1)))
            return closed_at_once(c)
    assert refused()
    assert edge.alive()
