# test_edge_spool.py - the edge's audit spool end to end (issue 10: "records
# are never lost when the broker is down and land in the central chain in
# order, exactly once"; "a spool file cut mid-record: a clear refusal or
# recovery, no crash"; edge/edge_spool.c, core/spool_lines.h, POST
# /v1/edges/audit). A real `tollgate edge run` decides while its broker is
# killed and while it is itself killed and restarted; once the broker is
# back, the chain holds exactly the spool's records, in edge_seq order,
# each once. A torn last line is cut off on start; a damaged middle is
# refused with a message naming the line; an edge whose state_dir was lost
# renumbers its records after what the broker already holds instead of
# having them skipped as repeats; a full spool (spool_max) fails privileged
# decisions closed until the broker takes the records; a spool that never
# empties (decisions never stop) is compacted into a new file and stays
# small.
import json
import threading
import time

import pytest

from edge_e2e import ORDER_ENTITIES, ORDER_POLICY, ORDER_SCOPE, Edge, allowed, assert_refused, edge_broker, until
from tollgate_e2e import audit_records, cli_env, run_cli, session, wait_for

ROUTES = ["GET /orders/{id} orders.read Order:{id}"]
LONG = 3600  # max_stale: the edges below keep deciding while the broker is away
SPOOL, CURSOR = "audit-spool.jsonl", "audit-cursor.json"


@pytest.fixture(scope="module")
def b(broker_factory):
    return edge_broker(broker_factory, "edge-spool", ORDER_POLICY, entities=ORDER_ENTITIES)


@pytest.fixture
def token(b):
    return b.issue(b.create_identity(), ORDER_SCOPE)


def new_edge(b, tmp_path, **options):
    return Edge(b, tmp_path, ROUTES, **dict({"max_stale": LONG}, **options))


def decide(e, token, n, fresh=True):
    """n decisions (each one audit record), for Order 17 (allowed) and
    Order 666 (denied) in turn; fresh: the edge is not stale, so they are
    allowed and denied."""
    for i in range(n):
        r = e.auth("/orders/17" if i % 2 == 0 else "/orders/666", token=token)
        if fresh:
            assert r.status_code == (200 if i % 2 == 0 else 403), (r.status_code, r.headers)
        else:
            assert r.status_code in (200, 403), (r.status_code, r.headers)


def spool_records(e):
    path = e.state_dir / SPOOL
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def cursor(e):
    return json.loads((e.state_dir / CURSOR).read_text())["acknowledged"]


def backlog(e):
    return e.health()["audit_backlog"]


def drained(e):
    until(f"edge {e.name}'s spool to drain", lambda: e.health(), lambda h: h["audit_backlog"] == 0)


def chain(b, e):
    return [r for r in audit_records(b, type="authz") if r["edge"] == e.id]


def assert_chain_is(b, e, sent):
    """The chain's records from e are exactly sent (spool records), each
    once, in edge_seq order, as the edge wrote them; edge_seq runs 1..N."""
    got = chain(b, e)
    seqs = [r["details"]["edge_seq"] for r in got]
    assert seqs == list(range(1, len(got) + 1)), seqs
    by_seq = {r["details"]["edge_seq"]: r for r in got}
    for s in sent:
        c = by_seq[s["edge_seq"]]
        for m in ("type", "decision", "actor", "action", "resource", "jti", "grant", "src"):
            assert c[m] == s[m], (m, c, s)
        assert c["policies"] == (s["policies"] or [])
        assert c["details"] == dict(s["details"] or {}, edge_seq=s["edge_seq"], edge_time=s["time"])
    return got


def test_broker_and_edge_down_records_land_once_in_order(b, token, tmp_path):
    e = new_edge(b, tmp_path).start()
    try:
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        decide(e, token, 4)
        drained(e)
        before = len(chain(b, e))

        b.kill()
        decide(e, token, 30)
        assert backlog(e) == 30
        kept = [r for r in spool_records(e) if r["edge_seq"] > cursor(e)]
        assert len(kept) == 30

        e.kill()  # a crash: nothing appended is lost, the sequence goes on
        e.start(healthy=False)
        decide(e, token, 10, fresh=False)  # started without the broker: stale, refusing privileged routes
        assert backlog(e) == 40
        kept2 = [r for r in spool_records(e) if r["edge_seq"] > cursor(e)]
        assert kept2[:30] == kept
        assert [r["edge_seq"] for r in kept2] == list(range(kept[0]["edge_seq"], kept[0]["edge_seq"] + 40))

        b.start()
        drained(e)
        got = assert_chain_is(b, e, kept2)
        assert len(got) == before + 40
        assert cursor(e) == got[-1]["details"]["edge_seq"]
        wait_for("the acknowledged spool truncated", lambda: spool_records(e) == [], timeout=30)
        p = run_cli(["audit", "verify"], env_extra=cli_env(b))
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        if not b.alive():
            b.start()
        e.stop()


def test_torn_last_line_is_cut_off(b, token, tmp_path):
    e = new_edge(b, tmp_path).start()
    try:
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        drained(e)
        b.kill()
        decide(e, token, 5)
        kept = [r for r in spool_records(e) if r["edge_seq"] > cursor(e)]
        e.stop()
        path = e.state_dir / SPOOL
        whole = path.read_bytes()
        path.write_bytes(whole + b'{"edge_seq":%d,"time":"2026-01-0' % (kept[-1]["edge_seq"] + 1))
        e.start(healthy=False)
        log = e.log_text(last=True)
        assert "torn record" in log and '"bytes_cut":"' in log, log[-3000:]
        assert path.read_bytes() == whole
        decide(e, token, 3, fresh=False)
        kept += [r for r in spool_records(e) if r["edge_seq"] > kept[-1]["edge_seq"]]
        assert len(kept) == 8
        b.start()
        drained(e)
        assert_chain_is(b, e, kept)
    finally:
        if not b.alive():
            b.start()
        e.stop()


def test_damaged_spool_is_refused_naming_the_line(b, token, tmp_path):
    e = new_edge(b, tmp_path).start()
    try:
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        drained(e)
        b.kill()
        decide(e, token, 3)
        e.stop()
        path = e.state_dir / SPOOL
        lines = path.read_bytes().splitlines(keepends=True)
        damaged = lines[:-2] + [b"not a record\n"] + lines[-1:]
        path.write_bytes(b"".join(damaged))
        with pytest.raises(AssertionError) as refused_start:
            e.start(healthy=False)
        text = str(refused_start.value)
        assert f"the audit spool {path} is damaged: line {len(lines) - 1} (byte" in text, text[-3000:]
        assert "yet records follow it" in text and "move the file aside" in e.log_text(last=True), text[-3000:]
        path.write_bytes(b"".join(lines))  # the operator puts it right
        e.start(healthy=False)
        b.start()
        drained(e)
        assert len(chain(b, e)) == cursor(e)
    finally:
        if not b.alive():
            b.start()
        e.stop()


def test_lost_state_dir_renumbers_after_what_the_broker_holds(b, token, tmp_path):
    e = new_edge(b, tmp_path).start()
    try:
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        decide(e, token, 9)
        drained(e)
        held = len(chain(b, e))
        assert held >= 10 and cursor(e) == held
        e.stop()
        for f in e.state_dir.iterdir():  # a new container: state_dir starts empty
            f.unlink()
        e.start()
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        decide(e, token, 2)
        drained(e)
        got = chain(b, e)
        assert [r["details"]["edge_seq"] for r in got] == list(range(1, len(got) + 1)), got[-5:]
        assert len(got) >= held + 3 and cursor(e) == len(got)
        assert [r["resource"] for r in got[-3:]] == ["Order:17", "Order:17", "Order:666"]
        assert "its records are numbered after them" in e.log_text(last=True)
    finally:
        e.stop()


def test_full_spool_fails_closed_until_the_broker_takes_it(b, token, tmp_path):
    e = new_edge(b, tmp_path, spool_max=1 << 20).start()
    try:
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        drained(e)
        b.kill()
        allowed_n = 0
        for _ in range(20000):
            r = e.auth("/orders/17", token=token)
            if r.status_code != 200:
                assert_refused(r, 403, "audit_unavailable")
                break
            allowed_n += 1
        else:
            pytest.fail("the spool never filled")
        assert 1000 < allowed_n < 20000, allowed_n
        assert backlog(e) == allowed_n
        assert "the audit spool is full" in e.log_text(last=True)
        b.start()
        drained(e)
        until("an allow again", lambda: e.auth("/orders/17", token=token), allowed)
        drained(e)
        got = chain(b, e)
        assert [r["details"]["edge_seq"] for r in got] == list(range(1, len(got) + 1))
        assert len(got) == allowed_n + 2  # the first allow, the refused ones unrecorded, the last allow
    finally:
        if not b.alive():
            b.start()
        e.stop()


def test_busy_spool_is_compacted_and_loses_nothing(b, token, tmp_path):
    # Four clients decide without pause while the shipper works, so the
    # acknowledged records are rarely the whole file: once they pass 1 MiB
    # the backlog is copied into a new file (a new inode) that replaces the
    # spool. Every record lands once, in order, and the file stays small.
    e = new_edge(b, tmp_path).start()
    try:
        until("an allow", lambda: e.auth("/orders/17", token=token), allowed)
        drained(e)
        path = e.state_dir / SPOOL
        inodes, sizes, done = set(), [], threading.Event()

        def watch():
            while not done.is_set():
                st = path.stat()
                inodes.add(st.st_ino)
                sizes.append(st.st_size)
                time.sleep(0.01)

        def hammer(n):
            with session() as http:
                for _ in range(n):
                    r = http.get(e.url + "/auth", headers={"X-Original-Method": "GET", "X-Original-URI": "/orders/17",
                                                           "Authorization": f"Bearer {token}"})
                    assert r.status_code == 200, r.headers

        watcher = threading.Thread(target=watch)
        watcher.start()
        workers = [threading.Thread(target=hammer, args=(2500,)) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        done.set()
        watcher.join()
        drained(e)
        got = chain(b, e)
        assert [r["details"]["edge_seq"] for r in got] == list(range(1, len(got) + 1))
        assert len(got) == 10001  # the first allow and the 10,000
        assert len(inodes) > 1, "the spool was never compacted into a new file"
        assert max(sizes) < 2 << 20, max(sizes)  # the 10,000 records are about 3.4 MB
    finally:
        e.stop()
