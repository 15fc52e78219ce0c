# test_audit_forwarding.py - audit records leaving the broker: syslog
# forwarding (RFC 5424 messages over TCP with RFC 6587 octet counting, or
# UDP) checked record by record against GET /v1/audit, at-least-once
# delivery while the sink is down, across a sink restart and across a
# broker restart (the cursor persists), and the OCSF export, which must
# carry each record unchanged and verify offline.
import calendar
import json
import re
import socket
import threading
import time
from datetime import datetime

from tollgate_e2e import (wait_for, SLOW, Broker, Key, assert_oauth_error, audit_hash, audit_records, cli_env, free_port,
                          jwt_parts, run_cli)

SD_ID = "tollgate@32473"
PRI_INFO, PRI_NOTICE = 10 * 8 + 6, 10 * 8 + 5  # facility authpriv
# RFC 5424 §6: HEADER SP STRUCTURED-DATA SP MSG, with our own SD-ELEMENT.
SYSLOG = re.compile(rb'<(?P<pri>[0-9]{1,3})>1 (?P<time>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) '
                    rb'(?P<msgid>\S+) \[' + SD_ID.encode() + rb' seq="(?P<seq>[0-9]+)" '
                    rb'hash="(?P<hash>[0-9a-f]{64})"\] (?P<msg>.*)\Z', re.S)
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
                       r"(Z|[+-][0-9]{2}:[0-9]{2})\Z")


# ---- sinks ----

class TcpSink:
    """A syslog collector on 127.0.0.1:port reading RFC 6587 octet-counted
    frames; frames[i] = (connection number, message bytes). Framing errors
    are collected, not raised, and checked by the tests."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.frames, self.errors = [], []
        self.connections = 0
        self.lock = threading.Lock()
        self.threads, self.socks = [], []
        self.stopping = None

    def start(self):
        self.stopping = threading.Event()
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(8)
        ls.settimeout(0.1)
        self.socks = [ls]
        self._spawn(self._accept, ls)
        return self

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _accept(self, ls):
        while not self.stopping.is_set():
            try:
                c, _ = ls.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                self.connections += 1
                n = self.connections
                self.socks.append(c)
            self._spawn(self._read, c, n)

    def _read(self, c, n):
        c.settimeout(0.1)
        buf = b""
        while not self.stopping.is_set():
            try:
                data = c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                break
            buf += data
            while buf:
                m = re.match(rb"([1-9][0-9]{0,8}) ", buf)
                if m is None:
                    if not re.fullmatch(rb"[1-9][0-9]{0,8}", buf):
                        with self.lock:
                            self.errors.append(f"connection {n}: not an octet-counted frame: {buf[:80]!r}")
                        return
                    break  # the length is still arriving
                end = m.end() + int(m.group(1))
                if len(buf) < end:
                    break
                with self.lock:
                    self.frames.append((n, buf[m.end():end]))
                buf = buf[end:]
        if buf:
            with self.lock:
                self.errors.append(f"connection {n} ended inside a frame: {buf[:80]!r}")

    def messages(self, since_connection=0):
        with self.lock:
            return [m for n, m in self.frames if n > since_connection]

    def stop(self):
        if self.stopping is None:
            return
        self.stopping.set()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self.threads:
            t.join(5)
        self.threads, self.socks = [], []


class UdpSink:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.datagrams, self.lock = [], threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stopping.is_set():
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            with self.lock:
                self.datagrams.append(d)

    def messages(self):
        with self.lock:
            return list(self.datagrams)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


# ---- checks ----

def parse(msg: bytes) -> dict:
    m = SYSLOG.match(msg)
    assert m, f"not an RFC 5424 message with our structured data: {msg[:200]!r}"
    d = {k: v.decode() for k, v in m.groupdict().items()}
    d["seq"], d["pri"] = int(d["seq"]), int(d["pri"])
    d["record"] = json.loads(m.group("msg"))
    return d


def check_message(msg: bytes, record: dict):
    """msg is the RFC 5424 form of record, byte for byte where it matters."""
    d = parse(msg)
    alert = record.get("decision") == "deny" or record["type"].startswith("auth.")
    assert d["pri"] == (PRI_NOTICE if alert else PRI_INFO), (d["pri"], record)
    assert TIMESTAMP.match(d["time"]) and d["time"] == record["time"], (d["time"], record["time"])
    assert d["host"] == socket.gethostname() and len(d["host"]) <= 255, d["host"]
    assert d["app"] == "tollgate" and d["procid"] == "-", d
    assert d["msgid"] == record["type"] and len(d["msgid"]) <= 32, d["msgid"]
    assert d["seq"] == record["seq"] and d["hash"] == record["hash"], (d["seq"], d["hash"], record)
    assert d["record"] == record, f"the forwarded record differs from GET /v1/audit:\n{d['record']}\n{record}"
    assert audit_hash(d["record"]) == d["hash"], "the forwarded record does not match its own hash"
    assert b"\n" not in msg, msg
    return d



def seqs_of(messages):
    return [parse(m)["seq"] for m in messages]


def wait_delivered(b, sink, timeout=10 * SLOW, **kw):
    """Waits until every record of GET /v1/audit reached the sink; returns
    the records."""
    def done():
        records = audit_records(b)
        return records if {r["seq"] for r in records} <= set(seqs_of(sink.messages(**kw))) else None
    return wait_for("every audit record at the sink", done, timeout)


def activity(b: Broker):
    """One of every kind of record: allowed and denied, auth failures,
    identity and token changes. Returns the tokens issued."""
    ident, other = b.create_identity(), b.create_identity()
    t = b.issue(ident)
    assert_oauth_error(b.token(ident, scope="orders.delete@Api:orders"), 400, "invalid_scope")
    assert_oauth_error(b.token(assertion=b.assertion(ident, key=Key())), 401, "invalid_client")
    assert b.introspect(t, as_ident=other) == {"active": False}
    assert b.revoke(t).status_code == 200
    assert b.api("PATCH", f"/v1/identities/{other.id}", {"status": "suspended"}).status_code == 200
    return [t, b.issue(ident)]


def syslog_broker(tmp_path, url, name="broker", *settings):
    args = ["--set", f"audit_syslog={url}"]
    for s in settings:
        args += ["--set", s]
    return Broker(tmp_path / name, args=args)


# ---- 4. TCP ----

def test_syslog_tcp_every_record_as_rfc5424_with_octet_counting(tmp_path):
    sink = TcpSink().start()
    b = syslog_broker(tmp_path, f"tcp://127.0.0.1:{sink.port}")
    try:
        b.start()
        activity(b)
        records = wait_delivered(b, sink)
        msgs = sink.messages()
        assert not sink.errors, sink.errors
        assert seqs_of(msgs) == [r["seq"] for r in records], "not every record exactly once, in order"
        pris = {check_message(m, r)["pri"] for m, r in zip(msgs, records)}
        types = {r["type"] for r in records}
        assert {"key.created", "identity.created", "token.issued", "token.refused", "auth.failed",
                "token.introspected", "token.revoked", "identity.suspended"} <= types, types
        assert pris == {PRI_INFO, PRI_NOTICE}, pris
        assert sink.connections == 1, f"{sink.connections} connections for one healthy sink"
        b.stop()
    finally:
        b.kill()
        sink.stop()


# ---- 5. sink down, then up ----

def test_syslog_sink_down_records_wait_and_all_arrive_when_it_comes_up(tmp_path):
    sink = TcpSink()  # not listening yet
    b = syslog_broker(tmp_path, f"tcp://127.0.0.1:{sink.port}")
    try:
        b.start()
        ident = b.create_identity()
        activity(b)
        # Several retries of the forwarder happen meanwhile; the broker does not wait for them.
        down_until = time.monotonic() + 1.5
        while time.monotonic() < down_until:
            t0 = time.monotonic()
            b.issue(ident)
            assert time.monotonic() - t0 < 1.0 * SLOW, "issuance slowed down by the dead sink"
        wait_for("the unreachable-sink warning", lambda: "audit syslog sink unreachable" in b.log_text(), 5 * SLOW)
        before = audit_records(b)
        sink.start()
        records = wait_delivered(b, sink)
        assert not sink.errors, sink.errors
        msgs = sink.messages()
        assert seqs_of(msgs) == [r["seq"] for r in records], "records lost, duplicated or reordered"
        for m, r in zip(msgs, records):
            check_message(m, r)
        assert len(records) >= len(before) > 20
        wait_for("the reachable-again note", lambda: "audit syslog sink reachable again" in b.log_text(), 5 * SLOW)
        b.stop()
    finally:
        b.kill()
        sink.stop()


def test_syslog_sink_restart_loses_nothing(tmp_path):
    """The collector goes away mid-stream (closing the connection) and comes
    back on the same port: every record still arrives, at least once."""
    sink = TcpSink().start()
    b = syslog_broker(tmp_path, f"tcp://127.0.0.1:{sink.port}")
    try:
        b.start()
        ident = b.create_identity()
        b.issue(ident)
        wait_delivered(b, sink)
        sink.stop()
        first = sink.messages()
        for _ in range(3):
            b.issue(ident)
        time.sleep(0.3)  # the forwarder notices the closed connection
        sink.start()
        for _ in range(3):
            b.issue(ident)
        records = wait_delivered(b, sink)
        assert not sink.errors, sink.errors
        got = seqs_of(sink.messages())
        missing = {r["seq"] for r in records} - set(got)
        assert not missing, f"records {sorted(missing)} never arrived"
        later = seqs_of(sink.messages(since_connection=1))
        assert later == sorted(later) and later[0] <= len(first) + 1, later
        by_seq = {r["seq"]: r for r in records}
        for m in sink.messages():
            check_message(m, by_seq[parse(m)["seq"]])
        b.stop()
    finally:
        b.kill()
        sink.stop()


# ---- 6. broker restart ----

def test_syslog_cursor_survives_a_broker_restart(tmp_path):
    sink = TcpSink().start()
    b = syslog_broker(tmp_path, f"tcp://127.0.0.1:{sink.port}")
    try:
        b.start()
        ident = b.create_identity()
        b.issue(ident)
        wait_delivered(b, sink)
        time.sleep(0.5)  # the first burst is one delivered batch
        n_first = len(audit_records(b))
        b.issue(ident)
        b.issue(ident)
        records = wait_delivered(b, sink)
        last_batch = {r["seq"] for r in records[n_first:]}
        time.sleep(0.5)
        assert seqs_of(sink.messages()) == [r["seq"] for r in records]
        b.stop()
        conns = sink.connections

        b.start()
        new_jti = jwt_parts(b.issue(ident))[1]["jti"]
        records = wait_delivered(b, sink)
        after = seqs_of(sink.messages(since_connection=conns))
        resent = [s for s in after if s <= max(last_batch)]
        assert set(resent) <= last_batch, (
            f"records {sorted(set(resent) - last_batch)} were delivered before the restart and sent again: "
            "the cursor was not kept")
        assert after == sorted(set(after)), after
        fresh = [r["seq"] for r in records if r["seq"] > max(last_batch)]
        assert [s for s in after if s > max(last_batch)] == fresh, (after, fresh)
        assert [r["seq"] for r in records if r.get("jti") == new_jti and r["type"] == "token.issued"][0] in after
        assert not sink.errors, sink.errors
        b.stop()
    finally:
        b.kill()
        sink.stop()


# ---- 7. UDP ----

def test_syslog_udp_one_datagram_per_record(tmp_path):
    sink = UdpSink()
    b = syslog_broker(tmp_path, f"udp://127.0.0.1:{sink.port}")
    try:
        b.start()
        activity(b)
        records = wait_delivered(b, sink)
        msgs = sink.messages()
        assert seqs_of(msgs) == [r["seq"] for r in records]
        for m, r in zip(msgs, records):
            assert not re.match(rb"[0-9]+ <", m), "octet counting is for TCP only"
            check_message(m, r)
        b.stop()
    finally:
        b.kill()
        sink.stop()


# ---- 8. OCSF export ----

def epoch_ms(t: str) -> int:
    dt = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    return calendar.timegm(dt.timetuple()) * 1000 + dt.microsecond // 1000


def expected_class(rtype):
    for prefix, cls in (("token.", 3002), ("auth.", 3002), ("identity.", 3001), ("key.", 3001)):
        if rtype.startswith(prefix):
            return cls
    return 6003


def test_ocsf_export_maps_every_record_and_verifies(tmp_path):
    b = Broker(tmp_path / "ocsf", args=["--set", "audit_checkpoint_every=4"])
    try:
        b.start()
        activity(b)
        records = audit_records(b)
        out, keys = tmp_path / "audit.ocsf.jsonl", tmp_path / "audit-keys.json"
        r = b.get("/.well-known/tollgate-audit-keys.json")
        assert r.status_code == 200, r.text
        keys.write_text(r.text)
        p = run_cli(["audit", "export", "--format", "ocsf", "--out", str(out)], env_extra=cli_env(b))
        assert p.returncode == 0, p.stderr

        lines = [json.loads(line) for line in out.read_text().splitlines()]
        events = [e for e in lines if "class_uid" in e]
        cps = [e for e in lines if "checkpoint" in e]
        other = [e for e in lines if "class_uid" not in e and "checkpoint" not in e]
        assert not other, f"lines that are neither OCSF events nor checkpoints: {other[:3]}"
        assert cps, "no checkpoint in the export"
        assert [e["unmapped"]["tollgate_record"] for e in events] == records, "records missing or changed"
        for e, rec in zip(events, records):
            cls = expected_class(rec["type"])
            deny = rec.get("decision") == "deny"
            assert e["class_uid"] == cls and e["category_uid"] == cls // 1000, (rec["type"], e)
            assert e["type_uid"] == cls * 100 + e["activity_id"], e
            assert e["time"] == epoch_ms(rec["time"]), (e["time"], rec["time"])
            assert e["metadata"]["product"]["name"] == "Tollgate", e["metadata"]
            assert e["metadata"]["version"].startswith("1.1"), e["metadata"]
            assert (e["status"], e["status_id"]) == (("Failure", 2) if deny else ("Success", 1)), (rec, e)
            if rec.get("actor"):
                assert e["actor"]["user"]["name"] == rec["actor"], e
            if rec.get("src"):
                assert e["src_endpoint"]["ip"] == rec["src"], e
        by_type = {rec["type"]: e["class_uid"] for e, rec in zip(events, records)}
        assert by_type["token.issued"] == 3002 and by_type["identity.created"] == 3001, by_type

        p = run_cli(["audit", "verify", "--file", str(out), "--keys", str(keys)])
        assert p.returncode == 0, p.stdout + p.stderr
        assert f"ok: {len(records)} records" in p.stdout, p.stdout
        assert f"{len(cps)} checkpoints" in p.stdout, p.stdout

        # A record changed inside its OCSF event is caught.
        i = next(i for i, e in enumerate(lines) if e.get("unmapped", {}).get("tollgate_record", {}).get("type")
                 == "token.refused")
        seq = lines[i]["unmapped"]["tollgate_record"]["seq"]
        lines[i]["unmapped"]["tollgate_record"]["decision"] = "allow"
        bad = tmp_path / "tampered.jsonl"
        bad.write_text("".join(json.dumps(e) + "\n" for e in lines))
        p = run_cli(["audit", "verify", "--file", str(bad), "--keys", str(keys)])
        assert p.returncode == 1 and f"FAILED at seq {seq}" in p.stdout, p.stdout + p.stderr
        b.stop()
    finally:
        b.kill()
