# test_audit_faults.py - the audit chain under storage faults and retention:
# a full disk and a store that turns read-only under a running broker (every
# privileged write fails closed with a 503, reads keep working, the broker
# stays up, and when the storage is back the chain verifies with no gap and
# no record of anything that was refused), and retention pruning (the kept
# log starts at a signed checkpoint and verifies on its own).
#
# The fault tests need root: they mount a small tmpfs, or an ext4 image on a
# loop device, as the broker's data directory, and skip when that is not
# permitted. Broker logs stay outside the faulty filesystem.
import calendar
import contextlib
import errno
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tollgate_e2e import (wait_for, DEFAULT_SCOPES, E2E_ROLE, SLOW, Broker, Key, assert_oauth_error, assert_problem, audit_checkpoints,
                          audit_records, cli_env, jwt_parts, run_cli, session, unique)


# ---- helpers ----

def _run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60)


def _umount(path: Path):
    """Unmounts path; a busy mount is detached lazily so that nothing stays
    mounted after the test, whatever happened."""
    if _run(["mountpoint", "-q", path]).returncode != 0:
        return
    p = _run(["umount", path])
    if p.returncode != 0:
        _run(["umount", "-l", path])


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    p = _run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path])
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {p.stderr.strip()}")
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def ext4_image(img: Path, path: Path, size_mb=32):
    """An ext4 filesystem in a file, loop-mounted at path with
    errors=remount-ro (so that a filesystem error turns it read-only under
    whoever has files open, as on a real server)."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 (e2fsprogs) is not installed")
    path.mkdir(parents=True, exist_ok=True)
    with open(img, "wb") as f:
        f.truncate(size_mb << 20)
    # No journal: an error then only flips the filesystem read-only.
    p = _run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", img])
    assert p.returncode == 0, p.stderr
    mounted = False

    def mount():
        nonlocal mounted
        p = _run(["mount", "-o", "loop,errors=remount-ro", img, path])
        if p.returncode != 0:
            pytest.skip(f"cannot loop-mount an ext4 image here (needs root and loop devices): {p.stderr.strip()}")
        mounted = True

    def unmount():
        nonlocal mounted
        p = _run(["umount", path])
        assert p.returncode == 0, f"umount {path}: {p.stderr}"
        mounted = False

    mount()
    try:
        yield mount, unmount
    finally:
        if mounted:
            _umount(path)
        for line in _run(["losetup", "-j", img]).stdout.splitlines():  # autoclear should have done it
            _run(["losetup", "-d", line.split(":", 1)[0]])


def fill(path: Path):
    """Writes path until the filesystem has no block left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    chunk = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
    finally:
        os.close(fd)
    st = os.statvfs(path)
    assert st.f_bavail == 0, f"{st.f_bavail} blocks still free after filling"


def dedicated(tmp_path: Path, data: Path, *settings) -> Broker:
    """A broker whose data directory is data (on the filesystem under test)
    and whose log is outside it."""
    args = []
    for s in settings:
        args += ["--set", s]
    b = Broker(tmp_path / "work", args=args)
    b.data = data
    return b



def identity_doc(ident_id):
    return {"id": ident_id, "kind": "workload", "owner": "team-e2e", "roles": [E2E_ROLE],
            "public_keys": [Key().pub_pem]}


def jti_of(token):
    return jwt_parts(token)[1]["jti"]


def verify_cli(b: Broker, expect_last_seq):
    p = run_cli(["audit", "verify"], env_extra=cli_env(b))
    assert p.returncode == 0, f"audit verify failed:\n{p.stdout}{p.stderr}"
    assert f"to {expect_last_seq}), " in p.stdout, p.stdout
    return p.stdout


def check_after_fault(b: Broker, ok_jtis, refused_ids):
    """The chain after the fault: seq contiguous from 1, verifies, signed up
    to its last record, a token.issued record for every token a client got
    and for nothing else, no record of a refused identity."""
    wait_for("a checkpoint covering the last record",
             lambda: (audit_checkpoints(b) or [{"seq": 0}])[-1]["seq"] == audit_records(b)[-1]["seq"],
             10 * SLOW)
    records = audit_records(b)
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(1, len(seqs) + 1)), f"the chain has a gap or starts late: {seqs}"
    issued = [r["jti"] for r in records if r["type"] == "token.issued"]
    assert len(issued) == len(set(issued)), issued
    assert set(issued) == set(ok_jtis), (
        f"token.issued records {sorted(set(issued) - set(ok_jtis))} were never answered 200; "
        f"tokens {sorted(set(ok_jtis) - set(issued))} have no record")
    created = {r["resource"] for r in records if r["type"] == "identity.created"}
    assert not created & {f"Identity:{i}" for i in refused_ids}, created
    out = verify_cli(b, seqs[-1])
    assert "not yet covered" not in out, out
    return records


# ---- 1. disk full ----

def test_disk_full_fails_closed_reads_work_and_chain_has_no_gap(tmp_path):
    mnt = tmp_path / "mnt"
    with tmpfs(mnt, "4M"):
        b = dedicated(tmp_path, mnt / "data", "audit_checkpoint_every=5", "audit_checkpoint_interval=1")
        try:
            b.start()
            ident, other = b.create_identity(), b.create_identity()
            earlier = b.issue(ident)
            others = b.issue(other)
            ok_jtis = [jti_of(earlier), jti_of(others)]

            fill(mnt / "filler")

            # Privileged writes fail closed: no token without its record.
            refused_assertions = []
            for _ in range(3):
                a = b.assertion(ident, lifetime=120)
                body = assert_oauth_error(b.token(assertion=a), 503, "temporarily_unavailable")
                assert "store" in body.get("error_description", ""), body
                refused_assertions.append(a)
            # Concurrent requests land in one commit group that fails as a whole.
            burst = [b.assertion(ident, lifetime=120) for _ in range(12)]
            codes, lock = [], threading.Lock()

            def worker(mine):
                s = session()
                for a in mine:
                    r = s.post(b.token_endpoint, timeout=10 * SLOW,
                               data={"grant_type": "client_credentials", "scope": DEFAULT_SCOPES[0],
                                     "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                     "client_assertion": a})
                    with lock:
                        codes.append(r.status_code)
                        if r.status_code == 200:
                            ok_jtis.append(jti_of(r.json()["access_token"]))
            threads = [threading.Thread(target=worker, args=(burst[i::4],)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30 * SLOW)
            assert codes == [503] * len(burst), codes
            refused_id = unique("refused")
            assert_problem(b.api("POST", "/v1/identities", identity_doc(refused_id)), 503)
            assert_problem(b.api("PATCH", f"/v1/identities/{other.id}", {"status": "suspended"}), 503)
            assert_oauth_error(b.revoke(others), 503, "temporarily_unavailable")
            # A refusal is still a refusal, though its record cannot be written.
            assert_oauth_error(b.token(assertion=b.assertion(ident, key=Key())), 401, "invalid_client")

            # Reads keep working.
            ids = {i["id"] for i in b.identities()}
            assert {ident.id, other.id} <= ids and refused_id not in ids, ids
            assert b.api("GET", f"/v1/identities/{other.id}").json()["status"] == "active"
            assert b.introspect(earlier)["active"] is True
            assert b.introspect(others)["active"] is True  # the revocation did not happen
            assert audit_records(b), "GET /v1/audit failed while the disk is full"
            assert b.get("/healthz").status_code == 200
            assert b.alive()
            assert "store write failed" in b.log_text(), "the lost refusal record is not logged"

            # Space again: service resumes without a restart.
            os.unlink(mnt / "filler")
            # The refused requests consumed nothing: their assertions work now.
            for a in refused_assertions:
                r = b.token(assertion=a)
                assert r.status_code == 200, r.text
                ok_jtis.append(jti_of(r.json()["access_token"]))
            ok_jtis.append(jti_of(b.issue(ident)))
            assert b.api("POST", "/v1/identities", identity_doc(unique("after"))).status_code == 201
            assert b.revoke(others).status_code == 200
            assert b.introspect(others)["active"] is False

            records = check_after_fault(b, ok_jtis, [refused_id])
            assert [r["jti"] for r in records if r["type"] == "token.revoked"] == [jti_of(others)]
            assert not [r for r in records if r["type"] == "identity.suspended"], "the 503 suspension was recorded"
            b.stop()
        finally:
            b.kill()


# ---- 2. read-only store ----

def test_read_only_store_fails_closed_reads_work_and_chain_verifies_after(tmp_path):
    """`mount -o remount,ro` is refused (EBUSY) while the broker has its
    store open for writing, so the store goes read-only the way it does on a
    real server: ext4 mounted errors=remount-ro hits an error (the sysfs
    trigger_fs_error knob) and turns read-only under the running broker.
    ext4 keeps it read-only until it is unmounted, so recovery is: stop,
    mount again read-write, start."""
    mnt = tmp_path / "mnt"
    with ext4_image(tmp_path / "store.img", mnt) as (mount, unmount):
        dev = os.path.basename(_run(["findmnt", "-no", "SOURCE", mnt]).stdout.strip())
        trigger = Path(f"/sys/fs/ext4/{dev}/trigger_fs_error")
        if not trigger.exists():
            pytest.skip(f"{trigger} is missing: this kernel cannot make ext4 read-only on demand")
        b = dedicated(tmp_path, mnt / "data", "audit_checkpoint_every=5", "audit_checkpoint_interval=1")
        try:
            b.start()
            ident, other = b.create_identity(), b.create_identity()
            earlier, others = b.issue(ident), b.issue(other)
            ok_jtis = [jti_of(earlier), jti_of(others)]

            trigger.write_text("tollgate e2e: the store goes read-only\n")
            with pytest.raises(OSError) as e:
                (mnt / "probe").write_text("x")
            assert e.value.errno == errno.EROFS, e.value

            refused = b.assertion(ident, lifetime=240)
            body = assert_oauth_error(b.token(assertion=refused), 503, "temporarily_unavailable")
            assert "store" in body.get("error_description", ""), body
            refused_id = unique("refused")
            body = assert_problem(b.api("POST", "/v1/identities", identity_doc(refused_id)), 503)
            assert "store" in body.get("detail", ""), body
            assert_problem(b.api("PATCH", f"/v1/identities/{other.id}", {"status": "suspended"}), 503)
            assert_problem(b.api("POST", f"/v1/identities/{other.id}/offboard"), 503)
            assert_oauth_error(b.revoke(others), 503, "temporarily_unavailable")

            ids = {i["id"] for i in b.identities()}
            assert {ident.id, other.id} <= ids and refused_id not in ids, ids
            assert b.introspect(earlier)["active"] is True
            assert b.introspect(others)["active"] is True
            assert b.get("/.well-known/jwks.json").status_code == 200
            before = audit_records(b)
            assert before and before[-1]["type"] == "token.issued", before[-1:]
            uncovered = audit_checkpoints(b)[-1]["seq"] < before[-1]["seq"]
            time.sleep(1.5)  # the checkpoint timer runs meanwhile; the broker keeps serving
            assert b.alive() and b.get("/healthz").status_code == 200
            if uncovered:  # the timer tried to sign the head, and could not
                assert "audit checkpoint failed" in b.log_text(), "the failed checkpoint is not logged"
            b.stop()  # a clean stop on a read-only store

            unmount()
            mount()
            b.start()
            r = b.token(assertion=refused)  # its jti was never recorded as used
            assert r.status_code == 200, r.text
            ok_jtis.append(jti_of(r.json()["access_token"]))
            ok_jtis.append(jti_of(b.issue(ident)))
            assert b.introspect(others)["active"] is True
            assert b.revoke(others).status_code == 200
            assert b.api("POST", "/v1/identities", identity_doc(unique("after"))).status_code == 201

            records = check_after_fault(b, ok_jtis, [refused_id])
            assert records[:len(before)] == before, "records written before the fault changed"
            assert [r["jti"] for r in records if r["type"] == "token.revoked"] == [jti_of(others)]
            assert not [r for r in records if r["type"] in ("identity.suspended", "identity.offboarded")]
            b.stop()
        finally:
            b.kill()


# ---- 3. retention ----

def test_retention_prunes_below_an_old_checkpoint_and_the_rest_verifies(tmp_path):
    b = Broker(tmp_path / "retention", args=["--set", "audit_checkpoint_every=2", "--set",
                                             "audit_checkpoint_interval=1", "--set", "audit_retention=2"])
    try:
        b.start()
        ident = b.create_identity()
        early = [jti_of(b.issue(ident)) for _ in range(3)]
        # The seq of the last early record: the test needs a prune that
        # reached past it. The first prune may anchor lower when the
        # machine is slow (a checkpoint older than the cut-off may not yet
        # exist above the early records), which is right, not what we test.
        early_seq = max(r["seq"] for r in audit_records(b) if r.get("jti") in early)

        def pruned_past_early():
            b.issue(ident)  # keep activity going while waiting
            return [r for r in audit_records(b, type="audit.pruned")
                    if r["details"]["first_kept_seq"] > early_seq]
        wait_for("an audit.pruned record past the early records", pruned_past_early, 20 * SLOW)

        # Freeze the log (no more pruning) and inspect it.
        b.stop()
        b.args = []
        b.start()
        records, cps = audit_records(b), audit_checkpoints(b)
        prunes = [r for r in records if r["type"] == "audit.pruned"]
        last = prunes[-1]
        first_kept, before = last["details"]["first_kept_seq"], last["details"]["before"]
        before = before[:19] + ".000000Z"  # an instant, compared with microsecond times
        assert last["actor"] == "broker", last
        seqs = [r["seq"] for r in records]
        assert seqs[0] == first_kept > 1, (seqs[:3], last)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the kept log has a gap"
        # The first kept record carries a signed checkpoint, older than the retention...
        anchor = [c for c in cps if c["seq"] == first_kept]
        assert anchor, f"no checkpoint at the first kept record {first_kept}: {[c['seq'] for c in cps]}"
        assert anchor[0]["time"] < before, (anchor, before)
        assert records[0]["hash"] == anchor[0]["hash"]
        # ...and it is the newest such checkpoint when the prune ran.
        newer_old = [c for c in cps if first_kept < c["seq"] < last["seq"] and c["time"] < before]
        assert not newer_old, f"pruned below {first_kept} though {newer_old[-1]['seq']} was old enough"
        assert all(c["seq"] >= first_kept for c in cps), "checkpoints below the kept log survived"
        # The cut-off is the retention (2 s) before the prune; the prune's
        # record is written after it decided, so at least that much later
        # (how much later depends on the machine's load: no upper bound).
        prune_t = calendar.timegm(time.strptime(last["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        before_t = calendar.timegm(time.strptime(before[:19], "%Y-%m-%dT%H:%M:%S"))
        assert prune_t - before_t >= 2, (last["time"], before)
        # What was older is gone: the key and identity records, the first tokens.
        gone = {r["type"] for r in records} & {"key.created", "identity.created"}
        assert not gone, f"{gone} records older than the retention are still there"
        assert not set(early) & {r["jti"] for r in records}, "early token.issued records are still there"

        out = verify_cli(b, seqs[-1])
        assert f"seq {first_kept} to" in out, out
        # Tampering with the kept log is still detected from its anchor on.
        b.stop()
        db = b.data / "tollgate.db"
        p = _run(["sqlite3", db, f"UPDATE audit SET record = replace(record, '\"actor\":\"broker\"', "
                                 f"'\"actor\":\"brokeR\"') WHERE seq = {last['seq']}"])
        assert p.returncode == 0, p.stderr
        b.start()
        p = run_cli(["audit", "verify"], env_extra=cli_env(b))
        assert p.returncode == 1 and f"FAILED at seq {last['seq']}" in p.stdout, p.stdout + p.stderr
        b.stop()
    finally:
        b.kill()
